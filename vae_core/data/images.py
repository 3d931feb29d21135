"""Decoding any image a user or a dataset hands us into RGB, and the one crop every model input gets.

Datasets, the preprocessed cache and the explorer's uploads all go through :func:`load_image` and
:func:`center_crop_resize`, so an uploaded face is preprocessed exactly like the training faces (the
crop fraction travels with the checkpoint in its ``DataSpec``).

:func:`load_image` is an edge of the system (uploads come from strangers), so it is defensive:

- only PNG, JPEG, WebP, GIF and BMP decoders are tried (``Image.open(formats=...)``), never the dozens
  of exotic plugins Pillow also ships;
- the pixel count is checked from the header *before* any pixel is decoded, so a 30000×30000 PNG of a
  few hundred bytes is rejected in microseconds instead of allocating gigabytes (Pillow's own
  ``DecompressionBombError``/``DecompressionBombWarning`` raised as an exception are reported the
  same way);
- every decoding failure (truncated file, corrupt stream, random bytes, SVG text) becomes an
  :class:`~vae_core.errors.ImageInputError` whose message says what to do;
- memory stays near the decoded image itself: the EXIF orientation is applied in place and alpha is
  composited over white in horizontal strips, so a 40-megapixel RGBA upload peaks at about twice its
  decoded size instead of five times.

Numpy arrays are accepted too (uint8/uint16/bool/float, ``[H, W]``, ``[H, W, 1|3|4]``); an array of
another shape or dtype, or with NaN, is an :class:`~vae_core.errors.ImageInputError` as well.

Colour handling: transparency is composited over **white** (the Cartoon Set's 500×500 RGBA faces have
a transparent background and the model learns white there), 16-bit greyscale is scaled to 8 bits, CMYK
and palettes are converted to RGB, the EXIF orientation of camera JPEGs is applied, and animated
GIF/WebP files contribute their first frame.
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageInputError

log = logging.getLogger(__name__)

ImageSource = Union[str, Path, bytes, bytearray, memoryview, Image.Image, np.ndarray]

#: Pillow decoders we try (the JPEG one also opens cameras' multi-picture "MPO" JPEGs).
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
SUPPORTED_DESCRIPTION = "PNG, JPEG, WebP, GIF, BMP"
#: Smallest accepted side: below this a centre crop carries no face.
MIN_SIDE = 8
DEFAULT_MAX_PIXELS = 40_000_000
#: Bump whenever load_image/center_crop_resize change their output for the same file: the
#: preprocessed cache keys on it, so stale caches are rebuilt instead of silently reused.
PREPROCESS_VERSION = 1

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8", b"GIF8", b"BM", b"RIFF")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: Rows composited over white at a time (bounds the temporary RGBA copies of large images).
_STRIP_ROWS = 512


def load_image(
    source: ImageSource,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
) -> Image.Image:
    """Decode ``source`` (a path, the raw file bytes, a PIL image or a numpy image array) into a fully
    loaded RGB image.

    ``max_pixels`` bounds width×height, checked from the file header before decoding (Pillow's own
    global bomb limit, ~89 Mpx, still applies on top, so values above it do not raise the bar).
    ``max_bytes`` bounds the encoded size of paths and bytes (None = no limit). Any problem with the
    image itself raises :class:`ImageInputError`; ``ValueError``/``TypeError`` only for bad arguments.
    """
    if max_pixels < MIN_SIDE * MIN_SIDE:
        raise ValueError(f"max_pixels must be >= {MIN_SIDE * MIN_SIDE}, got {max_pixels}")
    if isinstance(source, np.ndarray):
        return to_rgb(_array_image(source, max_pixels))
    if isinstance(source, Image.Image):
        name = "the given image"
        _check_size(source.size, max_pixels, name)
        return _finish(source, name, owned=False)
    data, name = _read_source(source, max_bytes)
    _reject_text(data, name)
    try:
        im = Image.open(io.BytesIO(data), formats=list(SUPPORTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageInputError(f"{name} is too large to decode safely (possible decompression bomb): {e}") from None
    except Image.UnidentifiedImageError:
        raise ImageInputError(
            f"{name} is not a supported image ({SUPPORTED_DESCRIPTION}): its contents are not recognised"
        ) from None
    except Exception as e:  # noqa: BLE001 - any header parsing failure means a bad file
        raise ImageInputError(
            f"{name} is not a supported image ({SUPPORTED_DESCRIPTION}) or its header is corrupt: {e}"
        ) from None
    with im:
        _check_size(im.size, max_pixels, name)
        return _finish(im, name, owned=True)


def _read_source(source: ImageSource, max_bytes: int | None) -> tuple[bytes, str]:
    """Raw bytes and a human name of ``source``; size limits enforced before reading everything."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "the uploaded image"
        if max_bytes is not None and len(data) > max_bytes:
            raise ImageInputError(
                f"{name} is {_mb(len(data))}, more than the limit of {_mb(max_bytes)}; use a smaller file"
            )
        return data, name
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        name = f"image file {str(path)!r}"
        try:
            if not path.is_file():
                what = "is a folder, not an image file" if path.is_dir() else "does not exist"
                raise ImageInputError(f"{name} {what}")
            size = path.stat().st_size
            if max_bytes is not None and size > max_bytes:
                raise ImageInputError(
                    f"{name} is {_mb(size)}, more than the limit of {_mb(max_bytes)}; use a smaller file"
                )
            return path.read_bytes(), name
        except OSError as e:
            raise ImageInputError(f"{name} cannot be read: {e.strerror or e}") from None
    raise TypeError(f"image source must be a path, bytes or a PIL image, got {type(source).__name__}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _reject_text(data: bytes, name: str) -> None:
    """Give SVG/HTML/empty input a precise message instead of Pillow's generic 'cannot identify'."""
    if not data:
        raise ImageInputError(f"{name} is empty (0 bytes)")
    if data.startswith(_IMAGE_MAGIC):
        return
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html")) or b"<svg" in head:
        raise ImageInputError(
            f"{name} is SVG/XML text, not a supported image ({SUPPORTED_DESCRIPTION}); "
            "export it as PNG first"
        )


def _check_size(size: tuple[int, int], max_pixels: int, name: str) -> None:
    w, h = size
    if w * h > max_pixels:
        raise ImageInputError(
            f"{name} is {w}×{h} = {w * h / 1e6:.1f} megapixels, more than the limit of "
            f"{max_pixels / 1e6:.1f} megapixels (refused before decoding: it could be a decompression "
            "bomb); downscale it first"
        )
    if w < MIN_SIDE or h < MIN_SIDE:
        raise ImageInputError(f"{name} is only {w}×{h} pixels; at least {MIN_SIDE}×{MIN_SIDE} is needed")


def _array_image(a: np.ndarray, max_pixels: int) -> Image.Image:
    """A numpy image → PIL ("L", "RGB" or "RGBA"), scaled to 8 bits like :func:`_to_uint8_gray`.

    uint8 as is; uint16 ÷ 257; other integers as 8-bit when ≤ 255, else as 16-bit; bool as 0/255;
    floats as [0, 1] when their maximum is ≤ 1, else as 0..255.
    """
    name = "the image array"
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageInputError(f"{name} has shape {list(a.shape)}; expected [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]")
    _check_size((a.shape[1], a.shape[0]), max_pixels, name)
    kind = a.dtype.kind
    if kind == "b":
        a = a.astype(np.uint8) * 255
    elif kind == "f":
        if not np.isfinite(a).all():
            raise ImageInputError(f"{name} contains NaN or infinite values")
        a = np.clip(np.rint(a * 255.0 if a.max() <= 1.0 else a), 0, 255).astype(np.uint8)
    elif kind in "ui":
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 65535:
            raise ImageInputError(f"{name} has values in {lo}..{hi}; expected 0..255 (or 0..65535 for 16-bit)")
        if a.dtype == np.uint16 or hi > 255:
            a = np.rint(a.astype(np.float32) / 257.0)
        a = a.astype(np.uint8)
    else:
        raise ImageInputError(f"{name} has dtype {a.dtype}; expected uint8, uint16, bool or float")
    return Image.fromarray(np.ascontiguousarray(a))


def _finish(im: Image.Image, name: str, owned: bool) -> Image.Image:
    """Decode pixels (first frame), apply EXIF orientation and convert to RGB over white.

    ``owned``: ``im`` was opened here, so the orientation may be applied in place (no full copy); a
    caller's PIL image is never modified.
    """
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageInputError(f"{name} is too large to decode safely: {e}") from None
    except MemoryError:
        raise ImageInputError(f"{name} needs more memory to decode than is available") from None
    except Exception as e:  # noqa: BLE001 - truncated/corrupt streams surface as many exception types
        raise ImageInputError(
            f"{name} is truncated or corrupt ({type(e).__name__}: {e}); re-save or re-download it"
        ) from None
    try:
        im = ImageOps.exif_transpose(im, in_place=owned) or im
    except Exception as e:  # noqa: BLE001 - a broken EXIF block must not reject good pixels
        log.warning("ignoring unreadable EXIF orientation of %s: %s", name, e)
    try:
        return to_rgb(im)
    except ImageInputError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ImageInputError(f"{name} has an unsupported colour mode {im.mode!r}: {e}") from None


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode → RGB: alpha over white, 16-bit scaled to 8-bit, CMYK/palette converted."""
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        im = Image.fromarray(_to_uint8_gray(np.asarray(im), mode), "L")
        mode = "L"
    if mode == "La":
        im, mode = im.convert("LA"), "LA"
    has_alpha = mode in _ALPHA_MODES or (mode in ("P", "L", "RGB", "1") and "transparency" in im.info)
    if has_alpha:
        return _over_white(im)
    return im if mode == "RGB" else im.convert("RGB")


def _over_white(im: Image.Image) -> Image.Image:
    """Alpha-composite ``im`` over opaque white → RGB, ``_STRIP_ROWS`` rows at a time.

    Per pixel exactly ``Image.alpha_composite(white, im.convert("RGBA")).convert("RGB")``, but the
    RGBA temporaries exist for one strip only, not for the whole (possibly 40-megapixel) image.
    """
    w, h = im.size
    out = Image.new("RGB", (w, h))
    for top in range(0, h, _STRIP_ROWS):
        box = (0, top, w, min(h, top + _STRIP_ROWS))
        strip = im.crop(box).convert("RGBA")
        white = Image.new("RGBA", strip.size, (255, 255, 255, 255))
        out.paste(Image.alpha_composite(white, strip).convert("RGB"), box[:2])
    return out


def _to_uint8_gray(arr: np.ndarray, mode: str) -> np.ndarray:
    """Scale high-bit-depth greyscale to 0..255.

    16-bit modes use the full 0..65535 range (÷257 maps 65535 exactly to 255). Mode 'I' (32-bit int) is
    what some decoders give for 16-bit data, so it is read as 16-bit when any value exceeds 255 and as
    8-bit otherwise. Mode 'F' is read as [0, 1] when its maximum is ≤ 1, else as 0..255.
    """
    a = arr.astype(np.float64)
    if mode == "F":
        a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if a.size and a.max() <= 1.0 else 1.0
        a = a * scale
    elif mode in _SIXTEEN_BIT_MODES or (a.size and a.max() > 255):
        a = np.clip(a, 0, 65535) / 257.0
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def center_crop_resize(img: Image.Image, resolution: int, crop_fraction: float = 1.0) -> np.ndarray:
    """The model input of ``img``: uint8 [R, R, 3].

    The crop is the centred square whose side is ``round(crop_fraction × min(width, height))`` pixels
    (so a non-square image is reduced to its centred square; offsets rounded like torchvision's
    ``CenterCrop``). It is cut out first and then resized to ``resolution``² with Lanczos filtering
    (after an exact box pre-reduction when shrinking more than 3×, Pillow's ``reducing_gap``, which
    keeps quality and is much faster), so no pixel outside the crop leaks in. For the real Cartoon Set
    (500×500) ``crop_fraction=0.7`` keeps the central 350×350 box (pixels 75..424) where the face is.
    """
    if not isinstance(img, Image.Image):
        raise TypeError(f"center_crop_resize needs a PIL image (use load_image first), got {type(img).__name__}")
    if resolution < 1:
        raise ValueError(f"resolution must be >= 1, got {resolution}")
    if not (0.0 < crop_fraction <= 1.0) or math.isnan(crop_fraction):
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    if img.mode != "RGB":
        img = to_rgb(img)
    w, h = img.size
    side = max(1, min(w, h, round(crop_fraction * min(w, h))))
    left, top = round((w - side) / 2.0), round((h - side) / 2.0)
    # crop first, then resize: resizing with a box would let the filter read pixels outside the crop
    square = img.crop((left, top, left + side, top + side))
    out = square.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=3.0)
    arr = np.array(out, dtype=np.uint8)
    if arr.shape != (resolution, resolution, 3):  # defensive: Pillow contract
        raise ImageInputError(f"resizing produced shape {arr.shape}, expected {(resolution, resolution, 3)}")
    return arr


def preprocess_file(path: str | Path, resolution: int, crop_fraction: float) -> np.ndarray:
    """load_image + center_crop_resize of one dataset file: uint8 [R, R, 3]."""
    return center_crop_resize(load_image(path), resolution, crop_fraction)
