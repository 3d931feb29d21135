"""The one event stream training reports through.

The trainer yields these; the CLI renders them with tqdm, the UI turns them into plots and images, tests
assert on them. They are plain dataclasses (``to_dict`` for JSON) so no consumer needs to know the
trainer's internals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

import numpy as np


@dataclass
class _Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = f"<array {list(v.shape)}>"
            d[f.name] = v
        return d


@dataclass
class StartEvent(_Event):
    """Training is about to take its first step (after any resume)."""

    kind: ClassVar[str] = "start"
    total_steps: int | None  # None: a time budget alone ends the run
    steps_per_epoch: int
    start_step: int
    start_epoch: int
    device: str
    world_size: int
    num_train: int
    num_val: int
    num_parameters: int
    dataset: str
    #: metric points of the run so far (non-empty when resuming), so curves continue
    history: list[dict[str, float]] = field(default_factory=list)
    #: the training step's compute dtype ("fp32" or "bf16"), after resolving TrainConfig.precision
    precision: str = "fp32"


@dataclass
class StepEvent(_Event):
    """Training-set averages over the steps since the previous StepEvent. Losses in nats/image."""

    kind: ClassVar[str] = "step"
    step: int
    epoch: int
    epoch_progress: float  # fraction of the current epoch done, in [0, 1]
    loss: float  # recon NLL without constant + β·KL
    mse: float  # per pixel value
    recon: float  # E[-log p(x|z)] nats/image (constant included)
    kl: float  # nats/image
    nelbo: float  # recon + kl, nats/image
    beta: float
    lr: float
    images_per_sec: float
    eta_sec: float


@dataclass
class EvalEvent(_Event):
    """Validation-set metrics at an epoch end (or at the end of a run)."""

    kind: ClassVar[str] = "eval"
    step: int
    epoch: int
    train_loss: float
    train_mse: float
    train_kl: float
    train_nelbo: float
    val_loss: float
    val_mse: float
    val_kl: float
    val_nelbo: float
    val_bits_per_dim: float
    beta: float
    #: SSIM of the posterior-mean reconstruction on the validation split: the number a person judges a
    #: reconstruction by, so a run's history holds the curve of SSIM against steps (where training flattens).
    val_ssim: float = float("nan")


@dataclass
class ImagesEvent(_Event):
    """Image grids: ``reconstructions`` (originals above, reconstructions below) and prior ``samples``."""

    kind: ClassVar[str] = "images"
    step: int
    epoch: int
    reconstructions: np.ndarray  # uint8 [H, W, 3]
    samples: np.ndarray  # uint8 [H, W, 3]


@dataclass
class CheckpointEvent(_Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    epoch: int
    path: str


@dataclass
class DoneEvent(_Event):
    """The run finished (all epochs, max_steps, or cancelled); ``metrics`` are the final held-out ones."""

    kind: ClassVar[str] = "done"
    step: int
    epoch: int
    path: str
    metrics: dict[str, Any]
    cancelled: bool
    seconds: float


@dataclass
class PhaseEvent(_Event):
    """Work between steps is starting that a person would otherwise wait through in silence (seconds to
    a minute on a CPU): ``name`` is ``evaluate`` (the held-out faces), ``save`` (a checkpoint),
    ``sampler`` (fitting the random-face sampler) or ``decoder`` (the ONNX export). The next event says
    it ended."""

    kind: ClassVar[str] = "phase"
    name: str
    step: int


@dataclass
class ErrorEvent(_Event):
    """Training stopped because of a fault; ``checkpoint`` is the last good one (or None)."""

    kind: ClassVar[str] = "error"
    step: int
    message: str
    checkpoint: str | None


TrainEvent = Union[StartEvent, StepEvent, EvalEvent, ImagesEvent, CheckpointEvent, PhaseEvent, DoneEvent, ErrorEvent]
