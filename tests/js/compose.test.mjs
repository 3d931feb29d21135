// vae_core/web/static/compose.js against vae_core/slider_layout.py (_slider_value, SliderLayout.raw_values,
// SliderLayout.compose) on the same inputs, built by tests/test_page_js.py.

import assert from "node:assert/strict";
import {test} from "node:test";

import {assertClose, fixtures, staticModule} from "./support.mjs";

const {compose, rawValues, sliderValue} = await import(staticModule("compose.js"));
const {parseLayout} = await import(staticModule("layout.js"));

function layouts() {
  const out = {};
  for (const [name, doc] of Object.entries(fixtures().layouts)) out[name] = parseLayout(doc);
  return out;
}

test("sliderValue is Python's round(min(limit, max(-limit, v)), 2), bit for bit", () => {
  const cases = fixtures().sliderValues;
  assert.ok(cases.length > 300);
  for (const [v, limit, want] of cases) {
    const got = sliderValue(v, limit);
    assert.ok(Object.is(got, want), `sliderValue(${v}, ${limit}) = ${got}, Python ${want}`);
  }
  assert.throws(() => sliderValue("1", 4), TypeError);
});

test("compose gives SliderLayout.compose's latent for ~60 slider sets", () => {
  const parsed = layouts();
  const cases = fixtures().compose;
  assert.ok(cases.length >= 50);
  let moved = 0;
  for (const [i, c] of cases.entries()) {
    const layout = parsed[c.layout];
    const base = Float32Array.from(c.base);
    const got = compose(layout, c.base, c.raw, c.pca, c.targets, c.strengths);
    assert.ok(got instanceof Float32Array && got.length === layout.latentDim);
    assertClose(got, c.expected, `compose case ${i} (${c.layout})`);
    assert.deepEqual(rawValues(layout, c.base), c.rawValues, `rawValues case ${i}`);
    if (got.some((v, j) => v !== base[j])) moved += 1;
  }
  assert.ok(moved > cases.length / 2, "most cases move the latent");
});

test("with nothing moved, compose returns the base exactly (float32), whatever its slider rounding", () => {
  const parsed = layouts();
  const firsts = fixtures().compose.filter((c, i, all) => all.findIndex((d) => d.layout === c.layout) === i);
  assert.equal(firsts.length, 2);
  for (const c of firsts) {
    const got = compose(parsed[c.layout], Float32Array.from(c.base), c.raw, c.pca, c.targets, c.strengths);
    assert.deepEqual(Array.from(got), Array.from(Float32Array.from(c.base)));
    assert.deepEqual(Array.from(got), c.expected);
  }
});

test("compose checks the base's size and leaves its inputs alone", () => {
  const layout = layouts().fake;
  assert.throws(() => compose(layout, new Float32Array(5), [], [], [], []), /the base latent has 5 dims, the model 6/);
  const base = Float32Array.from([0.5, -1, 2, 3.3, 0, 1]);
  const copy = Float32Array.from(base);
  const raw = [1, 2, 3, 4];
  const z = compose(layout, base, raw, [1, 0, 0], [1, 5], [1, -1]);
  assert.deepEqual(base, copy);
  assert.deepEqual(raw, [1, 2, 3, 4]);
  assert.notDeepEqual(Array.from(z), Array.from(base));
  // Lists may be missing (no sliders of that kind): the base comes back.
  assert.deepEqual(compose(layout, base, null, undefined, [], []), base);
});

test("a raw slot sets its dim only when moved more than a quarter step away from the base's position", () => {
  const layout = layouts().fake;
  const dim = layout.raw[0].dim;
  const base = new Float32Array(layout.latentDim);
  base[dim] = 1.23456;
  const shown = sliderValue(base[dim], layout.ranges.raw);
  assert.equal(shown, 1.23);
  const at = (v) => compose(layout, base, [v], [], [], [])[dim];
  assert.equal(at(1.23), Math.fround(1.23456));
  assert.equal(at(1.232), Math.fround(1.23456));
  assert.equal(at(1.24), Math.fround(1.24));
  assert.equal(at(-4), -4);
  assert.equal(at(NaN), 0);
  assert.equal(at("2.5"), 2.5);
});
