"""Train: start a run (one per app, in a background process), watch live curves and images, cancel,
resume. Finished runs appear in the checkpoint picker at the top (with their map computed in the
background). Sessions poll the shared runner with a timer; nobody's request waits on training."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from vae_core.config import SUPPORTED_RESOLUTIONS, ModelConfig, TrainConfig

from . import form as train_form
from . import view as train_view
from ..common.errors import user_errors
from ..common.images import upscale
from ..common.settings import display_path
from ..context import AppContext


@dataclass
class TrainTab:
    status: gr.Markdown
    plot: gr.Plot
    recon: gr.Image
    samples: gr.Image
    timer: gr.Timer
    resume_pick: gr.Dropdown
    checkpoint_picker: gr.Dropdown
    seen: gr.State

    @property
    def view_outputs(self) -> list:
        return [self.status, self.plot, self.recon, self.samples, self.timer, self.seen, self.resume_pick,
                self.checkpoint_picker]


def view(ctx: AppContext, seen: int, force: bool = False) -> list:
    """Outputs of :attr:`TrainTab.view_outputs` for the runner's current run; skipped if nothing changed."""
    run = ctx.runner.snapshot()
    version = -1 if run is None else run.version
    active = run is not None and (run.active or (run.done and not run.projection_ready and not run.error))
    if not force and version == seen:
        return [gr.skip()] * 4 + [gr.Timer(active=active), seen, gr.skip(), gr.skip()]
    checkpoints = ctx.registry.checkpoints()
    grids = [upscale(g, 2 * g.shape[0]) if g is not None else None
             for g in ((run.reconstructions, run.samples) if run is not None else (None, None))]
    return [train_view.status_markdown(run, ctx.settings), train_view.loss_figure(run), *grids,
            gr.Timer(active=active), version,
            gr.update(choices=train_form.resumable(ctx.settings, checkpoints)),
            gr.update(choices=ctx.registry.choices())]


def build(ctx: AppContext, checkpoint_picker: gr.Dropdown) -> TrainTab:
    s = ctx.settings
    roots = ", ".join(f"`{display_path(r)}`" for r in s.data_roots) or "none configured (set `CVAE_DATA_ROOTS`)"
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            kind = gr.Radio(train_form.DATASET_CHOICES, value="synthetic", label="Dataset", elem_id="train_kind")
            path = gr.Textbox(label="Folder (Cartoon Set or image folder)", placeholder="e.g. cartoonset10k",
                              info=f"Must be inside: {roots}", elem_id="train_path")
            # A few-minute demo on a shared CPU: 2,000 synthetic faces for 5 epochs are this tab's own preset,
            # not the recipe (which the config defaults below are; its β warm-up is shortened to fit the run).
            with gr.Row():
                size = gr.Number(label="Synthetic faces", value=2000, precision=0, minimum=2,
                                 maximum=train_form.MAX_SYNTHETIC, elem_id="train_size")
                limit = gr.Number(label="Use at most (0 = all)", value=0, precision=0, minimum=0, elem_id="train_limit")
            with gr.Row():
                resolution = gr.Dropdown(list(SUPPORTED_RESOLUTIONS), value=ModelConfig().resolution, label="Resolution", elem_id="train_resolution")
                latent_dim = gr.Number(label="Latent size", value=ModelConfig().latent_dim, precision=0, minimum=1, maximum=512,
                                       elem_id="train_latent")
                beta = gr.Number(label="β (KL weight)", value=TrainConfig().beta, minimum=0, maximum=100, step=0.1, elem_id="train_beta")
            with gr.Row():
                epochs = gr.Number(label="Epochs", value=5, precision=0, minimum=1, maximum=1000, elem_id="train_epochs")
                batch = gr.Number(label="Batch size", value=TrainConfig().batch_size, precision=0, minimum=1, maximum=1024, elem_id="train_batch")
                lr = gr.Number(label="Learning rate", value=TrainConfig().lr, minimum=1e-6, maximum=1, step=1e-4, elem_id="train_lr")
            name = gr.Textbox(label="Run name (folder under runs/)", placeholder="optional", elem_id="train_name")
            with gr.Row():
                start_btn = gr.Button("Start training", variant="primary", elem_id="train_start")
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="train_cancel")
            with gr.Accordion("Resume a stopped run", open=False):
                resume_pick = gr.Dropdown(train_form.resumable(s, ctx.registry.checkpoints()), label="Run",
                                          elem_id="train_resume_pick")
                with gr.Row():
                    resume_epochs = gr.Number(label="Total epochs", value=None, precision=0, minimum=1,
                                              elem_id="train_resume_epochs")
                    resume_btn = gr.Button("Resume", elem_id="train_resume")
        with gr.Column(scale=2):
            status = gr.Markdown(train_view.status_markdown(ctx.runner.snapshot(), ctx.settings), elem_id="train_status")
            plot = gr.Plot(label="Loss curves (train: lines, validation: points)", elem_id="train_plot")
            with gr.Row():
                recon = gr.Image(label="Validation faces (top) and reconstructions (bottom)", interactive=False,
                                 elem_id="train_recon", format="png", height=240)
                samples = gr.Image(label="Random faces (a mixture fitted to the training codes)", interactive=False,
                                   elem_id="train_samples", format="png", height=240)
    timer = gr.Timer(1.0, active=False)
    seen = gr.State(-2)
    tab = TrainTab(status=status, plot=plot, recon=recon, samples=samples, timer=timer, resume_pick=resume_pick,
                   checkpoint_picker=checkpoint_picker, seen=seen)

    @user_errors
    def start(dataset, folder, synthetic_faces, image_limit, resolution, latent_size, beta, epochs, batch_size,
              learning_rate, run_name, seen):
        req = train_form.new_run(s, kind=dataset, path=folder, size=synthetic_faces, limit=image_limit,
                                 resolution=resolution, latent_dim=latent_size, beta=beta, epochs=epochs,
                                 batch_size=batch_size, lr=learning_rate, name=run_name)
        ctx.runner.start(req)
        gr.Info(f"Training started: {req.label}")
        return view(ctx, seen, force=True)

    start_btn.click(start, [kind, path, size, limit, resolution, latent_dim, beta, epochs, batch, lr, name, seen],
                    tab.view_outputs, api_name="train_start", concurrency_limit=1, concurrency_id="train_control",
                    show_progress="hidden", preprocess=False)

    @user_errors
    def resume(run, total_epochs, seen):
        req = train_form.resume_run(s, run, ctx.registry.checkpoints(), total_epochs)
        ctx.runner.start(req)
        gr.Info(f"Resuming {req.label}")
        return view(ctx, seen, force=True)

    resume_btn.click(resume, [resume_pick, resume_epochs, seen], tab.view_outputs, api_name="train_resume",
                     concurrency_limit=1, concurrency_id="train_control", show_progress="hidden", preprocess=False)

    @user_errors
    def cancel(seen):
        if not ctx.runner.cancel():
            gr.Warning("No training run is in progress.")
        return view(ctx, seen, force=True)

    cancel_btn.click(cancel, [seen], tab.view_outputs, api_name="train_cancel", concurrency_id="train_control",
                     show_progress="hidden")

    @user_errors
    def poll(seen):
        return view(ctx, seen)

    timer.tick(poll, [seen], tab.view_outputs, api_name="train_status", show_progress="hidden",
               concurrency_limit=None)
    return tab
