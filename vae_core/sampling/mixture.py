"""The fitted latent density random faces are drawn from: a Gaussian mixture, and its file.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..atomic import atomic_write
from ..errors import CheckpointError

log = logging.getLogger(__name__)

SAMPLER_FILE = "sampler.npz"
SAMPLER_VERSION = 1
CovarianceType = Literal["diag", "full", "tied", "grouped"]

#: Hottest temperature offered (the app's slider, its API and the static page share it): at 2 a draw lies twice
#: the data's spread from its component's mean, already past the faces the decoder has seen; beyond that only
#: smears. Out-of-range values are refused with this range in the message, never clamped silently.
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class LatentSampler:
    """A Gaussian mixture over latent codes: ``weights`` [K], ``means`` [K, Z] and ``scales``: per-dim
    standard deviations [K, Z] (diag), lower Cholesky factors of the covariances [K, Z, Z] (full), one lower
    Cholesky factor [Z, Z] that every component shares (tied: the kernel density, whose K means are training
    codes; see :func:`vae_core.sampling.fit.fit_kernel_density`), or a few factors [G, Z, Z] that components
    share by ``scale_of`` [K] (grouped: a kernel density and a mixture as one density, whose kernels share one
    factor and whose mixture components have one each; see :func:`vae_core.sampling.fit.blend_samplers`)."""

    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    covariance_type: CovarianceType
    #: grouped only: the index into ``scales`` of each component's Cholesky factor [K] (int); None otherwise
    scale_of: np.ndarray | None = None
    #: what it was fitted on and how it was chosen: n_fit, n_heldout, the candidates' held-out log-likelihood
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k, z = self.means.shape
        groups = self.scales.shape[0] if self.scales.ndim == 3 else -1
        want = {"diag": (k, z), "full": (k, z, z), "tied": (z, z), "grouped": (groups, z, z)}.get(self.covariance_type)
        if want is None:
            raise ValueError(f"covariance_type must be diag, full, tied or grouped, got {self.covariance_type!r}")
        if self.weights.shape != (k,) or self.scales.shape != want:
            raise ValueError(f"inconsistent mixture shapes: weights {self.weights.shape}, means {self.means.shape}, "
                             f"scales {self.scales.shape} ({self.covariance_type})")
        if (self.covariance_type == "grouped") != (self.scale_of is not None):
            raise ValueError("scale_of is given for grouped covariances and for them only")
        if self.scale_of is not None:
            of = np.asarray(self.scale_of)
            if of.shape != (k,) or of.dtype.kind not in "iu" or (k and (of.min() < 0 or of.max() >= groups)):
                raise ValueError(f"scale_of must hold {k} whole numbers in 0..{groups - 1}")
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
        if self.covariance_type == "grouped" and "mixture_share" in self.info:
            share = round(100 * self.info["mixture_share"])
            return (f"blend of a kernel density on {self.info['n_kernels']} training codes ({100 - share} % of draws) "
                    f"and a {self.info['mixture_components']}-component Gaussian mixture ({share} %)")
        if self.covariance_type == "tied" and "bandwidth" in self.info:
            return (f"kernel density on {self.n_components} training codes (bandwidth {self.info['bandwidth']:g} "
                    "× the codes' covariance)")
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
        elif self.covariance_type == "tied":
            noise = np.einsum("ij,nj->ni", self.scales, eps)
        elif self.covariance_type == "grouped":
            group = self.scale_of[comp]
            noise = np.empty_like(eps)
            for g in np.unique(group):  # one product per shared factor, not an [n, Z, Z] gather
                noise[group == g] = np.einsum("ij,nj->ni", self.scales[g], eps[group == g])
        else:
            noise = np.einsum("nij,nj->ni", self.scales[comp], eps)
        return (self.means[comp] + float(temperature) * noise).astype(np.float32)

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """log p(z) under the mixture, nats per code [N] (how the candidates were compared)."""
        z = np.asarray(z, np.float64)
        d = z.shape[1]
        if self.covariance_type == "tied":
            return _tied_log_likelihood(z, self.means, self.scales, self.weights)
        if self.covariance_type == "grouped":
            total = self.weights.sum()
            per_group = [np.log(max(self.weights[self.scale_of == g].sum() / total, 1e-300))
                         + _tied_log_likelihood(z, self.means[self.scale_of == g], self.scales[g],
                                                self.weights[self.scale_of == g])
                         for g in np.unique(self.scale_of)]
            stacked = np.stack(per_group, axis=1)
            top = stacked.max(axis=1, keepdims=True)
            return (top + np.log(np.exp(stacked - top).sum(axis=1, keepdims=True)))[:, 0]
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
        if self.scale_of is not None:
            arrays["scale_of"] = np.asarray(self.scale_of, np.int32)
        return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: str | Path, weights_sha256: str | None = None) -> "LatentSampler":
        """Read a saved mixture (no pickle); CheckpointError if unreadable or fitted for other weights."""
        try:
            with np.load(Path(path), allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                arrays = {k: np.asarray(f[k]) for k in ("weights", "means", "scales")}
                scale_of = np.asarray(f["scale_of"]).astype(np.int64) if "scale_of" in f.files else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            raise CheckpointError(f"latent sampler {path} is unreadable ({type(e).__name__}: {e})") from None
        if not isinstance(meta, dict) or meta.get("version") != SAMPLER_VERSION:
            raise CheckpointError(f"latent sampler {path} has an unknown format version")
        if weights_sha256 is not None and meta.get("weights_sha256") != weights_sha256:
            raise CheckpointError(f"latent sampler {path} was fitted for other weights")
        try:
            return cls(weights=arrays["weights"].astype(np.float64), means=arrays["means"].astype(np.float64),
                       scales=arrays["scales"].astype(np.float64), covariance_type=meta["covariance_type"],
                       scale_of=scale_of, info=dict(meta.get("info") or {}))
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"latent sampler {path} is inconsistent: {e}") from None


def whitened_sq_distances(a: np.ndarray, b: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances [len(a), len(b)] under the covariance L Lᵀ (``chol`` = L), by one
    triangular solve and one matrix product: all pairs of a few thousand codes in a second."""
    from scipy.linalg import solve_triangular

    wa = solve_triangular(chol, np.asarray(a, np.float64).T, lower=True).T
    wb = solve_triangular(chol, np.asarray(b, np.float64).T, lower=True).T
    d = (wa**2).sum(1)[:, None] + (wb**2).sum(1)[None, :] - 2.0 * wa @ wb.T
    return np.maximum(d, 0.0)


def _tied_log_likelihood(z: np.ndarray, means: np.ndarray, chol: np.ndarray, weights: np.ndarray,
                         chunk: int = 512) -> np.ndarray:
    """log Σ_k w_k N(z; m_k, L Lᵀ) [N] for one shared Cholesky factor L, in chunks of codes (memory stays
    chunk × K)."""
    d = z.shape[1]
    logdet = 2 * np.log(np.diag(chol)).sum()
    logw = np.log(np.maximum(weights / weights.sum(), 1e-300))
    out = np.empty(len(z))
    for i in range(0, len(z), chunk):
        per = logw[None, :] - 0.5 * (whitened_sq_distances(z[i:i + chunk], means, chol) + logdet
                                     + d * math.log(2 * math.pi))
        top = per.max(axis=1, keepdims=True)
        out[i:i + chunk] = (top + np.log(np.exp(per - top).sum(axis=1, keepdims=True)))[:, 0]
    return out
