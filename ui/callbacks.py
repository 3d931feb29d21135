"""Pure functions behind the tabs: (explorer, inputs) → results. No Gradio, no globals.

The Explorer is passed in (shared and read-only); anything per session comes in as arguments and goes
out as return values. Errors are :class:`~vae_core.errors.VaeCoreError` subclasses with messages meant
for the user; :mod:`ui.errors` shows them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vae_core import latent as latent_ops
from vae_core.errors import ImageInputError, LatentFormatError

from . import validate
from .errors import UserInputError
from .state import Endpoint, as_latent

MAX_SEED = 2**31 - 1
MAX_STEPS = 64


# -- Generate -----------------------------------------------------------------------------------------
def decode_one(explorer, z: np.ndarray) -> np.ndarray:
    """Latent [Z] → uint8 [R, R, 3]."""
    return explorer.decode(np.asarray(z, np.float32)[None])[0]


def check_seed(seed: Any) -> int:
    return validate.whole(seed, "the seed", 0, MAX_SEED)


def check_temperature(t: Any) -> float:
    return validate.number(t, "the temperature", 0.0, 3.0)


#: Where random faces come from: the density fitted to the training codes (the default: faces where the
#: decoder has seen codes) or the N(0, I) prior the VAE was trained towards (for comparison).
SAMPLERS = ("fitted density", "N(0, I) prior")


def check_sampler(sampler: Any) -> str:
    if sampler is None or sampler == "":
        return SAMPLERS[0]
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise UserInputError(f"the sampler must be one of: {', '.join(SAMPLERS)}; got {sampler!r}")
    return sampler


def face_from_seed(explorer, seed: Any, temperature: Any = 1.0, sampler: Any = SAMPLERS[0]) -> np.ndarray:
    """A random code [Z], reproducible from the seed (the same seed gives the same face): from the fitted
    density (temperature scales the spread around its component, 0 = the component's mean) or the prior."""
    prior = check_sampler(sampler) == SAMPLERS[1]
    return explorer.sample(1, seed=check_seed(seed), temperature=check_temperature(temperature), prior=prior)[0]


def sampler_note(explorer, sampler: Any = SAMPLERS[0]) -> str:
    """One line saying what the random faces are drawn from (shown under the temperature slider)."""
    if check_sampler(sampler) == SAMPLERS[1]:
        return "Random faces: N(0, I) prior, temperature = its standard deviation (0 = the all-zero code)."
    fitted = explorer.sampler
    if fitted is None:
        return ("Random faces: N(0, I) prior: this checkpoint has no fitted density "
                "(`python -m vae_core embed` fits one).")
    return (f"Random faces: a {fitted.describe()} fitted to the training faces' codes; temperature scales the "
            "spread around the chosen component (0 = its mean, a typical face).")


def copy_latent(explorer, z: np.ndarray) -> str:
    """The shareable ``cvae1:<model id>:<data>`` string of z."""
    return latent_ops.format_latent(z, explorer.model_id)


def paste_latent(explorer, text: Any) -> np.ndarray:
    """Parse a pasted latent (a cvae1 string of this model, or Z numbers); LatentFormatError if unusable."""
    if text is None or text == "":
        raise LatentFormatError("paste a latent string first")
    return latent_ops.parse_latent(validate.text(text, "the latent string"), explorer.latent_dim, explorer.model_id)


# -- Reconstruct ---------------------------------------------------------------------------------------
def upload_path(payload: Any) -> str:
    """The server-side path of an uploaded file, from a Gradio FileData dict/object or a plain path."""
    if payload is None or payload == "":
        raise UserInputError("no image: upload one (PNG, JPEG, WebP, GIF or BMP), or pick a dataset example")
    if isinstance(payload, dict):
        path = payload.get("path")
    elif isinstance(payload, (str, Path)):
        path = str(payload)
    else:
        path = getattr(payload, "path", None)
    if not path:
        raise UserInputError("the upload did not arrive; try again")
    return str(path)


def upload_name(payload: Any) -> str:
    """The file name the user uploaded (never the server-side cache path)."""
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    return Path(str(name or upload_path(payload))).name


def read_upload(payload: Any) -> tuple[bytes, str]:
    """(file bytes, the user's file name) of an upload. The bytes, not the path, go to the loader, so
    its messages say "the uploaded image" instead of a server path."""
    path = upload_path(payload)
    try:
        return Path(path).read_bytes(), upload_name(payload)
    except OSError:
        raise UserInputError("the upload could not be read on the server; upload it again") from None


def encode_upload(explorer, payload: Any):
    """Encode an uploaded file → (EncodedImage, file name, conversion notes); ImageInputError names the file."""
    data, name = read_upload(payload)
    try:
        enc = explorer.encode_image(data)
    except ImageInputError as e:
        raise ImageInputError(f"{name}: {e}") from None
    return enc, name, describe_upload(data)


def describe_upload(data: bytes | str) -> list[str]:
    """Notes about how an upload was converted (shown as info, never an error): animation, alpha, palette…

    Reads only the header (and the first frame index for GIF/WebP); any failure is left to the
    loader, which raises the proper error.
    """
    notes: list[str] = []
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            if getattr(im, "is_animated", False):
                notes.append(f"animated image ({getattr(im, 'n_frames', '?')} frames): using the first frame")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                notes.append("transparent pixels were composited over white")
            elif im.mode in ("L", "I;16", "I", "1"):
                notes.append("greyscale image: converted to RGB")
            elif im.mode == "P":
                notes.append("palette image: converted to RGB")
            elif im.mode == "CMYK":
                notes.append("CMYK image: converted to RGB")
            w, h = im.size
            if w != h:
                notes.append(f"{w}×{h} image: centre-cropped to a square")
    except Exception:  # noqa: BLE001 - the real loader reports problems
        pass
    return notes


def reconstruct(explorer, source: Any):
    """Encode an image source (path/bytes/PIL or a uint8 [R, R, 3] model input) → EncodedImage."""
    return explorer.encode_image(source)


def recon_report(enc, name: str = "") -> str:
    what = f" of **{name}**" if name else ""
    return (f"Reconstruction{what}: MSE **{enc.mse:.4f}** · PSNR **{enc.psnr:.1f} dB** · SSIM **{enc.ssim:.3f}** "
            f"(on the {enc.input_u8.shape[0]}×{enc.input_u8.shape[1]} model input; decoded from the posterior mean)")


def example(explorer, index: Any) -> tuple[np.ndarray, str]:
    """Dataset example ``index`` (held-out faces of the checkpoint's dataset): (uint8 [R, R, 3], its id)."""
    bundle = explorer.embedding()
    n = len(bundle.examples)
    if n == 0:
        raise UserInputError("this checkpoint's dataset has no examples to pick")
    i = validate.whole(index, "the example number", 0, n - 1)
    return bundle.examples[i], str(bundle.example_ids[i])


# -- Interpolate ---------------------------------------------------------------------------------------
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
