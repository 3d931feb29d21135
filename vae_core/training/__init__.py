"""Training: the Trainer generator, its events, device choice and torchrun support."""

from .device import resolve_device
from .events import (CheckpointEvent, DoneEvent, ErrorEvent, EvalEvent, ImagesEvent, PhaseEvent, StartEvent, StepEvent,
                     TrainEvent)
from .trainer import Trainer

__all__ = [
    "Trainer", "resolve_device", "TrainEvent", "StartEvent", "StepEvent", "EvalEvent",
    "ImagesEvent", "CheckpointEvent", "PhaseEvent", "DoneEvent", "ErrorEvent",
]
