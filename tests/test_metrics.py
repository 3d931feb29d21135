"""MSE/PSNR/SSIM against hand-checked and reference values, and the evaluation report of a tiny VAE."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from vae_core.config import DataSpec, ModelConfig
from vae_core.data.dataset import FaceDataset
from vae_core.losses import bits_per_dim
from vae_core.metrics import EvalReport, evaluate_model, mse, psnr, ssim
from vae_core.model import ConvVAE

CFG = ModelConfig(resolution=32, latent_dim=8, channels=(8, 16, 32))


def chw(a: np.ndarray) -> torch.Tensor:
    """[H, W, C] numpy → [1, C, H, W] tensor."""
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Straightforward SSIM (Wang et al. 2004) of [H, W, C] images in [0, 1]: explicit 11×11 Gaussian
    window (σ = 1.5) at every position where it fits, per channel, then averaged."""
    r = np.arange(11) - 5
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g)
    w /= w.sum()
    c1, c2 = 0.01**2, 0.03**2
    h, wd, c = x.shape
    per_channel = []
    for ch in range(c):
        vals = []
        for i in range(h - 10):
            for j in range(wd - 10):
                a, b = x[i:i + 11, j:j + 11, ch], y[i:i + 11, j:j + 11, ch]
                ma, mb = (w * a).sum(), (w * b).sum()
                va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
                cov = (w * (a - ma) * (b - mb)).sum()
                vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
        per_channel.append(np.mean(vals))
    return float(np.mean(per_channel))


def structured_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A deterministic 32×32 RGB image (gradients + a square), a brightness/contrast-changed copy with
    ripples, and a mirrored copy."""
    yy, xx = np.mgrid[:32, :32] / 31.0
    x = np.stack([xx, yy, 0.5 * (xx + yy)], -1)
    x[8:24, 8:24, 0] = 1.0
    y = np.clip(0.8 * x + 0.1 + 0.05 * np.sin(xx * 20)[..., None], 0, 1)
    return x, y, x[:, ::-1].copy()


def test_mse_and_psnr_known_values():
    x = torch.zeros(2, 3, 16, 16)
    y = torch.full((2, 3, 16, 16), 0.1)
    y[1] = 0.0
    m = mse(x, y)
    assert m.shape == (2,) and torch.allclose(m, torch.tensor([0.01, 0.0]))
    p = psnr(x, y)
    assert p.shape == (2,)
    assert p[0].item() == pytest.approx(20.0, abs=1e-4)
    assert p[1].item() == pytest.approx(100.0)  # identical images: capped, finite


def test_ssim_identity_shape_and_range():
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    s = ssim(x, x)
    assert s.shape == (4,) and s.dtype == torch.float32
    assert torch.allclose(s, torch.ones(4), atol=1e-6)
    other = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    s2 = ssim(x, other)
    assert ((s2 > -1) & (s2 < 0.2)).all()  # independent noise images are nearly unrelated
    assert torch.allclose(ssim(x, other), ssim(other, x), atol=1e-6)  # symmetric


def test_ssim_decreases_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g)
    noise = torch.randn(1, 3, 32, 32, generator=g)
    values = [ssim(x, (x + s * noise).clamp(0, 1)).item() for s in (0.0, 0.02, 0.05, 0.1, 0.3)]
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_ssim_matches_scikit_image_values():
    # Computed with skimage.metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
    # use_sample_covariance=False, data_range=1.0, channel_axis=2) (scikit-image 0.25).
    x, y, z = structured_pair()
    assert ssim(chw(x), chw(y)).item() == pytest.approx(0.8166538584403206, abs=1e-6)
    assert ssim(chw(x), chw(z)).item() == pytest.approx(0.6115741193841614, abs=1e-6)


@pytest.mark.parametrize("shape", [(11, 11), (20, 17), (32, 32)])
def test_ssim_matches_numpy_reference(shape):
    rng = np.random.default_rng(3)
    x = rng.random((*shape, 3))
    y = np.clip(x + 0.15 * rng.standard_normal(x.shape), 0, 1)
    assert ssim(chw(x), chw(y)).item() == pytest.approx(reference_ssim(x, y), abs=1e-6)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 15))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(torch.rand(1, 3, 10, 16), torch.rand(1, 3, 10, 16))
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        psnr(torch.rand(3, 16, 16), torch.rand(3, 16, 16))


def random_dataset(n: int = 10, seed: int = 0) -> FaceDataset:
    images = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return FaceDataset(images=images, labels=None, schema=None, spec=DataSpec(resolution=32),
                       ids=[f"img{i}" for i in range(n)])


@pytest.fixture(scope="module")
def model() -> ConvVAE:
    torch.manual_seed(0)
    return ConvVAE(CFG)


def test_evaluate_model_report(model):
    ds = random_dataset()
    model.train()
    report = evaluate_model(model, ds, np.arange(7), batch_size=3)
    assert model.training  # mode restored
    assert isinstance(report, EvalReport) and report.n == 7
    d = report.to_dict()
    json.dumps(d, allow_nan=False)  # plain, finite JSON
    for k in ("mse", "psnr", "ssim", "recon_nll", "kl", "nelbo", "bits_per_dim"):
        assert isinstance(d[k], float) and math.isfinite(d[k]), k
    assert 0 < report.mse < 1 and report.psnr > 0 and -1 <= report.ssim <= 1
    assert len(report.kl_per_dim) == CFG.latent_dim and all(v >= 0 for v in report.kl_per_dim)
    assert sum(report.kl_per_dim) == pytest.approx(report.kl, rel=1e-6)
    assert report.nelbo == pytest.approx(report.recon_nll + report.kl)
    assert report.bits_per_dim == pytest.approx(bits_per_dim(report.nelbo, CFG))
    assert isinstance(report.active_units, int) and 0 <= report.active_units <= CFG.latent_dim


def test_evaluate_model_matches_direct_computation_and_is_deterministic(model):
    ds = random_dataset()
    idx = np.array([0, 2, 5, 9])
    a = evaluate_model(model, ds, idx, batch_size=3)
    b = evaluate_model(model, ds, idx, batch_size=256)
    for k in ("mse", "psnr", "ssim", "kl"):  # no sampling involved: batching must not matter
        assert getattr(a, k) == pytest.approx(getattr(b, k), rel=1e-5), k
    assert evaluate_model(model, ds, idx, batch_size=3).to_dict() == a.to_dict()  # seeded
    model.eval()
    with torch.no_grad():
        x = ds.tensor(idx)
        recon = model.decode(model.encode(x).mean)
    assert a.mse == pytest.approx(float((recon - x).pow(2).mean()), rel=1e-5)
    assert a.ssim == pytest.approx(float(ssim(recon, x).mean()), rel=1e-5)


def test_evaluate_model_rejects_empty_index(model):
    with pytest.raises(ValueError, match="at least one"):
        evaluate_model(model, random_dataset(), np.array([], np.int64))
