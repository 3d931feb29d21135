"""Typed, frozen configuration objects that travel with every checkpoint.

Each config validates itself at construction, so a bad value fails where it is typed (CLI flag, UI
field, JSON file) with a message that says how to fix it, never deep inside a training step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConfigError

SUPPORTED_RESOLUTIONS = (32, 64, 128)
DatasetKind = Literal["synthetic", "cartoonset", "folder"]


def _from_dict(cls, d: dict[str, Any]):
    """Build a dataclass from a dict, rejecting unknown keys (a typo must not be ignored silently)."""
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in d:
            v = d[f.name]
            # JSON from a file or a browser: an int field must hold a whole number, not 3.5, "64" or true
            if f.type in ("int", int) and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConfigError(f"{cls.__name__}.{f.name} must be a whole number, got {v!r}")
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"bad {cls.__name__}: {e}") from None


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the convolutional VAE.

    The encoder halves the resolution once per entry of ``channels`` (at ``encoder_width`` × their width);
    the decoder doubles it back through the same channels reversed. With the defaults a 64×64 image
    becomes a 128×4×4 feature map before the latent heads, and z a 256×4×4 map at the decoder's start.
    """

    resolution: int = 64
    #: 256: on real Cartoon Set faces every one of 256 dims stays active at β = 1. After the 10-minute budget's
    #: 6,714 steps held-out SSIM was 0.819 (256) vs 0.810 (128) with flips and 0.822 vs 0.816 without; a z-256
    #: step costs ~10% more CPU time, which at equal CPU time leaves a small win of about the spread between
    #: two seeds (0.004). 3-minute probes could not tell them apart (0.748 both; 32: 0.692). README
    #: "Performance", recipe sweep.
    latent_dim: int = 256
    #: Decoder channels per stage (from the image side); the encoder has the same stages.
    channels: tuple[int, ...] = (32, 64, 128, 256)
    #: Encoder channels = this × ``channels``. Why 0.5: on a fixed time budget a half-width encoder (¼ of its
    #: FLOPs) buys ~20% more steps, and 3-minute real-face probes scored held-out SSIM 0.727 (0.5) and 0.727
    #: (0.25) against 0.714 (1.0). Checkpoints written before this field existed have mirrored encoders
    #: (1.0): :meth:`from_dict` reads a missing value as 1.0.
    encoder_width: float = 0.5
    res_blocks: int = 0
    norm: Literal["batch", "none"] = "batch"
    #: Fixed std of the Gaussian decoder p(x|z) = N(x̂, σ²I) on [0, 1] pixels. It sets how much a
    #: squared pixel error weighs against a nat of KL: recon NLL = SSE / (2σ²) + const.
    obs_std: float = 0.1

    def __post_init__(self) -> None:
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ConfigError(
                f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}"
            )
        if not 1 <= self.latent_dim <= 1024:
            raise ConfigError(f"latent_dim must be in 1..1024, got {self.latent_dim}")
        try:
            channels = () if isinstance(self.channels, (str, bytes)) else tuple(int(c) for c in self.channels)
        except (TypeError, ValueError):
            channels = ()
        if not channels or min(channels) < 1:
            raise ConfigError(f"channels must be a list of positive integers, got {self.channels!r}")
        if self.resolution % (2 ** len(self.channels)) != 0 or self.resolution // 2 ** len(self.channels) < 2:
            raise ConfigError(
                f"{len(self.channels)} downsampling stages do not fit resolution {self.resolution}: "
                "the final feature map must be at least 2×2"
            )
        if isinstance(self.encoder_width, bool) or not isinstance(self.encoder_width, (int, float)) \
                or not 0.0625 <= self.encoder_width <= 4:
            raise ConfigError(f"encoder_width must be a number in [0.0625, 4] (× channels), got {self.encoder_width!r}")
        if not 0 <= self.res_blocks <= 8:
            raise ConfigError(f"res_blocks must be in 0..8, got {self.res_blocks}")
        if self.norm not in ("batch", "none"):
            raise ConfigError(f"norm must be 'batch' or 'none', got {self.norm!r}")
        if not 1e-3 <= self.obs_std <= 10:
            raise ConfigError(f"obs_std must be in [0.001, 10], got {self.obs_std}")
        object.__setattr__(self, "channels", channels)

    @property
    def encoder_channels(self) -> tuple[int, ...]:
        """Encoder channels per stage (from the image side)."""
        return tuple(max(1, round(c * self.encoder_width)) for c in self.channels)

    @property
    def bottom_resolution(self) -> int:
        return self.resolution // 2 ** len(self.channels)

    @property
    def data_dim(self) -> int:
        """Number of scalar pixel values per image (D in nats→bits/dim)."""
        return 3 * self.resolution * self.resolution

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        if isinstance(d, dict) and "encoder_width" not in d:
            d = {**d, "encoder_width": 1.0}  # written before the field existed: the encoder mirrored the decoder
        return _from_dict(cls, d)


@dataclass(frozen=True)
class DataSpec:
    """Where training images come from and how they were turned into model inputs.

    Stored in the checkpoint so that uploads are preprocessed exactly like the training data.
    ``crop_fraction`` is the side of the centred square crop relative to the shorter image side
    (the real Cartoon Set's 500×500 faces use 0.7 → the central 350×350 box).
    """

    kind: DatasetKind = "synthetic"
    path: str | None = None
    resolution: int = 64
    crop_fraction: float = 1.0
    #: synthetic only: number of faces and generator seed
    size: int = 10_000
    seed: int = 0
    #: folder only: optional labels CSV (one row per file)
    labels_csv: str | None = None
    #: use at most this many images (None = all); the split is deterministic
    limit: int | None = None
    val_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in ("synthetic", "cartoonset", "folder"):
            raise ConfigError(f"dataset kind must be synthetic, cartoonset or folder, got {self.kind!r}")
        if self.kind != "synthetic" and not self.path:
            raise ConfigError(f"a {self.kind} dataset needs a path")
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ConfigError(
                f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}"
            )
        if not 0.2 <= self.crop_fraction <= 1.0:
            raise ConfigError(f"crop_fraction must be in [0.2, 1.0], got {self.crop_fraction}")
        if not 1 <= self.size <= 1_000_000:
            raise ConfigError(f"size must be in 1..1000000, got {self.size}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1, got {self.limit}")
        if not 0.0 <= self.val_fraction < 0.9:
            raise ConfigError(f"val_fraction must be in [0, 0.9), got {self.val_fraction}")

    @property
    def is_synthetic(self) -> bool:
        return self.kind == "synthetic"

    def describe(self) -> str:
        """One line a human reads in the CLI, the README and the UI's model panel."""
        if self.kind == "synthetic":
            return f"SYNTHETIC cartoon faces (procedural, {self.size} faces, seed {self.seed}), {self.resolution}×{self.resolution}"
        # Folders are named by their last part only: this line reaches the UI and API clients, which must not
        # learn the server's filesystem layout.
        from .data.cards import card_for, folder_name

        where = folder_name(self.path)
        size = f"{self.resolution}×{self.resolution}"
        if self.kind == "cartoonset":
            return f"Cartoon Set (real, Google, CC BY 4.0) {where}, {size}, crop {self.crop_fraction}"
        card = card_for(self)
        if card is not None and card.real:
            return f"Cartoon Set (real, Google, CC BY 4.0), redistributed sample {where}, {size}"
        return f"image folder {where}, {size}, crop {self.crop_fraction}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        return _from_dict(cls, d)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe. ``kl_warmup_steps`` ramps β linearly from 0 (avoids early posterior collapse)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    #: AdamW's decoupled weight decay, on every parameter. Why 0.3, which looks large: with batch norm most
    #: convolution weights are scale-free, so decay mostly keeps their norm small and their effective step
    #: large, and it narrows the train/held-out gap of a small data set. Step-matched real-face runs (10 CPU
    #: minutes' worth of steps): held-out SSIM 0.826 with none, 0.827 at 0.01, 0.835 at 0.1, 0.837 at 0.3,
    #: 0.820 at 1 (README "Performance", recipe sweep). Configs always recorded the value, so old runs keep theirs.
    weight_decay: float = 0.3
    #: Adam's second-moment decay. Why 0.99 rather than the usual 0.999: runs here are short (thousands of
    #: steps), and a variance estimate that forgets in ~100 steps instead of ~1,000 tracks the loss landscape
    #: as the learning rate and β change. Step-matched real-face runs scored held-out SSIM 0.813 against 0.810
    #: alone and 0.826 against 0.822 with z = 256 and no flips: small, about the spread between two seeds, but
    #: the same sign both times (README "Performance", recipe sweep). Configs written before the field existed used 0.999:
    #: :meth:`from_dict` reads a missing value as 0.999.
    adam_beta2: float = 0.99
    beta: float = 1.0
    kl_warmup_steps: int = 0
    lr_schedule: Literal["constant", "cosine", "wsd"] = "cosine"
    hflip: bool = False
    #: random translation of each training image by up to this many pixels per axis (edge-filled); 0 = off
    shift: int = 0
    seed: int = 0
    #: emit an image grid event every N optimizer steps (0 = only at epoch ends)
    grid_every: int = 0
    #: write a checkpoint at every epoch end (the final one is always written)
    checkpoint_every_epoch: bool = True
    channels_last: bool = True
    max_steps: int | None = None
    #: Wall-clock budget: the run ends (normally, with its final metrics) once this many minutes of training
    #: have passed, and the cosine schedule anneals to that deadline rather than to the last epoch, so a
    #: "train for 10 minutes" run ends at a low learning rate instead of being cut off mid-schedule.
    max_minutes: float | None = None
    #: Evaluate on the validation split every N epochs; 0 = at most ~5% of the time: every epoch unless
    #: epochs are so short that the evaluation would cost more (small sets), and always after the last.
    eval_every: int = 0
    #: Arithmetic of the training step's convolutions: "bf16" autocast (weights, optimizer, loss, KL and
    #: every evaluation stay fp32), "fp32", or "auto" = bf16 where the hardware does it natively (CPUs
    #: with AMX or AVX-512 BF16, CUDA GPUs with bf16), else fp32. See vae_core.training.device.
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 100_000:
            raise ConfigError(f"epochs must be in 1..100000, got {self.epochs}")
        if not 1 <= self.batch_size <= 4096:
            raise ConfigError(f"batch_size must be in 1..4096, got {self.batch_size}")
        if not 0 < self.lr <= 10:
            raise ConfigError(f"lr must be in (0, 10], got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if isinstance(self.adam_beta2, bool) or not isinstance(self.adam_beta2, (int, float)) \
                or not 0 < self.adam_beta2 < 1:
            raise ConfigError(f"adam_beta2 must be a number in (0, 1), got {self.adam_beta2!r}")
        if not 0 <= self.beta <= 1000:
            raise ConfigError(f"beta must be in [0, 1000], got {self.beta}")
        if self.kl_warmup_steps < 0:
            raise ConfigError(f"kl_warmup_steps must be >= 0, got {self.kl_warmup_steps}")
        if self.lr_schedule not in ("constant", "cosine", "wsd"):
            raise ConfigError(f"lr_schedule must be constant, cosine or wsd, got {self.lr_schedule!r}")
        if not 0 <= self.shift <= 16:
            raise ConfigError(f"shift must be in 0..16 pixels, got {self.shift}")
        if self.grid_every < 0:
            raise ConfigError(f"grid_every must be >= 0, got {self.grid_every}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.max_minutes is not None and (isinstance(self.max_minutes, bool) or not isinstance(self.max_minutes, (int, float))
                                             or not 0 < self.max_minutes <= 10_000_000):
            raise ConfigError(f"max_minutes must be a positive number of minutes, got {self.max_minutes}")
        if not 0 <= self.eval_every <= 100_000:
            raise ConfigError(f"eval_every must be in 0..100000 (0 = automatic), got {self.eval_every}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        if isinstance(d, dict) and "adam_beta2" not in d:
            d = {**d, "adam_beta2": 0.999}  # written before the field existed: PyTorch's default then applied
        return _from_dict(cls, d)
