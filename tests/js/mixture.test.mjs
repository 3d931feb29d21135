// vae_core/web/static/mixture.js: given the same component draw and normals, drawMixture computes what
// vae_core/sampling/mixture.py LatentSampler.sample computed (draws taken from the real sampler of the shipped
// default, a diagonal mixture of 11 components, a kernel density (tied covariance) of 9 and the two blended (grouped
// covariance), plus uniforms exactly on the component boundaries);
// the seeded generator is deterministic and has the right distribution.

import assert from "node:assert/strict";
import {test} from "node:test";

import {assertClose, fixtures, staticModule} from "./support.mjs";

const {checkTemperature, createRng, drawMixture, pickComponent, sampleFace, MAX_TEMPERATURE} =
  await import(staticModule("mixture.js"));
const {parseLayout} = await import(staticModule("layout.js"));

function layout(name) {
  return parseLayout(fixtures().layouts[name]);
}

test("drawMixture gives LatentSampler.sample's face for its component draw and normals", () => {
  const samplers = {default: layout("default").sampler, fake: layout("fake").sampler, tied: layout("tied").sampler,
                    grouped: layout("grouped").sampler};
  const cases = fixtures().mixture;
  assert.ok(cases.some((c) => c.layout === "default" && c.source.startsWith("LatentSampler")));
  assert.ok(cases.some((c) => c.layout === "fake" && c.source === "boundary"));
  assert.ok(cases.some((c) => c.layout === "tied" && c.source.startsWith("LatentSampler")));
  // the blend's draws reach both kinds of component: the mixture's own factors and the kernels' shared one
  const grouped = cases.filter((c) => c.layout === "grouped").map((c) => samplers.grouped.scaleOf[c.component]);
  assert.ok(grouped.some((g) => g < 11) && grouped.includes(11));
  for (const [i, c] of cases.entries()) {
    const sampler = samplers[c.layout];
    assert.equal(pickComponent(sampler.weights, c.u), c.component, `case ${i} (${c.source}, u = ${c.u}): component`);
    const z = drawMixture(sampler, c.u, c.eps, c.temperature);
    assert.ok(z instanceof Float32Array);
    assertClose(z, c.expected, `case ${i} (${c.layout}, ${c.source}, T = ${c.temperature})`);
    if (c.temperature === 0) {
      const Z = z.length;
      assert.deepEqual(Array.from(z), Array.from(sampler.means.subarray(c.component * Z, (c.component + 1) * Z)));
    }
  }
});

test("drawMixture checks its inputs", () => {
  const sampler = layout("fake").sampler;
  const eps = new Float64Array(6);
  assert.throws(() => drawMixture(sampler, 1, eps, 1), /u must be a number in \[0, 1\), got 1/);
  assert.throws(() => drawMixture(sampler, -0.1, eps, 1), /u must be a number in \[0, 1\)/);
  assert.throws(() => drawMixture(sampler, 0.5, new Float64Array(5), 1), /eps must hold 6 numbers, got 5/);
  assert.throws(() => drawMixture(sampler, 0.5, eps, -1), /temperature must be finite and >= 0/);
  assert.throws(() => drawMixture(sampler, 0.5, eps, NaN), /temperature must be finite and >= 0/);
});

test("checkTemperature accepts 0–MAX and refuses the rest with check_temperature's messages (the same range)", () => {
  const max = fixtures().maxTemperature;
  assert.equal(MAX_TEMPERATURE, max, "mixture.js and vae_core.sampler.MAX_TEMPERATURE disagree");
  for (const t of [0, 0.5, 1, max]) assert.equal(checkTemperature(t), t);
  assert.throws(() => checkTemperature(max + 0.01), new RegExp(`^Error: the temperature must be between 0 and ${max}, got ${max + 0.01}$`));
  assert.throws(() => checkTemperature(-0.5), new RegExp(`the temperature must be between 0 and ${max}, got -0.5`));
  assert.throws(() => checkTemperature(NaN), /the temperature must be a finite number, got nan/);
  assert.throws(() => checkTemperature(Infinity), /the temperature must be a finite number, got inf/);
  assert.throws(() => checkTemperature("1"), /the temperature must be a number, got "1"/);
  assert.throws(() => checkTemperature(null), /the temperature must be a number, got None/);
  assert.throws(() => checkTemperature(true), /the temperature must be a number, got true/);
});

test("createRng: the same seed gives the same numbers, other seeds others, within [0, 1)", () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const xs = Array.from({length: 1000}, () => a.uniform());
  assert.deepEqual(xs, Array.from({length: 1000}, () => b.uniform()));
  assert.notDeepEqual(xs, Array.from({length: 1000}, () => c.uniform()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size === 1000);
  const big = createRng(2 ** 40 + 5).uniform();
  assert.notEqual(big, createRng(5).uniform(), "the seed's high bits count");
  assert.equal(new Set([0, 1, 2, 3].map((s) => createRng(s).uniform())).size, 4);
  for (const bad of [-1, 1.5, NaN, "7", 2 ** 53]) {
    assert.throws(() => createRng(bad), /the seed must be a whole number >= 0/);
  }
});

test("createRng's uniforms and normals have the right moments", () => {
  const rng = createRng(7);
  const n = 200000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  let sn4 = 0;
  const bins = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    su += u;
    bins[Math.floor(u * 10)] += 1;
    const x = rng.normal();
    sn += x;
    sn2 += x * x;
    sn4 += x ** 4;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.003, `uniform mean ${su / n}`);
  assert.ok(bins.every((b) => Math.abs(b / n - 0.1) < 0.003), `uniform bins ${bins}`);
  assert.ok(Math.abs(sn / n) < 0.01, `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 0.015, `normal variance ${sn2 / n}`);
  assert.ok(Math.abs(sn4 / n - 3) < 0.1, `normal fourth moment ${sn4 / n}`);
});

test("sampleFace draws from the fitted mixture: components in proportion to the weights", () => {
  const fake = layout("fake");
  const {weights, means} = fake.sampler;
  const Z = fake.latentDim;
  const rng = createRng(11);
  const n = 20000;
  const counts = new Array(weights.length).fill(0);
  for (let i = 0; i < n; i++) {
    const z = sampleFace(fake, rng, 0);  // T = 0: exactly a component's mean, which tells the component
    const k = weights.findIndex((_, j) => z.every((v, d) => v === means[j * Z + d]));
    assert.ok(k >= 0, "a zero-temperature face is a component mean");
    counts[k] += 1;
  }
  weights.forEach((w, k) => {
    const sd = Math.sqrt(n * w * (1 - w));
    assert.ok(Math.abs(counts[k] - n * w) < 5 * sd + 1, `component ${k}: ${counts[k]} of ${n}, weight ${w}`);
  });
  const again = sampleFace(fake, createRng(3), 1.2);
  assert.deepEqual(again, sampleFace(fake, createRng(3), 1.2), "same seed, same face");
  assert.notDeepEqual(again, sampleFace(fake, createRng(4), 1.2));
  assert.throws(() => sampleFace(fake, createRng(3), 4), /the temperature must be between 0 and 2/);
});

test("sampleFace without a fitted mixture draws N(0, T²·I)", () => {
  const prior = layout("prior");
  assert.equal(prior.sampler, null);
  const rng = createRng(5);
  const n = 5000;
  const T = 0.7;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    for (const v of sampleFace(prior, rng, T)) { s += v; s2 += v * v; }
  }
  const m = n * prior.latentDim;
  assert.ok(Math.abs(s / m) < 0.02, `mean ${s / m}`);
  assert.ok(Math.abs(Math.sqrt(s2 / m) - T) < 0.02, `standard deviation ${Math.sqrt(s2 / m)}`);
  assert.ok(sampleFace(prior, createRng(1), 0).every((v) => v === 0), "T = 0: the all-zero code");
});
