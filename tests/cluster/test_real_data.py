"""Real data set loaders and the prepared format, on small generated folders and npz files."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from gansweep.data import DATASETS, load_dataset
from gansweep.data.prepare import prepare
from gansweep.data.real import (
    PREPARED_META,
    hash_order,
    held_out,
    load_real,
    prepared_dir,
    source_for,
    to_nchw,
)
from gansweep.errors import GansweepError

from cluster_helpers import random_images, write_folder


def check_images(t: torch.Tensor, channels: int, res: int) -> None:
    assert t.dtype == torch.float32 and t.ndim == 4 and tuple(t.shape[1:]) == (channels, res, res)
    assert t.min() >= -1.0 and t.max() <= 1.0


# ------------------------------------------------------------------------------------ folders


def test_folder_shapes_range_and_split(image_folder):
    ds = load_real(f"folder:{image_folder}", resolution=16)
    check_images(ds.train, 3, 16)
    check_images(ds.test, 3, 16)
    assert len(ds.train) + len(ds.test) == 30 and len(ds.test) == 3  # a tenth of a small set
    assert ds.kind == "image" and ds.resolution == 16 and ds.channels == 3
    assert ds.train_labels is None and ds.num_classes == 0
    assert "held out" in ds.info["split"]


def test_folder_is_deterministic_and_independent_of_file_order(tmp_path):
    images = random_images(20, 10, 10, seed=5)
    a, b = tmp_path / "a", tmp_path / "b"
    write_folder(a, images, nested=False)
    b.mkdir()
    for i in reversed(range(20)):  # same names, written in the opposite order
        Image.fromarray(images[i]).save(b / f"img_{i:04d}.png")
    d1, d2, d3 = load_real(f"folder:{a}"), load_real(f"folder:{a}"), load_real(f"folder:{b}")
    assert torch.equal(d1.train, d2.train) and torch.equal(d1.test, d2.test)
    assert torch.equal(d1.train, d3.train) and torch.equal(d1.test, d3.test)


def test_extreme_pixels_map_to_minus_one_and_one(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(folder / "black.png")
    Image.new("RGB", (8, 8), (255, 255, 255)).save(folder / "white.png")
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "red.png")
    ds = load_real(f"folder:{folder}")
    both = torch.cat([ds.train, ds.test])
    values = {tuple(float(v) for v in img[:, 0, 0]) for img in both}
    assert values == {(-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), (1.0, -1.0, -1.0)}


def test_shorter_side_resized_then_centre_cropped(tmp_path):
    folder = tmp_path / "bands"
    folder.mkdir()
    img = np.zeros((20, 60, 3), np.uint8)
    img[:, :20] = (255, 0, 0)
    img[:, 20:40] = (0, 255, 0)
    img[:, 40:] = (0, 0, 255)
    for i in range(2):
        Image.fromarray(img).save(folder / f"{i}.png")
    ds = load_real(f"folder:{folder}", resolution=16)
    x = ds.train[0]
    assert x.shape == (3, 16, 16)
    centre = x[:, :, 3:13]  # away from the band edges, where bicubic rings a little
    assert torch.allclose(centre[1], torch.ones_like(centre[1]), atol=0.05)  # green
    assert centre[0].max() < -0.9 and centre[2].max() < -0.9


def test_grey_folder_stays_grey_and_native_size(tmp_path):
    folder = tmp_path / "grey"
    write_folder(folder, random_images(12, 9, 9, channels=1, seed=7))
    ds = load_real(f"folder:{folder}")
    check_images(ds.train, 1, 9)


def test_train_and_test_subfolders_are_the_splits(tmp_path):
    write_folder(tmp_path / "tt" / "train", random_images(7, 8, 8, seed=8), nested=False)
    write_folder(tmp_path / "tt" / "test", random_images(4, 8, 8, seed=9), nested=False)
    ds = load_real(f"folder:{tmp_path / 'tt'}")
    assert (len(ds.train), len(ds.test)) == (7, 4)
    assert ds.info["split"] == "the folder's train/ and test/ subfolders"


def test_relative_path_is_taken_under_the_data_root(tmp_path, image_folder):
    ds = load_real("folder:imgs", resolution=8, root=str(tmp_path))
    assert len(ds.train) + len(ds.test) == 30


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(GansweepError, match=r"nope: no such image folder; put the images"):
        load_real(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GansweepError, match=r"empty: no images found"):
        load_real(f"folder:{tmp_path / 'empty'}")
    bad = tmp_path / "bad"
    write_folder(bad, random_images(3, 8, 8), nested=False)
    (bad / "broken.png").write_bytes(b"not a png")
    with pytest.raises(GansweepError, match=r"broken.png: not a readable image"):
        load_real(f"folder:{bad}")


# ---------------------------------------------------------------------------------------- npz


def test_npz_layouts_give_the_same_images(tmp_path):
    x = random_images(20, 6, 6, seed=11)
    np.savez(tmp_path / "hwc.npz", x=x)
    np.savez(tmp_path / "chw.npz", x=x.transpose(0, 3, 1, 2))
    a, b = load_real(f"npz:{tmp_path / 'hwc.npz'}"), load_real(f"npz:{tmp_path / 'chw.npz'}")
    check_images(a.train, 3, 6)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    expected = torch.from_numpy(x.transpose(0, 3, 1, 2)).float() / 127.5 - 1  # no resize: exact
    assert torch.equal(torch.cat([a.train, a.test]).sort(0).values, expected.sort(0).values)


def test_npz_labels_resize_and_explicit_test(tmp_path, npz_file):
    ds = load_real(f"npz:{npz_file}", resolution=8)
    check_images(ds.train, 3, 8)
    assert ds.num_classes == 4 and len(ds.train_labels) == len(ds.train) and ds.test_labels.dtype == torch.int64
    path = tmp_path / "split.npz"
    np.savez(path, x=random_images(10, 5, 5, channels=1), y=np.zeros(10, np.int64),
             x_test=random_images(3, 5, 5, channels=1), y_test=np.ones(3, np.int64))
    ds = load_real(f"npz:{path}")
    check_images(ds.train, 1, 5)
    assert (len(ds.train), len(ds.test), ds.num_classes) == (10, 3, 2)


def test_npz_rgba_drops_alpha_and_tiny_sets_split():
    x = to_nchw(random_images(2, 4, 4, channels=4), "t")
    assert x.shape == (2, 3, 4, 4)
    assert held_out(1, 10) == 0 and held_out(2, 10) == 1 and held_out(30, 3000) == 3 and held_out(10**6, 3000) == 3000


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 8, 8, 3), np.float32)}, "must be uint8 in \\[0, 255\\]"),
    ({"images": np.zeros((4, 8, 8, 3), np.uint8)}, "no array 'x' \\(has images\\)"),
    ({"x": np.zeros((4, 8), np.uint8)}, "must be \\(N, H, W, C\\)"),
    ({"x": np.zeros((4, 7, 8, 9), np.uint8)}, "cannot tell the channel axis"),
    ({"x": np.zeros((4, 8, 8, 3), np.uint8), "y": np.zeros(3, np.int64)}, "'y' must be 4 non-negative"),
])
def test_npz_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(GansweepError, match=message):
        load_real(f"npz:{path}")


def test_npz_missing_or_not_npz(tmp_path):
    with pytest.raises(GansweepError, match=r"missing.npz: no such npz file; save one with numpy.savez"):
        load_real(f"npz:{tmp_path / 'missing.npz'}")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(GansweepError, match=r"text.npz: not a readable .npz file"):
        load_real(f"npz:{tmp_path / 'text.npz'}")


# ------------------------------------------------------------------------------- named sets


def test_named_sets_are_registered():
    assert {"cifar10", "celeba_hq_128", "lsun_bedroom"} <= set(DATASETS.names())


def test_named_set_from_folder_npz_and_env(tmp_path, monkeypatch):
    write_folder(tmp_path / "celeba_hq_128", random_images(20, 32, 32, seed=12))
    np.savez(tmp_path / "lsun_bedroom.npz", x=random_images(30, 20, 24, seed=13))
    ds = load_dataset("celeba_hq_128", resolution=16, root=str(tmp_path))
    check_images(ds.train, 3, 16)
    assert ds.name == "celeba_hq_128" and len(ds.test) == 2
    monkeypatch.setenv("GANSWEEP_DATA", str(tmp_path))
    ds = load_dataset("lsun_bedroom", resolution=16)
    check_images(ds.test, 3, 16)
    assert "lsun_bedroom.npz" in ds.info["source"]


def test_named_set_errors_say_what_to_put_where(tmp_path):
    with pytest.raises(GansweepError, match=r"'celeba_hq_128': no data root; set the study's data root or "
                                            r"GANSWEEP_DATA=DIR, with the 30,000 CelebA-HQ images"):
        load_dataset("celeba_hq_128")
    with pytest.raises(GansweepError, match=r"data root .*nowhere does not exist"):
        load_dataset("lsun_bedroom", root=str(tmp_path / "nowhere"))
    with pytest.raises(GansweepError, match=r"nothing at .*lsun_bedroom or .*lsun_bedroom.npz; put LSUN "
                                            r"bedroom_train_lmdb"):
        load_dataset("lsun_bedroom", root=str(tmp_path))


def test_lmdb_without_the_package_is_explained(tmp_path):
    pytest.importorskip("PIL")
    try:
        import lmdb  # noqa: F401
        pytest.skip("lmdb is installed")
    except ImportError:
        pass
    (tmp_path / "lsun_bedroom").mkdir()
    (tmp_path / "lsun_bedroom" / "data.mdb").write_bytes(b"")
    with pytest.raises(GansweepError, match=r"needs the 'lmdb' package"):
        load_dataset("lsun_bedroom", root=str(tmp_path))


def test_cifar10_missing_and_no_download(tmp_path):
    with pytest.raises(GansweepError, match=r"no .*cifar10/cifar-10-batches-py; put torchvision's CIFAR10 files "
                                            r"there, or set GANSWEEP_DOWNLOAD=1"):
        load_dataset("cifar10", root=str(tmp_path))


def fake_cifar(root, n_train=10, n_test=4):
    """torchvision's CIFAR10 file layout with a few random images (integrity check patched out)."""
    d = root / "cifar10" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else n_train // 5
        labels = [int(v) for v in rng.integers(0, 10, n)]
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": labels}
        (d / name).write_bytes(pickle.dumps(batch))
    (d / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))


def test_cifar10_from_torchvision_layout(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    fake_cifar(tmp_path)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)  # md5s of the real files
    ds = load_dataset("cifar10", root=str(tmp_path))
    check_images(ds.train, 3, 32)
    assert (len(ds.train), len(ds.test), ds.num_classes) == (10, 4, 10)
    assert ds.train_labels.dtype == torch.int64 and "official" in ds.info["split"]
    up = load_dataset("cifar10", resolution=16, root=str(tmp_path))
    check_images(up.test, 3, 16)


def test_memory_cap_uses_a_fixed_subset(tmp_path, monkeypatch, npz_file):
    monkeypatch.setenv("GANSWEEP_DATA_MAX_GB", str(10 * 4 * 3 * 12 * 12 / 2**30))  # room for 10 images
    ds = load_real(f"npz:{npz_file}")
    assert len(ds.train) == 10 and ds.info["train_limited"] == {"used": 10, "available": 36}
    assert len(ds.train_labels) == 10


def test_hash_order_is_pinned():
    # The split must never change between versions: a changed order silently changes every test set.
    assert hash_order(["a", "b", "c", "d"]).tolist() == PINNED_ORDER


PINNED_ORDER = [2, 0, 1, 3]


# --------------------------------------------------------------------------------- prepared


@pytest.mark.parametrize("kind", ["folder", "npz"])
def test_prepared_round_trip(tmp_path, image_folder, npz_file, kind):
    name = f"folder:{image_folder}" if kind == "folder" else f"npz:{npz_file}"
    res = 16 if kind == "folder" else 12
    direct = load_real(name, resolution=res)
    out = prepare(name, out=tmp_path / "prep", resolution=res)
    meta = json.loads((out / PREPARED_META).read_text())
    assert meta["format"] == "gansweep-prepared" and meta["version"] == 1
    assert meta["counts"] == {"train": len(direct.train), "test": len(direct.test)}
    assert (meta["resolution"], meta["channels"], meta["layout"], meta["dtype"]) == (res, 3, "NCHW", "uint8")
    arr = np.load(out / "train.npy", mmap_mode="r")
    assert isinstance(arr, np.memmap) and arr.dtype == np.uint8 and arr.shape == (len(direct.train), 3, res, res)
    back = load_real(f"folder:{out}")
    assert torch.equal(back.train, direct.train) and torch.equal(back.test, direct.test)
    if kind == "npz":
        assert torch.equal(back.train_labels, direct.train_labels) and back.num_classes == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".prep")]  # no temporary left


def test_prepare_refuses_to_overwrite_and_foreign_dirs(tmp_path, npz_file):
    out = prepare(f"npz:{npz_file}", out=tmp_path / "p")
    with pytest.raises(GansweepError, match=r"p: already prepared; delete it or pass --overwrite"):
        prepare(f"npz:{npz_file}", out=out)
    assert prepare(f"npz:{npz_file}", out=out, resolution=6, overwrite=True) == out
    assert json.loads((out / PREPARED_META).read_text())["resolution"] == 6
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(GansweepError, match=r"other: exists and is not a prepared data set"):
        prepare(f"npz:{npz_file}", out=tmp_path / "other")
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"


def test_named_set_prefers_its_prepared_copy(tmp_path):
    write_folder(tmp_path / "celeba_hq_128", random_images(20, 24, 24, seed=14))
    raw = load_dataset("celeba_hq_128", resolution=16, root=str(tmp_path))
    out = prepare("celeba_hq_128", root=tmp_path, resolution=16)
    assert out == prepared_dir(tmp_path, "celeba_hq_128", 16)
    src = source_for("celeba_hq_128", tmp_path, 16)
    assert src.description.startswith("prepared data set")
    fast = load_dataset("celeba_hq_128", resolution=16, root=str(tmp_path))
    assert torch.equal(fast.train, raw.train) and torch.equal(fast.test, raw.test)


def test_damaged_prepared_copy_is_refused(tmp_path, npz_file):
    out = prepare(f"npz:{npz_file}", out=tmp_path / "p")
    meta = json.loads((out / PREPARED_META).read_text())
    meta["counts"]["train"] += 1
    (out / PREPARED_META).write_text(json.dumps(meta))
    with pytest.raises(GansweepError, match=r"train.npy: holds 36 images but gansweep-data.json says 37"):
        load_real(f"folder:{out}")
    (out / PREPARED_META).write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(GansweepError, match=r"version 99, but this gansweep reads"):
        load_real(f"folder:{out}")
