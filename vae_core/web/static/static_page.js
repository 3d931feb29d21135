// The static explorer's entry point (index.html loads it): check that the browser can run the page, then load the
// rest (static_app.js) and show any failure on the status line.
//
// Why no static imports here: if any of the page's modules is missing or broken, a static import would fail the
// whole module graph before a line of it runs, leaving "Loading…" forever. Imported dynamically, the failure is an
// exception this module turns into a message. The page never ends blank or with an uncaught error.

function fail(text) {
  document.body.dataset.state = "error";
  const el = document.getElementById("status");
  if (!el) return;
  el.textContent = text;
  el.classList.add("error");
}

function message(e) {
  return e && e.message ? e.message : String(e);
}

async function main() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    fail("This browser cannot run WebAssembly, which the page needs to decode faces: use a current Firefox, " +
         "Chrome, Edge or Safari with WebAssembly turned on.");
    return;
  }
  let app;
  try {
    app = await import("./static_app.js");
  } catch (e) {
    fail(`The page's code could not be loaded (${message(e)}): upload or export the whole folder again.`);
    return;
  }
  try {
    await app.start();
  } catch (e) {
    fail(message(e));
  }
}

main();
