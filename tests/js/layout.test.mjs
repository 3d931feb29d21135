// vae_core/web/static/layout.js against the page layouts vae_core/web/page_layout.py writes (the shipped default
// checkpoint's, a hand-made one with a diagonal mixture, the same without a sampler), and its refusals.

import assert from "node:assert/strict";
import {test} from "node:test";

import {assertClose, fixtures, staticModule} from "./support.mjs";

const {decodeF32, parseLayout, FORMAT, VERSION} = await import(staticModule("layout.js"));

function f32doc(values, shape) {
  return {shape, f32: Buffer.from(new Float32Array(values).buffer).toString("base64")};
}

function checkSummary(array, summary, what) {
  assert.ok(array instanceof Float32Array, `${what} is a Float32Array`);
  assert.equal(array.length, summary.length, `${what}: length`);
  let sum = 0;
  let sumsq = 0;
  for (const v of array) { sum += v; sumsq += v * v; }
  const rel = 1e-9 * Math.max(1, summary.sumsq);
  assertClose([sum, sumsq], [summary.sum, summary.sumsq], `${what}: sum, sum of squares`, rel);
  for (const [i, v] of summary.samples) assert.equal(array[i], v, `${what}[${i}]`);
}

test("parseLayout reads every fixture layout as the Python objects hold it", () => {
  const {layouts, layoutExpect} = fixtures();
  assert.deepEqual(Object.keys(layouts).sort(), ["default", "fake", "grouped", "prior", "tied"]);
  for (const [name, doc] of Object.entries(layouts)) {
    const got = parseLayout(doc);
    const want = layoutExpect[name];
    for (const key of ["modelId", "latentDim", "resolution", "title", "synthetic", "ranges", "raw"]) {
      assert.deepEqual(got[key], want[key], `${name}.${key}`);
    }
    checkSummary(got.mean, want.mean, `${name}.mean`);
    assert.equal(got.pca.k, want.pca.k);
    assert.deepEqual(got.pca.stds, want.pca.stds);
    assert.deepEqual(got.pca.ratios, want.pca.ratios);
    checkSummary(got.pca.components, want.pca.components, `${name}.pca.components`);
    assert.equal(got.attrs.length, want.attrs.length);
    got.attrs.forEach((a, i) => {
      const w = want.attrs[i];
      for (const key of ["name", "title", "values", "names", "counts"]) {
        assert.deepEqual(a[key], w[key], `${name}.attrs[${i}].${key}`);
      }
      assert.ok(a.defaultTarget === null || a.values.includes(a.defaultTarget));
      checkSummary(a.directions, w.directions, `${name}.attrs[${i}].directions`);
    });
    if (want.sampler === null) {
      assert.equal(got.sampler, null, `${name}.sampler`);
    } else {
      for (const key of ["covarianceType", "describe", "k", "weights", "scaleOf"]) {
        assert.deepEqual(got.sampler[key], want.sampler[key], `${name}.sampler.${key}`);
      }
      checkSummary(got.sampler.means, want.sampler.means, `${name}.sampler.means`);
      checkSummary(got.sampler.scales, want.sampler.scales, `${name}.sampler.scales`);
    }
  }
  assert.equal(parseLayout(layouts.fake).sampler.covarianceType, "diag");
  assert.equal(parseLayout(layouts.fake).sampler.scaleOf, null);
  const grouped = parseLayout(layouts.grouped).sampler;
  assert.equal(grouped.covarianceType, "grouped");
  assert.equal(grouped.scales.length, 12 * 6 * 6, "11 mixture factors and the kernels' one");
});

test("the hand-made layout's default targets skip the 'no …' values", () => {
  const got = parseLayout(fixtures().layouts.fake);
  assert.deepEqual(got.attrs.map((a) => a.defaultTarget), [1, 0]);
});

test("decodeF32 reads little-endian float32 and checks the length against the shape", () => {
  const values = [1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45, -0, 0.1];
  const got = decodeF32(f32doc(values, [2, 3]));
  assert.deepEqual(Array.from(got), values.map(Math.fround));
  assert.equal(decodeF32(f32doc([], [0, 4])).length, 0);
  assert.throws(() => decodeF32(f32doc(values, [7])), /f32 holds 24 bytes but shape \[7\] needs 28/);
  assert.throws(() => decodeF32(f32doc(values, [2, 3.5])), /shape\[1\] must be a whole number/);
  assert.throws(() => decodeF32(f32doc(values, [-6])), /shape\[0\] must be a whole number >= 0/);
  assert.throws(() => decodeF32({shape: [1], f32: "***"}, "mean"), /mean\.f32 is not base64/);
  assert.throws(() => decodeF32({shape: [1]}, "mean"), /mean\.f32 must be text/);
  assert.throws(() => decodeF32({f32: ""}, "mean"), /mean\.shape must be a list/);
  assert.throws(() => decodeF32(null, "mean"), /mean must be an object/);
});

test("parseLayout refuses a damaged or foreign document, naming the field", () => {
  const good = fixtures().layouts.fake;
  const z = good.latent_dim;
  const bad = [
    [(d) => { d.format = "something"; }, /format must be "cvae-page-layout"/],
    [(d) => { d.version = 2; }, /version must be 1/],
    [(d) => { d.model_id = "XYZ"; }, /model_id must be 8 lower-case hex digits/],
    [(d) => { d.latent_dim = 0; }, /latent_dim must be a whole number >= 1/],
    [(d) => { d.resolution = "64"; }, /resolution must be a whole number/],
    [(d) => { d.title = 3; }, /title must be text/],
    [(d) => { d.synthetic = "no"; }, /synthetic must be true or false/],
    [(d) => { d.ranges.step = 0; }, /ranges\.step must be positive/],
    [(d) => { delete d.ranges.pca; }, /ranges\.pca must be a finite number/],
    [(d) => { d.mean = f32doc(new Array(z - 1).fill(0), [z - 1]); }, /mean\.shape must be \[6\], got \[5\]/],
    [(d) => { d.mean.f32 = d.mean.f32.slice(0, 8); }, /mean\.f32 holds 6 bytes but shape \[6\] needs 24/],
    [(d) => { d.mean = f32doc([0, 0, NaN, 0, 0, 0], [z]); }, /mean holds a non-finite number at index 2/],
    [(d) => { d.raw[1].dim = z; }, /raw\[1\]\.dim must be below latent_dim 6, got 6/],
    [(d) => { d.raw[0].active = "yes"; }, /raw\[0\]\.active must be true or false/],
    [(d) => { d.raw = {}; }, /raw must be a list/],
    [(d) => { d.pca.ratios.pop(); }, /pca\.ratios must have 3 entries, got 2/],
    [(d) => { d.pca.stds.push(1); }, /pca\.ratios must have 4 entries|pca\.components\.shape/],
    [(d) => { d.pca.components = f32doc(new Array(3 * z).fill(0), [z, 3]); },
     /pca\.components\.shape must be \[3, 6\]/],
    [(d) => { d.attrs[1].names.pop(); }, /attrs\[1\]\.names must have 3 entries, got 2/],
    [(d) => { d.attrs[1].values = [0, 2, 2]; }, /attrs\[1\]\.values must not repeat/],
    [(d) => { d.attrs[0].default_target = 7; },
     /attrs\[0\]\.default_target must be null or one of the values \[0, 1\]/],
    [(d) => { d.attrs[0].counts[1] = -1; }, /attrs\[0\]\.counts\[1\] must be a whole number >= 0/],
    [(d) => { d.attrs[1].directions = f32doc(new Array(2 * z).fill(0), [2, z]); },
     /attrs\[1\]\.directions\.shape must be \[3, 6\]/],
    [(d) => { delete d.sampler; }, /sampler is missing/],
    [(d) => { d.sampler.covariance_type = "spherical"; },
     /sampler\.covariance_type must be "diag", "full", "tied" or "grouped"/],
    [(d) => { d.sampler.covariance_type = "grouped"; }, /sampler\.scale_of must be a list/],
    [(d) => { d.sampler.covariance_type = "grouped"; d.sampler.scale_of = new Array(11).fill(0); },
     /sampler\.scales\.shape must be \[11, 6, 6\]/],
    [(d) => { d.sampler.weights = []; }, /sampler\.weights must not be empty/],
    [(d) => { d.sampler.weights[0] = -0.5; }, /sampler\.weights must be >= 0/],
    [(d) => { d.sampler.scales = f32doc(new Array(11 * z * z).fill(0), [11, z, z]); },
     /sampler\.scales\.shape must be \[11, 6\]/],
    [(d) => { d.sampler.covariance_type = "full"; }, /sampler\.scales\.shape must be \[11, 6, 6\]/],
    [(d) => { d.sampler.means.shape = [11, z + 1]; }, /sampler\.means\.f32 holds/],
  ];
  for (const [mutate, message] of bad) {
    const doc = structuredClone(good);
    mutate(doc);
    assert.throws(() => parseLayout(doc), (e) => e instanceof Error && message.test(e.message) &&
                  e.message.startsWith("the page layout is invalid: "), `expected ${message}`);
  }
  const grouped = structuredClone(fixtures().layouts.grouped);
  grouped.sampler.scale_of[3] = 12;
  assert.throws(() => parseLayout(grouped), /sampler\.scale_of\[3\] must be below the 12 factors in sampler\.scales/);
  grouped.sampler.scale_of[3] = -1;
  assert.throws(() => parseLayout(grouped), /sampler\.scale_of\[3\] must be a whole number >= 0/);
  assert.throws(() => parseLayout(null), /the document must be an object/);
  assert.throws(() => parseLayout([]), /the document must be an object/);
  assert.equal(FORMAT, "cvae-page-layout");
  assert.equal(VERSION, 1);
});
