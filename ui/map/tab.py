"""Latent map: the dataset's embeddings in 2-D (UMAP, from the checkpoint's cache), coloured by an
attribute; hover shows a face, a click decodes a point (or empty space, by inverse mapping); the
uploaded image and the current Generate face are drawn as markers."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from vae_core.projection import invert_point, place_points

from . import plotmap
from ..common import validate
from ..common.errors import UserInputError, user_errors
from ..common.page_code import call_js, file_url
from ..common.images import image_file, upscale
from ..common.state import SessionState, as_array, as_latent
from ..context import AppContext
from ..generate import tab as generate_tab
from ..generate.latents import decode_one


@dataclass
class MapTab:
    color_by: gr.Dropdown
    plot: gr.HTML
    face: gr.Image
    info: gr.Markdown
    send_btn: gr.Button
    refresh_btn: gr.Button


def separations(ctx: AppContext, explorer, data) -> "list[plotmap.Separation]":
    """How well this map keeps each labelled attribute together, best first (once per checkpoint and map)."""
    b = data.bundle
    return ctx.registry.derived(explorer, f"separations-{data.method}", lambda: (
        plotmap.separation(data.coords, b.labels, b.schema.names) if b.schema is not None and b.labels is not None
        else []))


def best_separation(ctx: AppContext, explorer) -> "plotmap.Separation | None":
    """The attribute the checkpoint's map keeps together best."""
    ranked = separations(ctx, explorer, ctx.registry.map_or_fallback(explorer, ctx.settings.map_method)[0])
    return ranked[0] if ranked else None


def default_color(ctx: AppContext, explorer) -> str:
    """Open the map coloured by the attribute it separates best: a map coloured by an attribute it mixes
    looks like noise, however well the model knows it."""
    if explorer is None:
        return plotmap.NO_COLOR
    best = best_separation(ctx, explorer)
    return best.attribute if best is not None else plotmap.NO_COLOR


def map_view(ctx: AppContext, explorer, color_by: str, upload_mu, upload_name: str, current_z):
    """(figure JSON, method, status text) for the map with markers for the upload and the current face."""
    data, final = ctx.registry.map_or_fallback(explorer, ctx.settings.map_method)
    schema = data.bundle.schema
    if color_by not in plotmap.color_choices(schema):
        color_by = plotmap.NO_COLOR
    atlas = ctx.registry.derived(explorer, "atlas", lambda: plotmap.atlas_path(
        ctx.settings.cache_dir, data.bundle.thumbnails, explorer.model_id))
    markers = []
    points = [("your upload" + (f" ({upload_name})" if upload_name else ""), upload_mu, "star", "#ffd700"),
              ("current Generate face", current_z, "diamond", "#ff1493")]
    for name, mu, symbol, color in points:
        if mu is not None:
            xy = place_points(data.projection, np.asarray(mu, np.float32)[None])[0]
            markers.append(plotmap.Marker(name, (float(xy[0]), float(xy[1])), symbol, color))
    title = f"{data.method.upper()} map of {len(data.coords)} faces · {data.bundle.dataset_label}"
    key = f"{explorer.model_id}:{data.method}:{color_by}:{len(markers)}"
    layout = ctx.layout(explorer)
    swatches = explorer.value_swatches().get(color_by, []) if color_by != plotmap.NO_COLOR else []
    value_colours = {sw.value: sw.hex for sw in swatches if sw.hex}
    fig = plotmap.figure(data, color_by, markers, file_url(atlas), title, key,
                         value_names=layout.value_names.get(color_by), value_colours=value_colours or None)
    ranked = separations(ctx, explorer, data)
    shown = next((s for s in ranked if s.attribute == color_by), None)
    colours = shown.sentence(best=shown is ranked[0]) if shown is not None else "Points are not coloured."
    status = (colours + " Hover a point to see its face; click a point to decode it, or click empty space to "
              "decode the latent there (inverse mapping).")
    if not final:
        status = (f"The {ctx.settings.map_method.upper()} map of this checkpoint is being computed in the "
                  "background; showing the PCA map meanwhile (reopen the tab in a minute). " + status)
    return fig, data.method, status


#: After a checkpoint switch: redraw the map if its tab is the one shown (a hidden map is drawn when opened),
#: by clicking "Refresh markers" in the page (ui/static/page_events.js).
REDRAW_IF_SHOWN_JS = call_js("page_events.js", "clickIfShown", "map_plot", "map_refresh")


def pick(ctx: AppContext, st: SessionState, x=None, y=None, index=None):
    """Decode a clicked dataset point (index) or a position on the map (x, y). → (face, text, state)."""
    explorer = ctx.explorer(st)
    data = explorer.map(st.map_method) if st.map_method else ctx.registry.map_or_fallback(
        explorer, ctx.settings.map_method)[0]
    b = data.bundle
    if index is not None and index != "" and validate.number(index, "the point index") >= 0:
        i = validate.whole(index, "the point index")
        if not 0 <= i < len(b.mu):
            raise UserInputError(f"point {i} is not on the map (it has {len(b.mu)} points)")
        z = b.mu[i]
        label = ""
        if b.schema is not None and b.labels is not None:
            layout = ctx.layout(explorer)
            label = " · " + "; ".join(f"{n.replace('_', ' ')}: {layout.value_name(n, v) if v >= 0 else 'unknown'}"
                                      for n, v in zip(b.schema.names, b.labels[i]))
        text = f"Dataset face **{b.ids[i]}** (point {i}){label}: decoded from its posterior mean."
    else:
        if x is None or y is None:
            raise UserInputError("click a point or an empty spot of the map (x and y are needed)")
        xy = np.array([validate.number(x, "x"), validate.number(y, "y")], np.float32)
        z = invert_point(data.projection, xy)
        text = f"Empty spot ({xy[0]:.2f}, {xy[1]:.2f}): latent blended from the nearest faces, decoded."
    return image_file(upscale(decode_one(explorer, z)), ctx.image_dir), text, st.replace(picked=as_latent(z))


def build(ctx: AppContext, state: gr.State, explorer, gen: generate_tab.GenerateTab) -> tuple[MapTab, list]:
    schema = explorer.embedding().schema if explorer is not None else None
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                color_by = gr.Dropdown(plotmap.color_choices(schema), value=default_color(ctx, explorer),
                                       label="Colour by attribute", elem_id="map_color", scale=3)
                refresh_btn = gr.Button("Refresh markers", elem_id="map_refresh", scale=1)
            plot = gr.HTML(value=None, html_template=plotmap.TEMPLATE, css_template=plotmap.CSS,
                           js_on_load=plotmap.JS_ON_LOAD, head=plotmap.plotly_head(ctx.settings.cache_dir), elem_id="map_plot",
                           padding=False)
            status = gr.Markdown(elem_id="map_status")
        with gr.Column(scale=1, min_width=260):
            face = gr.Image(label="Picked face", interactive=False, elem_id="map_face", height=256, format="png")
            info = gr.Markdown(elem_id="map_info")
            send_btn = gr.Button("Send to Generate →", elem_id="map_send", variant="primary")
            # API twin of the map's click bridge (the browser sends clicks as custom event data).
            pick_x = gr.Number(visible=False, label="x")
            pick_y = gr.Number(visible=False, label="y")
            pick_index = gr.Number(visible=False, label="point index", value=-1)
            pick_btn = gr.Button(visible=False)
    tab = MapTab(color_by=color_by, plot=plot, face=face, info=info, send_btn=send_btn, refresh_btn=refresh_btn)

    @user_errors
    def show_map(st: SessionState, color: str, *values):
        explorer = ctx.explorer(st)
        validate.choice(color, "the colour attribute", plotmap.color_choices(explorer.embedding().schema))
        _, _, z = generate_tab.slider_latent(ctx, st, values)
        fig, method, text = map_view(ctx, explorer, color, as_array(st.upload_mu), st.upload_name, z)
        return fig, text, st.replace(map_method=method)

    show = dict(fn=show_map, inputs=[state, color_by, *gen.slider_inputs], outputs=[plot, status, state],
                show_progress="hidden", preprocess=False)
    # .input (a visitor's pick), not .change: a checkpoint switch sets the colour too, and redrawing a map
    # nobody looks at cost the page a second of work (ui.app redraws it after a switch only if it is shown).
    gr.on([color_by.input, refresh_btn.click], api_name="show_map", **show)

    @user_errors
    def map_pick(st: SessionState, x, y, index):
        return pick(ctx, st, x, y, index)

    pick_btn.click(map_pick, [state, pick_x, pick_y, pick_index], [face, info, state], api_name="map_pick",
                   preprocess=False)

    @user_errors
    def on_click(st: SessionState, evt: gr.EventData):
        d = evt._data or {}
        return pick(ctx, st, d.get("x"), d.get("y"), d.get("index"))

    plot.pick(on_click, [state], [face, info, state], api_visibility="private", show_progress="hidden")
    # The map is drawn when its tab is opened (see ui.app), with the markers of that moment.
    return tab, [show]
