"""The page's JavaScript: every file parses (``node --check``), and the shared modules of vae_core/web/static
compute what the Python they mirror computes.

Why: the page composes latents, formats and parses latent strings, draws random faces and converts decoder output
itself; a face must not depend on whether the page or the server made it. These tests build fixtures with the real
Python code (the shipped default checkpoint's page layout, a small hand-made one, SliderLayout.compose,
format_latent/parse_latent, LatentSampler.sample, lerp/slerp, to_uint8) and run the Node tests in tests/js on them
(``node --test``, no npm packages). Values that JSON cannot carry (NaN, ±inf) travel as ``{"$float": "nan"}``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vae_core import latent as latent_ops
from vae_core import latent_string
from vae_core.data.dataset import to_uint8
from vae_core.errors import LatentFormatError
from vae_core.sampling import MAX_TEMPERATURE, LatentSampler
from vae_core.slider_layout import ATTR_RANGE, PCA_RANGE, RAW_RANGE, STEP, AttrSlot, RawSlot, SliderLayout, build_layout

from vae_core.slider_layout import slider_value
from vae_core.web.page_layout import page_layout

ROOT = Path(__file__).resolve().parents[1]
JS_DIRS = (ROOT / "vae_core" / "web" / "static", ROOT / "ui" / "static", ROOT / "tests" / "js")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (Node.js 20+) is not installed: the page's JavaScript "
                                                     "cannot be checked here")
MODEL_ID = "0123abcd"


# -- JSON with NaN and infinities --------------------------------------------------------------------------
def _enc(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, dict):
        return {k: _enc(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_enc(x) for x in v]
    if isinstance(v, np.ndarray):
        return _enc(v.tolist())
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return _enc(v.item())
    return v


# -- layouts -------------------------------------------------------------------------------------------------
def _fake_layout(rng: np.random.Generator, z: int = 6) -> SliderLayout:
    """A small layout by hand: raw slots out of dim order (one collapsed), 3 PCA axes, attributes whose values are
    not 0..V-1."""
    comps = np.linalg.qr(rng.normal(size=(z, z)))[0][:3].astype(np.float32)
    attrs = (AttrSlot("glasses", (0, 1), (40, 9), ("no glasses", "glasses")),
             AttrSlot("hair_color", (0, 2, 5), (12, 30, 7), ("black", "blond", "red")))
    return SliderLayout(
        model_id=MODEL_ID, latent_dim=z,
        raw=(RawSlot(3, 2.5, True), RawSlot(0, 1.25, True), RawSlot(5, 0.75, True), RawSlot(1, 0.001, False)),
        mean=rng.normal(size=z).astype(np.float32), pca_components=comps,
        pca_stds=np.array([1.5, 0.8, 0.3], np.float32), pca_ratio=np.array([0.5, 0.2, 0.05], np.float32),
        attrs=attrs, attr_dirs={a.name: rng.normal(size=(len(a.values), z)).astype(np.float32) for a in attrs})


def _fake_kernel_density(rng: np.random.Generator, z: int, k: int) -> LatentSampler:
    """A kernel density (tied covariance: one lower Cholesky factor for all k components, equal weights)."""
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731
    chol = np.tril(rng.normal(size=(z, z)) * 0.3) + np.diag(rng.uniform(0.5, 1.5, size=z))
    return LatentSampler(weights=np.full(k, 1.0 / k), means=f32(rng.normal(size=(k, z))), scales=f32(chol),
                         covariance_type="tied", info={"bandwidth": 1.1})


def _fake_blend(mixture: LatentSampler, kernels: LatentSampler) -> LatentSampler:
    """A grouped mixture: the diagonal mixture's components and the kernel density's kernels as one density."""
    from vae_core.sampling.fit import blend_samplers

    return blend_samplers(mixture, kernels, 0.4, info={"mixture_share": 0.4, "n_kernels": kernels.n_components,
                                                       "mixture_components": mixture.n_components})


def _fake_sampler(rng: np.random.Generator, z: int, k: int) -> LatentSampler:
    """A diagonal mixture of k components (k >= 8 exercises numpy's pairwise sum of the weights in mixture.js)."""
    w = rng.dirichlet(np.ones(k))
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731  (as a saved sampler holds them)
    return LatentSampler(weights=w / w.sum(), means=f32(rng.normal(size=(k, z))),
                         scales=f32(rng.uniform(0.2, 1.5, size=(k, z))), covariance_type="diag")


@pytest.fixture(scope="module")
def default_explorer():
    from vae_core import Explorer

    return Explorer.open(ROOT / "checkpoints" / "default")


def _array_summary(a: np.ndarray) -> dict[str, Any]:
    flat = np.asarray(a, np.float32).reshape(-1)
    idx = sorted({0, len(flat) - 1, *np.linspace(0, len(flat) - 1, 25).astype(int).tolist()}) if len(flat) else []
    return {"length": len(flat), "sum": float(flat.astype(np.float64).sum()),
            "sumsq": float(np.square(flat.astype(np.float64)).sum()),
            "samples": [[i, float(flat[i])] for i in idx]}


def _layout_expect(layout: SliderLayout, sampler: LatentSampler | None, doc: dict[str, Any]) -> dict[str, Any]:
    """What parseLayout must return, read from the Python objects (not from the document under test)."""
    return {
        "modelId": layout.model_id, "latentDim": layout.latent_dim, "resolution": doc["resolution"],
        "title": doc["title"], "synthetic": doc["synthetic"],
        "ranges": {"raw": RAW_RANGE, "pca": PCA_RANGE, "attr": ATTR_RANGE, "step": STEP},
        "mean": _array_summary(layout.mean),
        "raw": [{"dim": s.dim, "kl": round(s.kl, 4), "active": s.active, "label": s.label} for s in layout.raw],
        "pca": {"k": layout.n_pca, "components": _array_summary(layout.pca_components),
                "stds": layout.pca_stds.tolist(), "ratios": layout.pca_ratio.tolist()},
        "attrs": [{"name": a.name, "title": a.title, "values": list(a.values), "names": list(a.names),
                   "counts": list(a.counts), "directions": _array_summary(layout.attr_dirs[a.name])}
                  for a in layout.attrs],
        "sampler": None if sampler is None else {
            "covarianceType": sampler.covariance_type, "describe": sampler.describe(), "k": sampler.n_components,
            "weights": sampler.weights.tolist(), "means": _array_summary(sampler.means),
            "scales": _array_summary(sampler.scales),
            "scaleOf": None if sampler.scale_of is None else [int(g) for g in sampler.scale_of]},
    }


# -- compose ------------------------------------------------------------------------------------------------
def _slider_cases() -> list[list[Any]]:
    rng = np.random.default_rng(1)
    values = [0.125, -0.125, 0.375, -0.375, 0.625, 0.875, 1.875, -3.125, 3.875, 2.675, 1.005, 0.005, -0.005,
              0.0049999, 0.015, 0.0, -0.0, -0.001, 1e-300, 4.0, 4.004, 4.006, -7.0, 3.999, -3.995, 2.5,
              float("nan"), float("inf"), float("-inf"), 0.1 + 0.2, 1.115, 1.125, 1.135]
    values += rng.uniform(-5, 5, 60).tolist() + rng.normal(0, 2, 40).astype(np.float32).tolist()
    values += np.round(rng.uniform(-4, 4, 30), 3).tolist()
    return [[v, lim, slider_value(v, lim)] for v in values for lim in (RAW_RANGE, PCA_RANGE, ATTR_RANGE)]


def _compose_inputs(layout: SliderLayout, rng: np.random.Generator, case: int) -> dict[str, Any]:
    z = layout.latent_dim
    base = (rng.normal(size=z) * 1.5).astype(np.float32)
    if case % 5 == 1:
        base = rng.normal(size=z) * 1.5  # float64: both sides round it to float32 first
    if case % 7 == 2:
        base[[s.dim for s in layout.raw[:2]]] = [6.2, -4.9]  # beyond the slider range: kept unless moved
    shown = layout.raw_values(base)[: len(layout.raw)]
    raw: list[Any] = list(shown)
    for i in rng.choice(len(raw), size=min(len(raw), int(rng.integers(0, 6))), replace=False):
        kind = int(rng.integers(0, 12))
        raw[i] = [round(float(rng.uniform(-4, 4)), 2), shown[i] + 0.002, shown[i] - 0.002, shown[i] + 0.003,
                  shown[i] + 0.0025, float("nan"), None, "abc", "1.5", float("inf"), 7.3, True][kind]
    if case % 6 == 3:
        raw = raw[: len(raw) // 2]  # fewer values than slots: the rest keep the base
    if case % 6 == 4:
        raw = raw + [1.0, 2.0]  # more values than slots: ignored
    pca: list[Any] = [0.0] * layout.n_pca
    for i in rng.choice(layout.n_pca, size=int(rng.integers(0, layout.n_pca + 1)), replace=False):
        pca[i] = [round(float(rng.uniform(-3, 3)), 2), float("nan"), None, "0.5", float("-inf"), -3.0][
            int(rng.integers(0, 6)) if rng.random() < 0.4 else 0]
    if case % 4 == 3:
        pca = pca + [2.0]  # beyond the layout's components: ignored
    targets: list[Any] = []
    strengths: list[Any] = []
    for slot in layout.attrs:
        v = slot.values[int(rng.integers(0, len(slot.values)))]
        targets.append([v, v, v, 99, None, "", str(v), v + 0.7, float("nan"), "x", f" {v} ", f"{v}.0", "0x1", True][
            int(rng.integers(0, 14))])
        strengths.append([round(float(rng.uniform(-2, 2)), 2), 0.0, float("nan"), None, "1.25", 2.0,
                          round(float(rng.uniform(-2, 2)), 2)][int(rng.integers(0, 7))])
    return {"base": base.tolist(), "raw": raw, "pca": pca, "targets": targets, "strengths": strengths}


def _compose_cases(layouts: dict[str, SliderLayout]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(2)
    cases = []
    for name, n in (("default", 36), ("fake", 24)):
        layout = layouts[name]
        for case in range(n):
            inp = _compose_inputs(layout, rng, case)
            if case == 0:  # nothing moved: exactly the base
                inp["raw"] = layout.raw_values(np.float32(inp["base"]))[: len(layout.raw)]
                inp["pca"], inp["strengths"] = [0.0] * layout.n_pca, [0.0] * len(layout.attrs)
            if case == 1:  # float64 values whose slider position differs from their float32's: the float32 counts
                dims = [slot.dim for slot in layout.raw[:3]]
                inp["base"] = [0.0] * layout.latent_dim
                for d, x in zip(dims, (1.23499999999, -0.6250000001, 2.0049999999)):
                    inp["base"][d] = x
                    assert slider_value(x, RAW_RANGE) != slider_value(float(np.float32(x)), RAW_RANGE)
                inp["raw"] = layout.raw_values(np.float32(inp["base"]))[: len(layout.raw)]
            out = layout.compose(np.asarray(inp["base"]), inp["raw"], inp["pca"], inp["targets"], inp["strengths"])
            cases.append({"layout": name, **inp, "expected": out.tolist(),
                          "rawValues": layout.raw_values(np.asarray(inp["base"]))[: len(layout.raw)]})
    return cases


# -- latent strings -----------------------------------------------------------------------------------------
def _outcome(fn, *args) -> dict[str, Any]:
    try:
        out = fn(*args)
    except LatentFormatError as e:
        return {"error": str(e), "kind": "LatentFormatError"}
    except ValueError as e:
        return {"error": str(e), "kind": "ValueError"}
    return {"ok": out.tolist() if isinstance(out, np.ndarray) else out}


def _format_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(3)
    t = 2.0 ** -11
    ties = [1 + t, 1 + 3 * t, -(1 + t), 2 + 2 * t, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -14 - 2.0 ** -25,
            1023.5 * 2.0 ** -24, 2049.0, 2051.0, -2049.0, 65504.0, -65504.0, 65503.9, 0.0, -0.0, 1e-8, 2.0 ** -24,
            1 + t + 2.0 ** -40, 1 + t - 2.0 ** -40, 2.0 ** -25 + 2.0 ** -60, 0.1, 1 / 3, 4095.5, 32768.0 + 16,
            float(np.float32(5.0e-5)), float(np.float32(-6.1e-5))]
    zs: list[tuple[list[float], str]] = [(ties, MODEL_ID), (ties[::-1], " 0123ABCDef9876543210 ")]
    zs += [((rng.normal(size=32) * 2).astype(np.float32).tolist(), MODEL_ID) for _ in range(4)]
    zs += [((rng.normal(size=256) * 3).astype(np.float32).tolist(), "fedcba98" + "0" * 56)]
    zs += [(rng.uniform(-2.0 ** -14, 2.0 ** -14, 40).tolist(), MODEL_ID)]  # subnormals, float64
    zs += [(np.float32(rng.uniform(-65504, 65504, 40)).tolist(), MODEL_ID)]
    zs += [([1.0], MODEL_ID), ([1.0, 2.0], MODEL_ID), ([1.0, 2.0, 3.0], MODEL_ID)]  # every base64 tail length
    bad: list[tuple[list[float], Any]] = [([], MODEL_ID), ([float("nan")], MODEL_ID), ([1.0, float("inf")], MODEL_ID),
                                          ([65504.5], MODEL_ID), ([-70000.0], MODEL_ID), ([1.0], "xyz"),
                                          ([1.0], "0123abc"), ([1.0], "0123abcg99")]
    return [{"z": z, "modelId": mid, **_outcome(latent_string.format_latent, np.asarray(z), mid)} for z, mid in zs + bad]


def _parse_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(4)
    z8 = (rng.normal(size=8) * 2).astype(np.float32)
    good = latent_string.format_latent(z8, MODEL_ID)
    payload = good.split(":")[2]

    def with_halves(bits: list[int]) -> str:
        import base64
        raw = np.array(bits, "<u2").tobytes()
        return f"cvae1:{MODEL_ID}:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    texts: list[tuple[Any, int, Any]] = [
        (good, 8, MODEL_ID), (good, 8, None), ("  " + good.upper().replace("CVAE1", "cvae1") + "\n", 8, MODEL_ID),
        ("CVAE1:" + good[6:], 8, MODEL_ID), (f"cvae1 : {MODEL_ID.upper()} : {payload} ", 8, MODEL_ID),
        (good, 8, "0123abcd" + "e" * 56), (good, 8, "deadbeef"), (good, 8, "DEADBEEF"), (good, 7, MODEL_ID),
        (good, 9, MODEL_ID), (good[:-1], 8, MODEL_ID), (good[:-2], 8, MODEL_ID), (good[:-3], 8, MODEL_ID),
        (good + "A", 8, MODEL_ID), (good + "AA", 8, MODEL_ID), (good[:-4] + "!!!!", 8, MODEL_ID),
        (good[:-4] + "ab=c", 8, MODEL_ID), (good[:-4] + "a+/b", 8, MODEL_ID), (good.replace("cvae1", "cvae2"), 8, None),
        ("cvae12:x:y", 8, None), ("CVAE7:" + good[6:], 8, None), ("foo:bar", 8, None), ("http://x", 8, None),
        (f"cvae1:{MODEL_ID}", 8, None), (f"cvae1:{MODEL_ID}:{payload}:x", 8, None), (f"cvae1:zz:{payload}", 8, None),
        (f"cvae1:0123abcd9:{payload}", 8, None), (f"cvae1:'it''s':{payload}", 8, None), (good, 8, "xyz"),
        (with_halves([0x7E00] + [0] * 7), 8, None), (with_halves([0x7C00] + [0] * 7), 8, None),
        (with_halves([0xFC00] + [0] * 7), 8, None),
        (with_halves([0x7BFF, 0xFBFF, 1, 0x8001, 0x3C00, 0, 0x8000, 0x3555]), 8, None),
        (f"cvae1:{MODEL_ID}:", 8, None), (f"cvae1:{MODEL_ID}:{payload}", 8, None),
        ("[1, 2, 3]", 3, None), ("(1 2 3)", 3, None), ("1,2,,3", 3, None), ("1 , 2\t3\n", 3, None),
        ("[1, 2, 3)", 3, None), ("1 2", 3, None), ("1, abc, 3", 3, None), ("abc def", 3, None), ("[]", 3, None),
        ("[", 3, None), ("()", 1, None), ("1e5, 0, 0", 3, None), ("nan, 1, 2", 3, None), ("inf 1 2", 3, None),
        ("-Infinity 1 2", 3, None), ("1_000, 2, 3", 3, None), ("1__0 2 3", 3, None), (".5 5. +5", 3, None),
        ("65504 -65504 0", 3, None), ("65504.1 0 0", 3, None), ("1e-50 -1e-50 3.4e38", 3, None), ("1e400 0 0", 3, None),
        ("0x10 1 2", 3, None), ("1,2,3,", 3, None), (",1,2,3", 3, None), ("1;2;3", 3, None), ("   ", 3, None),
        ("", 3, None), ("x" * 64_001, 3, None), ("1 " * 32_000, 32_000, None), ("'quoted' 1 2", 3, None),
        ('it\'s "x" 1', 3, None), ("0.1 0.2 0.30000000000000004", 3, None), ("1e-46 1.4e-45 16777217", 3, None),
        ("\u00a01 2 3\u3000", 3, None), ("1\u20032\u20283", 3, None), (good, 0, None), (42, 3, None),
    ]
    return [{"text": text, "latentDim": dim, "modelId": mid, **_outcome(latent_string.parse_latent, text, dim, mid)}
            for text, dim, mid in texts]


# -- random faces ------------------------------------------------------------------------------------------
def _numpy_draw(sampler: LatentSampler, u: float, eps: np.ndarray, t: float) -> tuple[int, np.ndarray]:
    """LatentSampler.sample's arithmetic for a given uniform u and normals eps (numpy's choice: searchsorted of the
    normalised cumulative weights, side="right")."""
    p = sampler.weights / sampler.weights.sum()
    cdf = p.cumsum()
    cdf /= cdf[-1]
    k = int(cdf.searchsorted(u, side="right"))
    if sampler.covariance_type == "diag":
        noise = sampler.scales[k] * eps
    elif sampler.covariance_type == "tied":
        noise = np.einsum("ij,j->i", sampler.scales, eps)
    elif sampler.covariance_type == "grouped":
        noise = np.einsum("ij,j->i", sampler.scales[sampler.scale_of[k]], eps)
    else:
        noise = np.einsum("ij,j->i", sampler.scales[k], eps)
    return k, (sampler.means[k] + float(t) * noise).astype(np.float32)


def _mixture_cases(samplers: dict[str, LatentSampler]) -> list[dict[str, Any]]:
    cases = []
    for name, sampler in samplers.items():
        for seed, t in [(0, 1.0), (1, 0.7), (2, 0.0), (3, 2.5), (4, 1.0), (123456, 1.3)]:
            expected = sampler.sample(1, seed=seed, temperature=t)[0]
            # The draws sample() made: numpy's choice takes one uniform, then the normals follow.
            rng = np.random.default_rng(seed)
            u = float(rng.random())
            eps = rng.standard_normal((1, sampler.latent_dim))[0]
            k, mine = _numpy_draw(sampler, u, eps, t)
            assert np.allclose(mine, expected, rtol=1e-6, atol=1e-6), \
                "LatentSampler.sample no longer draws one uniform then the normals: rebuild this fixture"
            cases.append({"layout": name, "source": f"LatentSampler.sample seed {seed}", "u": u, "eps": eps.tolist(),
                          "temperature": t, "component": k, "expected": expected.tolist()})
        p = sampler.weights / sampler.weights.sum()
        cdf = p.cumsum() / p.cumsum()[-1]
        rng = np.random.default_rng(5)
        for u in [0.0, float(np.nextafter(1.0, 0.0)), *cdf[:-1].tolist(), *(np.nextafter(cdf[:-1], 0.0)).tolist()]:
            eps = rng.standard_normal(sampler.latent_dim)
            k, z = _numpy_draw(sampler, u, eps, 0.9)
            cases.append({"layout": name, "source": "boundary", "u": u, "eps": eps.tolist(), "temperature": 0.9,
                          "component": k, "expected": z.tolist()})
    return cases


# -- interpolation -----------------------------------------------------------------------------------------
def _interp_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(6)
    a = rng.normal(size=8)
    b = rng.normal(size=8)
    unit = a / np.linalg.norm(a)
    pairs = [("random", a, b), ("equal norms", unit * 3, b / np.linalg.norm(b) * 3), ("parallel", a, 2.5 * a),
             ("antiparallel", a, -2.0 * a), ("antiparallel equal", a, -a), ("zero start", np.zeros(8), b),
             ("zero end", a, np.zeros(8)), ("one dim antiparallel", np.array([2.0]), np.array([-3.0])),
             ("one dim", np.array([2.0]), np.array([3.0])), ("float32 latents", a.astype(np.float32) * 4,
                                                               b.astype(np.float32)),
             ("wide", rng.normal(size=256), rng.normal(size=256)), ("nearly parallel", a, a + 1e-9),
             ("axis antiparallel", np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0, 0.0]))]
    cases = []
    for name, x, y in pairs:
        ts = np.linspace(0.0, 1.0, 7)
        cases.append({"name": name, "a": np.asarray(x, np.float64).tolist(), "b": np.asarray(y, np.float64).tolist(),
                      "ts": ts.tolist(), "lerp": latent_ops.lerp(x, y, 7).tolist(),
                      "slerp": latent_ops.slerp(x, y, 7).tolist()})
    return cases


# -- decoder output → pixels ----------------------------------------------------------------------------------
def _rgba_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    r = 8
    # Values whose float32 product with 255 ends in exactly .5: torch's round() sends them to the even byte.
    ties = [v for v in (np.float32(k + 0.5) / np.float32(255) for k in range(255))
            if float(np.float32(v) * np.float32(255)) % 1 == 0.5]
    near = [np.nextafter(np.float32(v), np.float32(2)) for v in ties[:20]]
    edges = [0, 1, -0.0, -1e-9, 1 + 1e-7, 2, -3]
    values = np.concatenate([np.array(ties + near, np.float32), np.array(edges, np.float32)])
    chw = np.concatenate([values, rng.uniform(-0.2, 1.2, 3 * r * r).astype(np.float32)])[: 3 * r * r]
    rng.shuffle(chw)
    pixels = to_uint8(torch.from_numpy(chw.reshape(1, 3, r, r)))[0]
    rgba = np.concatenate([pixels, np.full((r, r, 1), 255, np.uint8)], axis=2)
    return [{"resolution": r, "chw": chw.tolist(), "rgba": rgba.reshape(-1).tolist(), "ties": len(ties)}]


def _ort_case(explorer) -> dict[str, Any]:
    """The real onnxruntime-web (fetched by vae_core.web.ort_runtime) on the default's exported decoder, against the
    torch decoder's pixels; {"skip": reason} where the runtime or the exported decoder is not on this machine."""
    from vae_core.errors import CheckpointError
    from vae_core.web import decoder_export, ort_runtime

    runtime = ort_runtime.find_runtime()
    if runtime is None:
        return {"skip": "onnxruntime-web is not fetched here (python -m vae_core fetch-web-runtime)"}
    path = decoder_export.decoder_path(explorer.path, explorer.checkpoint.fingerprint)
    try:
        decoder_export.check_decoder(path, explorer.latent_dim, explorer.resolution)
    except CheckpointError as e:
        return {"skip": f"the default checkpoint's ONNX decoder is not exported here ({e})"}
    latents = np.concatenate([np.zeros((1, explorer.latent_dim), np.float32), build_layout(explorer).mean[None],
                              explorer.sample(3, seed=5, temperature=1.0)]).astype(np.float32)
    pixels = explorer.decode(latents)
    rgba = np.concatenate([pixels, np.full(pixels.shape[:3] + (1,), 255, np.uint8)], axis=3)
    return {"runtime": str(runtime) + "/", "decoder": str(path), "latentDim": explorer.latent_dim,
            "resolution": explorer.resolution, "latents": latents.tolist(),
            "rgba": [r.reshape(-1).tolist() for r in rgba]}


def build_fixtures(explorer) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    default = build_layout(explorer)
    fake = _fake_layout(rng)
    fake_sampler = _fake_sampler(rng, fake.latent_dim, k=11)
    tied_sampler = _fake_kernel_density(rng, fake.latent_dim, k=9)
    grouped_sampler = _fake_blend(fake_sampler, tied_sampler)
    docs = {"default": (default, explorer.sampler,
                        page_layout(default, explorer.sampler, resolution=explorer.resolution, title="default",
                                    synthetic=explorer.is_synthetic)),
            "fake": (fake, fake_sampler, page_layout(fake, fake_sampler, resolution=8, title="fake", synthetic=True)),
            "tied": (fake, tied_sampler, page_layout(fake, tied_sampler, resolution=8, title="tied", synthetic=True)),
            "grouped": (fake, grouped_sampler,
                        page_layout(fake, grouped_sampler, resolution=8, title="grouped", synthetic=True)),
            "prior": (fake, None, page_layout(fake, None, resolution=8, title="", synthetic=False))}
    assert docs["default"][1] is not None, "the shipped default has no fitted sampler: fixtures need one"
    return {
        "layouts": {name: doc for name, (_, _, doc) in docs.items()},
        "layoutExpect": {name: _layout_expect(layout, sampler, doc) for name, (layout, sampler, doc) in docs.items()},
        "sliderValues": _slider_cases(),
        "compose": _compose_cases({"default": default, "fake": fake}),
        "formatLatent": _format_cases(),
        "parseLatent": _parse_cases(),
        "mixture": _mixture_cases({"default": docs["default"][1], "fake": fake_sampler, "tied": tied_sampler,
                                  "grouped": grouped_sampler}),
        "interpolate": _interp_cases(),
        "rgba": _rgba_cases(),
        "ort": _ort_case(explorer),
        "maxTemperature": MAX_TEMPERATURE,
    }


# -- the tests -------------------------------------------------------------------------------------------------
def _js_files() -> list[Path]:
    return sorted(p for d in JS_DIRS if d.is_dir() for p in d.rglob("*") if p.suffix in (".js", ".mjs"))


@needs_node
def test_every_page_script_parses():
    files = _js_files()
    assert any(p.parent == JS_DIRS[0] for p in files), "vae_core/web/static holds no .js modules"
    # node --check takes one file; the checks run side by side (a node start is most of each one's time).
    running = [(path, subprocess.Popen([NODE, "--check", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)) for path in files]
    problems = []
    for path, proc in running:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            problems.append(f"{path.relative_to(ROOT)}:\n{err.strip()}")
    assert not problems, "node --check failed:\n\n" + "\n\n".join(problems)


@needs_node
def test_page_modules_match_python(tmp_path, default_explorer):
    fixtures = tmp_path / "fixtures.json"
    data = build_fixtures(default_explorer)
    fixtures.write_text(json.dumps(_enc(data), allow_nan=False))
    env = {**os.environ, "CVAE_JS_FIXTURES": str(fixtures)}
    done = subprocess.run([NODE, "--test", "--test-reporter=tap", str(ROOT / "tests" / "js")], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"node --test failed:\n{out[-20000:]}"
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", out, re.M)}
    # One skip is allowed: the real-runtime decoder test, where onnxruntime-web or the exported decoder is missing.
    allowed_skips = 1 if "skip" in data["ort"] else 0
    assert counts.get("fail", 1) == 0 and counts.get("cancelled", 1) == 0, out[-5000:]
    assert counts.get("skipped", 1) == allowed_skips, f"unexpected skips:\n{out[-5000:]}"
    assert counts.get("pass", 0) >= 30, f"only {counts.get('pass', 0)} JavaScript tests ran:\n{out[-5000:]}"
