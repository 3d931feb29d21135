// vae_core/web/static/interpolate.js against vae_core/latent.py lerp / slerp at the same t values
// (np.linspace(0, 1, 7)), edge cases included: parallel, antiparallel, zero endpoints, one dim.

import assert from "node:assert/strict";
import {test} from "node:test";

import {assertClose, fixtures, staticModule} from "./support.mjs";

const {lerp, slerp} = await import(staticModule("interpolate.js"));

test("lerp and slerp give latent.py's points at every t", () => {
  const cases = fixtures().interpolate;
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    c.ts.forEach((t, i) => {
      assertClose(lerp(c.a, c.b, t), c.lerp[i], `lerp ${c.name} t=${t}`);
      assertClose(slerp(Float32Array.from(c.a), c.b, t), c.slerp[i], `slerp ${c.name} t=${t}`, 1e-5);
    });
    assert.deepEqual(Array.from(slerp(c.a, c.b, 0)), c.slerp[0], `slerp ${c.name} starts exactly at a`);
    assert.deepEqual(Array.from(slerp(c.a, c.b, 1)), c.slerp[c.slerp.length - 1], `slerp ${c.name} ends exactly at b`);
  }
});

test("slerp keeps equal norms and lerp does not", () => {
  const a = [3, 0, 0, 0];
  const b = [0, 3, 0, 0];
  const norm = (v) => Math.hypot(...v);
  assert.ok(Math.abs(norm(slerp(a, b, 0.5)) - 3) < 1e-6);
  assert.ok(norm(lerp(a, b, 0.5)) < 2.2);
});

test("interpolation refuses endpoints of different sizes and t outside [0, 1]", () => {
  assert.throws(() => lerp([1, 2], [1, 2, 3], 0.5), /endpoints must have the same size, got 2 and 3/);
  assert.throws(() => slerp([1, 2], [1], 0.5), /same size/);
  assert.throws(() => lerp([1], [2], 1.5), /t must be a number in \[0, 1\]/);
  assert.throws(() => slerp([1], [2], NaN), /t must be a number in \[0, 1\]/);
});
