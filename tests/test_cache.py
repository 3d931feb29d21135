"""The preprocessed cache: built once, memory-mapped, rebuilt when the source changes, never half-valid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cartoonset_fixtures import SORTED_FACE_IDS, TinySet, cartoonset_dir, csv_text, tiny_set  # noqa: F401
from vae_core.config import DataSpec
from vae_core.data import cache as cache_mod
from vae_core.data import load_dataset
from vae_core.data.cache import MANIFEST, cached_images, default_cache_dir
from vae_core.errors import DatasetError


def _spec(path: Path, **kw) -> DataSpec:
    return DataSpec(kind=kw.pop("kind", "cartoonset"), path=str(path), resolution=kw.pop("resolution", 32),
                    crop_fraction=kw.pop("crop_fraction", 0.7), **kw)


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(task):
        raise AssertionError(f"decoded {task[0]} although the cache is valid")

    monkeypatch.setattr(cache_mod, "_decode_task", boom)


def _slots(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.is_dir())


def test_built_once_then_memory_mapped(cartoonset_dir: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    first = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    _forbid_decoding(monkeypatch)
    second = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    assert isinstance(second.images, np.memmap) and not second.images.flags.writeable
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert second.ids == list(SORTED_FACE_IDS)
    (slot,) = _slots(cache)
    manifest = json.loads((slot / MANIFEST).read_text())
    assert manifest["count"] == 6 and manifest["key"]["crop_fraction"] == 0.7
    assert manifest["fingerprint"]["count"] == 12  # 6 PNGs + 6 CSVs


def test_settings_get_their_own_cache(cartoonset_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    b = load_dataset(_spec(cartoonset_dir, resolution=64), cache_dir=cache, progress=False)
    c = load_dataset(_spec(cartoonset_dir, crop_fraction=1.0), cache_dir=cache, progress=False)
    d = load_dataset(_spec(cartoonset_dir, limit=4), cache_dir=cache, progress=False)
    assert b.images.shape == (6, 64, 64, 3) and len(d) == 4 and d.ids == list(SORTED_FACE_IDS[:4])
    assert not np.array_equal(a.images, c.images)
    np.testing.assert_array_equal(a.images[:4], d.images)
    assert len(_slots(cache)) == 4


def test_rebuilt_when_a_source_file_changes(cartoonset_dir: Path, tiny_set: TinySet, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    before = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    target = cartoonset_dir / f"{SORTED_FACE_IDS[1]}.png"
    Image.new("RGB", (500, 500), (0, 0, 0)).save(target)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    after = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    assert (after.images[1] == 0).all() and not (before.images[1] == 0).all()
    np.testing.assert_array_equal(before.images[0], after.images[0])
    assert len(_slots(cache)) == 1  # rebuilt in place, old arrays removed
    (slot,) = _slots(cache)
    assert len(list(slot.glob("images-*.npy"))) == 1

    # a label edit (CSV only) is a source change too
    lab = tiny_set.labels[SORTED_FACE_IDS[0]].copy()
    lab[0] = (lab[0] + 1) % 3
    csv = cartoonset_dir / f"{SORTED_FACE_IDS[0]}.csv"
    csv.write_text(csv_text(lab))
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns + 9_000_000_000))
    relabelled = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    np.testing.assert_array_equal(relabelled.labels[0], lab)

    # so is an added face
    (cartoonset_dir / "cs999.png").write_bytes(target.read_bytes())
    (cartoonset_dir / "cs999.csv").write_text(csv_text(lab))
    assert len(load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)) == 7
    _forbid_decoding(monkeypatch)
    assert len(load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)) == 7


def test_killed_build_leaves_no_valid_looking_cache(cartoonset_dir: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    real = cache_mod._decode_task
    calls = {"n": 0}

    def dies_midway(task):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like Ctrl-C or a kill between two images
        return real(task)

    monkeypatch.setattr(cache_mod, "_decode_task", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    (slot,) = _slots(cache)
    assert list(slot.iterdir()) == []  # no manifest, no partial arrays

    # a hard kill leaves partial files but no manifest: the next load ignores them and builds
    (slot / "images-x.npy.partial").write_bytes(b"\x93NUMPY junk")
    monkeypatch.setattr(cache_mod, "_decode_task", real)
    ds = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    assert ds.images.shape == (6, 32, 32, 3)


def test_corrupt_cache_files_are_rebuilt(cartoonset_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = np.array(load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False).images)
    (slot,) = _slots(cache)
    (images_file,) = slot.glob("images-*.npy")
    images_file.write_bytes(images_file.read_bytes()[:200])  # truncated array
    again = load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False)
    np.testing.assert_array_equal(again.images, good)
    (slot / MANIFEST).write_text("{not json")
    np.testing.assert_array_equal(load_dataset(_spec(cartoonset_dir), cache_dir=cache, progress=False).images, good)


def test_unreadable_images_are_listed(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (40, 30), (9, 9, 9)).save(folder / "a.png")
    Image.new("RGB", (64, 64), (200, 9, 9)).save(folder / "b.jpg")  # mixed sizes and formats are fine
    (folder / "c.png").write_bytes(b"not an image at all")
    (folder / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(DatasetError, match=r"2 image\(s\) could not be read(.|\n)*c\.png(.|\n)*d\.png"):
        load_dataset(_spec(folder, kind="folder", crop_fraction=1.0), cache_dir=tmp_path / "cache", progress=False)
    (slot,) = _slots(tmp_path / "cache")
    assert list(slot.iterdir()) == []
    (folder / "c.png").unlink()
    (folder / "d.png").unlink()
    ds = load_dataset(_spec(folder, kind="folder", crop_fraction=1.0), cache_dir=tmp_path / "cache", progress=False)
    assert ds.images.shape == (2, 32, 32, 3) and ds.ids == ["a.png", "b.jpg"]


def test_process_pool_matches_in_process(cartoonset_dir: Path, tmp_path: Path) -> None:
    paths = sorted(cartoonset_dir.glob("cs*.png"))
    one = cached_images("cartoonset", cartoonset_dir, paths, resolution=32, crop_fraction=0.7,
                        cache_dir=tmp_path / "c1", progress=False, workers=1)
    two = cached_images("cartoonset", cartoonset_dir, paths, resolution=32, crop_fraction=0.7,
                        cache_dir=tmp_path / "c2", progress=False, workers=2)
    assert one.built and two.built and two.manifest["workers"] == 2
    np.testing.assert_array_equal(one.images, two.images)
    again = cached_images("cartoonset", cartoonset_dir, paths, resolution=32, crop_fraction=0.7,
                          cache_dir=tmp_path / "c1", progress=False)
    assert not again.built


def test_default_cache_dir_honours_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("VAE_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "cartoon-vae"


def test_unwritable_cache_dir_says_how_to_fix(cartoonset_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatasetError, match="VAE_CACHE_DIR"):
        load_dataset(_spec(cartoonset_dir), cache_dir=blocker, progress=False)
