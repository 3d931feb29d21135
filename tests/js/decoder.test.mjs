// vae_core/web/static/decoder.js: toRgba against vae_core.data.dataset.to_uint8 (torch) on the same float32
// output, ties included; loadDecoder's fetching, checks and error messages with a stand-in `ort` module (the real
// onnxruntime-web runs in the browser tests) and a real local HTTP server.

import assert from "node:assert/strict";
import {createServer} from "node:http";
import {test} from "node:test";

import {fixtures, staticModule} from "./support.mjs";

const {loadDecoder, toRgba} = await import(staticModule("decoder.js"));

test("toRgba gives to_uint8's bytes, float32 ties rounded to even, alpha 255", () => {
  const [c] = fixtures().rgba;
  assert.ok(c.ties > 10, "the fixture holds exact .5 ties");
  const got = toRgba(Float32Array.from(c.chw), c.resolution);
  assert.ok(got instanceof Uint8ClampedArray);
  assert.deepEqual(Array.from(got), c.rgba);
  assert.deepEqual(Array.from(toRgba(Float64Array.from(c.chw), c.resolution)), c.rgba, "float64 input rounds alike");
});

test("toRgba lays out channels per pixel and refuses a wrong size", () => {
  const R = 2;
  const chw = Float32Array.from([0, 1, 0.5, NaN, /* G */ 1, 0, 0.2, 2, /* B */ -1, 0.25, 1, 0]);
  assert.deepEqual(Array.from(toRgba(chw, R)), [0, 255, 0, 255, 255, 0, 64, 255, 128, 51, 255, 255, 0, 255, 0, 255]);
  assert.throws(() => toRgba(new Float32Array(11), 2), /a decoded image must hold 3·2·2 = 12 numbers, got 11/);
  assert.throws(() => toRgba(new Float32Array(12), 0), /the resolution must be a whole number >= 1/);
});

/** A stand-in for onnxruntime-web: records what the page asks of it; its session decodes z to a known image. */
function fakeOrt({inputNames = ["z"], outputNames = ["image"], dims = null, fail = null} = {}) {
  const calls = {create: [], runs: 0, active: 0, maxActive: 0};
  class Tensor {
    constructor(type, data, shape) { Object.assign(this, {type, data, dims: shape}); }
  }
  const ort = {
    Tensor,
    InferenceSession: {
      async create(bytes, options) {
        calls.create.push({bytes: Array.from(bytes), options});
        if (fail) throw new Error(fail);
        return {
          inputNames, outputNames,
          async run(feeds) {
            calls.runs += 1;
            calls.active += 1;
            calls.maxActive = Math.max(calls.maxActive, calls.active);
            await new Promise((r) => setTimeout(r, 5));
            calls.active -= 1;
            const z = feeds.z;
            assert.equal(z.type, "float32");
            assert.ok(z.data instanceof Float32Array);
            const R = 2;
            const data = new Float32Array(3 * R * R).fill(z.data[0]);
            return {image: new Tensor("float32", data, dims ?? [1, 3, R, R])};
          },
          async release() { calls.released = true; },
        };
      },
    },
  };
  return {ort, calls};
}

const BYTES = [8, 1, 18, 4, 0, 255, 7];
const URL_OK = `data:application/octet-stream;base64,${Buffer.from(BYTES).toString("base64")}`;

test("loadDecoder fetches the file, makes a wasm session of it and decodes [1, Z] to RGBA", async () => {
  const {ort, calls} = fakeOrt();
  const decoder = await loadDecoder(ort, URL_OK, {latentDim: 3, resolution: 2});
  assert.equal(decoder.resolution, 2);
  const options = {executionProviders: ["wasm"], graphOptimizationLevel: "all"};
  assert.deepEqual(calls.create, [{bytes: BYTES, options}]);
  const rgba = await decoder.decode([0.5, 0, 0]);
  assert.deepEqual(Array.from(rgba), [128, 128, 128, 255, 128, 128, 128, 255, 128, 128, 128, 255, 128, 128, 128, 255]);
  // Runs are queued: one session, one request at a time, answered in order.
  const results = await Promise.all([0.1, 0.2, 0.3, 0.4].map((v) => decoder.decode([v, 0, 0])));
  // torch.tensor([0.1, 0.2, 0.3, 0.4]).mul(255).round(): float32(0.3)·255 rounds to the float32 76.5, then to even.
  assert.deepEqual(results.map((r) => r[0]), [26, 51, 76, 102]);
  assert.equal(calls.maxActive, 1);
  await assert.rejects(decoder.decode([1, 2]), /a latent for this decoder has 3 numbers, got 2/);
  await assert.rejects(decoder.decode([1, NaN, 2]), /latents must be finite/);
  assert.equal((await decoder.decode(Float32Array.from([1, 0, 0])))[0], 255, "still decodes after a refusal");
  await decoder.release();
  assert.ok(calls.released);
});

test("loadDecoder says what is wrong with a damaged or mismatched file", async () => {
  const opts = {latentDim: 3, resolution: 2};
  await assert.rejects(loadDecoder(fakeOrt({fail: "protobuf parsing failed"}).ort, URL_OK, opts),
                       {message: "the decoder file is damaged: protobuf parsing failed"});
  await assert.rejects(loadDecoder(fakeOrt({inputNames: ["x"]}).ort, URL_OK, opts),
                       new RegExp('the decoder file is damaged: expected input "z" and output "image", ' +
                                  "found inputs \\[x\\], outputs \\[image\\]"));
  await assert.rejects(loadDecoder(fakeOrt({outputNames: ["image", "mu"]}).ort, URL_OK, opts), /damaged/);
  const wrongShape = await loadDecoder(fakeOrt({dims: [1, 3, 4, 4]}).ort, URL_OK, opts);
  await assert.rejects(wrongShape.decode([0, 0, 0]), /returned an image of shape \[1, 3, 4, 4\], not \[1, 3, 2, 2\]/);
  await assert.rejects(loadDecoder(fakeOrt().ort, URL_OK, {latentDim: 0, resolution: 2}), /latentDim must be >= 1/);
  await assert.rejects(loadDecoder(fakeOrt().ort, URL_OK, {latentDim: 3, resolution: 2.5}), /resolution must be >= 1/);
});

test("loadDecoder reports the HTTP status of a failed fetch, and an unreachable server", async () => {
  const server = createServer((req, res) => {
    if (req.url === "/decoder.onnx") {
      res.writeHead(200, {"content-type": "application/octet-stream"});
      res.end(Buffer.from(BYTES));
    } else {
      res.writeHead(404, "Not Found");
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const {ort, calls} = fakeOrt();
    await loadDecoder(ort, `${base}/decoder.onnx`, {latentDim: 3, resolution: 2});
    assert.deepEqual(calls.create[0].bytes, BYTES);
    await assert.rejects(loadDecoder(ort, `${base}/missing.onnx`, {latentDim: 3, resolution: 2}),
                         {message: `could not fetch the decoder ${base}/missing.onnx: HTTP 404 Not Found`});
  } finally {
    await new Promise((r) => server.close(r));
  }
  await assert.rejects(loadDecoder(fakeOrt().ort, `${base}/decoder.onnx`, {latentDim: 3, resolution: 2}),
                       new RegExp(`^Error: could not fetch the decoder ${base}/decoder.onnx: `));
});
