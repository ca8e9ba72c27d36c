"""What ``--log-to`` names, and the care its URIs need: credentials never shown, run keys stable."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Target:
    kind: str  # a key of BACKENDS
    uri: str | None = None  # mlflow's tracking URI; None: MLFLOW_TRACKING_URI, else the study's own store

    @property
    def shown(self) -> str:
        return self.kind if self.uri is None else f"{self.kind}:{redact(self.uri)}"


def redact(uri: str) -> str:
    """``uri`` with the user and password it carries (``http://user:pass@host``) shown as ``***``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "***"
    if "@" not in parts.netloc:
        return uri
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def secrets_of(uri: str | None) -> list[str]:
    """The strings of ``uri`` that must never be shown: its user info, raw and decoded, and its password."""
    if not uri:
        return []
    try:
        netloc = urlsplit(uri).netloc
    except ValueError:
        return [uri]
    if "@" not in netloc:
        return []
    info = netloc.rsplit("@", 1)[0]
    out = {info, unquote(info)}
    if ":" in info:
        password = info.split(":", 1)[1]
        out |= {password, unquote(password)}
    return sorted((s for s in out if s), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def run_key(instance: str, trial_id: str) -> str:
    """A trial's tracking-run key: the same for every driver of one study, new for a study started
    again (``--force``) under the same name (``instance`` differs)."""
    return hashlib.sha256(f"{instance}\0{trial_id}".encode()).hexdigest()[:16]
