"""A checkpoint's cached analysis (vae_core.analysis.report): computed once, saved atomically, keyed by weights,
data and parameters, refused when malformed, carried over by re-saves, and shipped with the default model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from vae_core.analysis import report as an
from vae_core.analysis.classifier.store import analysis_dir
from vae_core.analysis.disentanglement import Scorecard
from vae_core.analysis.edit_fidelity import FidelityReport
from vae_core.analysis.report import AnalysisConfig, compute_analysis, load_analysis, load_or_compute_analysis
from vae_core.checkpoint import save_checkpoint
from vae_core.model import load_checkpoint
from vae_core.config import DataSpec, ModelConfig, TrainConfig
from vae_core.data.synthetic import synthetic_dataset
from vae_core.errors import CheckpointError, ConfigError
from vae_core.explorer import Explorer
from vae_core.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "checkpoints" / "synthetic"
SMALL = AnalysisConfig(n_train=120, n_test=60, faces_per_value=4, values_per_attribute=2, classifier_epochs=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny synthetic checkpoint (160 faces, 32×32, z = 4, one epoch) and its dataset."""
    spec = DataSpec(kind="synthetic", size=160, resolution=32, seed=5, val_fraction=0.25)
    ds = synthetic_dataset(spec, use_cache=False)
    out = tmp_path_factory.mktemp("analysis") / "ckpt"
    for _ in Trainer(ds, ModelConfig(resolution=32, latent_dim=4, channels=(8, 16, 16)),
                     TrainConfig(epochs=1, batch_size=32, lr=3e-3), out, device="cpu", command="test").run():
        pass
    return out, ds


@pytest.fixture(scope="module")
def result(trained):
    out, ds = trained
    return compute_analysis(Explorer.open(out, max_points=160), ds, SMALL)


@pytest.mark.slow
def test_compute_saves_a_scorecard_with_fidelity_and_classifier(trained, result):
    out, _ = trained
    a = result.analysis
    assert result.saved_to == out / "analysis" / f"analysis-{a.key}.json" and result.saved_to.is_file()
    assert a.scorecard.importance.shape == (4, 18) and len(a.scorecard.factors) == 18
    assert 0 <= a.scorecard.mig <= 1 and 0 <= a.scorecard.dci_informativeness <= 1
    assert [f.attribute for f in a.fidelity.attributes] == list(a.factor_names)
    for f in a.fidelity.attributes:
        assert 0 <= f.fidelity <= 1 and len(f.values) <= 2
    assert (out / "analysis" / a.classifier_file).is_file() and result.classifier.config.hidden == 128
    assert set(a.seconds) == {"scorecard", "classifier", "fidelity", "total"}
    table = a.format_table()
    assert "| edit fidelity (mean of 18 attributes, strength 1) |" in table
    row = next(ln for ln in table.splitlines() if ln.startswith("| hair_color |"))
    assert f"{a.fidelity.of('hair_color').fidelity:.3f}" in row


def test_loading_is_instant_and_equal(trained, result, monkeypatch):
    out, ds = trained
    explorer = Explorer.open(out, max_points=160)
    monkeypatch.setattr(an, "compute_analysis", lambda *a, **k: pytest.fail("must load, not recompute"))
    t0 = time.perf_counter()
    a = load_or_compute_analysis(explorer, ds, SMALL)
    assert time.perf_counter() - t0 < 0.5
    assert a.to_dict() == result.analysis.to_dict()
    np.testing.assert_array_equal(a.scorecard.importance, result.analysis.scorecard.importance)
    assert load_analysis(explorer, AnalysisConfig(n_train=121, n_test=60)) is None  # other parameters: not cached


def test_key_follows_weights_data_and_parameters():
    spec = DataSpec(kind="synthetic", size=160, resolution=32)
    k = an.analysis_key("a" * 64, spec, SMALL)
    assert k == an.analysis_key("a" * 64, spec, SMALL) and len(k) == 16
    assert k != an.analysis_key("b" * 64, spec, SMALL)
    assert k != an.analysis_key("a" * 64, DataSpec(kind="synthetic", size=161, resolution=32), SMALL)
    assert k != an.analysis_key("a" * 64, spec, AnalysisConfig(n_train=121, n_test=60))
    # the classifier's recipe is not part of it: a cached classifier is reused whatever the recipe
    assert k == an.analysis_key("a" * 64, spec, AnalysisConfig(**{**SMALL.to_dict(), "classifier_epochs": 9}))
    with pytest.raises(ConfigError, match="n_train"):
        AnalysisConfig(n_train=0)


def test_round_trips_of_the_parts(result):
    card = result.analysis.scorecard
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again.to_dict() == card.to_dict()
    fid = result.analysis.fidelity
    assert FidelityReport.from_dict(json.loads(json.dumps(fid.to_dict(per_value=True)))).to_dict(True) == \
        fid.to_dict(True)
    broken = card.to_dict()
    broken["importance"] = [row[:-1] for row in broken["importance"]]
    with pytest.raises(ValueError, match="do not fit"):
        Scorecard.from_dict(broken)
    broken["importance"] = card.to_dict()["importance"][:-1] + [[0.0]]
    with pytest.raises(ValueError, match="malformed"):
        Scorecard.from_dict(broken)


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_text("{not json"), "not valid JSON"),
    (lambda p: p.write_text(json.dumps({"format": "other"})), "not a cartoon-vae analysis"),
    (lambda p: p.write_text(p.read_text().replace('"format_version": 1', '"format_version": 99')), "version"),
    (lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "scorecard"})),
     "lacks the 'scorecard'"),
    (lambda p: p.write_text(p.read_text().replace('"mig": ', '"mig": "x", "old_mig": ', 1)), "malformed"),
    (lambda p: p.write_text(p.read_text().replace('attribute-classifier-', '../attribute-classifier-', 1)),
     "inside analysis/"),
])
def test_malformed_files_are_refused_in_words(trained, result, tmp_path, damage, match):
    path = tmp_path / result.saved_to.name
    path.write_text(result.saved_to.read_text())
    damage(path)
    with pytest.raises(CheckpointError, match=match):
        an.read_analysis(path)


def test_resaving_keeps_the_classifier_and_drops_analyses_of_old_weights(trained, result, tmp_path):
    out, _ = trained
    ck = load_checkpoint(out)
    copy = tmp_path / "ckpt"
    save_checkpoint(copy, ck.model, ck.meta)
    (copy / "analysis").mkdir()
    for f in analysis_dir(out).iterdir():
        (copy / "analysis" / f.name).write_bytes(f.read_bytes())
    names = sorted(p.name for p in (copy / "analysis").iterdir())
    save_checkpoint(copy, ck.model, ck.meta)  # same weights: everything stays
    assert sorted(p.name for p in (copy / "analysis").iterdir()) == names
    with __import__("torch").no_grad():
        next(ck.model.parameters()).add_(0.01)
    save_checkpoint(copy, ck.model, ck.meta)  # new weights: the classifier stays, the stale analysis goes
    kept = sorted(p.name for p in (copy / "analysis").iterdir())
    assert kept == [n for n in names if not n.startswith("analysis-")] and any("classifier" in n for n in kept)


def test_the_synthetic_checkpoint_ships_its_analysis():
    explorer = Explorer.open(SYNTHETIC)
    t0 = time.perf_counter()
    a = load_analysis(explorer)
    assert a is not None, "run: python -m vae_core evaluate --checkpoint checkpoints/synthetic --disentanglement"
    assert time.perf_counter() - t0 < 1.0
    assert a.scorecard.importance.shape == (explorer.latent_dim, 18)
    assert a.scorecard.n_train + a.scorecard.n_test == 10_000
    assert a.command == "python -m vae_core evaluate --checkpoint checkpoints/synthetic --disentanglement"
    assert len(a.fidelity.attributes) == 18 and a.classifier.mean_accuracy > a.classifier.mean_baseline + 0.2
    weights = [p for p in analysis_dir(SYNTHETIC).glob("*.safetensors")]
    assert len(weights) == 1 and weights[0].stat().st_size < 1.5e6
    assert an.load_classifier_for(explorer, a).resolution == 64
