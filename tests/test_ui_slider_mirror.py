"""The packed slider values the page sends with every slider move (ui.generate.slider_mirror)."""

from __future__ import annotations

import json

import pytest

from ui.generate import slider_mirror as sm
from vae_core.slider_layout import ATTR_RANGE, N_PCA, N_RAW, PCA_RANGE, RAW_RANGE


def test_pack_unpack_round_trip_and_every_pack_is_a_new_version():
    values = [0.5] * N_RAW + [-1.0] * N_PCA + [0.25] * (sm.N_MIRRORED - N_RAW - N_PCA)
    a, b = sm.pack(values), sm.pack(values)
    assert sm.unpack(a) == values
    # "reset" twice must reset the page's mirror twice, even with the same values
    assert json.loads(a)["v"] != json.loads(b)["v"]
    assert json.loads(sm.pack(values, version="x"))["v"] == "x"
    with pytest.raises(ValueError):
        sm.pack(values[:-1])


def test_values_are_clipped_to_each_sliders_range_and_garbage_becomes_zero():
    raw = [99.0] + [0.0] * (N_RAW - 1)
    pca = [-99.0] + [0.0] * (N_PCA - 1)
    attr = [float("nan"), "x", None] + [7.0] * (sm.N_MIRRORED - N_RAW - N_PCA - 3)
    got = sm.unpack(json.dumps({"v": "1", "values": raw + pca + attr}).replace("NaN", "null"))
    assert got[0] == RAW_RANGE and got[N_RAW] == -PCA_RANGE
    assert got[N_RAW + N_PCA:N_RAW + N_PCA + 3] == [0.0, 0.0, 0.0]
    assert got[-1] == ATTR_RANGE


def test_a_move_replaces_only_its_slider():
    packed = sm.pack([0.0] * sm.N_MIRRORED)
    got = sm.with_move(packed, N_RAW + 1, 2.5)
    assert got[N_RAW + 1] == 2.5 and sum(abs(v) for v in got) == 2.5
    assert sm.with_move(packed, 0, 1e9)[0] == RAW_RANGE
    with pytest.raises(IndexError):
        sm.with_move(packed, sm.N_MIRRORED, 1.0)


@pytest.mark.parametrize("packed", [None, "", "{", "[]", '{"values": 3}', '{"values": [1, 2]}',
                                    '{"v": "1"}', "x" * (sm.MAX_PACKED + 1)])
def test_packed_strings_not_from_our_page_get_a_clear_error(packed):
    with pytest.raises(sm.SliderSyncError, match="reload the page"):
        sm.unpack(packed)


@pytest.mark.parametrize("index", [None, 0, 7])
def test_the_frontend_function_is_built_for_slider_or_dropdown(index):
    js = sm.mirror_js(index)
    assert js.startswith("async (st, packed" if index is None else "async (st, value, packed")
    assert "setTimeout" not in js
    assert (f"m.values[{index}]" in js) == (index is not None)


def test_the_fidelity_debounce_is_page_only_and_clicks_once_at_rest():
    from ui.analysis.tab import debounce_click_js, watch_strengths_js

    for js in (debounce_click_js("gen_fidelity_go", 250), watch_strengths_js("gen_fidelity_go", 250)):
        assert "clearTimeout" in js and "setTimeout" in js and ", 250)" in js and "'gen_fidelity_go'" in js
        assert "fetch" not in js and js.rstrip().endswith("}")
    watch = watch_strengths_js("gen_fidelity_go", 250)
    assert watch.count("addEventListener") == 2 and "gen_attr_strength_" in watch and "__cvaeWatchStrengths" in watch
