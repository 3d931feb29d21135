"""Training: the Trainer generator, its events, device choice and torchrun support."""

from .device import resolve_device
from .events import CheckpointEvent, DoneEvent, ErrorEvent, EvalEvent, ImagesEvent, StartEvent, StepEvent, TrainEvent
from .trainer import Trainer, make_grid

__all__ = [
    "Trainer", "make_grid", "resolve_device", "TrainEvent", "StartEvent", "StepEvent", "EvalEvent",
    "ImagesEvent", "CheckpointEvent", "DoneEvent", "ErrorEvent",
]
