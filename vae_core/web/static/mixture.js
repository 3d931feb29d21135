// Random faces in the page: a draw from the checkpoint's fitted Gaussian mixture (vae_core/sampling/mixture.py
// LatentSampler.sample), or from the N(0, T²·I) prior where the checkpoint has none.
//
// Why: "Random face" on the static page has no server. Given the same component draw u and the same standard
// normals eps, drawMixture computes exactly what LatentSampler.sample computes (tests/test_page_js.py checks it on
// draws taken from the real sampler). The random numbers themselves come from a small seeded generator, not numpy's
// PCG64: a seed gives the same face on every visit of the page, not the server's face for that seed.
//
// Exports:
//   MAX_TEMPERATURE = 2  (vae_core.sampling.MAX_TEMPERATURE; a test keeps them equal)
//   checkTemperature(t) -> number       t must be a finite number in [0, 3] (ui/generate/latents.py
//                                       check_temperature); throws Error with the same message otherwise
//   createRng(seed) -> {uniform() in [0, 1), normal() ~ N(0, 1), uint32()}
//                                       sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state,
//                                       passes PractRand) seeded from a whole number 0 ≤ seed < 2^53; 53-bit
//                                       uniforms; normals by Box–Muller, the second of each pair cached
//   pickComponent(weights, u) -> k      the first k whose cumulative normalised weight is > u (numpy's
//                                       Generator.choice with p: cumsum, divided by its last entry, searchsorted
//                                       side="right"; the weights' sum is numpy's pairwise sum, bit for bit)
//   drawMixture(sampler, u, eps, temperature) -> Float32Array[Z]
//                                       means[k] + T·(scales[k]∘eps) (diag), means[k] + T·L[k]·eps (full) or
//                                       means[k] + T·L·eps (tied: one L for every component, the kernel density)
//                                       or means[k] + T·L[scaleOf[k]]·eps (grouped: kernels and a mixture blended)
//   sampleFace(layout, rng, temperature) -> Float32Array[Z]
//                                       one random face: rng.uniform() picks the component, then Z rng.normal()s

export const MAX_TEMPERATURE = 2;

function show(v) {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v);
  if (v === null || v === undefined) return "None";
  if (typeof v === "number" && Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return String(v);
}

/** The temperature as ui/generate/latents.py check_temperature accepts it: a finite number in [0, MAX_TEMPERATURE]. */
export function checkTemperature(t) {
  if (typeof t !== "number") throw new Error(`the temperature must be a number, got ${show(t)}`);
  if (!Number.isFinite(t)) throw new Error(`the temperature must be a finite number, got ${show(t)}`);
  if (t < 0 || t > MAX_TEMPERATURE) {
    throw new Error(`the temperature must be between 0 and ${MAX_TEMPERATURE}, got ${show(t)}`);
  }
  return t;
}

/** A deterministic generator from a whole-number seed (sfc32; see the top of this file). */
export function createRng(seed) {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`the seed must be a whole number >= 0, got ${show(seed)}`);
  }
  let a = 0x9e3779b9 | 0;  // the golden-ratio constant keeps the all-zero seed's state from starting at zero
  let b = seed | 0;
  let c = Math.floor(seed / 2 ** 32) | 0;
  let d = 1;
  let spare = null;

  function uint32() {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  }
  for (let i = 0; i < 15; i++) uint32();  // mix the seed into all of the state before the first output

  function uniform() {
    return ((uint32() >>> 5) * 67108864 + (uint32() >>> 6)) / 9007199254740992;  // 27 + 26 bits / 2^53
  }

  function normal() {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));  // 1 - u is in (0, 1]: log never sees 0
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  return {uniform, normal, uint32};
}

/** numpy's pairwise summation of doubles (np.sum of a float64 array), so that the normalised weights are numpy's. */
function pairwiseSum(x, start, n) {
  if (n < 8) {
    let res = -0;
    for (let i = 0; i < n; i++) res += x[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [];
    for (let j = 0; j < 8; j++) r.push(x[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += x[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += x[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(x, start, n2) + pairwiseSum(x, start + n2, n - n2);
}

/** The mixture component a uniform u ∈ [0, 1) picks, as numpy's rng.choice(K, p=weights / weights.sum()). */
export function pickComponent(weights, u) {
  if (typeof u !== "number" || !(u >= 0 && u < 1)) throw new Error(`u must be a number in [0, 1), got ${show(u)}`);
  const total = pairwiseSum(weights, 0, weights.length);
  const cdf = [];
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] / total;
    cdf.push(acc);
  }
  const last = cdf[cdf.length - 1];
  for (let k = 0; k < cdf.length; k++) if (cdf[k] / last > u) return k;
  return cdf.length - 1;  // unreachable: the last entry is 1 > u
}

/** One draw from a parsed layout's sampler (layout.js) given the component draw u ∈ [0, 1), Z standard normals eps
 * and the temperature T ≥ 0: means[k] + T·noise, as LatentSampler.sample computes it (float64, then float32). */
export function drawMixture(sampler, u, eps, temperature) {
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new Error(`temperature must be finite and >= 0, got ${show(temperature)}`);
  }
  const K = sampler.weights.length;
  const Z = sampler.means.length / K;
  if (!eps || eps.length !== Z) throw new Error(`eps must hold ${Z} numbers, got ${eps ? eps.length : 0}`);
  const k = pickComponent(sampler.weights, u);
  const out = new Float32Array(Z);
  const mean = k * Z;
  if (sampler.covarianceType === "diag") {
    for (let i = 0; i < Z; i++) out[i] = sampler.means[mean + i] + temperature * (sampler.scales[mean + i] * eps[i]);
  } else {
    const L = sampler.scales;
    const factor = sampler.covarianceType === "tied" ? 0 : sampler.covarianceType === "grouped" ? sampler.scaleOf[k] : k;
    const base = factor * Z * Z;
    for (let i = 0; i < Z; i++) {
      const row = base + i * Z;
      let noise = 0;
      for (let j = 0; j < Z; j++) noise += L[row + j] * eps[j];  // the whole row, as einsum does (upper part is 0)
      out[i] = sampler.means[mean + i] + temperature * noise;
    }
  }
  return out;
}

/** A random face [Z] of a parsed layout: from its fitted mixture, or N(0, T²·I) where layout.sampler is null. */
export function sampleFace(layout, rng, temperature) {
  const t = checkTemperature(temperature);
  const Z = layout.latentDim;
  if (layout.sampler === null) {
    const out = new Float32Array(Z);
    for (let i = 0; i < Z; i++) out[i] = rng.normal() * t;
    return out;
  }
  const u = rng.uniform();
  const eps = new Float64Array(Z);
  for (let i = 0; i < Z; i++) eps[i] = rng.normal();
  return drawMixture(layout.sampler, u, eps, t);
}
