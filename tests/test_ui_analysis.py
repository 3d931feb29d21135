"""The Analysis tab's pure callbacks, its background jobs and the heatmap figure (ui.analysis.view,
ui.analysis.jobs, ui.analysis.heatmap, ui.analysis.tab) on a copy of the harness's tiny checkpoint.

A copy, so that the app the client and browser tests launch in this process still starts without a
cached analysis of its own.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import types

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import ui_harness
from ui.analysis import heatmap
from ui.analysis import tab as analysis_tab
from ui.analysis import view
from ui.analysis.jobs import AnalysisJobs, JobStatus
from ui.common.errors import UserInputError
from ui.common.registry import ExplorerRegistry
from ui.common.state import SessionState
from ui.context import AppContext
from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW
from ui.train.runner import TrainingRunner
from vae_core.analysis.classifier.network import AttributeClassifier
from vae_core.analysis.report import AnalysisConfig, compute_analysis
from vae_core.errors import DatasetError


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> AppContext:
    root = tmp_path_factory.mktemp("analysis-ui")
    ckpt = root / "checkpoints" / "default"
    # without any analysis another test computed for the original in this process
    shutil.copytree(ui_harness.tiny_checkpoint(), ckpt, ignore=shutil.ignore_patterns("analysis"))
    settings = ui_harness.settings(CVAE_CHECKPOINT=str(ckpt), CVAE_UI_CACHE=str(root / "ui-cache"))
    return AppContext(settings=settings, registry=ExplorerRegistry(settings), runner=TrainingRunner(settings))


@pytest.fixture(scope="module")
def ready(ctx) -> JobStatus:
    """The copy's analysis, computed through the background job as the app does."""
    explorer = ctx.registry.get(None)
    assert ctx.analyses.status(explorer).state == "missing"
    t0 = time.perf_counter()
    started = ctx.analyses.start(explorer)
    assert time.perf_counter() - t0 < 1.0, "starting must not compute inside the request"
    assert started.state == "running"
    st = ctx.analyses.wait(explorer, timeout=300)
    assert st.state == "ready", st
    return st


def state(ctx) -> SessionState:
    return SessionState(checkpoint=str(ctx.registry.get(None).path))


def sliders(layout, attr_values=None, attr_strengths=None) -> list:
    av = (list(attr_values) if attr_values is not None else []) + [None] * N_ATTR
    st = (list(attr_strengths) if attr_strengths is not None else []) + [0.0] * N_ATTR
    av, st = av[:N_ATTR], st[:N_ATTR]
    return [*([0.0] * N_RAW), *([0.0] * N_PCA), *av, *st]


# -- the background job -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_job_computes_once_saves_and_a_new_app_loads_it_instantly(ctx, ready):
    explorer = ctx.registry.get(None)
    a = ready.analysis
    assert len(a.scorecard.factors) == 18 and a.scorecard.importance.shape == (8, 18)
    assert (explorer.path / "analysis" / f"analysis-{a.key}.json").is_file()
    assert ctx.analyses.start(explorer).state == "ready"  # no second computation
    fresh = AnalysisJobs(compute=lambda *a, **k: pytest.fail("a cached analysis must not be recomputed"))
    t0 = time.perf_counter()
    loaded = fresh.status(explorer)
    assert loaded.state == "ready" and time.perf_counter() - t0 < 0.5
    assert loaded.analysis.key == a.key and loaded.analysis.scorecard.mig == pytest.approx(a.scorecard.mig)
    clf = fresh.classifier(explorer)
    assert isinstance(clf, AttributeClassifier) and clf.resolution == 32
    assert fresh.classifier(explorer) is clf  # loaded once


def test_job_reports_failures_in_words(ctx):
    explorer = ctx.registry.get(None)
    other = AnalysisConfig(n_train=11)  # not cached: a job would start

    def no_labels(*a, **k):
        raise DatasetError("this dataset has no attribute labels")

    jobs = AnalysisJobs(config=other, compute=no_labels)
    assert jobs.status(explorer).state == "missing"
    jobs.start(explorer)
    st = jobs.wait(explorer, timeout=30)
    assert st.state == "failed" and "no attribute labels" in st.message
    assert "no attribute labels" in view.status_markdown(st)

    def bug(*a, **k):
        raise KeyError("internal detail")

    jobs = AnalysisJobs(config=other, compute=bug)
    jobs.start(explorer)
    st = jobs.wait(explorer, timeout=30)
    assert st.state == "failed" and "internal detail" not in st.message and "logged" in st.message


@pytest.mark.slow
def test_one_job_per_checkpoint_however_many_sessions_ask(ctx):
    explorer = ctx.registry.get(None)
    gate = threading.Event()
    calls = []

    def slow(explorer, config, progress):
        calls.append(1)
        progress("step one")
        gate.wait(10)
        return compute_analysis(explorer, config=AnalysisConfig(n_train=120, n_test=60), progress=progress, save=False)

    jobs = AnalysisJobs(config=AnalysisConfig(n_train=120, n_test=60), compute=slow)
    states = [jobs.start(explorer).state for _ in range(5)]
    assert states == ["running"] * 5
    ui_harness.wait_until(lambda: jobs.status(explorer).message == "step one", 5)  # the job's thread has run
    assert len(calls) == 1
    assert "step one" in view.status_markdown(jobs.status(explorer))
    gate.set()
    assert jobs.wait(explorer, 120).state == "ready" and len(calls) == 1


# -- the tab's views ----------------------------------------------------------------------------------------
def test_status_and_scorecard_markdown(ready):
    assert "Compute analysis" in view.status_markdown(JobStatus("missing"))
    assert "Computing" in view.status_markdown(JobStatus("running", "training the classifier", elapsed_s=3))
    a = ready.analysis
    assert "✓" in view.status_markdown(ready)
    md = view.scorecard_markdown(a)
    flagged = {x.attribute for x in a.classifier.per_attribute if x.accuracy is not None and not x.learned}
    for name in a.factor_names:
        # ⚠ marks exactly the rows whose classifier barely beats guessing
        assert (f"| ⚠ {name} |" if name in flagged else f"| {name} |") in md
    # the caption only where it applies, naming the flagged rows
    assert ("barely beats" in md) == bool(flagged) and all(f in md.split("barely beats")[0] for f in flagged)
    assert f"**MIG {a.scorecard.mig:.3f}**" in md and f"**SAP {a.scorecard.sap:.3f}**" in md
    assert f"**DCI disentanglement {a.scorecard.dci_disentanglement:.3f}**" in md and "edit fidelity" in md
    # each overall metric has its one-line reading: range, what good looks like, the value in context
    for label in ("MIG", "DCI disentanglement", "DCI completeness", "DCI informativeness", "SAP"):
        line = next(ln for ln in md.splitlines() if ln.startswith(f"- **{label} "))
        assert "0–1" in line and ("In context" in line) == (label == "DCI informativeness")  # (no sweep here)
    # 18 attributes: their table starts folded (one click away); a few would start open
    assert ("<details open>" in md) == (len(a.scorecard.factors) <= view.OPEN_ATTRIBUTES)
    hair = a.fidelity.of("hair_color")
    row = next(ln for ln in md.splitlines() if ln.startswith("|") and ln.split("|")[1].strip().lstrip("⚠ ") == "hair_color")
    assert f"{hair.fidelity:.3f}" in row and f"{a.factor('hair_color').accuracy:.3f}" in row


def test_view_values_start_only_when_asked(ctx, ready):
    explorer = ctx.registry.get(None)
    out = analysis_tab.view_values(ctx, explorer)
    status, button, md, fig, timer = out
    assert "✓" in status and button["interactive"] is False and "**MIG " in md
    assert fig["model_id"] == explorer.model_id and timer.active is False


def test_heatmap_shows_the_most_important_active_dims_and_all_on_request(ctx, ready):
    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    imp = np.asarray(ready.analysis.scorecard.importance)
    cols = [k for k, f in enumerate(ready.analysis.scorecard.factors) if not f.skipped]
    top = heatmap.figure(ready.analysis, layout, explorer.model_id)
    total = imp[:, cols].sum(axis=1)
    assert 0 < len(top["dims"]) <= heatmap.TOP_DIMS and top["total_dims"] == imp.shape[0]
    # active dims first, each group most important first; no dim left out that matters more than one shown
    active_of = {s.dim: s.active for s in layout.raw}
    keys = [(not active_of.get(d, True), -total[d]) for d in top["dims"]]
    assert keys == sorted(keys)
    active = {s.dim for s in layout.raw if s.active}
    shown_active = [d for d in top["dims"] if d in active]
    assert all(total[d] <= min(total[k] for k in shown_active) for d in active - set(top["dims"])) or \
        len(shown_active) == heatmap.TOP_DIMS
    assert top["height"] <= heatmap.ROW_PX * heatmap.TOP_DIMS + 170 and top["key"].endswith(":top")
    fig = heatmap.figure(ready.analysis, layout, explorer.model_id, all_dims=True)
    json.dumps(fig)
    trace = fig["data"][0]
    dims = [s.dim for s in layout.raw]
    assert fig["dims"] == dims and trace["y"][0].startswith(f"z{dims[0]}")
    scored = [f.name for f in ready.analysis.scorecard.factors if not f.skipped]
    assert trace["x"] == scored and np.array(trace["z"]).shape == (len(dims), len(scored))
    assert [row[0] for row in trace["customdata"]] == dims
    k = scored.index("hair_color")
    assert trace["z"][0][k] == pytest.approx(ready.analysis.scorecard.importance[dims[0], k], abs=1e-4)
    assert "focus_dim" in heatmap.JS_ON_LOAD and ready.analysis.key in fig["key"] and fig["key"] != top["key"]


def test_focus_highlights_exactly_that_slider_and_opens_generate(ctx, ready):
    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    slot = 3
    dim = layout.raw[slot].dim
    out = analysis_tab.focus_values(ctx, state(ctx), False, dim)
    tabs, box, raw, note = out[0], out[1], out[2:2 + N_RAW], out[-1]
    assert tabs.selected == "generate" and box.open is True
    focused = [i for i, u in enumerate(raw) if "cvae-focus" in (u.get("elem_classes") or [])]
    assert focused == [slot] and raw[slot]["visible"] is True
    assert f"z[{dim}]" in note and "DCI importance" in note
    with pytest.raises(UserInputError, match="between 0 and 7"):
        view.focus_slot(layout, 99)
    with pytest.raises(UserInputError, match="the latent dim must be a number, got 'z3'"):
        view.focus_slot(layout, "z3")
    with pytest.raises(UserInputError, match="the latent dim must be a whole number"):
        view.focus_slot(layout, 2.5)


# -- edit fidelity on the Generate face ---------------------------------------------------------------------
def fake_classifier(attributes=("hair_color", "glasses", "face_color"), learned=True):
    per = [types.SimpleNamespace(attribute=a, learned=learned) for a in attributes]
    return types.SimpleNamespace(attributes=attributes, report=types.SimpleNamespace(per_attribute=per))


def test_edit_check_says_whether_the_edit_took_and_what_leaked(ctx):
    layout = ctx.layout(ctx.registry.get(None))
    slot = next(s for s in layout.attrs if s.name == "hair_color")
    v = slot.values[0]
    other = (v + 1) % 10
    edit = [view.AttributeEdit(slot, v, 1.0)]
    before = {"hair_color": (other, 0.8), "glasses": (11, 0.9), "face_color": (2, 0.7)}
    took = {"hair_color": (v, 0.6), "glasses": (3, 0.5), "face_color": (2, 0.7)}
    md = view.edit_check_markdown(edit, before, took, fake_classifier(), layout.value_names)
    # Values by name (the synthetic card names hair colours and "no glasses"), not by code
    hair = layout.value_names["hair_color"]
    assert "✓ **hair color**" in md and f"{hair[other]} (80%) → **{hair[v]}**" in md
    assert "glasses: no glasses → value 3" in md
    assert "1 of 2 other attributes changed" in md
    missed = view.edit_check_markdown(edit, before, dict(before), fake_classifier())
    assert "✗ **hair color**" in missed and "No leakage" in missed
    away = view.edit_check_markdown([view.AttributeEdit(slot, v, -1.0)], before, dict(before), fake_classifier())
    assert "✓" in away and "away from" in away  # pushed away from v and v is not predicted: as intended
    shaky = view.edit_check_markdown(edit, before, took, fake_classifier(learned=False))
    assert "barely learned" in shaky


def test_attribute_edits_only_counts_moved_sliders(ctx):
    layout = ctx.layout(ctx.registry.get(None))
    values = [s.values[0] for s in layout.attrs] + [None] * (N_ATTR - len(layout.attrs))
    assert view.attribute_edits(layout, values, [0.0] * N_ATTR) == []
    strengths = [0.0] * N_ATTR
    strengths[1] = 1.5
    (e,) = view.attribute_edits(layout, values, strengths)
    assert e.slot == layout.attrs[1] and e.value == values[1] and e.toward
    assert view.attribute_edits(layout, ["x"] * N_ATTR, [1.0] * N_ATTR) == []  # unusable values are ignored


def test_edit_fidelity_callback_with_and_without_classifier(ctx, ready):
    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    k = [s.name for s in layout.attrs].index("hair_color")
    values = [s.values[0] for s in layout.attrs]
    assert analysis_tab.edit_fidelity(ctx, state(ctx), sliders(layout, values)) == view.EDIT_HINT
    strengths = [0.0] * N_ATTR
    strengths[k] = 2.0
    md = analysis_tab.edit_fidelity(ctx, state(ctx), sliders(layout, values, strengths))
    assert "Edit fidelity" in md and "**hair color**" in md and ("✓" in md or "✗" in md)
    assert "Leakage" in md or "No leakage" in md
    bare = AppContext(settings=ctx.settings, registry=ctx.registry, runner=ctx.runner,
                      analyses=AnalysisJobs(config=AnalysisConfig(n_train=13)))  # nothing cached for this one
    md = analysis_tab.edit_fidelity(bare, state(ctx), sliders(layout, values, strengths))
    assert "Compute analysis" in md and "Analysis" in md


# -- traversal export ---------------------------------------------------------------------------------------
def test_traversal_choices_and_directions(ctx):
    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    choices = dict((v, label) for label, v in view.traversal_choices(layout))
    assert f"raw:{layout.raw[0].dim}" in choices and "pca:0" in choices
    attr = next(v for v in choices if v.startswith("attr:hair_color:"))
    for value in (f"raw:{layout.raw[0].dim}", "pca:0", attr):
        d = view.traversal_direction(explorer, layout, value)
        assert d.vector.shape == (8,) and np.isfinite(d.vector).all()
    np.testing.assert_array_equal(view.traversal_direction(explorer, layout, "raw:2").vector, np.eye(8)[2])
    for bad in ("raw:99", "pca:50", "attr:hair_color:9999", "attr:nope:1", "lol", None, "raw:x"):
        with pytest.raises(UserInputError, match="pick a direction"):
            view.traversal_direction(explorer, layout, bad)


@pytest.mark.parametrize("low,high,steps,match", [
    (3, -3, 7, "lower to a higher"), (-50, 3, 7, "within"), (float("nan"), 1, 7, "start of the range must be a finite"),
    (-3, 3, 1, "between 2"), (-3, 3, 99, "between 2"), ("a", 3, 7, "start of the range must be a number"),
    (-3, [3], 7, "end of the range must be a number"), (-3, 3, "7", "steps must be a number"),
])
def test_traversal_range_is_checked(low, high, steps, match):
    with pytest.raises(UserInputError, match=match):
        view.check_range(low, high, steps)


def test_make_traversal_writes_a_grid_and_a_looping_gif(ctx):
    layout = ctx.layout(ctx.registry.get(None))
    preview, png, gif = analysis_tab.make_traversal(ctx, state(ctx), sliders(layout), "pca:0", -2, 2, 5)
    grid = Image.open(png)
    assert grid.size == (5 * 32 * 4, 32 * 4)  # 5 faces at 32 px, scaled ×4 to 128 px
    anim = Image.open(gif)
    assert anim.is_animated and anim.n_frames <= 2 * 5 - 2 and anim.size == (128, 128)
    assert preview == png and "PC1" in png
    first = np.asarray(grid)[:, :128].astype(int)
    last = np.asarray(grid)[:, -128:].astype(int)
    assert np.abs(first - last).mean() > 1  # the face changed along the direction


def test_reset_values_match_the_outputs(ctx, ready):
    explorer = ctx.registry.get(None)
    vals = analysis_tab.reset_values(ctx, explorer)
    assert len(vals) == 11 and vals[-2] == view.EDIT_HINT and vals[-1] is False
    # the traversal's preview and files are emptied and hidden until the next traversal
    assert all(v["value"] is None and v["visible"] is False for v in vals[6:9])
    assert vals[5]["choices"] and vals[5]["value"] == vals[5]["choices"][0][1]
    assert isinstance(vals[4], gr.Timer)


def test_edit_fidelity_is_its_own_quiet_event_beside_the_face():
    """The fidelity line must not slow the face: no request while the attribute controls move (the page
    debounces them and clicks one hidden button), then one event in another concurrency group, no overlay."""
    from ui.app import build_app

    demo = build_app(ui_harness.settings())
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    gen = fns["generate"]
    ids = {str(getattr(b, "elem_id", "")): bid for bid, b in demo.blocks.items()}
    attr_values = {bid for eid, bid in ids.items() if eid.startswith("gen_attr_value_")}
    strengths = {bid for eid, bid in ids.items() if eid.startswith("gen_attr_strength_")}
    assert len(attr_values) == len(strengths) == N_ATTR
    # strength sliders: no Gradio change event at all (native listeners in the page restart the timer)
    assert not [fn for fn in demo.fns.values() if any(t[0] in strengths and t[1] == "change" for t in fn.targets)]
    # target dropdowns: one page-only event that restarts the same timer
    dropdowns = [fn for fn in demo.fns.values() if any(t[0] in attr_values and t[1] == "change" for t in fn.targets)]
    assert len(dropdowns) == 1 and dropdowns[0].fn is None and not dropdowns[0].outputs
    # (clickAfterRest's timer: tests/test_page_code.py runs it)
    assert "page_events.js" in dropdowns[0].js
    assert dropdowns[0].js.endswith(f'.clickAfterRest("gen_fidelity_go", {analysis_tab.FIDELITY_DELAY_MS})')
    # the hidden button's click: the one request, reading the mirror and the attribute controls
    go = [fn for fn in demo.fns.values() if any(t[0] == ids["gen_fidelity_go"] and t[1] == "click" for t in fn.targets)]
    assert len(go) == 1 and len(go[0].inputs) == 2 + 2 * N_ATTR and go[0].js
    for fid in [*go, fns["edit_fidelity"]]:
        assert [o._id for o in fid.outputs] == [ids["gen_fidelity"]] and fid.concurrency_id != gen.concurrency_id
        assert fid.show_progress == "hidden" and fid.trigger_mode == "always_last"
    # a new face or checkpoint (a new mirror) puts the hint back, in the page
    reset = [fn for fn in demo.fns.values() if any(t[0] == ids["gen_sync"] and t[1] == "change" for t in fn.targets)
             and "move an attribute" in (fn.js or "")]
    assert len(reset) == 1 and reset[0].fn is None
    for name in ("analysis_compute", "analysis_status"):
        assert fns[name].concurrency_limit is None  # instant: they only look or start a thread


def test_the_fidelity_line_judges_the_face_shown_own_directions_included(ctx, ready, monkeypatch):
    """The page's mirror carries the own-direction strengths: the faces compared are the shown face and the same
    face without the attribute edit (own offset in both), not a face without the visitor's own slider."""
    from ui.common.state import OwnDirection
    from ui.generate import slider_mirror
    from vae_core.slider_layout import N_OWN

    explorer = ctx.registry.get(None)
    layout = ctx.layout(explorer)
    k = [s.name for s in layout.attrs].index("hair_color")
    own = np.linspace(-1, 1, explorer.latent_dim).astype(np.float32)
    st = state(ctx).replace(own_directions=(OwnDirection("tilt", tuple(float(v) for v in own)),))
    strengths = [0.0] * N_ATTR
    strengths[k] = 2.0
    targets = [s.values[0] for s in layout.attrs] + [None] * (N_ATTR - len(layout.attrs))
    mirror = slider_mirror.pack([*layout.raw_values(layout.mean), *([0.0] * N_PCA), *strengths, 1.5,
                                 *([0.0] * (N_OWN - 1))])
    decoded = []
    real = explorer.decode
    monkeypatch.setattr(explorer, "decode", lambda z: decoded.append(np.array(z)) or real(z))
    md = analysis_tab.mirror_fidelity(ctx, st, mirror, targets, strengths)
    assert "Edit fidelity" in md
    before, after = decoded[-1]
    plain = layout.compose(layout.mean, layout.raw_values(layout.mean), [0.0] * N_PCA, targets, [0.0] * N_ATTR)
    np.testing.assert_allclose(before, plain + 1.5 * own, atol=1e-4)  # the own slider is in the face judged
    np.testing.assert_allclose(after - before, 2.0 * layout.attr_dirs["hair_color"][0], atol=1e-4)
