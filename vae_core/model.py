"""The convolutional VAE: encoder → q(z|x) = N(μ, diag σ²), decoder → x̂ = sigmoid(...) in [0, 1].

Readable top to bottom on purpose: ``ConvVAE(config)`` is all there is, and the config travels with the
weights so a checkpoint rebuilds its own model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import CheckpointMeta, LoadedCheckpoint, current_command, read_checkpoint, save_checkpoint
from .config import DataSpec, ModelConfig


@dataclass
class Posterior:
    """Diagonal Gaussian q(z|x). ``mean``/``logvar``: [B, Z]."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised sample z = μ + σ·ε, differentiable in μ and σ."""
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl_per_dim(self) -> torch.Tensor:
        """KL(q(z|x) ‖ N(0, I)) per latent dimension in nats, closed form: [B, Z]."""
        return -0.5 * (1 + self.logvar - self.mean.pow(2) - self.logvar.exp())

    def kl(self) -> torch.Tensor:
        """KL per image in nats: [B]."""
        return self.kl_per_dim().sum(dim=1)


@dataclass
class VAEOutput:
    """One forward pass: reconstruction [B, 3, H, W] in [0, 1], the posterior and the z decoded."""

    reconstruction: torch.Tensor
    posterior: Posterior
    z: torch.Tensor


def _norm(channels: int, kind: str) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


class ResBlock(nn.Module):
    """Pre-activation residual block; extra depth at constant resolution without vanishing gradients."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(channels, norm), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
            _norm(channels, norm), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in cfg.encoder_channels:
            # 4×4 stride-2 convs halve the resolution; bias is redundant before batch norm.
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1, bias=cfg.norm != "batch"),
                       _norm(c, cfg.norm), nn.LeakyReLU(0.2)]
            layers += [ResBlock(c, cfg.norm) for _ in range(cfg.res_blocks)]
            c_in = c
        self.features = nn.Sequential(*layers)
        flat = cfg.encoder_channels[-1] * cfg.bottom_resolution**2
        self.to_moments = nn.Linear(flat, 2 * cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.features(x).flatten(1)
        # The posterior in fp32 even under bf16 autocast: the KL and the reparameterised sample need the
        # precision (bf16 keeps ~3 significant digits; a logvar of -9 would lose σ's second digit).
        with torch.autocast(h.device.type, enabled=False):
            mean, logvar = self.to_moments(h.float()).chunk(2, dim=1)
        # Clamp keeps exp(logvar) finite for wild inputs without affecting normal training ranges.
        return Posterior(mean, logvar.clamp(-30.0, 20.0))


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        rev = list(reversed(cfg.channels))
        self.from_latent = nn.Linear(cfg.latent_dim, rev[0] * cfg.bottom_resolution**2)
        layers: list[nn.Module] = [_norm(rev[0], cfg.norm), nn.LeakyReLU(0.2)]
        for c_in, c_out in zip(rev, rev[1:]):
            layers += [ResBlock(c_in, cfg.norm) for _ in range(cfg.res_blocks)]
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=cfg.norm != "batch"),
                       _norm(c_out, cfg.norm), nn.LeakyReLU(0.2)]
        layers += [ResBlock(rev[-1], cfg.norm) for _ in range(cfg.res_blocks)]
        layers += [nn.ConvTranspose2d(rev[-1], 3, 4, stride=2, padding=1)]
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c0 = self.cfg.channels[-1]
        s = self.cfg.bottom_resolution
        h = self.from_latent(z).view(z.shape[0], c0, s, s)
        return torch.sigmoid(self.features(h)).float()  # fp32 for the loss, also under bf16 autocast


class ConvVAE(nn.Module):
    """Conv VAE. ``forward(x)`` with x: [B, 3, R, R] in [0, 1] → :class:`VAEOutput`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        #: The checkpoint metadata this model was loaded with (data spec, recipe, metrics), or None for a new
        #: model; :meth:`save_pretrained` keeps it so a saved copy still says where it came from.
        self.pretrained_meta: CheckpointMeta | None = None

    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | os.PathLike[str], *, revision: str | None = None,
                        device: str | torch.device = "cpu") -> "ConvVAE":
        """A checkpoint folder or a Hugging Face Hub repo id (``owner/name``, fetched into the Hub cache) →
        the model, in eval mode with gradients off (call ``.train()`` and ``requires_grad_(True)`` to
        fine-tune). Every failure is a :class:`~vae_core.errors.CheckpointError` that says what to fix."""
        from .hub import resolve_checkpoint

        loaded = load_checkpoint(resolve_checkpoint(path_or_repo_id, revision=revision), device=device)
        loaded.model.pretrained_meta = loaded.meta
        return loaded.model

    def save_pretrained(self, path: str | os.PathLike[str], *, data: DataSpec | None = None,
                        metrics: dict[str, Any] | None = None, half: bool = False) -> Path:
        """Write a checkpoint folder (``config.json`` + ``model.safetensors``) that :meth:`from_pretrained`,
        ``Explorer.open`` and the app load; atomic, so an interrupted save leaves the old folder whole.

        ``data`` says how inputs were prepared (crop, resolution) and where the training images are; a model
        from :meth:`from_pretrained` keeps its own, a new one must be told. ``half`` stores float16 weights
        (half the size; measure the change first, as ``python -m vae_core publish`` does).
        """
        known = self.pretrained_meta
        if data is None and known is None:
            raise ValueError("save_pretrained(data=DataSpec(...)) is needed for a model that was not loaded "
                             "with from_pretrained: the checkpoint records how its inputs are prepared")
        if known is not None:
            meta = replace(known, data=data or known.data, metrics={**known.metrics, **(metrics or {})},
                           extra=dict(known.extra), weights_sha256="", created="")
        else:
            meta = CheckpointMeta(model=self.config, data=data, metrics=dict(metrics or {}), command=current_command())
        meta.extra["weights_dtype"] = "float16" if half else "float32"
        if meta.data.resolution != self.config.resolution:
            raise ValueError(f"data.resolution {meta.data.resolution} differs from the model's {self.config.resolution}")
        return save_checkpoint(path, self, meta, weights_dtype=torch.float16 if half else torch.float32)

    def encode(self, x: torch.Tensor) -> Posterior:
        r = self.config.resolution
        if x.ndim != 4 or x.shape[1:] != (3, r, r):
            raise ValueError(f"expected images of shape [B, 3, {r}, {r}], got {list(x.shape)}")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: [B, Z] → images [B, 3, R, R] in [0, 1]."""
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected latents of shape [B, {self.config.latent_dim}], got {list(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        posterior = self.encode(x)
        z = posterior.sample(generator) if self.training else posterior.mode()
        return VAEOutput(self.decoder(z), posterior, z)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def gaussian_log_norm_const(cfg: ModelConfig) -> float:
    """D·log(σ√(2π)): the constant part of -log N(x; x̂, σ²I) per image, in nats."""
    return cfg.data_dim * (math.log(cfg.obs_std) + 0.5 * math.log(2 * math.pi))


def load_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu",
                    verify_hash: bool = True) -> LoadedCheckpoint:
    """A checkpoint folder → its :class:`ConvVAE` (eval mode, no gradients) with its metadata and path.
    Never unpickles; every failure is a :class:`~vae_core.errors.CheckpointError` that says what to fix."""
    return read_checkpoint(Path(path), ConvVAE, device=device, verify_hash=verify_hash)
