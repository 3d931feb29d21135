// Decoded pixels onto the page: into a <canvas>, or into an <img> (Gradio's image component shows an <img>).
//
// Why its own module: the app paints into Gradio's <img>, the static page into its own element; both need the
// "resolved once it is on screen" promise, so that the next frame's decode starts after this one is shown.
//
// Exports:
//   paintRgba(target, rgba, R) -> Promise<void>
//       target: a <canvas> (resized to R×R if needed, then putImageData) or an <img> (drawn on a canvas made in
//       its document, then src = toDataURL("image/png")). rgba: Uint8ClampedArray of R·R·4 bytes (decoder.js
//       toRgba). Resolves when painted (for an <img>: once the new src is decoded, or once a later paint replaced
//       it); rejects with an Error if the target is neither, the pixels have the wrong size or the image fails.

function putPixels(canvas, rgba, R) {
  if (canvas.width !== R) canvas.width = R;
  if (canvas.height !== R) canvas.height = R;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this browser gives no 2D canvas to paint the face into");
  const image = ctx.createImageData(R, R);
  image.data.set(rgba);
  ctx.putImageData(image, 0, 0);
}

function waitForImage(img, src) {
  // The same face again (a move that rounds to the same pixels): already shown, and a browser need not fire
  // another load event for an unchanged src.
  if (img.getAttribute("src") === src && img.complete && img.naturalWidth > 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      img.removeEventListener("load", done);
      img.removeEventListener("error", failed);
      resolve();
    };
    const failed = () => {
      img.removeEventListener("load", done);
      img.removeEventListener("error", failed);
      // A later paint (or anything else) replacing src aborts this one: that is not a failure of the face.
      if (img.src !== src) resolve();
      else reject(new Error("the browser could not show the decoded face"));
    };
    img.addEventListener("load", done);
    img.addEventListener("error", failed);
    img.src = src;
  });
}

/** Paint R×R RGBA pixels into a <canvas> or an <img> (see the top of this file). */
export async function paintRgba(target, rgba, R) {
  if (!Number.isSafeInteger(R) || R < 1) throw new Error(`the resolution must be a whole number >= 1, got ${R}`);
  if (!rgba || rgba.length !== R * R * 4) {
    throw new Error(`the face needs ${R}·${R}·4 = ${R * R * 4} bytes of RGBA, got ${rgba ? rgba.length : 0}`);
  }
  const tag = target && typeof target.tagName === "string" ? target.tagName.toUpperCase() : "";
  if (tag === "CANVAS") {
    putPixels(target, rgba, R);
    return;
  }
  if (tag === "IMG") {
    const canvas = target.ownerDocument.createElement("canvas");
    putPixels(canvas, rgba, R);
    await waitForImage(target, canvas.toDataURL("image/png"));
    return;
  }
  const what = tag ? `<${tag.toLowerCase()}>` : String(target);
  throw new Error(`paintRgba paints into a <canvas> or an <img>, not ${what}`);
}
