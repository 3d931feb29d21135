"""Slider layout and latent composition (vae_core.slider_layout) and the API's checks of slider values
(ui.generate.sliders): pure functions, no Gradio."""

from __future__ import annotations

import types

import numpy as np
import pytest

from ui.generate.sliders import check_values
from vae_core import slider_layout as S
from vae_core.latent import AttributeDirections, PCADirections


def fake_explorer(z_dim: int = 40, collapsed=(3, 7)) -> types.SimpleNamespace:
    rng = np.random.default_rng(0)
    kl = np.linspace(5.0, 0.5, z_dim)
    kl[list(collapsed)] = 0.001
    active = kl > 0.01
    comps = np.linalg.qr(rng.normal(size=(z_dim, z_dim)))[0][:12].astype(np.float32)
    pca = PCADirections(mean=rng.normal(size=z_dim).astype(np.float32), components=comps,
                        explained_variance=np.linspace(4, 1, 12).astype(np.float32),
                        stds=np.sqrt(np.linspace(4, 1, 12)).astype(np.float32),
                        explained_variance_ratio=np.linspace(0.2, 0.01, 12).astype(np.float32))
    dirs = {
        name: AttributeDirections(name=name, values=np.array(vals), counts=np.full(len(vals), 10),
                                  class_means=np.zeros((len(vals), z_dim), np.float32),
                                  directions=rng.normal(size=(len(vals), z_dim)).astype(np.float32))
        for name, vals in [("zzz_custom", [0, 1]), ("glasses", [0, 5, 11]), ("hair_color", [0, 1, 2]),
                           ("eye_angle", [0, 1, 2])]
    }
    from vae_core.attribute_values import value_swatches
    from vae_core.config import DataSpec

    spec = DataSpec(kind="synthetic")  # the synthetic card names glasses 11 and hair colours
    return types.SimpleNamespace(
        model_id="0123abcd", latent_dim=z_dim, kl_per_dim=kl, active=active,
        dims_by_kl=np.argsort(-kl, kind="stable"), pca=pca, attribute_directions=lambda: dirs,
        value_swatches=lambda: value_swatches(spec, dirs, lambda z: np.zeros((len(z), 8, 8, 3), np.uint8)))


@pytest.fixture(scope="module")
def layout() -> S.SliderLayout:
    return S.build_layout(fake_explorer())


def test_raw_slots_follow_kl_and_flag_collapsed_dims(layout):
    assert len(layout.raw) == S.N_RAW  # 40 dims, 32 slots: the most informative ones
    kls = [s.kl for s in layout.raw]
    assert kls == sorted(kls, reverse=True)
    ex = fake_explorer()
    assert [s.dim for s in layout.raw] == list(ex.dims_by_kl[: S.N_RAW])
    by_dim = {s.dim: s for s in layout.raw}
    # collapsed dims have KL ~0: they sort last and do not make the top 32 here
    assert 3 not in by_dim and 7 not in by_dim
    small = S.build_layout(fake_explorer(z_dim=10, collapsed=(3, 7)))
    flagged = [s for s in small.raw if not s.active]
    assert {s.dim for s in flagged} == {3, 7} and all("collapsed" in s.label for s in flagged)
    assert [s.dim for s in small.raw][-2:] == [3, 7]


def test_pca_and_attribute_slots(layout):
    assert layout.n_pca == S.N_PCA and layout.pca_components.shape == (S.N_PCA, 40)
    names = [a.name for a in layout.attrs]
    # preferred attributes first (in the preferred order), then others by fewest values
    assert names == ["hair_color", "glasses", "zzz_custom", "eye_angle"]
    glasses = layout.attrs[1]
    assert ("no glasses (10 faces)", 11) in glasses.choices()


def test_compose_round_trips_any_base_exactly(layout):
    rng = np.random.default_rng(1)
    base = rng.normal(scale=2.0, size=40).astype(np.float32)
    base[layout.raw[0].dim] = 7.25  # beyond the slider range
    base[layout.raw[1].dim] = 1.23456  # finer than the slider step
    raw = layout.raw_values(base)
    assert raw[0] == S.RAW_RANGE and raw[1] == 1.23
    z = layout.compose(base, raw, [0.0] * S.N_PCA, [None] * S.N_ATTR, [0.0] * S.N_ATTR)
    np.testing.assert_array_equal(z, base)


def test_compose_applies_each_kind_of_slider(layout):
    base = np.zeros(40, np.float32)
    raw = layout.raw_values(base)
    raw[2] = 1.5
    z = layout.compose(base, raw, [0.0] * S.N_PCA, [None] * S.N_ATTR, [0.0] * S.N_ATTR)
    expected = base.copy()
    expected[layout.raw[2].dim] = 1.5
    np.testing.assert_allclose(z, expected)

    pca = [0.0] * S.N_PCA
    pca[1] = -2.0
    z = layout.compose(base, layout.raw_values(base), pca, [None] * S.N_ATTR, [0.0] * S.N_ATTR)
    np.testing.assert_allclose(z, -2.0 * layout.pca_stds[1] * layout.pca_components[1], atol=1e-6)

    values = [None] * S.N_ATTR
    strengths = [0.0] * S.N_ATTR
    values[1], strengths[1] = 5, 0.5  # glasses → value 5, half strength
    z = layout.compose(base, layout.raw_values(base), [0.0] * S.N_PCA, values, strengths)
    np.testing.assert_allclose(z, 0.5 * layout.attr_dirs["glasses"][1], atol=1e-6)


def test_compose_ignores_junk_values(layout):
    base = np.ones(40, np.float32)
    raw = layout.raw_values(base)
    junk = [float("nan"), None, "x", float("inf")]
    z = layout.compose(base, raw, junk + [0.0] * 6, ["not-a-value", 999, None, ""] + [None] * 2, [1.0] * S.N_ATTR)
    np.testing.assert_array_equal(z, base)
    with pytest.raises(ValueError, match="dims"):
        layout.compose(np.zeros(3), raw, [], [], [])
