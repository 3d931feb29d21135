"""The procedural cartoon faces: deterministic, labelled in the Cartoon Set schema, every label visible."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from vae_core.config import DataSpec
from vae_core.data import load_dataset
from vae_core.data.schema import CARTOONSET_SCHEMA
import vae_core.data.synthetic.dataset as synthetic_data
from vae_core.data.synthetic import (
    GENERATOR_VERSION,
    SYNTHETIC_LABEL,
    cached_synthetic,
    generate_faces,
    hair_family,
    render_face,
    sample_attributes,
    synthetic_dataset,
)

NAMES = CARTOONSET_SCHEMA.names
CARDS = CARTOONSET_SCHEMA.cardinalities
A = {n: j for j, n in enumerate(NAMES)}

#: A plain face: short hair, no beard, no glasses - nothing hides the eyes, brows or mouth.
BASE = np.array([1, 0, 0, 1, 1, 3, 1, 0, 14, 1, 0, 2, 1, 11, 0, 1, 1, 1], dtype=np.int64)


def _digest(img: np.ndarray) -> str:
    return hashlib.sha1(img.tobytes()).hexdigest()


def _with(base: np.ndarray, **values: int) -> np.ndarray:
    a = base.copy()
    for name, v in values.items():
        a[A[name]] = v
    return a


def test_label_says_synthetic() -> None:
    assert "SYNTHETIC" in SYNTHETIC_LABEL and "not" in SYNTHETIC_LABEL


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_shapes_and_dtypes(resolution: int) -> None:
    images, labels = generate_faces(3, resolution=resolution, seed=0)
    assert images.shape == (3, resolution, resolution, 3) and images.dtype == np.uint8
    assert labels.shape == (3, 18) and labels.dtype == np.int64
    one = render_face(labels[0], resolution, 123)
    assert one.shape == (resolution, resolution, 3) and one.dtype == np.uint8


def test_same_seed_same_bytes_other_seed_differs() -> None:
    a_img, a_lab = generate_faces(6, resolution=32, seed=7)
    b_img, b_lab = generate_faces(6, resolution=32, seed=7)
    c_img, c_lab = generate_faces(6, resolution=32, seed=8)
    assert a_img.tobytes() == b_img.tobytes() and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(a_lab, c_lab)
    assert all(_digest(a) != _digest(c) for a, c in zip(a_img, c_img))
    assert np.array_equal(sample_attributes(50, 7), sample_attributes(50, 7))
    assert not np.array_equal(sample_attributes(50, 7), sample_attributes(50, 8))


def test_prefix_property() -> None:
    long_img, long_lab = generate_faces(9, resolution=32, seed=3)
    short_img, short_lab = generate_faces(4, resolution=32, seed=3)
    assert np.array_equal(long_img[:4], short_img) and np.array_equal(long_lab[:4], short_lab)
    assert np.array_equal(sample_attributes(1000, 5)[:10], sample_attributes(10, 5))


def test_independent_of_workers_and_reports_progress() -> None:
    calls: list[tuple[int, int]] = []
    n = 260  # above the serial threshold, so workers=2 really uses a process pool
    pooled, pl = generate_faces(n, resolution=32, seed=11, workers=2, progress=lambda d, t: calls.append((d, t)))
    serial, sl = generate_faces(n, resolution=32, seed=11, workers=1)
    assert np.array_equal(pooled, serial) and np.array_equal(pl, sl)
    assert calls and calls[-1] == (n, n)
    done = [d for d, _ in calls]
    assert done == sorted(done) and all(t == n for _, t in calls)


@pytest.mark.slow  # starts a fresh interpreter that imports torch: a few seconds
def test_pool_works_from_a_script_without_main_guard(tmp_path: Path) -> None:
    script = tmp_path / "gen.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from vae_core.data.synthetic import generate_faces
        a, _ = generate_faces(260, resolution=32, seed=2, workers=2)
        b, _ = generate_faces(8, resolution=32, seed=2, workers=1)
        assert np.array_equal(a[:8], b)
        print("ok")
    """))
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_labels_in_range_with_realistic_frequencies() -> None:
    labels = sample_attributes(5000, seed=1)
    assert labels.dtype == np.int64 and labels.shape == (5000, 18)
    CARTOONSET_SCHEMA.validate_labels(labels)
    for j, (name, card) in enumerate(zip(NAMES, CARDS)):
        counts = np.bincount(labels[:, j], minlength=card)
        assert len(counts) == card and (counts > 0).all(), f"{name}: some values never sampled"
    assert 0.45 < np.mean(labels[:, A["glasses"]] == 11) < 0.65
    assert 0.5 < np.mean(labels[:, A["facial_hair"]] == 14) < 0.7


@pytest.mark.parametrize("name", NAMES)
def test_every_value_of_every_attribute_changes_the_image(name: str) -> None:
    base = _with(BASE, glasses=2) if name == "glasses_color" else BASE  # frame colour needs a frame
    digests = set()
    for v in range(CARDS[A[name]]):
        digests.add(_digest(render_face(_with(base, **{name: v}), 32, rng_seed=5)))
    assert len(digests) == CARDS[A[name]], f"{name}: some values render identically"


def test_hair_values_are_distinct_styles_from_eleven_families() -> None:
    families = {hair_family(v)[0] for v in range(111)}
    assert len(families) == 11
    with pytest.raises(ValueError):
        hair_family(111)
    for seed_face in (BASE, _with(BASE, face_shape=4, hair_color=6, face_color=8)):
        imgs = [render_face(_with(seed_face, hair=v), 64, 0) for v in range(0, 111, 5)]
        assert len({_digest(i) for i in imgs}) == len(imgs)


def test_none_values_draw_nothing_and_others_draw_something() -> None:
    plain = render_face(BASE, 64, 1).astype(int)
    assert np.array_equal(render_face(_with(BASE, facial_hair=14, glasses=11), 64, 1), plain.astype(np.uint8))
    bearded = render_face(_with(BASE, facial_hair=0), 64, 1).astype(int)
    lower = slice(40, 64)  # the full beard covers the jaw
    assert (np.abs(bearded[lower] - plain[lower]).sum(-1) > 60).sum() > 50
    red = render_face(_with(BASE, glasses=0, glasses_color=2), 64, 1).astype(int)
    reddish = lambda im: ((im[..., 0] > 150) & (im[..., 1] < 110) & (im[..., 2] < 110)).sum()  # noqa: E731
    assert reddish(red) > reddish(plain) + 20
    for v in range(14):
        assert not np.array_equal(render_face(_with(BASE, facial_hair=v), 32, 1), render_face(BASE, 32, 1))
    for v in range(11):
        assert not np.array_equal(render_face(_with(BASE, glasses=v), 32, 1), render_face(BASE, 32, 1))


def test_anti_aliased_edges() -> None:
    img = render_face(BASE, 64, 0)
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 100
    # along a row through the face, between pure white background and the skin there are blended pixels
    row = img[32].astype(int)
    grey = row.sum(-1)
    assert ((grey > 200) & (grey < 3 * 255 - 10)).any()
    lum = img.astype(float).mean(-1)
    partial = ((lum > 20) & (lum < 235)).mean()
    assert partial > 0.2


def test_faces_differ_from_each_other() -> None:
    images, labels = generate_faces(16, resolution=32, seed=0)
    assert len({_digest(i) for i in images}) == 16
    assert len({tuple(r) for r in labels}) == 16
    # the background is white and the face sits in the middle
    assert (images[:, 0, :, :] > 240).mean() > 0.3
    assert (images[:, 16, 16, :] < 250).any(-1).all()


def test_render_face_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        render_face(BASE[:17], 64, 0)
    with pytest.raises(ValueError):
        render_face(_with(BASE, hair=111), 64, 0)
    with pytest.raises(ValueError):
        render_face(BASE, 48, 0)
    with pytest.raises(ValueError):
        generate_faces(-1)


def test_synthetic_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    spec = DataSpec(kind="synthetic", size=10, seed=4, resolution=32)
    ds = synthetic_dataset(spec)
    assert len(ds) == 10 and ds.is_synthetic and ds.spec is spec
    assert ds.schema == CARTOONSET_SCHEMA and ds.resolution == 32
    assert ds.ids[0] == "synthetic-000000" and ds.ids[9] == "synthetic-000009"
    images, labels = generate_faces(10, resolution=32, seed=4)
    assert np.array_equal(ds.images, images) and np.array_equal(ds.labels, labels)
    limited = synthetic_dataset(DataSpec(kind="synthetic", size=10, seed=4, resolution=32, limit=3))
    assert len(limited) == 3 and np.array_equal(limited.images, images[:3])
    via_loader = load_dataset(DataSpec(kind="synthetic", size=5, seed=4, resolution=32))
    assert np.array_equal(via_loader.images, images[:5]) and via_loader.is_synthetic
    with pytest.raises(ValueError):
        synthetic_dataset(DataSpec(kind="folder", path="/tmp"))


def _no_generation(*a, **k):
    raise AssertionError("faces were generated again instead of read from the cache")


def test_cache_hit_does_not_regenerate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "env"))
    spec = DataSpec(kind="synthetic", size=12, seed=9, resolution=32)
    first = cached_synthetic(spec)
    files = sorted(p.name for p in (tmp_path / "env" / "synthetic").iterdir())
    assert files == [f"synthetic-v{GENERATOR_VERSION}-r32-s9-n12.images.npy",
                     f"synthetic-v{GENERATOR_VERSION}-r32-s9-n12.labels.npy"]
    images, labels = generate_faces(12, resolution=32, seed=9)
    assert np.array_equal(first.images, images) and np.array_equal(first.labels, labels)
    assert first.is_synthetic and first.ids[11] == "synthetic-000011" and first.schema == CARTOONSET_SCHEMA

    monkeypatch.setattr(synthetic_data, "generate_faces", _no_generation)
    again = cached_synthetic(spec)
    assert isinstance(again.images, np.memmap) and np.array_equal(again.images, images)
    assert np.array_equal(again.labels, labels)
    # a prefix (limit) is served from the larger file: same faces, no new file
    limited = cached_synthetic(DataSpec(kind="synthetic", size=12, seed=9, resolution=32, limit=5))
    assert np.array_equal(limited.images, images[:5]) and len(limited.ids) == 5
    assert len(list((tmp_path / "env" / "synthetic").iterdir())) == 2
    # another seed, size or resolution is another key
    with pytest.raises(AssertionError, match="generated again"):
        cached_synthetic(DataSpec(kind="synthetic", size=12, seed=10, resolution=32))
    with pytest.raises(AssertionError, match="generated again"):
        cached_synthetic(DataSpec(kind="synthetic", size=13, seed=9, resolution=32))
    with pytest.raises(AssertionError, match="generated again"):
        cached_synthetic(DataSpec(kind="synthetic", size=12, seed=9, resolution=64))


def test_cache_explicit_dir_ignores_broken_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "unused"))
    spec = DataSpec(kind="synthetic", size=6, seed=1, resolution=32)
    folder = tmp_path / "explicit" / "synthetic"
    folder.mkdir(parents=True)
    stem = f"synthetic-v{GENERATOR_VERSION}-r32-s1-n6"
    (folder / f"{stem}.images.npy").write_bytes(b"not an npy file")  # a killed or foreign writer
    ds = cached_synthetic(spec, cache_dir=tmp_path / "explicit")
    assert np.array_equal(ds.images, generate_faces(6, resolution=32, seed=1)[0])
    assert not (tmp_path / "unused").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # temp files were renamed
    np.load(folder / f"{stem}.images.npy")  # rewritten whole


def test_synthetic_dataset_caches_large_sets_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(synthetic_data, "CACHE_MIN_FACES", 8)
    small = synthetic_dataset(DataSpec(kind="synthetic", size=4, seed=2, resolution=32))
    assert not (tmp_path / "synthetic").exists() and len(small) == 4
    big = synthetic_dataset(DataSpec(kind="synthetic", size=8, seed=2, resolution=32))
    assert isinstance(big.images, np.memmap)
    uncached = synthetic_dataset(DataSpec(kind="synthetic", size=8, seed=2, resolution=32), use_cache=False)
    assert not isinstance(uncached.images, np.memmap) and np.array_equal(uncached.images, big.images)
    monkeypatch.setattr(synthetic_data, "generate_faces", _no_generation)
    via_loader = load_dataset(DataSpec(kind="synthetic", size=8, seed=2, resolution=32, limit=3))
    assert len(via_loader) == 3 and np.array_equal(via_loader.images, big.images[:3])


def test_load_dataset_synthetic_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    ds = load_dataset(DataSpec(kind="synthetic", size=20, resolution=32))
    assert len(ds) == 20 and ds.images.shape == (20, 32, 32, 3) and ds.labels.shape == (20, 18)
    assert ds.is_synthetic and ds.schema == CARTOONSET_SCHEMA
