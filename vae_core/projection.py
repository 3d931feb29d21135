"""2-D maps of the latent space: fitting (UMAP, PCA), placing new points and inverting clicks without
a refit, and a pickle-free disk cache.

Why a map is just data here: pickling a fitted UMAP for ``transform`` would mean unpickling on load (a
security hole for shared checkpoints) and hundreds of ms per transform. Instead a :class:`Projection`
holds the 2-D ``coords`` of N embedded faces together with their μ. A new latent is placed by an
inverse-distance-weighted k-NN average of its neighbours' coordinates in μ-space (what UMAP's own
``transform`` uses as its starting point), and a click on empty map space is inverted by the same blend
in 2-D, returning a latent between the μ of the nearest faces. Cache files are plain ``.npz`` arrays
read with ``allow_pickle=False`` and written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import CheckpointError

log = logging.getLogger(__name__)

#: Bump when the meaning or layout of cached projections changes: old cache keys and files go stale.
PROJECTION_FORMAT = 1
#: Up to this many points fit_umap computes the exact k-NN graph itself (sklearn, brute force, no numba)
#: and hands it to UMAP: exact neighbours, and it skips pynndescent's numba JIT (~30 s of a cold fit).
EXACT_KNN_MAX_POINTS = 20_000
#: UMAP's own defaults, kept: the shipped maps were fitted with them, and they key the map caches.
UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1
#: Faces embedded for the map; the CLI's `embed` and the app must agree, since it keys the cache.
DEFAULT_MAX_POINTS = 5000
#: Queries per block in the k-NN blends: bounds the [block, N] distance matrix (256 × 100k × 8 B = 200 MB).
_QUERY_BLOCK = 256


@dataclass(frozen=True, eq=False)
class Projection:
    """A 2-D map of N embedded faces.

    ``coords`` float32 [N, 2]; ``mu`` float32 [N, Z] the posterior means that were mapped; ``ids`` N
    names; ``labels`` int64 [N, A] (-1 unknown) or None; ``params`` JSON-able description (method and
    its parameters); ``key`` the cache key it was stored under ("" if none).
    """

    coords: np.ndarray
    mu: np.ndarray
    ids: list[str]
    labels: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def __post_init__(self) -> None:
        coords = np.ascontiguousarray(self.coords, dtype=np.float32)
        mu = np.ascontiguousarray(self.mu, dtype=np.float32)
        n = len(coords)
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise ValueError(f"coords must be [N, 2], got {list(coords.shape)}")
        if mu.ndim != 2 or len(mu) != n:
            raise ValueError(f"mu must be [{n}, Z], got {list(mu.shape)}")
        ids = [str(i) for i in self.ids]
        if len(ids) != n:
            raise ValueError(f"{len(ids)} ids for {n} points")
        labels = self.labels
        if labels is not None:
            labels = np.ascontiguousarray(labels, dtype=np.int64)
            if labels.ndim != 2 or len(labels) != n:
                raise ValueError(f"labels must be [{n}, A], got {list(labels.shape)}")
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "params", dict(self.params))

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def latent_dim(self) -> int:
        return int(self.mu.shape[1])


# -- fitting --------------------------------------------------------------------------------------
def _check_mu(mu: np.ndarray) -> np.ndarray:
    x = np.asarray(mu, np.float32)
    if x.ndim != 2:
        raise ValueError(f"mu must be [N, Z], got {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError("mu contains NaN or infinite values")
    return x


def fit_pca2(mu: np.ndarray) -> np.ndarray:
    """Scores on the first two principal components of μ [N, Z] → float32 [N, 2].

    Instant and linear: the fallback when UMAP is too slow or N is tiny, and a sanity check for UMAP.
    Signs are fixed (largest-magnitude loading positive) so the map does not flip between runs.
    A missing second component (Z = 1 or N = 2) gives a zero column.
    """
    x = _check_mu(mu).astype(np.float64)
    out = np.zeros((len(x), 2))
    if len(x) >= 2:
        xc = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        k = min(2, vt.shape[0])
        comps = vt[:k]
        signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
        comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
        out[:, :k] = xc @ comps.T
    return out.astype(np.float32)


def fit_umap(mu: np.ndarray, n_neighbors: int = UMAP_NEIGHBORS, min_dist: float = UMAP_MIN_DIST, seed: int = 0) -> np.ndarray:
    """UMAP of μ [N, Z] to float32 [N, 2], reproducible for a given ``seed`` (single-threaded).

    Cost: umap-learn is imported here, lazily, and its first fit in a process JIT-compiles numba code,
    which is why maps are cached on disk. For N ≤ :data:`EXACT_KNN_MAX_POINTS` the k-NN graph is computed
    exactly with scikit-learn and passed in as ``precomputed_knn``, which halves a cold fit (no
    pynndescent JIT); larger N use UMAP's own approximate NN-descent. ``n_neighbors`` (self included,
    as in UMAP) is capped at N − 1; fewer than 4 points cannot be laid out by UMAP and get
    :func:`fit_pca2`.
    """
    x = _check_mu(mu)
    n = len(x)
    if n_neighbors < 2:
        raise ValueError(f"n_neighbors must be >= 2, got {n_neighbors}")
    if not 0.0 <= min_dist <= 1.0:
        raise ValueError(f"min_dist must be in [0, 1], got {min_dist}")
    if n < 4:
        return fit_pca2(x)
    k = min(int(n_neighbors), n - 1)
    knn: tuple[np.ndarray | None, np.ndarray | None, None] = (None, None, None)
    if n <= EXACT_KNN_MAX_POINTS:
        from sklearn.neighbors import NearestNeighbors

        dists, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)  # row i starts with i itself
        knn = (idx.astype(np.int64), dists.astype(np.float32), None)
    with warnings.catch_warnings():
        # umap/numba/sklearn chatter (deprecations, "n_jobs overridden by random_state", "no search index
        # for transform") is not actionable here.
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        import umap  # lazy: importing umap-learn (numba, pynndescent) alone takes seconds

        reducer = umap.UMAP(n_components=2, n_neighbors=k, min_dist=float(min_dist), random_state=int(seed),
                            n_jobs=1, precomputed_knn=knn)
        coords = np.asarray(reducer.fit_transform(x), dtype=np.float32)
    if coords.shape != (n, 2) or not np.isfinite(coords).all():
        log.warning("UMAP returned a degenerate layout for %d points; using PCA instead", n)
        return fit_pca2(x)
    return coords


# -- placing and inverting without a refit ---------------------------------------------------------
def _knn_blend(queries: np.ndarray, points: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Inverse-distance-weighted mean of ``values`` [N, V] over the k nearest ``points`` [N, D] of each
    query [M, D] → float32 [M, V]. Brute force in float64 (N = 10k: well under a millisecond per query);
    a query that coincides with points returns (the mean of) their values exactly (weight 1/max(d, 1e-12))."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = len(points)
    if n == 0:
        raise ValueError("the projection has no points")
    p = points.astype(np.float64)
    p_sq = np.einsum("nd,nd->n", p, p)
    kk = min(k, n)
    out = np.empty((len(queries), values.shape[1]), np.float32)
    for start in range(0, len(queries), _QUERY_BLOCK):
        q = queries[start:start + _QUERY_BLOCK].astype(np.float64)
        d2 = np.einsum("md,md->m", q, q)[:, None] - 2.0 * (q @ p.T) + p_sq[None]
        nn = np.argpartition(d2, kk - 1, axis=1)[:, :kk] if kk < n else np.broadcast_to(np.arange(n), (len(q), n))
        # Exact distances of the candidates (the expansion above loses precision near 0).
        d = np.sqrt(np.square(p[nn] - q[:, None, :]).sum(axis=2))
        w = 1.0 / np.maximum(d, 1e-12)
        w /= w.sum(axis=1, keepdims=True)
        out[start:start + len(q)] = np.einsum("mk,mkv->mv", w, values[nn].astype(np.float64))
    return out


def place_points(projection: Projection, mu_new: np.ndarray, k: int = 10) -> np.ndarray:
    """Map coordinates for new latents without refitting: μ [M, Z] (or one [Z]) → float32 [M, 2].

    Each point lands at the inverse-distance-weighted mean of the map coordinates of its k nearest
    neighbours in μ-space (Euclidean); the μ of a mapped face lands on that face.
    """
    q = np.asarray(mu_new, np.float32)
    if q.ndim == 1:
        q = q[None]
    if q.ndim != 2 or q.shape[1] != projection.latent_dim:
        raise ValueError(f"mu_new must be [M, {projection.latent_dim}], got {list(q.shape)}")
    if not np.isfinite(q).all():
        raise ValueError("mu_new contains NaN or infinite values")
    if len(q) == 0:
        return np.zeros((0, 2), np.float32)
    return _knn_blend(q, projection.mu, projection.coords, k)


def invert_point(projection: Projection, xy: np.ndarray, k: int = 8) -> np.ndarray:
    """A map position [2] → latent float32 [Z] ([M, 2] → [M, Z]) for clicks on empty map space.

    The inverse-distance-weighted mean of the μ of the k map points nearest in 2-D: on a face it is that
    face's μ, between faces a blend of their latents (which decodes to a plausible in-between face).
    """
    a = np.asarray(xy, np.float32)
    single = a.ndim == 1
    q = a.reshape(1, -1) if single else a
    if q.ndim != 2 or q.shape[1] != 2:
        raise ValueError(f"xy must be [2] or [M, 2], got {list(a.shape)}")
    if not np.isfinite(q).all():
        raise ValueError("xy contains NaN or infinite values")
    out = _knn_blend(q, projection.coords, projection.mu, k)
    return out[0] if single else out


# -- the disk cache -------------------------------------------------------------------------------
def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (np.ndarray, tuple, set)):
        return list(o.tolist() if isinstance(o, np.ndarray) else o)
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def projection_cache_key(checkpoint_fingerprint: str, dataset_fingerprint: str, method: str,
                         params: dict[str, Any]) -> str:
    """Stable 16-hex-digit key (sha256 prefix) of everything a map depends on: the weights, the embedded
    dataset sample, the method, its parameters and :data:`PROJECTION_FORMAT`. Parameter order does not
    matter; numpy scalars hash like Python numbers."""
    blob = json.dumps({"format": PROJECTION_FORMAT, "checkpoint": checkpoint_fingerprint,
                       "dataset": dataset_fingerprint, "method": method, "params": params},
                      sort_keys=True, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def save_projection(path: str | Path, projection: Projection) -> None:
    """Write ``projection`` to ``path`` as an uncompressed ``.npz`` of plain arrays (fast to load).

    Atomic: written to a temporary file in the same folder, fsynced, then ``os.replace``d, so readers
    see the old file or the complete new one, never a partial one, and no temporary file is left behind
    on failure. ids are stored as a unicode array and params as a JSON string: nothing needs pickle.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(projection)
    labels = projection.labels
    arrays = {
        "format": np.array(PROJECTION_FORMAT, np.int64),
        "coords": projection.coords,
        # float16 on disk (half the size: a shipped map must fit a Space); read back as float32. Its ~1e-3
        # rounding is far below the spread of codes that the kNN placing and inverting work with.
        "mu": np.asarray(projection.mu, np.float16),
        "ids": np.array(projection.ids, dtype=np.str_) if n else np.zeros(0, dtype="<U1"),
        "has_labels": np.array(labels is not None),
        "labels": labels if labels is not None else np.zeros((n, 0), np.int64),
        "params": np.array(json.dumps(projection.params, sort_keys=True, default=_jsonable)),
        "key": np.array(projection.key),
    }
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_projection(path: str | Path) -> Projection:
    """Read a projection written by :func:`save_projection` (``allow_pickle=False``).

    Raises CheckpointError if the file is missing, damaged or of another format version (deleting it
    makes the explorer recompute it).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            fmt = int(z["format"])
            if fmt != PROJECTION_FORMAT:
                raise CheckpointError(f"projection cache {str(path)!r} has format {fmt}, expected "
                                      f"{PROJECTION_FORMAT}; delete it to recompute")
            has_labels = bool(z["has_labels"])
            return Projection(coords=z["coords"], mu=z["mu"].astype(np.float32), ids=z["ids"].tolist(),
                              labels=z["labels"] if has_labels else None, params=json.loads(str(z["params"])),
                              key=str(z["key"]))
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"no projection cache at {str(path)!r}") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"projection cache {str(path)!r} is unreadable ({type(e).__name__}: {e}); "
                              "delete it to recompute") from None


def get_or_compute_projection(cache: str | Path, key: str | Callable[[], Projection],
                              compute: Callable[[], Projection] | None = None) -> Projection:
    """The cached projection if there is a readable one, else ``compute()``, saved, then returned.

    Two call forms:

    * ``get_or_compute_projection(cache_dir, key, compute)``: the file is ``cache_dir/projection-<key>.npz``
      and a file whose stored key differs is treated as stale;
    * ``get_or_compute_projection(file, compute)``: the caller chose the file name (the Explorer does).

    An unreadable cache file is recomputed and replaced (with a warning); if the result cannot be saved
    (e.g. a read-only checkpoint folder) it is still returned. Concurrent callers may both compute; the
    atomic write keeps the file whole.
    """
    if callable(key) and compute is None:
        file, want_key, fn = Path(cache), None, key
    elif isinstance(key, str) and compute is not None:
        file, want_key, fn = Path(cache) / f"projection-{key}.npz", key, compute
    else:
        raise TypeError("call as get_or_compute_projection(cache_dir, key, compute) or (file, compute)")
    if file.is_file():
        try:
            found = load_projection(file)
            if want_key is None or found.key == want_key:
                return found
            log.warning("projection cache %s was stored under another key; recomputing", file)
        except CheckpointError as e:
            log.warning("%s", e)
    projection = fn()
    if not isinstance(projection, Projection):
        raise TypeError(f"compute() must return a Projection, got {type(projection).__name__}")
    if want_key is not None and projection.key != want_key:
        projection = dataclasses.replace(projection, key=want_key)
    try:
        save_projection(file, projection)
    except OSError as e:
        log.warning("could not cache the projection at %s (%s); it will be recomputed next time", file, e)
    return projection


__all__ = ["PROJECTION_FORMAT", "Projection", "fit_pca2", "fit_umap", "get_or_compute_projection", "invert_point",
           "load_projection", "place_points", "projection_cache_key", "save_projection"]
