"""How library code calls a model that may be in the middle of training: on its own device, in eval mode,
and leaving the mode as it found it.

Why a module of its own: encoding, decoding, evaluation and the attribute classifier all call models the
same way, and a training loop calls them between steps, so restoring the train/eval mode must not be
forgotten by any of them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


def model_device(model: torch.nn.Module) -> torch.device:
    """Device of the model's first parameter (CPU for a parameterless module)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode (batch norm uses running statistics) and restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
