"""The Interpolate tab's ends (from any source) and the path between them. Pure, no Gradio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vae_core import latent as latent_ops

from ..common import validate
from ..common.errors import UserInputError
from ..common.state import Endpoint, as_latent
from ..generate.latents import SAMPLERS, check_seed, face_from_seed, paste_latent
from ..reconstruct.encode import encode_upload, example

MAX_STEPS = 64
SOURCES = ("random", "dataset example", "upload", "latent string")


def endpoint(explorer, source: str, seed: Any = 0, example_index: Any = 0, upload: Any = None,
             text: Any = None, temperature: Any = 1.0, sampler: Any = SAMPLERS[0]) -> Endpoint:
    """One interpolation end from the chosen source."""
    if source == "random":
        s = check_seed(seed)
        return Endpoint(as_latent(face_from_seed(explorer, s, temperature, sampler)), f"random face, seed {s}")
    if source == "dataset example":
        img, name = example(explorer, example_index)
        return Endpoint(as_latent(explorer.encode_image(img).mu), f"dataset example {name}")
    if source == "upload":
        enc, name, _ = encode_upload(explorer, upload)
        return Endpoint(as_latent(enc.mu), f"upload {name}")
    if source == "latent string":
        return Endpoint(as_latent(paste_latent(explorer, text)), "pasted latent")
    raise UserInputError(f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")


@dataclass(frozen=True)
class Interpolation:
    latents: np.ndarray  # [N, Z]
    frames: np.ndarray  # uint8 [N, R, R, 3]


def interpolate(explorer, a: Endpoint | None, b: Endpoint | None, method: str, steps: Any) -> Interpolation:
    n = validate.whole(steps, "steps", 2, MAX_STEPS)
    validate.choice(method, "the path", ("slerp", "lerp"))
    if a is None or b is None:
        raise UserInputError("set both ends first (A and B)")
    za, zb = np.asarray(a.latent, np.float32), np.asarray(b.latent, np.float32)
    if za.shape != zb.shape or za.size != explorer.latent_dim:
        raise UserInputError("the ends belong to another model; set them again")
    zs = (latent_ops.slerp if method == "slerp" else latent_ops.lerp)(za, zb, n)
    return Interpolation(latents=zs, frames=explorer.decode(zs))
