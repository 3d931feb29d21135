"""Analysis: how disentangled the checkpoint's latent space is, and how faithful its attribute sliders are.

- the scorecard (MIG, DCI, SAP overall and per attribute, with each attribute slider's edit fidelity),
  cached in the checkpoint (:mod:`vae_core.analysis.report`) or computed in the background on request
  (:mod:`ui.analysis.jobs`; sessions poll with a timer, no request waits for it);
- the DCI importance heatmap (latent dim × attribute): clicking a cell opens the Generate tab with that
  dim's slider highlighted and scrolled into view;
- latent traversals of the current Generate face along a raw dim, a PCA direction or an attribute value,
  exported as a PNG grid and an animated GIF (:mod:`vae_core.analysis.traversal`);
- and, in the Generate tab, the edit-fidelity line under the attribute sliders (a separate event from the
  face, so the face's latency is unaffected).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from vae_core.analysis import traversal as trav

from . import heatmap
from . import view
from ..common import validate
from ..common.errors import UserInputError, user_errors
from ..common.images import prune_old_files
from ..common.page_code import call_js
from ..common.state import SessionState
from ..context import AppContext
from ..generate import own as own_dirs, slider_mirror
from ..generate import tab as generate_tab
from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW, SliderLayout
from ..map import plotmap
from ..objective.tab import checkpoint_sweep

#: The edit-fidelity line follows the face: it is computed once the attribute controls have rested this long
#: (debounced in the page), so while a slider moves the CPU decodes faces, not classifier checks.
FIDELITY_DELAY_MS = 250

def debounce_click_js(elem_id: str, delay_ms: int) -> str:
    """A page-only event handler: (re)start a ``delay_ms`` timer that clicks the button ``elem_id``, so a burst
    of changes ends in one click, and none reaches the server before (``clickAfterRest`` in
    ``ui/static/page_events.js``)."""
    return call_js("page_events.js", "clickAfterRest", elem_id, int(delay_ms))


def watch_strengths_js(elem_id: str, delay_ms: int) -> str:
    """Run once per page: the browser's own input/change events of the attribute strength sliders (drag, keys,
    the number box) restart the timer of :func:`debounce_click_js`. Native listeners, not Gradio events: a
    Gradio ``.change`` event, even one that runs only in the page, added ~25 ms to every slider round trip.
    (``watchStrengths`` in ``ui/static/page_events.js``, which shares the timer with ``clickAfterRest``.)"""
    return call_js("page_events.js", "watchStrengths", elem_id, int(delay_ms))


def scroll_to_focus_js() -> str:
    """After a heatmap click: bring the highlighted slider into view once the Generate tab is drawn."""
    return call_js("page_events.js", "scrollIntoViewSoon", ".cvae-focus", 250)


@dataclass
class AnalysisTab:
    status: gr.Markdown
    compute_btn: gr.Button
    scorecard: gr.Markdown
    heatmap: gr.HTML
    timer: gr.Timer
    direction: gr.Dropdown
    preview: gr.Image
    png_file: gr.File
    gif_file: gr.File
    fidelity: gr.Markdown
    all_dims: gr.Checkbox

    @property
    def view_outputs(self) -> list:
        return [self.status, self.compute_btn, self.scorecard, self.heatmap, self.timer]

    @property
    def reset_outputs(self) -> list:
        """What a checkpoint change resets (with :func:`reset_values`)."""
        return [*self.view_outputs, self.direction, self.preview, self.png_file, self.gif_file, self.fidelity,
                self.all_dims]


# -- views ----------------------------------------------------------------------------------------------
def view_values(ctx: AppContext, explorer, start: bool = False, all_dims: bool = False) -> list:
    """Values for :attr:`AnalysisTab.view_outputs`: the cached analysis, or where its computation stands
    (``start``: begin computing it in the background if it is neither cached nor running; ``all_dims``: every
    latent dim in the heatmap, not only the most important). The scorecard reads each metric against the
    checkpoint's shipped β-sweep where it has one (ui.objective)."""
    status = ctx.analyses.start(explorer) if start else ctx.analyses.status(explorer)
    a = status.analysis if status.state == "ready" else None
    fig = heatmap.figure(a, ctx.layout(explorer), explorer.model_id, all_dims) if a is not None else None
    card = view.scorecard_markdown(a, checkpoint_sweep(ctx, explorer)) if a is not None else ""
    # the button only while there is something to compute: a ready analysis needs no disabled bar above it
    return [view.status_markdown(status), gr.update(interactive=status.state in ("missing", "failed"),
                                                   visible=status.state != "ready"),
            card, fig, gr.Timer(active=status.state == "running")]


def direction_update(layout: SliderLayout | None):
    choices = view.traversal_choices(layout) if layout is not None else []
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


def reset_values(ctx: AppContext, explorer) -> list:
    """Values for :attr:`AnalysisTab.reset_outputs` after switching to ``explorer``'s checkpoint."""
    hidden = gr.update(value=None, visible=False)
    return [*view_values(ctx, explorer), direction_update(ctx.layout(explorer)), hidden, hidden, hidden,
            view.EDIT_HINT, False]


def edit_fidelity(ctx: AppContext, st: SessionState, values, strict: bool = True) -> str:
    """The Generate tab's edit-fidelity line for the current sliders (see :func:`.view.edit_check_markdown`)."""
    explorer, layout, z_after = generate_tab.slider_latent(ctx, st, values, strict)
    raw, pca, attr_values, strengths = generate_tab.split(values)
    edits = view.attribute_edits(layout, attr_values, strengths)
    if not edits:
        return view.EDIT_HINT
    clf = ctx.analyses.classifier(explorer)
    if clf is None:
        return view.missing_classifier_markdown(ctx.analyses.status(explorer))
    if clf.resolution != explorer.resolution:
        return "*Edit fidelity: this checkpoint's attribute classifier judges another resolution; recompute it.*"
    # the same face without the attribute edits: the visitor's own directions (trailing values) stay in both
    z_before = own_dirs.add_own(layout.compose(generate_tab.base_latent(layout, st), raw, pca, attr_values,
                                               [0.0] * N_ATTR), st, list(values)[generate_tab.N_SLIDERS:])
    probs = clf.predict_proba(explorer.decode(np.stack([z_before, z_after])))
    return view.edit_check_markdown(edits, view.predicted(probs, 0), view.predicted(probs, 1), clf,
                                    layout.value_names)


def mirror_fidelity(ctx: AppContext, st: SessionState, packed, attr_values, strengths) -> str:
    """The edit-fidelity line for the face the page shows: its slider mirror (``packed``) with the attribute
    controls as they rest (targets and strengths from their own components); own-direction strengths kept."""
    values = slider_mirror.unpack(packed)
    n = N_RAW + N_PCA
    values[n:n + N_ATTR] = strengths
    return edit_fidelity(ctx, st, generate_tab.mirrored_split(values, attr_values), strict=False)


def focus_values(ctx: AppContext, st: SessionState, show_collapsed: bool, dim) -> list:
    """Outputs of a heatmap click: the Generate tab, its raw-dims accordion open, every raw slider's classes
    (the clicked dim's highlighted and made visible even if collapsed), and the note naming the dim."""
    explorer = ctx.explorer(st)
    layout = ctx.layout(explorer)
    i = view.focus_slot(layout, dim)
    updates = []
    for j in range(N_RAW):
        if j < len(layout.raw):
            slot = layout.raw[j]
            updates.append(gr.update(elem_classes=generate_tab.raw_classes(slot, focused=j == i),
                                     visible=slot.active or bool(show_collapsed) or j == i))
        else:
            updates.append(gr.update())
    status = ctx.analyses.status(explorer)
    note = view.focus_note(layout, i, status.analysis, generate_tab.layout_note(layout))
    return [gr.Tabs(selected="generate"), gr.Accordion(open=True), *updates, note]


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_=.-]+", "_", label)[:40] or "direction"


def make_traversal(ctx: AppContext, st: SessionState, values, choice, low, high, steps) -> tuple[str, str, str]:
    """Decode the current Generate face moved along the chosen direction → (preview PNG, grid PNG, GIF) paths."""
    explorer, layout, z = generate_tab.slider_latent(ctx, st, values)
    direction = view.traversal_direction(explorer, layout, choice)
    lo, hi, n = view.check_range(low, high, steps)
    result = trav.traverse(explorer.decode, z, direction, lo, hi, n)
    folder = ctx.settings.cache_dir / "traversals"
    prune_old_files(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = tempfile.mkstemp(dir=folder, prefix=f"traversal-{_safe(direction.label)}-", suffix=".name")[1]
    Path(stem).unlink(missing_ok=True)  # only its unique name is used
    scale = max(1, 128 // result.resolution)  # each face at least 128 px, pixel-exact
    png = trav.save_grid_png(result, Path(stem).with_suffix(".png"), scale=scale)
    gif = trav.save_gif(result, Path(stem).with_suffix(".gif"), duration_ms=150, scale=scale)
    return str(png), str(png), str(gif)


# -- build ----------------------------------------------------------------------------------------------
def build(ctx: AppContext, state: gr.State, layout: SliderLayout | None, gen: generate_tab.GenerateTab,
          tabs: gr.Tabs) -> tuple[AnalysisTab, dict]:
    """The tab's components and events; returns the tab and the show-event kwargs for its ``select``."""
    with gr.Accordion("Latent traversal of the current Generate face: PNG grid and animated GIF", open=True):
        with gr.Row():
            first = direction_update(layout)
            direction = gr.Dropdown(first.get("choices", []), value=first.get("value"), scale=3,
                                    label="Direction (raw dim, PCA direction or attribute value)",
                                    elem_id="analysis_trav_direction",
                                    # choices change with the checkpoint; traversal_direction checks the value
                                    allow_custom_value=True)
            low = gr.Number(-3.0, label="From (offset)", elem_id="analysis_trav_low", minimum=-10, maximum=10)
            high = gr.Number(3.0, label="To (offset)", elem_id="analysis_trav_high", minimum=-10, maximum=10)
            steps = gr.Slider(2, view.MAX_TRAVERSAL_STEPS, value=7, step=1, label="Steps",
                              elem_id="analysis_trav_steps")
        gr.Markdown("Offsets are added to the current Generate face: prior standard deviations for a raw dim, "
                    "standard deviations of the data for a PCA direction, slider strengths for an attribute.")
        go_btn = gr.Button("Make traversal", elem_id="analysis_trav_go")
        # shown once a traversal is made: empty, they made the tab's first screen mostly drop zones
        preview = gr.Image(label="Traversal", interactive=False, format="png", elem_id="analysis_trav_preview",
                           height=200, visible=False)
        with gr.Row():
            png_file = gr.File(label="Grid (PNG)", interactive=False, elem_id="analysis_trav_png", visible=False)
            gif_file = gr.File(label="Animation (GIF)", interactive=False, elem_id="analysis_trav_gif", visible=False)
    status = gr.Markdown(elem_id="analysis_status")
    # Enabled only while there is something to compute (the tab's show event decides).
    compute_btn = gr.Button("Compute analysis", variant="primary", elem_id="analysis_compute", interactive=False)
    scorecard = gr.Markdown(elem_id="analysis_scorecard")
    all_dims = gr.Checkbox(False, label=f"Show every latent dim in the heatmap (by default: the {heatmap.TOP_DIMS} most important)",
                           elem_id="analysis_heat_all")
    heat = gr.HTML(value=None, html_template=heatmap.TEMPLATE, css_template=heatmap.CSS,
                   js_on_load=heatmap.JS_ON_LOAD, head=plotmap.plotly_head(ctx.settings.cache_dir), elem_id="analysis_heatmap",
                   padding=False)
    # API twin of the heatmap's click bridge (the browser sends clicks as custom event data).
    focus_dim = gr.Number(visible=False, label="latent dim", precision=0)
    focus_btn = gr.Button(visible=False)
    timer = gr.Timer(1.0, active=False)
    tab = AnalysisTab(status=status, compute_btn=compute_btn, scorecard=scorecard, heatmap=heat, timer=timer,
                      direction=direction, preview=preview, png_file=png_file, gif_file=gif_file,
                      fidelity=gen.fidelity, all_dims=all_dims)

    quiet = dict(show_progress="hidden", concurrency_limit=None)

    @user_errors
    def show_analysis(st: SessionState, every_dim=False):
        return view_values(ctx, ctx.explorer(st), all_dims=validate.flag(every_dim, "show every latent dim"))

    @user_errors
    def compute(st: SessionState, every_dim=False):
        return view_values(ctx, ctx.explorer(st), start=True,
                           all_dims=validate.flag(every_dim, "show every latent dim"))

    compute_btn.click(compute, [state, all_dims], tab.view_outputs, api_name="analysis_compute", **quiet)
    timer.tick(show_analysis, [state, all_dims], tab.view_outputs, api_name="analysis_status", **quiet)
    all_dims.input(show_analysis, [state, all_dims], tab.view_outputs, api_visibility="private", **quiet)

    focus_outputs = [tabs, gen.raw_box, *gen.raw, gen.note]

    @user_errors
    def focus(st: SessionState, show_collapsed: bool, dim):
        return focus_values(ctx, st, validate.flag(show_collapsed, "show collapsed dims"), dim)

    focus_btn.click(focus, [state, gen.show_collapsed, focus_dim], focus_outputs, api_name="focus_dim",
                    show_progress="hidden", preprocess=False).then(None, js=scroll_to_focus_js(), api_visibility="private")

    @user_errors
    def on_cell_click(st: SessionState, show_collapsed: bool, evt: gr.EventData):
        d = evt._data or {}
        if str(d.get("model_id", "")) != ctx.explorer(st).model_id:
            raise UserInputError("the heatmap shows another checkpoint's analysis; open the Analysis tab again")
        return focus_values(ctx, st, show_collapsed, d.get("dim"))

    heat.focus_dim(on_cell_click, [state, gen.show_collapsed], focus_outputs, api_visibility="private",
                   show_progress="hidden").then(None, js=scroll_to_focus_js(), api_visibility="private")

    @user_errors
    def fidelity(st: SessionState, *values):
        return edit_fidelity(ctx, st, values)

    checks = dict(outputs=[gen.fidelity], trigger_mode="always_last", show_progress="hidden",
                  concurrency_id="fidelity", concurrency_limit=ctx.settings.concurrency)
    # For API clients: every value explicit. The page uses the mirror events below.
    gr.Button(visible=False).click(fidelity, [state, *gen.slider_inputs], api_name="edit_fidelity", preprocess=False,
                                   **checks)

    # No request while the attribute controls move (each would cost the server as much queue and CPU time as a
    # face): the page clicks the hidden button once they rest — strength sliders through native listeners
    # (watch_strengths_js, installed by ui.app on page load), target dropdowns through their rare .change —
    # and a new face or checkpoint, which resets the strengths and sets a new mirror, puts the hint back.
    gr.on([c.change for c in gen.attr_value], None, js=debounce_click_js(gen.fidelity_go.elem_id, FIDELITY_DELAY_MS),
          api_visibility="private")
    gen.page_sync.change(None, None, [gen.fidelity], js=f"() => {json.dumps(view.EDIT_HINT)}", api_visibility="private")

    # The one fidelity event reads the page's mirror of the raw/PCA sliders (ui/static/generate_page.js, unpacked
    # by ui.generate.slider_mirror) and the attribute controls: the latent the page shows.
    @user_errors
    def on_attribute_rest(st: SessionState, packed, *attr_controls):
        return mirror_fidelity(ctx, st, packed, attr_controls[:N_ATTR], attr_controls[N_ATTR:])

    gen.fidelity_go.click(on_attribute_rest, [state, gen.page_values, *gen.attr_value, *gen.attr_strength],
                          js=call_js("generate_page.js", "withValues", inputs="st, packed, ...rest"),
                          api_visibility="private", **checks)

    @user_errors
    def traversal(st: SessionState, *args):
        values, (choice, lo, hi, n) = args[:-4], args[-4:]
        return make_traversal(ctx, st, values, choice, lo, hi, n)

    go_btn.click(traversal, [state, *gen.slider_inputs, direction, low, high, steps], [preview, png_file, gif_file],
                 api_name="traversal", concurrency_id="encode", preprocess=False).success(
        # (API clients get the plain paths above; the page then shows the components, hidden while empty)
        lambda: [gr.update(visible=True)] * 3, None, [preview, png_file, gif_file], api_visibility="private",
        queue=False, show_progress="hidden")
    return tab, dict(fn=show_analysis, inputs=[state, all_dims], outputs=tab.view_outputs, show_progress="hidden")
