// Latents onto a canvas as fast as the decoder allows, never behind and never losing the last move.
//
// Why: a slider fires `input` far more often than a face can be decoded. Decoding every event would queue up and
// lag; dropping events could leave the face one move behind where the slider stopped. So while a decode runs,
// only the newest latent is kept and decoded next; each face is painted on the next animation frame.
//
// Exports:
//   createRenderer(decoder, canvas, onError) -> {show(z), idle() -> Promise<void>, painted: number}
//     show(z): decode z (a Float32Array) and paint it into `canvas`, superseding any latent still waiting;
//     idle(): resolves once every latent shown so far is painted (or failed);
//     painted: how many faces were painted (canvas.dataset.painted mirrors it, for tests).
//   onError(error) receives a failed decode or paint; the renderer keeps working for the next latent.

import {paintRgba} from "./paint.js";

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export function createRenderer(decoder, canvas, onError) {
  let waiting = null;
  let running = null;
  let painted = 0;

  async function pump() {
    while (waiting) {
      const z = waiting;
      waiting = null;
      try {
        const rgba = await decoder.decode(z);
        await nextFrame();
        await paintRgba(canvas, rgba, decoder.resolution);
        painted += 1;
        canvas.dataset.painted = String(painted);
      } catch (e) {
        onError(e);
      }
    }
    running = null;
  }

  return {
    show(z) {
      waiting = z;
      if (!running) running = pump();
    },
    idle() {
      return running || Promise.resolve();
    },
    get painted() { return painted; },
  };
}
