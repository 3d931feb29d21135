"""The synthetic faces as a FaceDataset, generated once and then read from an on-disk ``.npy`` cache.

Generating 10,000 faces costs tens of seconds of CPU, every process that trains or explores would pay
it again, and a memory map lets several processes (DDP ranks, the UI) share one copy in the page
cache. Files are named by :data:`GENERATOR_VERSION`, resolution, seed and count, so a change of the
drawing code never serves stale faces, and because face ``i`` depends only on ``(seed, i)`` a cache
of ``m`` faces serves every prefix ``n <= m``. The files are written and read with
:mod:`vae_core.data.npy_files`, like the preprocessed cache of real images.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import numpy as np

from ...config import DataSpec
from ..cache import default_cache_dir
from ..dataset import FaceDataset
from ..npy_files import load_npy, save_npy
from ..schema import CARTOONSET_SCHEMA
from .render import GENERATOR_VERSION, generate_faces

log = logging.getLogger(__name__)

#: Shown wherever these faces appear, so nobody mistakes them for the real data set.
SYNTHETIC_LABEL = "SYNTHETIC procedural cartoon faces (not Google's Cartoon Set)"

#: synthetic_dataset caches sets of at least this many faces (smaller ones take well under a second).
CACHE_MIN_FACES = 256


def synthetic_dataset(spec: DataSpec, progress: bool = False, use_cache: bool = True,
                      cache_dir: Path | None = None) -> FaceDataset:
    """The FaceDataset a ``kind='synthetic'`` spec describes (``min(size, limit)`` faces, schema of the
    Cartoon Set). Generating only the first ``limit`` faces gives the same faces as cutting them.

    With ``use_cache`` (default) the faces come from the on-disk cache when it holds them (a cache of
    more faces of the same seed serves any prefix); on a miss, sets of at least
    :data:`CACHE_MIN_FACES` faces are generated and written there (:func:`cached_synthetic`), while
    smaller ones take well under a second to generate and never touch disk.
    ``progress`` shows a progress bar while faces are being generated.
    """
    if not spec.is_synthetic:
        raise ValueError(f"synthetic_dataset needs a synthetic DataSpec, got kind {spec.kind!r}")
    if use_cache:
        return _cached(spec, cache_dir, progress, write=_face_count(spec) >= CACHE_MIN_FACES)
    images, labels = _generate_for(spec, _face_count(spec), progress)
    return _dataset(spec, images, labels)


def cached_synthetic(spec: DataSpec, cache_dir: Path | None = None, progress: bool = False) -> FaceDataset:
    """:func:`synthetic_dataset` backed by the on-disk cache whatever the size (memory-mapped on load).

    Files live in ``cache_dir`` (default ``$VAE_CACHE_DIR`` or ``~/.cache/cartoon-vae``) under
    ``synthetic/``. Labels are written before images and each atomically; a lookup needs both, so a
    crash never yields a half cache. If the folder is not writable the faces are returned from memory
    with a warning.
    """
    if not spec.is_synthetic:
        raise ValueError(f"cached_synthetic needs a synthetic DataSpec, got kind {spec.kind!r}")
    return _cached(spec, cache_dir, progress, write=True)


def _cached(spec: DataSpec, cache_dir: Path | None, progress: bool, write: bool) -> FaceDataset:
    """Read the faces from the cache if it has them; else generate them and, if ``write``, store them."""
    n = _face_count(spec)
    folder = (default_cache_dir() if cache_dir is None else Path(cache_dir)).expanduser() / "synthetic"
    hit = _load_cached(folder, n, spec.seed, spec.resolution) if folder.is_dir() else None
    if hit is not None:
        return _dataset(spec, *hit)
    images, labels = _generate_for(spec, n, progress)
    if write:
        name = _cache_name(n, spec.seed, spec.resolution)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            save_npy(folder / f"{name}.labels.npy", labels)
            save_npy(folder / f"{name}.images.npy", images)
        except OSError as e:
            log.warning("cannot cache synthetic faces in %s (%s); set VAE_CACHE_DIR to a writable folder",
                        folder, e.strerror or e)
        else:
            images = np.load(folder / f"{name}.images.npy", mmap_mode="r", allow_pickle=False)
    return _dataset(spec, images, labels)


def _cache_name(n: int, seed: int, resolution: int) -> str:
    return f"synthetic-v{GENERATOR_VERSION}-r{resolution}-s{seed}-n{n}"


def _load_cached(folder: Path, n: int, seed: int, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Memory-mapped (images[:n], labels[:n]) of the smallest valid cache holding at least n faces.

    A run with ``limit`` thereby reuses the full set's file instead of writing another one.
    """
    prefix = _cache_name(0, seed, resolution)[:-1]  # "...-n"
    found: list[tuple[int, Path]] = []
    for p in folder.glob(f"{glob.escape(prefix)}*.images.npy"):
        count = p.name[len(prefix):-len(".images.npy")]
        if count.isdigit() and int(count) >= n:
            found.append((int(count), p))
    for m, img_path in sorted(found):
        lab_path = img_path.with_name(img_path.name.replace(".images.npy", ".labels.npy"))
        try:
            images = load_npy(img_path, np.uint8, (m, resolution, resolution, 3), mmap=True)
            labels = load_npy(lab_path, np.int64, (m, len(CARTOONSET_SCHEMA)))
        except (OSError, ValueError):  # missing half, truncated or foreign file: ignore it
            continue
        return images[:n], labels[:n]
    return None


def _face_count(spec: DataSpec) -> int:
    return spec.size if spec.limit is None else min(spec.size, spec.limit)


def _generate_for(spec: DataSpec, n: int, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    if not progress:
        return generate_faces(n, resolution=spec.resolution, seed=spec.seed)
    from tqdm.auto import tqdm

    with tqdm(total=n, desc="synthetic faces", unit="face", dynamic_ncols=True) as bar:
        def report(done: int, total: int) -> None:
            bar.update(done - bar.n)

        return generate_faces(n, resolution=spec.resolution, seed=spec.seed, progress=report)


def _dataset(spec: DataSpec, images: np.ndarray, labels: np.ndarray) -> FaceDataset:
    return FaceDataset(images=images, labels=labels, schema=CARTOONSET_SCHEMA, spec=spec,
                       ids=[f"synthetic-{i:06d}" for i in range(len(images))])
