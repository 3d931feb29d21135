"""Datasets: one entry point, :func:`load_dataset`, turns a ``DataSpec`` into a ``FaceDataset``.

- ``synthetic``: the procedural faces (generated, no files);
- ``cartoonset``: a folder in the official Cartoon Set layout (``cs*.png`` + ``cs*.csv``, see
  :mod:`.cartoonset`; get it with :func:`download_cartoonset`), labelled with the 18 attributes;
- ``folder``: any folder of images, optionally labelled by a CSV (:mod:`.imagefolder`).

Real images are decoded, cropped and resized once into a memory-mapped cache (:mod:`.cache`).
Heavy modules (torch via ``FaceDataset``) are imported when a dataset is loaded, not when this package
is imported, so cache worker processes and the CLI's ``--help`` stay light.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatasetError
from .download import CARTOONSET_ARCHIVES, download_cartoonset
from .images import center_crop_resize, load_image

if TYPE_CHECKING:
    from ..config import DataSpec
    from .dataset import FaceDataset

log = logging.getLogger(__name__)

__all__ = [
    "CARTOONSET_ARCHIVES",
    "center_crop_resize",
    "download_cartoonset",
    "load_dataset",
    "load_image",
]


def load_dataset(spec: "DataSpec", cache_dir: Path | None = None, progress: bool = True) -> "FaceDataset":
    """The dataset ``spec`` describes; real images come from (or go into) the preprocessed cache.

    ``spec.limit`` keeps the first ``limit`` images in sorted (natural) order. ``cache_dir`` defaults
    to ``$VAE_CACHE_DIR`` or ``~/.cache/cartoon-vae``. Raises DatasetError for missing folders and
    unusable files.
    """
    if spec.kind == "synthetic":
        return _load_synthetic(spec, cache_dir, progress)
    if spec.kind == "folder" and spec.extra_paths:
        return _load_folders(spec, [_existing_dir(p, spec.kind) for p in spec.paths], cache_dir, progress)
    root = _existing_dir(spec.path, spec.kind)
    if spec.kind == "cartoonset":
        return _load_cartoonset(spec, root, cache_dir, progress)
    if spec.kind == "folder":
        return _load_folder(spec, root, cache_dir, progress)
    raise DatasetError(f"unknown dataset kind {spec.kind!r}")


def _existing_dir(path: str | None, kind: str) -> Path:
    if not path:
        raise DatasetError(f"a {kind} dataset needs a path")
    p = Path(path).expanduser()
    if not p.is_dir():
        hint = (" - download it with `python -m vae_core download --name cartoonset10k`" if kind == "cartoonset" else "")
        what = "is a file, not a folder" if p.exists() else "does not exist"
        raise DatasetError(f"dataset folder {path!r} {what}{hint}")
    return p.resolve()


def _load_synthetic(spec: "DataSpec", cache_dir: Path | None, progress: bool) -> "FaceDataset":
    from .dataset import FaceDataset
    from .synthetic import synthetic_dataset

    ds = synthetic_dataset(spec, progress=progress, cache_dir=cache_dir)
    if spec.limit is not None and len(ds) > spec.limit:
        n = spec.limit
        ds = FaceDataset(images=ds.images[:n], labels=None if ds.labels is None else ds.labels[:n],
                         schema=ds.schema, spec=spec, ids=list(ds.ids[:n]))
    return ds


def _load_cartoonset(spec: "DataSpec", root: Path, cache_dir: Path | None, progress: bool) -> "FaceDataset":
    from .cache import cached_images
    from .cartoonset import cartoonset_ids, list_cartoonset_files, read_cartoonset_labels
    from .dataset import FaceDataset
    from .schema import CARTOONSET_SCHEMA

    pairs = list_cartoonset_files(root)
    if spec.limit is not None:
        pairs = pairs[: spec.limit]
    pngs, csvs = [p for p, _ in pairs], [c for _, c in pairs]
    cached = cached_images(
        "cartoonset", root, pngs, extra_paths=csvs, resolution=spec.resolution,
        crop_fraction=spec.crop_fraction, limit=spec.limit, labels_fn=lambda: read_cartoonset_labels(csvs),
        cache_dir=cache_dir, progress=progress,
    )
    return FaceDataset(images=cached.images, labels=cached.labels, schema=CARTOONSET_SCHEMA, spec=spec,
                       ids=cartoonset_ids(root, pngs))


def _load_folder(spec: "DataSpec", root: Path, cache_dir: Path | None, progress: bool) -> "FaceDataset":
    from .cache import cached_images
    from .dataset import FaceDataset
    from .imagefolder import find_labels_csv, image_ids, list_image_files, read_labels_csv

    files = list_image_files(root)
    if spec.limit is not None:
        files = files[: spec.limit]
    csv_path, explicit = find_labels_csv(root, spec.labels_csv)
    table = None
    if csv_path is not None:
        try:
            table = read_labels_csv(csv_path, root, files)
        except DatasetError as e:
            if explicit:
                raise
            log.warning("ignoring auto-detected %s: %s", csv_path, e)
        else:
            if not explicit and table is not None:
                log.info("labels from auto-detected %s: %s", csv_path, ", ".join(table.schema.names))
    # Labels are re-read on every load (one small CSV), so editing the CSV needs no cache rebuild.
    cached = cached_images("folder", root, files, resolution=spec.resolution, crop_fraction=spec.crop_fraction,
                           limit=spec.limit, cache_dir=cache_dir, progress=progress)
    return FaceDataset(images=cached.images, labels=None if table is None else table.labels,
                       schema=None if table is None else table.schema, spec=spec, ids=image_ids(root, files))


def _load_folders(spec: "DataSpec", roots: list[Path], cache_dir: Path | None, progress: bool) -> "FaceDataset":
    """Several image folders read as one dataset, in the order given (``--path A --path B``).

    Each folder keeps its own preprocessed cache, so adding a folder does not re-decode the others. Ids are
    prefixed with the folder's name (two folders may both hold ``images/3.png``). ``spec.limit`` keeps the
    first ``limit`` images of the folders in order; the held-out split is drawn over the whole, as for one
    folder, so a run records its held-out faces the same way.
    """
    import numpy as np

    from .cache import cached_images
    from .dataset import FaceDataset
    from .imagefolder import LabelSource, find_labels_csv, image_ids, list_image_files, read_labels_csvs

    if spec.labels_csv:
        raise DatasetError("--labels names one CSV, but several folders are read: each folder's own labels.csv "
                           "is used; leave --labels out")
    names = [root.name for root in roots]
    if len(set(names)) != len(names):
        raise DatasetError(f"two of the folders have the same name ({', '.join(names)}); the faces' ids would "
                           "collide: rename one")
    left = spec.limit
    parts, sources, ids = [], [], []
    for root in roots:
        if left is not None and left <= 0:
            break
        files = list_image_files(root)
        if left is not None:
            files = files[:left]
            left -= len(files)
        cached = cached_images("folder", root, files, resolution=spec.resolution, crop_fraction=spec.crop_fraction,
                               limit=len(files) if spec.limit is not None else None, cache_dir=cache_dir,
                               progress=progress)
        parts.append(cached.images)
        sources.append(LabelSource(find_labels_csv(root, None)[0], root, files))
        ids.extend(f"{root.name}/{i}" for i in image_ids(root, files))
    try:
        table = read_labels_csvs(sources)
    except DatasetError as e:
        log.warning("ignoring the folders' labels: %s", e)
        table = None
    return FaceDataset(images=np.concatenate(parts), labels=None if table is None else table.labels,
                       schema=None if table is None else table.schema, spec=spec, ids=ids)
