"""The page's slider mirror as the server reads it (ui.generate.slider_mirror)."""

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


@pytest.mark.parametrize("packed", [None, "", "{", "[]", '{"values": 3}', '{"values": [1, 2]}',
                                    '{"v": "1"}', "x" * (sm.MAX_PACKED + 1)])
def test_packed_strings_not_from_our_page_get_a_clear_error(packed):
    with pytest.raises(sm.SliderSyncError, match="reload the page"):
        sm.unpack(packed)
