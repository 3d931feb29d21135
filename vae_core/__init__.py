"""cartoon-vae: a convolutional VAE of cartoon faces, and everything needed to explore its latent space.

The public API, in the order one meets it::

    from vae_core import ConvVAE, Explorer
    model = ConvVAE.from_pretrained("checkpoints/default")   # a folder, or a Hugging Face Hub repo id
    explorer = Explorer.open("checkpoints/default")          # the model plus its maps, directions, sampler

- :class:`ConvVAE`, :class:`Posterior`: the model and its q(z|x); ``from_pretrained``/``save_pretrained``.
- :func:`load_checkpoint`, :func:`save_checkpoint`: the checkpoint folder format (safetensors + JSON).
- :class:`Explorer`: one checkpoint for interactive use (encode, decode, sample, directions, the 2-D map).
- :class:`Trainer` with :class:`ModelConfig`, :class:`TrainConfig`, :class:`DataSpec`: training, whose
  defaults are the recommended recipe; :func:`load_dataset` turns a ``DataSpec`` into images.
- :class:`VaeCoreError`: the base of every error this package raises on purpose.

Names are imported on first use (PEP 562), so ``import vae_core`` and the CLI's ``--help`` stay fast.
Everything not listed here is internal and may change between versions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

#: public name -> the module that defines it
_WHERE = {
    "ConvVAE": "model", "Posterior": "model",
    "load_checkpoint": "model", "save_checkpoint": "checkpoint",
    "Explorer": "explorer",
    "Trainer": "training",
    "ModelConfig": "config", "TrainConfig": "config", "DataSpec": "config",
    "load_dataset": "data",
    "VaeCoreError": "errors",
}

__all__ = ["__version__", *_WHERE]

if TYPE_CHECKING:
    from .checkpoint import save_checkpoint
    from .model import load_checkpoint
    from .config import DataSpec, ModelConfig, TrainConfig
    from .data import load_dataset
    from .errors import VaeCoreError
    from .explorer import Explorer
    from .model import ConvVAE, Posterior
    from .training import Trainer


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'vae_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
