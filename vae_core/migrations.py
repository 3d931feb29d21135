"""Upgrades of checkpoint configs written by older versions of vae_core, one function per format version.

Why: a ``config.json`` records every field of its configs, but one written before a field existed lacks
it, and a field that is missing meant the default *of its day*. When a default changes, a missing key must
keep meaning the old value. So each schema change bumps :data:`~vae_core.version.CHECKPOINT_FORMAT` and adds
one function here that turns a config of the previous version into one of the next; loading applies them in
order, and the configs' ``from_dict`` only ever reads the current format (where a missing key means today's
default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import CheckpointError
from .version import CHECKPOINT_FORMAT

Doc = dict[str, Any]


def _fill(section: Any, values: dict[str, Any]) -> Any:
    """``section`` with ``values`` where it lacks the key; anything else (None, a bad type) left to from_dict."""
    return {**values, **section} if isinstance(section, dict) else section


def _v1_to_v2(doc: Doc) -> Doc:
    """Version 2 made the tuned recipe the default (wsd, ±2 px shifts, β warm-up over 1,000 steps) and let
    ``epochs`` be None for step- or time-limited runs. Version 1 files that lack a field predate it: the
    encoder mirrored the decoder (``encoder_width`` 1.0) and Adam used PyTorch's β2 0.999; the other fields
    whose default changed are filled with version 1's default."""
    return {**doc,
            "model": _fill(doc.get("model"), {"encoder_width": 1.0}),
            "train": _fill(doc.get("train"), {"adam_beta2": 0.999, "lr_schedule": "cosine", "shift": 0,
                                              "kl_warmup_steps": 0, "epochs": 10}) if doc.get("train") else None,
            "format_version": 2}


#: UPGRADES[v] turns a version-v config into a version v + 1 one.
UPGRADES: dict[int, Callable[[Doc], Doc]] = {1: _v1_to_v2}


def upgrade_checkpoint_config(doc: Doc) -> Doc:
    """A ``config.json`` document of any supported version, as the current version writes it."""
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint format version {version!r} is not supported by this vae_core "
            f"(it reads 1 to {CHECKPOINT_FORMAT}); retrain or upgrade the package"
        )
    while version < CHECKPOINT_FORMAT:
        doc = UPGRADES[version](doc)
        version = doc["format_version"]
    return doc
