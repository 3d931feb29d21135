"""The latent sampler (vae_core.sampling): selection on held-out codes, determinism, temperature, storage."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from vae_core.errors import CheckpointError
from vae_core.sampling import LatentSampler, fit_latent_sampler
from vae_core.sampling.fit import fit_kernel_density
from vae_core.sampling.mixture import whitened_sq_distances


def clustered_codes(n: int = 600, z: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes from 3 well-separated, correlated clusters far from N(0, I): what a trained VAE's μ look like."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (3, z))
    mix = rng.normal(0, 1, (3, z, z)) * 0.4
    which = rng.integers(0, 3, n)
    codes = centres[which] + np.einsum("nij,nj->ni", mix[which], rng.standard_normal((n, z)))
    return codes, centres


def test_selection_prefers_the_mixture_that_explains_held_out_codes():
    codes, centres = clustered_codes()
    s = fit_latent_sampler(codes, seed=0, candidates=((1, "diag"), (1, "full"), (3, "full"), (10, "full")), density="gmm")
    scores = {(c["components"], c["covariance_type"]): c["heldout_loglik"] for c in s.info["candidates"]}
    assert (s.n_components, s.covariance_type) == max(scores, key=scores.get)
    assert scores[(3, "full")] > scores[(1, "full")] > scores[(1, "diag")]
    assert s.n_components >= 3
    # Each true centre has a component near it, and the fitted density scores real codes far above the prior.
    for c in centres:
        assert np.min(np.linalg.norm(s.means - c, axis=1)) < 1.0
    prior_ll = -0.5 * (codes**2).sum(1) - 0.5 * codes.shape[1] * np.log(2 * np.pi)
    assert s.log_likelihood(codes).mean() > prior_ll.mean() + 10


def test_samples_are_deterministic_from_the_seed_and_temperature_scales_around_the_component():
    codes, _ = clustered_codes()
    for cov in ("diag", "full"):
        s = fit_latent_sampler(codes, candidates=((3, cov),), density="gmm")
        a = s.sample(16, seed=5)
        np.testing.assert_array_equal(a, s.sample(16, seed=5))
        assert not np.allclose(a, s.sample(16, seed=6))
        centre = s.sample(16, seed=5, temperature=0.0)
        for row in centre:  # temperature 0 = the chosen component's mean, exactly
            assert np.min(np.abs(s.means - row).max(axis=1)) < 1e-5
        np.testing.assert_allclose(s.sample(16, seed=5, temperature=0.5), centre + 0.5 * (a - centre), atol=1e-5)
        assert a.dtype == np.float32 and a.shape == (16, codes.shape[1])
        for bad in (-1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="temperature"):
                s.sample(1, seed=0, temperature=bad)


def test_samples_follow_the_fitted_density_not_the_prior():
    codes, _ = clustered_codes(n=1500)
    s = fit_latent_sampler(codes, candidates=((3, "full"),), density="gmm")
    draws = s.sample(4000, seed=1).astype(np.float64)
    np.testing.assert_allclose(draws.mean(0), codes.mean(0), atol=0.5)
    np.testing.assert_allclose(np.cov(draws.T), np.cov(codes.T), atol=0.15 * np.abs(np.cov(codes.T)).max())


def test_save_load_round_trip_without_pickle(tmp_path):
    codes, _ = clustered_codes()
    s = fit_latent_sampler(codes, candidates=((3, "full"), (2, "diag")), density="gmm")
    path = s.save(tmp_path / "sampler.npz", weights_sha256="abc")
    back = LatentSampler.load(path, weights_sha256="abc")
    np.testing.assert_array_equal(back.sample(8, seed=3), s.sample(8, seed=3))
    assert back.covariance_type == s.covariance_type and back.info == json.loads(json.dumps(s.info))
    with np.load(path, allow_pickle=False) as f:  # every member is a plain array: no object, no pickle
        assert all(f[k].dtype != object for k in f.files)
    with pytest.raises(CheckpointError, match="other weights"):
        LatentSampler.load(path, weights_sha256="def")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the atomic writer left no temp file


def test_unreadable_or_pickled_files_are_refused_with_a_message(tmp_path):
    bad = tmp_path / "sampler.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="unreadable"):
        LatentSampler.load(bad)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, weights=np.array([1.0]), means=np.zeros((1, 2)), scales=np.ones((1, 2)),
             meta=np.array([{"version": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="unreadable"):
        LatentSampler.load(pickled)
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(CheckpointError):
        LatentSampler.load(tmp_path / "empty.npz")


def test_fit_refuses_too_few_or_non_finite_codes():
    with pytest.raises(ValueError, match="at least 4"):
        fit_latent_sampler(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        fit_latent_sampler(np.full((10, 3), np.nan))


# -- the kernel density (the default) ------------------------------------------------------------------------
def _mixture_log_likelihood_by_scipy(z: np.ndarray, s: LatentSampler) -> np.ndarray:
    """log Σ_k w_k N(z; m_k, L_k L_kᵀ) component by component with scipy (tied: every L_k the one factor; grouped:
    L_k the factor ``scale_of[k]`` names): what the mixture's own log_likelihood must equal."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    factors = s.scales[None] if s.covariance_type == "tied" else s.scales
    of = np.zeros(s.n_components, int) if s.scale_of is None else s.scale_of
    per = [np.log(w) + multivariate_normal(m, factors[g] @ factors[g].T).logpdf(z)
           for w, m, g in zip(s.weights / s.weights.sum(), s.means, of)]
    return logsumexp(np.stack(per, axis=1), axis=1)


def test_the_default_density_is_a_kernel_density_on_the_codes_that_does_not_copy_them():
    codes, _ = clustered_codes(n=500)
    s = fit_latent_sampler(codes, seed=0, density="kde")
    assert s.covariance_type == "tied" and s.n_components == len(codes)
    np.testing.assert_allclose(s.means, codes, atol=1e-4)  # one kernel per code (stored as float32)
    assert "kernel density on 500 training codes" in s.describe()
    info = s.info
    assert info["chosen"]["bandwidth"] == info["bandwidth"] and not info["chosen"]["copies"]
    # the guard: every width it accepted draws codes no nearer the fitting codes than held-out codes are
    for c in info["candidates"]:
        assert c["copies"] == (c["draws_nearest"] < info["heldout_nearest"])
    assert all(c["copies"] or c["heldout_loglik"] <= info["chosen"]["heldout_loglik"] for c in info["candidates"])
    # temperature 0 returns one of the codes themselves; 1 spreads around it by h²·Σ
    at0 = s.sample(10, seed=1, temperature=0.0)
    assert np.min(np.abs(at0[:, None, :] - s.means[None].astype(np.float32)).max(-1), axis=1).max() < 1e-5
    np.testing.assert_array_equal(s.sample(7, seed=2), s.sample(7, seed=2))


def test_tied_log_likelihood_and_whitened_distances_match_a_direct_computation():
    rng = np.random.default_rng(3)
    means = rng.normal(0, 2, (7, 4))
    chol = np.tril(rng.normal(size=(4, 4)) * 0.3) + np.diag(rng.uniform(0.5, 1.5, 4))
    s = LatentSampler(weights=np.full(7, 1 / 7), means=means, scales=chol, covariance_type="tied")
    z = rng.normal(0, 2, (50, 4))
    np.testing.assert_allclose(s.log_likelihood(z), _mixture_log_likelihood_by_scipy(z, s), rtol=1e-9, atol=1e-9)
    cov_inv = np.linalg.inv(chol @ chol.T)
    direct = np.array([[(a - b) @ cov_inv @ (a - b) for b in means] for a in z])
    np.testing.assert_allclose(whitened_sq_distances(z, means, chol), direct, rtol=1e-8, atol=1e-8)
    draws = s.sample(20000, seed=0).astype(np.float64)  # the mixture's covariance: Σ + the means' spread
    want = chol @ chol.T + np.cov(means.T, bias=True)
    np.testing.assert_allclose(np.cov(draws.T), want, atol=0.08 * np.abs(want).max())


def test_a_tied_sampler_round_trips_and_bad_shapes_are_refused(tmp_path):
    codes, _ = clustered_codes(n=120)
    s = fit_kernel_density(codes, seed=0)
    back = LatentSampler.load(s.save(tmp_path / "sampler.npz", weights_sha256="w"), weights_sha256="w")
    np.testing.assert_array_equal(back.sample(5, seed=9), s.sample(5, seed=9))
    assert back.describe() == s.describe()
    with pytest.raises(ValueError, match="inconsistent"):
        LatentSampler(weights=np.full(3, 1 / 3), means=np.zeros((3, 2)), scales=np.ones((3, 2, 2)),
                      covariance_type="tied")
    with pytest.raises(ValueError, match="diag, full, tied or grouped"):
        LatentSampler(weights=np.ones(1), means=np.zeros((1, 2)), scales=np.ones((1, 2)), covariance_type="spherical")
    with pytest.raises(ValueError, match="'auto', 'kde', 'gmm', 'blend'"):
        fit_latent_sampler(codes, density="flow")


def test_a_kernel_density_keeps_at_most_max_kernels(monkeypatch):
    from vae_core.sampling import fit

    monkeypatch.setattr(fit, "MAX_KERNELS", 50)
    codes, _ = clustered_codes(n=300)
    s = fit.fit_kernel_density(codes, seed=0)
    assert s.n_components == 50 and s.info["n_final"] == 50
    assert all(np.min(np.abs(codes - m).max(axis=1)) < 1e-4 for m in s.means)  # a subset of the codes themselves


def test_auto_keeps_the_family_that_explains_held_out_codes_best():
    codes, _ = clustered_codes(n=400)
    cands = ((1, "full"), (3, "full"))
    auto = fit_latent_sampler(codes, seed=0, candidates=cands)
    lls = {name: fit_latent_sampler(codes, seed=0, candidates=cands, density=name).info["chosen"]["heldout_loglik"]
           for name in ("kde", "gmm", "blend")}
    assert auto.info["density"] == max(lls, key=lls.get)
    assert set(auto.info["other_families"]) == set(lls) - {auto.info["density"]}
    assert all(o["chosen"]["heldout_loglik"] <= auto.info["chosen"]["heldout_loglik"]
               for o in auto.info["other_families"].values())
    # three tight Gaussian clusters: one full Gaussian per cluster is the true density, and it wins
    assert auto.info["density"] == "gmm" and auto.n_components == 3


def test_a_blend_is_both_parts_as_one_grouped_mixture(tmp_path):
    from vae_core.sampling.fit import blend_samplers

    codes, _ = clustered_codes(n=150)
    kde = fit_latent_sampler(codes, seed=0, density="kde")
    for gmm in (fit_latent_sampler(codes, seed=0, candidates=((3, "full"),), density="gmm"),
                fit_latent_sampler(codes, seed=0, candidates=((2, "diag"),), density="gmm")):
        b = blend_samplers(gmm, kde, 0.3)
        k = gmm.n_components
        assert b.covariance_type == "grouped" and b.n_components == k + len(codes) and len(b.scales) == k + 1
        assert list(b.scale_of[:k]) == list(range(k)) and set(b.scale_of[k:]) == {k}
        np.testing.assert_allclose(b.weights[:k].sum(), 0.3) and np.testing.assert_allclose(b.weights.sum(), 1)
        z = codes[:40] + 0.1
        # its density is the weighted sum of the parts', and each component's own Gaussian, computed directly
        want = np.logaddexp(np.log(0.3) + gmm.log_likelihood(z), np.log(0.7) + kde.log_likelihood(z))
        np.testing.assert_allclose(b.log_likelihood(z), want, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(b.log_likelihood(z[:10]), _mixture_log_likelihood_by_scipy(z[:10], b), rtol=1e-7)
        # draws: about 30 % from the mixture's components, each spread by its own factor; temperature 0 = a mean
        comp = np.random.default_rng(4).choice(b.n_components, size=4000, p=b.weights / b.weights.sum())
        assert 0.26 < (comp < k).mean() < 0.34
        at0 = b.sample(6, seed=2, temperature=0.0)
        assert np.min(np.abs(at0[:, None, :] - b.means[None].astype(np.float32)).max(-1), axis=1).max() < 1e-5
        back = LatentSampler.load(b.save(tmp_path / "blend.npz", weights_sha256="w"), weights_sha256="w")
        np.testing.assert_array_equal(back.scale_of, b.scale_of)
        np.testing.assert_array_equal(back.sample(50, seed=3), b.sample(50, seed=3))
    with pytest.raises(ValueError, match="mixture_share"):
        blend_samplers(gmm, kde, 1.0)
    bad = dict(weights=b.weights, means=b.means, scales=b.scales, covariance_type="grouped")
    with pytest.raises(ValueError, match="scale_of is given for grouped covariances and for them only"):
        LatentSampler(**bad)
    with pytest.raises(ValueError, match="scale_of must hold"):
        LatentSampler(**bad, scale_of=np.full(b.n_components, len(b.scales)))
    with pytest.raises(ValueError, match="scale_of must hold"):
        LatentSampler(**bad, scale_of=np.zeros(b.n_components, np.float64))


def test_a_fitted_blend_takes_the_share_that_explains_held_out_codes_best():
    codes, _ = clustered_codes(n=300)
    b = fit_latent_sampler(codes, seed=0, candidates=((1, "full"), (3, "full")), density="blend")
    info = b.info
    assert info["density"] == "blend" and b.covariance_type == "grouped"
    assert info["chosen"]["heldout_loglik"] == max(c["heldout_loglik"] for c in info["candidates"])
    assert info["mixture_share"] == info["chosen"]["mixture_share"]
    assert np.isclose(b.weights[:info["mixture_components"]].sum(), info["mixture_share"])
    share = round(100 * info["mixture_share"])
    assert b.describe() == (f"blend of a kernel density on 300 training codes ({100 - share} % of draws) and a "
                            f"{info['mixture_components']}-component Gaussian mixture ({share} %)")


def test_the_kernel_follows_the_neighbourhood_not_the_whole_cloud():
    """Codes on two lines far apart: nearby codes differ along the lines, the cloud spreads across them."""
    from vae_core.sampling.fit import codes_cholesky, kernel_cholesky

    rng = np.random.default_rng(0)
    t = rng.uniform(-3, 3, 400)
    side = np.where(rng.random(400) < 0.5, -10.0, 10.0)
    codes = np.stack([t, side + 0.01 * rng.standard_normal(400)], axis=1)
    local = kernel_cholesky(codes, neighbours=10)
    whole = codes_cholesky(codes)
    lc, wc = local @ local.T, whole @ whole.T
    assert np.isclose(np.trace(lc), np.trace(wc), rtol=1e-3)  # the same total variance
    assert lc[0, 0] > 50 * lc[1, 1]  # along the lines, not across them
    assert wc[1, 1] > wc[0, 0]  # while the cloud spreads most across


def test_the_progress_grid_sampler_never_fails():
    from vae_core.sampling import quick_sampler

    codes, _ = clustered_codes(n=100)
    s = quick_sampler(codes)
    assert s.covariance_type == "tied" and s.sample(4, seed=1).shape == (4, codes.shape[1])
    collapsed = np.ones((50, 6))  # every code the same, as a blown-up run can leave them
    assert np.isfinite(quick_sampler(collapsed).sample(3, seed=0)).all()
    broken = codes.copy()
    broken[:98] = np.nan
    prior = quick_sampler(broken)
    assert prior.info["prior"] and np.isfinite(prior.sample(3, seed=0)).all()
