"""The app builds without launching; every public endpoint is named; errors never leak tracebacks;
synthetic-data models are labelled (ui.app, ui.common.errors, ui.common.modelinfo)."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

import ui_harness
from ui.common.errors import UserInputError, user_errors
from ui.common.modelinfo import banner_html, info_markdown
from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW
from vae_core.errors import ImageInputError

EXPECTED_ENDPOINTS = {
    "generate", "random_face", "face_from_seed", "reset_face", "copy_latent", "paste_latent", "show_collapsed",
    "reconstruct", "reconstruct_example", "edit_in_generate", "show_map", "map_pick", "map_to_generate",
    "set_endpoint_a", "set_endpoint_b", "interpolate", "train_start", "train_cancel", "train_resume", "train_download",
    "train_status", "set_checkpoint", "list_checkpoints", "analysis_compute", "analysis_status", "focus_dim",
    "edit_fidelity", "traversal", "direction_from_examples", "import_directions", "export_directions",
    "clear_directions", "set_direction_kind", "objective", "objective_example",
}


@pytest.fixture(scope="module")
def demo():
    from ui.app import build_app

    return build_app(ui_harness.settings())


def test_every_public_endpoint_has_a_name(demo):
    public = [fn for fn in demo.fns.values() if fn.api_visibility == "public"]
    names = [fn.api_name for fn in public]
    assert all(names) and len(names) == len(set(names))
    assert set(names) == EXPECTED_ENDPOINTS


def test_slider_moves_are_the_pages_own_and_the_server_fallback_is_one_quiet_event(demo):
    """No Gradio event on a Generate slider: the page composes and decodes each move itself
    (ui/static/generate_page.js). The attribute dropdowns tell the page their value through a page-only event. Where
    the page cannot decode, its per-move request is one event: newest move wins, no overlay, few inputs."""
    sliders = {bid for bid, b in demo.blocks.items()
               if str(getattr(b, "elem_id", "")).startswith(("gen_raw_", "gen_pca_", "gen_attr_strength_"))}
    assert len(sliders) == N_RAW + N_PCA + N_ATTR
    for fn in demo.fns.values():
        assert not {bid for bid, _ in fn.targets} & sliders, f"a Gradio event on a slider: {fn.name}"
    dropdowns = {bid for bid, b in demo.blocks.items() if str(getattr(b, "elem_id", "")).startswith("gen_attr_value_")}
    told = [fn for fn in demo.fns.values() if {(bid, "input") for bid in dropdowns} & {tuple(t) for t in fn.targets}]
    assert len(told) == 1 and told[0].fn is None and "generate_page.js" in told[0].js and ".targets(" in told[0].js
    go = next(bid for bid, b in demo.blocks.items() if getattr(b, "elem_id", "") == "gen_decode_go")
    fallback = [fn for fn in demo.fns.values() if (go, "click") in [tuple(t) for t in fn.targets]]
    assert len(fallback) == 1
    fn = fallback[0]
    assert fn.trigger_mode == "always_last" and fn.show_progress == "hidden" and ".withValues(" in fn.js
    assert len(fn.inputs) == 2 + N_ATTR
    api = next(fn for fn in demo.fns.values() if fn.api_name == "generate")  # every value explicit
    assert len(api.inputs) == 1 + N_RAW + N_PCA + 2 * N_ATTR


def test_queue_limits_are_set(demo):
    assert demo._queue.max_size == ui_harness.settings().queue_size
    assert demo._queue.default_concurrency_limit == ui_harness.settings().concurrency


def test_user_errors_become_gradio_errors_without_traces(caplog):
    @user_errors
    def bad_image():
        raise ImageInputError("not an image: expected a 'cvae1:<model id>:<data>' or <b>PNG</b>")

    with pytest.raises(gr.Error) as e:
        bad_image()
    assert "&lt;model id&gt;" in e.value.message and "<b>" not in e.value.message

    @user_errors
    def bug():
        raise KeyError("internal detail")

    with caplog.at_level(logging.ERROR, logger="ui.common.errors"), pytest.raises(gr.Error) as e:
        bug()
    assert "internal detail" not in e.value.message and "logged" in e.value.message
    assert "KeyError" in caplog.text  # the trace goes to the server log

    @user_errors
    def gen():
        yield 1
        raise UserInputError("stop here")

    it = gen()
    assert next(it) == 1
    with pytest.raises(gr.Error, match="stop here"):
        next(it)


def test_model_info_labels_synthetic_data_everywhere():
    info = {"checkpoint": "/c", "model_id": "abcd1234", "dataset": "SYNTHETIC cartoon faces", "synthetic": True,
            "resolution": 64, "latent_dim": 32, "channels": [8], "parameters": 1000, "beta": 1.0,
            "metrics": {"mse": 0.01, "ssim": 0.9, "partial": True}, "command": "python -m vae_core train"}
    assert "SYNTHETIC" in banner_html(info) and "not</b> Google" in banner_html(info)
    md = info_markdown(info)
    assert "SYNTHETIC" in md and "64×64" in md and "python -m vae_core train" in md and "stopped early" in md
    real = dict(info, synthetic=False, dataset="Cartoon Set (real, Google, CC BY 4.0)")
    assert "SYNTHETIC" not in banner_html(real) and "Cartoon Set" in banner_html(real)


def test_warm_up_prepares_the_shipped_checkpoints_first_visit():
    """What a first visit to a shipped checkpoint would compute (layout, gallery, map figure) is ready after
    the launch-time warm-up, so a switch and the map's first paint do not wait for it."""
    from ui.app import warm_up
    from ui.context import AppContext
    from ui.common.registry import ExplorerRegistry
    from ui.train.runner import TrainingRunner

    settings = ui_harness.settings()
    ctx = AppContext(settings=settings, registry=ExplorerRegistry(settings), runner=TrainingRunner(settings))
    warm_up(ctx)
    explorer = ctx.registry.get(None)
    computed_now = []
    from vae_core.direction_kinds import DEFAULT_DIRECTIONS

    for name in (f"layout-{DEFAULT_DIRECTIONS}", "atlas", f"separations-{settings.map_method}"):
        ctx.registry.derived(explorer, name, lambda name=name: computed_now.append(name))
    assert not computed_now, f"not prepared by the warm-up: {computed_now}"


def test_temperature_has_one_range_in_the_ui_and_the_api():
    """The slider's range is the API's: beyond it the API refuses with the range, never clamps silently."""
    from ui.common.errors import UserInputError
    from ui.generate import latents
    from vae_core.sampling import MAX_TEMPERATURE

    assert latents.check_temperature(MAX_TEMPERATURE) == MAX_TEMPERATURE
    for bad in (MAX_TEMPERATURE + 0.01, 1_000_000, -0.1):
        with pytest.raises(UserInputError, match=f"between 0 and {MAX_TEMPERATURE:g}"):
            latents.check_temperature(bad)


def test_show_collapsed_dims_is_offered_only_when_a_shown_dim_collapsed(demo):
    """On a model with no collapsed dim among the sliders the switch would change nothing: it is hidden."""
    import dataclasses

    from ui.common.state import SessionState
    from ui.generate.tab import layout_view
    from vae_core.slider_layout import RawSlot

    ctx = demo.cvae_context
    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    every = dataclasses.replace(layout, raw=tuple(RawSlot(s.dim, s.kl, True) for s in layout.raw))
    some = dataclasses.replace(layout, raw=(RawSlot(layout.raw[0].dim, 0.0, False), *every.raw[1:]))
    st = SessionState(checkpoint=str(explorer.path))
    assert layout_view(ctx, explorer, every, st, False).show_collapsed["visible"] is False
    assert layout_view(ctx, explorer, some, st, False).show_collapsed["visible"] is True
