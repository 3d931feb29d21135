// vae_core/web/static/paint.js with stand-in <canvas> and <img> elements (Node has no DOM; the browser tests paint
// for real): sizes, pixels, the img's src, and when the promise settles.

import assert from "node:assert/strict";
import {test} from "node:test";

import {staticModule} from "./support.mjs";

const {paintRgba} = await import(staticModule("paint.js"));

function fakeCanvas() {
  const canvas = {
    tagName: "CANVAS", width: 300, height: 150, painted: null,
    getContext(kind) {
      assert.equal(kind, "2d");
      return {
        createImageData: (w, h) => ({width: w, height: h, data: new Uint8ClampedArray(w * h * 4)}),
        putImageData: (image, x, y) => { canvas.painted = {image, x, y, width: canvas.width, height: canvas.height}; },
      };
    },
    toDataURL(type) {
      assert.equal(type, "image/png");
      return `data:image/png;base64,${Buffer.from(canvas.painted.image.data).toString("base64")}`;
    },
  };
  return canvas;
}

/** An <img> that loads (or fails) a tick after its src is set, like a browser's. */
class FakeImg extends EventTarget {
  constructor(outcome = "load") {
    super();
    this.tagName = "IMG";
    this.outcome = outcome;
    this.canvases = [];
    this.ownerDocument = {
      createElement: (tag) => {
        assert.equal(tag, "canvas");
        const c = fakeCanvas();
        this.canvases.push(c);
        return c;
      },
    };
    this._src = "";
    this.complete = true;
    this.naturalWidth = 0;
  }
  getAttribute(name) { return name === "src" ? this._src : null; }
  get src() { return this._src; }
  set src(value) {
    this._src = value;
    this.complete = false;
    setTimeout(() => {
      if (this._src !== value) return;  // replaced before it loaded: the browser drops this one
      this.complete = true;
      this.naturalWidth = this.outcome === "load" ? 2 : 0;
      this.dispatchEvent(new Event(this.outcome));
    }, 2);
  }
}

const R = 2;
const RGBA = Uint8ClampedArray.from({length: R * R * 4}, (_, i) => (i * 37) % 256);

test("paintRgba puts the pixels into a canvas, resized to R×R", async () => {
  const canvas = fakeCanvas();
  await paintRgba(canvas, RGBA, R);
  assert.equal(canvas.width, R);
  assert.equal(canvas.height, R);
  assert.deepEqual(Array.from(canvas.painted.image.data), Array.from(RGBA));
  assert.deepEqual([canvas.painted.x, canvas.painted.y], [0, 0]);
});

test("paintRgba shows the pixels in an img as a PNG data URL, resolving once it loaded", async () => {
  const img = new FakeImg();
  let settled = false;
  const done = paintRgba(img, RGBA, R).then(() => { settled = true; });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, "not before the image loaded");
  await done;
  assert.equal(img.canvases.length, 1);
  assert.deepEqual(Array.from(img.canvases[0].painted.image.data), Array.from(RGBA));
  assert.equal(img.src, img.canvases[0].toDataURL("image/png"));
  // The same pixels again: already shown, resolves without waiting for a load event.
  await paintRgba(img, RGBA, R);
});

test("a paint replaced by a newer one resolves; an image that fails to show rejects", async () => {
  const img = new FakeImg();
  const first = paintRgba(img, RGBA, R);
  const other = Uint8ClampedArray.from(RGBA, (v) => 255 - v);
  const second = paintRgba(img, other, R);
  await Promise.all([first, second]);
  assert.equal(img.src, img.canvases[1].toDataURL("image/png"));
  await assert.rejects(paintRgba(new FakeImg("error"), RGBA, R), /the browser could not show the decoded face/);
});

test("paintRgba refuses wrong sizes and targets", async () => {
  await assert.rejects(paintRgba(fakeCanvas(), new Uint8ClampedArray(15), R),
                       /the face needs 2·2·4 = 16 bytes of RGBA, got 15/);
  await assert.rejects(paintRgba(fakeCanvas(), RGBA, 0), /the resolution must be a whole number >= 1/);
  await assert.rejects(paintRgba({tagName: "DIV"}, RGBA, R), /paintRgba paints into a <canvas> or an <img>, not <div>/);
  await assert.rejects(paintRgba(null, RGBA, R), /paints into a <canvas> or an <img>, not null/);
});
