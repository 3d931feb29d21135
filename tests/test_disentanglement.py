"""Disentanglement scorecard on codes with known answers, plus the formulas against reference code.

Known answers: a code that *is* the factors (tiny noise, extra nuisance dims) is perfectly disentangled;
a Gaussian code independent of the factors is not disentangled at all; rotating the perfect code
entangles it. Each metric is also checked against a direct re-implementation of disentanglement_lib's
formula, so a silently changed definition fails here, not in a paper table.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from helpers import TINY_MODEL, blob_dataset
from vae_core.analysis.disentanglement import (Scorecard, dci_from_importance, histogram_discretize, score_codes,
                                               score_model, split_observations)
from vae_core.errors import DatasetError
from vae_core.latent import encode_images
from vae_core.model import ConvVAE

CARDS = (3, 2, 5, 4, 7)
N = 2400


def factors(n: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(c, size=n) for c in CARDS], axis=1)


def aligned_code(y: np.ndarray, nuisance: int = 3, seed: int = 1) -> np.ndarray:
    """Dim k = factor k + tiny noise, followed by ``nuisance`` pure-noise dims."""
    rng = np.random.default_rng(seed)
    return np.concatenate([y + 0.01 * rng.normal(size=y.shape), rng.normal(size=(len(y), nuisance))], axis=1)


@pytest.fixture(scope="module")
def y() -> np.ndarray:
    return factors()


@pytest.fixture(scope="module")
def aligned(y) -> Scorecard:
    return score_codes(aligned_code(y), y)


# -- known answers -----------------------------------------------------------------------------------
def test_axis_aligned_code_scores_near_one(aligned):
    assert aligned.mig > 0.9
    assert aligned.dci_disentanglement > 0.9 and aligned.dci_completeness > 0.9
    assert aligned.dci_informativeness > 0.99
    for k, f in enumerate(aligned.factors):
        assert f.top_dim == k and f.mig > 0.9 and f.accuracy > 0.99 and f.completeness > 0.9
        # SAP's best single dim is the factor's own dim for every factor...
        assert int(np.argmax(aligned.sap_matrix[:, k])) == k
    # ...and a binary factor reaches SAP's ceiling: perfect accuracy minus chance (balanced) accuracy.
    assert aligned.factors[1].sap > 0.4
    # A linear SVM on one dim cannot isolate interior classes of a 7-valued factor, so SAP's maximum is
    # below 1 for multi-valued factors; 0.25 is far above what independent codes reach (< 0.05).
    assert aligned.sap > 0.25
    # The importance matrix puts each factor on its own dim, none on the nuisance dims.
    assert aligned.importance.shape == (len(CARDS) + 3, len(CARDS))
    assert np.array_equal(np.argmax(aligned.importance, axis=0), np.arange(len(CARDS)))
    assert aligned.importance[len(CARDS):].max() < 0.02


def test_independent_gaussian_code_scores_near_zero(y):
    s = score_codes(np.random.default_rng(7).normal(size=(N, 8)), y)
    assert s.mig < 0.05 and s.dci_disentanglement < 0.2 and s.dci_completeness < 0.2 and s.sap < 0.05
    # Informativeness of a useless code is about majority-class accuracy, well below 1.
    assert s.dci_informativeness < 0.5


def test_rotation_entangles(y, aligned):
    x = aligned_code(y)
    q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(x.shape[1], x.shape[1])))
    rotated = score_codes(x @ q, y)
    assert rotated.mig < aligned.mig - 0.5
    assert rotated.dci_disentanglement < aligned.dci_disentanglement - 0.3
    assert rotated.sap < aligned.sap


def test_partial_mixing_scores_in_between(y, aligned):
    """Mixing two factors into the same dims halves their gap: MIG between random and aligned."""
    x = aligned_code(y).copy()
    x[:, 0], x[:, 2] = x[:, 0] + x[:, 2] / 2, x[:, 2] + x[:, 0] / 2
    s = score_codes(x, y)
    assert 0.2 < s.mig < aligned.mig - 0.1


# -- formulas against reference code -----------------------------------------------------------------
def _entropy_nats(labels: np.ndarray) -> float:
    p = np.unique(labels, return_counts=True)[1] / len(labels)
    return float(-(p * np.log(p)).sum())


def _mi_nats(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) = H(a) + H(b) − H(a, b), from counts (independent of sklearn)."""
    joint = a.astype(np.int64) * (int(b.max()) + 1) + b
    return _entropy_nats(a) + _entropy_nats(b) - _entropy_nats(joint)


def test_mig_matches_a_direct_implementation(y):
    x = aligned_code(y)
    x[:, 0] = x[:, 0] + 0.8 * x[:, 1]  # make the gaps unequal, so a wrong sort or normaliser shows
    s = score_codes(x, y, n_train=1600, n_test=800, seed=3)
    tr, _, _ = split_observations(N, 1600, 800, 3)
    xt, yt = x[tr], y[tr]
    binned = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in xt.T], axis=1)
    for k, f in enumerate(s.factors):
        mi = sorted((_mi_nats(yt[:, k], binned[:, d]) for d in range(x.shape[1])), reverse=True)
        assert f.mig == pytest.approx((mi[0] - mi[1]) / _entropy_nats(yt[:, k]), abs=1e-9)
        assert f.entropy == pytest.approx(_entropy_nats(yt[:, k]), abs=1e-12)
    assert s.mig == pytest.approx(np.mean([f.mig for f in s.factors]), abs=1e-12)


def test_histogram_discretize_is_disentanglement_libs():
    x = np.random.default_rng(0).normal(size=(500, 3))
    x[:, 2] = 4.0  # a constant dim goes to a single bin
    b = histogram_discretize(x)  # disentanglement_lib's default: 20 bins
    assert b.dtype == np.int64 and b.shape == (500, 3)
    assert b[:, :2].min() == 1 and b[:, :2].max() == 20 and len(np.unique(b[:, 2])) == 1
    ref = np.digitize(x[:, 0], np.histogram(x[:, 0], 20)[1][:-1])
    assert np.array_equal(b[:, 0], ref)


def _ref_dci(r: np.ndarray) -> tuple[float, float]:
    """disentanglement_lib's dci.disentanglement / completeness, via scipy.stats.entropy."""
    per_code = 1.0 - scipy_entropy(r.T + 1e-11, base=r.shape[1])
    per_factor = 1.0 - scipy_entropy(r + 1e-11, base=r.shape[0])
    w = r if r.sum() > 0 else np.ones_like(r)
    return (float(np.sum(per_code * w.sum(axis=1) / w.sum())), float(np.sum(per_factor * w.sum(axis=0) / w.sum())))


@pytest.mark.parametrize("name", ["diagonal", "uniform", "one_code_for_all", "random", "zeros"])
def test_dci_formula(name):
    rng = np.random.default_rng(0)
    r = {"diagonal": np.vstack([np.eye(4), np.zeros((2, 4))]), "uniform": np.ones((6, 4)),
         "one_code_for_all": np.vstack([np.ones((1, 4)), np.zeros((5, 4))]), "random": rng.random((6, 4)),
         "zeros": np.zeros((6, 4))}[name]
    d, c, per_code, per_factor = dci_from_importance(r)
    assert (d, c) == pytest.approx(_ref_dci(r), abs=1e-9)
    assert per_code.shape == (6,) and per_factor.shape == (4,)
    expected = {"diagonal": (1, 1), "uniform": (0, 0), "one_code_for_all": (0, 1)}.get(name)
    if expected:
        assert (d, c) == pytest.approx(expected, abs=1e-6)


def test_dci_single_factor_is_trivially_disentangled():
    d, c, per_code, _ = dci_from_importance(np.array([[0.9], [0.1]]))
    assert d == pytest.approx(1.0) and np.allclose(per_code, 1.0) and 0 < c < 1


# -- data handling -------------------------------------------------------------------------------------
def test_deterministic_for_a_seed(y):
    x = aligned_code(y)[:1200]
    a, b = score_codes(x, y[:1200], seed=4), score_codes(x, y[:1200], seed=4)
    assert a.to_dict() == b.to_dict()
    c = score_codes(x, y[:1200], seed=5)
    assert c.to_dict()["importance"] != a.to_dict()["importance"]  # another split, other trees


def test_unknown_labels_are_dropped_per_factor(y, aligned):
    yu = y.copy()
    rng = np.random.default_rng(2)
    yu[rng.random(N) < 0.3, 0] = -1  # 30 % of factor 0 unknown
    s = score_codes(aligned_code(y), yu)
    f0, f1 = s.factors[0], s.factors[1]
    assert f0.n_train + f0.n_test == int((yu[:, 0] >= 0).sum())  # its unknown rows dropped...
    assert f1.n_train + f1.n_test == N  # ...not the other factors' rows
    assert f0.mig > 0.9 and f0.accuracy > 0.99 and f0.values == 3
    assert s.factors[1:] == aligned.factors[1:]  # other factors score exactly as without unknowns


def test_single_valued_and_unknown_factors_are_skipped_with_a_note(y):
    yy = np.concatenate([y, np.full((N, 1), 2), np.full((N, 1), -1)], axis=1)
    names = [f"f{k}" for k in range(len(CARDS))] + ["constant", "missing"]
    s = score_codes(aligned_code(y), yy, names)
    assert s.skipped == ("constant", "missing")
    assert any("'constant' skipped" in n and "single observed value" in n for n in s.notes)
    assert any("'missing' skipped" in n for n in s.notes)
    const = s.factors[-2]
    assert const.mig is None and const.sap is None and const.accuracy is None and const.values == 1
    assert np.all(s.importance[:, -2:] == 0)
    assert s.mig > 0.9  # the average is over the scored factors only
    text = s.format_table()
    assert "skipped" in text and "constant" in text
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d  # JSON-safe: no NaN, no numpy types


def test_no_scorable_factor_is_a_dataset_error():
    with pytest.raises(DatasetError, match="no factor can be scored"):
        score_codes(np.random.default_rng(0).normal(size=(50, 3)), np.zeros((50, 2), np.int64))


def test_small_sets_are_split_two_to_one_and_say_so(y):
    s = score_codes(aligned_code(y)[:300], y[:300])
    assert (s.n_train, s.n_test, s.n_observations) == (200, 100, 300)
    assert any("only 300 observations" in n for n in s.notes)


@pytest.mark.parametrize("codes, labels, match", [
    (np.zeros(10), np.zeros((10, 1), int), r"codes must be \[N, D\]"),
    (np.zeros((10, 3)), np.zeros(10, int), r"factors must be \[N, K\]"),
    (np.zeros((10, 3)), np.zeros((9, 2), int), "same number of rows"),
    (np.zeros((10, 1)), np.zeros((10, 2), int), "D >= 2"),
    (np.zeros((10, 3)), np.full((10, 2), 0.5), "integer labels"),
    (np.zeros((10, 3)), np.full((10, 2), -2), ">= 0, or -1"),
    (np.full((10, 3), np.nan), np.zeros((10, 2), int), "finite"),
    (np.zeros((5, 3)), np.zeros((5, 2), int), "at least 9 observations"),
])
def test_bad_inputs_raise_clear_value_errors(codes, labels, match):
    with pytest.raises(ValueError, match=match):
        score_codes(codes, labels)


def test_wrong_number_of_names():
    with pytest.raises(ValueError, match="3 factor names for 2"):
        score_codes(np.zeros((20, 3)), np.zeros((20, 2), int), ["a", "b", "c"])


# -- from a model ----------------------------------------------------------------------------------------
def test_score_model_equals_scoring_the_encoded_means():
    ds = blob_dataset(n=60)
    model = ConvVAE(TINY_MODEL)
    s = score_model(model, ds, n_train=40, n_test=20, seed=1)
    mu, _ = encode_images(model, ds.images)
    ref = score_codes(mu, ds.labels, ds.schema.names, n_train=40, n_test=20, seed=1)
    assert s.factor_names == ("colour", "size")
    assert s.to_dict() == ref.to_dict()
    assert (s.n_train, s.n_test) == (40, 20)


def test_score_model_needs_labels():
    ds = blob_dataset(n=20)
    ds.labels, ds.schema = None, None
    with pytest.raises(DatasetError, match="no attribute labels"):
        score_model(ConvVAE(TINY_MODEL), ds)
