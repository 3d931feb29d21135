"""Train: start a run (in a background process), watch live curves and images, cancel, resume. A run
belongs to the visitor who started it (a token the page keeps, see ui.train.owners): only they may cancel
or resume it; everybody sees that it runs, with its progress and ETA. Finished runs appear in the
checkpoint picker at the top for everyone (read-only). Sessions poll the shared runner with a timer;
nobody's request waits on training."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from vae_core.config import SUPPORTED_RESOLUTIONS, ModelConfig, TrainConfig

from . import form as train_form
from . import view as train_view
from .owners import check_token, new_token, owner_id
from ..common import page_code
from ..common.errors import UserInputError, user_errors
from ..common.images import upscale
from ..common.settings import display_path
from ..context import AppContext

#: How many API sessions' tokens the server remembers (a gradio_client session that does not pass its token
#: back still owns its run); the oldest are forgotten first.
MAX_SESSIONS = 10_000


class SessionTokens:
    """session_hash → the token issued to that session (bounded, thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, str] = OrderedDict()

    def get(self, session: str | None) -> str:
        with self._lock:
            return self._tokens.get(session or "", "")

    def set(self, session: str | None, token: str) -> None:
        if not session:
            return
        with self._lock:
            self._tokens[session] = token
            self._tokens.move_to_end(session)
            while len(self._tokens) > MAX_SESSIONS:
                self._tokens.popitem(last=False)


@dataclass
class TrainTab:
    status: gr.Markdown
    others: gr.Markdown
    plot: gr.Plot
    recon: gr.Image
    samples: gr.Image
    timer: gr.Timer
    resume_pick: gr.Dropdown
    continue_pick: gr.Dropdown
    checkpoint_picker: gr.Dropdown
    cancel_btn: gr.Button
    download_info: gr.Markdown
    token: gr.Textbox
    seen: gr.State
    #: the handler that draws the tab when it is opened, inputs ``[seen, token]`` (wired by ui.app)
    show: Callable | None = None

    @property
    def view_outputs(self) -> list:
        return [self.status, self.plot, self.recon, self.samples, self.timer, self.seen, self.resume_pick,
                self.checkpoint_picker, self.others, self.continue_pick, self.cancel_btn, self.download_info]

    @property
    def token_load_js(self) -> str:
        """The page-load js= that reads the kept token into :attr:`token` (wired by ui.app)."""
        return page_code.call_js("train_token.js", "load")


def identity(sessions: SessionTokens, token_text, request: gr.Request | None,
             strict: bool = True) -> tuple[str, str | None]:
    """(token, owner id) of the caller: the token it sent (the page's, an API client's), else the one this
    server issued to its session; ("", None) for a visitor who never started a run. A malformed token is an
    error for actions (``strict``) and ignored by the views, so a damaged page storage cannot make the
    once-a-second poll fail every second."""
    try:
        sent = check_token(token_text)
    except UserInputError:
        if strict:
            raise
        sent = ""
    token = sent or sessions.get(getattr(request, "session_hash", None))
    return token, (owner_id(token) if token else None)


def view(ctx: AppContext, tab: TrainTab, seen, owner: str | None, force: bool = False) -> dict:
    """:attr:`TrainTab.view_outputs` for this visitor: their latest run in full, others' runs in progress in a
    line each; skipped (but the timer kept right) if nothing changed since ``seen``."""
    runner = ctx.runner
    run = runner.snapshot(owner) if owner is not None else None
    others = [r for r in runner.active() if owner is None or r.owner != owner]
    download = runner.downloads.state()
    version = f"{owner or '-'}:{runner.version}:{runner.downloads.version}"
    mine_active = run is not None and run.active
    polling = bool(others) or mine_active or download.running
    if not force and version == seen and not (run is not None and run.phase):
        return {tab.timer: gr.Timer(active=polling)}
    checkpoints = ctx.registry.checkpoints()
    grids = [upscale(g, 2 * g.shape[0]) if g is not None else None
             for g in ((run.reconstructions, run.samples) if run is not None else (None, None))]
    status = train_view.status_markdown(run, ctx.settings) if run is not None else \
        ("No run of yours yet. Pick a dataset and settings, then **Start training**." if ctx.settings.train.enabled
         else train_form.disabled_message(ctx.settings))
    trainable = train_form.trainable_runs(ctx.settings, checkpoints, runner.owners, owner)
    busy = runner.busy_names()
    return {
        tab.status: status, tab.plot: train_view.loss_figure(run), tab.recon: grids[0], tab.samples: grids[1],
        tab.timer: gr.Timer(active=polling), tab.seen: version,
        tab.resume_pick: gr.update(choices=[(c.label, c.name) for c in trainable
                                            if not c.finished and c.name not in busy]),
        tab.continue_pick: gr.update(choices=[(c.label, c.name) for c in trainable
                                              if c.finished and c.name not in busy]),
        tab.checkpoint_picker: gr.update(choices=ctx.registry.choices()),
        tab.others: train_view.others_markdown(others, mine_active, ctx.settings.train.max_concurrent),
        tab.cancel_btn: gr.Button(interactive=bool(mine_active and not run.done and not run.cancel_requested)),
        tab.download_info: download.describe(),
    }


def build(ctx: AppContext, checkpoint_picker: gr.Dropdown) -> TrainTab:
    s = ctx.settings
    policy = s.train
    sessions = SessionTokens()
    roots = ", ".join(f"`{display_path(r)}`" for r in s.data_roots) or "none configured (set `CVAE_DATA_ROOTS`)"
    found = train_form.image_folders(s)
    gr.Markdown(train_form.limits_markdown(s), elem_id="train_limits")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            kind = gr.Radio(train_form.DATASET_CHOICES, value="synthetic", label="Dataset", elem_id="train_kind")
            path = gr.Textbox(label="Folder(s): the Cartoon Set, or image folders separated by commas",
                              placeholder=", ".join(found[:2]) or "e.g. cartoonset10k",
                              info=f"Inside {roots}" + (f"; found: {', '.join(found)}" if found else ""),
                              elem_id="train_path")
            data_hint = gr.Markdown(train_form.dataset_hint("synthetic", s), elem_id="train_data_hint")
            with gr.Row():
                download_btn = gr.Button("Download cartoonset10k", size="sm", visible=False,
                                         interactive=policy.allow_download, elem_id="train_download")
            download_info = gr.Markdown("", elem_id="train_download_info")
            # A few-minute demo on a shared CPU: 2,000 synthetic faces for 5 epochs are this tab's own preset,
            # not the recipe (which the config defaults below are; its β warm-up is shortened to fit the run).
            with gr.Row():
                size = gr.Number(label="Synthetic faces", value=2000, precision=0, minimum=2,
                                 maximum=min(train_form.MAX_SYNTHETIC, policy.max_faces or train_form.MAX_SYNTHETIC),
                                 elem_id="train_size")
                limit = gr.Number(label="Use at most (0 = all)", value=0, precision=0, minimum=0, elem_id="train_limit")
            with gr.Row():
                resolution = gr.Dropdown(list(SUPPORTED_RESOLUTIONS), value=ModelConfig().resolution, label="Resolution", elem_id="train_resolution")
                latent_dim = gr.Number(label="Latent size", value=ModelConfig().latent_dim, precision=0, minimum=1, maximum=512,
                                       elem_id="train_latent")
                beta = gr.Number(label="β (KL weight)", value=TrainConfig().beta, minimum=0, maximum=100, step=0.1, elem_id="train_beta")
            with gr.Row():
                epochs = gr.Number(label="Epochs", value=5, precision=0, minimum=1, maximum=policy.max_epochs,
                                   elem_id="train_epochs")
                batch = gr.Number(label="Batch size", value=TrainConfig().batch_size, precision=0, minimum=1, maximum=1024, elem_id="train_batch")
                lr = gr.Number(label="Learning rate", value=TrainConfig().lr, minimum=1e-6, maximum=1, step=1e-4, elem_id="train_lr")
            name = gr.Textbox(label="Run name (folder under runs/)", placeholder="optional", elem_id="train_name")
            with gr.Row():
                start_btn = gr.Button("Start training", variant="primary", elem_id="train_start",
                                      interactive=policy.enabled)
                cancel_btn = gr.Button("Cancel my run", variant="stop", elem_id="train_cancel", interactive=False)
            with gr.Accordion("Resume a stopped run", open=False, elem_id="train_resume_box"):
                resume_pick = gr.Dropdown([], label="Your stopped runs", elem_id="train_resume_pick",
                                          info="Runs you cancelled, or that stopped at their time limit; "
                                               "they go on from their last step")
                with gr.Row():
                    resume_epochs = gr.Number(label="Total epochs", value=train_form.DEFAULT_RESUME_EPOCHS, precision=0,
                                              minimum=1, maximum=policy.max_epochs, elem_id="train_resume_epochs",
                                              info="The total to reach, counting the epochs already done "
                                                   "(filled in when you pick a run)")
                    resume_btn = gr.Button("Resume", elem_id="train_resume")
            with gr.Accordion("Continue training a finished run", open=False, elem_id="train_continue_box"):
                continue_pick = gr.Dropdown([], label="Your finished runs", elem_id="train_continue_pick",
                                            info="Trains further from the finished weights, for more epochs")
                with gr.Row():
                    continue_epochs = gr.Number(label="Total epochs", value=train_form.DEFAULT_RESUME_EPOCHS,
                                                precision=0, minimum=1, maximum=policy.max_epochs,
                                                elem_id="train_continue_epochs",
                                                info="More than the run has done (filled in when you pick a run)")
                    continue_btn = gr.Button("Continue training", elem_id="train_continue")
        with gr.Column(scale=2):
            status = gr.Markdown("No run of yours yet.", elem_id="train_status")
            others = gr.Markdown("", elem_id="train_others")
            plot = gr.Plot(label="Loss curves (train: lines, validation: points)", elem_id="train_plot")
            with gr.Row():
                recon = gr.Image(label="Validation faces (top) and reconstructions (bottom)", interactive=False,
                                 elem_id="train_recon", format="png", height=240)
                samples = gr.Image(label="Random faces (a kernel density on the training codes)", interactive=False,
                                   elem_id="train_samples", format="png", height=240)
    # The visitor's token (ui.train.owners): read from the page's storage at load, returned by a start.
    token = gr.Textbox("", visible=False, label="training token", elem_id="train_token")
    timer = gr.Timer(1.0, active=False)
    seen = gr.State("")
    tab = TrainTab(status=status, others=others, plot=plot, recon=recon, samples=samples, timer=timer,
                   resume_pick=resume_pick, continue_pick=continue_pick, checkpoint_picker=checkpoint_picker,
                   cancel_btn=cancel_btn, download_info=download_info, token=token, seen=seen)
    keep_token = page_code.call_js("train_token.js", "keep", inputs="token")

    def launch(req, token: str, owner, seen, request: gr.Request, message: str):
        """Start ``req`` for its visitor (a first run, or a run nobody owns, gets a new token) and show it."""
        if not token:
            token = new_token()
            owner = owner_id(token)
        ctx.runner.start(req, owner)
        sessions.set(getattr(request, "session_hash", None), token)
        gr.Info(message)
        return {**view(ctx, tab, seen, owner, force=True), tab.token: token}

    @user_errors
    def start(dataset, folder, synthetic_faces, image_limit, resolution, latent_size, beta, epochs, batch_size,
              learning_rate, run_name, token_text, seen, request: gr.Request):
        token, owner = identity(sessions, token_text, request)
        req = train_form.new_run(s, kind=dataset, path=folder, size=synthetic_faces, limit=image_limit,
                                 resolution=resolution, latent_dim=latent_size, beta=beta, epochs=epochs,
                                 batch_size=batch_size, lr=learning_rate, name=run_name)
        return launch(req, token, owner, seen, request, f"Training started: {req.label}")

    start_btn.click(start, [kind, path, size, limit, resolution, latent_dim, beta, epochs, batch, lr, name, token, seen],
                    [*tab.view_outputs, token], api_name="train_start", concurrency_limit=1,
                    concurrency_id="train_control", show_progress="hidden", preprocess=False).then(
        None, [token], None, js=keep_token, api_visibility="private")

    def resume_handler(finished: bool):
        @user_errors
        def resume(run, total_epochs, token_text, seen, request: gr.Request):
            token, owner = identity(sessions, token_text, request)
            req = train_form.resume_run(s, run, ctx.registry.checkpoints(), total_epochs, ctx.runner.owners, owner)
            # without a token: a run nobody owns (trained from the CLI, on a private app); the resumer owns it now
            return launch(req, token, owner, seen, request, f"{'Continuing' if finished else 'Resuming'} {req.label}")
        return resume

    resume_btn.click(resume_handler(False), [resume_pick, resume_epochs, token, seen], [*tab.view_outputs, token],
                     api_name="train_resume", concurrency_limit=1, concurrency_id="train_control",
                     show_progress="hidden", preprocess=False).then(
        None, [token], None, js=keep_token, api_visibility="private")
    continue_btn.click(resume_handler(True), [continue_pick, continue_epochs, token, seen], [*tab.view_outputs, token],
                       api_visibility="private", concurrency_limit=1, concurrency_id="train_control",
                       show_progress="hidden", preprocess=False).then(
        None, [token], None, js=keep_token, api_visibility="private")

    def fill_epochs(finished: bool):
        @user_errors
        def fill(run, token_text, request: gr.Request):
            _, owner = identity(sessions, token_text, request)
            runs = {c.name: c for c in train_form.trainable_runs(s, ctx.registry.checkpoints(), ctx.runner.owners,
                                                                 owner)}
            choice = runs.get(run) if isinstance(run, str) else None
            if choice is None:
                return gr.update()
            done = f"{choice.name} has trained {choice.epochs_done} of {choice.epochs_planned} planned epochs"
            return gr.update(value=train_form.default_epochs(choice), info=f"{done}; the total to reach")
        return fill

    resume_pick.input(fill_epochs(False), [resume_pick, token], resume_epochs, api_visibility="private",
                      show_progress="hidden")
    continue_pick.input(fill_epochs(True), [continue_pick, token], continue_epochs, api_visibility="private",
                        show_progress="hidden")

    @user_errors
    def cancel(token_text, seen, request: gr.Request):
        _, owner = identity(sessions, token_text, request)
        run = ctx.runner.cancel(owner) if owner is not None else None
        if run is None:
            if owner is None and ctx.runner.active():
                raise gr.Error("The run in progress belongs to another visitor: only the visitor who started it "
                               "can cancel it.", print_exception=False)
            gr.Warning("You have no training run in progress.")
        elif run.done:
            gr.Info(f"{run.request.label} has finished training; its map is being computed (nothing to cancel).")
        return view(ctx, tab, seen, owner, force=True)

    cancel_btn.click(cancel, [token, seen], tab.view_outputs, api_name="train_cancel", concurrency_id="train_control",
                     show_progress="hidden")

    @user_errors
    def poll(seen, token_text, request: gr.Request):
        _, owner = identity(sessions, token_text, request, strict=False)
        return view(ctx, tab, seen, owner)

    timer.tick(poll, [seen, token], tab.view_outputs, api_name="train_status", show_progress="hidden",
               concurrency_limit=None)

    @user_errors
    def download():
        state = ctx.runner.downloads.start("cartoonset10k")
        return {download_info: state.describe(), timer: gr.Timer(active=True)}

    download_btn.click(download, None, [download_info, timer], api_name="train_download",
                       concurrency_id="train_control", show_progress="hidden")

    def show_hint(dataset):
        return {data_hint: train_form.dataset_hint(dataset, s), download_btn: gr.update(visible=dataset == "cartoonset")}

    kind.change(show_hint, [kind], [data_hint, download_btn], api_visibility="private", queue=False,
                show_progress="hidden")
    @user_errors
    def show(seen, token_text, request: gr.Request):
        return view(ctx, tab, seen, identity(sessions, token_text, request, strict=False)[1], force=True)

    tab.show = show
    return tab
