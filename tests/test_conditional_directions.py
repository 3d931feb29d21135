"""Conditional attribute directions (vae_core.latent.conditional_directions) against plain mean differences:
orthogonality to the other attributes, the length rule, degenerate cases, the noise floor, the explorer's
kinds, the analysis key, and that the shipped default kind is the better one by the recorded measurement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vae_core.analysis.report import AnalysisConfig, analysis_key
from vae_core.cli import build_parser
from vae_core.config import DataSpec
from vae_core.data.schema import AttributeSchema
from vae_core.errors import ConfigError
from vae_core.latent import (DEFAULT_DIRECTIONS, DIRECTION_KINDS, attribute_directions, check_direction_kind,
                             conditional_directions)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "checkpoints" / "default"
RECORD = ROOT / "docs" / "direction-fidelity.json"


def correlated(n: int = 3000, z: int = 8, agree: float = 0.4, seed: int = 0, b_values: int = 2):
    """μ where attribute a moves dim 0 and b moves dim 1, and b's label is a copy of a's for a share ``agree``
    of the faces (random otherwise), so a's plain mean difference also moves dim 1."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    other = rng.integers(0, b_values, n)
    b = np.where(rng.random(n) < agree, a, other)
    mu = rng.normal(0, 0.5, (n, z))
    mu[:, 0] += 1.5 * a
    mu[:, 1] += 1.5 * (b == 1)
    if b_values > 2:
        mu[:, 2] += 1.0 * (b == 2)
    labels = np.stack([a, b], axis=1)
    return mu.astype(np.float32), labels, AttributeSchema(("a", "b"), (2, b_values))


def cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(abs(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def test_the_conditional_direction_is_orthogonal_to_the_other_attribute_and_the_plain_one_is_not():
    mu, labels, schema = correlated()
    plain = attribute_directions(mu, labels, schema)
    cond = attribute_directions(mu, labels, schema, kind="conditional")
    for v in range(2):
        assert cos(plain["a"].directions[v], plain["b"].directions[1]) > 0.3
        assert cos(cond["a"].directions[v], plain["b"].directions[1]) < 1e-5
        assert cos(cond["b"].directions[v], plain["a"].directions[1]) < 1e-5
    assert cond["a"].kind == "conditional" and plain["a"].kind == "plain" and cond["a"].projected_rank == 1


def test_orthogonal_to_every_value_of_a_categorical_attribute_with_the_full_span():
    mu, labels, schema = correlated(b_values=3)
    plain = attribute_directions(mu, labels, schema)
    cond = conditional_directions(plain, mu, labels, schema, permutations=0)
    assert cond["a"].projected_rank == 2  # three values of b: their mean differences span two dims
    for u in plain["b"].directions:
        for d in cond["a"].directions:
            assert cos(d, u) < 1e-5


def test_the_length_rule_keeps_the_move_along_the_plain_direction():
    mu, labels, schema = correlated()
    plain = attribute_directions(mu, labels, schema)
    cond = conditional_directions(plain, mu, labels, schema)
    for name in ("a", "b"):
        p = plain[name].directions.astype(np.float64)
        c = cond[name].directions.astype(np.float64)
        kept = cond[name].kept
        assert not cond[name].fallback.any() and np.all((kept > 0.5) & (kept < 0.99))
        np.testing.assert_allclose(np.sum(c * p, axis=1), np.sum(p * p, axis=1), rtol=1e-4)  # d''ᵀd = dᵀd
        np.testing.assert_allclose(np.linalg.norm(c, axis=1), np.linalg.norm(p, axis=1) / kept, rtol=1e-4)


def test_an_attribute_alone_keeps_its_plain_direction():
    mu, labels, _ = correlated()
    schema = AttributeSchema(("a",), (2,))
    plain = attribute_directions(mu, labels[:, :1], schema)
    cond = conditional_directions(plain, mu, labels[:, :1], schema)
    np.testing.assert_array_equal(cond["a"].directions, plain["a"].directions)
    assert cond["a"].kept.tolist() == [1.0, 1.0] and not cond["a"].fallback.any() and cond["a"].projected_rank == 0


def test_a_value_inside_the_others_span_falls_back_to_plain_and_says_so():
    mu, labels, schema = correlated(agree=1.0)  # b is a copy of a: nothing of a is left once b is projected out
    plain = attribute_directions(mu, labels, schema)
    cond = conditional_directions(plain, mu, labels, schema)
    assert cond["a"].fallback.all() and np.all(cond["a"].kept < 1e-3)
    np.testing.assert_array_equal(cond["a"].directions, plain["a"].directions)


def test_the_noise_floor_does_not_project_out_an_attribute_the_faces_do_not_show():
    rng = np.random.default_rng(1)
    mu, labels, _ = correlated(agree=0.0)
    labels[:, 1] = rng.integers(0, 2, len(labels))  # b: random labels, no effect on μ
    schema = AttributeSchema(("a", "b"), (2, 2))
    plain = attribute_directions(mu, labels, schema)
    floored = conditional_directions(plain, mu, labels, schema)
    full = conditional_directions(plain, mu, labels, schema, permutations=0)
    assert floored["a"].projected_rank == 0 and full["a"].projected_rank == 1
    np.testing.assert_allclose(floored["a"].directions, plain["a"].directions, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_refused():
    mu, labels, schema = correlated()
    plain = attribute_directions(mu, labels, schema)
    with pytest.raises(ConfigError, match="conditional, plain"):
        attribute_directions(mu, labels, schema, kind="orthogonal")
    with pytest.raises(ValueError, match="min_kept"):
        conditional_directions(plain, mu, labels, schema, min_kept=1.5)
    with pytest.raises(ValueError, match="do not come from these labels"):
        conditional_directions(plain, mu, np.zeros_like(labels), schema)


def test_the_explorer_offers_both_kinds_and_plain_is_the_mean_difference():
    from vae_core.explorer import Explorer
    from vae_core.slider_layout import build_layout

    ex = Explorer.open(DEFAULT)
    b = ex.embedding()
    plain = ex.attribute_directions("plain")
    for name, d in plain.items():  # the directions the explorer had before kinds existed, recomputed here
        col = b.labels[:, b.schema.index(name)]
        mu = b.mu.astype(np.float64)
        for v, direction in zip(d.values, d.directions):
            expected = mu[col == v].mean(axis=0) - mu[(col != v) & (col != -1)].mean(axis=0)
            np.testing.assert_allclose(direction, expected, rtol=1e-4, atol=1e-5)
    assert ex.attribute_directions() is ex.attribute_directions(DEFAULT_DIRECTIONS)  # memoised per kind
    cond = ex.attribute_directions("conditional")
    assert all(c.kind == "conditional" for c in cond.values()) and cond is not plain
    layout = build_layout(ex, kind="plain")
    for name, dirs in layout.attr_dirs.items():
        np.testing.assert_array_equal(dirs, plain[name].directions)
    default = build_layout(ex)
    for name, dirs in default.attr_dirs.items():
        np.testing.assert_array_equal(dirs, ex.attribute_directions()[name].directions)
    with pytest.raises(ConfigError, match="unknown attribute direction kind 'x'"):
        ex.attribute_directions("x")


def test_the_analysis_key_and_config_know_the_kind():
    spec = DataSpec(kind="synthetic", size=160, resolution=32)
    plain, cond = AnalysisConfig(directions="plain"), AnalysisConfig(directions="conditional")
    assert "directions" not in plain.key_dict()  # analyses cached before the kind existed keep their keys
    assert analysis_key("a" * 64, spec, plain) != analysis_key("a" * 64, spec, cond)
    assert AnalysisConfig().directions == DEFAULT_DIRECTIONS
    with pytest.raises(ConfigError, match="choose one of"):
        AnalysisConfig(directions="sideways")
    args = build_parser().parse_args(["evaluate", "--directions", "plain"])
    assert args.directions == "plain"
    assert build_parser().parse_args(["evaluate"]).directions == DEFAULT_DIRECTIONS
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--directions", "sideways"])


def test_an_analysis_cached_before_the_kind_existed_reads_as_plain():
    from vae_core.analysis.report import read_analysis

    for file in sorted((ROOT / "checkpoints").glob("*/analysis/analysis-*.json")):
        doc = json.loads(file.read_text())
        if "directions" not in doc["config"]:
            assert read_analysis(file).config.directions == "plain"
        else:
            assert read_analysis(file).config.directions == doc["config"]["directions"]


def test_the_default_kind_is_the_better_one_by_the_recorded_measurement():
    """docs/direction-fidelity.json is what bench/direction_fidelity.py measured on the shipped weights."""
    from bench.direction_fidelity import better_kind
    from vae_core.model import load_checkpoint

    doc = json.loads(RECORD.read_text())
    assert set(doc["kinds"]) == set(DIRECTION_KINDS)
    for ck, entry in doc["checkpoints"].items():  # measured on the weights that ship now
        assert load_checkpoint(ROOT / ck).fingerprint == entry["weights_sha256"], f"{ck} changed: rerun the bench"
    kind, _why = better_kind(doc)
    assert kind == doc["better"] == DEFAULT_DIRECTIONS
    assert check_direction_kind(kind) == kind
