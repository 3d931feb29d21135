"""The latent map: a plotly figure built in Python, drawn by plotly.js inside a custom ``gr.HTML``.

``gr.Plot`` has no click event, so the map is a ``gr.HTML`` whose ``js_on_load`` draws the figure
(``props.value``, re-drawn on every new value through ``watch``) and reports clicks with
``trigger('pick', {...})``: ``{index}`` for a dataset point, ``{x, y}`` (data coordinates) for empty
space. Python handles ``pick`` events like any other event. The component's template, style and script are
``ui/static/map_plot.{html,css,js}``.

Offline: plotly.js is the copy inside the installed ``plotly`` package, served by Gradio as a static
file and loaded through the component's ``head`` (once per page). Hovering a point shows its face from
a thumbnail atlas (one PNG of all 32×32 thumbnails, written once per map into the UI cache and served
the same way), so hovering costs no request.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly
from PIL import Image

from ..common.page_code import call_js, file_url, read_ui
from . import colors

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
ATLAS_COLS = 64
MAX_CATEGORIES = 12
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#ad494a")
OTHER_COLOR = "#c7c7c7"
NO_COLOR = colors.NO_COLOR
#: plotly's colour scale for continuous colourings (perceptually uniform, readable in grey)
COLORSCALE = "Viridis"


def static_plotly(cache_dir: Path) -> Path:
    """plotly.js copied (once) into the app's cache folder: served from there, not from site-packages."""
    target = Path(cache_dir) / "static" / "plotly.min.js"
    if not target.is_file() or target.stat().st_size != PLOTLY_JS.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        shutil.copyfile(PLOTLY_JS, tmp)
        os.replace(tmp, target)
    return target


def plotly_head(cache_dir: Path) -> str:
    return f'<script src="{file_url(static_plotly(cache_dir))}"></script>'


def preload_plotly_js(cache_dir: Path, delay_ms: int = 1500) -> str:
    """For a page-load event: fetch and parse plotly.js (3.5 MB) once the page has drawn its first face, so
    the map and the heatmap find it ready. Gradio loads a component's ``head`` only when the component mounts,
    i.e. when its tab is first opened: that made plotly's download and parse part of the map's first paint.
    The component's own ``head`` tag then finds this script by its ``src`` and does not load it again
    (``ui/static/plotly_preload.js``)."""
    return call_js("plotly_preload.js", "preloadPlotly", file_url(static_plotly(cache_dir)), int(delay_ms))


def plotly_component_js(body: str) -> str:
    """A plotly component's ``js_on_load``: ``ui/static/wait_plotly.js`` (``waitPlotly``, shared by the map and
    the heatmap) followed by the component's own body ``ui/static/<body>``. Concatenated here rather than
    ``import()``-ed by the body: ``js_on_load`` runs as a plain function, and an import would make it
    asynchronous, registering ``watch('value', ...)`` only after a fetch (a value set meanwhile would be
    missed) and making the component depend on the static route to draw at all."""
    return read_ui("wait_plotly.js") + read_ui(body)


# -- the thumbnail atlas --------------------------------------------------------------------------------
def atlas_path(cache_dir: Path, thumbnails: np.ndarray, tag: str) -> Path:
    """Write (once) a PNG atlas of thumbnails uint8 [N, t, t, 3], ATLAS_COLS per row; returns its path."""
    digest = hashlib.sha256(thumbnails.tobytes()).hexdigest()[:12]
    path = Path(cache_dir) / "atlas" / f"{tag}-{digest}.png"
    if path.is_file():
        return path
    n, t = len(thumbnails), thumbnails.shape[1]
    rows = max(1, math.ceil(n / ATLAS_COLS))
    sheet = np.full((rows * t, ATLAS_COLS * t, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, ATLAS_COLS)
        sheet[r * t:(r + 1) * t, c * t:(c + 1) * t] = thumbnails[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{id(sheet)}.png")
    Image.fromarray(sheet).save(tmp, format="PNG", optimize=False)
    tmp.replace(path)
    return path


# -- the figure -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Marker:
    """A special point drawn on top of the map: the upload, the Generate face, the last pick."""

    name: str
    xy: tuple[float, float]
    symbol: str
    color: str


@dataclass(frozen=True)
class Separation:
    """How well a map keeps faces of one attribute value together: the mean share of each face's k nearest
    map neighbours that share its value (``agreement``), against the share expected by chance (``chance`` =
    Σ p_v², the same labels shuffled)."""

    attribute: str
    agreement: float
    chance: float
    k: int = 10

    @property
    def lift(self) -> float:
        return self.agreement - self.chance

    def sentence(self, best: bool = False) -> str:
        """One line saying what the colours show, for the map's status."""
        which = ", the attribute this map separates best" if best else ""
        return (f"Colours show **{self.attribute.replace('_', ' ')}**{which}: {100 * self.agreement:.0f}% of each "
                f"face's {self.k} nearest map neighbours share its value (chance: {100 * self.chance:.0f}%).")


def separation(coords: np.ndarray, labels: np.ndarray, names, k: int = 10) -> list[Separation]:
    """:class:`Separation` of every attribute on a 2-D map, best first (faces with unknown values skipped)."""
    from sklearn.neighbors import NearestNeighbors

    xy = np.asarray(coords, np.float64)
    if len(xy) <= k or labels is None:
        return []
    nbrs = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    out = []
    for a, name in enumerate(names):
        col = labels[:, a]
        ok = col >= 0
        if ok.sum() <= k or len(np.unique(col[ok])) < 2:
            continue
        same = (col[nbrs] == col[:, None])[ok].mean()
        p = np.unique(col[ok], return_counts=True)[1] / ok.sum()
        out.append(Separation(name, float(same), float((p**2).sum()), k))
    return sorted(out, key=lambda s: -s.lift)


def color_choices(schema) -> list[tuple[str, str]]:
    """The dropdown's label choices only ("none" and each attribute by its readable title): what a checkpoint
    offers before its explorer is at hand. :func:`ui.map.tab.color_options` gives the full list."""
    return [c.option for c in colors.choices(schema.names if schema is not None else (), (), (), (), recon=False)]


def _r(a: np.ndarray) -> list[float]:
    return np.round(np.asarray(a, np.float64), 3).tolist()


def _categories(col: np.ndarray, names: dict[int, str] | None = None) -> list[tuple[int | None, str, np.ndarray]]:
    """Groups (value, legend name, point indices) per value; values beyond the cap (the smallest) and unknown
    labels go to one "other / unknown" group (value None)."""
    values, counts = np.unique(col, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    known = [v for v in values[order] if v >= 0]
    shown = known[: MAX_CATEGORIES - 1] if len(known) > MAX_CATEGORIES else known
    names = names or {}
    groups: list[tuple[int | None, str, np.ndarray]] = [
        (int(v), names.get(int(v), f"value {int(v)}"), np.flatnonzero(col == v)) for v in sorted(shown)]
    rest = np.flatnonzero(~np.isin(col, shown))
    if len(rest):
        groups.append((None, "other / unknown", rest))
    return groups


def marker_trace(m: Marker, meta: str = "marker") -> dict[str, Any]:
    """One special point as a plotly trace (``meta`` tags it: clicks and selections ignore it)."""
    return {
        "type": "scatter", "mode": "markers+text", "name": m.name, "meta": meta,
        "x": [round(m.xy[0], 4)], "y": [round(m.xy[1], 4)], "text": [m.name], "textposition": "top center",
        "hovertemplate": m.name + "<extra></extra>",
        "marker": {"size": 18, "symbol": m.symbol, "color": m.color, "line": {"width": 2, "color": "#000"}},
    }


def _selected_in(idx: np.ndarray, selected: np.ndarray) -> list[int]:
    """Positions within one trace (its dataset indices ``idx``) of the selected faces."""
    return np.flatnonzero(np.isin(idx, selected)).tolist()


def _colour_range(values: np.ndarray) -> tuple[float, float]:
    """The colour scale's ends: the 1st and 99th percentiles, so a few extreme faces (the worst
    reconstructions) do not squeeze every other face into one colour. Faces beyond them take the end colours."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [1, 99]))
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def figure(map_data, color_by: str, markers: list[Marker], atlas_url: str, title: str,
           key: str, value_names: dict[int, str] | None = None,
           value_colours: dict[int, str] | None = None, continuous: "colors.Continuous | None" = None,
           selected=(), revision: str = "") -> dict[str, Any]:
    """The JSON the map component draws. Each dataset trace is tagged ``meta: "dataset"`` and its points
    carry their dataset index in ``customdata``; marker traces carry none (clicks on them are ignored).

    Colours: an attribute (``color_by``, a category per value: legend entries are the values' names;
    ``value_colours``, hex, e.g. measured hair colours, replace the palette for the values they give), or
    ``continuous`` values (one trace on a colour scale with a colour bar), or none. ``selected``: dataset
    indices drawn as selected (a selection survives a redraw). ``revision``: plotly's ``uirevision``, so zoom
    and pan survive a change of colours on the same map."""
    b = map_data.bundle
    xy = np.asarray(map_data.coords, np.float64)
    ids = [str(i) for i in b.ids]
    picked = np.asarray(list(selected), np.int64)
    traces: list[dict[str, Any]] = []
    col = None
    if continuous is None and color_by != NO_COLOR and b.schema is not None and color_by in b.schema.names:
        col = b.labels[:, b.schema.index(color_by)]
    shown = colors.attribute_title(color_by)
    if continuous is not None:
        idx = np.arange(len(xy))
        lo, hi = _colour_range(np.asarray(continuous.values, np.float64))
        traces.append({
            "type": "scatter", "mode": "markers", "name": continuous.title, "meta": "dataset", "showlegend": False,
            "x": _r(xy[:, 0]), "y": _r(xy[:, 1]), "customdata": idx.tolist(), "text": ids,
            "hovertemplate": "%{text}<br>" + continuous.title + " = %{marker.color:" + continuous.fmt + "}<extra></extra>",
            "marker": {"size": 6, "opacity": 0.85, "color": np.round(np.asarray(continuous.values, np.float64), 5).tolist(),
                       "colorscale": COLORSCALE, "cmin": lo, "cmax": hi, "line": {"width": 0},
                       "colorbar": {"title": {"text": continuous.title, "side": "right"}, "thickness": 12,
                                    "len": 0.8, "x": 1.0}},
        })
    else:
        groups = _categories(col, value_names) if col is not None else [(None, "faces", np.arange(len(xy)))]
        for gi, (value, name, idx) in enumerate(groups):
            color = OTHER_COLOR if value is None else (value_colours or {}).get(value) or PALETTE[gi % len(PALETTE)]
            traces.append({
                "type": "scatter", "mode": "markers", "name": name if col is not None else "faces",
                "meta": "dataset", "x": _r(xy[idx, 0]), "y": _r(xy[idx, 1]), "customdata": idx.tolist(),
                "text": [ids[i] for i in idx],
                "hovertemplate": "%{text}" + (f"<br>{shown} = {name}" if col is not None else "") + "<extra></extra>",
                # a thin outline keeps light measured colours (white, platinum hair) visible on the light background
                "marker": {"size": 6, "color": color, "opacity": 0.8,
                           "line": {"width": 0.5, "color": "rgba(0,0,0,0.35)"} if value_colours else {"width": 0}},
            })
    for t in traces:
        if len(picked):
            t["selectedpoints"] = _selected_in(np.asarray(t["customdata"]), picked)
        t["selected"] = {"marker": {"opacity": 1.0}}
        t["unselected"] = {"marker": {"opacity": 0.2}}
    traces += [marker_trace(m) for m in markers]
    layout = {
        "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
        # A vertical toolbar at the right edge: across the top it covered the end of the title.
        "modebar": {"orientation": "v"},
        "height": 560, "margin": {"l": 40, "r": 10, "t": 40, "b": 36},
        "hovermode": "closest", "dragmode": "pan", "clickmode": "event",
        "legend": {"title": {"text": shown if col is not None else ""}, "itemsizing": "constant"},
        "xaxis": {"zeroline": False, "showgrid": False, "title": {"text": f"{map_data.method.upper()} 1"}},
        "yaxis": {"zeroline": False, "showgrid": False, "title": {"text": f"{map_data.method.upper()} 2"}},
        "plot_bgcolor": "#fafafa", "paper_bgcolor": "rgba(0,0,0,0)",
    }
    if revision:
        layout["uirevision"] = revision
    thumb = int(b.thumbnails.shape[1]) if len(b.thumbnails) else 32
    return {"key": key, "method": map_data.method, "data": traces, "layout": layout,
            "atlas": {"url": atlas_url, "cols": ATLAS_COLS, "size": thumb, "n": len(b.thumbnails)}}


# -- the component's template, style and script (ui/static/map_plot.*) --------------------------------------
TEMPLATE = read_ui("map_plot.html").strip()
CSS = read_ui("map_plot.css")
JS_ON_LOAD = plotly_component_js("map_plot.js")
