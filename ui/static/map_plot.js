// The latent map's js_on_load body (ui/map/plotmap.py, after wait_plotly.js): runs as a function of
// element, trigger, props, server, upload and watch. Draws props.value (the figure JSON) with plotly.js,
// redraws it on every new value, shows a hovered point's face from the thumbnail atlas and reports clicks
// with trigger('pick', ...): {index} for a dataset point, {x, y} (data coordinates) for empty space.
const TIP = 72;
let lastPointClick = null;  // {x, y, t} of the last click plotly attributed to a point
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
  // Plotly reports clicks on points only; a click on empty space is turned into data coordinates here.
  gd.addEventListener('click', (e) => {
    const lp = lastPointClick;
    if (!gd._fullLayout || (lp && lp.x === e.clientX && lp.y === e.clientY && performance.now() - lp.t < 1000)) return;
    const fl = gd._fullLayout, bb = gd.getBoundingClientRect();
    const px = e.clientX - bb.left - fl._size.l, py = e.clientY - bb.top - fl._size.t;
    if (px < 0 || py < 0 || px > fl._size.w || py > fl._size.h) return;
    trigger('pick', {x: fl.xaxis.p2l(px), y: fl.yaxis.p2l(py), method: current.method});
  });
  new ResizeObserver(() => { if (gd._fullLayout && gd.offsetWidth) Plotly.Plots.resize(gd); }).observe(gd);
}
function render() {
  let v = props.value;
  if (typeof v === 'string') { try { v = JSON.parse(v || 'null'); } catch (err) { v = null; } }
  const gd = q('.cvae-plot');
  if (!gd || !v || !v.data) return;
  current = v;
  waitPlotly('.cvae-map-status', () => {
    Plotly.react(gd, v.data, v.layout, {displaylogo: false, responsive: true, scrollZoom: true,
                                         modeBarButtonsToRemove: ['select2d', 'lasso2d']});
    gd.dataset.key = v.key;
    gd.dataset.method = v.method;
    if (!gd._cvaeBound) bind(gd);
  });
}
render();
watch('value', render);
