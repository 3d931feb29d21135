"""The β-ELBO and its honest units.

-ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) ‖ N(0, I)), with a Gaussian decoder of fixed std σ on [0, 1]
pixels: -log p(x|z) = SSE/(2σ²) + D·log(σ√(2π)). Training minimises SSE/(2σ²) + β·KL per image (the
constant has no gradient). We report:

* ``mse``: mean squared error per pixel value (the per-image reconstruction MSE averaged over images),
* ``kl``: nats/image,
* ``nelbo``: the negative ELBO at β = 1 in nats/image, for the density of [0, 1]-scaled pixels,
* ``bits_per_dim``: nelbo converted to the 8-bit scale (+ log 256 per dim) and divided by D·ln 2, so
  that 8 bits/dim is a uniform model of 8-bit pixels and smaller is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .config import ModelConfig
from .model import Posterior, gaussian_log_norm_const


@dataclass
class ElboTerms:
    """Batch means; all are 0-dim tensors so the training loop can defer host syncs."""

    loss: torch.Tensor  # what is minimised: recon_nll_scaled + β·KL, nats/image (without constant)
    mse: torch.Tensor  # per-pixel-value mean squared error
    recon_nll: torch.Tensor  # E[-log p(x|z)] nats/image (with constant)
    kl: torch.Tensor  # nats/image
    kl_per_dim: torch.Tensor  # [Z] nats/image per latent dim


def elbo_terms(x: torch.Tensor, x_hat: torch.Tensor, posterior: Posterior, cfg: ModelConfig,
               beta: float) -> ElboTerms:
    """x, x_hat: [B, 3, R, R] in [0, 1]."""
    sse = (x_hat - x).pow(2).flatten(1).sum(dim=1)  # [B]
    recon_scaled = sse / (2 * cfg.obs_std**2)
    kl_per_dim = posterior.kl_per_dim()  # [B, Z]
    kl = kl_per_dim.sum(dim=1)
    loss = (recon_scaled + beta * kl).mean()
    return ElboTerms(
        loss=loss,
        mse=sse.mean() / cfg.data_dim,
        recon_nll=recon_scaled.mean() + gaussian_log_norm_const(cfg),
        kl=kl.mean(),
        kl_per_dim=kl_per_dim.mean(dim=0),
    )


def bits_per_dim(nelbo_nats: float, cfg: ModelConfig) -> float:
    """nats/image on [0, 1] pixels → bits/dim on the 8-bit scale."""
    d = cfg.data_dim
    return (nelbo_nats + d * math.log(256)) / (d * math.log(2))
