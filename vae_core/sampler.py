"""Random faces from where the data's codes really are: a Gaussian mixture fitted to the posterior means.

Why this exists: a VAE's aggregate posterior (the cloud of μ over the training set) does not match the
N(0, I) prior it was pulled towards; a β = 1 model trained to a low distortion leaves it off-centre,
anisotropic and clumped, so prior draws land between the clumps and decode to ghosts and smears. Fitting
a density to the training set's μ after training and sampling from it ("ex-post density estimation",
Ghosh et al., *From Variational to Deterministic Autoencoders*, ICLR 2020) gives faces where the decoder
has seen codes. The mixture's size and covariance type are chosen on held-out latents by log-likelihood,
so the density that explains codes it did not see wins, not the one that memorises the training set.

Temperature has one meaning: it scales the spread around the chosen component, so 0 is that component's
mean (a clean, typical face) and 1 is the fitted density itself.

Stored without pickle: one ``.npz`` (``allow_pickle=False``) of float arrays plus a JSON string of its
settings and the selection table, written atomically, keyed by the weights it was fitted for.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .atomic import atomic_write
from .errors import CheckpointError

log = logging.getLogger(__name__)

SAMPLER_FILE = "sampler.npz"
SAMPLER_VERSION = 1
CovarianceType = Literal["diag", "full"]

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
#: Largest mixture considered, in stored numbers (float32): 1M = 4 MB, so a shipped checkpoint's sampler stays
#: well under the 10 MB a Hugging Face Space takes without Git LFS (15 full 256×256 covariances fit), and the
#: selection stays a matter of seconds to a few minutes on a CPU.
MAX_PARAMETERS = 1_000_000
#: The smallest variance floor (sklearn's reg_covar): keeps components of a few points positive definite.
REG_COVAR = 1e-4
#: Hottest temperature offered (the app's slider, its API and the static page share it): at 2 a draw lies twice
#: the data's spread from its component's mean, already past the faces the decoder has seen; beyond that only
#: smears. Out-of-range values are refused with this range in the message, never clamped silently.
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class LatentSampler:
    """A Gaussian mixture over latent codes: ``weights`` [K], ``means`` [K, Z] and ``scales``: per-dim
    standard deviations [K, Z] (diag) or lower Cholesky factors of the covariances [K, Z, Z] (full)."""

    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    covariance_type: CovarianceType
    #: what it was fitted on and how it was chosen: n_fit, n_heldout, the candidates' held-out log-likelihood
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k, z = self.means.shape
        want = (k, z) if self.covariance_type == "diag" else (k, z, z)
        if self.weights.shape != (k,) or self.scales.shape != want:
            raise ValueError(f"inconsistent mixture shapes: weights {self.weights.shape}, means {self.means.shape}, "
                             f"scales {self.scales.shape} ({self.covariance_type})")
        if not (np.all(np.isfinite(self.means)) and np.all(np.isfinite(self.scales))
                and np.all(self.weights >= 0) and abs(float(self.weights.sum()) - 1) < 1e-4):
            raise ValueError("mixture parameters must be finite, with weights summing to 1")

    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def describe(self) -> str:
        return f"{self.n_components}-component {self.covariance_type}-covariance Gaussian mixture"

    def sample(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes [n, Z] float32, the same for the same seed; temperature scales the spread around the
        chosen component (0 = its mean)."""
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        comp = rng.choice(self.n_components, size=n, p=self.weights / self.weights.sum())
        eps = rng.standard_normal((n, self.latent_dim))
        if self.covariance_type == "diag":
            noise = self.scales[comp] * eps
        else:
            noise = np.einsum("nij,nj->ni", self.scales[comp], eps)
        return (self.means[comp] + float(temperature) * noise).astype(np.float32)

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """log p(z) under the mixture, nats per code [N] (how the candidates were compared)."""
        z = np.asarray(z, np.float64)
        d = z.shape[1]
        per = np.empty((len(z), self.n_components))
        for k in range(self.n_components):
            diff = z - self.means[k]
            if self.covariance_type == "diag":
                s = self.scales[k]
                maha = ((diff / s) ** 2).sum(axis=1)
                logdet = 2 * np.log(s).sum()
            else:
                sol = np.linalg.solve(self.scales[k], diff.T)  # L⁻¹ (z − m)
                maha = (sol**2).sum(axis=0)
                logdet = 2 * np.log(np.diag(self.scales[k])).sum()
            per[:, k] = np.log(max(self.weights[k], 1e-300)) - 0.5 * (maha + logdet + d * math.log(2 * math.pi))
        top = per.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(per - top).sum(axis=1, keepdims=True)))[:, 0]

    # -- storage ---------------------------------------------------------------------------------------
    def save(self, path: str | Path, weights_sha256: str = "") -> Path:
        """Write the mixture atomically; ``weights_sha256`` ties it to the model it was fitted for."""
        meta = {"version": SAMPLER_VERSION, "covariance_type": self.covariance_type,
                "weights_sha256": weights_sha256, "info": self.info}
        arrays = dict(weights=self.weights.astype(np.float64), means=self.means.astype(np.float32),
                      scales=self.scales.astype(np.float32), meta=np.array(json.dumps(meta)))
        return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: str | Path, weights_sha256: str | None = None) -> "LatentSampler":
        """Read a saved mixture (no pickle); CheckpointError if unreadable or fitted for other weights."""
        try:
            with np.load(Path(path), allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                arrays = {k: np.asarray(f[k]) for k in ("weights", "means", "scales")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            raise CheckpointError(f"latent sampler {path} is unreadable ({type(e).__name__}: {e})") from None
        if not isinstance(meta, dict) or meta.get("version") != SAMPLER_VERSION:
            raise CheckpointError(f"latent sampler {path} has an unknown format version")
        if weights_sha256 is not None and meta.get("weights_sha256") != weights_sha256:
            raise CheckpointError(f"latent sampler {path} was fitted for other weights")
        try:
            return cls(weights=arrays["weights"].astype(np.float64), means=arrays["means"].astype(np.float64),
                       scales=arrays["scales"].astype(np.float64), covariance_type=meta["covariance_type"],
                       info=dict(meta.get("info") or {}))
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"latent sampler {path} is inconsistent: {e}") from None


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


def fit_latent_sampler(mu: np.ndarray, seed: int = 0, heldout_fraction: float = 0.2,
                       candidates: Sequence[tuple] = CANDIDATES) -> LatentSampler:
    """Choose a mixture on held-out codes, then refit the winner on all of ``mu`` [N, Z].

    Each candidate (components, covariance type[, variance floor]) is fitted on a random
    (1 − ``heldout_fraction``) of the codes and scored by the mean log-likelihood of the rest; the best one
    is refitted on everything.
    """
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or len(mu) < 4 or not np.all(np.isfinite(mu)):
        raise ValueError(f"need at least 4 finite latent codes [N, Z] to fit a sampler, got shape {mu.shape}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(mu))
    n_held = max(1, int(round(len(mu) * heldout_fraction)))
    held, fit = mu[order[:n_held]], mu[order[n_held:]]
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
    info = {"n_fit": int(len(fit)), "n_heldout": int(n_held), "n_final": int(len(mu)), "seed": seed,
            "chosen": best, "candidates": scores,
            "criterion": "mean held-out log-likelihood, nats per code"}
    return _from_sklearn(gm, cov, info)


def quick_sampler(mu: np.ndarray, seed: int = 0, max_components: int = 10) -> LatentSampler:
    """A diagonal mixture without selection, for the progress grids of a run in flight (cheap: one fit)."""
    mu = np.asarray(mu, np.float64)
    k = max(1, min(max_components, len(mu) // (2 * MIN_POINTS_PER_COMPONENT)))
    return _from_sklearn(_fit(mu, k, "diag", seed), "diag", {"n_final": int(len(mu)), "quick": True})


def sampler_path(checkpoint_dir: str | Path) -> Path:
    """Where a checkpoint keeps its sampler: beside its other weight-derived caches, which a checkpoint
    rewritten with new weights drops (so a stale sampler cannot outlive its model)."""
    return Path(checkpoint_dir) / "projections" / SAMPLER_FILE


def fit_checkpoint_sampler(model, images: np.ndarray, checkpoint_dir: str | Path, weights_sha256: str,
                           seed: int = 0, max_codes: int = 5_000) -> LatentSampler:
    """Encode training images (uint8 [N, R, R, 3]; at most ``max_codes``), fit, select and save the sampler."""
    from .latent import encode_images

    if len(images) > max_codes:
        images = images[np.sort(np.random.default_rng(seed).permutation(len(images))[:max_codes])]
    mu, _ = encode_images(model, images)
    sampler = fit_latent_sampler(mu, seed=seed)
    sampler.save(sampler_path(checkpoint_dir), weights_sha256=weights_sha256)
    log.info("fitted the latent sampler of %s: %s", checkpoint_dir, sampler.describe())
    return sampler
