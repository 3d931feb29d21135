"""The latent map's figure, thumbnail atlas and click bridge script (ui.map.plotmap)."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
from PIL import Image

from ui.map import plotmap
from vae_core.data.schema import AttributeSchema


def fake_map(n: int = 300, values: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    schema = AttributeSchema(("colour", "many"), (values, 40))
    labels = np.stack([rng.integers(-1, values, n), rng.integers(0, 40, n)], axis=1)
    bundle = types.SimpleNamespace(ids=np.array([f"f{i}" for i in range(n)]), labels=labels, schema=schema,
                                   thumbnails=rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8))
    return types.SimpleNamespace(bundle=bundle, coords=rng.normal(size=(n, 2)).astype(np.float32), method="umap")


def dataset_traces(fig):
    return [t for t in fig["data"] if t["meta"] == "dataset"]


@pytest.mark.parametrize("color_by", ["colour", "many", plotmap.NO_COLOR])
def test_every_point_is_plotted_once_with_its_index(color_by):
    m = fake_map()
    fig = plotmap.figure(m, color_by, [], "atlas.png", "title", "k")
    json.dumps(fig)  # plain JSON for the browser
    idx = np.concatenate([t["customdata"] for t in dataset_traces(fig)])
    assert sorted(idx.tolist()) == list(range(300))
    for t in dataset_traces(fig):
        i = t["customdata"][0]
        assert t["x"][0] == pytest.approx(m.coords[i, 0], abs=1e-3) and t["text"][0] == f"f{i}"


def test_legend_groups_values_and_caps_categories():
    fig = plotmap.figure(fake_map(), "colour", [], "a.png", "t", "k")
    names = [t["name"] for t in dataset_traces(fig)]
    assert names[:3] == ["value 0", "value 1", "value 2"] and names[-1] == "other / unknown"  # -1 = unknown labels
    # Named values and their own (measured) colours replace codes and the palette
    named = dataset_traces(plotmap.figure(fake_map(), "colour", [], "a.png", "t", "k", value_names={1: "ginger"},
                                          value_colours={1: "#d2733a"}))
    assert named[1]["name"] == "ginger" and named[1]["marker"]["color"] == "#d2733a"
    assert named[0]["name"] == "value 0" and named[0]["marker"]["color"] in plotmap.PALETTE
    assert fig["layout"]["legend"]["title"]["text"] == "colour"
    many = [t["name"] for t in dataset_traces(plotmap.figure(fake_map(), "many", [], "a.png", "t", "k"))]
    assert len(many) == plotmap.MAX_CATEGORIES and many[-1].startswith("other")
    assert len(dataset_traces(plotmap.figure(fake_map(), plotmap.NO_COLOR, [], "a", "t", "k"))) == 1


def test_markers_are_drawn_on_top_and_not_clickable_as_faces():
    marks = [plotmap.Marker("your upload", (0.5, -1.0), "star", "#ff0"),
             plotmap.Marker("current Generate face", (1.0, 2.0), "diamond", "#f0f")]
    fig = plotmap.figure(fake_map(), "colour", marks, "a.png", "t", "k")
    tail = fig["data"][-2:]
    assert [t["name"] for t in tail] == ["your upload", "current Generate face"]
    assert all(t["meta"] == "marker" and "customdata" not in t for t in tail)
    assert tail[0]["x"] == [0.5] and tail[0]["y"] == [-1.0]


def test_atlas_places_each_thumbnail_and_is_written_once(tmp_path):
    thumbs = fake_map(n=130).bundle.thumbnails
    p = plotmap.atlas_path(tmp_path, thumbs, "m")
    sheet = np.asarray(Image.open(p))
    assert sheet.shape == (3 * 8, plotmap.ATLAS_COLS * 8, 3)
    r, c = divmod(129, plotmap.ATLAS_COLS)
    np.testing.assert_array_equal(sheet[r * 8:(r + 1) * 8, c * 8:(c + 1) * 8], thumbs[129])
    mtime = p.stat().st_mtime_ns
    assert plotmap.atlas_path(tmp_path, thumbs, "m") == p and p.stat().st_mtime_ns == mtime


def test_bridge_script_and_offline_plotly(tmp_path, monkeypatch):
    assert plotmap.PLOTLY_JS.is_file() and plotmap.PLOTLY_JS.stat().st_size > 1_000_000
    monkeypatch.chdir(tmp_path)  # the app's working folder, holding its cache
    head = plotmap.plotly_head(tmp_path / "cache")
    copy = tmp_path / "cache" / "static" / "plotly.min.js"
    assert copy.read_bytes() == plotmap.PLOTLY_JS.read_bytes()
    # no CDN, and no server path: the copy is named relative to the working folder
    assert "http" not in head and 'src="gradio_api/file=cache/static/plotly.min.js"' in head
    js = plotmap.JS_ON_LOAD
    assert "trigger('pick'" in js and "watch('value'" in js and "p2l" in js
    assert 'class="cvae-plot"' in plotmap.TEMPLATE


def test_separation_ranks_the_attribute_the_map_keeps_together_first():
    from ui.map.plotmap import separation

    rng = np.random.default_rng(0)
    n = 600
    grouped = rng.integers(0, 3, n)  # three clusters on the map, one per value
    mixed = rng.integers(0, 3, n)  # scattered over all of them
    xy = np.array([[6.0 * g, 0.0] for g in grouped]) + rng.normal(0, 1, (n, 2))
    labels = np.stack([mixed, grouped], axis=1)
    ranked = separation(xy, labels, ["mixed", "grouped"])
    assert [r.attribute for r in ranked] == ["grouped", "mixed"]
    assert ranked[0].agreement > 0.9 and abs(ranked[0].chance - 1 / 3) < 0.05
    assert abs(ranked[1].lift) < 0.05  # a mixed attribute is at chance
    assert "grouped" in ranked[0].sentence(best=True) and "separates best" in ranked[0].sentence(best=True)
