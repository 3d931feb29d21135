"""One face's objective (vae_core.objective) against torch.distributions and the seed's algebra, and the checkpoint
reference it is compared with (vae_core.analysis.objective_reference): cached by the weights, refused when stale
or malformed, and on the shipped default, computed from the checkpoint (never hard-coded)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae_core.analysis import objective_reference as oref
from vae_core.config import ModelConfig
from vae_core.errors import CheckpointError, ImageInputError
from vae_core.model import ConvVAE
from vae_core.objective import (batch_objective, bits_per_dim_8bit, face_objective, nelbo_8bit, sorted_dims,
                                terms_from_sse)

CFG = ModelConfig(resolution=32, latent_dim=6, channels=(4, 8, 8), obs_std=0.2)
DEFAULT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"


@pytest.fixture(scope="module")
def model() -> ConvVAE:
    torch.manual_seed(0)
    m = ConvVAE(CFG)
    # a little spread in the posterior, as a trained model has (an untrained one gives σ ≈ 1 everywhere)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(1.5)
    return m.eval()


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)


def test_every_term_is_the_seeds_formula_checked_against_torch_distributions(model, faces):
    beta, k, seed = 2.5, 8, 7
    obj = face_objective(model, faces[1], beta=beta, n_samples=k, seed=seed)
    x = torch.from_numpy(faces[1]).permute(2, 0, 1)[None].double() / 255
    with torch.no_grad():
        post = model.encode(x.float())
        mu, std = post.mean.double()[0], post.std.double()[0]
        eps = torch.randn((k, CFG.latent_dim), generator=torch.Generator().manual_seed(seed)).double()
        x_hat = model.decode((mu + std * eps).float()).double()  # [K, 3, R, R]
    np.testing.assert_allclose(obj.mu, mu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(obj.sigma, std.numpy(), rtol=1e-5)
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(std)))
    np.testing.assert_allclose(obj.kl_per_dim, kl.numpy(), rtol=1e-4, atol=1e-6)
    assert obj.kl == pytest.approx(float(kl.sum()), rel=1e-5) and obj.kl == pytest.approx(obj.kl_per_dim.sum())
    # E_q[−log p(x|z)] over the same K samples, constant included
    nll = -Independent(Normal(x_hat, CFG.obs_std), 3).log_prob(x.expand_as(x_hat)).mean()
    assert obj.recon_nll == pytest.approx(float(nll), rel=1e-5)
    d = CFG.data_dim
    assert obj.data_dim == d == 3 * 32 * 32 and obj.obs_std == CFG.obs_std and obj.beta == beta
    assert obj.recon_mse == pytest.approx(float((x_hat - x).pow(2).mean()), rel=1e-5)
    # the seed's algebra between the fields
    assert obj.recon_sse_term == pytest.approx(d * obj.recon_mse / (2 * CFG.obs_std ** 2))
    assert obj.log_norm_const == pytest.approx(d * math.log(CFG.obs_std * math.sqrt(2 * math.pi)))
    assert obj.recon_nll == pytest.approx(obj.recon_sse_term + obj.log_norm_const)
    assert obj.nelbo == pytest.approx(obj.recon_nll + obj.kl)
    assert obj.loss == pytest.approx(obj.recon_nll + beta * obj.kl)
    assert obj.nelbo_8bit == pytest.approx(obj.nelbo + d * math.log(256)) and obj.nelbo_8bit > 0
    assert obj.bits_per_dim == pytest.approx(obj.nelbo_8bit / (d * math.log(2)))
    with torch.no_grad():
        mean_mse = float((model.decode(mu[None].float()).double() - x).pow(2).mean())
    assert obj.mean_mse == pytest.approx(mean_mse, rel=1e-5)
    assert obj.samples_u8.shape == (4, 32, 32, 3) and obj.mean_u8.shape == (32, 32, 3)


def test_the_api_dict_has_every_field_with_units(model, faces):
    d = face_objective(model, faces[0], beta=1.0).to_dict()
    for key in ("mu", "sigma", "kl_per_dim", "kl", "recon_mse", "recon_nll", "nelbo", "loss", "beta", "obs_std",
                "data_dim", "bits_per_dim"):
        assert key in d, key
    assert len(d["mu"]) == len(d["sigma"]) == len(d["kl_per_dim"]) == CFG.latent_dim
    assert d["nelbo"] == pytest.approx(d["recon_nll"] + d["kl"]) and d["loss"] == pytest.approx(d["nelbo"])
    assert d["units"]["nelbo"] == "nats/image" and "bits" in d["units"]["bits_per_dim"]
    json.dumps(d)


def test_a_faces_numbers_depend_on_its_seed_only_not_its_batch(model, faces):
    alone = face_objective(model, faces[2], beta=1.0, seed=3)
    batch = batch_objective(model, faces, seed=3)
    assert float(batch.sse[2]) / CFG.data_dim == pytest.approx(alone.recon_mse, rel=1e-6)
    again = face_objective(model, faces[2], beta=1.0, seed=3)
    assert again.recon_nll == alone.recon_nll
    other = face_objective(model, faces[2], beta=1.0, seed=4)
    assert other.recon_nll != alone.recon_nll and other.kl == alone.kl  # KL is closed form


@pytest.mark.parametrize("bad", [np.zeros((32, 32, 3), np.float32), np.zeros((16, 16, 3), np.uint8),
                                 np.zeros((32, 32), np.uint8), np.zeros((32, 32, 4), np.uint8)])
def test_a_wrong_input_is_refused_with_a_message(model, bad):
    with pytest.raises(ImageInputError, match="expected model inputs uint8"):
        face_objective(model, bad, beta=1.0)


def test_units_conversions():
    """A density uniform on [0, 1] (−ELBO 0 nats) is a uniform model of 8-bit pixels: 8 bits/dim."""
    assert bits_per_dim_8bit(0.0, 12288) == pytest.approx(8.0)
    assert nelbo_8bit(-12288 * math.log(256), 12288) == pytest.approx(0.0)
    t = terms_from_sse(0.0, 0.0, CFG, beta=3.0)
    assert t["recon_nll"] == pytest.approx(t["log_norm_const"]) and t["loss"] == pytest.approx(t["nelbo"])
    assert list(sorted_dims([0.1, 3.0, 0.1, 2.0])) == [1, 3, 0, 2]


# -- the checkpoint reference --------------------------------------------------------------------------------
def _held(values) -> oref.HeldOut:
    v = np.asarray(values, np.float64)
    return oref.HeldOut(ids=[str(i) for i in range(len(v))], bits_per_dim=v, nelbo_8bit=v, recon_nll=v, kl=v)


def test_placement_says_how_far_outside_the_held_out_range():
    held = _held([6.0, 6.2, 6.4, 6.6])  # sd ≈ 0.224
    assert held.placement(6.3).verdict == "within" and held.placement(6.3).fraction_below == 0.5
    assert held.placement(6.7).verdict == "above"
    assert held.placement(6.6 + 3.1 * held.bits_per_dim.std()).verdict == "far_above"
    assert held.placement(5.9).verdict == "below" and held.placement(4.0).verdict == "far_below"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A copy of the UI tests' tiny trained checkpoint (its folder gets written into)."""
    import shutil

    import ui_harness
    from vae_core.explorer import Explorer

    dst = tmp_path_factory.mktemp("objective") / "tiny"
    shutil.copytree(ui_harness.tiny_checkpoint(), dst)
    return Explorer.open(dst)


def test_reference_is_cached_by_the_weights_and_reads_back_equal(tiny):
    ref = oref.reference(tiny)  # computed and written
    path = oref.reference_path(tiny)
    assert path.is_file() and tiny.checkpoint.fingerprint[:16] in path.name
    back = oref.load_reference(tiny)
    np.testing.assert_allclose(back.heldout.bits_per_dim, ref.heldout.bits_per_dim, rtol=1e-6)
    assert back.heldout.ids == ref.heldout.ids and len(back.heldout.ids) == len(tiny.embedding().examples)
    a = back.aggregate
    assert a.n == len(tiny.embedding().mu) and a.mean.shape == (tiny.latent_dim,)
    np.testing.assert_allclose(a.std ** 2, a.mu_std ** 2 + (tiny.embedding().std.astype(np.float64) ** 2).mean(0),
                               rtol=1e-4)
    for h in a.norm_hist.values():  # one entry per face in each histogram
        assert h.sum() == a.n
    # each held-out value is the per-face objective of that face
    b = tiny.embedding()
    one = face_objective(tiny.model, b.examples[0], beta=1.0, n_samples=ref.n_samples, seed=ref.seed)
    assert one.bits_per_dim == pytest.approx(back.heldout.bits_per_dim[0], rel=1e-5)


def test_a_stale_or_malformed_reference_is_refused_and_recomputed(tiny):
    oref.reference(tiny)
    path = oref.reference_path(tiny)
    d = json.loads(path.read_text())
    path.write_text(json.dumps(dict(d, weights_sha256="0" * 64)))
    with pytest.raises(CheckpointError, match="other weights"):
        oref.load_reference(tiny)
    path.write_text(json.dumps({"format": oref.FORMAT, "format_version": 1, "heldout": {}}))
    with pytest.raises(CheckpointError, match="lacks"):
        oref.load_reference(tiny)
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        oref.load_reference(tiny)
    assert oref.reference(tiny).weights_sha256 == tiny.checkpoint.fingerprint  # recomputed over the bad file
    assert oref.load_reference(tiny) is not None


def test_a_beta_sweep_imports_with_its_distortion_term(tiny, tmp_path):
    from vae_core.model import gaussian_log_norm_const

    const = gaussian_log_norm_const(tiny.meta.model)
    point = {"beta": 1.0, "checkpoint": str(tiny.path), "rate": 10.0, "distortion": const + 500.0,
             "nelbo": const + 510.0, "mse": 0.01, "psnr": 20.0, "ssim": 0.5, "active_units": 5, "mig": 0.1,
             "dci_disentanglement": 0.2, "dci_completeness": 0.3, "dci_informativeness": 0.9, "sap": 0.05,
             "scorecard": {"importance": [[0.0]] * tiny.latent_dim}}
    sw = oref.sweep_from_cli_json({"dataset": "tiny", "points": [dict(point, beta=4.0), point]}, "python -m x")
    assert [p.beta for p in sw.points] == [1.0, 4.0] and sw.latent_dim == tiny.latent_dim
    assert sw.points[0].distortion_term == pytest.approx(500.0)
    oref.save_sweep(tmp_path, sw)
    assert oref.load_sweep(tmp_path) == sw
    with pytest.raises(CheckpointError, match="beta-sweep"):
        oref.sweep_from_cli_json({"points": [{"beta": 1}]}, "")


def test_build_entry_point_rebuilds_the_reference(tiny, capsys):
    oref.reference_path(tiny).unlink(missing_ok=True)
    stale = tiny.path / "analysis" / "objective-0000000000000000.json"
    stale.write_text("{}")
    assert oref.main(["--checkpoint", str(tiny.path)]) == 0
    assert oref.reference_path(tiny).is_file() and not stale.exists()
    assert "held-out faces" in capsys.readouterr().out
    assert oref.main(["--checkpoint", str(tiny.path / "nope")]) == 2


# -- the shipped default: its figures come from the checkpoint ------------------------------------------------
@pytest.mark.skipif(not (DEFAULT / "config.json").is_file(), reason="no shipped default checkpoint")
def test_the_shipped_default_ships_its_reference_and_a_noise_image_is_far_outside():
    from vae_core.explorer import Explorer

    ex = Explorer.open(DEFAULT)
    ref = oref.load_reference(ex)  # shipped, for these very weights (rebuild: python -m vae_core.analysis.objective_reference)
    assert ref is not None and len(ref.heldout.bits_per_dim) == len(ex.embedding().examples)
    assert (ref.heldout.bits_per_dim > 0).all() and (ref.heldout.bits_per_dim < 8).all()
    # the checkpoint's own recorded −ELBO (one sample per face, the same held-out split) lies within the range
    nelbo = ex.meta.metrics.get("nelbo")
    if nelbo is not None:
        bits = bits_per_dim_8bit(nelbo, ex.meta.model.data_dim)
        assert ref.heldout.bits_per_dim.min() <= bits <= ref.heldout.bits_per_dim.max()
    # a gradient with noise (no face) scores far outside the held-out faces
    rng = np.random.default_rng(0)
    r = ex.resolution
    ramp = np.linspace(0, 255, r)[None, :, None] * np.ones((r, r, 3))
    noise = np.clip(ramp + rng.normal(0, 40, (r, r, 3)), 0, 255).astype(np.uint8)
    obj = face_objective(ex.model, noise, beta=1.0)
    assert ref.heldout.placement(obj.bits_per_dim).verdict == "far_above"
    sweep = oref.load_sweep(DEFAULT)
    if sweep is not None:
        assert len(sweep.points) >= 2 and oref.sweep_path(DEFAULT).stat().st_size < 10_000_000
