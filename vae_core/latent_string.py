"""The shareable latent string: ``cvae1:<model id>:<base64url float16>``, and plain lists of numbers.

Why a module of its own: the string is a file format in all but name. The app's Copy/Paste, the API, share
links and the static page (vae_core/web/static/latent_string.js, tested byte-exact against this) all write
and read it, so its rules live in one place and import nothing heavier than numpy.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np

from .errors import LatentFormatError

#: Version tag of the shareable latent string ``cvae1:<model id>:<base64url float16>``.
LATENT_PREFIX = "cvae1"
#: Largest finite float16: latent strings store float16, so larger magnitudes cannot round-trip.
LATENT_ABS_MAX = 65504.0
#: Longest text parse_latent looks at (1024 dims × ~20 characters fits easily).
_MAX_TEXT = 64_000
_HEX8 = re.compile(r"[0-9a-f]{8}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _model_id8(model_id: str) -> str:
    mid = str(model_id).strip().lower()[:8]
    if not _HEX8.fullmatch(mid):
        raise ValueError(f"model_id must start with 8 hex digits (a weights fingerprint), got {model_id!r}")
    return mid


def format_latent(z: np.ndarray, model_id: str) -> str:
    """``cvae1:<model id, 8 hex>:<base64url, unpadded, of float16 little-endian>``.

    Short enough to paste into a chat (Z = 32 → 86 data characters, 101 in all), URL-safe, and tied to the weights
    it came from so it is not silently decoded by another model. float16 keeps ~3 significant digits,
    far finer than anything visible in a decoded face. ``model_id``: hex fingerprint (first 8 used).
    """
    v = np.asarray(z, np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all() or np.abs(v).max() > LATENT_ABS_MAX:
        raise ValueError(f"a latent to format must be non-empty, finite and within ±{LATENT_ABS_MAX:g}")
    payload = base64.urlsafe_b64encode(v.astype("<f2").tobytes()).decode("ascii").rstrip("=")
    return f"{LATENT_PREFIX}:{_model_id8(model_id)}:{payload}"


def _parse_number_list(s: str, latent_dim: int) -> np.ndarray:
    body = s
    if body[:1] in "[(" and body[-1:] in "])":
        body = body[1:-1]
    tokens = [t for t in re.split(r"[,\s]+", body.strip()) if t]
    values: list[float | None] = []
    for t in tokens:
        try:
            values.append(float(t))
        except ValueError:
            values.append(None)
    if all(v is None for v in values):
        raise LatentFormatError(
            f"not a latent: expected a '{LATENT_PREFIX}:<model id>:<data>' string or {latent_dim} "
            "comma-separated numbers")
    bad = next((i for i, v in enumerate(values) if v is None), None)
    if bad is not None:
        raise LatentFormatError(f"value {bad + 1} of the list, {tokens[bad][:20]!r}, is not a number")
    if len(values) != latent_dim:
        raise LatentFormatError(
            f"the list has {len(values)} numbers but this model has {latent_dim} latent dimensions")
    return np.array(values, np.float64)


def parse_latent(text: str, latent_dim: int, model_id: str | None = None) -> np.ndarray:
    """Parse a pasted latent into float32 [latent_dim].

    Accepts what :func:`format_latent` writes or a plain list of ``latent_dim`` numbers separated by
    commas and/or spaces (optionally in [ ] or ( )). With ``model_id`` given, a cvae1 string copied from
    another model is refused. Raises :class:`LatentFormatError` (never anything else) with a message
    that says what is wrong: empty, too long, unknown format/version, malformed model id or data, wrong
    number of dims, non-finite or out-of-range (> 65504 in magnitude) values.
    """
    if not isinstance(text, str):
        raise LatentFormatError(f"a latent must be text, got {type(text).__name__}")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    s = text.strip()
    if not s:
        raise LatentFormatError(
            f"the latent is empty: paste a '{LATENT_PREFIX}:…' string or {latent_dim} comma-separated numbers")
    if len(s) > _MAX_TEXT:
        raise LatentFormatError(f"the latent text is too long ({len(s)} characters)")
    if ":" in s:
        parts = s.split(":")
        tag = parts[0].strip().lower()
        if tag != LATENT_PREFIX:
            if re.fullmatch(r"cvae\d+", tag):
                raise LatentFormatError(
                    f"unsupported latent format {parts[0][:10]!r}; this version reads '{LATENT_PREFIX}:' strings")
            raise LatentFormatError(
                f"not a latent string: expected '{LATENT_PREFIX}:<model id>:<data>' or "
                f"{latent_dim} comma-separated numbers")
        if len(parts) != 3:
            raise LatentFormatError(
                f"a latent string has three ':'-separated parts ('{LATENT_PREFIX}:<model id>:<data>'), "
                f"this one has {len(parts)}")
        mid, payload = parts[1].strip().lower(), parts[2].strip()
        if not _HEX8.fullmatch(mid):
            raise LatentFormatError(f"the model id {parts[1][:20]!r} in the latent string is not 8 hex digits")
        if model_id is not None and mid != _model_id8(model_id):
            raise LatentFormatError(
                f"this latent was copied from another model ({mid}) but the loaded model is "
                f"{_model_id8(model_id)}; latents only mean something in the model that made them. "
                "Open that checkpoint, or copy a latent from this model")
        if not _B64URL.fullmatch(payload) or len(payload) % 4 == 1:
            raise LatentFormatError("the data part of the latent string is damaged (not base64url)")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            raise LatentFormatError("the data part of the latent string is damaged (not base64url)") from None
        if len(raw) != 2 * latent_dim:
            got = f"{len(raw) / 2:g}"
            raise LatentFormatError(
                f"the latent string holds {got} values but this model has {latent_dim} latent dimensions "
                "(truncated copy, or a different model)")
        z = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    else:
        z = _parse_number_list(s, latent_dim)
    if not np.isfinite(z).all():
        raise LatentFormatError("the latent contains NaN or infinite values")
    if np.abs(z).max() > LATENT_ABS_MAX:
        raise LatentFormatError(f"the latent has values beyond ±{LATENT_ABS_MAX:g}")
    return z.astype(np.float32)


__all__ = ["LATENT_ABS_MAX", "LATENT_PREFIX", "format_latent", "parse_latent"]
