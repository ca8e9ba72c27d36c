"""docker/: the image, the cluster launcher config and the RayJob agree with each other and with
the Ray version pinned in pyproject.toml (a node with another Ray version cannot join)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "USER", "WORKDIR", "LABEL", "EXPOSE",
                "ENTRYPOINT", "CMD", "SHELL", "VOLUME", "HEALTHCHECK", "STOPSIGNAL", "ONBUILD"}


def pinned_ray() -> tuple[str, str]:
    """(lowest, excluded upper) of the ray[tune] pin, e.g. ("2.60", "2.61")."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("ray["))
    m = re.fullmatch(r"ray\[tune\]>=(\d+\.\d+),<(\d+\.\d+)", spec.replace(" ", ""))
    assert m, f"unexpected ray pin {spec!r}"
    return m.group(1), m.group(2)


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")[:3])


def within_pin(version: str) -> bool:
    low, high = pinned_ray()
    return version_tuple(low) <= version_tuple(version) < version_tuple(high)


def dockerfile() -> tuple[list[tuple[str, str]], str]:
    """Instructions (continuations joined) and the RAY_VERSION default."""
    text = (DOCKER / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    version = next(rest.split("=", 1)[1] for word, rest in instructions
                   if word == "ARG" and rest.startswith("RAY_VERSION="))
    return instructions, version


def image_version() -> str:
    return dockerfile()[1]


def test_dockerfile_parses_and_builds_on_the_pinned_official_ray_image():
    instructions, version = dockerfile()
    assert all(word in INSTRUCTIONS for word, _ in instructions), instructions
    assert within_pin(version), (version, pinned_ray())
    base = next(rest for word, rest in instructions if word == "FROM")
    assert re.fullmatch(r"rayproject/ray:\$\{RAY_VERSION\}-py311-cu12\d", base), base
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"  # the -py311 image
    for word, rest in instructions:
        if word == "COPY":
            for src in [a for a in rest.split() if not a.startswith("--")][:-1]:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository"


def test_installed_ray_is_the_pinned_one():
    import ray

    assert within_pin(ray.__version__), (ray.__version__, pinned_ray())


def image_tags() -> dict[str, str]:
    cluster = yaml.safe_load((DOCKER / "cluster.yaml").read_text())
    job = yaml.safe_load((DOCKER / "rayjob.yaml").read_text())
    spec = job["spec"]["rayClusterSpec"]
    images = {"cluster.yaml": cluster["docker"]["image"]}
    images["rayjob head"] = spec["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    for g in spec["workerGroupSpecs"]:
        images[f"rayjob {g['groupName']}"] = g["template"]["spec"]["containers"][0]["image"]
    return images


def test_manifests_use_the_image_of_the_pinned_ray_version():
    version = image_version()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for where, image in image_tags().items():
        tag = image.rsplit(":", 1)[1]
        assert tag == f"{project}-ray{version}-cu128", (where, image)
    job = yaml.safe_load((DOCKER / "rayjob.yaml").read_text())
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == version
    readme = (DOCKER / "README.md").read_text()
    assert f"TAG={project}-ray{version}-cu128" in readme


def test_cluster_launcher_config_is_valid_for_ray():
    pytest.importorskip("ray.autoscaler")
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((DOCKER / "cluster.yaml").read_text())
    validate_config(prepare_config(config))  # Ray's own JSON schema; raises when invalid
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    gpu = [t for name, t in types.items() if t.get("resources", {}).get("GPU", 0) > 0]
    assert gpu and all(t["min_workers"] == 0 and t["max_workers"] > 0 for t in gpu)
    assert config["provider"]["type"] == "aws"
    assert any("/mnt/shared" in opt for opt in config["docker"]["run_options"])
    assert any("mount" in c and "nfs" in c for c in config["initialization_commands"])


def test_rayjob_runs_reg_norm_on_autoscaled_gpu_workers():
    job = yaml.safe_load((DOCKER / "rayjob.yaml").read_text())
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    assert "gansweep run studies/reg_norm.yaml --out s3://" in spec["entrypoint"]
    assert (ROOT / "studies" / "reg_norm.yaml").is_file()
    yaml.safe_load(spec["runtimeEnvYAML"])
    cluster = spec["rayClusterSpec"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    (group,) = cluster["workerGroupSpecs"]
    assert group["minReplicas"] == 0 and group["maxReplicas"] > 0
    limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"


def test_the_image_installs_gansweep_with_its_s3_extra():
    """Without boto3 the study lease on s3:// would be best effort (docs/CLUSTER.md)."""
    instructions, _ = dockerfile()
    installs = [rest for word, rest in instructions if word == "RUN" and "pip install" in rest]
    assert any('"/opt/gansweep[s3]"' in rest for rest in installs), installs
