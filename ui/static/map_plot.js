// The latent map's js_on_load body (ui/map/plotmap.py, after wait_plotly.js): runs as a function of
// element, trigger, props, server, upload and watch. Draws props.value (the figure JSON) with plotly.js,
// redraws it on every new value, shows a hovered point's face from the thumbnail atlas, reports clicks
// with trigger('pick', ...) ({index} for a dataset point, {x, y} data coordinates for empty space) and
// box/lasso selections with trigger('select', {indices}) (an empty list when the selection is cleared).
// props.marks: extra traces drawn on top (the picked face at its code's position), sent without the figure.
const TIP = 72;
const AFTER_DRAG_MS = 400;  // a click this soon after a selection ends is the drag's own mouse-up, not a pick
let lastPointClick = null;  // {x, y, t} of the last click plotly attributed to a point
let lastSelect = 0;         // performance.now() of the last selection event
let current = null;
const q = (s) => element.querySelector(s);
function showTip(ev) {
  const p = ev.points && ev.points[0];
  const tip = q('.cvae-tip');
  if (!p || !current || !current.atlas || p.data.meta !== 'dataset') { tip.style.display = 'none'; return; }
  const a = current.atlas, i = p.customdata, s = TIP / a.size;
  const col = i % a.cols, row = Math.floor(i / a.cols);
  tip.style.backgroundImage = `url("${a.url}")`;
  tip.style.backgroundSize = `${a.cols * a.size * s}px auto`;
  tip.style.backgroundPosition = `-${col * a.size * s}px -${row * a.size * s}px`;
  const wrap = q('.cvae-map-wrap').getBoundingClientRect();
  const e = ev.event || {};
  const x = (e.clientX || 0) - wrap.left, y = (e.clientY || 0) - wrap.top;
  tip.style.left = `${Math.min(Math.max(0, x + 14), wrap.width - TIP - 4)}px`;
  tip.style.top = `${Math.max(0, y - TIP - 14)}px`;
  tip.style.display = 'block';
  tip.dataset.index = String(i);
}
function distanceToPoint(gd, p, e) {
  const fl = gd._fullLayout, bb = gd.getBoundingClientRect();
  const x = bb.left + fl._size.l + fl.xaxis.l2p(p.x), y = bb.top + fl._size.t + fl.yaxis.l2p(p.y);
  return Math.hypot(e.clientX - x, e.clientY - y);
}
// The dataset faces of a plotly selection event (marker traces are not faces), each once.
function selectedFaces(ev) {
  const seen = new Set();
  for (const p of (ev && ev.points) || []) {
    if (p.data && p.data.meta === 'dataset' && Number.isInteger(p.customdata)) seen.add(p.customdata);
  }
  return Array.from(seen);
}
function reportSelection(indices) {
  lastSelect = performance.now();
  trigger('select', {indices, method: current ? current.method : ''});
}
function bind(gd) {
  gd._cvaeBound = true;
  gd.on('plotly_hover', showTip);
  gd.on('plotly_unhover', () => { q('.cvae-tip').style.display = 'none'; });
  gd.on('plotly_click', (ev) => {
    const p = ev.points && ev.points[0];
    // Plotly reports the last hovered point even when the pointer jumped elsewhere before clicking:
    // only a click within a few pixels of the point counts as a click on it.
    if (!p || !ev.event || distanceToPoint(gd, p, ev.event) > 12) return;
    lastPointClick = {x: ev.event.clientX, y: ev.event.clientY, t: performance.now()};
    if (p.data.meta === 'dataset') trigger('pick', {index: p.customdata, method: current.method});
  });
  // Box and lasso (the mode bar's select tools; shift adds to a selection): plotly reports the selection once
  // the drag ends (undefined when a click cleared it), and a double click clears it (plotly_deselect).
  gd.on('plotly_selected', (ev) => reportSelection(selectedFaces(ev)));
  gd.on('plotly_deselect', () => reportSelection([]));
  // Plotly reports clicks on points only; a click on empty space is turned into data coordinates here.
  gd.addEventListener('click', (e) => {
    const lp = lastPointClick;
    if (!gd._fullLayout || (lp && lp.x === e.clientX && lp.y === e.clientY && performance.now() - lp.t < 1000)) return;
    if (performance.now() - lastSelect < AFTER_DRAG_MS) return;
    const fl = gd._fullLayout, bb = gd.getBoundingClientRect();
    const px = e.clientX - bb.left - fl._size.l, py = e.clientY - bb.top - fl._size.t;
    if (px < 0 || py < 0 || px > fl._size.w || py > fl._size.h) return;
    trigger('pick', {x: fl.xaxis.p2l(px), y: fl.yaxis.p2l(py), method: current.method});
  });
  new ResizeObserver(() => { if (gd._fullLayout && gd.offsetWidth) Plotly.Plots.resize(gd); }).observe(gd);
}
function parsed(v) {
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v || 'null'); } catch (err) { return null; }
}
let figureOf = null, figure = null;  // props.value and its parsed figure, parsed once per new value
function currentFigure() {
  if (props.value !== figureOf) { figureOf = props.value; figure = parsed(props.value); }
  return figure;
}
// Draws the figure with the current marks on top. The figure's trace arrays keep their identity between
// calls, so plotly.react redraws only what changed: a new mark costs no recomputation of the faces.
function render() {
  const v = currentFigure();
  const gd = q('.cvae-plot');
  if (!gd || !v || !v.data) return;
  current = v;
  const marks = parsed(props.marks);
  waitPlotly('.cvae-map-status', () => {
    if (current !== v) return;  // a newer figure arrived while plotly.js was loading
    const data = Array.isArray(marks) && marks.length ? v.data.concat(marks) : v.data;
    Plotly.react(gd, data, v.layout, {displaylogo: false, responsive: true, scrollZoom: true});
    gd.dataset.key = v.key;
    gd.dataset.method = v.method;
    if (!gd._cvaeBound) bind(gd);
  });
}
render();
watch('value', render);
// Gradio takes every quoted name in js_on_load for a custom event (like 'pick' and 'select'), and an update of a
// prop named like an event carries that event's listener along: the marks prop is named without quotes.
watch(Object.keys({marks: 0}), render);
