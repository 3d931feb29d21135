"""What the Reconstruct tab encodes (an upload, read defensively, or a dataset example) and its report.

Pure functions of (explorer, inputs): no Gradio, no globals. Uploads reach vae_core's loader as bytes,
so its messages name the user's file, never a server path; :mod:`ui.common.errors` shows them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vae_core.errors import ImageInputError

from ..common import validate
from ..common.errors import UserInputError


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
