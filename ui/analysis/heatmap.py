"""The DCI importance heatmap (latent dim × attribute), drawn by plotly.js in a custom ``gr.HTML``.

Same bridge as the latent map (:mod:`ui.map.plotmap`): ``gr.Plot`` has no click event, so the figure is JSON
in the component's value, drawn by ``js_on_load`` (re-drawn on every new value through ``watch``), and a
click on a cell is reported with ``trigger('focus_dim', {dim, model_id})``; Python answers by switching to
the Generate tab with that dim's slider highlighted. plotly.js is the copy inside the installed ``plotly``
package (offline), loaded once per page through ``head`` (Gradio deduplicates the script with the map's).
The component's template, style and script are ``ui/static/heatmap.{html,css,js}``.

Rows: by default only the :data:`TOP_DIMS` active dims of largest total importance (most important first): with
one row per dim a 256-dim model drew 256 rows, nearly all grey, and made the tab 7,500 px tall. With ``all_dims``
every dim, in the Generate tab's order (by KL, most informative first), so it reads like the slider column.
Columns are the scored attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vae_core.analysis.report import Analysis

from vae_core.slider_layout import SliderLayout
from ..common.page_code import read_ui
from ..map.plotmap import plotly_component_js

ROW_PX = 22
#: Rows the heatmap shows before "show all dims".
TOP_DIMS = 12


def row_dims(layout: SliderLayout, latent_dim: int) -> list[int]:
    """Dims in slider order (by KL), then any dims without a slider (latents wider than the slots)."""
    shown = [s.dim for s in layout.raw]
    return shown + [d for d in range(latent_dim) if d not in shown]


def top_dims(importance: np.ndarray, cols: list[int], layout: SliderLayout, n: int = TOP_DIMS) -> list[int]:
    """The ``n`` active dims with the largest total importance over the scored attributes, largest first (dims
    without importance left out; a collapsed dim only if too few active ones have any)."""
    imp = np.asarray(importance, np.float64)[:, cols].sum(axis=1) if cols else np.zeros(len(importance))
    active = {s.dim: s.active for s in layout.raw}
    order = [int(d) for d in np.argsort(-imp, kind="stable") if imp[d] > 0]
    ranked = [d for d in order if active.get(d, True)] + [d for d in order if not active.get(d, True)]
    return ranked[:n]


def figure(analysis: Analysis, layout: SliderLayout, model_id: str, all_dims: bool = False) -> dict[str, Any]:
    """The JSON the heatmap component draws: importance [D, K] of the scored (non-skipped) factors, rows: the
    :func:`top_dims` (``all_dims``: every dim in slider order). Cells carry their dim in ``customdata``; ``dims``
    lists the rows' dims for the click, ``total_dims`` how many the model has."""
    card = analysis.scorecard
    imp = np.asarray(card.importance, np.float64)
    cols = [k for k, f in enumerate(card.factors) if not f.skipped]
    dims = row_dims(layout, imp.shape[0]) if all_dims else (top_dims(imp, cols, layout)
                                                            or row_dims(layout, imp.shape[0])[:TOP_DIMS])
    active = {s.dim: s.active for s in layout.raw}
    kl = {s.dim: s.kl for s in layout.raw}
    labels = [f"z{d}" + ("" if active.get(d, True) else " (collapsed)") for d in dims]
    names = [card.factors[k].name for k in cols]
    z = np.round(imp[np.ix_(dims, cols)], 4).tolist()
    hover = [[f"z{d} · KL {kl.get(d, float('nan')):.2f} nats<br>{n}: importance {imp[d, k]:.3f}"
              for n, k in zip(names, cols)] for d in dims]
    trace = {
        "type": "heatmap", "z": z, "x": names, "y": labels, "customdata": [[d] * len(cols) for d in dims],
        "text": hover, "hovertemplate": "%{text}<extra></extra>", "colorscale": "Blues", "reversescale": True, "zmin": 0,
        "colorbar": {"title": {"text": "DCI importance"}, "thickness": 12},
        "xgap": 1, "ygap": 1,
    }
    bottom = 130 if all_dims or len(cols) > 6 else 80  # room for the rotated attribute names
    height = max(320, ROW_PX * len(dims) + 40 + bottom)
    which = (f"all {len(dims)} dims" if all_dims else f"the {len(dims)} most important of {imp.shape[0]} dims")
    fig_layout = {
        "title": {"text": f"Which latent dim drives which attribute (DCI importance, {which}; click a cell to open "
                          "its slider in Generate)", "font": {"size": 13}},
        "height": height, "margin": {"l": 110, "r": 10, "t": 40, "b": bottom},
        "xaxis": {"tickangle": -45, "type": "category", "fixedrange": True},
        "yaxis": {"autorange": "reversed", "type": "category", "fixedrange": True},
        "paper_bgcolor": "rgba(0,0,0,0)", "clickmode": "event",
    }
    return {"key": f"{model_id}:{analysis.key}:{'all' if all_dims else 'top'}", "model_id": model_id, "dims": dims,
            "total_dims": int(imp.shape[0]), "height": height,
            "data": [trace], "layout": fig_layout}


TEMPLATE = read_ui("heatmap.html").strip()
CSS = read_ui("heatmap.css")
JS_ON_LOAD = plotly_component_js("heatmap.js")
