// The checkpoint's decoder in the page: an ONNX file (vae_core/web/decoder_export.py, input "z" float32 [B, Z],
// output "image" float32 [B, 3, R, R] in [0, 1]) run by onnxruntime-web, and its output as RGBA pixels.
//
// Why: decoding in the visitor's browser takes slider moves off the server (a few milliseconds per face in
// WebAssembly). The `ort` module is passed in, not imported here: the app and the static page load onnxruntime-web
// from different places, and this module stays testable in Node with no third-party code.
//
// Exports:
//   toRgba(chw, R) -> Uint8ClampedArray[R*R*4]
//       float32 [3, R, R] (channel-major) → RGBA bytes, as vae_core.data.dataset.to_uint8 computes them:
//       clamp(0, 1), ·255 in float32, round half to even (torch's .round()); alpha 255; NaN → 0
//   loadDecoder(ort, url, {latentDim, resolution}) -> Promise<{decode(z) -> Promise<Uint8ClampedArray>,
//                                                              resolution, latentDim, release() -> Promise}>
//       fetches the file, creates an ort.InferenceSession (wasm, graphOptimizationLevel "all") and checks its
//       input/output names. decode(z) takes latentDim finite numbers; runs are queued one at a time (one session
//       runs one request at a time). Errors say what failed: "could not fetch the decoder …: HTTP 404 …",
//       "the decoder file is damaged: …", "the decoder … returned … not [1, 3, R, R]".

/** Float32 [3, R, R] in [0, 1] → RGBA bytes [R, R, 4] (see the top of this file). */
export function toRgba(chw, R) {
  if (!Number.isSafeInteger(R) || R < 1) throw new Error(`the resolution must be a whole number >= 1, got ${R}`);
  const plane = R * R;
  if (!chw || chw.length !== 3 * plane) {
    throw new Error(`a decoded image must hold 3·${R}·${R} = ${3 * plane} numbers, got ${chw ? chw.length : 0}`);
  }
  const out = new Uint8ClampedArray(4 * plane);
  for (let c = 0; c < 3; c++) {
    const offset = c * plane;
    for (let p = 0; p < plane; p++) {
      const v = chw[offset + p];
      // float32 product like torch's mul(255); then the clamped-array store rounds half to even (ToUint8Clamp),
      // as torch's round() does. NaN stores as 0.
      out[4 * p + c] = Math.fround((v > 1 ? 1 : v > 0 ? Math.fround(v) : 0) * 255);
    }
  }
  for (let p = 0; p < plane; p++) out[4 * p + 3] = 255;
  return out;
}

function message(e) {
  return e && e.message ? e.message : String(e);
}

function sameNames(got, want) {
  return Array.isArray(got) && got.length === want.length && got.every((n, i) => n === want[i]);
}

/** Load the ONNX decoder at `url` with the onnxruntime-web module `ort` (see the top of this file). */
export async function loadDecoder(ort, url, {latentDim, resolution}) {
  if (!Number.isSafeInteger(latentDim) || latentDim < 1) throw new Error(`latentDim must be >= 1, got ${latentDim}`);
  if (!Number.isSafeInteger(resolution) || resolution < 1) {
    throw new Error(`resolution must be >= 1, got ${resolution}`);
  }
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch the decoder ${url}: ${message(e)}`);
  }
  if (!response.ok) {
    throw new Error(`could not fetch the decoder ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, {executionProviders: ["wasm"], graphOptimizationLevel: "all"});
  } catch (e) {
    throw new Error(`the decoder file is damaged: ${message(e)}`);
  }
  if (!sameNames(session.inputNames, ["z"]) || !sameNames(session.outputNames, ["image"])) {
    const names = `inputs [${session.inputNames}], outputs [${session.outputNames}]`;
    throw new Error(`the decoder file is damaged: expected input "z" and output "image", found ${names}`);
  }

  const R = resolution;
  let queue = Promise.resolve();

  async function run(z) {
    const feeds = {z: new ort.Tensor("float32", z, [1, latentDim])};
    const output = (await session.run(feeds)).image;
    const dims = output ? Array.from(output.dims) : [];
    if (!sameNames(dims, [1, 3, R, R])) {
      throw new Error(`the decoder ${url} returned an image of shape [${dims.join(", ")}], not [1, 3, ${R}, ${R}]`);
    }
    return toRgba(output.data, R);
  }

  function decode(z) {
    if (!z || z.length !== latentDim) {
      return Promise.reject(new Error(`a latent for this decoder has ${latentDim} numbers, got ${z ? z.length : 0}`));
    }
    const values = Float32Array.from(z, Number);
    if (!values.every(Number.isFinite)) return Promise.reject(new Error("latents must be finite"));
    const result = queue.then(() => run(values));
    queue = result.catch(() => undefined);
    return result;
  }

  return {decode, resolution: R, latentDim, release: () => session.release()};
}
