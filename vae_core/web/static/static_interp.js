// The static page's interpolation: two ends set from the face being edited, the face at any t between them
// (lerp or slerp, interpolate.js), and a strip of frames from A to B.
//
// Why in the page: every frame is a latent the page computes and a decode it runs itself, so dragging t is as live
// as any other slider.
//
// Exports:
//   STRIP_FRAMES = 8
//   buildInterpolation(decoder, currentLatent, onError) -> {a, b}   (the ends, Float32Array or null; for tests)
//     currentLatent() -> Float32Array: the face "Set A" / "Set B" take.

import {lerp, slerp} from "./interpolate.js";
import {paintRgba} from "./paint.js";
import {createRenderer} from "./static_renderer.js";

export const STRIP_FRAMES = 8;

export function buildInterpolation(decoder, currentLatent, onError) {
  const ends = {a: null, b: null};
  const t = document.getElementById("interp_t");
  const tValue = document.getElementById("interp_t_value");
  const message = document.getElementById("interp_message");
  const strip = document.getElementById("interp_strip");
  const middle = createRenderer(decoder, document.getElementById("interp_image"), onError);
  const thumbs = {a: createRenderer(decoder, document.getElementById("interp_a"), onError),
                  b: createRenderer(decoder, document.getElementById("interp_b"), onError)};
  const frames = Array.from({length: STRIP_FRAMES}, (_, i) => {
    const c = document.createElement("canvas");
    c.className = "frame";
    c.id = `interp_frame_${i}`;
    c.width = c.height = decoder.resolution;
    c.title = `t = ${(i / (STRIP_FRAMES - 1)).toFixed(2)}`;
    strip.append(c);
    return c;
  });
  let stripRun = 0;

  const mode = () => document.querySelector('input[name="interp_mode"]:checked').value;
  const between = (tt) => (mode() === "slerp" ? slerp : lerp)(ends.a, ends.b, tt);

  function showMiddle() {
    tValue.textContent = Number(t.value).toFixed(2);
    if (ends.a && ends.b) middle.show(between(Number(t.value)));
  }

  async function drawStrip() {
    const run = ++stripRun;
    strip.dataset.drawn = "0";
    for (let i = 0; i < STRIP_FRAMES; i++) {
      const rgba = await decoder.decode(between(i / (STRIP_FRAMES - 1)));
      if (run !== stripRun) return;  // the ends or the path changed meanwhile: a newer strip is being drawn
      await paintRgba(frames[i], rgba, decoder.resolution);
      strip.dataset.drawn = String(i + 1);
    }
  }

  function update() {
    if (!(ends.a && ends.b)) {
      message.textContent = `Set ${ends.a ? "B" : "A"} too: the strip shows the way between them.`;
      return;
    }
    message.textContent = `${mode()} from A to B in ${STRIP_FRAMES} frames; drag t for any face between.`;
    showMiddle();
    drawStrip().catch(onError);
  }

  for (const which of ["a", "b"]) {
    document.getElementById(`set_${which}`).addEventListener("click", () => {
      ends[which] = Float32Array.from(currentLatent());
      thumbs[which].show(ends[which]);
      update();
    });
  }
  t.addEventListener("input", showMiddle);
  document.querySelectorAll('input[name="interp_mode"]').forEach((r) => r.addEventListener("change", update));
  return ends;
}
