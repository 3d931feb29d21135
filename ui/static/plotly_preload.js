// Fetch and parse plotly.js (3.5 MB) while the page idles, so the latent map and the DCI heatmap find it
// ready when their tabs are first opened. Called once on page load (ui/map/plotmap.py preload_plotly_js).

/**
 * After delayMs, add a <script> for plotly.js at url (relative to the page) unless plotly is already
 * there or a script with that src is; the components' own head tags then find it by its src and do not
 * load it again. Returns no event outputs.
 */
export function preloadPlotly(url, delayMs) {
  setTimeout(() => {
    const src = new URL(url, document.baseURI).href;
    if (window.Plotly || Array.from(document.scripts).some((s) => s.src === src)) return;
    const script = document.createElement("script");
    script.src = src;
    document.head.appendChild(script);
  }, delayMs);
  return [];
}
