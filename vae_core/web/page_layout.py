"""A checkpoint's slider layout and random-face sampler as one JSON document for the page.

The page composes latents exactly as :meth:`vae_core.slider_layout.SliderLayout.compose` does and draws random
faces from the same fitted mixture as :class:`vae_core.sampling.LatentSampler`, so it needs their numbers. Large
arrays travel as base64 of little-endian float32 (``{"shape": [...], "f32": "..."}``): a full-covariance
mixture is ~330 k numbers, 1.3 MB as float32 against ~4 MB as JSON text, and it parses into a Float32Array
without a number parser in the loop.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ..slider_layout import ATTR_RANGE, PCA_RANGE, RAW_RANGE, STEP, AttrSlot, SliderLayout

FORMAT = "cvae-page-layout"
VERSION = 1


def f32(array: np.ndarray) -> dict[str, Any]:
    """An array as ``{"shape", "f32"}``: base64 of its little-endian float32 bytes (C order)."""
    a = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    return {"shape": list(a.shape), "f32": base64.b64encode(a.tobytes()).decode("ascii")}


def from_f32(doc: dict[str, Any]) -> np.ndarray:
    """The inverse of :func:`f32` (tests and the static export read documents back)."""
    shape = tuple(int(n) for n in doc["shape"])
    return np.frombuffer(base64.b64decode(doc["f32"]), dtype="<f4").reshape(shape).astype(np.float32)


def default_target(slot: AttrSlot) -> int | None:
    """The value an attribute slider pushes towards at first: not a "none" value (no glasses, no facial hair)."""
    for v in slot.values:
        if not slot.value_name(v).startswith(("no ", "not ")):
            return v
    return slot.values[0] if slot.values else None


def page_layout(layout: SliderLayout, sampler=None, *, resolution: int, title: str = "",
                synthetic: bool = False) -> dict[str, Any]:
    """The JSON document of ``layout`` (and ``sampler``, a :class:`~vae_core.sampling.LatentSampler` or None for
    the N(0, I) prior). ``raw[i]``, ``pca`` rows and ``attrs[k]`` are the app's slider slots, in order."""
    sampler_doc = None
    if sampler is not None:
        sampler_doc = {"covariance_type": sampler.covariance_type, "describe": sampler.describe(),
                       "weights": [float(w) for w in sampler.weights], "means": f32(sampler.means),
                       "scales": f32(sampler.scales)}
        if sampler.scale_of is not None:
            sampler_doc["scale_of"] = [int(g) for g in sampler.scale_of]
    return {
        "format": FORMAT, "version": VERSION,
        "model_id": layout.model_id, "latent_dim": int(layout.latent_dim), "resolution": int(resolution),
        "title": title, "synthetic": bool(synthetic),
        "ranges": {"raw": RAW_RANGE, "pca": PCA_RANGE, "attr": ATTR_RANGE, "step": STEP},
        "mean": f32(layout.mean),
        "raw": [{"dim": s.dim, "kl": round(float(s.kl), 4), "active": s.active, "label": s.label} for s in layout.raw],
        "pca": {"components": f32(layout.pca_components), "stds": [float(v) for v in layout.pca_stds],
                "ratios": [float(v) for v in layout.pca_ratio]},
        "attrs": [{"name": a.name, "title": a.title, "values": list(a.values), "names": list(a.names),
                   "counts": list(a.counts), "default_target": default_target(a),
                   "directions": f32(layout.attr_dirs[a.name])} for a in layout.attrs],
        "sampler": sampler_doc,
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)
