// The Generate tab's face, made in the visitor's browser.
//
// Why: every slider move used to be a server request, queued behind every other visitor's on a Space's two shared
// vCPUs. Here a move composes the latent in the page (compose.js, the same arithmetic as
// vae_core.slider_layout.SliderLayout.compose) and decodes it at once with onnxruntime-web (decoder.js), on screen
// with the next frame: no request per move, whatever the crowd.
//
// The server stays the authority on *which* face is shown: every event that sets one (random face, seed, paste,
// reset, "Edit in Generate", a map pick, a checkpoint switch) sends a sync message (the hidden #gen_sync textbox,
// ui/generate/tab.py page_sync) with the base latent, the slider positions it set and where the checkpoint's page
// files are. The page keeps a mirror of the slider positions from that message and the visitor's moves since.
// Without WebAssembly, without the runtime or with a decoder that fails to load, moves go to the server instead
// (a hidden button, one request per move, newest wins) and the status line says why.

const STATUS_ID = "gen_decoder_status";
const IMAGE_ID = "gen_image";
const DECODE_BUTTON_ID = "gen_decode_go";
const SHARE_PARAM = "face";
const SLIDER_ID = /^gen_(raw|pca|attr_strength|own)_(\d+)$/;

// One page, one Generate tab: this module's state is the page's (not shared between visitors).
const page = {
  sync: null,        // the last sync message (parsed)
  version: null,
  values: [],        // mirrored slider positions: raw…, PCA…, attribute strengths…, own directions…
  own: [],           // the visitor's own directions (Float32Array each), from the server
  targets: [],       // attribute target values (dropdowns)
  edited: false,
  layout: null,      // parsed layout of the current checkpoint (layout.js)
  layoutUrl: null,   // the URL the layout came from (one per checkpoint and kind of attribute direction)
  decoder: null,     // {decode(z)} once ready
  decoderKey: null,
  mode: "loading",   // "loading" | "page" | "server"
  problem: "",
  shared: null,      // the shared modules, imported once
  listening: false,
  busy: false,
  dirty: false,
  moveStarted: 0,    // performance.now() of the oldest move not yet painted (for the painted event)
  imgSync: 0,        // the pending timer that copies the canvas into the <img>
};

async function shared(base) {
  if (!page.shared) {
    const load = (name) => import(new URL(base + name, document.baseURI).href);
    const [layout, compose, latentString, decoder, paint] = await Promise.all(
      ["layout.js", "compose.js", "latent_string.js", "decoder.js", "paint.js"].map(load));
    page.shared = {layout, compose, latentString, decoder, paint};
  }
  return page.shared;
}

function setStatus(text, mode) {
  const box = document.getElementById(STATUS_ID);
  const line = box && (box.querySelector(".cvae-decoder-status") || box);
  if (line) {
    line.textContent = text;
    line.dataset.mode = mode;
  }
  document.body.dataset.cvaeDecoder = mode;
}

function fallBack(problem) {
  page.mode = "server";
  page.problem = problem;
  page.decoder = null;
  setStatus(`Faces are decoded on the server: ${problem}.`, "server");
}

/** Adopt a sync message from the server (a JSON string). Called by the textbox's change event and on page load. */
export async function sync(text) {
  let msg = null;
  try { msg = JSON.parse(text || "null"); } catch (e) { msg = null; }
  if (msg && msg.own_only && Array.isArray(msg.own) && page.sync) return adoptOwn(msg);
  if (msg && msg.layout_only && typeof msg.layout === "string" && page.sync) return adoptLayout(msg);
  if (!msg || !Array.isArray(msg.values) || msg.v === page.version) return [];
  page.version = msg.v;
  page.sync = msg;
  page.values = msg.values.map(Number);
  if (Array.isArray(msg.targets)) page.targets = msg.targets.slice();
  page.own = (msg.own || []).map((v) => Float32Array.from(v));
  page.edited = false;
  listen();
  await prepare(msg);
  // Paint the synced face too: after in-page edits the <img> holds the page's face, and a server face equal to
  // the one Gradio last drew (reset twice, the same seed again) would not be redrawn by Gradio.
  if (page.mode === "page") render();
  return [];
}

/** The visitor's directions changed (made, imported, cleared): new vectors, their sliders back at 0, same face. */
function adoptOwn(msg) {
  if (msg.v === page.version) return [];
  page.version = msg.v;
  const s = page.sync.slots;
  const start = s.raw + s.pca + s.attr;
  const moved = page.values.slice(start).some((v) => v !== 0);
  for (let k = start; k < page.values.length; k++) page.values[k] = 0;
  page.own = msg.own.map((v) => Float32Array.from(v));
  if (moved) schedule();
  return [];
}

/** The attribute target dropdowns changed (a page-only Gradio event passes their values). */
export function targets(...values) {
  page.targets = values;
  if (page.values.slice(page.sync ? page.sync.slots.raw + page.sync.slots.pca : 0).some((v) => v !== 0)) {
    page.edited = true;
    schedule();
  }
  return [];
}

/** The checkpoint's layout (what each slider moves along), fetched once per layout URL: the page composes with it
 * in every mode (share links and saving need the latent even where the server decodes). */
async function loadLayout(msg) {
  if (page.layoutUrl === msg.layout && page.layout) return page.layout;
  const mods = await shared(msg.shared);
  const response = await fetch(new URL(msg.layout, document.baseURI));
  if (!response.ok) throw new Error(`the layout file answered HTTP ${response.status}`);
  const layout = mods.layout.parseLayout(await response.json());
  page.layout = layout;
  page.layoutUrl = msg.layout;
  return layout;
}

async function prepare(msg) {
  let layout;
  try {
    if (msg.layout) layout = await loadLayout(msg);
  } catch (e) {
    return fallBack(e && e.message ? e.message : String(e));
  }
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    return fallBack("this browser has no WebAssembly");
  }
  if (msg.problem) return fallBack(msg.problem);
  if (!msg.runtime) return fallBack("onnxruntime-web is not available on this server");
  // One decoder per checkpoint: a new layout of the same checkpoint (another kind of attribute direction) keeps it.
  const key = `${msg.decoder}|${msg.runtime}`;
  if (page.decoderKey === key && (page.mode === "page" || page.mode === "server")) {
    if (page.mode === "page" && page.edited) schedule();
    return;
  }
  page.decoderKey = key;
  page.mode = "loading";
  page.decoder = null;
  setStatus("Loading the in-page decoder…", "loading");
  const started = performance.now();
  try {
    const mods = await shared(msg.shared);
    let ort;
    try {
      ort = await import(new URL(msg.runtime + "ort.wasm.min.mjs", document.baseURI).href);
    } catch (e) {
      throw new Error(`onnxruntime-web failed to load (${e.message || e})`);
    }
    ort.env.wasm.wasmPaths = new URL(msg.runtime, document.baseURI).href;
    ort.env.wasm.numThreads = 1;
    const decoder = await mods.decoder.loadDecoder(ort, new URL(msg.decoder, document.baseURI).href,
                                                   {latentDim: layout.latentDim, resolution: layout.resolution});
    if (page.decoderKey !== key) return;  // a newer checkpoint arrived while this one loaded
    page.decoder = decoder;
    page.mode = "page";
    page.problem = "";
    const ms = Math.round(performance.now() - started);
    setStatus("Faces are decoded in your browser (onnxruntime-web, WebAssembly).", "page");
    document.dispatchEvent(new CustomEvent("cvae:decoder-ready", {detail: {ms}}));
    if (page.edited) schedule();
  } catch (e) {
    if (page.decoderKey === key) fallBack(e && e.message ? e.message : String(e));
  }
}

/** The visitor picked another kind of attribute direction: the same face and slider positions, composed with the
 * new layout's directions. */
async function adoptLayout(msg) {
  if (msg.v === page.version) return [];
  page.version = msg.v;
  page.sync = {...page.sync, layout: msg.layout};
  await prepare(page.sync);
  if (page.values.some((v, i) => i >= page.sync.slots.raw && v !== 0)) {
    page.edited = true;
    schedule();
  }
  return [];
}

function listen() {
  if (page.listening) return;
  page.listening = true;
  // Native listeners, not Gradio events: a Gradio event on a slider costs a request (or, page-only, ~25 ms of
  // Gradio's own bookkeeping per move). Both the range and the number box fire "input".
  document.addEventListener("input", onInput, true);
}

function onInput(ev) {
  const target = ev.target;
  if (!(target instanceof HTMLInputElement) || !page.sync) return;
  const holder = target.closest("[id^='gen_']");
  const m = holder && SLIDER_ID.exec(holder.id);
  if (!m) return;
  const value = Number(target.value);
  if (!Number.isFinite(value)) return;
  const slots = page.sync.slots;
  const offset = {raw: 0, pca: slots.raw, attr_strength: slots.raw + slots.pca,
                  own: slots.raw + slots.pca + slots.attr}[m[1]];
  const index = offset + Number(m[2]);
  if (index >= page.values.length) return;
  page.values[index] = value;
  page.edited = true;
  if (!page.moveStarted) page.moveStarted = ev.timeStamp || performance.now();
  schedule();
}

function schedule() {
  if (page.mode === "server") {
    clickDecodeButton();
    return;
  }
  // Decode at once (not on the next frame): the face is then painted on the frame after the move. A move during a
  // decode only marks the face dirty; the newest positions are decoded next, so no move is lost and none queue.
  if (page.mode === "page") render();
}

function clickDecodeButton() {
  const el = document.getElementById(DECODE_BUTTON_ID);
  const button = el && (el.tagName === "BUTTON" ? el : el.querySelector("button"));
  if (button) button.click();
}

/** The latent the sliders show now (Float32Array), composed in the page. */
export function currentLatent() {
  const msg = page.sync;
  if (!msg || !page.shared || !page.layout) return null;
  const s = msg.slots;
  const v = page.values;
  const z = page.shared.compose.compose(page.layout, Float32Array.from(msg.base), v.slice(0, s.raw),
                                        v.slice(s.raw, s.raw + s.pca), page.targets,
                                        v.slice(s.raw + s.pca, s.raw + s.pca + s.attr));
  // the visitor's own directions add strength · vector, as ui.generate.own.add_own does on the server
  const own = v.slice(s.raw + s.pca + s.attr);
  page.own.forEach((vec, k) => {
    const strength = Number(own[k]);
    if (!Number.isFinite(strength) || strength === 0 || vec.length !== z.length) return;
    for (let i = 0; i < z.length; i++) z[i] = Math.fround(z[i] + Math.fround(strength) * vec[i]);
  });
  return z;
}

/** The base latent of the last sync message (the face the server set), as a plain array. */
export function syncedBase() {
  return page.sync ? page.sync.base.slice() : null;
}

async function render() {
  if (page.busy) { page.dirty = true; return; }
  page.busy = true;
  try {
    do {
      page.dirty = false;
      const started = page.moveStarted;
      page.moveStarted = 0;
      const z = currentLatent();
      if (!z || !page.decoder) return;
      const rgba = await page.decoder.decode(z);
      if (!await paintFace(rgba, page.layout.resolution)) return;
      caption();
      document.dispatchEvent(new CustomEvent("cvae:painted", {detail: {ms: started ? performance.now() - started : 0}}));
    } while (page.dirty);
  } catch (e) {
    fallBack(`decoding in the page failed (${e && e.message ? e.message : e})`);
    clickDecodeButton();
  } finally {
    page.busy = false;
  }
}

/** Paint the face into a canvas laid over the server's <img> (putImageData: on screen with the next frame, no image
 * decode in between), then bring the <img> up to date when the page is idle, so saving, copying and anything else
 * that reads the <img> sees the same face. A new face from the server replaces both (Gradio redraws the HTML). */
async function paintFace(rgba, R) {
  const holder = document.querySelector(`#${IMAGE_ID} .cvae-face`);
  const img = holder && holder.querySelector("img");
  if (!img) return false;
  let canvas = holder.querySelector("canvas.cvae-page-face");
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.className = "cvae-page-face";
    holder.insertBefore(canvas, img);
  }
  await page.shared.paint.paintRgba(canvas, rgba, R);
  holder.classList.add("cvae-page-painted");
  clearTimeout(page.imgSync);
  page.imgSync = setTimeout(() => { img.src = canvas.toDataURL("image/png"); }, 0);
  return true;
}

function caption() {
  const el = document.querySelector(`#${IMAGE_ID} .cvae-caption`);
  if (el && page.sync) el.textContent = page.sync.caption + (page.edited ? " · edited" : "");
}

/** For events whose Python side needs the face the page shows (the server-decoding fallback, "Copy latent"): their
 * inputs (state, the hidden values box, the attribute targets…) with the page's slider mirror filled in. The server
 * composes the same latent from it (vae_core.slider_layout), so it never depends on this page's arithmetic. */
export function withValues(state, _packed, ...rest) {
  const packed = page.sync ? JSON.stringify({v: page.sync.v, values: page.values}) : _packed;
  return [state, packed, ...rest];
}

/** "Copy latent" put the string in the text box: put it on the clipboard too, where the browser allows it. */
export async function toClipboard(text) {
  if (text && navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); } catch (e) { /* the text box still shows it */ }
  }
  return [];
}

/** "Show model pixels": the face (and any other smooth image) without smoothing. */
export function showModelPixels(on) {
  document.body.classList.toggle("cvae-show-pixels", !!on);
  return [];
}

function download(href, name) {
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Save the face shown: at display size ("display", as the page shows it, smoothing included) or the model's own
 * pixels ("model", R×R). Made in the page from the face it shows: no request. */
export async function saveFace(kind) {
  const img = document.querySelector(`#${IMAGE_ID} img`);
  if (!img || !img.naturalWidth) return [];
  const name = `face-${page.sync ? page.sync.model : "cvae"}${page.edited ? "-edited" : ""}`;
  if (kind === "model") {
    download(img.src, `${name}-${img.naturalWidth}px.png`);
    return [];
  }
  const box = img.getBoundingClientRect();
  const size = Math.max(img.naturalWidth, Math.round(box.width) || 256);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = !document.body.classList.contains("cvae-show-pixels");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, 0, 0, size, size);
  download(canvas.toDataURL("image/png"), `${name}-${size}px.png`);
  return [];
}

/** A link to this page that opens the face shown (the latent string in the URL's "face" parameter). */
export async function shareLink() {
  const z = currentLatent();
  if (!z || !page.sync) return ["The face is still loading; try again in a moment."];
  const url = new URL(window.location.href);
  url.search = "";
  url.hash = "";
  url.searchParams.set(SHARE_PARAM, page.shared.latentString.formatLatent(z, page.sync.model));
  await toClipboard(url.href);
  return [url.href];
}

/** The latent string of a share link this page was opened with ("" if none). */
export function sharedLatent() {
  const text = new URLSearchParams(window.location.search).get(SHARE_PARAM);
  return [text ? text.slice(0, 4096) : ""];
}
