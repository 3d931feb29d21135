"""Checks for values that arrive from the browser or an API client, before any work is done with them.

Why this exists: an endpoint's values are typed by strangers (``gradio_client``, curl, a fuzzer). Gradio's
own preprocessing turns a wrong type ("abc" for a slider, a dict for a number) into a generic "upstream app
raised an exception" and a traceback in the server log. The app's events therefore take raw values
(``preprocess=False``) and check them here, so every bad value gets one clear message that names the
parameter and the accepted range, and no traceback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .errors import UserInputError


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def number(v: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number (an int or float, not a bool, a string or a list), optionally within [lo, hi]."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserInputError(f"{name} must be a number, got {_show(v)}")
    f = float(v)
    if not math.isfinite(f):
        raise UserInputError(f"{name} must be a finite number, got {_show(v)}")
    if (lo is not None and f < lo) or (hi is not None and f > hi):
        if lo is not None and hi is not None:
            raise UserInputError(f"{name} must be between {_bound(lo)} and {_bound(hi)}, got {_show(v)}")
        raise UserInputError(f"{name} must be at {'least ' + _bound(lo) if lo is not None else 'most ' + _bound(hi)}, "
                             f"got {_show(v)}")
    return f


def whole(v: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """A whole number (2 or 2.0, not 2.5), optionally within [lo, hi]."""
    f = number(v, name, lo, hi)
    if f != int(f):
        raise UserInputError(f"{name} must be a whole number, got {_show(v)}")
    return int(f)


def flag(v: Any, name: str) -> bool:
    if not isinstance(v, bool):
        raise UserInputError(f"{name} must be true or false, got {_show(v)}")
    return v


def choice(v: Any, name: str, choices: Sequence[Any]) -> Any:
    if not isinstance(v, (str, int, float)) or isinstance(v, bool) or v not in choices:
        shown = ", ".join(str(c) for c in list(choices)[:12]) + (", …" if len(choices) > 12 else "")
        raise UserInputError(f"{name} must be one of: {shown}; got {_show(v)}")
    return v


def text(v: Any, name: str, max_len: int = 100_000, optional: bool = True) -> str:
    if v is None and optional:
        return ""
    if not isinstance(v, str):
        raise UserInputError(f"{name} must be text, got {_show(v)}")
    if len(v) > max_len:
        raise UserInputError(f"{name} is too long ({len(v)} characters; at most {max_len})")
    return v
