"""How good random faces are, as numbers: Fréchet distance, kNN precision/recall and a memorisation check.

Why these three: a sampler can fail by drawing faces unlike the data (high Fréchet distance, low
precision), by covering only part of it (low recall), or by copying training faces (samples closer to
their nearest training face than genuinely new faces are). All three work in any feature space; the
benchmark uses the attribute classifier's shared layer (trained on the training faces, no download).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..data.dataset import to_tensor
from ..metrics import ssim


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D], [M, D] (FID's formula)."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr √(Σa Σb) from the eigenvalues of √Σa Σb √Σa (symmetric PSD): stable where the product of two
    # rank-deficient covariances (fewer faces than feature dims) makes a general sqrtm ill-conditioned.
    wa, va = linalg.eigh(cov_a)
    root_a = (va * np.sqrt(np.clip(wa, 0, None))) @ va.T
    eig = linalg.eigvalsh(root_a @ cov_b @ root_a)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_covmean)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = torch.from_numpy(np.asarray(a, np.float32)), torch.from_numpy(np.asarray(b, np.float32))
    return torch.cdist(a, b).numpy()


def knn_precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019): the share of fake features inside the union
    of the real features' k-NN balls, and the share of real features inside the fake features' balls."""
    def radii(x: np.ndarray) -> np.ndarray:
        d = _pairwise(x, x)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    r_real, r_fake = radii(real), radii(fake)
    precision = float((_pairwise(fake, real) <= r_real[None, :]).any(axis=1).mean())
    recall = float((_pairwise(real, fake) <= r_fake[None, :]).any(axis=1).mean())
    return precision, recall


def nearest_ssim(images: np.ndarray, reference: np.ndarray, batch: int = 256) -> np.ndarray:
    """For each uint8 image [N, R, R, 3]: the SSIM to its nearest reference image (nearest in pixel L2).

    The L2 search keeps it O(N·M) cheap; SSIM then says how alike the pair really looks."""
    x = images.reshape(len(images), -1).astype(np.float32) / 255
    ref = reference.reshape(len(reference), -1).astype(np.float32) / 255
    nearest = np.concatenate([_pairwise(x[i:i + batch], ref).argmin(axis=1) for i in range(0, len(x), batch)])
    return np.concatenate([ssim(to_tensor(np.ascontiguousarray(images[i:i + batch])),
                                to_tensor(np.ascontiguousarray(reference[nearest[i:i + batch]]))).numpy()
                           for i in range(0, len(images), batch)])


@dataclass(frozen=True)
class SampleQuality:
    n_samples: int
    n_real: int
    frechet: float
    precision: float
    recall: float
    #: mean SSIM of each sample to its nearest training face, and the same for held-out faces
    nearest_train_ssim: float
    heldout_nearest_train_ssim: float

    def to_dict(self) -> dict:
        return asdict(self)


def sample_quality(sample_features: np.ndarray, real_features: np.ndarray, samples_u8: np.ndarray,
                   heldout_u8: np.ndarray, train_u8: np.ndarray, k: int = 3) -> SampleQuality:
    """All three measures of one sampler against the held-out faces (features from the same extractor)."""
    precision, recall = knn_precision_recall(real_features, sample_features, k=k)
    return SampleQuality(
        n_samples=len(sample_features), n_real=len(real_features),
        frechet=frechet_distance(sample_features, real_features), precision=precision, recall=recall,
        nearest_train_ssim=float(nearest_ssim(samples_u8, train_u8).mean()),
        heldout_nearest_train_ssim=float(nearest_ssim(heldout_u8, train_u8).mean()))
