"""Objective: the β-ELBO the model was trained on, made visible for any face, then the prior hole and β.

- **This face**: a held-out face, an upload or the current Generate face → its two ELBO terms next to the seed's
  formulas, per-dim KL as sorted bars, μ and σ against the prior, decoded posterior samples beside the decode of
  the mean, and how typical the face is among the held-out faces (:mod:`vae_core.objective`).
- **The prior hole**: the aggregate posterior against N(0, I), and faces of both samplers side by side.
- **β**: the shipped β-sweep with this checkpoint's point.

Checkpoint-level figures come from the cache of :mod:`vae_core.analysis.objective_reference` (shared, read-only;
derived once per explorer through the registry); a request computes only its own face (one encode, 17 decodes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from vae_core.analysis.objective_reference import ObjectiveReference, Placement, Sweep, load_sweep, reference
from vae_core.errors import CheckpointError, VaeCoreError
from vae_core.model import gaussian_log_norm_const
from vae_core.objective import FaceObjective, face_objective

from . import plots, view
from ..common.errors import UserInputError, user_errors
from ..common.images import image_file, strip, upscale
from ..common.page_code import call_js
from ..common.state import SessionState
from ..context import AppContext
from ..generate import slider_mirror
from ..generate import tab as generate_tab
from ..reconstruct import encode

log = logging.getLogger(__name__)

#: Faces of each sampler shown side by side (seeds 0…N−1, temperature 1).
SAMPLER_FACES = 8
#: Size each small face is shown at in the strips (the model's 64×64 scaled smoothly).
STRIP_FACE = 128


@dataclass
class ObjectiveTab:
    upload: gr.Image
    example_index: gr.Number
    example_btn: gr.Button
    generate_btn: gr.Button
    model_input: gr.Image
    mean_decode: gr.Image
    samples: gr.Image
    terms: gr.Markdown
    kl_plot: gr.Plot
    mu_sigma_plot: gr.Plot
    numbers: gr.JSON
    hole: gr.Markdown
    norms_plot: gr.Plot
    top_plot: gr.Plot
    marginals_plot: gr.Plot
    fitted_faces: gr.Image
    prior_faces: gr.Image
    beta_md: gr.Markdown
    beta_plot: gr.Plot

    @property
    def face_outputs(self) -> list:
        return [self.model_input, self.mean_decode, self.samples, self.terms, self.kl_plot, self.mu_sigma_plot,
                self.numbers]

    @property
    def static_outputs(self) -> list:
        return [self.hole, self.norms_plot, self.top_plot, self.marginals_plot, self.fitted_faces, self.prior_faces,
                self.beta_md, self.beta_plot]

    @property
    def reset_outputs(self) -> list:
        """What a checkpoint change resets (with :func:`reset_values`)."""
        return [*self.face_outputs, *self.static_outputs]


# -- checkpoint-level, computed once per explorer -----------------------------------------------------------------
def checkpoint_reference(ctx: AppContext, explorer) -> ObjectiveReference:
    """The checkpoint's objective reference (its cache file, or computed once and cached: seconds)."""
    return ctx.registry.derived(explorer, "objective-reference", lambda: reference(explorer))


def checkpoint_sweep(ctx: AppContext, explorer) -> Sweep | None:
    def load() -> Sweep | None:
        try:
            return load_sweep(explorer.path)
        except CheckpointError:
            return None
    return ctx.registry.derived(explorer, "objective-sweep", load)


def _strip(images_u8: np.ndarray) -> np.ndarray:
    return strip(np.stack([upscale(im, STRIP_FACE) for im in images_u8]), gap=4)


def static_values(ctx: AppContext, explorer) -> list:
    """Values of :attr:`ObjectiveTab.static_outputs` (memoised per explorer: identical for every visitor)."""
    def build() -> list:
        ref = checkpoint_reference(ctx, explorer)
        fitted = explorer.sampler
        sampler_text = f"a {fitted.describe()}." if fitted is not None else ""
        fitted_faces = explorer.decode(explorer.sample(SAMPLER_FACES, seed=0))
        prior_faces = explorer.decode(explorer.sample(SAMPLER_FACES, seed=0, prior=True))
        sw = checkpoint_sweep(ctx, explorer)
        status = ctx.analyses.status(explorer)
        scores: dict[str, float] = {}
        if status.state == "ready" and status.analysis is not None:
            c = status.analysis.scorecard
            scores = {"mig": c.mig, "dci_disentanglement": c.dci_disentanglement, "sap": c.sap}
        meta = explorer.meta
        point = view.shipped_point(ref, meta.train.beta if meta.train else None,
                                   gaussian_log_norm_const(meta.model), scores)
        label = f"this checkpoint ({explorer.path.name})"
        return [view.prior_hole_markdown(ref, fitted is not None, sampler_text), plots.norms(ref.aggregate),
                plots.top_marginals(ref.aggregate), plots.marginals(ref.aggregate), image_file(_strip(fitted_faces), ctx.image_dir),
                image_file(_strip(prior_faces), ctx.image_dir),
                view.sweep_markdown(sw, point, meta.data.describe()),
                gr.update(value=plots.sweep(sw, point, label) if sw is not None else None, visible=sw is not None)]
    # keyed by whether the scorecard is in yet: the β plot shows its MIG/DCI/SAP once the analysis is ready
    ready = ctx.analyses.status(explorer).state == "ready"
    return ctx.registry.derived(explorer, f"objective-static-{ready}", build)


# -- one face -----------------------------------------------------------------------------------------------------
def objective_of(ctx: AppContext, explorer, image_u8: np.ndarray) -> FaceObjective:
    """The objective's terms of a model input (uint8 [R, R, 3]) with the checkpoint's training β."""
    meta = explorer.meta
    return face_objective(explorer.model, image_u8, beta=meta.train.beta if meta.train else 1.0)


def api_dict(explorer, obj: FaceObjective, source: str, p: Placement | None) -> dict[str, Any]:
    """The ``/objective`` answer: the face's terms (:meth:`FaceObjective.to_dict`), where it lies among the held-out
    faces (``p``, when known), and which checkpoint and face it is about."""
    d = obj.to_dict()
    d.update(model_id=explorer.model_id, source=source, active_units=int(explorer.active.sum()),
             latent_dim=explorer.latent_dim)
    if p is not None:
        d["heldout_bits_per_dim"] = {"low": p.low, "high": p.high, "mean": p.mean, "sd": p.sd, "n": p.n,
                                     "fraction_below": p.fraction_below, "verdict": p.verdict}
    return d


def face_values(ctx: AppContext, explorer, image_u8: np.ndarray, source: str) -> list:
    """Values of :attr:`ObjectiveTab.face_outputs` for one model input."""
    obj = objective_of(ctx, explorer, image_u8)
    placement = placement_or_none(ctx, explorer, obj.bits_per_dim)
    active = int(explorer.active.sum())
    return [image_file(upscale(obj.input_u8), ctx.image_dir), image_file(upscale(obj.mean_u8), ctx.image_dir),
            image_file(_strip(obj.samples_u8), ctx.image_dir),
            view.terms_markdown(obj, source, placement, active, explorer.latent_dim),
            plots.kl_bars(obj), plots.mu_sigma(obj), api_dict(explorer, obj, source, placement)]


def placement_or_none(ctx: AppContext, explorer, bits: float):
    """Where ``bits`` lies among the held-out faces, or None where the checkpoint has no reference to compare with
    (no held-out example faces, an unreadable embedding): the face's own terms are still shown."""
    try:
        return checkpoint_reference(ctx, explorer).heldout.placement(bits)
    except VaeCoreError as e:
        log.warning("no objective reference for %s: %s", explorer.path, e)
        return None


def typicality_line(ctx: AppContext, explorer, image_u8: np.ndarray) -> str:
    """For the Reconstruct report: how typical the image is for the model (its −ELBO among the held-out faces')."""
    obj = objective_of(ctx, explorer, image_u8)
    placement = placement_or_none(ctx, explorer, obj.bits_per_dim)
    if placement is None:
        return f"−ELBO of this image: **{obj.bits_per_dim:.3f} bits/dim** (this checkpoint has no held-out faces to compare)."
    return ("**How typical is this image for the model?** " + view.placement_sentence(placement)
            + " (The Objective tab shows both terms.)")


def example_face(explorer, index: Any) -> tuple[np.ndarray, str]:
    img, name = encode.example(explorer, index)
    return img, f"held-out face {name}"


def reset_values(ctx: AppContext, explorer) -> list:
    """Values of :attr:`ObjectiveTab.reset_outputs` for ``explorer``'s checkpoint: its held-out face #0."""
    img, name = example_face(explorer, 0)
    return [*face_values(ctx, explorer, img, name), *static_values(ctx, explorer)]


def generate_face(ctx: AppContext, st: SessionState, packed: Any, attr_values) -> tuple[np.ndarray, str]:
    """The face the Generate tab shows (its page's slider mirror and attribute controls), decoded as an image."""
    explorer, _, z = generate_tab.slider_latent(
        ctx, st, generate_tab.mirrored_split(slider_mirror.unpack(packed), list(attr_values)), False)
    return explorer.decode(z)[0], "the current Generate face"


# -- build ------------------------------------------------------------------------------------------------------
def build(ctx: AppContext, state: gr.State, gen: generate_tab.GenerateTab) -> tuple[ObjectiveTab, dict]:
    """The tab's components and events; returns the tab and the show-event kwargs for its ``select``."""
    gr.Markdown("The model minimises the **β-ELBO**: a reconstruction term plus β times a KL term. Choose a face to "
                "see both terms, computed from the seed's formulas.", elem_id="obj_intro")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            upload = gr.Image(label="Upload an image", type="filepath", sources=["upload", "clipboard"],
                              elem_id="obj_upload", height=180)
            with gr.Row():
                example_index = gr.Number(label="Held-out face #", value=0, precision=0, minimum=0,
                                          elem_id="obj_example_index", min_width=90)
                example_btn = gr.Button("Show held-out face", elem_id="obj_example_btn", size="sm")
            generate_btn = gr.Button("Use the current Generate face", elem_id="obj_from_generate", size="sm")
        with gr.Column(scale=3):
            with gr.Row():
                model_input = gr.Image(label="Model input x", interactive=False, elem_id="obj_input", height=200,
                                       buttons=["download"])
                mean_decode = gr.Image(label="Decode of the mean μ", interactive=False, elem_id="obj_mean",
                                       height=200, buttons=["download"])
            samples = gr.Image(label="Decodes of 4 samples z ~ q(z|x): the posterior's spread", interactive=False,
                               elem_id="obj_samples", height=150, buttons=["download"])
    terms = gr.Markdown(view.EMPTY_FACE, latex_delimiters=view.LATEX, elem_id="obj_terms")
    with gr.Row():
        kl_plot = gr.Plot(label="KL per dim", elem_id="obj_kl_plot", show_label=False)
        mu_sigma_plot = gr.Plot(label="μ and σ against the prior", elem_id="obj_mu_sigma_plot", show_label=False)
    with gr.Accordion("The numbers as the API returns them (/objective)", open=False):
        numbers = gr.JSON(label="/objective", elem_id="obj_json")
    hole = gr.Markdown(latex_delimiters=view.LATEX, elem_id="obj_hole")
    with gr.Row():
        norms_plot = gr.Plot(elem_id="obj_norms_plot", show_label=False)
        top_plot = gr.Plot(elem_id="obj_top_marginals_plot", show_label=False)
    marginals_plot = gr.Plot(elem_id="obj_marginals_plot", show_label=False)
    with gr.Row():
        fitted_faces = gr.Image(label=f"{SAMPLER_FACES} random faces from the fitted density (the app's default)",
                                interactive=False, elem_id="obj_fitted_faces", height=150)
        prior_faces = gr.Image(label="the same seeds from the N(0, I) prior", interactive=False,
                               elem_id="obj_prior_faces", height=150)
    beta_md = gr.Markdown(latex_delimiters=view.LATEX, elem_id="obj_beta")
    beta_plot = gr.Plot(elem_id="obj_beta_plot", show_label=False)
    tab = ObjectiveTab(upload=upload, example_index=example_index, example_btn=example_btn, generate_btn=generate_btn,
                       model_input=model_input, mean_decode=mean_decode, samples=samples, terms=terms, kl_plot=kl_plot,
                       mu_sigma_plot=mu_sigma_plot, numbers=numbers, hole=hole, norms_plot=norms_plot,
                       top_plot=top_plot, marginals_plot=marginals_plot, fitted_faces=fitted_faces, prior_faces=prior_faces,
                       beta_md=beta_md, beta_plot=beta_plot)
    face = dict(concurrency_id="encode", show_progress="minimal")

    @user_errors
    def from_upload(st: SessionState, payload):
        explorer = ctx.explorer(st)
        enc, name, _ = encode.encode_upload(explorer, payload)
        return face_values(ctx, explorer, enc.input_u8, f"your upload {name}")

    upload.upload(from_upload, [state, upload], tab.face_outputs, api_visibility="private", preprocess=False, **face)

    @user_errors
    def objective_api(st: SessionState, payload):
        explorer = ctx.explorer(st)
        enc, name, _ = encode.encode_upload(explorer, payload)
        obj = objective_of(ctx, explorer, enc.input_u8)
        return api_dict(explorer, obj, name, placement_or_none(ctx, explorer, obj.bits_per_dim))

    # For API clients: an image file in, the numbers out.
    gr.Button(visible=False).click(objective_api, [state, upload], [numbers], api_name="objective", preprocess=False,
                                   **face)

    @user_errors
    def from_example(st: SessionState, index):
        explorer = ctx.explorer(st)
        img, name = example_face(explorer, index)
        return face_values(ctx, explorer, img, name)

    example_btn.click(from_example, [state, example_index], tab.face_outputs, api_name="objective_example",
                      preprocess=False, **face)

    @user_errors
    def from_generate(st: SessionState, packed, *attr_values):
        if not packed:
            raise UserInputError("the Generate tab has no face yet: open it, draw a random face, then come back")
        img, name = generate_face(ctx, st, packed, attr_values)
        return face_values(ctx, ctx.explorer(st), img, name)

    generate_btn.click(from_generate, [state, gen.page_values, *gen.attr_value], tab.face_outputs,
                       js=call_js("generate_page.js", "withValues", inputs="st, packed, ...rest"),
                       api_visibility="private", preprocess=False, **face)

    @user_errors
    def show(st: SessionState, shown):
        explorer = ctx.explorer(st)
        static = static_values(ctx, explorer)
        if isinstance(shown, dict) and shown.get("model_id") == explorer.model_id:
            return [*[gr.update() for _ in tab.face_outputs], *static]
        img, name = example_face(explorer, 0)
        return [*face_values(ctx, explorer, img, name), *static]

    return tab, dict(fn=show, inputs=[state, numbers], outputs=tab.reset_outputs, show_progress="hidden")
