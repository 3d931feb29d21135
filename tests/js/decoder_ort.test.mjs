// vae_core/web/static/decoder.js with the real onnxruntime-web (the pinned WebAssembly build, run by Node) on the
// shipped default's exported decoder: the same pixels as the torch decoder, within 2/255 (float rounding in a
// different runtime moves a few bytes by one). Skipped, with the reason, where the runtime or the decoder file is
// not on this machine (tests/test_page_js.py allows that one skip only then).

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {createServer} from "node:http";
import {test} from "node:test";

import {fixtures, staticModule} from "./support.mjs";

const {loadDecoder} = await import(staticModule("decoder.js"));

test("the real onnxruntime-web decodes the default's latents to the torch decoder's pixels", async (t) => {
  const c = fixtures().ort;
  if (c.skip) {
    t.skip(c.skip);
    return;
  }
  const ort = await import(c.runtime + "ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = c.runtime;
  ort.env.wasm.numThreads = 1;
  const bytes = readFileSync(c.decoder);
  const server = createServer((req, res) => {
    res.writeHead(200, {"content-type": "application/octet-stream"});
    res.end(bytes);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/decoder.onnx`;
    const decoder = await loadDecoder(ort, url, {latentDim: c.latentDim, resolution: c.resolution});
    // All at once: the decoder queues them on its one session.
    const images = await Promise.all(c.latents.map((z) => decoder.decode(Float32Array.from(z))));
    images.forEach((rgba, k) => {
      const want = c.rgba[k];
      assert.equal(rgba.length, want.length);
      let worst = 0;
      let off = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(rgba[i] - want[i]);
        worst = Math.max(worst, d);
        if (d) off += 1;
      }
      assert.ok(worst <= 2, `latent ${k}: a byte differs by ${worst}`);
      assert.ok(off < want.length / 100, `latent ${k}: ${off} of ${want.length} bytes differ`);
    });
    await decoder.release();
  } finally {
    await new Promise((r) => server.close(r));
  }
});
