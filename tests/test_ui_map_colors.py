"""The latent map beyond the labels (ui.map.colors, ui.map.recon_errors, ui.map.selection, ui.map.tab): colourings
by principal axis, one dim's KL, reconstruction error and the visitor's own directions; markers where codes lie;
a selection of faces made into a Generate slider."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

import ui_harness
from test_page_code import needs_node, run_on_load
from ui.common.errors import UserInputError
from ui.common.registry import ExplorerRegistry
from ui.common.state import SessionState
from ui.context import AppContext
from ui.generate import own as own_dirs
from ui.map import colors, plotmap, recon_errors, selection
from ui.map import tab as map_tab
from ui.train.runner import TrainingRunner
from vae_core import directions
from vae_core import latent as latent_ops
from vae_core.data.schema import AttributeSchema
from vae_core.slider_layout import AttrSlot


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> AppContext:
    settings = ui_harness.settings(CVAE_UI_CACHE=str(tmp_path_factory.mktemp("map-ui-cache")))
    return AppContext(settings=settings, registry=ExplorerRegistry(settings), runner=TrainingRunner(settings))


@pytest.fixture(scope="module")
def explorer(ctx):
    return ctx.registry.get(None)


def state_of(explorer, **kw) -> SessionState:
    return SessionState(checkpoint=str(explorer.path), **kw)


# -- choices ----------------------------------------------------------------------------------------------
def test_choices_name_attributes_as_generate_does_and_offer_code_colourings(ctx, explorer):
    opts = map_tab.color_options(ctx, explorer, state_of(explorer))
    by_value = {c.value: c for c in opts}
    names = explorer.embedding().schema.names
    for name in names:  # one name per attribute everywhere: the dropdown's label is Generate's slider title
        assert by_value[name].label == AttrSlot(name, (), ()).title and by_value[name].kind == "category"
    assert by_value["hair_color"].label == "hair color"
    layout = ctx.layout(explorer)
    pcs = [c for c in opts if c.value.startswith("pc:")]
    assert [c.label for c in pcs] == [f"PC{j + 1} · {100 * float(layout.pca_ratio[j]):.1f}% of the variance"
                                      for j in range(min(colors.N_PC, len(layout.pca_ratio)))]
    kls = [c for c in opts if c.value.startswith("kl:")]
    assert [c.label for c in kls] == [f"KL of z[{d}]" for d in explorer.dims_by_kl[:colors.N_KL]]
    assert opts[0].value == colors.NO_COLOR and by_value[colors.RECON].label == "reconstruction error"
    assert all(c.kind == "continuous" for c in (*pcs, *kls, by_value[colors.RECON]))
    # the session's own directions are offered, named for people
    own = own_dirs.own_from(directions.direction_from_examples(explorer.embedding().mu, [0, 1, 2], "round face",
                                                               explorer.model_id))
    with_own = {c.value: c for c in map_tab.color_options(ctx, explorer, state_of(explorer, own_directions=(own,)))}
    assert with_own["own:round face"].label == "along 'round face'"
    # the dropdown takes (label, value) pairs; a value no longer offered falls back to the default colouring
    upd = map_tab.color_update(ctx, explorer, state_of(explorer), "own:gone")
    assert ("hair color", "hair_color") in upd["choices"] and upd["value"] == map_tab.default_color(ctx, explorer)


def test_values_per_kind():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(200, 6)).astype(np.float32)
    std = rng.uniform(0.2, 1.5, size=(200, 6)).astype(np.float32)
    # per-face KL of a dim averages to the dim's KL that ranks Generate's raw sliders
    np.testing.assert_allclose(colors.kl_of_dim(mu, std, 3).mean(), latent_ops.kl_per_dim_stats(mu, std)[3], rtol=1e-9)
    assert (colors.kl_of_dim(mu, std, 3) >= 0).all()
    pca = latent_ops.pca_directions(mu, 3)
    x = colors.pc_projection(mu, pca.mean, pca.components[0], float(pca.stds[0]))
    assert abs(x.mean()) < 1e-5 and x.std(ddof=1) == pytest.approx(1.0, rel=1e-4)  # in standard deviations
    # along a mean-difference direction the selected faces sit exactly 1 (one slider unit) beyond the rest
    sel = np.zeros(200, bool)
    sel[:30] = True
    v = mu[sel].mean(0) - mu[~sel].mean(0)
    t = colors.along(mu, mu.mean(0), v)
    assert t[sel].mean() - t[~sel].mean() == pytest.approx(1.0, rel=1e-5)
    assert not colors.along(mu, mu.mean(0), np.zeros(6)).any()


def test_continuous_figure_has_one_trace_on_a_colour_scale_and_keeps_the_selection():
    rng = np.random.default_rng(1)
    n = 300
    bundle = types.SimpleNamespace(ids=np.array([f"f{i}" for i in range(n)]), labels=None, schema=None,
                                   thumbnails=np.zeros((n, 8, 8, 3), np.uint8))
    data = types.SimpleNamespace(bundle=bundle, coords=rng.normal(size=(n, 2)), method="umap")
    values = rng.normal(size=n)
    values[0] = 1e6  # one extreme face does not flatten the scale
    fig = plotmap.figure(data, plotmap.NO_COLOR, [], "a.png", "t", "k", selected=[5, 7, 9999],
                         continuous=colors.Continuous(values, "PC1 (σ)", "note"), revision="m:umap")
    json.dumps(fig)
    [trace] = [t for t in fig["data"] if t["meta"] == "dataset"]
    assert trace["customdata"] == list(range(n)) and trace["marker"]["colorscale"] == plotmap.COLORSCALE
    assert trace["marker"]["colorbar"]["title"]["text"] == "PC1 (σ)" and trace["marker"]["cmax"] < 10
    assert trace["marker"]["color"][3] == pytest.approx(values[3], abs=1e-4)
    assert trace["selectedpoints"] == [5, 7] and fig["layout"]["uirevision"] == "m:umap"
    # attribute colours: the legend says the attribute as Generate does
    labelled = types.SimpleNamespace(**{**vars(bundle), "schema": AttributeSchema(("hair_color",), (3,)),
                                        "labels": rng.integers(0, 3, (n, 1))})
    fig = plotmap.figure(types.SimpleNamespace(bundle=labelled, coords=data.coords, method="umap"), "hair_color", [],
                         "a.png", "t", "k", selected=[1])
    assert fig["layout"]["legend"]["title"]["text"] == "hair color"
    assert "hair color = " in fig["data"][0]["hovertemplate"]
    assert sum(len(t["selectedpoints"]) for t in fig["data"] if t["meta"] == "dataset") == 1


@pytest.mark.parametrize("kind", ["pc:1", "kl", "own", "hair_color", colors.NO_COLOR])
def test_every_colouring_draws_on_the_real_map(ctx, explorer, kind):
    b = explorer.embedding()
    st = state_of(explorer)
    if kind == "kl":
        kind = colors.kl_value(int(explorer.dims_by_kl[0]))
    if kind == "own":
        st, _ = own_dirs.make_direction(ctx, st, "beard", list(range(20)))
        kind = colors.own_value("beard")
    fig, method, status = map_tab.map_view(ctx, explorer, kind, None, "", b.mu[3], st=st)
    dataset = [t for t in fig["data"] if t["meta"] == "dataset"]
    assert sorted(i for t in dataset for i in t["customdata"]) == list(range(len(b.mu)))
    continuous = colors.find(map_tab.color_options(ctx, explorer, st), kind).kind == "continuous"
    assert (len(dataset) == 1 and "colorbar" in dataset[0]["marker"]) == continuous
    if kind.startswith("own:"):
        assert "'beard'" in status
        values = np.asarray(dataset[0]["marker"]["color"])
        assert values[:20].mean() - values[20:].mean() == pytest.approx(1.0, abs=1e-3)
    if kind.startswith("kl:"):
        assert "nats" in status
        np.testing.assert_allclose(dataset[0]["marker"]["color"], colors.kl_of_dim(b.mu, b.std, int(kind[3:])), atol=1e-4)
    # the current Generate face is drawn where its code lies: on face 3
    [current] = [t for t in fig["data"] if t["name"] == "current Generate face"]
    coords = explorer.map(method).coords
    assert current["x"][0] == pytest.approx(coords[3, 0], abs=1e-3) and current["y"][0] == pytest.approx(coords[3, 1], abs=1e-3)
    assert "lasso" in status


def test_a_direction_gone_since_the_dropdown_was_filled_draws_the_map_uncoloured(ctx, explorer):
    fig, _, status = map_tab.map_view(ctx, explorer, colors.own_value("beard"), None, "", None, st=state_of(explorer))
    assert "'beard' is gone" in status and not any("colorbar" in t["marker"] for t in fig["data"])
    fig, _, status = map_tab.map_view(ctx, explorer, "no such colouring", None, "", None)
    assert "not coloured" in status and len([t for t in fig["data"] if t["meta"] == "dataset"]) == 1


# -- reconstruction error -----------------------------------------------------------------------------------
def test_thumbnail_errors_measure_each_face_against_its_thumbnail():
    rng = np.random.default_rng(2)
    thumbs = rng.integers(0, 255, (10, 4, 4, 3), dtype=np.uint8)
    # a decoder that returns each face at twice the size (box-shrunk back exactly), one face off by 51 levels
    def decode(z):
        imgs = np.repeat(np.repeat(thumbs[z[:, 0].astype(int)], 2, axis=1), 2, axis=2).astype(np.int16)
        imgs[z[:, 0] == 4] += 51
        return np.clip(imgs, 0, 255).astype(np.uint8)
    mu = np.arange(10, dtype=np.float32)[:, None]
    err = recon_errors.thumbnail_errors(decode, mu, thumbs, batch=3)
    assert err.shape == (10,) and np.all(err[np.arange(10) != 4] == 0)
    expected = np.mean(np.square((np.clip(thumbs[4].astype(int) + 51, 0, 255) - thumbs[4]) / 255.0))
    assert err[4] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="thumbnails"):
        recon_errors.thumbnail_errors(decode, mu[:3], thumbs)


def test_recon_job_computes_once_in_the_background_and_reads_its_cache_back(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.linspace(0, 1, 5)

    file = tmp_path / "map-colors" / "recon-x.npz"
    job = recon_errors.ReconErrorJob(file, 5, compute)
    assert job.status().state == "missing"
    job.start()
    st = job.wait(10)
    assert st.state == "ready" and np.allclose(st.values, np.linspace(0, 1, 5)) and file.is_file()
    assert job.start().state == "ready" and len(calls) == 1
    again = recon_errors.ReconErrorJob(file, 5, compute)  # a restart: read from the cache, nothing computed
    assert again.status().state == "ready" and len(calls) == 1
    assert recon_errors.ReconErrorJob(file, 6, compute).status().state == "missing"  # another set of faces
    file.write_bytes(b"not a zip")
    assert recon_errors.read_errors(file, 5) is None
    broken = recon_errors.ReconErrorJob(tmp_path / "b.npz", 5, lambda: 1 / 0)
    broken.start()
    st = broken.wait(10)
    assert st.state == "failed" and "ZeroDivisionError" in st.message and broken.start().state == "failed"


def test_recon_colouring_says_it_is_computing_then_shows_the_errors(ctx, explorer):
    b = explorer.embedding()
    job = map_tab.recon_job(ctx, explorer)
    first = map_tab.continuous_values(ctx, explorer, colors.ColorChoice(colors.RECON, "", "continuous"), None)
    if isinstance(first, str):  # the job started (or was started by the warm-up): the map says so, uncoloured
        assert "background" in first and "Refresh" in first
    assert job.wait(60).state == "ready"
    fig, _, status = map_tab.map_view(ctx, explorer, colors.RECON, None, "", None)
    [trace] = [t for t in fig["data"] if t["meta"] == "dataset"]
    direct = recon_errors.thumbnail_errors(explorer.decode, b.mu, b.thumbnails)
    np.testing.assert_allclose(trace["marker"]["color"], direct, atol=1e-5)
    assert "reconstruction error" in status and "32×32" in status


# -- markers at the code, and a click that lands away ----------------------------------------------------
def test_a_pick_is_marked_where_its_code_lies_and_a_far_landing_is_said(ctx, explorer):
    fig, method, _ = map_tab.map_view(ctx, explorer, colors.NO_COLOR, None, "", None)
    st = state_of(explorer, map_method=method)
    data = explorer.map(method)
    coords = np.asarray(data.coords, np.float64)
    lo, hi = coords.min(0), coords.max(0)
    far = hi + (hi - lo)  # far outside every face: the nearest faces' codes map back inside the cloud
    _, text, st2 = map_tab.pick(ctx, st, float(far[0]), float(far[1]), -1)
    assert "Empty spot" in text and "nearest code the decoder knows" in text and "2-D shadow of 8 dims" in text
    [mark] = map_tab.pick_marks(data, st2.picked)
    placed = explorer.place(np.asarray(st2.picked), method)[0]
    assert mark["meta"] == "pick" and mark["x"][0] == pytest.approx(placed[0], abs=1e-3)
    assert mark["y"][0] == pytest.approx(placed[1], abs=1e-3)
    assert np.hypot(*(np.array([mark["x"][0], mark["y"][0]]) - far)) > 0.5 * np.ptp(coords, axis=0).max()
    # a click on a face lands on it: no note
    _, text, _ = map_tab.pick(ctx, st, float(coords[10, 0]), float(coords[10, 1]), -1)
    assert "Empty spot" in text and "nearest code" not in text
    # a dataset point is named with Generate's attribute titles
    _, text, _ = map_tab.pick(ctx, st, None, None, 4)
    assert "hair color:" in text and "hair_color" not in text


# -- selection → direction -------------------------------------------------------------------------------
def test_selection_from_the_page_is_checked():
    sel = selection.from_event({"indices": [3, 1, 3, 2.0]}, 10, "m")
    assert sel.indices == (3, 1, 2) and sel.chosen == (3, 1, 2)
    for bad in ({}, {"indices": "1,2"}, {"indices": [1, -1]}, {"indices": [10]}, {"indices": [True]},
                {"indices": [1.5]}, {"indices": list(range(11))}, None):
        with pytest.raises(UserInputError, match="select the faces again"):
            selection.from_event(bad, 10, "m")
    sel = sel.toggle(0)
    assert sel.chosen == (1, 2) and sel.toggle(0).chosen == (3, 1, 2)
    with pytest.raises(UserInputError):
        sel.toggle(3)
    assert sel.for_model("m") is sel and sel.for_model("other").indices == ()
    assert "No faces selected" in selection.describe(selection.Selection(), 10)
    assert "All 10 faces" in selection.describe(selection.from_event({"indices": list(range(10))}, 10, "m"), 10)
    assert "2 of 10 faces selected** (1 left out)" in selection.describe(sel, 10)
    thumbs = np.full((10, 4, 4, 3), 10, np.uint8)
    items = selection.gallery_items(sel, thumbs, [f"f{i}" for i in range(10)])
    assert [c for _, c in items] == ["left out · f3", "f1", "f2"] and items[0][0].mean() > items[1][0].mean()


def test_making_a_direction_from_a_selection_and_refusing_none_or_all(ctx, explorer):
    st = state_of(explorer)
    n = len(explorer.embedding().mu)
    with pytest.raises(UserInputError, match="select faces on the map first"):
        map_tab.make_direction(ctx, st, selection.Selection(model_id=explorer.model_id), "beard")
    everyone = selection.from_event({"indices": list(range(n))}, n, explorer.model_id)
    with pytest.raises(UserInputError, match="every face is selected"):
        map_tab.make_direction(ctx, st, everyone, "beard")
    some = selection.from_event({"indices": list(range(0, n, 7))}, n, explorer.model_id)
    with pytest.raises(UserInputError, match="name"):
        map_tab.make_direction(ctx, st, some, "   ")
    # a selection made on another model's map is not used
    with pytest.raises(UserInputError, match="select faces on the map first"):
        map_tab.make_direction(ctx, st, selection.Selection("0ther000", (1, 2, 3)), "beard")
    st2, message = map_tab.make_direction(ctx, st, some.toggle(0), "round face")
    [made] = st2.own_directions
    assert made.name == "round face" and "'round face'" in message and "Generate" in message
    assert f"{len(some.indices) - 1} selected faces against the other {n - len(some.indices) + 1}" in message


# -- the page side ------------------------------------------------------------------------------------------
@needs_node
def test_the_map_body_reports_box_and_lasso_selections_and_draws_marks(tmp_path):
    got = run_on_load(plotmap.JS_ON_LOAD, """
props.value = {key: 'k', method: 'umap', data: [{type: 'scatter', meta: 'dataset'}], layout: {},
               atlas: {url: 'a.png', cols: 64, size: 32, n: 3}};
props.marks = [{type: 'scatter', meta: 'pick'}];
const drawn = [];
Plotly.react = (el, data) => { drawn.push(data.map((t) => t.meta)); el._fullLayout = {}; };
watched[0][1]();
await new Promise((r) => setTimeout(r, 80));
const ds = {meta: 'dataset'}, mk = {meta: 'marker'};
handlers.plotly_selected({points: [{customdata: 4, data: ds}, {customdata: 9, data: ds}, {customdata: 4, data: ds},
                                   {customdata: undefined, data: mk}]});
handlers.plotly_selected(undefined);
handlers.plotly_deselect();
props.marks = [];
watched[1][1]();
await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({watched: watched.map((w) => w[0]), drawn, triggered}));
""", tmp_path)
    assert got["watched"] == ["value", ["marks"]]
    assert got["drawn"] == [["dataset", "pick"], ["dataset"]]
    assert got["triggered"] == [["select", {"indices": [4, 9], "method": "umap"}],
                                ["select", {"indices": [], "method": "umap"}],
                                ["select", {"indices": [], "method": "umap"}]]
