// The static page's random faces: "Random face" (a fresh seed) and "Face from seed", at the chosen temperature,
// drawn in the page from the checkpoint's fitted mixture (or the N(0, I) prior) by mixture.js.
//
// Why seeds: a seed shown next to the face makes it reproducible, on this page, on every visit (the page's
// generator is not numpy's, so the seed does not give the server's face for that seed).
//
// Exports:
//   MAX_SEED = 2^32 − 1
//   wireRandom(layout, setBase)   setBase(z, description) makes z the face being edited

import {checkTemperature, createRng, sampleFace} from "./mixture.js";

export const MAX_SEED = 2 ** 32 - 1;

const $ = (id) => document.getElementById(id);

function samplerText(layout) {
  return layout.sampler
    ? `Random faces come from a ${layout.sampler.describe} fitted to the training faces' codes; temperature ` +
      "scales the spread around a component (0: its mean)."
    : "This model has no fitted density: random faces come from the N(0, I) prior (temperature: its spread).";
}

export function wireRandom(layout, setBase) {
  const info = $("sampler_info");
  info.textContent = samplerText(layout);

  function faceFromSeed(seed) {
    info.textContent = samplerText(layout);
    const temperature = checkTemperature(Number($("temperature").value));
    setBase(sampleFace(layout, createRng(seed), temperature), `random face, seed ${seed}`);
  }

  $("random_face").addEventListener("click", () => {
    const seed = Math.floor(Math.random() * (MAX_SEED + 1));
    $("seed").value = String(seed);
    faceFromSeed(seed);
  });
  $("seed_face").addEventListener("click", () => {
    const seed = Number($("seed").value);
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      info.textContent = `The seed must be a whole number from 0 to ${MAX_SEED}.`;
      return;
    }
    faceFromSeed(seed);
  });
  $("temperature").addEventListener("input", () => {
    $("temperature_value").textContent = Number($("temperature").value).toFixed(2);
  });
}
