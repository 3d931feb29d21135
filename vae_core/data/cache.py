"""Preprocessed image cache: decode + crop + resize once, then memory-map the result.

Decoding 100,000 500×500 PNGs costs minutes of CPU; doing it every epoch (or every time the explorer
starts) would dominate training. So a source is preprocessed once into ``uint8 [N, R, R, 3]`` stored
as ``.npy`` and loaded with ``np.load(mmap_mode='r')``: the dataset then costs page cache, not RSS,
and several processes (DDP ranks, the UI) share it.

Layout: one *slot* directory per (source kind, absolute source path, resolution, crop fraction,
preprocessing code version, limit) under the cache dir (``$VAE_CACHE_DIR`` or
``~/.cache/cartoon-vae``). A slot holds ``images-<token>.npy``, optionally ``labels-<token>.npy``,
and ``manifest.json`` naming them together with the *fingerprint* of the source files (count, total
size, newest mtime and a hash of the sorted list of (path, size, mtime)). A cache is valid only when
its manifest's key and fingerprint equal the current ones and the arrays it names have the recorded
shapes; otherwise it is rebuilt in place.

Atomicity: arrays are written under fresh token names, each whole or not at all
(:mod:`.npy_files`), and only then the manifest is switched atomically. A build killed at any point
leaves either the old valid cache or no manifest pointing at the partial files, never a valid-looking
half cache; readers that already memory-mapped the old arrays keep reading them (the inode lives
until they close it). Decoding runs in a process pool (:mod:`.pool`) for large sets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Sequence

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import DatasetError, ImageInputError
from .images import PREPROCESS_VERSION, preprocess_file
from .npy_files import load_npy, save_npy, write_npy_rows
from .pool import MIN_POOL_ITEMS, ordered_map

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
#: A build stops after this many unreadable images and reports them.
MAX_REPORTED_BAD = 10
#: Leftovers of killed builds older than this are removed by the next build of the slot.
STALE_PARTIAL_SECONDS = 3600


def default_cache_dir() -> Path:
    """``$VAE_CACHE_DIR`` or ``~/.cache/cartoon-vae`` (read at call time, never at import)."""
    env = os.environ.get("VAE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cartoon-vae"


def fingerprint_files(root: Path, files: Sequence[Path]) -> dict[str, Any]:
    """What must stay equal for a cache of ``files`` to stay valid.

    The hash covers every file's relative path, size and mtime (ns), so adding, removing, renaming or
    rewriting any one of them changes it; count/total size/newest mtime are kept for humans.
    """
    h = hashlib.sha256()
    total = 0
    newest = 0
    for p in files:
        try:
            st = os.stat(p)
        except OSError as e:
            raise DatasetError(f"dataset file {str(p)!r} cannot be read: {e.strerror or e}") from None
        try:
            rel = Path(p).relative_to(root).as_posix()
        except ValueError:  # e.g. a labels CSV kept outside the image folder
            rel = str(p)
        h.update(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        total += st.st_size
        newest = max(newest, st.st_mtime_ns)
    return {"count": len(files), "total_bytes": total, "max_mtime_ns": newest, "sha256": h.hexdigest()}


@dataclass(frozen=True)
class CachedImages:
    """A loaded cache: ``images`` is a read-only memmap uint8 [N, R, R, 3]; ``built`` says if this call built it."""

    images: np.ndarray
    labels: np.ndarray | None
    directory: Path
    manifest: dict[str, Any]
    built: bool


def _slot_name(key: dict[str, Any], source: Path) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name)[:40] or "root"
    return f"{key['kind']}-{stem}-{key['resolution']}px-{digest}"


def cached_images(
    kind: str,
    source: Path,
    image_paths: Sequence[Path],
    *,
    resolution: int,
    crop_fraction: float,
    extra_paths: Sequence[Path] = (),
    limit: int | None = None,
    labels_fn: Callable[[], np.ndarray | None] | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> CachedImages:
    """Preprocessed ``image_paths`` (all under ``source``), from the cache or built now.

    ``extra_paths`` (e.g. the Cartoon Set CSVs) join the fingerprint; ``labels_fn`` is called only on a
    build and its int64 [N, A] result is cached with the images. ``workers`` processes decode in
    parallel (None: up to 2, and 1 for sets of fewer than :data:`~.pool.MIN_POOL_ITEMS`).
    """
    source = Path(source).resolve()
    if not image_paths:
        raise DatasetError(f"no images to preprocess under {str(source)!r}")
    key = {
        "format": CACHE_FORMAT,
        "kind": kind,
        "source": str(source),
        "resolution": int(resolution),
        "crop_fraction": float(crop_fraction),
        "preprocess_version": PREPROCESS_VERSION,
        "limit": limit,
    }
    slot = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    slot = slot / _slot_name(key, source)
    fingerprint = fingerprint_files(source, [*image_paths, *extra_paths])

    loaded, reason = _try_load(slot, key, fingerprint)
    if loaded is not None:
        log.info("using preprocessed cache %s (%d images)", slot, len(loaded.images))
        return loaded
    log.info("building preprocessed cache %s: %s", slot, reason)
    return _build(slot, key, fingerprint, list(image_paths), labels_fn, progress, workers)


def _try_load(slot: Path, key: dict[str, Any], fingerprint: dict[str, Any]) -> tuple[CachedImages | None, str]:
    """(cache, "") when the slot holds a valid cache for key+fingerprint, else (None, why not)."""
    mpath = slot / MANIFEST
    if not mpath.is_file():
        return None, "no cache yet"
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return None, f"unreadable manifest ({e})"
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return None, "cache made for other settings"
    if manifest.get("fingerprint") != fingerprint:
        return None, "the source files changed"
    try:
        n, r = int(manifest["count"]), key["resolution"]
        images = load_npy(slot / manifest["images_file"], np.uint8, (n, r, r, 3), mmap=True)
        labels = None
        if manifest.get("labels_file"):
            labels = load_npy(slot / manifest["labels_file"], np.int64, (n, None))
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"cache files unusable ({e})"
    return CachedImages(images=images, labels=labels, directory=slot, manifest=manifest, built=False), ""


def _decode_task(task: tuple[str, int, float]) -> tuple[np.ndarray | None, str | None]:
    """Worker: one file → (uint8 [R, R, 3], None) or (None, reason). Never raises (a pool must not die)."""
    path, resolution, crop = task
    try:
        return preprocess_file(path, resolution, crop), None
    except ImageInputError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - reported with the file name by the parent
        return None, f"{type(e).__name__}: {e}"


def _build(
    slot: Path,
    key: dict[str, Any],
    fingerprint: dict[str, Any],
    paths: list[Path],
    labels_fn: Callable[[], np.ndarray | None] | None,
    progress: bool,
    workers: int | None,
) -> CachedImages:
    try:
        slot.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"cannot create the preprocessed-image cache {str(slot)!r}: {e.strerror or e}; "
            "set VAE_CACHE_DIR to a writable folder"
        ) from None
    old_files = _referenced_files(slot)
    _remove_stale_partials(slot, keep=old_files)

    # Labels first: a bad CSV fails in a second, before minutes of decoding.
    labels = labels_fn() if labels_fn is not None else None
    n, r = len(paths), key["resolution"]
    if labels is not None and (labels.ndim != 2 or len(labels) != n):
        raise ValueError(f"labels_fn returned shape {labels.shape} for {n} images")

    token = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    img_name, lab_name = f"images-{token}.npy", (f"labels-{token}.npy" if labels is not None else None)
    t0 = time.perf_counter()
    n_workers = workers if workers is not None else (min(2, os.cpu_count() or 1) if n >= MIN_POOL_ITEMS else 1)
    written: list[Path] = []
    try:
        written.append(slot / img_name)
        with closing(_decoded(paths, r, key["crop_fraction"], n_workers, progress)) as images:
            write_npy_rows(slot / img_name, np.uint8, (n, r, r, 3), images)
        if lab_name is not None:
            written.append(slot / lab_name)
            save_npy(slot / lab_name, np.asarray(labels, dtype=np.int64))
        seconds = time.perf_counter() - t0
        manifest = {
            "key": key,
            "fingerprint": fingerprint,
            "count": n,
            "images_file": img_name,
            "labels_file": lab_name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(seconds, 3),
            "workers": n_workers,
        }
        atomic_write_bytes(slot / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    for name in old_files - {img_name, lab_name}:
        (slot / name).unlink(missing_ok=True)
    log.info("preprocessed %d images in %.1f s (%.1f ms/image, %d worker(s))", n, seconds,
             1000 * seconds / n, n_workers)
    loaded, reason = _try_load(slot, key, fingerprint)
    if loaded is None:
        raise DatasetError(f"the cache just written to {str(slot)!r} cannot be read back: {reason}")
    return CachedImages(images=loaded.images, labels=loaded.labels, directory=slot,
                        manifest=loaded.manifest, built=True)


def _decoded(paths: list[Path], resolution: int, crop_fraction: float, workers: int,
             progress: bool) -> Generator[np.ndarray, None, None]:
    """The preprocessed images in the order of ``paths``; raises DatasetError listing unreadable files
    at the end (after at most MAX_REPORTED_BAD of them), so no cache is published with holes."""
    from tqdm.auto import tqdm

    bad: list[tuple[Path, str]] = []
    n = len(paths)
    tasks = [(str(p), resolution, crop_fraction) for p in paths]
    with (
        tqdm(total=n, unit="img", desc=f"preprocessing {n} images to {resolution}px (once, cached)",
             disable=not progress, dynamic_ncols=True) as bar,
        ordered_map(_decode_task, tasks, workers, chunksize=16) as results,
    ):
        for i, (arr, err) in enumerate(results):
            if err is not None:
                bad.append((paths[i], err))
                if len(bad) >= MAX_REPORTED_BAD:
                    break
            elif not bad:  # after a failure the rest is only checked, not kept
                yield arr
            bar.update(1)
    if bad:
        listing = "\n".join(f"  {p}: {msg}" for p, msg in bad)
        more = " (stopped after the first ones)" if len(bad) >= MAX_REPORTED_BAD else ""
        raise DatasetError(f"{len(bad)} image(s) could not be read{more}; fix or remove them and retry:\n{listing}")


def _referenced_files(slot: Path) -> set[str]:
    try:
        m = json.loads((slot / MANIFEST).read_text(encoding="utf-8"))
        return {v for v in (m.get("images_file"), m.get("labels_file")) if isinstance(v, str)}
    except (OSError, ValueError, AttributeError):
        return set()


def _remove_stale_partials(slot: Path, keep: set[str]) -> None:
    """Delete old leftovers of killed builds: temporary files (``*.tmp``; ``*.partial`` from builds of
    earlier versions of this package) and arrays no manifest names."""
    now = time.time()
    for p in slot.iterdir():
        if p.name == MANIFEST or p.name in keep:
            continue
        if p.name.endswith((".tmp", ".partial")) or re.match(r"^(images|labels)-.*\.npy$", p.name):
            try:
                if now - p.stat().st_mtime > STALE_PARTIAL_SECONDS:
                    p.unlink()
            except OSError:
                pass
