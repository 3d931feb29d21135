"""Sample-quality measures (vae_core.sample_quality) on sets with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.sampling.quality import frechet_distance, knn_precision_recall, nearest_ssim, sample_quality


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    b = rng.normal(size=(2000, 8))
    near, far = frechet_distance(a, b), frechet_distance(a, b + 3)
    assert near < 0.1 and far == pytest.approx(9 * 8, rel=0.05)  # ‖Δμ‖² = 8 dims × 3²
    # Same mean, twice the spread: trace term (σ − 1)² per dim = 8
    assert frechet_distance(a, 2 * b) == pytest.approx(8, rel=0.1)


def test_precision_and_recall_separate_fidelity_from_coverage():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 4))
    assert knn_precision_recall(real, real) == (1.0, 1.0)
    p, r = knn_precision_recall(real, rng.normal(size=(400, 4)) + 20)
    assert p == 0.0 and r == 0.0
    # Fakes that cover only one half of the real cloud: precise, but half the real faces are missed
    half = real[real[:, 0] > 0]
    p, r = knn_precision_recall(real, half + rng.normal(scale=0.01, size=half.shape))
    assert p > 0.95 and 0.35 < r < 0.75


def test_nearest_ssim_finds_copies():
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    copies = train[[3, 7, 11]]
    np.testing.assert_allclose(nearest_ssim(copies, train), 1.0, atol=1e-6)
    fresh = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert nearest_ssim(fresh, train).max() < 0.2
    q = sample_quality(rng.normal(size=(30, 4)), rng.normal(size=(30, 4)), copies, fresh, train)
    assert q.nearest_train_ssim > 0.99 > 0.2 > q.heldout_nearest_train_ssim
