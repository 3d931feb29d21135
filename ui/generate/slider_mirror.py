"""The browser's copy of the Generate sliders, so that a slider move sends one string, not 54 values.

Gradio's frontend spends about half a millisecond per event *input* before it sends a request and again
when the first reply arrives (it snapshots each input component's props and walks the page's component
tree for each). With every slider as an input, one move cost ~40 ms of main-thread work before the
server saw it — most of the 100 ms budget for "slider moved → new face painted". So each slider gets its
own event with just itself, the attribute dropdowns and one hidden *packed* textbox as inputs; a small
frontend function (``js=`` on the event) keeps the values of all sliders in a per-page mirror and sends
them packed.

The server stays the authority: every event that sets slider values (a new checkpoint, a random face,
reset, paste…) also sends a packed string with a fresh version token, and the mirror adopts it the next
time it sees a version it has not seen. A version is random, not a hash of the values: "reset" twice
must reset twice, even if the user moved sliders in between. The dropdowns (attribute target values)
are not mirrored: events that set slider values never set them, so they are read as inputs (6 of them).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence

from vae_core.errors import VaeCoreError

from vae_core.slider_layout import ATTR_RANGE, N_ATTR, N_PCA, N_RAW, PCA_RANGE, RAW_RANGE

#: The mirrored sliders, in this order: raw dims, PCA directions, attribute strengths.
N_MIRRORED = N_RAW + N_PCA + N_ATTR
_LIMITS = [RAW_RANGE] * N_RAW + [PCA_RANGE] * N_PCA + [ATTR_RANGE] * N_ATTR
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


def with_move(packed: object, index: int, value: object) -> list[float]:
    """The values after a move of mirrored slider ``index`` to ``value`` (the slider's own value wins:
    it is an input of the event too, checked against its range by Gradio)."""
    values = unpack(packed)
    if not 0 <= index < N_MIRRORED:
        raise IndexError(index)
    values[index] = _clip(value, _LIMITS[index])
    return values


def _clip(v: object, limit: float) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return min(limit, max(-limit, f)) if math.isfinite(f) else 0.0


def mirror_js(index: int | None) -> str:
    """The frontend half, run before the request: adopt a new server version, apply this slider's move
    (``index``; None for an event that only needs the current values), send the packed mirror.
    Inputs and outputs of the function: ``(state, [value,] packed, *dropdowns)``."""
    move = "" if index is None else f"m.values[{int(index)}] = Number(value);"
    head = "(st, packed, ...rest)" if index is None else "(st, value, packed, ...rest)"
    ret = "[st, out, ...rest]" if index is None else "[st, value, out, ...rest]"
    return f"""async {head} => {{
  const m = (window.__cvaeSliders ||= {{v: null, values: null}});
  let p = null;
  try {{ p = JSON.parse(packed || "null"); }} catch (e) {{ p = null; }}
  if (p && Array.isArray(p.values) && p.v !== m.v) {{ m.v = p.v; m.values = p.values.slice(); }}
  if (!m.values) return {ret.replace("out", "packed")};
  {move}
  const out = JSON.stringify({{v: m.v, values: m.values}});
  return {ret};
}}"""
