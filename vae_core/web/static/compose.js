// Slider values → the latent they show: vae_core/slider_layout.py SliderLayout.compose, in the page.
//
// Why: composing in the page is what lets a slider move skip the server. The arithmetic must be the server's, so
// that the page and the server (its fallback decoding, "Copy latent") show the same face for the same positions;
// tests/test_page_js.py checks this module against SliderLayout.compose on the same inputs.
//
// Exports:
//   sliderValue(v, limit) -> number     = python round(min(limit, max(-limit, v)), 2), bit for bit (half-to-even
//                                         on the exact binary value; NaN → -limit like Python's max/min)
//   rawValues(layout, z) -> number[]    the raw slots' positions showing z (SliderLayout.raw_values, one per slot)
//   compose(layout, base, raw, pca, targets, strengths) -> Float32Array[Z]   = SliderLayout.compose
//
// Inputs are read like Python reads them (pynumber.js): a slider value that is not a finite number (NaN, null,
// "abc") counts as 0, a numeric string counts as its number; a target is a whole number (or its text), and an
// unknown or empty target is ignored. Sums run in float64 and round to float32 once at the end (Python rounds to
// float32 after each step: the two agree to ~1e-7 relative).

import {pyFinite, pyInt} from "./pynumber.js";

/** Python's ``round(min(limit, max(-limit, v)), 2)`` for a number v: the slider position showing the value v. */
export function sliderValue(v, limit) {
  if (typeof v !== "number" || typeof limit !== "number") throw new TypeError("sliderValue takes numbers");
  // Python's max/min keep the first argument unless the other compares greater/smaller: NaN gives -limit.
  const lo = v > -limit ? v : -limit;
  const x = lo < limit ? lo : limit;
  if (x === 0 || !Number.isFinite(x)) return x;
  const eighths = x * 8;  // exact: a power-of-two scale
  if (Number.isInteger(eighths) && eighths % 2 !== 0) {
    // An odd multiple of 1/8 is an exact tie at two decimals (100·x ends in .5): Python picks the even
    // hundredth, toFixed would pick the one away from zero.
    const q = 25 * eighths;  // 100·x = q/2, q odd
    const down = (q - 1) / 2;
    const n = down % 2 === 0 ? down : down + 1;
    return n / 100;
  }
  // toFixed rounds the exact binary value correctly (no tie here); Number() then picks the nearest double to the
  // decimal, as Python's round does. "-0.00" gives -0, as Python's round(-0.001, 2) does.
  return Number(x.toFixed(2));
}

/** Slider positions showing latent z: its raw dims, clipped to the range and rounded to the step (one per slot). */
export function rawValues(layout, z) {
  return layout.raw.map((slot) => sliderValue(Number(z[slot.dim]), layout.ranges.raw));
}

function asList(values) {
  return values === null || values === undefined ? [] : Array.from(values);
}

/** The latent [Z] the sliders show on top of `base` [Z] (a Float32Array or numbers): raw slots *set* their dim
 * where moved away from the position showing the base value (by more than a quarter step, so a pasted latent
 * survives the sliders' range and rounding exactly); PCA slots add coefficient·std·component; attribute slots add
 * strength·direction of their target value. `raw`, `pca`, `targets`, `strengths` are lists (extra entries beyond the
 * layout's slots are ignored, missing ones leave their slot alone). */
export function compose(layout, base, raw, pca, targets, strengths) {
  const Z = layout.latentDim;
  if (!base || base.length !== Z) {
    throw new Error(`the base latent has ${base ? base.length : 0} dims, the model ${Z}`);
  }
  const z = new Float64Array(Z);
  for (let i = 0; i < Z; i++) z[i] = Math.fround(Number(base[i]));  // Python copies base as float32

  const rawList = asList(raw);
  const quarterStep = layout.ranges.step / 4;
  const nRaw = Math.min(layout.raw.length, rawList.length);
  for (let i = 0; i < nRaw; i++) {
    const dim = layout.raw[i].dim;
    const v = pyFinite(rawList[i]);
    if (Math.abs(v - sliderValue(z[dim], layout.ranges.raw)) > quarterStep) z[dim] = Math.fround(v);
  }

  const coeffs = asList(pca).slice(0, layout.pca.k).map((c) => Math.fround(pyFinite(c)));
  const comps = layout.pca.components;
  coeffs.forEach((c, i) => {
    if (c === 0) return;
    const w = Math.fround(c * layout.pca.stds[i]);  // float32 coeffs · float32 stds, as numpy does
    const row = i * Z;
    for (let j = 0; j < Z; j++) z[j] += w * comps[row + j];
  });

  const targetList = asList(targets);
  const strengthList = asList(strengths);
  const nAttr = Math.min(layout.attrs.length, targetList.length, strengthList.length);
  for (let i = 0; i < nAttr; i++) {
    const s = pyFinite(strengthList[i]);
    const value = targetList[i];
    if (s === 0 || value === null || value === undefined || value === "") continue;
    const target = pyInt(value);
    const slot = layout.attrs[i];
    const index = target === null ? -1 : slot.values.indexOf(target);
    if (index < 0) continue;
    const row = index * Z;
    for (let j = 0; j < Z; j++) z[j] += s * slot.directions[row + j];
  }
  return Float32Array.from(z);
}
