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


def dataclass_from_dict(cls, d: dict[str, Any]):
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


def _flag(default: Any, help: str, flag: str | None = None, choices: tuple[Any, ...] | None = None,
          rest_to: str | None = None) -> Any:
    """A field that is also a command-line flag: :mod:`vae_core.cli_flags` builds the parser from this
    metadata, so the default, the help and the flag's name live here only. ``flag`` names the option where it
    differs from the field's (``--minutes`` for ``max_minutes``): the shorter spelling users and the shipped
    checkpoints' recorded commands type. ``rest_to`` makes the flag repeatable: the first value goes to this
    field, the others to the tuple field it names (``--path A --path B``)."""
    meta: dict[str, Any] = {"help": help}
    if rest_to:
        meta["rest_to"] = rest_to
    if flag:
        meta["flag"] = flag
    if choices:
        meta["choices"] = choices
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the convolutional VAE.

    The encoder halves the resolution once per entry of ``channels`` (at ``encoder_width`` × their width);
    the decoder doubles it back through the same channels reversed. With the defaults a 64×64 image
    becomes a 128×4×4 feature map before the latent heads, and z a 256×4×4 map at the decoder's start.
    The measurements behind the defaults are in docs/performance.md, "Why the defaults".
    """

    resolution: int = _flag(64, "image side in pixels", choices=SUPPORTED_RESOLUTIONS)
    #: Why 256: on real Cartoon Set faces every one of 256 dims stays active at β = 1, and at equal CPU time
    #: it reconstructed held-out faces slightly better than 128 (a z-256 step costs a little more).
    latent_dim: int = _flag(256, "latent size z")
    #: Decoder channels per stage (from the image side); the encoder has the same stages.
    channels: tuple[int, ...] = _flag((32, 64, 128, 256), "channels per stage, comma-separated, e.g. 32,64,128,256")
    #: Encoder channels = this × ``channels``. Why 0.5: on a fixed time budget a half-width encoder (¼ of its
    #: FLOPs) buys more steps, and scored better than a mirrored one (1.0) in the same time.
    encoder_width: float = _flag(0.5, "encoder channels = this × --channels (1 mirrors the decoder)")
    res_blocks: int = _flag(0, "residual blocks per stage")
    norm: Literal["batch", "none"] = _flag("batch", "normalisation after each convolution")
    #: Fixed std of the Gaussian decoder p(x|z) = N(x̂, σ²I) on [0, 1] pixels. It sets how much a
    #: squared pixel error weighs against a nat of KL: recon NLL = SSE / (2σ²) + const.
    obs_std: float = _flag(0.1, "std σ of the Gaussian decoder on [0, 1] pixels")

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
        """A config of the current format (older ones are upgraded by :mod:`vae_core.migrations`); a missing
        key takes its default, so ``from_dict({}) == ModelConfig()``."""
        return dataclass_from_dict(cls, d)


#: Centred square crop of each kind when none is given: the real Cartoon Set's 500×500 faces sit in a wide
#: white margin, so its central 350×350 box (0.7) holds the face; other images are used whole.
DEFAULT_CROP = {"cartoonset": 0.7, "synthetic": 1.0, "folder": 1.0}


@dataclass(frozen=True)
class DataSpec:
    """Where training images come from and how they were turned into model inputs.

    Stored in the checkpoint so that uploads are preprocessed exactly like the training data.
    ``crop_fraction`` is the side of the centred square crop relative to the shorter image side; None
    takes the kind's :data:`DEFAULT_CROP` (the stored spec always holds the number).
    """

    kind: DatasetKind = _flag("synthetic", "dataset kind: the embedded SYNTHETIC faces (offline default), a "
                                           "downloaded real Cartoon Set folder, or any folder of images",
                              flag="--data")
    path: str | None = _flag(None, "folder of the Cartoon Set / image folder; repeat --path to read several image "
                                   "folders as one dataset", rest_to="extra_paths")
    #: folder only: more image folders read after ``path``, as one dataset (``--path A --path B``)
    extra_paths: tuple[str, ...] = ()
    resolution: int = 64
    crop_fraction: float | None = _flag(None, "centred square crop as a fraction of the shorter side (default: 0.7 "
                                              "for the real Cartoon Set, 1.0 otherwise)", flag="--crop")
    #: synthetic only: number of faces and generator seed
    size: int = _flag(10_000, "synthetic: number of faces")
    seed: int = _flag(0, "synthetic: generator seed", flag="--data-seed")
    #: folder only: optional labels CSV (one row per file)
    labels_csv: str | None = _flag(None, "labels CSV for an image folder (first column = file name)", flag="--labels")
    #: use at most this many images (None = all); the split is deterministic
    limit: int | None = _flag(None, "use only the first N images")
    val_fraction: float = _flag(0.1, "held-out fraction")

    def __post_init__(self) -> None:
        if self.kind not in DEFAULT_CROP:
            raise ConfigError(f"dataset kind must be synthetic, cartoonset or folder, got {self.kind!r}")
        if self.crop_fraction is None:
            object.__setattr__(self, "crop_fraction", DEFAULT_CROP[self.kind])
        if self.kind != "synthetic" and not self.path:
            raise ConfigError(f"a {self.kind} dataset needs a path")
        if self.extra_paths:
            if self.kind != "folder":
                raise ConfigError(f"only image-folder datasets read several folders, not {self.kind}")
            if not all(isinstance(p, str) and p for p in self.extra_paths):
                raise ConfigError(f"extra_paths must be folder names, got {self.extra_paths!r}")
            if len(set(self.paths)) != len(self.paths):
                raise ConfigError(f"a folder is named twice in {list(self.paths)}")
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

    @property
    def paths(self) -> tuple[str, ...]:
        """Every folder the dataset reads, in order (empty for the synthetic faces)."""
        return (self.path, *self.extra_paths) if self.path else ()

    def describe(self) -> str:
        """One line a human reads in the CLI, the README and the UI's model panel."""
        if self.kind == "synthetic":
            return f"SYNTHETIC cartoon faces (procedural, {self.size} faces, seed {self.seed}), {self.resolution}×{self.resolution}"
        # Folders are named by their last part only: this line reaches the UI and API clients, which must not
        # learn the server's filesystem layout.
        from .data.cards import card_for, folder_name

        where = " + ".join(folder_name(p) for p in self.paths)
        size = f"{self.resolution}×{self.resolution}"
        if self.kind == "cartoonset":
            return f"Cartoon Set (real, Google, CC BY 4.0) {where}, {size}, crop {self.crop_fraction}"
        card = card_for(self)
        if card is not None and card.real:
            return f"Cartoon Set (real, Google, CC BY 4.0), redistributed sample {where}, {size}"
        return f"image folder {where}, {size}, crop {self.crop_fraction}"

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data. ``extra_paths`` appears only when there are extra folders: a one-folder spec
        reads as it did before several folders existed, so the caches keyed by it (maps, classifiers, analyses)
        keep their names."""
        d = dataclasses.asdict(self)
        if not self.extra_paths:
            del d["extra_paths"]
        else:
            d["extra_paths"] = list(self.extra_paths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        """A spec of the current format (older ones are upgraded by :mod:`vae_core.migrations`)."""
        return dataclass_from_dict(cls, d)


#: Epochs of a run that sets no other end (``max_steps`` or ``max_minutes``).
DEFAULT_EPOCHS = 10


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe. The defaults are the tuned recipe the shipped models were trained with, so a run
    needs no flags beyond its data; docs/performance.md ("Why the defaults") has the measurements."""

    #: None: no epoch limit when ``max_steps`` or ``max_minutes`` ends the run, else :data:`DEFAULT_EPOCHS`
    #: (the stored config always holds what was used).
    epochs: int | None = _flag(None, f"epochs (default: {DEFAULT_EPOCHS}, or no limit when --minutes or "
                                     "--max-steps ends the run)")
    batch_size: int = _flag(64, "images per optimizer step")
    lr: float = _flag(2e-3, "peak learning rate")
    #: AdamW's decoupled weight decay, on every parameter. Why 0.3, which looks large: with batch norm most
    #: convolution weights are scale-free, so decay mostly keeps their norm small and their effective step
    #: large, and it narrows the train/held-out gap of a small data set; 1 was too much.
    weight_decay: float = _flag(0.3, "AdamW's decoupled weight decay")
    #: Adam's second-moment decay. Why 0.99 rather than the usual 0.999: runs here are short (thousands of
    #: steps), and a variance estimate that forgets in ~100 steps instead of ~1,000 tracks the loss landscape
    #: as the learning rate and β change. The gain is small but had the same sign in every comparison.
    adam_beta2: float = _flag(0.99, "Adam's second-moment decay")
    beta: float = _flag(1.0, "weight β of the KL term")
    #: β ramps linearly from 0 over these steps: the decoder learns to use z before the KL term pulls the
    #: posteriors to the prior (avoids early posterior collapse).
    kl_warmup_steps: int = _flag(1000, "steps over which β ramps up from 0", flag="--kl-warmup")
    #: Why "wsd" (see :func:`vae_core.training.trainer.lr_at`): a high rate for most of a short run keeps it
    #: learning fast, and the final decay still settles the weights; a cosine from the start scored lower.
    lr_schedule: Literal["constant", "cosine", "wsd"] = _flag(
        "wsd", "lr schedule: constant, cosine decay, or wsd (constant, then linear decay over the last 20%%)",
        flag="--schedule")
    #: Why off: these faces are not mirror-symmetric enough for a flip to be a free extra face.
    hflip: bool = _flag(False, "random horizontal flips")
    #: Random translation of each training image by up to this many pixels per axis (edge-filled); 0 = off.
    #: Why 2: it closes most of the gap between training and held-out faces.
    shift: int = _flag(2, "random translations by up to N pixels (edge-filled)")
    seed: int = _flag(0, "training seed")
    #: emit an image grid event every N optimizer steps (0 = only at epoch ends)
    grid_every: int = _flag(0, "image grids every N steps (0: at epoch ends)")
    #: write a checkpoint at every epoch end (the final one is always written)
    checkpoint_every_epoch: bool = _flag(True, "write a resumable checkpoint at every epoch end (off: only the "
                                               "final one; long runs on small sets spend less time writing)")
    #: Write the final weights' decoder as ONNX into ``<out>/web/`` (vae_core.web.decoder_export), which the
    #: explorer's page decodes with. Off only saves the 1-4 s export (tests of tiny runs): ``ensure_decoder``
    #: writes a missing one when it is first needed.
    export_decoder: bool = _flag(True, "write the final decoder as ONNX for in-browser decoding (off: skip the "
                                       "few-second export)")
    channels_last: bool = True
    max_steps: int | None = _flag(None, "stop after this many optimizer steps")
    #: Wall-clock budget: the run ends (normally, with its final metrics) once this many minutes of training
    #: have passed, and the cosine schedule anneals to that deadline rather than to the last epoch, so a
    #: "train for 10 minutes" run ends at a low learning rate instead of being cut off mid-schedule.
    max_minutes: float | None = _flag(None, "time budget: stop after this many minutes; the cosine/wsd schedule "
                                            "anneals to it", flag="--minutes")
    #: Evaluate on the validation split every N epochs; 0 = at most ~5% of the time: every epoch unless
    #: epochs are so short that the evaluation would cost more (small sets), and always after the last.
    eval_every: int = _flag(0, "validate every N epochs (0: every epoch, less often when epochs are very short)")
    #: Arithmetic of the training step's convolutions: "bf16" autocast (weights, optimizer, loss, KL and
    #: every evaluation stay fp32), "fp32", or "auto" = bf16 where the hardware does it natively (CPUs
    #: with AMX or AVX-512 BF16, CUDA GPUs with bf16), else fp32. See vae_core.training.device.
    precision: Literal["auto", "fp32", "bf16"] = _flag(
        "auto", "training arithmetic: bf16 autocast where the hardware has it natively (auto), or fixed")

    def __post_init__(self) -> None:
        if self.epochs is None and self.max_steps is None and self.max_minutes is None:
            object.__setattr__(self, "epochs", DEFAULT_EPOCHS)
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int)
                                        or not 1 <= self.epochs <= 100_000):
            raise ConfigError(f"epochs must be a whole number in 1..100000 (or None with a step or time limit), "
                              f"got {self.epochs!r}")
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
        """A config of the current format (older ones are upgraded by :mod:`vae_core.migrations`)."""
        return dataclass_from_dict(cls, d)
