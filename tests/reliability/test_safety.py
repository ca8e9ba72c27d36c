"""Safety: no unsafe deserialisation in gansweep, untrusted Tune state not unpickled, local Ray locked down."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gansweep.driver.resume import prepare_resume, untrusted_tune_files, untrusted_tune_state
from gansweep.store.studydir import StudyDir
from gansweep.study import study_from_data

from _reliab import ROOT, study_data

SOURCES = sorted((ROOT / "gansweep").rglob("*.py"))


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            yield owner, name, node


def kw(node: ast.Call, name: str):
    return next((k.value for k in node.keywords if k.arg == name), None)


def test_no_unsafe_deserialisation_in_gansweep():
    """yaml through SafeLoader only, torch.load(weights_only=True), no pickle, eval or exec."""
    torch_loads, problems = [], []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for owner, name, node in calls(tree):
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if owner == "yaml" and name in ("unsafe_load", "full_load", "load_all", "unsafe_load_all"):
                problems.append(f"{where}: yaml.{name}")
            if owner == "yaml" and name == "load":
                loader = kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
                module = __import__(".".join(path.relative_to(ROOT).with_suffix("").parts), fromlist=["x"])
                cls = getattr(module, loader.id, None) if isinstance(loader, ast.Name) else None
                if not (isinstance(cls, type) and issubclass(cls, yaml.SafeLoader)):
                    problems.append(f"{where}: yaml.load without a SafeLoader")
            if owner == "torch" and name == "load":
                weights_only = kw(node, "weights_only")
                torch_loads.append(where)
                if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if owner in ("pickle", "cloudpickle", "dill", "joblib", "marshal", "shelve") and "load" in name:
                problems.append(f"{where}: {owner}.{name}")
            if name == "read_pickle" or (owner in ("np", "numpy") and name == "load"
                                         and isinstance(kw(node, "allow_pickle"), ast.Constant)
                                         and kw(node, "allow_pickle").value):
                problems.append(f"{where}: {name} of a pickle")
            if owner == "" and name in ("eval", "exec"):
                problems.append(f"{where}: {name}")
    print("torch.load sites:", torch_loads)
    assert problems == []


def test_untrusted_tune_state_is_not_unpickled(tmp_path, monkeypatch):
    """Tune's saved experiment is pickles: resume loads it only if this user's gansweep signed it
    here and nobody else can write it."""
    from gansweep.driver.trust import signing_filesystem

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    sd = StudyDir(tmp_path / "rel")
    study = study_from_data(study_data(), "s.yaml")
    sd.create(study, {"dry_run": True})
    sd.tune_dir.mkdir()
    pkl = sd.tune_dir / "tuner.pkl"
    pkl.write_bytes(b"\x80\x04N.")
    assert "no signing key" in untrusted_tune_state(sd)  # written, but not by a driver
    signing_filesystem(sd.path).handler.sign_existing()  # as at the end of a run
    assert untrusted_tune_files(sd) == [] and prepare_resume(sd, study) == []
    pkl.chmod(0o666)
    assert untrusted_tune_files(sd) == [pkl]
    pkl.chmod(0o644)
    if os.getuid() == 0:
        os.chown(pkl, 12345, 12345)
        assert untrusted_tune_files(sd) == [pkl]
    else:
        pkl.unlink()
        pkl.symlink_to(tmp_path / "elsewhere.pkl")
    notes = prepare_resume(sd, study)
    assert len(notes) == 1 and "is not loaded" in notes[0]
    assert "tuner.pkl" in sd.tune_stale()  # the driver starts a new experiment from the store instead


def test_the_installed_package_has_no_fault_hook():
    """Fault injection lives in tests/faults; no variable of the installed package can fail trials."""
    import gansweep

    package = Path(gansweep.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "_FAULTS" not in text and "injected_fault" not in text, path


PROBE = r"""
import json, os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import ray
import psutil  # Ray's vendored copy, importable once ray is
from gansweep.driver.run import _init_ray
_init_ray(None)
from ray._raylet import AuthenticationMode, get_authentication_mode
node = ray._private.worker.global_worker.node
me = psutil.Process()
procs = [me, *me.children(recursive=True)]
names = sorted({p.name() for p in procs})
time.sleep(3)  # let the agents open their ports
pids = {p.pid: p.name() for p in procs}
listen = sorted({(pids[c.pid], c.laddr.ip, c.laddr.port) for c in psutil.net_connections("inet")
                 if c.status == "LISTEN" and c.pid in pids})
import urllib.error, urllib.request
http = []
for _, ip, port in listen:  # a dashboard or job-submission HTTP API would answer here
    host = "127.0.0.1" if ip in ("::", "0.0.0.0") else ip
    for path in ("/api/version", "/api/jobs/", "/api/job_agent/jobs/", "/get_or_create_runtime_env"):
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=2) as r:
                http.append(f"{port}{path} {r.status}")
        except urllib.error.HTTPError as e:
            if e.code not in (401, 403, 404, 405):
                http.append(f"{port}{path} {e.code}")
        except Exception:
            pass
code = ("import ray\ntry:\n    ray.init(address=%r, logging_level='ERROR'); print('CONNECTED')\n"
        "except Exception as e:\n    print('REFUSED', type(e).__name__)") % node.gcs_address
intruders = [subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) for env in ({"RAY_AUTH_TOKEN": "0" * 64},
                                                                     {"RAY_AUTH_MODE": "disabled"})]
answers = []
for p in intruders:
    try:
        answers.append(p.communicate(timeout=90)[0].decode().strip())
    except subprocess.TimeoutExpired:
        p.kill()
        answers.append("TIMEOUT")
print(json.dumps({"token": get_authentication_mode() == AuthenticationMode.TOKEN, "webui": node.webui_url,
                  "names": names, "listen": listen, "http": http, "intruders": answers}))
ray.shutdown()
"""


@pytest.mark.slow
def test_local_ray_needs_its_token_and_has_no_dashboard(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT)], env=env, capture_output=True, text=True,
                          timeout=300, start_new_session=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    print(info)
    assert info["token"] is True
    assert not info["webui"] and "ray::Dashboard" not in info["names"]  # ray::DashboardAgent is per node
    assert info["http"] == []  # no HTTP API (dashboard, job submission) answers on any Ray port
    assert info["intruders"] == ["REFUSED ConnectionError", "REFUSED ConnectionError"]
