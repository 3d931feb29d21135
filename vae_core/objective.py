"""The seed's objective for one face: both ELBO terms in honest units, and samples from q(z|x).

Why a module of its own: the model was trained to minimise the β-ELBO, and a student should be able to take any
face (a held-out one, an upload, a generated one) and see which number each term of the derivation produces.
Training (:mod:`vae_core.losses`) averages these terms over a batch from one posterior sample; here they are per
face, with the expectation over q(z|x) estimated from several seeded samples, so the same face always gives the
same numbers.

With x an image of D = 3·R² values in [0, 1], the decoder p(x|z) = N(x̂(z), σ²I) of fixed σ (``obs_std``) and
q(z|x) = N(μ, diag(σ_z²)), every figure is per image:

==================  ===========================================================  ==========
``recon_sse_term``  E_q[ Σ (x − x̂(z))² ] / (2σ²) — the reconstruction term training minimises  nats
``log_norm_const``  D·log(σ√(2π)) — the Gaussian's normalising constant (no gradient)             nats
``recon_nll``       E_q[−log p(x|z)] = recon_sse_term + log_norm_const                             nats
``kl_per_dim``      KL(q(z_j|x) ‖ N(0, 1)) = −½(1 + log σ_j² − μ_j² − σ_j²)                         nats
``kl``              Σ_j kl_per_dim_j                                                               nats
``nelbo``           recon_nll + kl (β = 1): −ELBO for the density of [0, 1] pixels                 nats
``nelbo_8bit``      nelbo + D·ln 256: the same bound for 8-bit pixel values (a code length, > 0)   nats
``bits_per_dim``    nelbo_8bit / (D·ln 2): 8 is a uniform model of 8-bit pixels; lower is better   bits/dim
``loss``            recon_nll + β·kl: what training minimises, up to the constant                  nats
``recon_mse``       E_q[ mean (x − x̂(z))² ] per pixel value, so recon_sse_term = D·recon_mse/(2σ²)
==================  ===========================================================  ==========

Why ``nelbo`` can be negative and ``nelbo_8bit`` cannot: a density of continuous [0, 1] pixels may exceed 1
(σ = 0.1 makes the constant −1.38 nats per value), so its −log is no code length; adding ln 256 per value turns
it into the bound on the 8-bit image's −log-probability (each 8-bit level a bin of width 1/256), which is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .config import ModelConfig
from .errors import ImageInputError
from .model import ConvVAE, gaussian_log_norm_const

#: Posterior samples that estimate E_q[−log p(x|z)] per face. The estimate's spread over seeds is measured by
#: the tests (well under 1 % of the reconstruction term on the shipped model); 16 decodes of a 64×64 face cost
#: a few milliseconds.
DEFAULT_SAMPLES = 16
#: Of those, how many decoded faces are returned to show the posterior's spread.
SHOWN_SAMPLES = 4
#: A dim "carries information about this face" when its KL exceeds this (nats); the dataset-level notion, the
#: active units of Burda et al. (variance of μ over faces > 0.01), is :func:`vae_core.latent.active_units`.
INFORMATIVE_KL = 0.1


def eight_bit_nats(data_dim: int) -> float:
    """D·ln 256: what turns a −log density of [0, 1] pixels into a code length of 8-bit pixels, nats/image."""
    return data_dim * math.log(256)


def nelbo_8bit(nelbo: float, data_dim: int) -> float:
    """−ELBO of [0, 1] pixels (nats/image, may be negative) → on the 8-bit scale (nats/image, positive)."""
    return float(nelbo) + eight_bit_nats(data_dim)


def bits_per_dim_8bit(nelbo: float, data_dim: int) -> float:
    """−ELBO of [0, 1] pixels (nats/image) → bits per pixel value on the 8-bit scale (as vae_core.losses)."""
    return nelbo_8bit(nelbo, data_dim) / (data_dim * math.log(2))


@dataclass(frozen=True, eq=False)
class FaceObjective:
    """The objective's terms for one face (see the module doc for each field's definition and unit), with the
    images behind them: the model input ``input_u8``, the decode of the posterior mean ``mean_u8`` and a few
    decoded posterior samples ``samples_u8`` [S, R, R, 3] (uint8)."""

    mu: np.ndarray
    sigma: np.ndarray
    kl_per_dim: np.ndarray
    kl: float
    recon_mse: float
    recon_sse_term: float
    log_norm_const: float
    recon_nll: float
    nelbo: float
    nelbo_8bit: float
    bits_per_dim: float
    loss: float
    beta: float
    obs_std: float
    data_dim: int
    n_samples: int
    seed: int
    mean_mse: float
    input_u8: np.ndarray
    mean_u8: np.ndarray
    samples_u8: np.ndarray

    @property
    def informative_dims(self) -> int:
        """Dims whose KL for this face exceeds :data:`INFORMATIVE_KL` nats."""
        return int((self.kl_per_dim > INFORMATIVE_KL).sum())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (the API's ``/objective`` answer); no images."""
        return {
            "mu": [float(v) for v in self.mu], "sigma": [float(v) for v in self.sigma],
            "kl_per_dim": [float(v) for v in self.kl_per_dim], "kl": self.kl,
            "recon_mse": self.recon_mse, "recon_sse_term": self.recon_sse_term,
            "log_norm_const": self.log_norm_const, "recon_nll": self.recon_nll, "nelbo": self.nelbo,
            "nelbo_8bit": self.nelbo_8bit, "bits_per_dim": self.bits_per_dim, "loss": self.loss,
            "beta": self.beta, "obs_std": self.obs_std, "data_dim": self.data_dim,
            "n_samples": self.n_samples, "seed": self.seed, "mean_decode_mse": self.mean_mse,
            "informative_dims": self.informative_dims, "informative_kl_nats": INFORMATIVE_KL,
            "units": {"kl": "nats/image", "kl_per_dim": "nats", "recon_nll": "nats/image",
                      "recon_sse_term": "nats/image", "log_norm_const": "nats/image", "nelbo": "nats/image",
                      "nelbo_8bit": "nats/image", "loss": "nats/image", "bits_per_dim": "bits per pixel value",
                      "recon_mse": "per pixel value, pixels in [0, 1]"},
        }


def _check_images(images_u8: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    a = np.asarray(images_u8)
    r = cfg.resolution
    if a.dtype != np.uint8 or a.ndim != 4 or a.shape[1:] != (r, r, 3):
        raise ImageInputError(f"expected model inputs uint8 [N, {r}, {r}, 3], got {a.dtype} {list(a.shape)}; "
                              "load images through Explorer.preprocess")
    return a


@dataclass(frozen=True, eq=False)
class BatchObjective:
    """Per-face terms of a batch, as float64 arrays [N] (``mu``/``sigma``/``kl_per_dim``: [N, Z]), plus the
    decodes of the means [N, R, R, 3] and the first ``shown`` samples [N, S, R, R, 3] (uint8)."""

    mu: np.ndarray
    sigma: np.ndarray
    kl_per_dim: np.ndarray
    sse: np.ndarray
    mean_sse: np.ndarray
    mean_u8: np.ndarray
    samples_u8: np.ndarray


def _to_u8(x: torch.Tensor) -> np.ndarray:
    """[B, 3, R, R] in [0, 1] → uint8 [B, R, R, 3] (rounded, as the app shows faces)."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def batch_objective(model: ConvVAE, images_u8: np.ndarray, n_samples: int = DEFAULT_SAMPLES, seed: int = 0,
                    shown: int = SHOWN_SAMPLES) -> BatchObjective:
    """Encode ``images_u8`` (uint8 [N, R, R, 3], model inputs), draw ``n_samples`` z ~ q(z|x) per face from a
    generator seeded with ``seed`` and decode them. Same seed, same numbers (one face or in a batch: every face's
    samples come from its own generator seeded ``seed``)."""
    cfg = model.config
    x_u8 = _check_images(images_u8, cfg)
    if not 1 <= int(n_samples) <= 256:
        raise ValueError(f"n_samples must be between 1 and 256, got {n_samples}")
    shown = max(0, min(int(shown), int(n_samples)))
    was_training = model.training
    model.eval()
    try:
        p = next(model.parameters())
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(x_u8)).to(p.device).permute(0, 3, 1, 2).float() / 255
            post = model.encode(x)
            mean, logvar = post.mean.float(), post.logvar.float()
            std = torch.exp(0.5 * logvar)
            kl_dim = -0.5 * (1 + logvar - mean.pow(2) - logvar.exp())
            mean_rec = model.decode(mean)
            n, z = mean.shape
            eps = torch.empty((n, int(n_samples), z), dtype=mean.dtype)
            for i in range(n):  # each face its own seeded stream: a face's numbers do not depend on its batch
                g = torch.Generator().manual_seed(int(seed))
                eps[i] = torch.randn((int(n_samples), z), generator=g, dtype=mean.dtype)
            zs = mean[:, None] + std[:, None] * eps.to(mean.device)
            rec = model.decode(zs.reshape(n * int(n_samples), z)).reshape(n, int(n_samples), *x.shape[1:])
            sse = (rec - x[:, None]).pow(2).flatten(2).sum(dim=2).double()  # [N, K]
            mean_sse = (mean_rec - x).pow(2).flatten(1).sum(dim=1).double()
            samples = _to_u8(rec[:, :shown].reshape(n * shown, *x.shape[1:])) if shown else \
                np.zeros((0, cfg.resolution, cfg.resolution, 3), np.uint8)
            return BatchObjective(
                mu=mean.double().cpu().numpy(), sigma=std.double().cpu().numpy(),
                kl_per_dim=kl_dim.double().cpu().numpy(), sse=sse.mean(dim=1).cpu().numpy(),
                mean_sse=mean_sse.cpu().numpy(), mean_u8=_to_u8(mean_rec),
                samples_u8=samples.reshape(n, shown, cfg.resolution, cfg.resolution, 3))
    finally:
        model.train(was_training)


def terms_from_sse(sse: float, kl: float, cfg: ModelConfig, beta: float) -> dict[str, float]:
    """The seed's algebra from the two measured quantities: E_q[SSE] of one face and its KL (nats)."""
    d = cfg.data_dim
    recon_sse_term = float(sse) / (2 * cfg.obs_std ** 2)
    const = gaussian_log_norm_const(cfg)
    recon_nll = recon_sse_term + const
    nelbo = recon_nll + float(kl)
    return {"recon_mse": float(sse) / d, "recon_sse_term": recon_sse_term, "log_norm_const": const,
            "recon_nll": recon_nll, "nelbo": nelbo, "nelbo_8bit": nelbo_8bit(nelbo, d),
            "bits_per_dim": bits_per_dim_8bit(nelbo, d), "loss": recon_nll + float(beta) * float(kl)}


def face_objective(model: ConvVAE, image_u8: np.ndarray, beta: float, n_samples: int = DEFAULT_SAMPLES,
                   seed: int = 0, shown: int = SHOWN_SAMPLES) -> FaceObjective:
    """The objective's terms for one model input (uint8 [R, R, 3]); ``beta``: the checkpoint's training β."""
    b = batch_objective(model, np.asarray(image_u8)[None], n_samples=n_samples, seed=seed, shown=shown)
    cfg = model.config
    kl = float(b.kl_per_dim[0].sum())
    t = terms_from_sse(float(b.sse[0]), kl, cfg, beta)
    return FaceObjective(
        mu=b.mu[0], sigma=b.sigma[0], kl_per_dim=b.kl_per_dim[0], kl=kl, beta=float(beta), obs_std=cfg.obs_std,
        data_dim=cfg.data_dim, n_samples=int(n_samples), seed=int(seed), mean_mse=float(b.mean_sse[0]) / cfg.data_dim,
        input_u8=np.asarray(image_u8), mean_u8=b.mean_u8[0], samples_u8=b.samples_u8[0], **t)


def faces_bits_per_dim(model: ConvVAE, images_u8: np.ndarray, n_samples: int = DEFAULT_SAMPLES, seed: int = 0,
                       batch: int = 16) -> dict[str, np.ndarray]:
    """Per-face ``bits_per_dim``, ``nelbo_8bit``, ``recon_nll`` and ``kl`` [N] of many faces (in batches), for the
    held-out reference the app compares an upload with."""
    cfg = model.config
    out: dict[str, list[float]] = {"bits_per_dim": [], "nelbo_8bit": [], "recon_nll": [], "kl": []}
    for start in range(0, len(images_u8), batch):
        b = batch_objective(model, images_u8[start:start + batch], n_samples=n_samples, seed=seed, shown=0)
        for sse, kld in zip(b.sse, b.kl_per_dim):
            t = terms_from_sse(float(sse), float(kld.sum()), cfg, 1.0)
            out["bits_per_dim"].append(t["bits_per_dim"])
            out["nelbo_8bit"].append(t["nelbo_8bit"])
            out["recon_nll"].append(t["recon_nll"])
            out["kl"].append(float(kld.sum()))
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def sorted_dims(kl_per_dim: Sequence[float]) -> np.ndarray:
    """Dim indices by KL, largest first (ties by index): the order of the per-dim bars."""
    kl = np.asarray(kl_per_dim, np.float64)
    return np.lexsort((np.arange(kl.size), -kl))


__all__ = ["DEFAULT_SAMPLES", "FaceObjective", "INFORMATIVE_KL", "batch_objective", "bits_per_dim_8bit",
           "eight_bit_nats", "face_objective", "faces_bits_per_dim", "nelbo_8bit", "sorted_dims", "terms_from_sse"]
