"""Label-free augmentations of a training batch (uint8 NHWC), drawn as a pure function of (seed, step, rank).

Why a function of the step and not one running generator: a run resumed at step k must draw exactly the
flips and shifts the uninterrupted run drew at step k, or "resume continues the exact run" breaks.

Why small shifts help: on 1,200 real faces a 10-minute run fits the training faces far better than new
ones (held-out SSIM 0.75 vs 0.84 on training faces after 3 minutes); shifting each face by up to 2 pixels
closes most of that gap and lifts held-out SSIM after 10 minutes (see README "Performance").
"""

from __future__ import annotations

import numpy as np


def augment(batch: np.ndarray, *, hflip: bool, shift: int, seed: int, step: int, rank: int = 0) -> np.ndarray:
    """[B, R, R, C] uint8 → same shape: each image mirrored with p = ½ (``hflip``) and translated by a
    uniform integer offset in [-shift, shift]² per axis, borders filled by repeating the edge pixels
    (faces sit on plain backgrounds, so the edge colour is the background)."""
    if not hflip and shift <= 0:
        return batch
    rng = np.random.default_rng([seed, 7, step, rank])
    n, h, w = batch.shape[:3]
    flip = rng.random(n) < 0.5 if hflip else np.zeros(n, bool)
    dy, dx = rng.integers(-shift, shift + 1, size=(2, n)) if shift > 0 else np.zeros((2, n), np.int64)
    # One slice copy per image rather than a batch-wide fancy-index gather: 5.9 → 1.1 ms per 64-image batch
    # at 64×64 (~5% of a training step), with the same output.
    padded = np.pad(batch, ((0, 0), (shift, shift), (shift, shift), (0, 0)), mode="edge") if shift > 0 else batch
    out = np.empty_like(batch)
    for i in range(n):
        y0 = shift - dy[i]  # content moves by +dy: read from row - dy
        if flip[i]:  # mirror first, then shift: the mirrored image's column c is column w - 1 - c
            x0 = shift + dx[i]
            out[i] = padded[i, y0:y0 + h, x0:x0 + w][:, ::-1]
        else:
            x0 = shift - dx[i]
            out[i] = padded[i, y0:y0 + h, x0:x0 + w]
    return out
