"""The latent API: encode/decode/sample, interpolation, posterior statistics, PCA and attribute
directions, and the copy/paste latent string."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_core.config import ModelConfig
from vae_core.data.schema import AttributeSchema
from vae_core.errors import DatasetError, LatentFormatError
from vae_core.latent import (
    active_units,
    apply_attribute,
    attribute_directions,
    decode_latents,
    dims_by_kl,
    encode_images,
    kl_per_dim_stats,
    lerp,
    pca_directions,
    slerp,
)
from vae_core.latent_string import format_latent, parse_latent
from vae_core.model import ConvVAE
from vae_core.sampling import sample_prior

CFG = ModelConfig(resolution=32, latent_dim=8, channels=(8, 16, 32))
MODEL_ID = "0123abcd"


@pytest.fixture(scope="module")
def model() -> ConvVAE:
    torch.manual_seed(0)
    return ConvVAE(CFG)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)


# -- model calls ------------------------------------------------------------------------------------
def test_encode_images_shapes_batching_and_inputs(model, images):
    model.train()
    mu, std = encode_images(model, images, batch_size=3)
    assert model.training  # mode restored
    assert mu.shape == std.shape == (7, 8) and mu.dtype == std.dtype == np.float32
    assert (std > 0).all() and np.isfinite(mu).all()
    mu_all, std_all = encode_images(model, images)
    np.testing.assert_allclose(mu, mu_all, atol=1e-5)  # eval-mode batch norm: batching does not matter
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    np.testing.assert_allclose(encode_images(model, x)[0], mu_all, atol=1e-6)
    np.testing.assert_allclose(encode_images(model, torch.from_numpy(images))[0], mu_all, atol=1e-6)
    one_mu, _ = encode_images(model, images[2])
    np.testing.assert_allclose(one_mu, mu_all[2:3], atol=1e-5)
    empty_mu, empty_std = encode_images(model, images[:0])
    assert empty_mu.shape == empty_std.shape == (0, 8)
    with pytest.raises(ValueError, match="uint8"):
        encode_images(model, images.astype(np.float32))


def test_decode_latents(model):
    z = sample_prior(8, 5, seed=1)
    out = decode_latents(model, z, batch_size=2)
    assert out.shape == (5, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(decode_latents(model, z[0]), out[:1])
    np.testing.assert_array_equal(decode_latents(model, torch.from_numpy(z)), out)
    assert decode_latents(model, np.zeros((0, 8), np.float32)).shape == (0, 32, 32, 3)
    with pytest.raises(ValueError, match="finite"):
        decode_latents(model, np.full((1, 8), np.nan, np.float32))
    with pytest.raises(ValueError):
        decode_latents(model, np.zeros((1, 3), np.float32))


def test_sample_prior_is_seeded_and_scaled():
    a = sample_prior(8, 1000, seed=3)
    assert a.shape == (1000, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sample_prior(8, 1000, seed=3))
    assert not np.array_equal(a, sample_prior(8, 1000, seed=4))
    np.testing.assert_allclose(sample_prior(8, 1000, seed=3, temperature=0.5), 0.5 * a, rtol=1e-6)
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05
    assert sample_prior(8, 0, seed=0).shape == (0, 8)
    with pytest.raises(ValueError):
        sample_prior(8, 2, seed=0, temperature=-1)


# -- interpolation ----------------------------------------------------------------------------------
def test_lerp_endpoints_and_midpoint():
    z0, z1 = np.arange(4.0), -np.arange(4.0) + 1
    path = lerp(z0, z1, 5)
    assert path.shape == (5, 4) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], z0)
    np.testing.assert_array_equal(path[-1], z1)
    np.testing.assert_allclose(path[2], (z0 + z1) / 2)
    np.testing.assert_array_equal(lerp(z0, z1, 1), z0[None])
    with pytest.raises(ValueError):
        lerp(z0, np.zeros(3), 3)


def test_slerp_keeps_norm_between_equal_norm_endpoints():
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal(16)
    z1 = rng.standard_normal(16)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    path = slerp(z0, z1, 9)
    assert path.shape == (9, 16) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], z0, rtol=1e-6)
    np.testing.assert_allclose(path[-1], z1, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-5)
    # a straight line dips inside the shell; slerp does not
    assert np.linalg.norm(lerp(z0, z1, 9)[4]) < np.linalg.norm(z0) - 1e-3
    # the angle to z0 grows evenly
    cos = path @ z0 / (np.linalg.norm(path, axis=1) * np.linalg.norm(z0))
    angles = np.arccos(np.clip(cos, -1, 1))
    np.testing.assert_allclose(np.diff(angles), angles[-1] / 8, atol=1e-4)


def test_slerp_unequal_norms_change_monotonically():
    path = slerp(np.array([1.0, 0, 0]), np.array([0, 3.0, 0]), 6)
    norms = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(norms, np.linspace(1, 3, 6), rtol=1e-6)


@pytest.mark.parametrize("z0, z1", [
    (np.zeros(4), np.ones(4)),  # zero endpoint
    (np.ones(4), np.zeros(4)),
    (np.zeros(4), np.zeros(4)),
    (np.ones(4), 2 * np.ones(4)),  # parallel
    (np.ones(4), np.ones(4)),  # identical
    (np.array([1.0, 2, 3, 4]), -np.array([1.0, 2, 3, 4])),  # antiparallel
    (np.array([2.0]), np.array([-2.0])),  # antiparallel in 1-D
])
def test_slerp_degenerate_cases_are_finite_with_exact_endpoints(z0, z1):
    path = slerp(z0, z1, 7)
    assert path.shape == (7, len(z0)) and np.isfinite(path).all()
    np.testing.assert_allclose(path[0], z0, atol=1e-7)
    np.testing.assert_allclose(path[-1], z1, atol=1e-7)


def test_slerp_antiparallel_keeps_norm():
    z0 = np.array([1.0, 2, 3, 4])
    path = slerp(z0, -z0, 7)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-5)


# -- posterior statistics ---------------------------------------------------------------------------
def test_kl_per_dim_stats_and_ordering():
    n = 200
    mu = np.zeros((n, 3))
    std = np.ones((n, 3))
    mu[:, 1] = 2.0  # KL = ½·μ² = 2
    std[:, 2] = np.exp(-1.0)  # KL = ½(σ² − 1 − ln σ²) = ½(e⁻² + 1)
    kl = kl_per_dim_stats(mu, std)
    np.testing.assert_allclose(kl, [0.0, 2.0, 0.5 * (np.exp(-2) + 1)], atol=1e-12)
    np.testing.assert_array_equal(dims_by_kl(kl), [1, 2, 0])
    np.testing.assert_array_equal(dims_by_kl(np.array([1.0, 3.0, 1.0, 0.0])), [1, 0, 2, 3])  # stable ties
    assert np.isfinite(kl_per_dim_stats(mu, np.zeros_like(std))).all()
    with pytest.raises(ValueError):
        kl_per_dim_stats(mu, std[:, :2])


def test_active_units_with_three_dead_dims():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((500, 8))
    mu[:, [1, 4, 6]] = 0.3 + 0.01 * rng.standard_normal((500, 3))  # var 1e-4: collapsed
    mask = active_units(mu)
    assert mask.dtype == bool and mask.shape == (8,)
    np.testing.assert_array_equal(np.flatnonzero(~mask), [1, 4, 6])
    assert active_units(mu, threshold=2.0).sum() == 0
    assert active_units(mu[:1]).sum() == 0


# -- PCA directions ---------------------------------------------------------------------------------
def test_pca_recovers_main_axis_and_variance_order():
    rng = np.random.default_rng(0)
    z = 8
    q, _ = np.linalg.qr(rng.standard_normal((z, z)))  # random rotation
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1])
    mu = (rng.standard_normal((5000, z)) * scales) @ q.T + 7.0
    pca = pca_directions(mu, 4)
    assert pca.components.shape == (4, z) and pca.mean.shape == (z,)
    assert pca.explained_variance.shape == pca.stds.shape == pca.explained_variance_ratio.shape == (4,)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(4), atol=1e-5)
    assert abs(pca.components[0] @ q[:, 0]) > 0.999
    assert abs(pca.components[1] @ q[:, 1]) > 0.99
    assert np.all(np.diff(pca.explained_variance) < 0)
    np.testing.assert_allclose(pca.explained_variance, scales[:4] ** 2, rtol=0.06)
    np.testing.assert_allclose(pca.stds, np.sqrt(pca.explained_variance), rtol=1e-6)
    assert 0.6 < pca.explained_variance_ratio[0] < 0.7  # 25 / 39.4
    np.testing.assert_allclose(pca.mean, 7.0 + 0 * pca.mean, atol=0.2)
    np.testing.assert_allclose(pca.point([0.0]), pca.mean, atol=1e-6)
    np.testing.assert_allclose(pca.point([2.0]) - pca.mean, 2 * pca.stds[0] * pca.components[0], atol=1e-4)
    np.testing.assert_allclose(pca.move(pca.mean, 1, -1.0) - pca.mean, -pca.stds[1] * pca.components[1], atol=1e-4)
    # sign convention is deterministic: the largest loading is positive
    assert all(c[np.argmax(np.abs(c))] > 0 for c in pca.components)
    assert pca_directions(mu[:3], 10).components.shape[0] == 3  # capped at rank
    with pytest.raises(ValueError):
        pca_directions(mu[:1], 2)


# -- attribute directions ---------------------------------------------------------------------------
def synthetic_attribute_data(n: int = 600, seed: int = 0):
    """μ [n, 6] where dim 0 equals attribute "size" (values 0..2) plus noise; "colour" is independent."""
    rng = np.random.default_rng(seed)
    size = rng.integers(0, 3, n)
    colour = rng.integers(0, 4, n)
    mu = 0.3 * rng.standard_normal((n, 6))
    mu[:, 0] += size
    labels = np.stack([size, colour], 1).astype(np.int64)
    labels[:50] = -1  # unknown labels: their μ must not count
    mu[:50] = 100.0
    labels[60:, 1] = np.where(labels[60:, 1] == 3, 2, labels[60:, 1])  # colour 3 becomes rare
    return mu, labels, AttributeSchema(("size", "colour", "never_known"), (3, 4, 2))


def with_unknown_column(labels: np.ndarray) -> np.ndarray:
    return np.concatenate([labels, -np.ones((len(labels), 1), np.int64)], 1)


def test_attribute_directions_recover_the_labelled_dim():
    mu, labels, schema = synthetic_attribute_data()
    labels = with_unknown_column(labels)
    dirs = attribute_directions(mu, labels, schema, min_count=20)
    assert set(dirs) == {"size", "colour"}  # never_known has no labelled examples
    size = dirs["size"]
    np.testing.assert_array_equal(size.values, [0, 1, 2])
    known = labels[:, 0] >= 0
    np.testing.assert_array_equal(size.counts, np.bincount(labels[known, 0]))
    assert size.class_means.shape == size.directions.shape == (3, 6)
    d2 = size.directions[2]
    assert np.argmax(np.abs(d2)) == 0 and d2[0] > 1.0  # dominated by dim 0, pointing to larger size
    assert abs(d2[0]) > 5 * np.abs(d2[1:]).max()
    assert size.directions[0][0] < -1.0
    # class mean and direction follow their definitions, excluding unknown rows (μ = 100 there)
    np.testing.assert_allclose(size.class_means[1], mu[labels[:, 0] == 1].mean(0), rtol=1e-5)
    other = known & (labels[:, 0] != 1)
    np.testing.assert_allclose(size.directions[1], mu[labels[:, 0] == 1].mean(0) - mu[other].mean(0), atol=1e-5)
    assert np.abs(size.class_means).max() < 5
    # the colour value made rare is left out
    assert 3 not in dirs["colour"].values.tolist()
    assert np.abs(dirs["colour"].directions).max() < 0.5  # independent of μ


def test_apply_attribute_semantics_and_errors():
    mu, labels, schema = synthetic_attribute_data()
    dirs = attribute_directions(mu, with_unknown_column(labels), schema, min_count=20)
    z = mu[100]
    np.testing.assert_allclose(apply_attribute(z, dirs, "size", 2, 0.0), z)
    moved = apply_attribute(z, dirs, "size", 2, 1.5)
    np.testing.assert_allclose(moved - z, 1.5 * dirs["size"].directions[2], atol=1e-6)
    batch = apply_attribute(mu[:4], dirs, "size", 0, -1.0)
    assert batch.shape == (4, 6) and batch.dtype == np.float32
    with pytest.raises(DatasetError, match="no directions for attribute 'hair'"):
        apply_attribute(z, dirs, "hair", 0, 1.0)
    with pytest.raises(DatasetError, match="available values: 0, 1, 2"):
        apply_attribute(z, dirs, "colour", 3, 1.0)


def test_attribute_directions_rejects_mismatched_shapes():
    mu, labels, schema = synthetic_attribute_data()
    with pytest.raises(ValueError):
        attribute_directions(mu, labels, schema)  # 2 label columns for a 3-attribute schema


# -- the latent string ------------------------------------------------------------------------------
def test_latent_string_round_trip_is_exact_to_float16():
    z = sample_prior(32, 1, seed=0)[0] * 3
    s = format_latent(z, MODEL_ID)
    assert s.startswith("cvae1:0123abcd:") and len(s) == 15 + 86 and s.isascii() and " " not in s
    back = parse_latent(s, 32, model_id=MODEL_ID)
    assert back.dtype == np.float32 and back.shape == (32,)
    np.testing.assert_array_equal(back, z.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(parse_latent(format_latent(back, MODEL_ID), 32), back)  # idempotent
    assert parse_latent(f"  {s}\n", 32).shape == (32,)  # whitespace from copy/paste
    assert format_latent(z, "0123ABCD" + "ff" * 28).startswith("cvae1:0123abcd:")  # full fingerprint ok


@given(st.lists(st.floats(-60000, 60000, allow_nan=False, width=32), min_size=1, max_size=64))
@settings(max_examples=60, deadline=None)
def test_latent_string_round_trip_property(values):
    z = np.array(values, np.float32)
    back = parse_latent(format_latent(z, MODEL_ID), len(z), model_id=MODEL_ID)
    np.testing.assert_array_equal(back, z.astype(np.float16).astype(np.float32))


def test_plain_number_lists_are_accepted():
    np.testing.assert_array_equal(parse_latent("1, -2.5, 3e-1", 3), np.array([1, -2.5, 0.3], np.float32))
    np.testing.assert_array_equal(parse_latent("[1 2 3]", 3), [1, 2, 3])
    np.testing.assert_array_equal(parse_latent("(1,2,\n3)", 3), [1, 2, 3])
    z = sample_prior(8, 1, seed=2)[0]
    np.testing.assert_allclose(parse_latent(", ".join(f"{v:.9g}" for v in z), 8), z)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n", "empty"),
    ("hello world", "not a latent: expected"),
    ("[]", "not a latent: expected"),
    ("1, 2, 3", "3 numbers but this model has 4"),
    ("1, 2, x, 4", "value 3 of the list"),
    ("1, nan, 3, 4", "NaN or infinite"),
    ("1, inf, 3, 4", "NaN or infinite"),
    ("1, 1e9, 3, 4", "beyond"),
    ("xyz1:0123abcd:AAAA", "not a latent string"),
    ("cvae2:0123abcd:AAAAAAAAAAA", "unsupported latent format"),
    ("cvae1:0123abcd", "three ':'-separated parts"),
    ("cvae1:0123abcd:AA:BB", "three ':'-separated parts"),
    ("cvae1:xyz:AAAAAAAAAAA", "not 8 hex digits"),
    ("cvae1:ffffffff:AAAAAAAAAAA", r"another model \(ffffffff\) but the loaded model is 0123abcd"),
    ("cvae1:0123abcd:AAAA+AAAAAA", "damaged"),
    ("cvae1:0123abcd:AAAAA", "damaged"),
    ("cvae1:0123abcd:AAAA", "holds 1.5 values but this model has 4"),
    ("cvae1:0123abcd:AAAAAAAAAAAAAAA", "holds 5.5 values"),
    ("cvae1:0123abcd:" + "A" * 10_000, "holds"),
    ("1," * 40_000, "too long"),
])
def test_every_latent_error_has_a_clear_message(text, message):
    with pytest.raises(LatentFormatError, match=message):
        parse_latent(text, 4, model_id=MODEL_ID)


def test_non_finite_and_wrong_size_strings():
    nan_string = format_latent(np.zeros(4), MODEL_ID)[:-11] + "AAAAAAAAAP4"  # last value: float16 NaN (0x7E00)
    with pytest.raises(LatentFormatError, match="NaN or infinite"):
        parse_latent(nan_string, 4)
    s = format_latent(np.ones(8), MODEL_ID)
    with pytest.raises(LatentFormatError, match="holds 8 values but this model has 4"):
        parse_latent(s, 4)
    assert parse_latent(s, 8, model_id=None).shape == (8,)  # no model to check against: accepted
    with pytest.raises(LatentFormatError, match="must be text"):
        parse_latent(None, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_latent(np.array([np.inf]), MODEL_ID)
    with pytest.raises(ValueError):
        format_latent(np.zeros(4), "not-hex!")


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_arbitrary_text_never_raises_anything_else(text):
    for dim in (1, 4):
        try:
            z = parse_latent(text, dim, model_id=MODEL_ID)
        except LatentFormatError:
            continue
        assert z.shape == (dim,) and z.dtype == np.float32 and np.isfinite(z).all()


@given(st.binary(min_size=0, max_size=24), st.sampled_from(["cvae1:0123abcd:", "cvae1:0123ABCD:", "cvae1:ffffffff:"]),
       st.text(alphabet="AZaz09-_=+/:. ", max_size=4))
@settings(max_examples=300, deadline=None)
def test_parse_mangled_latent_strings(raw, prefix, junk):
    import base64

    text = prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=") + junk
    try:
        z = parse_latent(text, 4, model_id=MODEL_ID)
    except LatentFormatError:
        return
    assert z.shape == (4,) and np.isfinite(z).all()
