"""Fitting the latent density: candidate mixtures fitted to the training codes, chosen on held-out codes.

Why on held-out codes: the density that explains codes it did not see wins, not the one that memorises the
training set (a full covariance per component on a few hundred codes in 256 dims would).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from .mixture import SAMPLER_FILE, CovarianceType, LatentSampler, whitened_sq_distances

log = logging.getLogger(__name__)

#: (components, covariance type, variance floor) tried. A candidate needs ≥ ``MIN_POINTS_PER_COMPONENT`` fitting
#: points per component (fewer cannot pin a component down; held-out likelihood would reject it anyway, at a
#: cost). Why a floor for full covariances: with a few hundred codes per component in 256 dims a full
#: covariance is nearly singular and the mixture memorises; a floor of 0.1 (in units of the codes, whose
#: spread is ~1 per dim) lets several components generalise. On the shipped real-face model's codes: one
#: full Gaussian −206 nats/code held out, five with floor 1e-4 −3,836, five with floor 0.1 −187.
CANDIDATES: tuple[tuple[int, CovarianceType, float], ...] = (
    *((k, "diag", 1e-4) for k in (1, 5, 10, 20, 30)),
    *((k, "full", reg) for k in (1, 5, 10, 20) for reg in (1e-4, 1e-2, 1e-1)),
)
MIN_POINTS_PER_COMPONENT = 8
#: Which density families :func:`fit_latent_sampler` chooses among by default: "auto" fits the kernel density
#: (:func:`fit_kernel_density`), the mixtures of :data:`CANDIDATES` and their blend (:func:`fit_blend`) and keeps the
#: best held-out log-likelihood; "kde", "gmm" or "blend" fits that family only. Why the likelihood and not the draws'
#: scores: it is the one criterion that needs no decoder and no judge, and on the real-face default it agrees with
#: them: the blend explains unseen codes best (−178.7 nats/code against the mixture's −187.2 and the kernels'
#: −196.6) and its faces score better Fréchet distance and recall than the mixture's at equal precision, copying no
#: training face (docs/performance.md, "Kernel densities against mixtures").
Density = Literal["auto", "kde", "gmm", "blend"]
DENSITIES: tuple[str, ...] = get_args(Density)
DEFAULT_DENSITY: Density = "auto"
#: The shares of a blend's draws that come from the mixture (the rest from the kernels), tried by :func:`fit_blend`.
BLEND_SHARES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: The kernel's shape comes from the differences between each code and its nearest neighbours (this many): the
#: directions in which nearby faces differ, not the directions in which the whole data set spreads.
KERNEL_NEIGHBOURS = 15
#: Most kernels a kernel density keeps (a seeded random subset of the codes beyond it): 2,048 × 256 float32 is 2 MB in
#: the checkpoint and 2.8 MB in the page's layout, which the static page downloads whole.
MAX_KERNELS = 2048
#: Kernel widths tried, as multiples of the codes' covariance (the kernel is N(code, h²·Σ)).
BANDWIDTHS: tuple[float, ...] = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 1.8)
#: Largest mixture considered, in stored numbers (float32): 1M = 4 MB, so a shipped checkpoint's sampler stays
#: well under the 10 MB a Hugging Face Space takes without Git LFS (15 full 256×256 covariances fit), and the
#: selection stays a matter of seconds to a few minutes on a CPU.
MAX_PARAMETERS = 1_000_000
#: The smallest variance floor (sklearn's reg_covar): keeps components of a few points positive definite.
REG_COVAR = 1e-4


def _from_sklearn(gm, covariance_type: CovarianceType, info: dict[str, Any]) -> LatentSampler:
    if covariance_type == "diag":
        scales = np.sqrt(gm.covariances_)
    else:
        scales = np.linalg.cholesky(gm.covariances_)
    # Rounded to the float32 the file stores, so the sampler in memory draws exactly the faces the saved one will.
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731
    return LatentSampler(weights=gm.weights_ / gm.weights_.sum(), means=f32(gm.means_), scales=f32(scales),
                         covariance_type=covariance_type, info=info)


def _fit(mu: np.ndarray, k: int, covariance_type: CovarianceType, seed: int, reg: float = REG_COVAR):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        # Codes of a barely trained model can coincide (fewer distinct points than components) and EM may
        # stop at max_iter: the mixture is still a valid density, and held-out likelihood judges it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components=k, covariance_type=covariance_type, reg_covar=reg, max_iter=100,
                               random_state=seed, init_params="kmeans").fit(mu)


def split_codes(mu: np.ndarray, seed: int, heldout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held) codes: a seeded random split, the same for every density family."""
    order = np.random.default_rng(seed).permutation(len(mu))
    n_held = max(1, int(round(len(mu) * heldout_fraction)))
    return mu[order[n_held:]], mu[order[:n_held]]


def _check_codes(mu: np.ndarray) -> np.ndarray:
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or len(mu) < 4 or not np.all(np.isfinite(mu)):
        raise ValueError(f"need at least 4 finite latent codes [N, Z] to fit a sampler, got shape {mu.shape}")
    return mu


def codes_cholesky(codes: np.ndarray) -> np.ndarray:
    """Cholesky factor of the codes' covariance, with the smallest floor that keeps it positive definite."""
    cov = np.cov(codes, rowvar=False).reshape(codes.shape[1], codes.shape[1])
    return np.linalg.cholesky(cov + REG_COVAR * np.eye(len(cov)))


def kernel_cholesky(codes: np.ndarray, neighbours: int = KERNEL_NEIGHBOURS,
                    whole: np.ndarray | None = None) -> np.ndarray:
    """Cholesky factor of the kernel's covariance (before the width h): the mean outer product of the differences
    between each code and its ``neighbours`` nearest codes (in the covariance's metric), rescaled to the
    covariance's total variance so that h keeps one meaning.

    Why local: a kernel shaped like the whole cloud pushes a face's code along the directions the data set spreads
    most (towards other clusters: between faces); one shaped like its neighbourhood moves it the way nearby faces
    differ ("manifold Parzen windows", Vincent & Bengio 2003). It scored 3 nats per unseen code better."""
    z = codes.shape[1]
    whole = codes_cholesky(codes) if whole is None else whole
    k = max(1, min(neighbours, len(codes) - 1))
    d2 = whitened_sq_distances(codes, codes, whole)
    np.fill_diagonal(d2, np.inf)
    near = np.argpartition(d2, k - 1, axis=1)[:, :k]
    diffs = (codes[near] - codes[:, None, :]).reshape(-1, z)
    local = diffs.T @ diffs / len(diffs)
    local *= np.trace(whole @ whole.T) / max(np.trace(local), 1e-12)
    return np.linalg.cholesky(local + REG_COVAR * np.eye(z))


def fit_kernel_density(mu: np.ndarray, seed: int = 0, heldout_fraction: float = 0.2,
                       bandwidths: Sequence[float] = BANDWIDTHS) -> LatentSampler:
    """A kernel density on the codes: one component N(code, h²·K) per code, equal weights, K the neighbourhood
    covariance of :func:`kernel_cholesky`.

    ``h`` is chosen on held-out codes: the best held-out log-likelihood among the widths whose draws are *no
    closer to the codes they were drawn around than held-out codes are to the fitting codes* (median nearest
    distance, in the codes' covariance metric). Why the guard: a narrow kernel copies training faces; this
    keeps draws as new as genuinely unseen faces (the bench checks the same in pixels). Then the density is
    rebuilt on all of ``mu`` (at most :data:`MAX_KERNELS` of them) with the chosen ``h``.
    """
    mu = _check_codes(mu)
    if len(mu) > MAX_KERNELS:
        mu = mu[np.sort(np.random.default_rng(seed).permutation(len(mu))[:MAX_KERNELS])]
    fit, held = split_codes(mu, seed, heldout_fraction)
    metric = codes_cholesky(fit)
    kernel = kernel_cholesky(fit, whole=metric)
    held_nearest = float(np.median(np.sqrt(whitened_sq_distances(held, fit, metric).min(axis=1))))
    uniform = np.full(len(fit), 1.0 / len(fit))
    rng = np.random.default_rng(seed + 1)
    scores: list[dict[str, Any]] = []
    for h in bandwidths:
        kde = LatentSampler(weights=uniform, means=fit, scales=float(h) * kernel, covariance_type="tied")
        draws = kde.sample(max(len(held), 200), seed=int(rng.integers(2**31)))
        drawn_nearest = float(np.median(np.sqrt(whitened_sq_distances(draws, fit, metric).min(axis=1))))
        scores.append({"bandwidth": float(h), "heldout_loglik": float(kde.log_likelihood(held).mean()),
                       "draws_nearest": drawn_nearest, "copies": drawn_nearest < held_nearest})
    new = [s for s in scores if not s["copies"]] or [max(scores, key=lambda s: s["bandwidth"])]
    best = max(new, key=lambda s: s["heldout_loglik"])
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731  (as the file stores it)
    info = {"density": "kde", "bandwidth": best["bandwidth"], "neighbours": KERNEL_NEIGHBOURS,
            "n_fit": int(len(fit)), "n_heldout": int(len(held)), "n_final": int(len(mu)), "seed": seed,
            "heldout_nearest": held_nearest, "chosen": best, "candidates": scores,
            "criterion": "mean held-out log-likelihood, nats per code, among widths whose draws are no closer to "
                         "the codes than held-out codes are"}
    return LatentSampler(weights=np.full(len(mu), 1.0 / len(mu)), means=f32(mu),
                         scales=f32(best["bandwidth"] * kernel_cholesky(mu)), covariance_type="tied", info=info)


def fit_gaussian_mixture(mu: np.ndarray, seed: int = 0, heldout_fraction: float = 0.2,
                         candidates: Sequence[tuple] = CANDIDATES) -> LatentSampler:
    """The best Gaussian mixture among ``candidates`` (components, covariance type[, variance floor]): each is
    fitted on a random (1 − ``heldout_fraction``) of the codes and scored by the mean log-likelihood of the rest;
    the best one is refitted on all of ``mu`` [N, Z]."""
    mu = _check_codes(mu)
    fit, held = split_codes(mu, seed, heldout_fraction)
    scores: list[dict[str, Any]] = []
    z = mu.shape[1]
    for cand in candidates:
        k, cov, reg = (*cand, REG_COVAR)[:3]
        if len(fit) < k * MIN_POINTS_PER_COMPONENT and k > 1:
            continue
        if k * z * (z if cov == "full" else 1) > MAX_PARAMETERS:
            continue
        try:
            gm = _fit(fit, k, cov, seed, reg)
        except (ValueError, np.linalg.LinAlgError) as e:  # a degenerate fit: not a candidate
            log.info("sampler candidate %d %s %g failed: %s", k, cov, reg, e)
            continue
        scores.append({"components": k, "covariance_type": cov, "variance_floor": reg,
                       "heldout_loglik": float(gm.score(held))})
    if not scores:
        raise ValueError("no mixture could be fitted to these latent codes")
    best = max(scores, key=lambda s: s["heldout_loglik"])
    k, cov, reg = best["components"], best["covariance_type"], best["variance_floor"]
    gm = _fit(mu, k, cov, seed, reg)
    info = {"density": "gmm", "n_fit": int(len(fit)), "n_heldout": int(len(held)), "n_final": int(len(mu)),
            "seed": seed, "chosen": best, "candidates": scores,
            "criterion": "mean held-out log-likelihood, nats per code"}
    return _from_sklearn(gm, cov, info)


def _factors(sampler: LatentSampler) -> tuple[np.ndarray, np.ndarray]:
    """A mixture's Cholesky factors [G, Z, Z] and which one each component uses [K]: the grouped form of any
    covariance type (a diagonal is a triangular factor too)."""
    k, z = sampler.means.shape
    if sampler.covariance_type == "grouped":
        return sampler.scales, np.asarray(sampler.scale_of)
    if sampler.covariance_type == "tied":
        return sampler.scales[None], np.zeros(k, np.int64)
    if sampler.covariance_type == "diag":
        return np.einsum("kz,zy->kzy", sampler.scales, np.eye(z)), np.arange(k)
    return sampler.scales, np.arange(k)


def blend_samplers(mixture: LatentSampler, kernels: LatentSampler, mixture_share: float,
                   info: dict[str, Any] | None = None) -> LatentSampler:
    """One density ``share · mixture + (1 − share) · kernels``, as a grouped mixture: its components are both
    parts' components, weighted by their share, each keeping its own Cholesky factor (the kernels share theirs)."""
    if not 0 < mixture_share < 1:
        raise ValueError(f"mixture_share must be in (0, 1), got {mixture_share!r}")
    (fm, om), (fk, ok) = _factors(mixture), _factors(kernels)
    weights = np.concatenate([mixture_share * mixture.weights / mixture.weights.sum(),
                              (1 - mixture_share) * kernels.weights / kernels.weights.sum()])
    return LatentSampler(weights=weights, means=np.concatenate([mixture.means, kernels.means]),
                         scales=np.concatenate([fm, fk]), covariance_type="grouped",
                         scale_of=np.concatenate([om, ok + len(fm)]), info=dict(info or {}))


def fit_blend(mu: np.ndarray, mixture: LatentSampler, kernels: LatentSampler, seed: int = 0,
              heldout_fraction: float = 0.2, shares: Sequence[float] = BLEND_SHARES) -> LatentSampler:
    """The chosen mixture (:func:`fit_gaussian_mixture`) and kernel density (:func:`fit_kernel_density`) as one
    density (:func:`blend_samplers`), the mixture's share of draws chosen by held-out log-likelihood.

    Why a blend: the two fail in opposite ways. Kernels on the training codes keep the variety of real faces
    (recall) but put all their mass near codes already seen; a few broad Gaussians put mass between and around
    them, where new faces' codes also fall. On the default's held-out codes the blend explains unseen codes
    better than either (docs/performance.md, "Kernel densities against mixtures"). Both parts are refitted with
    their chosen settings on the same fitting codes, so the share is scored on codes neither part saw."""
    mu = _check_codes(mu)
    fit, held = split_codes(mu, seed, heldout_fraction)
    if len(fit) > MAX_KERNELS:
        fit = fit[np.sort(np.random.default_rng(seed).permutation(len(fit))[:MAX_KERNELS])]
    c = mixture.info["chosen"]
    mixture_fit = _from_sklearn(_fit(fit, c["components"], c["covariance_type"], seed, c["variance_floor"]),
                                c["covariance_type"], {})
    bandwidth = kernels.info["bandwidth"]
    kernels_fit = LatentSampler(weights=np.full(len(fit), 1.0 / len(fit)), means=fit,
                                scales=bandwidth * kernel_cholesky(fit), covariance_type="tied")
    ll_mixture, ll_kernels = mixture_fit.log_likelihood(held), kernels_fit.log_likelihood(held)
    scores = []
    for share in shares:
        both = np.logaddexp(np.log(share) + ll_mixture, np.log1p(-share) + ll_kernels)
        scores.append({"mixture_share": float(share), "heldout_loglik": float(both.mean())})
    best = max(scores, key=lambda s: s["heldout_loglik"])
    info = {"density": "blend", "mixture_share": best["mixture_share"], "bandwidth": bandwidth,
            "mixture_components": mixture.n_components, "n_kernels": kernels.n_components,
            "n_fit": int(len(fit)), "n_heldout": int(len(held)), "n_final": int(len(mu)), "seed": seed,
            "chosen": {**best, "bandwidth": bandwidth, "mixture": c}, "candidates": scores,
            "criterion": "mean held-out log-likelihood, nats per code, of the blend of the chosen mixture and the "
                         "chosen kernel density"}
    return blend_samplers(mixture, kernels, best["mixture_share"], info)


def fit_latent_sampler(mu: np.ndarray, seed: int = 0, heldout_fraction: float = 0.2,
                       candidates: Sequence[tuple] = CANDIDATES,
                       density: Density = DEFAULT_DENSITY) -> LatentSampler:
    """Fit the latent density of codes ``mu`` [N, Z] on held-out codes, then refit the winner on all of them.

    ``density`` (see :data:`DEFAULT_DENSITY`): "gmm" chooses among the mixtures ``candidates``
    (:func:`fit_gaussian_mixture`), "kde" fits the kernel density (:func:`fit_kernel_density`), "blend" both and
    their blend (:func:`fit_blend`); "auto" returns whichever of the three explains the held-out codes best, the
    others' choices kept in ``info["other_families"]`` for comparison.
    """
    mu = _check_codes(mu)
    if density not in DENSITIES:
        raise ValueError(f"density must be one of {', '.join(map(repr, DENSITIES))}, got {density!r}")
    if density == "gmm":
        return fit_gaussian_mixture(mu, seed=seed, heldout_fraction=heldout_fraction, candidates=candidates)
    kde = fit_kernel_density(mu, seed=seed, heldout_fraction=heldout_fraction)
    if density == "kde":
        return kde
    gmm = fit_gaussian_mixture(mu, seed=seed, heldout_fraction=heldout_fraction, candidates=candidates)
    blend = fit_blend(mu, gmm, kde, seed=seed, heldout_fraction=heldout_fraction)
    if density == "blend":
        return blend
    families = {"kde": kde, "gmm": gmm, "blend": blend}
    best = max(families, key=lambda name: families[name].info["chosen"]["heldout_loglik"])
    winner = families[best]
    winner.info["other_families"] = {name: {"chosen": s.info["chosen"], "describe": s.describe()}
                                     for name, s in families.items() if name != best}
    return winner


#: The kernel width of :func:`quick_sampler`: what the selection chose on the real-face default.
QUICK_BANDWIDTH = 1.1


def quick_sampler(mu: np.ndarray, seed: int = 0, max_kernels: int = 512) -> LatentSampler:
    """A kernel density without selection, for the progress grids of a run in flight: cheap (no fitting, no
    held-out split) and unable to fail, since a run's codes can be anything mid-training (collapsed to one point,
    or not finite after a blow-up): the non-finite rows are dropped, and with fewer than 4 codes left it is the
    N(0, I) prior."""
    mu = np.asarray(mu, np.float64)
    mu = mu[np.isfinite(mu).all(axis=1)] if mu.ndim == 2 else np.zeros((0, 1))
    if len(mu) < 4:
        z = mu.shape[1] if mu.ndim == 2 and mu.shape[1] else 1
        return LatentSampler(weights=np.ones(1), means=np.zeros((1, z)), scales=np.ones((1, z)),
                             covariance_type="diag", info={"quick": True, "prior": True})
    if len(mu) > max_kernels:
        mu = mu[np.sort(np.random.default_rng(seed).permutation(len(mu))[:max_kernels])]
    return LatentSampler(weights=np.full(len(mu), 1.0 / len(mu)), means=mu,
                         scales=QUICK_BANDWIDTH * kernel_cholesky(mu), covariance_type="tied",
                         info={"quick": True, "bandwidth": QUICK_BANDWIDTH, "n_final": int(len(mu))})


def sampler_path(checkpoint_dir: str | Path) -> Path:
    """Where a checkpoint keeps its sampler: beside its other weight-derived caches, which a checkpoint
    rewritten with new weights drops (so a stale sampler cannot outlive its model)."""
    return Path(checkpoint_dir) / "projections" / SAMPLER_FILE


def fit_checkpoint_sampler(model, images: np.ndarray, checkpoint_dir: str | Path, weights_sha256: str,
                           seed: int = 0, max_codes: int = 5_000) -> LatentSampler:
    """Encode training images (uint8 [N, R, R, 3]; at most ``max_codes``), fit, select and save the sampler."""
    from ..latent import encode_images

    if len(images) > max_codes:
        images = images[np.sort(np.random.default_rng(seed).permutation(len(images))[:max_codes])]
    mu, _ = encode_images(model, images)
    sampler = fit_latent_sampler(mu, seed=seed)
    sampler.save(sampler_path(checkpoint_dir), weights_sha256=weights_sha256)
    log.info("fitted the latent sampler of %s: %s", checkpoint_dir, sampler.describe())
    return sampler
