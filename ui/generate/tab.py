"""Generate: sliders that make faces live, decoded in the visitor's browser.

A slider move sends no request: the page (ui/static/generate_page.js) composes the latent from its mirror of the
slider positions and decodes it with onnxruntime-web. The server says *which* face is shown: every event that sets
one (random face, seed, paste, reset, "Edit in Generate", a map pick, a checkpoint switch) returns the face it
decoded (for API clients and the first paint) and a sync message in the hidden ``page_sync`` box: the base latent,
the slider positions it set, and the URLs of the checkpoint's page layout, decoder and runtime
(:mod:`ui.generate.page_assets`). Where the page cannot decode (no WebAssembly, no runtime, a decoder that fails
to load) it clicks the hidden ``decode_go`` button per move instead, with its slider mirror in ``page_values``
(:mod:`ui.generate.slider_mirror`): the server composes and decodes, as before. ``/generate`` takes every value
explicitly, for API clients, and gives the same face as the page.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass

import gradio as gr
import numpy as np

from vae_core.slider_layout import ATTR_RANGE, N_ATTR, N_OWN, N_PCA, N_RAW, PCA_RANGE, RAW_RANGE, STEP, SliderLayout
from vae_core.direction_kinds import DEFAULT_DIRECTIONS, check_direction_kind
from vae_core.web.page_layout import default_target

from . import latents, own as own_dirs, slider_mirror
from ..analysis.view import EDIT_HINT
from vae_core.errors import VaeCoreError

from ..common import validate
from ..common.errors import user_errors
from ..common.images import data_url, face_html
from ..common.page_code import call_js
from ..common.state import SessionState, as_array, as_latent
from ..context import AppContext
from .page_assets import shared_modules_url
from .page_only import PageOnlyTextbox
from .sliders import check_values


@dataclass
class GenerateTab:
    image: gr.HTML
    raw: list[gr.Slider]
    pca: list[gr.Slider]
    attr_value: list[gr.Dropdown]
    attr_strength: list[gr.Slider]
    #: per attribute slot, every value's average face, name and (colour attributes) measured colour
    attr_swatches: list[gr.HTML]
    show_collapsed: gr.Checkbox
    seed: gr.Number
    temperature: gr.Slider
    sampler: gr.Radio
    sampler_info: gr.Markdown
    latent_text: gr.Textbox
    note: gr.Markdown
    #: the "Latent dimensions" accordion (opened when the Analysis heatmap focuses a dim)
    raw_box: gr.Accordion
    #: edit fidelity of the attribute sliders (wired by ui.analysis.tab: it needs the classifier)
    fidelity: gr.Markdown
    #: hidden: the server's sync message for the page (base latent, slider positions, the checkpoint's page files)
    page_sync: PageOnlyTextbox
    #: hidden: the page's slider mirror, filled in by the page for the events that need the face it shows
    page_values: PageOnlyTextbox
    #: hidden: clicked by the page per move when it cannot decode itself (the server decodes)
    decode_go: gr.Button
    #: hidden: clicked by the page when the attribute controls have rested; runs the edit-fidelity check
    fidelity_go: gr.Button
    #: the visitor's own directions: one slider per slot (ui.generate.own), and what each one's check found
    own: list[gr.Slider]
    own_note: gr.Markdown
    #: which kind of attribute direction the attribute sliders move along (conditional or plain)
    direction_kind: gr.Radio | None = None
    #: the handler that opens a share link's face (wired on page load by ui.app)
    open_shared: object = None

    @property
    def slider_inputs(self) -> list:
        """The API's slider values (``/generate``…): raw, PCA, attribute targets and strengths."""
        return [*self.raw, *self.pca, *self.attr_value, *self.attr_strength]

    @property
    def latent_inputs(self) -> list:
        """Everything the face depends on: :attr:`slider_inputs` and the own-direction sliders (with the state)."""
        return [*self.slider_inputs, *self.own]

    @property
    def own_outputs(self) -> list:
        """What a change of the session's own directions updates (with the state): their sliders, note, the page."""
        return [*self.own, self.own_note, self.page_sync]

    def show_own(self, state: SessionState) -> dict:
        """Output values for :attr:`own_outputs` after the session's directions changed."""
        return {**dict(zip(self.own, own_slider_updates(state))), self.own_note: own_note(state),
                self.page_sync: own_sync(state)}

    @property
    def value_outputs(self) -> list:
        """What setting a latent updates: raw positions, offsets (zeroed), the face, the page sync."""
        return [*self.raw, *self.pca, *self.attr_strength, *self.own, self.image, self.page_sync]

    def show_face(self, view: FaceView) -> dict:
        """Output values by component for :attr:`value_outputs`."""
        return {**dict(zip(self.raw, view.raw)), **{c: 0.0 for c in (*self.pca, *self.attr_strength, *self.own)},
                self.image: view.image, self.page_sync: view.sync}

    def show_layout(self, view: LayoutView) -> dict:
        """Output values by component for :attr:`layout_outputs`."""
        return {**dict(zip(self.raw, view.raw)), **dict(zip(self.pca, view.pca)),
                **dict(zip(self.attr_value, view.attr_value)), **dict(zip(self.attr_strength, view.attr_strength)),
                **dict(zip(self.attr_swatches, view.swatches)), self.note: view.note, self.image: view.image,
                self.page_sync: view.sync, **dict(zip(self.own, view.own)), self.own_note: view.own_note,
                self.show_collapsed: view.show_collapsed, self.seed: view.seed,
                self.direction_kind: DEFAULT_DIRECTIONS}

    @property
    def layout_outputs(self) -> list:
        """What a checkpoint change updates (labels, visibility, choices, values) plus note, face, page sync."""
        return [*self.raw, *self.pca, *self.attr_value, *self.attr_strength, self.note, self.image, self.page_sync,
                *self.attr_swatches, *self.own, self.own_note, self.show_collapsed, self.seed, self.direction_kind]


#: The attribute directions a visitor can pick (the measured better one is the default: docs/latent-space.md).
DIRECTION_CHOICES = [("conditional: the other labels' directions projected out", "conditional"),
                     ("plain: mean difference", "plain")]


# -- pure adapters --------------------------------------------------------------------------------------
def split(values) -> tuple[list, list, list, list]:
    v = list(values)
    return (v[:N_RAW], v[N_RAW:N_RAW + N_PCA], v[N_RAW + N_PCA:N_RAW + N_PCA + N_ATTR],
            v[N_RAW + N_PCA + N_ATTR:N_RAW + N_PCA + 2 * N_ATTR])


def base_latent(layout: SliderLayout, state: SessionState) -> np.ndarray:
    base = as_array(state.base)
    return layout.mean if base is None or base.size != layout.latent_dim else base


#: The values of :attr:`GenerateTab.slider_inputs` (the API's): raw, PCA, attribute targets, attribute strengths.
N_SLIDERS = N_RAW + N_PCA + 2 * N_ATTR


def slider_latent(ctx: AppContext, state: SessionState, values, strict: bool = True):
    """(explorer, layout, latent) of slider values (checked: see :func:`ui.generate.sliders.check_values`), in the
    order of :attr:`GenerateTab.slider_inputs`, optionally followed by the strengths of the session's own
    directions (:attr:`GenerateTab.latent_inputs`)."""
    explorer = ctx.explorer(state)
    layout = ctx.layout(explorer, state.direction_kind)
    values = list(values)
    own = [validate.number(v, f"the strength of your direction {k + 1}", -ATTR_RANGE, ATTR_RANGE)
           for k, v in enumerate(values[N_SLIDERS:N_SLIDERS + N_OWN])]
    raw, pca, av, ast = split(check_values(layout, values[:N_SLIDERS], strict))
    z = layout.compose(base_latent(layout, state), raw, pca, av, ast)
    return explorer, layout, own_dirs.add_own(z, state, own)


def caption(explorer, state: SessionState) -> str:
    what = f"random face, seed {state.seed}" if state.seed is not None else (
        "average face of the dataset" if state.base is None else "your latent")
    return f"{what} · model {explorer.model_id}"


@dataclass(frozen=True)
class FaceView:
    """What showing a latent sets in the tab: raw slider positions (offsets go to 0), the face, the sync message."""

    raw: list[float]
    image: str
    sync: str


@dataclass(frozen=True)
class LayoutView:
    """What a (new) checkpoint sets in the tab: every slot's gr.update (label, range, visibility, value), the note,
    the first face and its sync message, one value-swatch row per attribute slot."""

    raw: list
    pca: list
    attr_value: list
    attr_strength: list
    swatches: list
    note: str
    image: str
    sync: str
    own: list
    own_note: str
    #: the "show collapsed dims" switch: offered only when the model has collapsed dims among those shown
    show_collapsed: dict
    #: the seed box (the seed of the face shown, when it is a random face)
    seed: object = None


def own_slider_updates(state: SessionState) -> list:
    """The own-direction slots: one visible slider (at 0) per direction of the session, the rest hidden."""
    ds = state.own_directions
    return [gr.update(label=f"{ds[k].name} (your direction)", value=0.0, visible=True) if k < len(ds)
            else gr.update(value=0.0, visible=False) for k in range(N_OWN)]


def own_note(state: SessionState) -> str:
    if not state.own_directions:
        return ("Select faces that share a feature on the **Latent map**, name it, and get its slider here. "
                "Import a directions file to bring back ones you made.")
    return "\n".join(f"- **{d.name}**: {d.check}" if d.check else f"- **{d.name}**" for d in state.own_directions)


def face_view(ctx: AppContext, explorer, layout: SliderLayout, z: np.ndarray, state: SessionState) -> FaceView:
    """The tab showing latent z (offsets zeroed): see :meth:`GenerateTab.show_face`."""
    raw = layout.raw_values(z)
    text = caption(explorer, state)
    return FaceView(raw=raw, image=face_html(latents.decode_one(explorer, z), text),
                    sync=sync_message(ctx, explorer, layout, z, raw, text, state))


def sync_message(ctx: AppContext, explorer, layout: SliderLayout, z: np.ndarray, raw: list[float], text: str,
                 state: SessionState, targets: list | None = None) -> str:
    """The page's sync message for a face the server set (see the module docstring and generate_page.js): a fresh
    version (so "reset" twice resets twice), the base latent, the slider positions (offsets at 0), the session's
    own directions, the caption and where the checkpoint's page files are (the layout of the session's kind of
    attribute direction); ``targets`` (the attribute dropdowns) when the server set them too."""
    assets = ctx.page_assets(explorer, state.direction_kind)
    runtime = ctx.runtime.url()
    msg = {
        "v": secrets.token_hex(6), "model": explorer.model_id,
        "slots": {"raw": N_RAW, "pca": N_PCA, "attr": N_ATTR, "own": N_OWN},
        "base": [float(v) for v in np.asarray(z, np.float32)],
        "values": [float(v) for v in [*raw, *([0.0] * (N_PCA + N_ATTR + N_OWN))]],
        "own": own_dirs.own_vectors(state),
        "caption": text, "layout": assets.layout_url, "decoder": assets.decoder_url,
        "runtime": runtime, "shared": shared_modules_url(),
        "problem": assets.problem or ("" if runtime else ctx.runtime.problem),
    }
    if targets is not None:
        msg["targets"] = targets
    return json.dumps(msg, separators=(",", ":"))


def own_sync(st: SessionState) -> str:
    """A sync message that only replaces the session's own directions (their sliders go to 0; the face stays)."""
    return json.dumps({"v": secrets.token_hex(6), "own_only": True, "own": own_dirs.own_vectors(st)},
                      separators=(",", ":"))


def mirrored_split(values: list[float], attr_values) -> list:
    """Mirrored values (raw, PCA, strengths, own) + dropdown values → the order of :attr:`latent_inputs`."""
    n = N_RAW + N_PCA
    return [*values[:n], *attr_values, *values[n:n + N_ATTR], *values[n + N_ATTR:]]


def swatches_html(explorer, slot) -> str:
    """A row of small faces, one per value of an attribute slot: its average face, name and face count (and a
    dot of its measured colour for colour attributes), so a value is seen, not just read."""
    rows = {sw.value: sw for sw in explorer.value_swatches().get(slot.name, [])}
    items = []
    for v in slot.values:
        sw = rows.get(v)
        if sw is None:
            continue
        name = html.escape(sw.name)
        dot = (f'<span class="cvae-dot" style="background:{sw.hex}"></span>' if sw.hex else "")
        items.append(f'<figure title="{name} ({sw.count} faces)"><img src="{data_url(sw.face)}" alt="{name}">'
                     f'<figcaption>{dot}{name}</figcaption></figure>')
    return f'<div class="cvae-swatches" aria-label="values of {html.escape(slot.title)}">{"".join(items)}</div>'


def layout_view(ctx: AppContext, explorer, layout: SliderLayout | None, state: SessionState,
                show_collapsed: bool) -> LayoutView:
    """The tab for a (new) checkpoint: see :meth:`GenerateTab.show_layout`."""
    if layout is None:
        return LayoutView(raw=[gr.update(visible=False)] * N_RAW, pca=[gr.update(visible=False)] * N_PCA,
                          attr_value=[gr.update(visible=False)] * N_ATTR,
                          attr_strength=[gr.update(visible=False)] * N_ATTR,
                          swatches=[gr.update(value="", visible=False)] * N_ATTR,
                          note="No checkpoint is loaded.", image="", sync="",
                          own=[gr.update(visible=False)] * N_OWN, own_note="",
                          show_collapsed=gr.update(visible=False), seed=gr.update())
    z = base_latent(layout, state)
    raw_vals = layout.raw_values(z)
    raw = [gr.update(label=slot.label, value=raw_vals[i], visible=slot.active or bool(show_collapsed),
                     elem_classes=raw_classes(slot)) if i < len(layout.raw) else gr.update(visible=False, value=0.0)
           for i, slot in enumerate([*layout.raw, *([None] * (N_RAW - len(layout.raw)))])]
    pca = [gr.update(label=f"PC{j + 1} · {100 * float(layout.pca_ratio[j]):.1f}% of the variance", value=0.0,
                     visible=True) if j < layout.n_pca else gr.update(visible=False, value=0.0) for j in range(N_PCA)]
    slots = [*layout.attrs, *([None] * (N_ATTR - len(layout.attrs)))]
    attr_value = [gr.update(label=f"{slot.title}: target value", choices=slot.choices(), value=default_target(slot),
                            visible=True) if slot else gr.update(visible=False, choices=[], value=None)
                  for slot in slots]
    attr_strength = [gr.update(label=f"{slot.title}: strength", value=0.0, visible=True) if slot
                     else gr.update(visible=False, value=0.0) for slot in slots]
    swatches = [gr.update(value=swatches_html(explorer, slot), visible=True) if slot
                else gr.update(value="", visible=False) for slot in slots]
    text = caption(explorer, state)
    targets = [default_target(slot) if slot else None for slot in slots]
    own_view = own_slider_updates(state)
    return LayoutView(raw=raw, pca=pca, attr_value=attr_value, attr_strength=attr_strength, swatches=swatches,
                      note=layout_note(layout), image=face_html(latents.decode_one(explorer, z), text),
                      sync=sync_message(ctx, explorer, layout, z, raw_vals, text, state, targets),
                      own=own_view, own_note=own_note(state),
                      show_collapsed=gr.update(visible=any(not s.active for s in layout.raw)),
                      seed=state.seed if state.seed is not None else gr.update())


def raw_classes(slot, focused: bool = False) -> list[str]:
    """CSS classes of a raw slider: collapsed dims are dimmed; the dim the Analysis heatmap focused is
    highlighted (``cvae-focus``)."""
    return ["cvae-raw"] + ([] if slot.active else ["cvae-collapsed"]) + (["cvae-focus"] if focused else [])


def layout_note(layout: SliderLayout) -> str:
    """The note above the sliders: how many dims are shown and how many of them collapsed."""
    n_collapsed = sum(not s.active for s in layout.raw)
    return (f"Latent size {layout.latent_dim}: showing the {len(layout.raw)} most informative dims (by KL)"
            + (f", {n_collapsed} of them collapsed (KL ≈ 0, hidden unless shown)" if n_collapsed else "")
            + ("; the other dims keep their current values." if layout.latent_dim > len(layout.raw) else "."))


# -- build ------------------------------------------------------------------------------------------------
def _kw(upd) -> dict:
    """Constructor keyword arguments from a gr.update() (so the first page shows the default checkpoint)."""
    return {k: v for k, v in upd.items() if k != "__type__"} if isinstance(upd, dict) else {"value": upd}


def first_state(ctx: AppContext, explorer) -> SessionState:
    """The state a new page opens on: a good random face (see :func:`ui.generate.latents.good_seed`) and the
    directions saved in the checkpoint."""
    if explorer is None:
        return SessionState()
    seed, z = ctx.registry.derived(explorer, "first_face", lambda: latents.good_seed(explorer))
    return SessionState(checkpoint=str(explorer.path), base=as_latent(z), seed=seed,
                        own_directions=own_dirs.saved_directions(explorer))


def build(ctx: AppContext, state: gr.State, explorer, layout: SliderLayout | None) -> GenerateTab:
    """The tab as a visitor meets it: the face with what makes a new one (Random, seed, temperature) under it, above
    the fold at 1280×720; named controls first (attributes with their value swatches, the main PCA directions, the
    visitor's own directions); the raw latent dims, all of them, in a closed "advanced" section."""
    init = state.value if isinstance(state.value, SessionState) else first_state(ctx, explorer)
    first = layout_view(ctx, explorer, layout, init, False)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            image = gr.HTML(value=first.image, elem_id="gen_image", elem_classes=["cvae-face-box"], padding=False)
            with gr.Row(elem_classes=["cvae-tight"]):
                random_btn = gr.Button("Random face", elem_id="gen_random", variant="primary", scale=2, min_width=120)
                seed = gr.Number(label="Seed", show_label=False, container=False, value=init.seed or 0, precision=0,
                                 minimum=0, maximum=latents.MAX_SEED, elem_id="gen_seed", scale=1, min_width=90)
                seed_btn = gr.Button("Face from seed", elem_id="gen_seed_btn", scale=1, min_width=120, size="md")
            temperature = gr.Slider(0.0, latents.MAX_TEMPERATURE, value=1.0, step=0.05,
                                    label="Temperature (spread of random faces)", elem_id="gen_temperature")
            # Where the face is made: "in your browser", or "on the server" and why (written by the page).
            gr.HTML('<div class="cvae-decoder-status">Loading the in-page decoder…</div>', elem_id="gen_decoder_status",
                    padding=False)
            page_sync = PageOnlyTextbox(value=first.sync, visible=False, elem_id="gen_sync")
            page_values = PageOnlyTextbox(value="", visible=False, elem_id="gen_values")
            # Clicked by the page per slider move when it cannot decode itself (rendered, hidden by CSS).
            decode_go = gr.Button("Decode on the server", elem_id="gen_decode_go", elem_classes=["cvae-page-only"])
            # Clicked by the page once the attribute controls rest (ui.analysis.tab): the edit-fidelity line's
            # only request. Rendered (a hidden component has no element to click) and hidden by CSS.
            fidelity_go = gr.Button("Check the edit", elem_id="gen_fidelity_go", elem_classes=["cvae-page-only"])
            with gr.Row(elem_classes=["cvae-tight"]):
                save_btn = gr.Button("Save face (PNG)", elem_id="gen_save", size="sm", min_width=80)
                save_model_btn = gr.Button("Save model pixels", elem_id="gen_save_model", size="sm", min_width=80)
                share_btn = gr.Button("Share link", elem_id="gen_share_btn", size="sm", min_width=80)
            share_text = gr.Textbox(label="Share link (opens this face for anyone)", visible=True, lines=1,
                                    elem_id="gen_share", interactive=False, buttons=["copy"])
            latent_text = gr.Textbox(label="Latent (shareable string)", lines=2, buttons=["copy"],
                                     placeholder="cvae1:… — copy it, or paste one and press Paste",
                                     elem_id="gen_latent")
            with gr.Row():
                copy_btn = gr.Button("Copy latent", elem_id="gen_copy", size="sm")
                paste_btn = gr.Button("Paste latent", elem_id="gen_paste", size="sm")
                reset_btn = gr.Button("Average face", elem_id="gen_reset", size="sm")
            show_pixels = gr.Checkbox(label="Show model pixels (no smoothing)", value=False, elem_id="gen_show_pixels")
            show_pixels.change(None, [show_pixels], None, api_visibility="private",
                               js=call_js("generate_page.js", "showModelPixels", inputs="on"))
            sampler = gr.Radio(list(latents.SAMPLERS), value=latents.SAMPLERS[0], label="Random faces from",
                               elem_id="gen_sampler")
            sampler_info = gr.Markdown(latents.sampler_note(explorer) if explorer is not None else "",
                                       elem_id="gen_sampler_note")
        with gr.Column(scale=2):
            with gr.Accordion("Attributes: push the face towards a labelled value", open=True):
                attr_value, attr_strength, attr_swatches = [], [], []
                for k in range(N_ATTR):
                    with gr.Row():
                        # allow_custom_value: a checkpoint switch replaces the choices while the page may still
                        # send the old model's value; Gradio would refuse it with an error toast and a server
                        # traceback. The layout ignores values its attribute does not have.
                        attr_value.append(gr.Dropdown(elem_id=f"gen_attr_value_{k}", interactive=True,
                                                      allow_custom_value=True, **_kw(first.attr_value[k])))
                        attr_strength.append(gr.Slider(-ATTR_RANGE, ATTR_RANGE, step=STEP,
                                                       elem_id=f"gen_attr_strength_{k}", **_kw(first.attr_strength[k])))
                    attr_swatches.append(gr.HTML(elem_id=f"gen_swatches_{k}", padding=False, **_kw(first.swatches[k])))
                fidelity = gr.Markdown(EDIT_HINT, elem_id="gen_fidelity")
                direction_kind = gr.Radio(DIRECTION_CHOICES, value=init.direction_kind or DEFAULT_DIRECTIONS,
                                          label="Attribute directions", elem_id="gen_direction_kind")
            with gr.Accordion("Main PCA directions of the dataset (in standard deviations)", open=True):
                with gr.Row(elem_classes=["cvae-grid"]):
                    pca = [gr.Slider(-PCA_RANGE, PCA_RANGE, step=STEP, elem_id=f"gen_pca_{j}", min_width=200,
                                     **_kw(first.pca[j])) for j in range(N_PCA)]
            with gr.Accordion("Your directions", open=True):
                with gr.Row(elem_classes=["cvae-grid"]):
                    own = [gr.Slider(-ATTR_RANGE, ATTR_RANGE, step=STEP, elem_id=f"gen_own_{k}", min_width=200,
                                     **_kw(first.own[k])) for k in range(N_OWN)]
                own_note_md = gr.Markdown(first.own_note, elem_id="gen_own_note")
                with gr.Row():
                    own_export = gr.DownloadButton("Export my directions", elem_id="gen_own_export", size="sm")
                    own_import = gr.UploadButton("Import directions", file_types=[".json"], elem_id="gen_own_import",
                                                 size="sm")
                    own_clear = gr.Button("Clear my directions", elem_id="gen_own_clear", size="sm")
            with gr.Accordion("Advanced: every latent dimension (ordered by KL)", open=False) as raw_box:
                note = gr.Markdown(value=first.note, elem_id="gen_note")
                show_collapsed = gr.Checkbox(label="Show collapsed dims", value=False, elem_id="gen_show_collapsed",
                                             **_kw(first.show_collapsed))
                with gr.Row(elem_classes=["cvae-grid"]):
                    raw = [gr.Slider(-RAW_RANGE, RAW_RANGE, step=STEP, elem_id=f"gen_raw_{i}", min_width=200,
                                     **_kw(first.raw[i])) for i in range(N_RAW)]
    tab = GenerateTab(image=image, raw=raw, pca=pca, attr_value=attr_value, attr_strength=attr_strength,
                      attr_swatches=attr_swatches,
                      show_collapsed=show_collapsed, seed=seed, temperature=temperature, sampler=sampler,
                      sampler_info=sampler_info, latent_text=latent_text,
                      note=note, raw_box=raw_box, fidelity=fidelity, page_sync=page_sync,
                      page_values=page_values, decode_go=decode_go,
                      fidelity_go=fidelity_go, own=own, own_note=own_note_md, direction_kind=direction_kind)
    _wire(ctx, tab, state, random_btn, reset_btn, seed_btn, copy_btn, paste_btn)
    _wire_sharing(tab, state, save_btn, save_model_btn, share_btn, share_text)
    _wire_own(ctx, tab, state, own_export, own_import, own_clear)
    return tab


# -- events -----------------------------------------------------------------------------------------------
def _wire(ctx: AppContext, tab: GenerateTab, state: gr.State, random_btn, reset_btn, seed_btn, copy_btn,
          paste_btn) -> None:
    fast = dict(show_progress="hidden", concurrency_id="decode", concurrency_limit=ctx.settings.concurrency)

    def face_for(st: SessionState, values, strict: bool = True) -> str:
        explorer, _, z = slider_latent(ctx, st, values, strict)
        return face_html(latents.decode_one(explorer, z), caption(explorer, st))

    @user_errors
    def generate(st: SessionState, *values):
        return face_for(st, values)

    # For API clients: every value explicit (the page composes and decodes slider moves itself, below).
    api_only = gr.Button(visible=False)
    # preprocess=False on every API event: values arrive as sent and are checked by ui.common.validate (a clear
    # message naming the parameter), instead of failing inside Gradio's preprocessing with a traceback.
    api_only.click(generate, inputs=[state, *tab.slider_inputs], outputs=[tab.image], api_name="generate",
                   preprocess=False, **fast)

    # The page decodes slider moves itself (ui/static/generate_page.js): no Gradio event per slider. It adopts each
    # sync message the server sends, learns the attribute targets from their (page-only) dropdown events, and —
    # where it cannot decode — clicks decode_go per move with its slider mirror (newest move wins).
    tab.page_sync.change(None, [tab.page_sync], None, js=call_js("generate_page.js", "sync", inputs="s"),
                         api_visibility="private", queue=False, show_progress="hidden")
    gr.on([d.input for d in tab.attr_value], None, tab.attr_value, None,
          js=call_js("generate_page.js", "targets", inputs="...v"), api_visibility="private", queue=False,
          show_progress="hidden")

    @user_errors
    def decode_on_server(st: SessionState, packed, *attr_values):
        return face_for(st, mirrored_split(slider_mirror.unpack(packed), attr_values), False)

    tab.decode_go.click(decode_on_server, [state, tab.page_values, *tab.attr_value], [tab.image],
                        js=call_js("generate_page.js", "withValues", inputs="st, packed, ...rest"),
                        trigger_mode="always_last", api_visibility="private", **fast)

    def set_latent(st: SessionState, z: np.ndarray, seed=None):
        explorer = ctx.explorer(st)
        layout = ctx.layout(explorer, st.direction_kind)
        st = st.replace(base=as_latent(z), seed=seed)
        return {state: st, **tab.show_face(face_view(ctx, explorer, layout, z, st))}

    @user_errors
    def random_face(st: SessionState, temperature, sampler=latents.SAMPLERS[0]):
        seed = secrets.randbelow(latents.MAX_SEED)
        z = latents.face_from_seed(ctx.explorer(st), seed, temperature, sampler)
        return {tab.seed: seed, **set_latent(st, z, seed)}

    @user_errors
    def face_from_seed(st: SessionState, seed, temperature, sampler=latents.SAMPLERS[0]):
        s = latents.check_seed(seed)
        z = latents.face_from_seed(ctx.explorer(st), s, temperature, sampler)
        return {tab.seed: s, **set_latent(st, z, s)}

    seeded_outputs = [tab.seed, state, *tab.value_outputs]
    random_btn.click(random_face, [state, tab.temperature, tab.sampler], seeded_outputs, api_name="random_face",
                     preprocess=False, **fast)
    gr.on([seed_btn.click, tab.seed.submit, tab.temperature.input, tab.sampler.input], face_from_seed,
          [state, tab.seed, tab.temperature, tab.sampler], seeded_outputs, api_name="face_from_seed",
          trigger_mode="always_last", preprocess=False, **fast)

    @user_errors
    def describe_sampler(st: SessionState, sampler):
        return latents.sampler_note(ctx.explorer(st), sampler)

    tab.sampler.change(describe_sampler, [state, tab.sampler], [tab.sampler_info], api_visibility="private",
                       show_progress="hidden")

    @user_errors
    def reset(st: SessionState):
        explorer = ctx.explorer(st)
        layout = ctx.layout(explorer, st.direction_kind)
        st = st.replace(base=None, seed=None)
        return {state: st, **tab.show_face(face_view(ctx, explorer, layout, layout.mean, st))}

    reset_btn.click(reset, [state], [state, *tab.value_outputs], api_name="reset_face", **fast)

    @user_errors
    def copy_latent(st: SessionState, *values):
        explorer, _, z = slider_latent(ctx, st, values)
        return latents.copy_latent(explorer, z)

    # For API clients: every value explicit. The page's button sends its slider mirror (the face it shows) and
    # then puts the string on the clipboard too.
    gr.Button(visible=False).click(copy_latent, [state, *tab.slider_inputs], [tab.latent_text], api_name="copy_latent",
                                   preprocess=False, **fast)

    @user_errors
    def copy_shown_latent(st: SessionState, packed, *attr_values):
        explorer, _, z = slider_latent(ctx, st, mirrored_split(slider_mirror.unpack(packed), attr_values), False)
        return latents.copy_latent(explorer, z)

    copy_btn.click(copy_shown_latent, [state, tab.page_values, *tab.attr_value], [tab.latent_text],
                   js=call_js("generate_page.js", "withValues", inputs="st, packed, ...rest"),
                   api_visibility="private", **fast).then(
        None, [tab.latent_text], None, js=call_js("generate_page.js", "toClipboard", inputs="text"),
        api_visibility="private", queue=False)

    @user_errors
    def paste_latent(st: SessionState, text):
        z = latents.paste_latent(ctx.explorer(st), validate.text(text, "the latent string", optional=False))
        return set_latent(st, z)

    gr.on([paste_btn.click, tab.latent_text.submit], paste_latent, [state, tab.latent_text],
          [state, *tab.value_outputs], api_name="paste_latent", preprocess=False, **fast)

    def open_shared(st: SessionState, text):
        """The face of a share link, or nothing: a damaged link warns and changes nothing (the page keeps working)."""
        if not isinstance(text, str) or not text.strip():
            return {state: st}
        try:
            return set_latent(st, latents.paste_latent(ctx.explorer(st), text))
        except VaeCoreError as e:
            gr.Warning(f"This share link's face could not be opened: {e}")
            return {state: st}

    tab.open_shared = open_shared

    @user_errors
    def set_direction_kind(st: SessionState, kind):
        kind = check_direction_kind(kind)
        st = st.replace(direction_kind=kind)
        explorer = ctx.explorer(st)
        msg = {"v": secrets.token_hex(6), "layout_only": True, "layout": ctx.page_assets(explorer, kind).layout_url}
        return {state: st, tab.page_sync: json.dumps(msg, separators=(",", ":"))}

    tab.direction_kind.input(set_direction_kind, [state, tab.direction_kind], [state, tab.page_sync],
                             api_name="set_direction_kind", show_progress="hidden", preprocess=False)

    @user_errors
    def toggle_collapsed(st: SessionState, show: bool):
        show = validate.flag(show, "show collapsed dims")
        layout = ctx.layout(ctx.explorer(st), st.direction_kind)
        return [gr.update(visible=i < len(layout.raw) and (layout.raw[i].active or bool(show)))
                for i in range(N_RAW)]

    tab.show_collapsed.change(toggle_collapsed, [state, tab.show_collapsed], tab.raw, api_name="show_collapsed",
                              show_progress="hidden", preprocess=False)


def _wire_sharing(tab: GenerateTab, state: gr.State, save_btn, save_model_btn, share_btn, share_text) -> None:
    """Saving and sharing the face the page shows, all in the page (no request): a PNG at display size or the
    model's own 64×64 pixels, and a link that carries the latent string (opened by ``app.load_shared_face``)."""
    save_btn.click(None, None, None, js=call_js("generate_page.js", "saveFace", "display"), api_visibility="private")
    save_model_btn.click(None, None, None, js=call_js("generate_page.js", "saveFace", "model"),
                         api_visibility="private")
    share_btn.click(None, None, [share_text], js=call_js("generate_page.js", "shareLink"), api_visibility="private")


def _wire_own(ctx: AppContext, tab: GenerateTab, state: gr.State, own_export, own_import, own_clear) -> None:
    """The visitor's own directions: made from example faces (``/direction_from_examples``, and the Latent map's
    selection), exported, imported (checked), cleared. Each change sends the page their vectors."""
    own_outputs = [state, *tab.own_outputs]

    @user_errors
    def from_examples(st: SessionState, name, indices):
        st, direction = own_dirs.make_direction(ctx, st, name, indices)
        return {state: st, **tab.show_own(st), api_result: direction.to_dict()}

    api_result = gr.JSON(visible=False)
    gr.Button(visible=False).click(from_examples, [state, gr.Textbox(visible=False), gr.JSON(visible=False)],
                                   [*own_outputs, api_result], api_name="direction_from_examples",
                                   preprocess=False, show_progress="hidden")

    @user_errors
    def import_file(st: SessionState, file):
        st = own_dirs.import_directions(ctx, st, file)
        return {state: st, **tab.show_own(st)}

    own_import.upload(import_file, [state, own_import], own_outputs, api_name="import_directions",
                      show_progress="hidden")

    @user_errors
    def export(st: SessionState):
        return own_dirs.export_directions(ctx, st)

    own_export.click(export, [state], [own_export], api_name="export_directions", show_progress="hidden")

    @user_errors
    def clear(st: SessionState):
        st = st.replace(own_directions=())
        return {state: st, **tab.show_own(st)}

    own_clear.click(clear, [state], own_outputs, api_name="clear_directions", show_progress="hidden")
