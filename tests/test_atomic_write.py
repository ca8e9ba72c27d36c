"""One atomic writer (gansweep.storage.atomic_write) for the store, the caches and the searcher's
checkpoint: all or nothing, and no temporary left behind whatever stops the write."""

from __future__ import annotations

from pathlib import Path

import pytest

from gansweep.storage import atomic_write


@pytest.mark.parametrize("error", [ValueError("cannot pickle"), KeyboardInterrupt()])
def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "stats.pt"

    def write(f) -> None:
        f.write(b"half")
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, write)
    assert list(tmp_path.iterdir()) == []


def test_an_old_file_stays_whole_when_its_replacement_fails(tmp_path: Path) -> None:
    target = tmp_path / "digest.txt"
    atomic_write(target, lambda f: f.write(b"old"))
    with pytest.raises(RuntimeError):
        atomic_write(target, lambda f: (f.write(b"new, half"), (_ for _ in ()).throw(RuntimeError())))
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["digest.txt"]


def test_cache_files_are_written_by_it(tmp_path: Path) -> None:
    import torch

    from gansweep.metrics.cache import atomic_save, load_or_compute

    atomic_save({"x": torch.ones(2)}, tmp_path / "a" / "b.pt")
    assert torch.equal(load_or_compute(tmp_path / "a" / "b.pt", lambda: None)["x"], torch.ones(2))
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.pt"]
