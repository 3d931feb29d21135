// The static page's status line: what the page is doing (loading, ready) or why it cannot work.
//
// Why one module: every failure the page can meet (a file missing or damaged, no WebAssembly, a decode that
// throws) ends here as one readable sentence, and the page's state is mirrored on <body data-state> so styles and
// tests can tell "still loading" from "ready" from "failed" without parsing the text.
//
// Exports:
//   setStatus(state, text)   state: "loading" | "ready" | "error"
//   formatBytes(n) -> string e.g. "3.4 MB"

const ELEMENT_ID = "status";

export function setStatus(state, text) {
  document.body.dataset.state = state;
  const el = document.getElementById(ELEMENT_ID);
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", state === "error");
}

export function formatBytes(n) {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
