// vae_core/web/static/latent_string.js against vae_core/latent.py format_latent / parse_latent: the same strings
// byte for byte (float16 rounding included), the same values, the same refusals with the same messages.

import assert from "node:assert/strict";
import {test} from "node:test";

import {fixtures, staticModule} from "./support.mjs";

const {formatLatent, parseLatent, float16Bits, float16Value, modelId8, LatentFormatError, LATENT_ABS_MAX} =
  await import(staticModule("latent_string.js"));

function outcome(fn) {
  try {
    return {ok: fn()};
  } catch (e) {
    return {error: e.message, kind: e instanceof LatentFormatError ? "LatentFormatError" : "ValueError", e};
  }
}

test("formatLatent writes format_latent's string, byte for byte, or refuses with its message", () => {
  const cases = fixtures().formatLatent;
  assert.ok(cases.some((c) => "ok" in c) && cases.some((c) => "error" in c));
  for (const c of cases) {
    const got = outcome(() => formatLatent(c.z, c.modelId));
    if ("ok" in c) {
      assert.equal(got.ok, c.ok, `formatLatent(${JSON.stringify(c.z).slice(0, 80)}, ${c.modelId})`);
      assert.equal(formatLatent(Float64Array.from(c.z), c.modelId), c.ok, "typed input");
    } else {
      assert.equal(got.error, c.error, `formatLatent(${JSON.stringify(c.z)}, ${c.modelId}) refuses`);
      assert.ok(got.e instanceof Error && !(got.e instanceof LatentFormatError));
    }
  }
});

test("parseLatent reads and refuses exactly what parse_latent does", () => {
  const cases = fixtures().parseLatent;
  assert.ok(cases.length > 60);
  for (const c of cases) {
    const got = outcome(() => parseLatent(c.text, c.latentDim, c.modelId));
    const what = `parseLatent(${JSON.stringify(c.text).slice(0, 60)}, ${c.latentDim}, ${c.modelId})`;
    if ("ok" in c) {
      assert.ok(got.ok instanceof Float32Array, `${what}: ${got.error}`);
      assert.equal(got.ok.length, c.ok.length, what);
      got.ok.forEach((v, i) => assert.ok(Object.is(v, c.ok[i]), `${what}[${i}] = ${v}, Python ${c.ok[i]}`));
    } else {
      assert.equal(got.error, c.error, what);
      assert.equal(got.kind, c.kind, `${what}: error kind`);
    }
  }
});

test("float16Bits round-trips every float16 and rounds every midpoint to the even neighbour", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const v = float16Value(bits);
    if (Number.isNaN(v)) {
      assert.equal((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0, true);
      continue;
    }
    assert.equal(float16Bits(v), bits, `bits ${bits.toString(16)} (${v})`);
  }
  for (let bits = 0; bits < 0x7bff; bits++) {  // positive finite neighbours (bits, bits + 1)
    const lo = float16Value(bits);
    const hi = float16Value(bits + 1);
    const mid = (lo + hi) / 2;  // exact in a double
    const even = bits % 2 === 0 ? bits : bits + 1;
    assert.equal(float16Bits(mid), even, `midpoint of ${lo} and ${hi}`);
    assert.equal(float16Bits(-mid), 0x8000 | even);
    const above = mid + (hi - lo) * 2 ** -30;
    const below = mid - (hi - lo) * 2 ** -30;
    assert.equal(float16Bits(above), bits + 1, `just above the midpoint of ${lo} and ${hi}`);
    assert.equal(float16Bits(below), bits, `just below the midpoint of ${lo} and ${hi}`);
  }
  assert.equal(float16Bits(65504), 0x7bff);
  assert.equal(float16Bits(65519.99), 0x7bff);
  assert.equal(float16Bits(65520), 0x7c00);
  assert.equal(float16Bits(-Infinity), 0xfc00);
  assert.equal(float16Bits(NaN), 0x7e00);
  assert.equal(float16Bits(2 ** -25), 0);
  assert.equal(float16Bits(2 ** -25 + 2 ** -60), 1);
  assert.equal(float16Bits(-0), 0x8000);
  assert.equal(float16Value(0x3c00), 1);
  assert.equal(float16Value(0x0001), 2 ** -24);
  assert.equal(float16Value(0xfc00), -Infinity);
});

test("a formatted latent parses back to its float16 values, for this model only", () => {
  const z = Float32Array.from({length: 64}, (_, i) => Math.sin(i * 1.7) * (i % 5) * 3.1);
  const text = formatLatent(z, "ABCDEF0123456789");
  assert.match(text, /^cvae1:abcdef01:[A-Za-z0-9_-]+$/);
  assert.equal(text.length, "cvae1:abcdef01:".length + Math.ceil((64 * 2 * 4) / 3));
  const back = parseLatent(text, 64, "abcdef01");
  back.forEach((v, i) => assert.equal(v, float16Value(float16Bits(z[i]))));
  assert.throws(() => parseLatent(text, 64, "00000000"), LatentFormatError);
  assert.deepEqual(parseLatent(text, 64), back);
  // format_latent([65504, -65504], "00000000") in Python:
  assert.equal(formatLatent([LATENT_ABS_MAX, -LATENT_ABS_MAX], "00000000"), "cvae1:00000000:_3v_-w");
  assert.equal(modelId8(" ABCDEF0123 "), "abcdef01");
  assert.throws(() => modelId8("abc"), /model_id must start with 8 hex digits \(a weights fingerprint\), got 'abc'/);
  assert.throws(() => formatLatent(["1"], "00000000"), /non-empty, finite and within ±65504/);
  assert.throws(() => parseLatent(null, 3), /a latent must be text, got NoneType/);
  assert.throws(() => parseLatent("1 2 3", 2.5), /latent_dim must be >= 1/);
});
