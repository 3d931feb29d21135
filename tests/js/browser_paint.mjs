// Run in Chromium by tests/test_page_js_browser.py (not a node:test file): paint.js and layout.js in a real page,
// where Node has only stand-ins. Returns what it saw; the Python test asserts on it.
//
// Exports: run() -> Promise<{canvas, img, again, replaced, decoded}>

import {paintRgba} from "../../vae_core/web/static/paint.js";
import {decodeF32} from "../../vae_core/web/static/layout.js";

const R = 5;

function pixels(seed) {
  // Opaque pixels (alpha 255): a PNG round trip then keeps every byte.
  return Uint8ClampedArray.from({length: R * R * 4}, (_, i) => (i % 4 === 3 ? 255 : (i * 53 + seed * 101) % 256));
}

function readBack(source) {
  const canvas = document.createElement("canvas");
  canvas.width = R;
  canvas.height = R;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(source, 0, 0);
  return Array.from(ctx.getImageData(0, 0, R, R).data);
}

function within(promise, ms) {
  return Promise.race([promise.then(() => "resolved", (e) => `rejected: ${e.message}`),
                       new Promise((r) => setTimeout(() => r("timed out"), ms))]);
}

function same(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function run() {
  const first = pixels(1);
  const second = pixels(2);

  const canvas = document.createElement("canvas");
  document.body.append(canvas);
  await paintRgba(canvas, first, R);
  const canvasOk = canvas.width === R && canvas.height === R && same(readBack(canvas), Array.from(first));

  const img = document.createElement("img");
  document.body.append(img);
  await paintRgba(img, first, R);
  const imgOk = img.src.startsWith("data:image/png;base64,") && same(readBack(img), Array.from(first));
  const again = await within(paintRgba(img, first, R), 3000);

  const racing = [paintRgba(img, second, R), paintRgba(img, first, R), paintRgba(img, second, R)];
  const replaced = await within(Promise.all(racing), 3000);
  const finalOk = same(readBack(img), Array.from(second));

  const decoded = Array.from(decodeF32({shape: [2], f32: "AACAPwAAAEA="}));
  return {canvas: canvasOk, img: imgOk, again, replaced, final: finalOk, decoded};
}
