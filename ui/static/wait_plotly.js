// A js_on_load fragment, not a module: ui/map/plotmap.py puts it in front of the map's and the heatmap's
// js_on_load bodies (map_plot.js, heatmap.js), which call waitPlotly(statusSelector, cb).
// Calls cb once the component's head script has loaded plotly.js (polling every 25 ms), or after 5 s writes
// that it failed into the statusSelector element inside the component.
function waitPlotly(statusSelector, cb, tries) {
  if (window.Plotly) return cb();
  if ((tries || 0) > 200) { element.querySelector(statusSelector).textContent = 'plotly.js failed to load'; return; }
  setTimeout(() => waitPlotly(statusSelector, cb, (tries || 0) + 1), 25);
}
