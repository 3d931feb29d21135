"""The page's slider mirror, as the server reads it.

The page (ui/static/generate_page.js) keeps the positions of every Generate slider it shows: the ones the server
set with the last face (its sync message) and the visitor's moves since. Events whose Python side needs the face the
page shows (the server-decoding fallback, "Copy latent", the edit-fidelity line) receive that mirror packed as one
string (``{"v": version, "values": [raw…, PCA…, strengths…, own…]}``) instead of 54 slider inputs, and the server composes
the same latent from it (vae_core.slider_layout). Values are checked and clipped here: the string comes from a page,
which a stranger controls.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence

from vae_core.errors import VaeCoreError

from vae_core.slider_layout import ATTR_RANGE, N_ATTR, N_OWN, N_PCA, N_RAW, PCA_RANGE, RAW_RANGE

#: The mirrored sliders, in this order: raw dims, PCA directions, attribute strengths, the visitor's directions.
N_MIRRORED = N_RAW + N_PCA + N_ATTR + N_OWN
_LIMITS = [RAW_RANGE] * N_RAW + [PCA_RANGE] * N_PCA + [ATTR_RANGE] * (N_ATTR + N_OWN)
#: Longest packed string accepted (54 numbers need < 2 kB); anything longer is not from our page.
MAX_PACKED = 8192


class SliderSyncError(VaeCoreError):
    """The packed slider values did not come from this app's page (or from an older version of it)."""


def pack(values: Sequence[float], version: str | None = None) -> str:
    """The packed string for slider values set by the server (a fresh version unless given one)."""
    vals = [float(v) for v in values]
    if len(vals) != N_MIRRORED:
        raise ValueError(f"expected {N_MIRRORED} slider values, got {len(vals)}")
    return json.dumps({"v": version or secrets.token_hex(6), "values": vals}, separators=(",", ":"))


def unpack(packed: object) -> list[float]:
    """The slider values in a packed string from the page, each clipped to its slider's range."""
    if not isinstance(packed, str) or not packed or len(packed) > MAX_PACKED:
        raise SliderSyncError("the page's slider values are missing; reload the page")
    try:
        doc = json.loads(packed)
        values = doc["values"]
    except (ValueError, TypeError, KeyError):
        raise SliderSyncError("the page's slider values are unreadable; reload the page") from None
    if not isinstance(values, list) or len(values) != N_MIRRORED:
        raise SliderSyncError("the page's slider values do not match this app; reload the page")
    return [_clip(v, limit) for v, limit in zip(values, _LIMITS)]


def _clip(v: object, limit: float) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return min(limit, max(-limit, f)) if math.isfinite(f) else 0.0
