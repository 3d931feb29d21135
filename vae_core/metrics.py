"""Image-quality metrics (MSE, PSNR, SSIM) and the held-out evaluation report of a VAE.

All image metrics take float tensors [B, C, H, W] in [0, 1] (data range 1) and return one value per
image, [B], so the caller decides how to aggregate (the UI shows one image, the report averages).

SSIM follows Wang et al. 2004 exactly as their reference code and scikit-image
(``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1)``) compute it: an 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, statistics
only where the window fits inside the image ("valid" filtering), the SSIM map averaged per channel
and then over channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .inference import eval_mode, model_device
from .data.dataset import FaceDataset
from .losses import bits_per_dim, elbo_terms
from .model import ConvVAE

#: PSNR is capped by flooring the MSE here: identical images give 100 dB instead of +inf, which keeps
#: averages finite and reports valid JSON.
_MSE_FLOOR = 1e-10

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

#: Burda et al. 2016: a latent dim is "active" if Cov_x(E_q[z_i]) exceeds this.
ACTIVE_UNIT_THRESHOLD = 0.01


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"images must have the same shape, got {list(x.shape)} and {list(y.shape)}")
    if x.ndim != 4:
        raise ValueError(f"expected images [B, C, H, W], got {list(x.shape)}")


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image over all pixel values: [B, C, H, W] × 2 → [B]."""
    _check_pair(x, y)
    return (x.float() - y.float()).pow(2).flatten(1).mean(dim=1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image for data range 1: 10·log10(1 / MSE), [B].

    Identical images give 100 dB (the MSE is floored at 1e-10) rather than infinity.
    """
    return -10.0 * torch.log10(mse(x, y).clamp_min(_MSE_FLOOR))


def _gaussian_1d(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _filter_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel without padding: [B, C, H, W] → [B, C, H-w+1, W-w+1]."""
    c = x.shape[1]
    w = g.numel()
    x = F.conv2d(x, g.view(1, 1, w, 1).expand(c, 1, w, 1), groups=c)
    return F.conv2d(x, g.view(1, 1, 1, w).expand(c, 1, 1, w), groups=c)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image, [B, C, H, W] × 2 in [0, 1] → [B] in [-1, 1] (1 = identical).

    Computed in float64 (the E[x²] − E[x]² variances cancel badly in float32 on flat regions);
    images must be at least 11×11.
    """
    _check_pair(x, y)
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW}, got {list(x.shape[-2:])}")
    x = x.to(torch.float64)
    y = y.to(torch.float64)
    g = _gaussian_1d(SSIM_WINDOW, SSIM_SIGMA, x.dtype, x.device)
    c1 = (SSIM_K1 * 1.0) ** 2
    c2 = (SSIM_K2 * 1.0) ** 2
    mu_x = _filter_valid(x, g)
    mu_y = _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mu_x**2
    syy = _filter_valid(y * y, g) - mu_y**2
    sxy = _filter_valid(x * y, g) - mu_x * mu_y
    s_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    # Mean over pixels per channel, then over channels: equal-size channels make this one flat mean.
    return s_map.flatten(1).mean(dim=1).to(torch.float32)


@dataclass
class EvalReport:
    """Held-out evaluation of a VAE; every value is an average over the ``n`` images.

    * ``mse`` (per pixel value), ``psnr`` (dB), ``ssim``: reconstructions decoded from the posterior
      mean, i.e. what the explorer shows.
    * ``recon_nll``, ``kl``, ``nelbo``: nats/image at β = 1 on [0, 1] pixels; ``recon_nll`` decodes one
      reparameterised sample z ~ q(z|x) per image (seeded), so ``nelbo`` is an unbiased single-sample
      estimate of −ELBO (decoding the mean instead would understate it).
    * ``bits_per_dim``: ``nelbo`` on the 8-bit scale (see :mod:`vae_core.losses`).
    * ``kl_per_dim``: mean KL per latent dim (nats) [Z]; ``active_units``: dims with
      Cov_x(E_q[z_i]) > 0.01 (Burda et al. 2016).
    """

    n: int
    mse: float
    psnr: float
    ssim: float
    recon_nll: float
    kl: float
    nelbo: float
    bits_per_dim: float
    kl_per_dim: list[float] = field(default_factory=list)
    active_units: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (ints, floats, a list of floats)."""
        return asdict(self)


def evaluate_model(model: ConvVAE, dataset: FaceDataset, idx: np.ndarray | list[int], batch_size: int = 256,
                   seed: int = 0) -> EvalReport:
    """Evaluate ``model`` on ``dataset.images[idx]`` in batches under eval mode and inference mode.

    ``seed`` drives the one posterior sample per image used for the ELBO terms. The model's train/eval
    mode is restored on return.
    """
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    if len(idx) == 0:
        raise ValueError("evaluate_model needs at least one image index")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    cfg = model.config
    device = model_device(model)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    z_dim = cfg.latent_dim
    # Sums over images in float64: [sse/D, psnr, ssim, recon_nll, kl]
    sums = torch.zeros(5, dtype=torch.float64)
    kl_dim_sum = torch.zeros(z_dim, dtype=torch.float64)
    mu_sum = torch.zeros(z_dim, dtype=torch.float64)
    mu_sq_sum = torch.zeros(z_dim, dtype=torch.float64)
    with eval_mode(model), torch.inference_mode():
        for start in range(0, len(idx), batch_size):
            b_idx = idx[start:start + batch_size]
            b = len(b_idx)
            x = dataset.tensor(b_idx).to(device)
            post = model.encode(x)
            recon = model.decode(post.mode())
            sampled = model.decode(post.sample(gen))
            terms = elbo_terms(x, sampled, post, cfg, beta=1.0)
            per_image = torch.stack([
                mse(recon, x).double().sum(),
                psnr(recon, x).double().sum(),
                ssim(recon, x).double().sum(),
                terms.recon_nll.double() * b,
                terms.kl.double() * b,
            ]).cpu()
            sums += per_image
            kl_dim_sum += terms.kl_per_dim.double().cpu() * b
            mu = post.mean.double().cpu()
            mu_sum += mu.sum(dim=0)
            mu_sq_sum += mu.pow(2).sum(dim=0)
    n = len(idx)
    m_mse, m_psnr, m_ssim, m_recon, m_kl = (sums / n).tolist()
    mu_mean = mu_sum / n
    var_mu = (mu_sq_sum / n - mu_mean.pow(2)).clamp_min(0.0)  # population variance over images
    nel = m_recon + m_kl
    return EvalReport(
        n=n, mse=m_mse, psnr=m_psnr, ssim=m_ssim, recon_nll=m_recon, kl=m_kl, nelbo=nel,
        bits_per_dim=bits_per_dim(nel, cfg), kl_per_dim=(kl_dim_sum / n).tolist(),
        active_units=int((var_mu > ACTIVE_UNIT_THRESHOLD).sum()),
    )


__all__ = ["ACTIVE_UNIT_THRESHOLD", "EvalReport", "evaluate_model", "mse", "psnr",
           "ssim"]
