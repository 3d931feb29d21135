"""Codes from the prior N(0, I): the baseline the fitted density is measured against (docs/performance.md,
"Random faces"), and the codes benches and the decoder export use when any latent will do."""

from __future__ import annotations

import math

import numpy as np
import torch


def sample_prior(latent_dim: int, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """n draws from N(0, T²·I) as float32 [n, Z], reproducible from ``seed`` (a fresh torch.Generator).

    A temperature T < 1 trades variety for more typical faces (the "truncation trick").
    """
    if latent_dim < 1 or n < 0:
        raise ValueError(f"need latent_dim >= 1 and n >= 0, got {latent_dim}, {n}")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature}")
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randn(n, latent_dim, generator=g, dtype=torch.float32) * float(temperature)).numpy()
