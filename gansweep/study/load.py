"""Reading a study file safely and turning every mistake into one clear line.

Only ``yaml.safe_load`` semantics (no object construction), a size cap, and a cap on the
expanded size of aliases (a "billion laughs" file is refused, not expanded).
"""

from __future__ import annotations

import re
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gansweep.errors import StudyError
from gansweep.lock import STUDY_FILE
from gansweep.study.schema import STOPPING_KINDS, STRATEGY_MODELS, Study

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_EXPANDED_CHARS = 4 * MAX_BYTES  # text after aliases are expanded: a 200 KB string used 2000 times is refused
MAX_LINE = 300  # an error line, value included
MAX_VALUE = 60  # the repr of a value quoted in an error line
# Labels pydantic puts in error locations for union branches; they say nothing to a user.
UNION_TAGS = {"choice", "range", *STRATEGY_MODELS, *STOPPING_KINDS, "str", "list[str]"}


def format_loc(loc: tuple[Any, ...]) -> str:
    """``('search', 1, 'space', 'lr', 'low')`` → ``search[1].space.lr.low``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in UNION_TAGS or str(part).startswith(("function-", "tagged-union")):
            continue  # pydantic's union branch labels say nothing to a user
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def abbreviate(value: Any, limit: int = MAX_VALUE) -> str:
    """``repr(value)``, cut to ``limit`` characters with its length said, so no error line explodes."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    short.maxlist = short.maxdict = 6
    short.maxlevel = 2
    text = short.repr(value)
    if len(text) > limit:
        text = f"{text[:limit - 1]}… ({len(text)} characters)"
    return text


def bounded(line: str) -> str:
    """One error line of at most :data:`MAX_LINE` characters and no line breaks."""
    line = " ".join(line.split())
    return line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…"


def _expanded_size(node: Any, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values, characters) of the data with every alias expanded where it is used."""
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, dict):
        parts = [_expanded_size(k, memo) for k in node] + [_expanded_size(v, memo) for v in node.values()]
    elif isinstance(node, list):
        parts = [_expanded_size(v, memo) for v in node]
    else:
        parts = [(0, len(node) if isinstance(node, (str, bytes)) else 8)]
    size = (1 + sum(p[0] for p in parts), sum(p[1] for p in parts))
    memo[key] = size
    return size


class _SafeLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (no object construction) that also refuses duplicate keys and reads
    ``1e-3`` as the number it is (YAML 1.2; PyYAML's 1.1 floats need a dot, so it was a string,
    which the strict schema refuses as a number)."""


class _SafeDumper(yaml.SafeDumper):
    """Quotes a string that :class:`_SafeLoader` would read as a number (``name: "1e3"``)."""


# YAML 1.2's exponent floats without a dot; appended, so 1.1's int, float and bool forms come first.
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
for _cls in (_SafeLoader, _SafeDumper):
    # a copy per class: add_implicit_resolver would append to the lists SafeLoader/SafeDumper share
    _cls.yaml_implicit_resolvers = {k: list(v) for k, v in _cls.yaml_implicit_resolvers.items()}
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT, list("-+0123456789"))


def _mapping(loader: _SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults`: merged keys may be overridden, that is the point of it
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (str, int, float, bool)):  # other keys: pydantic refuses them anyway
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (the first would be ignored)", key_node.start_mark)
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, source: str) -> Any:
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader
        size = _expanded_size(data, {})
    except RecursionError:
        raise StudyError(f"{source}: nested too deeply; not a study file") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "?"
        problem = exc.problem or exc.context or "invalid YAML"
        raise StudyError(bounded(f"{source}: {where}: invalid YAML: {problem}")) from None
    except yaml.YAMLError as exc:
        raise StudyError(bounded(f"{source}: invalid YAML: {str(exc).splitlines()[0]}")) from None
    except ValueError as exc:  # a plain scalar YAML resolves but cannot build: 2001-13-45, a 5000-digit integer
        what = "an integer of more than 4300 digits" if "integer string conversion" in str(exc) else str(exc)
        raise StudyError(bounded(f"{source}: invalid YAML value: {what} (quote it if it is text)")) from None
    if size[0] > MAX_NODES:
        raise StudyError(f"{source}: the file expands to more than {MAX_NODES} values (aliases?); refused")
    if size[1] > MAX_EXPANDED_CHARS:
        raise StudyError(f"{source}: the file expands to more than {MAX_EXPANDED_CHARS // MAX_BYTES} MiB of text "
                         "(aliases?); refused")
    return data


def study_from_data(data: Any, source: str) -> Study:
    if data is None:
        raise StudyError(f"{source}: the file is empty; a study needs at least 'name' and 'search'")
    if not isinstance(data, dict):
        raise StudyError(f"{source}: a study file is a mapping of fields, but got {type(data).__name__}")
    try:
        return _validate(data, source)
    except StudyError as exc:
        raise StudyError(bounded(str(exc))) from None


def _validate(data: dict[str, Any], source: str) -> Study:
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # An unknown key explains the errors that follow from it (a misspelt required field).
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = format_loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = _unknown_key_message(err["loc"], data)
        elif err["type"] == "union_tag_invalid" and err["loc"][-1] == "stopping":
            given = err["input"].get("kind") if isinstance(err["input"], dict) else err["input"]
            msg = f"unknown stopping kind {given!r}; choose from {', '.join(STOPPING_KINDS)}"
        elif err["type"] == "union_tag_invalid":
            given = err["input"].get("strategy") if isinstance(err["input"], dict) else err["input"]
            msg = f"unknown strategy {abbreviate(given)}; choose from {', '.join(STRATEGY_MODELS)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg}, but got {abbreviate(err['input'])}"
            if err["type"] == "string_type" and isinstance(err["input"], (bool, int, float)):
                msg += " (YAML reads it as a number or true/false: quote text that looks like one)"
        raise StudyError(f"{source}: {loc}: {msg}") from None


def _unknown_key_message(loc: tuple[Any, ...], data: Any) -> str:
    import difflib

    from gansweep.study import schema

    key = loc[-1]
    model: Any = Study
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            model = None
            break
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, schema.Strict) else None
    if loc and loc[0] == "search" and len(loc) >= 3:
        entry = data["search"][loc[1]] if isinstance(data.get("search"), list) else {}
        strategy = entry.get("strategy") if isinstance(entry, dict) else None
        model = STRATEGY_MODELS.get(strategy) if isinstance(strategy, str) else None
        stopping = entry.get("stopping") if isinstance(entry, dict) else None
        if "stopping" in loc[:-1] and isinstance(stopping, dict):
            stoppers = {"asha": schema.AshaStopping, "median": schema.MedianStopping, "none": schema.NoStopping}
            model = stoppers.get(stopping.get("kind"))
    allowed = sorted(model.model_fields) if model is not None else []
    hint = difflib.get_close_matches(str(key)[:MAX_VALUE], allowed, n=1)
    did = f" (did you mean {hint[0]!r}?)" if hint else ""
    choose = f"; allowed: {', '.join(allowed)}" if allowed else ""
    return f"unknown field {abbreviate(key)}{did}{choose}"


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; any problem raises :class:`StudyError` with one line."""
    p = Path(path)
    if p.is_dir():
        inside = p / STUDY_FILE
        hint = (f"; a study directory: 'gansweep resume {p}' continues it, {inside} is its study file"
                if inside.is_file() else "; give a study's YAML file")
        raise StudyError(f"{p}: is a directory, not a study file{hint}")
    if not p.is_file():
        what = "not a regular file (a pipe, a device or a socket)" if p.exists() else "no such study file"
        raise StudyError(f"{p}: {what}")
    if p.stat().st_size > MAX_BYTES:
        raise StudyError(f"{p}: file is larger than {MAX_BYTES // 1024} KiB; not a study file")
    return study_from_bytes(p.read_bytes(), str(p))


def study_from_bytes(raw: bytes, source: str) -> Study:
    """A study from a file's bytes (local or in a bucket): the same checks as :func:`load_study`."""
    return study_from_data(parse_yaml(study_text(raw, source), source), source)


def study_text(raw: bytes, source: str) -> str:
    """The text of a study file, or :class:`StudyError`: too large, not UTF-8, NUL bytes."""
    if len(raw) > MAX_BYTES:
        raise StudyError(f"{source}: file is larger than {MAX_BYTES // 1024} KiB; not a study file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StudyError(f"{source}: not a text file (invalid UTF-8)") from None
    if "\x00" in text:
        raise StudyError(f"{source}: not a text file (contains NUL bytes)")
    return text


def dump_study(study: Study) -> str:
    """The study as YAML, round-trippable through :func:`study_from_data`."""
    return yaml.dump(study.model_dump(mode="json", exclude_defaults=False), Dumper=_SafeDumper, sort_keys=False)
