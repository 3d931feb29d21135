// The static page's latent string box: "Copy latent" writes the face's `cvae1:` string (latent_string.js, the
// same string Python's vae_core.latent.format_latent writes) into the field and the clipboard; "Paste" reads one
// back (from the field, or from the clipboard when the field is empty), refusing another model's with a message.
//
// Why both the field and the clipboard: the clipboard is not always there (plain http:// on another host, a
// refused permission), and the field always is.
//
// Exports:
//   wireLatentBox(layout, latent, setBase)   latent() -> the face's Float32Array; setBase(z, description)

import {formatLatent, parseLatent} from "./latent_string.js";

const $ = (id) => document.getElementById(id);

function setMessage(text, ok) {
  const el = $("latent_message");
  el.textContent = text;
  el.className = `message ${ok ? "ok" : "error"}`;
}

export function wireLatentBox(layout, latent, setBase) {
  const field = $("latent_text");

  $("copy_latent").addEventListener("click", () => {
    const text = formatLatent(latent(), layout.modelId);
    field.value = text;
    const clipboard = navigator.clipboard;
    if (!clipboard || !clipboard.writeText) {
      setMessage("Copied into the field above (this page cannot reach the clipboard).", true);
      return;
    }
    clipboard.writeText(text).then(
      () => setMessage("Copied to the clipboard.", true),
      () => setMessage("Copied into the field above (the browser refused the clipboard).", true));
  });

  const paste = () => {
    let z;
    try {
      z = parseLatent(field.value, layout.latentDim, layout.modelId);
    } catch (e) {
      setMessage(e.message, false);
      return;
    }
    setMessage("Showing the pasted latent.", true);
    setBase(z, "your latent");
  };
  $("paste_latent").addEventListener("click", () => {
    // An empty field: take the clipboard's text where the browser allows it (it may ask the visitor first).
    const clipboard = navigator.clipboard;
    if (field.value.trim() || !clipboard || !clipboard.readText) {
      paste();
      return;
    }
    clipboard.readText().then((text) => {
      field.value = text;
      paste();
    }, () => setMessage("Paste a latent string into the field above, then press Paste.", false));
  });
  field.addEventListener("keydown", (e) => { if (e.key === "Enter") paste(); });
}
