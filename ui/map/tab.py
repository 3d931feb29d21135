"""Latent map: the dataset's embeddings in 2-D (UMAP, from the checkpoint's cache), coloured by an attribute, a
principal axis, one dim's KL, the reconstruction error or a direction the visitor made; hover shows a face, a click
decodes a point (or empty space, by inverse mapping); the uploaded image, the current Generate face and the picked
face are drawn where their codes lie. Faces selected with the box or lasso become a direction: a slider in
Generate (:func:`ui.generate.own.make_direction`)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from vae_core.projection import invert_point, place_points

from . import colors, plotmap, selection
from .recon_errors import ReconErrorJob, cache_file, thumbnail_errors
from ..common import validate
from ..common.errors import UserInputError, user_errors
from ..common.page_code import call_js, file_url
from ..common.images import image_file, upscale
from ..common.state import SessionState, as_array, as_latent
from ..context import AppContext
from ..generate import own as own_dirs
from ..generate import tab as generate_tab
from ..generate.latents import decode_one

#: A code placed back on the map this far (a share of the map's extent) from the clicked spot gets a note: the
#: visitor clicked a place no face's code maps to.
LANDS_AWAY = 0.05
PICK_MARKER = ("picked face", "x", "#00bfff")
#: How the generic part of the status ends: what a visitor can do on the map.
HOW_TO = ("Hover a point to see its face; click a point to decode it, or click empty space to decode the latent there "
          "(inverse mapping). Select faces with the box or lasso tool (map toolbar) to make a slider from them.")


@dataclass
class MapTab:
    color_by: gr.Dropdown
    plot: gr.HTML
    face: gr.Image
    info: gr.Markdown
    send_btn: gr.Button
    refresh_btn: gr.Button
    #: the faces selected for a direction (:class:`ui.map.selection.Selection`)
    selection: gr.State
    selection_info: gr.Markdown
    selection_gallery: gr.Gallery
    direction_name: gr.Textbox
    make_btn: gr.Button


# -- what the map can be coloured by ---------------------------------------------------------------------
def color_options(ctx: AppContext, explorer, st: SessionState | None = None) -> list[colors.ColorChoice]:
    """Every colouring this checkpoint offers this session (its own directions included)."""
    if explorer is None:
        return colors.choices((), (), (), ())
    b = explorer.embedding()
    layout = ctx.layout(explorer)
    own = [d.name for d in st.own_directions] if st is not None else []
    return colors.choices(b.schema.names if b.schema is not None else (), layout.pca_ratio, explorer.dims_by_kl,
                          own, recon=len(b.thumbnails) == len(b.mu))


def color_update(ctx: AppContext, explorer, st: SessionState | None, value: str | None = None) -> dict:
    """The dropdown's choices for this checkpoint and session; ``value`` kept where it is still offered."""
    options = color_options(ctx, explorer, st)
    keep = value if colors.find(options, value) is not None else default_color(ctx, explorer)
    return gr.update(choices=[c.option for c in options], value=keep)


def recon_job(ctx: AppContext, explorer) -> ReconErrorJob:
    """The checkpoint's reconstruction-error job (one per checkpoint version, shared by every session)."""
    def build() -> ReconErrorJob:
        b = explorer.embedding()
        file = cache_file(ctx.settings.cache_dir, explorer.checkpoint.fingerprint, b.mu, b.thumbnails)
        return ReconErrorJob(file, len(b.mu), lambda: thumbnail_errors(explorer.decode, b.mu, b.thumbnails))
    return ctx.registry.derived(explorer, "map-recon-errors", build)


@dataclass(frozen=True)
class Colouring:
    """What the map's colours show: an attribute's values (categories), continuous values, or nothing; ``note``
    says what the colours mean (or why a colouring cannot be shown yet)."""

    attribute: str = colors.NO_COLOR
    continuous: colors.Continuous | None = None
    note: str = ""


def continuous_values(ctx: AppContext, explorer, choice: colors.ColorChoice, st: SessionState | None
                      ) -> colors.Continuous | str:
    """The values of a continuous colouring, or a sentence saying why they cannot be shown now."""
    b = explorer.embedding()
    layout = ctx.layout(explorer)
    kind, _, arg = choice.value.partition(":")
    if kind == "pc":
        j = int(arg) - 1
        values = ctx.registry.derived(explorer, f"map-colour-{choice.value}", lambda: colors.pc_projection(
            b.mu, layout.mean, layout.pca_components[j], float(layout.pca_stds[j])))
        return colors.Continuous(values, f"PC{j + 1} (σ)", (
            f"Colours show where each face lies along **PC{j + 1}** ({100 * float(layout.pca_ratio[j]):.1f}% of the "
            f"variance of the codes), in standard deviations: the axis Generate's PC{j + 1} slider moves along."))
    if kind == "kl":
        d = int(arg)
        values = ctx.registry.derived(explorer, f"map-colour-{choice.value}", lambda: colors.kl_of_dim(b.mu, b.std, d))
        return colors.Continuous(values, f"KL of z[{d}] (nats)", (
            f"Colours show, per face, the **KL of z[{d}]** in nats: how much of that face's code this dim carries "
            f"(the mean over faces, {float(explorer.kl_per_dim[d]):.2f} nats, ranks it among Generate's latent "
            "dimensions)."), fmt=".2f")
    if kind == colors.RECON:
        status = recon_job(ctx, explorer).start()
        if status.state == "ready":
            t = int(b.thumbnails.shape[1])
            return colors.Continuous(status.values, "reconstruction error (MSE)", (
                f"Colours show each face's **reconstruction error**: the mean squared difference (pixel values 0–1) "
                f"between its decoded code and the face, both at {t}×{t} pixels (the checkpoint ships its faces as "
                f"{t}×{t} thumbnails, so finer detail is not counted). Bright = the model keeps the face worst."),
                fmt=".4f")
        if status.state == "running":
            return (f"The reconstruction errors are being computed in the background ({status.message}); the map is "
                    "drawn without colours meanwhile: press **Refresh markers** in a few seconds.")
        return f"The reconstruction errors are not available: {status.message}."
    if kind == "own":
        found = next((d for d in (st.own_directions if st is not None else ()) if d.name == arg), None)
        if found is None:
            return f"Your direction '{arg}' is gone (cleared, or made for another model); pick another colouring."
        values = colors.along(b.mu, layout.mean, np.asarray(found.vector, np.float32))
        return colors.Continuous(values, f"along '{arg}'", (
            f"Colours show where each face lies along your direction **'{arg}'**, in units of its Generate slider "
            "(strength 1 = the gap between the faces you selected and the rest), from the average face."))
    raise UserInputError(f"the map cannot be coloured by {choice.value!r}")


def colouring(ctx: AppContext, explorer, data, color_by: str, st: SessionState | None) -> Colouring:
    """What the map shows for the dropdown's value ``color_by`` (validated by the caller)."""
    choice = colors.find(color_options(ctx, explorer, st), color_by)
    if choice is None and isinstance(color_by, str) and color_by.startswith(colors.own_value("")):
        name = color_by[len(colors.own_value("")):]
        return Colouring(note=f"Your direction '{name}' is gone (cleared, or made for another model): the map is drawn "
                              "without colours; pick another colouring.")
    if choice is not None and choice.kind == "category":
        ranked = separations(ctx, explorer, data)
        shown = next((s for s in ranked if s.attribute == choice.value), None)
        return Colouring(attribute=choice.value, note=shown.sentence(best=shown is ranked[0]) if shown is not None
                         else f"Colours show **{choice.label}**.")
    if choice is not None and choice.kind == "continuous":
        found = continuous_values(ctx, explorer, choice, st)
        return Colouring(continuous=found, note=found.note) if isinstance(found, colors.Continuous) \
            else Colouring(note=found)
    return Colouring(note="Points are not coloured.")


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


# -- markers: where codes lie ----------------------------------------------------------------------------
def placed(data, z) -> tuple[float, float]:
    """Where a code lies on the map: the map's own placement of a latent (:func:`vae_core.projection.place_points`,
    the way :meth:`vae_core.explorer.Explorer.place` places one), not where anyone clicked."""
    xy = place_points(data.projection, np.asarray(z, np.float32)[None])[0]
    return float(xy[0]), float(xy[1])


def pick_marks(data, picked) -> list[dict]:
    """The picked face's marker (a plotly trace for the component's ``marks``), at its code's position."""
    if picked is None:
        return []
    name, symbol, colour = PICK_MARKER
    return [plotmap.marker_trace(plotmap.Marker(name, placed(data, picked), symbol, colour), meta="pick")]


def landing_note(data, clicked: np.ndarray, xy: tuple[float, float], latent_dim: int) -> str:
    """A sentence when the code decoded for a click lies far from the clicked spot (> :data:`LANDS_AWAY` of the
    map's extent), else ""."""
    coords = np.asarray(data.coords, np.float64)
    extent = float(np.max(np.ptp(coords, axis=0))) if len(coords) else 0.0
    gap = float(np.hypot(xy[0] - clicked[0], xy[1] - clicked[1]))
    if extent <= 0.0 or gap <= LANDS_AWAY * extent:
        return ""
    return (f" The nearest code the decoder knows lies at ({xy[0]:.2f}, {xy[1]:.2f}), {100 * gap / extent:.0f}% of the "
            f"map's span away (marked ×): the map is a 2-D shadow of {latent_dim} dims, and **Send to Generate** "
            "sends that code.")


def map_view(ctx: AppContext, explorer, color_by: str, upload_mu, upload_name: str, current_z,
             st: SessionState | None = None, selected=()):
    """(figure JSON, method, status text) for the map with markers for the upload and the current face; ``st``
    (the session: its own directions) and ``selected`` (dataset indices drawn as selected) are optional."""
    data, final = ctx.registry.map_or_fallback(explorer, ctx.settings.map_method)
    shown = colouring(ctx, explorer, data, color_by, st)
    atlas = ctx.registry.derived(explorer, "atlas", lambda: plotmap.atlas_path(
        ctx.settings.cache_dir, data.bundle.thumbnails, explorer.model_id))
    markers = []
    points = [("your upload" + (f" ({upload_name})" if upload_name else ""), upload_mu, "star", "#ffd700"),
              ("current Generate face", current_z, "diamond", "#ff1493")]
    for name, mu, symbol, color in points:
        if mu is not None:
            markers.append(plotmap.Marker(name, placed(data, mu), symbol, color))
    title = f"{data.method.upper()} map of {len(data.coords)} faces · {data.bundle.dataset_label}"
    drawn = "values" if shown.continuous is not None else shown.attribute
    key = f"{explorer.model_id}:{data.method}:{color_by}:{drawn}:{len(markers)}"
    layout = ctx.layout(explorer)
    swatches = explorer.value_swatches().get(shown.attribute, []) if shown.attribute != plotmap.NO_COLOR else []
    value_colours = {sw.value: sw.hex for sw in swatches if sw.hex}
    fig = plotmap.figure(data, shown.attribute, markers, file_url(atlas), title, key,
                         value_names=layout.value_names.get(shown.attribute), value_colours=value_colours or None,
                         continuous=shown.continuous, selected=selected,
                         revision=f"{explorer.model_id}:{data.method}")
    status = shown.note + " " + HOW_TO
    if not final:
        status = (f"The {ctx.settings.map_method.upper()} map of this checkpoint is being computed in the "
                  "background; showing the PCA map meanwhile (reopen the tab in a minute). " + status)
    return fig, data.method, status


#: After a checkpoint switch: redraw the map if its tab is the one shown (a hidden map is drawn when opened),
#: by clicking "Refresh markers" in the page (ui/static/page_events.js).
REDRAW_IF_SHOWN_JS = call_js("page_events.js", "clickIfShown", "map_plot", "map_refresh")


def session_map(ctx: AppContext, st: SessionState):
    """The map this session looks at (clicks are inverted and codes placed in it)."""
    explorer = ctx.explorer(st)
    data = explorer.map(st.map_method) if st.map_method else ctx.registry.map_or_fallback(
        explorer, ctx.settings.map_method)[0]
    return explorer, data


def pick(ctx: AppContext, st: SessionState, x=None, y=None, index=None):
    """Decode a clicked dataset point (index) or a position on the map (x, y). → (face, text, state); the state's
    ``picked`` is the decoded code (draw it with :func:`pick_marks`)."""
    explorer, data = session_map(ctx, st)
    b = data.bundle
    if index is not None and index != "" and validate.number(index, "the point index") >= 0:
        i = validate.whole(index, "the point index")
        if not 0 <= i < len(b.mu):
            raise UserInputError(f"point {i} is not on the map (it has {len(b.mu)} points)")
        z = b.mu[i]
        label = ""
        if b.schema is not None and b.labels is not None:
            layout = ctx.layout(explorer)
            label = " · " + "; ".join(f"{colors.attribute_title(n)}: {layout.value_name(n, v) if v >= 0 else 'unknown'}"
                                      for n, v in zip(b.schema.names, b.labels[i]))
        text = f"Dataset face **{b.ids[i]}** (point {i}){label}: decoded from its posterior mean."
    else:
        if x is None or y is None:
            raise UserInputError("click a point or an empty spot of the map (x and y are needed)")
        xy = np.array([validate.number(x, "x"), validate.number(y, "y")], np.float32)
        z = invert_point(data.projection, xy)
        text = (f"Empty spot ({xy[0]:.2f}, {xy[1]:.2f}): latent blended from the nearest faces, decoded."
                + landing_note(data, xy, placed(data, z), explorer.latent_dim))
    return image_file(upscale(decode_one(explorer, z)), ctx.image_dir), text, st.replace(picked=as_latent(z))


# -- selection → direction -------------------------------------------------------------------------------
def selection_gallery(ctx: AppContext, explorer, sel: selection.Selection) -> dict:
    """The selection's gallery (shown only while faces are selected)."""
    b = explorer.embedding()
    items = [(image_file(upscale(img, 96), ctx.image_dir), caption)
             for img, caption in selection.gallery_items(sel, b.thumbnails, b.ids)]
    return gr.update(value=items, visible=bool(items))


def make_direction(ctx: AppContext, st: SessionState, sel: selection.Selection, name) -> tuple[SessionState, str]:
    """The session with a direction made from the selected faces, and the sentence saying what was made."""
    explorer = ctx.explorer(st)
    chosen = sel.for_model(explorer.model_id).chosen
    if not chosen:
        raise UserInputError("select faces on the map first (box or lasso tool in the map's toolbar), or take back "
                             "a face you left out")
    st, made = own_dirs.make_direction(ctx, st, name, list(chosen))
    check = f" Check: {made.check.sentence()}." if made.check is not None else ""
    return st, (f"**'{made.name}'** is a slider in Generate now (under your directions): {made.n_selected} selected "
                f"faces against the other {made.n_rest}.{check} Colour the map *along '{made.name}'* to see it.")


def build(ctx: AppContext, state: gr.State, explorer, gen: generate_tab.GenerateTab) -> tuple[MapTab, list]:
    init = state.value if isinstance(state.value, SessionState) else None
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                color_by = gr.Dropdown([c.option for c in color_options(ctx, explorer, init)],
                                       value=default_color(ctx, explorer), label="Colour by", elem_id="map_color",
                                       scale=3)
                refresh_btn = gr.Button("Refresh markers", elem_id="map_refresh", scale=1)
            plot = gr.HTML(value=None, html_template=plotmap.TEMPLATE, css_template=plotmap.CSS,
                           js_on_load=plotmap.JS_ON_LOAD, head=plotmap.plotly_head(ctx.settings.cache_dir),
                           elem_id="map_plot", padding=False, marks=[])
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
            with gr.Group(elem_id="map_direction"):
                gr.Markdown("### Make a direction", padding=True)
                chosen = gr.State(selection.Selection())
                selection_info = gr.Markdown(selection.describe(selection.Selection(), 0), elem_id="map_sel_info",
                                             padding=True)
                selection_gallery_ = gr.Gallery(columns=6, height=180, allow_preview=False, object_fit="contain",
                                                show_label=False, elem_id="map_sel_faces", visible=False)
                direction_name = gr.Textbox(label="Name the feature they share", placeholder="beard, round face…",
                                            max_length=60, elem_id="map_dir_name")
                make_btn = gr.Button("Make a slider in Generate", elem_id="map_make_dir")
    tab = MapTab(color_by=color_by, plot=plot, face=face, info=info, send_btn=send_btn, refresh_btn=refresh_btn,
                 selection=chosen, selection_info=selection_info, selection_gallery=selection_gallery_,
                 direction_name=direction_name, make_btn=make_btn)

    @user_errors
    def show_map(st: SessionState, color: str, sel: selection.Selection, *values):
        explorer = ctx.explorer(st)
        color = validate.text(color, "the colour", max_len=200, optional=False)
        if not color.startswith(colors.own_value("")):  # a direction cleared since the dropdown was filled says so
            validate.choice(color, "the colour", [c.value for c in color_options(ctx, explorer, st)])
        _, _, z = generate_tab.slider_latent(ctx, st, values)
        sel = sel.for_model(explorer.model_id)
        fig, method, text = map_view(ctx, explorer, color, as_array(st.upload_mu), st.upload_name, z, st=st,
                                     selected=sel.chosen)
        return fig, text, st.replace(map_method=method)

    show = dict(fn=show_map, inputs=[state, color_by, chosen, *gen.latent_inputs], outputs=[plot, status, state],
                show_progress="hidden", preprocess=False)

    @user_errors
    def show_panel(st: SessionState, color: str, sel: selection.Selection):
        """What the map shows besides the figure (the API's ``show_map`` returns the figure alone): the picked
        face's marker, the colour choices of this session (its own directions may have changed in Generate) and
        the selection panel (a selection made on another checkpoint's map is dropped)."""
        explorer, data = session_map(ctx, st)
        sel = sel.for_model(explorer.model_id)
        return {plot: gr.update(marks=pick_marks(data, st.picked)), color_by: color_update(ctx, explorer, st, color),
                chosen: sel, selection_info: selection.describe(sel, len(explorer.embedding().mu)),
                selection_gallery_: selection_gallery(ctx, explorer, sel)}

    panel = dict(fn=show_panel, inputs=[state, color_by, chosen],
                 outputs=[plot, color_by, chosen, selection_info, selection_gallery_], show_progress="hidden")
    # .input (a visitor's pick), not .change: a checkpoint switch sets the colour too, and redrawing a map
    # nobody looks at cost the page a second of work (ui.app redraws it after a switch only if it is shown).
    gr.on([color_by.input, refresh_btn.click], api_name="show_map", **show)
    gr.on([color_by.input, refresh_btn.click], api_visibility="private", **panel)

    def picked_view(st: SessionState, x, y, index) -> dict:
        image, text, st = pick(ctx, st, x, y, index)
        _, data = session_map(ctx, st)
        return {face: image, info: text, state: st, plot: gr.update(marks=pick_marks(data, st.picked))}

    @user_errors
    def map_pick(st: SessionState, x, y, index):
        image, text, st = pick(ctx, st, x, y, index)
        return image, text, st

    @user_errors
    def show_pick(st: SessionState):
        _, data = session_map(ctx, st)
        return gr.update(marks=pick_marks(data, st.picked))

    pick_btn.click(map_pick, [state, pick_x, pick_y, pick_index], [face, info, state], api_name="map_pick",
                   preprocess=False).then(show_pick, [state], [plot], api_visibility="private",
                                          show_progress="hidden")

    @user_errors
    def on_click(st: SessionState, evt: gr.EventData):
        d = evt._data or {}
        return picked_view(st, d.get("x"), d.get("y"), d.get("index"))

    plot.pick(on_click, [state], [face, info, state, plot], api_visibility="private", show_progress="hidden")

    @user_errors
    def on_select(st: SessionState, evt: gr.EventData):
        explorer = ctx.explorer(st)
        n = len(explorer.embedding().mu)
        sel = selection.from_event(evt._data or {}, n, explorer.model_id)
        return {chosen: sel, selection_info: selection.describe(sel, n),
                selection_gallery_: selection_gallery(ctx, explorer, sel)}

    plot.select(on_select, [state], [chosen, selection_info, selection_gallery_], api_visibility="private",
                show_progress="hidden")

    @user_errors
    def on_toggle(st: SessionState, sel: selection.Selection, evt: gr.SelectData):
        explorer = ctx.explorer(st)
        sel = sel.for_model(explorer.model_id).toggle(validate.whole(evt.index, "the face's place in the gallery"))
        return {chosen: sel, selection_info: selection.describe(sel, len(explorer.embedding().mu)),
                selection_gallery_: selection_gallery(ctx, explorer, sel)}

    selection_gallery_.select(on_toggle, [state, chosen], [chosen, selection_info, selection_gallery_],
                              api_visibility="private", show_progress="hidden")

    @user_errors
    def on_make(st: SessionState, sel: selection.Selection, name, color: str):
        st, message = make_direction(ctx, st, sel, validate.text(name, "the feature's name", max_len=200))
        explorer = ctx.explorer(st)
        return {state: st, selection_info: message, color_by: color_update(ctx, explorer, st, color),
                **gen.show_own(st)}

    make_btn.click(on_make, [state, chosen, direction_name, color_by],
                   [state, selection_info, color_by, *gen.own_outputs], api_visibility="private")
    # The map is drawn when its tab is opened (see ui.app), with the markers of that moment.
    return tab, [show, panel]
