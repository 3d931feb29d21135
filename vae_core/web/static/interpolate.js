// One point between two latents: vae_core/latent.py lerp and slerp at a single t, in the page.
//
// Why: a page that morphs between two faces computes each frame's latent itself (an interpolation slider, an
// animation) instead of asking the server for a whole path. Python's functions return `steps` points at
// t = linspace(0, 1, steps); these return the point at one t, with the same formulas and edge cases.
//
// Exports:
//   lerp(a, b, t) -> Float32Array   (1 − t)·a + t·b; exactly a at t = 0 and b at t = 1
//   slerp(a, b, t) -> Float32Array  the direction moves along the great circle from a to b and the norm linearly
//                                   (White 2016). A zero endpoint (norm < 1e-12) or (nearly) parallel directions
//                                   (angle < 1e-6): lerp. Antiparallel (angle > π − 1e-6): through a fixed
//                                   perpendicular, the basis axis least aligned with a made orthogonal to it
//                                   (one dim: lerp). Exactly a at t = 0 and b at t = 1.
// a, b: Float32Array or numbers of the same length; t: a number in [0, 1]. Arithmetic in float64, result float32.

function pair(a, b, t) {
  if (!a || !b || a.length !== b.length) {
    throw new Error(`endpoints must have the same size, got ${a ? a.length : 0} and ${b ? b.length : 0}`);
  }
  if (typeof t !== "number" || !(t >= 0 && t <= 1)) throw new Error(`t must be a number in [0, 1], got ${t}`);
  return [Float64Array.from(a, Number), Float64Array.from(b, Number)];
}

function lerp64(x, y, t) {
  if (t === 0) return Float32Array.from(x);
  if (t === 1) return Float32Array.from(y);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (1 - t) * x[i] + t * y[i];
  return out;
}

/** Straight line from a to b at t ∈ [0, 1]. */
export function lerp(a, b, t) {
  const [x, y] = pair(a, b, t);
  return lerp64(x, y, t);
}

function norm(x) {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Spherical interpolation from a to b at t ∈ [0, 1] (see the top of this file for the degenerate cases). */
export function slerp(a, b, t) {
  const [x, y] = pair(a, b, t);
  const n0 = norm(x);
  const n1 = norm(y);
  if (n0 < 1e-12 || n1 < 1e-12) return lerp64(x, y, t);
  if (t === 0) return Float32Array.from(x);
  if (t === 1) return Float32Array.from(y);
  const u0 = x.map((v) => v / n0);
  const u1 = y.map((v) => v / n1);
  let dot = 0;
  for (let i = 0; i < u0.length; i++) dot += u0[i] * u1[i];
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  const length = (1 - t) * n0 + t * n1;
  if (omega < 1e-6) return lerp64(x, y, t);
  const out = new Float32Array(x.length);
  if (Math.PI - omega < 1e-6) {
    if (x.length === 1) return lerp64(x, y, t);
    // The great circle through u0 and −u0 is not unique: turn towards the basis axis least aligned with u0 (the
    // first such axis, like numpy's argmin), made orthogonal to u0.
    let axis = 0;
    for (let i = 1; i < u0.length; i++) if (Math.abs(u0[i]) < Math.abs(u0[axis])) axis = i;
    const p = u0.map((v, i) => (i === axis ? 1 : 0) - u0[axis] * v);
    const pn = norm(p);
    const c = Math.cos(t * Math.PI);
    const s = Math.sin(t * Math.PI);
    for (let i = 0; i < x.length; i++) out[i] = (c * u0[i] + s * (p[i] / pn)) * length;
    return out;
  }
  const s0 = Math.sin((1 - t) * omega);
  const s1 = Math.sin(t * omega);
  const so = Math.sin(omega);
  for (let i = 0; i < x.length; i++) out[i] = ((s0 * u0[i] + s1 * u1[i]) / so) * length;
  return out;
}
