"""2-D maps of the latent space, cached on disk, with placement and inversion that need no refit.

Why not pickle a fitted UMAP for ``transform``: loading it would mean unpickling, and its transform costs
hundreds of ms. A map is data: the coordinates of N embedded faces and their μ. New points are placed by
inverse-distance-weighted k-NN in μ-space (what UMAP's own transform uses as its initialisation), and a
click on empty map space is inverted by the same blend in 2-D. Cache files are plain ``.npz`` read with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Projection:
    """``coords`` [N, 2] float32 of the points whose latents are ``mu`` [N, Z]."""

    coords: np.ndarray
    mu: np.ndarray
    ids: list[str]
    labels: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)


def fit_umap(mu: np.ndarray, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0) -> np.ndarray:
    """UMAP to 2-D [N, 2]. The first call in a process spends ~40 s JIT-compiling (numba) on 2 cores."""
    import umap  # lazy: importing umap-learn alone costs seconds

    n = len(mu)
    if n < 4:
        return fit_pca2(mu)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist, random_state=seed,
                        n_jobs=1)
    return reducer.fit_transform(mu.astype(np.float32)).astype(np.float32)


def fit_pca2(mu: np.ndarray) -> np.ndarray:
    """The first two principal components [N, 2]: instant, linear, a fallback and a sanity check for UMAP."""
    x = mu.astype(np.float64) - mu.mean(0)
    if len(x) < 2:
        return np.zeros((len(x), 2), np.float32)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    out = np.zeros((len(x), 2))
    k = min(2, vt.shape[0])
    out[:, :k] = x @ vt[:k].T
    return out.astype(np.float32)


def _knn_blend(query: np.ndarray, points: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Inverse-distance-weighted mean of ``values`` of the k nearest ``points`` for each query row."""
    q = query.astype(np.float32)
    p = points.astype(np.float32)
    d2 = (q * q).sum(1)[:, None] - 2 * q @ p.T + (p * p).sum(1)[None]
    k = min(k, len(p))
    nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
    dist = np.sqrt(np.maximum(np.take_along_axis(d2, nn, axis=1), 0))
    w = 1.0 / (dist + 1e-6)
    w /= w.sum(1, keepdims=True)
    return (w[..., None] * values[nn]).sum(1).astype(np.float32)


def place_points(projection: Projection, mu_new: np.ndarray, k: int = 10) -> np.ndarray:
    """New latents [M, Z] → map coordinates [M, 2], without refitting."""
    return _knn_blend(np.atleast_2d(mu_new), projection.mu, projection.coords, k)


def invert_point(projection: Projection, xy: np.ndarray, k: int = 8) -> np.ndarray:
    """A map position [2] → a latent [Z]: the blend of the μ of the nearest map points."""
    return _knn_blend(np.asarray(xy, np.float32).reshape(1, 2), projection.coords, projection.mu, k)[0]


def projection_cache_key(checkpoint_fingerprint: str, dataset_fingerprint: str, method: str,
                         params: dict[str, Any]) -> str:
    blob = json.dumps([checkpoint_fingerprint, dataset_fingerprint, method, params], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_projection(path: Path, projection: Projection) -> None:
    """Atomic write of a plain-array ``.npz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.npz", dir=path.parent)
    os.close(fd)
    try:
        labels = projection.labels if projection.labels is not None else np.zeros((len(projection.coords), 0), np.int64)
        np.savez(tmp, coords=projection.coords.astype(np.float32), mu=projection.mu.astype(np.float32),
                 ids=np.array(projection.ids, dtype=str), labels=labels, has_labels=np.array(projection.labels is not None),
                 params=np.array(json.dumps(projection.params)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_projection(path: Path) -> Projection:
    with np.load(path, allow_pickle=False) as z:
        return Projection(coords=z["coords"], mu=z["mu"], ids=[str(i) for i in z["ids"]],
                          labels=z["labels"] if bool(z["has_labels"]) else None, params=json.loads(str(z["params"])))


def get_or_compute_projection(path: Path, compute: Callable[[], Projection]) -> Projection:
    """Load ``path`` if it holds a readable projection, else compute, save and return it."""
    path = Path(path)
    if path.is_file():
        try:
            return load_projection(path)
        except (OSError, ValueError, KeyError) as e:
            log.warning("ignoring unreadable projection cache %s (%s); recomputing", path, e)
    projection = compute()
    save_projection(path, projection)
    return projection
