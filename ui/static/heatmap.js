// The DCI heatmap's js_on_load body (ui/analysis/heatmap.py, after wait_plotly.js): runs as a function of
// element, trigger, props, server, upload and watch. Draws props.value (the figure JSON) with plotly.js,
// redraws or clears it on every new value, and reports a click on a cell with
// trigger('focus_dim', {dim, attribute, model_id}).
let current = null;
const q = (s) => element.querySelector(s);
function bind(gd) {
  gd._cvaeBound = true;
  gd.on('plotly_click', (ev) => {
    const p = ev.points && ev.points[0];
    if (!p || !current) return;
    const row = Array.isArray(p.pointNumber) ? p.pointNumber[0] : p.pointIndex && p.pointIndex[0];
    const dim = (typeof p.customdata === 'number') ? p.customdata : current.dims[row];
    if (dim === undefined || dim === null) return;
    trigger('focus_dim', {dim: dim, attribute: p.x, model_id: current.model_id});
  });
  new ResizeObserver(() => { if (gd._fullLayout && gd.offsetWidth) Plotly.Plots.resize(gd); }).observe(gd);
}
function render() {
  let v = props.value;
  if (typeof v === 'string') { try { v = JSON.parse(v || 'null'); } catch (err) { v = null; } }
  const gd = q('.cvae-heat');
  if (!gd) return;
  if (!v || !v.data) {
    current = null;
    if (window.Plotly && gd._fullLayout) Plotly.purge(gd);
    gd.dataset.key = '';
    return;
  }
  current = v;
  waitPlotly('.cvae-heat-status', () => {
    gd.style.height = `${v.height}px`;
    Plotly.react(gd, v.data, v.layout, {displaylogo: false, responsive: true,
                                         modeBarButtonsToRemove: ['select2d', 'lasso2d', 'zoom2d', 'pan2d']});
    gd.dataset.key = v.key;
    if (!gd._cvaeBound) bind(gd);
  });
}
render();
watch('value', render);
