"""Assemble the explorer: header, checkpoint picker, model info, the seven tabs and the cross-tab events.

``build_app()`` builds Blocks and opens the default checkpoint (cheap when its caches ship with it); its
one process-wide effect is registering the UI cache's plotly.js and thumbnail atlases as Gradio static
paths, which must happen before the components that point at them are built. ``launch()`` sets what
belongs to serving: the app process's torch threads, the background warm-up and the server settings
(upload limit, CSS). ``app.py`` calls both.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections.abc import Callable

import gradio as gr
import torch

from vae_core.errors import VaeCoreError

from .analysis import tab as analysis_tab
from .common import validate
from .common import page_code
from .common.errors import user_errors
from .common.modelinfo import banner_html, info_markdown
from .common.registry import ExplorerRegistry
from .common.settings import AppSettings
from .common.state import Latent, SessionState, as_array
from .context import AppContext
from .generate import tab as generate_tab
from .generate.latents import sampler_note
from .interpolate import tab as interpolate_tab
from .map import plotmap
from .map import tab as map_tab
from .objective import tab as objective_tab
from .reconstruct import tab as reconstruct_tab
from .train import tab as train_tab
from .train.runner import TrainingRunner

log = logging.getLogger(__name__)

TITLE = "Cartoon VAE latent-space explorer"



def build_app(settings: AppSettings | None = None, registry: ExplorerRegistry | None = None,
              runner: TrainingRunner | None = None) -> gr.Blocks:
    """The app's Blocks, not launched (tests build it without a server). Settings default to the CVAE_*
    environment variables. Side effect: plotly.js is copied into the UI cache and it, with the thumbnail
    atlases, is registered as a Gradio static path (process-wide, see :func:`gradio.set_static_paths`)."""
    settings = settings or AppSettings.from_env()
    # Module scripts and WebAssembly need their own types (a browser refuses a module served as octet-stream, and
    # streams WebAssembly only as application/wasm); not every system's MIME table names them.
    mimetypes.add_type("text/javascript", ".mjs")
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("application/wasm", ".wasm")
    registry = registry or ExplorerRegistry(settings)
    runner = runner or TrainingRunner(settings)
    ctx = AppContext(settings=settings, registry=registry, runner=runner)
    # plotly.js and the hover atlases are served as static files: the map works offline.
    # The page's own code (ui/static, vae_core/web/static), the checkpoints' page files (layout, decoder) and
    # onnxruntime-web are static files too: the page decodes faces itself (ui.generate.tab).
    # (onnxruntime-web's folder is served by ctx.runtime as soon as it is found.)
    gr.set_static_paths([plotmap.static_plotly(settings.cache_dir), settings.cache_dir / "atlas",
                         settings.cache_dir / "web", *page_code.static_dirs()])

    try:
        explorer = registry.get(None)
        layout = ctx.layout(explorer)
        info = explorer.info()
    except VaeCoreError as e:
        log.error("no usable default checkpoint: %s", e)
        explorer, layout, info = None, None, {}
        startup_error = str(e)
    else:
        startup_error = ""

    with gr.Blocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        # A new page opens on a good random face of the default checkpoint (and the directions saved with it).
        state = gr.State(generate_tab.first_state(ctx, explorer))
        # One compact header, so the face and "Random face" fit the first screen (1280×720) under it.
        with gr.Row(equal_height=True, elem_classes=["cvae-header"]):
            gr.Markdown(f"## {TITLE}", elem_id="title", min_height=0)
            picker = gr.Dropdown(registry.choices(), value=registry.name_of(explorer.path) if explorer is not None else None,
                                 label="Checkpoint", show_label=False, container=False, elem_id="checkpoint_picker",
                                 scale=2, min_width=260,
                                 # checkpoints trained after start-up are valid too: the registry checks
                                 allow_custom_value=True)
            refresh = gr.Button("↻ Refresh list", elem_id="checkpoint_refresh", scale=0, size="sm", min_width=110)
        banner = gr.HTML(banner_html(info) if info else f"<b>No checkpoint:</b> {startup_error}",
                         elem_id="banner", padding=False)
        with gr.Tabs() as tabs:
            with gr.Tab("Generate", id="generate", elem_id="tab_generate"):
                generate = generate_tab.build(ctx, state, explorer, layout)
            with gr.Tab("Reconstruct", id="reconstruct", elem_id="tab_reconstruct"):
                reconstruct = reconstruct_tab.build(ctx, state, explorer)
            with gr.Tab("Latent map", id="map", elem_id="tab_map") as latent_map_page:
                latent_map, map_shows = map_tab.build(ctx, state, explorer, generate)
            with gr.Tab("Interpolate", id="interpolate", elem_id="tab_interpolate"):
                interpolate = interpolate_tab.build(ctx, state, generate.temperature, generate.sampler)
            with gr.Tab("Analysis", id="analysis", elem_id="tab_analysis") as analysis_page:
                analysis, analysis_show = analysis_tab.build(ctx, state, layout, generate, tabs)
            with gr.Tab("Objective", id="objective", elem_id="tab_objective") as objective_page:
                objective, objective_show = objective_tab.build(ctx, state, generate)
            with gr.Tab("Train", id="train", elem_id="tab_train") as train_page:
                train = train_tab.build(ctx, picker)

        # What the model is, in full (the banner above says it in one line): below the tabs, out of the first screen.
        with gr.Accordion("Model info", open=False, elem_id="model_info_box"):
            info_md = gr.Markdown(info_markdown(info) if info else "", elem_id="model_info")

        # -- cross-tab events --------------------------------------------------------------------------
        for show in map_shows:
            latent_map_page.select(api_visibility="private", **show)
        analysis_page.select(api_visibility="private", **analysis_show)
        objective_page.select(api_visibility="private", **objective_show)
        train_page.select(train.show, [train.seen, train.token], train.view_outputs, api_visibility="private",
                          show_progress="hidden")

        def send_to_generate(latent_of: Callable[[SessionState], Latent | None], missing: str):
            """A handler that opens the Generate tab on the session's ``latent_of(state)`` (the reconstructed
            upload, the map's picked point), or says ``missing`` when there is none yet."""
            @user_errors
            def send(st: SessionState):
                latent = latent_of(st)
                if latent is None:
                    raise gr.Error(missing)
                z = as_array(latent)
                explorer = ctx.explorer(st)
                st = st.replace(base=latent, seed=None)
                return {state: st, tabs: gr.Tabs(selected="generate"),
                        **generate.show_face(generate_tab.face_view(ctx, explorer, ctx.layout(explorer, st.direction_kind), z, st))}
            return send

        to_generate = [state, *generate.value_outputs, tabs]
        reconstruct.edit_btn.click(
            send_to_generate(lambda st: st.upload_mu, "Reconstruct an image first (upload one or pick an example)."),
            [state], to_generate, api_name="edit_in_generate")
        latent_map.send_btn.click(
            send_to_generate(lambda st: st.picked, "Click a point (or an empty spot) on the map first."),
            [state], to_generate, api_name="map_to_generate")

        @user_errors
        def set_checkpoint(choice, show_collapsed, sampler=None):
            show_collapsed = validate.flag(show_collapsed, "show collapsed dims")
            explorer = registry.get(choice)
            st = generate_tab.first_state(ctx, explorer)
            layout = ctx.layout(explorer)
            inf = explorer.info()
            return {state: st, banner: banner_html(inf), info_md: info_markdown(inf),
                    generate.sampler_info: sampler_note(explorer, sampler),
                    **generate.show_layout(generate_tab.layout_view(ctx, explorer, layout, st, show_collapsed)),
                    reconstruct.examples: gr.update(value=reconstruct_tab.example_gallery(ctx, explorer)),
                    **dict(zip(reconstruct.result_outputs, [None, None, ""])),
                    latent_map.color_by: map_tab.color_update(ctx, explorer, st),
                    latent_map.plot: None, latent_map.face: None, latent_map.info: "",
                    **{c: None for c in interpolate.reset_outputs},
                    **dict(zip(analysis.reset_outputs, analysis_tab.reset_values(ctx, explorer))),
                    **dict(zip(objective.reset_outputs, objective_tab.reset_values(ctx, explorer)))}

        def restore_picker(st: SessionState):
            # A failed switch (corrupt, mis-shaped or vanished checkpoint) changed nothing: the session
            # keeps its model, and the picker goes back to showing it.
            return gr.update(value=registry.name_of(st.checkpoint) if st.checkpoint else None)

        switch = picker.input(set_checkpoint, [picker, generate.show_collapsed, generate.sampler],
                              [state, banner, info_md, generate.sampler_info, *generate.layout_outputs,
                               reconstruct.examples, *reconstruct.result_outputs, latent_map.color_by, latent_map.plot,
                               latent_map.face, latent_map.info, *interpolate.reset_outputs, *analysis.reset_outputs,
                               *objective.reset_outputs],
                              api_name="set_checkpoint", preprocess=False)
        switch.failure(restore_picker, [state], picker, api_visibility="private", queue=False, show_progress="hidden")
        switch.success(None, js=map_tab.REDRAW_IF_SHOWN_JS, api_visibility="private")

        @user_errors
        def list_checkpoints():
            return gr.update(choices=registry.choices())

        refresh.click(list_checkpoints, None, picker, api_name="list_checkpoints", queue=False)
        # Every page load lists the checkpoints as they are now (runs trained since the server started too).
        demo.load(list_checkpoints, None, picker, api_visibility="private", queue=False, show_progress="hidden")
        # The first page's face came with the page: give the page its sync message (later ones arrive as changes).
        demo.load(None, [generate.page_sync], None, js=page_code.call_js("generate_page.js", "sync", inputs="s"),
                  api_visibility="private")
        # A share link (?face=cvae1:…) opens the face it carries; a damaged one says why and leaves the page as is.
        demo.load(None, None, [generate.latent_text], js=page_code.call_js("generate_page.js", "sharedLatent"),
                  api_visibility="private").then(
            generate.open_shared, [state, generate.latent_text], [state, *generate.value_outputs],
            api_visibility="private", show_progress="hidden")
        # The Train tab's visitor token, kept by this browser: a reload still owns the runs it started.
        demo.load(None, None, [train.token], js=train.token_load_js, api_visibility="private")
        demo.load(None, js=plotmap.preload_plotly_js(ctx.settings.cache_dir), api_visibility="private")
        demo.load(None, js=analysis_tab.watch_strengths_js(generate.fidelity_go.elem_id, analysis_tab.FIDELITY_DELAY_MS),
                  api_visibility="private")

    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    demo.cvae_context = ctx  # for tests and scripts (the runner, the registry)
    return demo


def warm_up(ctx: AppContext) -> None:
    """Prepare, in the background, what each shipped checkpoint's first visit would otherwise compute while a
    visitor waits: its explorer, slider layout (value swatches), example gallery and map figure (thumbnail
    atlas, the attribute it separates best). Switching to a shipped checkpoint then costs its HTTP round
    trip, and the map tab paints at once."""
    shipped = [p for p in ctx.registry.checkpoints() if p.parent == ctx.settings.default_checkpoint.parent]
    for path in shipped:
        try:
            explorer = ctx.registry.get(str(path))
            ctx.layout(explorer)
            reconstruct_tab.example_gallery(ctx, explorer)
            map_tab.map_view(ctx, explorer, map_tab.default_color(ctx, explorer), None, "", None)
        except Exception:  # noqa: BLE001 - a warm-up must never stop the app; the first visit computes it
            log.exception("warming up %s failed", path)


def launch(demo: gr.Blocks, settings: AppSettings | None = None, **kwargs):
    """Serve the app: upload size limit, no SSR (no Node needed, same on a Space), our CSS.

    No run history: Gradio 6 would record every call, inputs and output face included, in the browser's
    localStorage, re-serialising up to 100 stored runs several times per call. For a slider that fires
    ~20 calls a second that was most of the browser round trip (profiled: ~17 ms/move in
    ``localStorage.setItem`` alone, growing as the history filled) and it fills the visitor's storage
    with faces nobody asked to keep.
    """
    settings = settings or demo.cvae_context.settings
    # Requests decode one face at a time: one intra-op thread each is fastest, and stays fast when the
    # cores are busy (training); concurrent requests still use several cores.
    torch.set_num_threads(max(1, settings.torch_threads))
    threading.Thread(target=warm_up, args=(demo.cvae_context,), name="warm-up", daemon=True).start()
    # A Space installs only requirements.txt: its first start fetches onnxruntime-web (pinned, checked) while the
    # page decodes on the server; a later page load decodes in the browser.
    demo.cvae_context.runtime.fetch_in_background()
    # allowed_paths: the images and GIFs the app writes live in its own cache folder, wherever the working
    # folder is (Gradio otherwise serves only files under the working folder or the system's temp folder).
    opts = dict(max_file_size=settings.max_file_size, ssr_mode=False, css_paths=[page_code.UI_STATIC / "app.css"],
                show_error=False,
                run_history=False, allowed_paths=[str(settings.cache_dir)])
    opts.update(kwargs)
    return demo.launch(**opts)
