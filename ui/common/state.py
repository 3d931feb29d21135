"""Per-session state, held in ``gr.State`` (one copy per browser tab or API client session).

Immutable: callbacks return a new state with :func:`dataclasses.replace`. Latents are tuples of
floats so a state deep-copies and compares cheaply; nothing here refers to the shared model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

Latent = tuple[float, ...]


def as_latent(z: np.ndarray | None) -> Latent | None:
    return None if z is None else tuple(float(v) for v in np.asarray(z, np.float32).reshape(-1))


def as_array(z: Latent | None) -> np.ndarray | None:
    return None if z is None else np.asarray(z, np.float32)


@dataclass(frozen=True)
class Endpoint:
    """One end of an interpolation: its latent and where it came from (shown to the user)."""

    latent: Latent
    source: str


@dataclass(frozen=True)
class OwnDirection:
    """A direction the visitor made (vae_core.directions): its name, vector [Z] and its check's sentence."""

    name: str
    vector: Latent
    check: str = ""


@dataclass(frozen=True)
class SessionState:
    #: the checkpoint picker's value ("" = the default checkpoint)
    checkpoint: str = ""
    #: the Generate tab's base latent (None = the model's average face); sliders act on top of it
    base: Latent | None = None
    #: seed of the last random face (shown next to it)
    seed: int | None = None
    #: posterior mean of the last reconstructed image (a marker on the map, "edit in Generate")
    upload_mu: Latent | None = None
    upload_name: str = ""
    #: the latent picked on the map (click), ready to send to Generate
    picked: Latent | None = None
    #: projection method of the map this session is looking at (clicks are inverted in that map)
    map_method: str = ""
    endpoint_a: Endpoint | None = None
    endpoint_b: Endpoint | None = None
    #: the visitor's own directions (a Generate slider each), this session only
    own_directions: tuple[OwnDirection, ...] = ()
    #: the kind of attribute direction the attribute sliders move along ("" = the default: vae_core.direction_kinds)
    direction_kind: str = ""

    def replace(self, **changes) -> "SessionState":
        return dataclasses.replace(self, **changes)

    def for_checkpoint(self, checkpoint: str) -> "SessionState":
        """A fresh state for another checkpoint (latents of one model mean nothing in another)."""
        return SessionState(checkpoint=checkpoint)
