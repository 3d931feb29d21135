"""A normalising flow on a checkpoint's latent codes, against the densities the app fits (issue #24's candidate).

    python -m bench.flow_density --checkpoint checkpoints/default [--seeds 6]

Why this is a benchmark and not a sampler the app ships: a flow needs a second network in the static page and must
beat the app's densities on codes it did not see first. This fits RealNVP-style affine couplings (random half masks,
two-layer GELU nets, tanh-bounded log-scales) on the codes whitened by their covariance, on the same 80 / 20 split
of the training codes the app's selection uses (``vae_core.sampling.fit``), with early stopping on the held-out
20 %, and prints its held-out log-likelihood (nats per code, in the codes' own units) beside the mixture's, the
kernel density's and the blend's. ``--seeds N`` also scores N × 1,000 of its faces as ``bench.samples`` does.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.common import machine
from vae_core.data import load_dataset
from vae_core.explorer import Explorer
from vae_core.latent import encode_images
from vae_core.sampling import fit_latent_sampler
from vae_core.sampling.fit import codes_cholesky, fit_blend, split_codes


class Coupling(nn.Module):
    """y = x·exp(s(x_m)) + t(x_m) on the unmasked half; the masked half passes through."""

    def __init__(self, mask: torch.Tensor, hidden: int) -> None:
        super().__init__()
        d = len(mask)
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, 2 * d))
        nn.init.zeros_(self.net[-1].weight)  # starts as the identity
        nn.init.zeros_(self.net[-1].bias)

    def _st(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(x * self.mask).chunk(2, -1)
        return torch.tanh(s) * (1 - self.mask), t * (1 - self.mask)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self._st(x)
        return x * torch.exp(s) + t, s.sum(-1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        s, t = self._st(y * self.mask)
        return y * self.mask + (1 - self.mask) * (y - t) * torch.exp(-s)


class Flow(nn.Module):
    def __init__(self, dim: int, layers: int, hidden: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        masks = []
        for _ in range(layers):
            m = torch.zeros(dim)
            m[torch.randperm(dim, generator=g)[: dim // 2]] = 1
            masks.append(m)
        self.layers = nn.ModuleList(Coupling(m, hidden) for m in masks)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        logdet = torch.zeros(len(x))
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return -0.5 * (x**2).sum(-1) - 0.5 * x.shape[1] * math.log(2 * math.pi) + logdet

    @torch.no_grad()
    def sample(self, n: int, seed: int) -> torch.Tensor:
        z = torch.randn(n, self.layers[0].mask.numel(), generator=torch.Generator().manual_seed(seed))
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z


def fit_flow(fit: np.ndarray, held: np.ndarray, layers: int, hidden: int, weight_decay: float,
             epochs: int = 300) -> tuple[Flow, float, int, np.ndarray, np.ndarray]:
    """Train on whitened ``fit`` codes, keep the epoch with the best held-out log-likelihood (in code units)."""
    mean = fit.mean(0)
    chol = codes_cholesky(fit)
    inv = np.linalg.inv(chol)
    log_det = float(np.log(np.diag(chol)).sum())  # whitening's Jacobian: code units = whitened − log|L|
    white = lambda z: torch.tensor((z - mean) @ inv.T, dtype=torch.float32)  # noqa: E731
    xf, xh = white(fit), white(held)
    torch.manual_seed(0)
    flow = Flow(fit.shape[1], layers, hidden)
    opt = torch.optim.AdamW(flow.parameters(), 1e-3, weight_decay=weight_decay)
    best, best_state, best_epoch = -math.inf, None, -1
    for epoch in range(epochs):
        flow.train()
        order = torch.randperm(len(xf))
        for b in range(0, len(xf), 128):
            loss = -flow.log_prob(xf[order[b:b + 128]]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        flow.eval()
        with torch.no_grad():
            ll = flow.log_prob(xh).mean().item() - log_det
        if ll > best:
            best, best_state, best_epoch = ll, {k: v.clone() for k, v in flow.state_dict().items()}, epoch
        elif epoch - best_epoch >= 20:  # 20 epochs without a better held-out score
            break
    flow.load_state_dict(best_state)
    flow.eval()
    return flow, best, best_epoch, mean, chol


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=0, help="also score N sets of 1,000 faces of the best flow")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"machine: {machine()}")
    ex = Explorer.open(a.checkpoint)
    ds = load_dataset(ex.meta.data, progress=False)
    train_idx, val_idx = ds.split()
    train = ds.images[np.sort(train_idx)]
    mu = np.asarray(encode_images(ex.model, train)[0], np.float64)
    fit, held = split_codes(mu, 0, 0.2)
    print(f"{a.checkpoint}: {len(fit)} fitting / {len(held)} held-out training codes, {mu.shape[1]} dims; "
          "held-out log-likelihood, nats per code:")
    gmm, kde = (fit_latent_sampler(mu, seed=0, density=d) for d in ("gmm", "kde"))
    for s in (gmm, kde, fit_blend(mu, gmm, kde, seed=0)):
        print(f"  {s.describe():<100} {s.info['chosen']['heldout_loglik']:8.1f}")
    best = None
    for layers, hidden, wd in ((4, 128, 0.01), (8, 256, 0.01), (8, 256, 0.1)):
        t = time.perf_counter()
        flow, ll, epoch, mean, chol = fit_flow(fit, held, layers, hidden, wd)
        print(f"  {f'RealNVP flow, {layers} couplings of width {hidden}, weight decay {wd}':<100} {ll:8.1f} "
              f"(best at epoch {epoch + 1}; {time.perf_counter() - t:.0f} s)")
        if best is None or ll > best[1]:
            best = (flow, ll, mean, chol, f"flow {layers}×{hidden}")
    if a.seeds:
        from vae_core.analysis.classifier.store import load_or_train_classifier
        from vae_core.sampling.quality import sample_quality

        flow, _, mean, chol, name = best
        clf = load_or_train_classifier(a.checkpoint, ds)
        ref = ds.images[np.sort(val_idx)]
        real_f = clf.features(ref)
        scores = []
        for seed in range(a.seeds):
            z = flow.sample(1000, seed).numpy() @ chol.T + mean
            faces = ex.decode(z.astype(np.float32))
            scores.append(sample_quality(clf.features(faces), real_f, faces, ref, train))
        cols = {f: np.array([getattr(q, f) for q in scores]) for f in ("frechet", "precision", "recall",
                                                                      "nearest_train_ssim")}
        print(f"  faces of the best ({name}), {a.seeds} × 1,000: FD {cols['frechet'].mean():.1f}±"
              f"{cols['frechet'].std():.1f}, precision {cols['precision'].mean():.3f}±{cols['precision'].std():.3f}, "
              f"recall {cols['recall'].mean():.3f}±{cols['recall'].std():.3f}, SSIM to nearest training face "
              f"{cols['nearest_train_ssim'].mean():.3f} (reference {scores[0].heldout_nearest_train_ssim:.3f})")


if __name__ == "__main__":
    main()
