// The static explorer (export-web): loads the site's files, then wires the Generate experience of the app into
// the page, with every face composed and decoded here.
//
// Why one module for the wiring: the pieces (layout.js, compose.js, mixture.js, latent_string.js, decoder.js and
// the static_* modules) each do one thing; this is where "what the face is now" lives: a base latent (the average
// face, a random face, a pasted latent) plus the sliders' values, composed exactly as SliderLayout.compose does.
//
// Exports:
//   start() -> Promise<void>   loads everything (status line counts the bytes), then shows the explorer; throws an
//                              Error with a readable message when the site cannot work (static_page.js shows it).
// Namespace: window.cvaeStatic = {layout, latent() -> Float32Array, timings: {decoderReadyMs, firstFaceMs},
//                                 interpolation: {a, b}, idle() -> Promise (the face shown is painted)} — for
//                                 tests and the curious; nothing else is global.

import {compose} from "./compose.js";
import {loadDecoder} from "./decoder.js";
import {parseLayout} from "./layout.js";
import {buildControls} from "./static_controls.js";
import {checkFile, createProgress, fetchBytes, loadManifest} from "./static_fetch.js";
import {buildInterpolation} from "./static_interp.js";
import {wireLatentBox} from "./static_latent_box.js";
import {wireRandom} from "./static_random.js";
import {createRenderer} from "./static_renderer.js";
import {formatBytes, setStatus} from "./static_status.js";

const LAYOUT = "layout.json";
const DECODER = "decoder.onnx";
const RUNTIME_DIR = "ort/";
const RUNTIME_MODULE = "./ort/ort.wasm.min.mjs";
const RUNTIME_WASM = "ort/ort-wasm-simd-threaded.wasm";

const $ = (id) => document.getElementById(id);

async function checkedBytes(name, progress, manifest) {
  const want = manifest ? manifest.get(name) : null;
  const bytes = await fetchBytes(name, progress, want ? want.size : 0);
  await checkFile(name, bytes, manifest);
  return bytes;
}

function readLayout(bytes) {
  let doc;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${LAYOUT} is damaged: it is not valid JSON (${e.message}); export the site again`);
  }
  try {
    return parseLayout(doc);
  } catch (e) {
    throw new Error(`${LAYOUT}: ${e.message}; export the site again`);
  }
}

async function loadRuntime(wasmBytes) {
  let ort;
  try {
    ort = await import(RUNTIME_MODULE);
  } catch (e) {
    throw new Error(`the decoder's runtime (${RUNTIME_DIR}ort.wasm.min.mjs) could not be loaded: ${e.message}`);
  }
  ort.env.wasm.wasmPaths = new URL(RUNTIME_DIR, import.meta.url).href;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = await wasmBytes;
  return ort;
}

async function loadDecoderBytes(ort, bytes, layout) {
  // The bytes were fetched here (to count them and check them against the manifest); decoder.js takes a URL, so it
  // gets one for them in memory instead of downloading the file a second time.
  const url = URL.createObjectURL(new Blob([bytes], {type: "application/octet-stream"}));
  try {
    return await loadDecoder(ort, url, {latentDim: layout.latentDim, resolution: layout.resolution});
  } catch (e) {
    throw new Error(e.message.replace(url, DECODER));
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function loadAll() {
  setStatus("loading", "Loading the model…");
  const manifest = await loadManifest();
  const progress = createProgress(() => {
    const total = progress.total ? ` of ${formatBytes(progress.total)}` : "";
    setStatus("loading", `Loading the model and its runtime: ${formatBytes(progress.done)}${total}…`);
  });
  const layoutBytes = checkedBytes(LAYOUT, progress, manifest);
  const decoderBytes = checkedBytes(DECODER, progress, manifest);
  const wasmBytes = checkedBytes(RUNTIME_WASM, progress, manifest);
  // Settle all three before failing: an error thrown while another download still runs would leave it unhandled.
  await Promise.allSettled([layoutBytes, decoderBytes, wasmBytes]);
  const layout = readLayout(await layoutBytes);
  const ort = await loadRuntime(wasmBytes);
  const bytes = await decoderBytes;
  setStatus("loading", "Starting the decoder…");
  const decoder = await loadDecoderBytes(ort, bytes, layout);
  return {layout, decoder};
}

function describeModel(layout) {
  const sampler = layout.sampler ? layout.sampler.describe : "the N(0, I) prior";
  return `model ${layout.modelId} · ${layout.resolution}×${layout.resolution} faces from ${layout.latentDim} ` +
    `latent dims · random faces from ${sampler}`;
}

function wire(layout, decoder, timings) {
  let base = Float32Array.from(layout.mean);
  let what = "average face of the dataset";
  const onError = (e) => setStatus("error", `Could not show the face: ${e && e.message ? e.message : e}`);
  const renderer = createRenderer(decoder, $("gen_image"), onError);
  const latent = () => {
    const v = controls.values();
    return compose(layout, base, v.raw, v.pca, v.targets, v.strengths);
  };
  const caption = () => { $("face_caption").textContent = `${what} · model ${layout.modelId}`; };
  const redraw = () => renderer.show(latent());
  const controls = buildControls(layout, redraw);

  function setBase(z, description) {
    base = Float32Array.from(z);
    what = description;
    controls.showLatent(base);
    caption();
    redraw();
  }

  $("average_face").addEventListener("click", () => setBase(layout.mean, "average face of the dataset"));
  wireRandom(layout, setBase);
  wireLatentBox(layout, latent, setBase);

  $("show_pixels").addEventListener("change", (e) => {
    document.querySelector(".explorer").classList.toggle("pixelated", e.target.checked);
  });

  const interpolation = buildInterpolation(decoder, latent, onError);
  setBase(layout.mean, "average face of the dataset");  // the sliders start where the average face is
  renderer.idle().then(() => { timings.firstFaceMs = performance.now(); });
  return {latent, interpolation, renderer};
}

export async function start() {
  const timings = {decoderReadyMs: null, firstFaceMs: null};
  const {layout, decoder} = await loadAll();
  timings.decoderReadyMs = performance.now();
  document.title = layout.title || document.title;
  if (layout.title) $("title").textContent = layout.title;
  $("model_line").textContent = describeModel(layout);
  $("synthetic_banner").hidden = !layout.synthetic;
  $("explorer").hidden = false;
  const app = wire(layout, decoder, timings);
  window.cvaeStatic = {layout, latent: app.latent, timings, interpolation: app.interpolation,
                       idle: () => app.renderer.idle()};
  setStatus("ready", `Ready: every face is decoded in your browser (loaded in ` +
                     `${(timings.decoderReadyMs / 1000).toFixed(1)} s).`);
}
