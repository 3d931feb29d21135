"""Attribute rows of the synthetic faces: which column is which, and how rows are drawn from (seed, i).

Sampling is counter based (a splitmix64 hash of seed, face index and attribute), not a sequential
random stream, so face ``i`` of seed ``s`` depends only on ``(s, i)``: the first ``k`` of ``n`` faces
equal the first ``k`` faces, whatever the worker count. The per-face rendering jitter comes from a
separate hash stream (:func:`render_seeds`).
"""

from __future__ import annotations

import numpy as np

from ..schema import CARTOONSET_SCHEMA

#: Column of each attribute in a label row (schema order).
COLUMN = {name: j for j, name in enumerate(CARTOONSET_SCHEMA.names)}
#: The "none" values of the Cartoon Set schema: no facial hair, no glasses.
FACIAL_HAIR_NONE = 14
GLASSES_NONE = 11


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic): a cheap, well-mixed hash."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _hash(seed: int, index: np.ndarray, stream: int) -> np.ndarray:
    """uint64 hash of (seed, index, stream); index is an int array. Counter based, so prefix-stable."""
    key = _splitmix64(np.array([seed % 2**64], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        x = _splitmix64(key ^ _splitmix64(index.astype(np.uint64) * np.uint64(0x100) + np.uint64(stream)))
        return _splitmix64(x + key)


def _uniform(seed: int, index: np.ndarray, stream: int) -> np.ndarray:
    return (_hash(seed, index, stream) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _attribute_weights() -> list[np.ndarray]:
    """Per-attribute value probabilities: uniform, except where real faces are lopsided.

    Most faces have no glasses and no facial hair (as in the real set, where those "none" values
    dominate), and natural hair colours are more common than grey/white.
    """
    weights = [np.ones(c) for c in CARTOONSET_SCHEMA.cardinalities]
    fh = weights[COLUMN["facial_hair"]]
    fh[FACIAL_HAIR_NONE] = 0.6 / 0.4 * (len(fh) - 1)
    gl = weights[COLUMN["glasses"]]
    gl[GLASSES_NONE] = 0.55 / 0.45 * (len(gl) - 1)
    weights[COLUMN["hair_color"]] = np.array([3, 3, 3, 2, 1.5, 1.5, 2, 1.5, 1, 0.7])
    return [w / w.sum() for w in weights]


def sample_attributes(n: int, seed: int) -> np.ndarray:
    """int64 [n, 18] attribute rows in schema order; row i depends only on (seed, i)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    idx = np.arange(n, dtype=np.uint64)
    out = np.empty((n, len(CARTOONSET_SCHEMA)), np.int64)
    for j, w in enumerate(_attribute_weights()):
        cdf = np.cumsum(w)
        cdf[-1] = 1.0 + 1e-12
        out[:, j] = np.searchsorted(cdf, _uniform(seed, idx, j), side="right")
    return out


def render_seeds(n: int, seed: int) -> np.ndarray:
    """Per-face jitter seeds, a separate hash stream from the attributes."""
    return (_hash(seed, np.arange(n, dtype=np.uint64), 1000) >> np.uint64(1)).astype(np.int64)
