"""The attribute classifier (learns, ignores unknown labels, save→load, refuses bad files) and edit
fidelity on a case with a known answer."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch

from helpers import blob_dataset
from vae_core.analysis.classifier.config import ClassifierTrainConfig
from vae_core.analysis.classifier.network import AttributeClassifier
from vae_core.analysis.classifier.store import (
    analysis_dir,
    classifier_json_path,
    load_classifier,
    load_classifier_file,
    load_or_train_classifier,
    save_classifier,
)
from vae_core.analysis.classifier.training import train_attribute_classifier
from vae_core.analysis.edit_fidelity import edit_fidelity, explorer_fidelity_report, fidelity_report, measure_edit
from vae_core.config import DataSpec, ModelConfig, TrainConfig
from vae_core.data.dataset import FaceDataset
from vae_core.data.synthetic import synthetic_dataset
from vae_core.errors import CheckpointError, ConfigError, DatasetError
from vae_core.latent import attribute_directions

ATTRS = ("hair_color", "glasses", "face_color")


@pytest.fixture(scope="module")
def faces() -> FaceDataset:
    spec = DataSpec(kind="synthetic", size=1500, resolution=32, seed=7, val_fraction=0.2)
    return synthetic_dataset(spec, use_cache=False)


@pytest.fixture(scope="module")
def clf(faces: FaceDataset) -> AttributeClassifier:
    return train_attribute_classifier(faces, attributes=ATTRS, train=ClassifierTrainConfig(epochs=6, batch_size=32))


@pytest.mark.slow
def test_learns_synthetic_attributes_far_above_the_majority_baseline(clf: AttributeClassifier) -> None:
    rep = clf.report
    assert [a.attribute for a in rep.per_attribute] == list(ATTRS)
    assert rep.n_train == 1200 and rep.n_eval == 300
    for name in ("hair_color", "face_color"):
        a = rep.accuracy(name)
        assert a.n_eval == 300 and a.learned
        assert a.accuracy > a.majority_baseline + 0.5, rep.table()
    glasses = rep.accuracy("glasses")  # small lenses at 32×32: harder, but still learned
    assert glasses.accuracy > glasses.majority_baseline, rep.table()
    assert 0 < rep.train_seconds < 60


def test_predictions_have_the_documented_shapes(clf: AttributeClassifier, faces: FaceDataset) -> None:
    probs = clf.predict_proba(faces.images[:5])
    assert {k: v.shape for k, v in probs.items()} == {"hair_color": (5, 10), "glasses": (5, 12), "face_color": (5, 11)}
    np.testing.assert_allclose(probs["glasses"].sum(axis=1), 1.0, rtol=1e-5)
    pred = clf.predict(faces.images[:5])
    assert pred.shape == (5, 3) and pred.dtype == np.int64
    with pytest.raises(ConfigError, match="uint8"):
        clf.predict(np.zeros((2, 64, 64, 3), np.uint8))


def test_unknown_labels_are_ignored_not_learned() -> None:
    ds = blob_dataset(n=96)
    labels = ds.labels.copy()
    labels[::3, 0] = -1      # a third of the colours unknown
    labels[:, 1] = -1        # size never known: its head must not produce NaN, its accuracy is None
    ds = dataclasses.replace(ds, labels=labels)
    losses: list[float] = []
    clf = train_attribute_classifier(ds, train=ClassifierTrainConfig(epochs=4, batch_size=16),
                                     progress=lambda e, n, loss: losses.append(loss))
    assert len(losses) == 4 and all(np.isfinite(losses))
    colour, size = clf.report.per_attribute
    _, val = ds.split()
    assert colour.n_eval == int((labels[val, 0] != -1).sum()) < len(val)
    assert size.accuracy is None and size.majority_baseline is None and size.n_eval == 0
    assert all(torch.isfinite(p).all() for p in clf.net.parameters())


def test_training_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    ds = blob_dataset(n=48)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    a = train_attribute_classifier(ds, train=ClassifierTrainConfig(epochs=1, batch_size=16))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    b = train_attribute_classifier(ds, train=ClassifierTrainConfig(epochs=1, batch_size=16))
    for (k, va), vb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(va, vb), k


def test_save_load_gives_equal_predictions(clf: AttributeClassifier, faces: FaceDataset, tmp_path) -> None:
    path = save_classifier(clf, tmp_path)
    assert path == classifier_json_path(tmp_path, faces.spec)
    weights = [p.name for p in tmp_path.iterdir() if p.suffix == ".safetensors"]
    assert len(weights) == 1 and json.loads(path.read_text())["weights"] == weights[0]
    back = load_classifier(tmp_path, faces.spec)
    assert back.config == clf.config and back.data == clf.data
    assert back.report.to_dict() == clf.report.to_dict()
    images = faces.images[:64]
    for name, p in clf.predict_proba(images).items():
        np.testing.assert_array_equal(back.predict_proba(images)[name], p)
    # saving again replaces the pair and leaves no stale weights or temp files behind
    save_classifier(back, tmp_path)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".safetensors"]
    with pytest.raises(CheckpointError, match="no attribute classifier"):
        load_classifier(tmp_path, dataclasses.replace(faces.spec, seed=8))  # another dataset: not reused


def _saved(clf: AttributeClassifier, folder) -> tuple:
    path = save_classifier(clf, folder)
    doc = json.loads(path.read_text())
    return path, doc, folder / doc["weights"]


def test_pickled_corrupt_and_tampered_files_are_refused(clf: AttributeClassifier, tmp_path) -> None:
    import hashlib

    path, doc, weights = _saved(clf, tmp_path)
    # a pickle in place of the weights, with a matching hash so only the format check can catch it
    blob = pickle.dumps({k: v.numpy() for k, v in clf.net.state_dict().items()})
    weights.write_bytes(blob)
    path.write_text(json.dumps({**doc, "weights_sha256": hashlib.sha256(blob).hexdigest()}))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_classifier_file(path)

    path, doc, weights = _saved(clf, tmp_path)
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    with pytest.raises(CheckpointError, match="sha256"):
        load_classifier_file(path)

    path, doc, weights = _saved(clf, tmp_path)
    for bad, message in [
        ("{not json", "not valid JSON"),
        (json.dumps({**doc, "format_version": 99}), "format version 99"),
        (json.dumps({**doc, "format": "something-else"}), "not an attribute classifier"),
        (json.dumps({**doc, "weights": "../model.safetensors"}), "outside its folder"),
        (json.dumps({**doc, "config": {**doc["config"], "hidden": 8}}), "do not fit|is torch"),
        (json.dumps({**doc, "config": {**doc["config"], "colour": 1}}), "unknown ClassifierConfig keys"),
        (json.dumps({**doc, "config": {**doc["config"], "hidden": 8.5}}), "hidden must be a whole number"),
        (json.dumps({k: v for k, v in doc.items() if k != "report"}), "'report'"),
        (json.dumps({**doc, "config": {**doc["config"], "cardinalities": "xyz"}}), "invalid config"),
        (json.dumps({**doc, "data": 5}), "invalid config"),
        (json.dumps({**doc, "report": {"per_attribute": 3}}), "report is malformed"),
        (json.dumps([1, 2]), "not an attribute classifier"),
    ]:
        path.write_text(bad)
        with pytest.raises(CheckpointError, match=message):
            load_classifier_file(path)
    with pytest.raises(CheckpointError, match="no attribute classifier"):
        load_classifier_file(tmp_path / "missing.json")


# -- edit fidelity with a known answer ------------------------------------------------------------------
BLOB_R = 32
PALETTE = np.array([[220, 40, 40], [40, 160, 40], [40, 40, 220]], np.uint8)


def blob_decoder(z: np.ndarray) -> np.ndarray:
    """Draws helpers.blob_dataset's discs: z[0] < -0.5 red, < 0.5 green, else blue; z[1] < 0 small, else
    big. z[2:] are ignored. So the right answer to any edit is known exactly."""
    z = np.atleast_2d(z)
    yy, xx = np.mgrid[:BLOB_R, :BLOB_R]
    out = np.full((len(z), BLOB_R, BLOB_R, 3), 255, np.uint8)
    for i, zi in enumerate(z):
        colour = 0 if zi[0] < -0.5 else (1 if zi[0] < 0.5 else 2)
        r = BLOB_R * (0.2 if zi[1] < 0 else 0.35)
        out[i][(yy - BLOB_R / 2) ** 2 + (xx - BLOB_R / 2) ** 2 < r * r] = PALETTE[colour]
    return out


@pytest.fixture(scope="module")
def blobs():
    ds = blob_dataset(n=240, seed=1)
    judge = train_attribute_classifier(ds, train=ClassifierTrainConfig(epochs=5, batch_size=16))
    rng = np.random.default_rng(0)
    # latents an encoder might give: colour along z0 (-1, 0, 1), size along z1 (±1), noise elsewhere
    mu = np.concatenate([ds.labels[:, :1] - 1.0, ds.labels[:, 1:] * 2.0 - 1.0, np.zeros((len(ds), 2))], axis=1)
    mu = (mu + rng.normal(0, 0.1, mu.shape)).astype(np.float32)
    return ds, judge, mu, attribute_directions(mu, ds.labels, ds.schema)


def test_the_blob_judge_is_perfect(blobs) -> None:
    ds, judge, mu, _ = blobs
    np.testing.assert_array_equal(judge.predict(blob_decoder(mu)), ds.labels)


def test_edit_along_the_attribute_direction_changes_only_that_attribute(blobs) -> None:
    ds, judge, mu, dirs = blobs
    not_blue = mu[ds.labels[:, 0] != 2]
    res = edit_fidelity(blob_decoder, judge, not_blue, dirs, "colour", 2, strength=1.5)
    assert res.n == len(not_blue)
    assert res.before == 0.0 and res.fidelity == 1.0
    assert res.leakage == {"size": 0.0} and res.mean_leakage == 0.0
    assert res.delta_target_prob > 0.9
    weak = edit_fidelity(blob_decoder, judge, not_blue, dirs, "colour", 2, strength=0.1)
    assert weak.fidelity == 0.0 and weak.to_dict()["strength"] == 0.1


def test_random_and_wrong_directions_are_scored_as_such(blobs) -> None:
    ds, judge, mu, _ = blobs
    rng = np.random.default_rng(1)
    nuisance = np.zeros((len(mu), 4), np.float32)
    nuisance[:, 2:] = rng.normal(0, 3, (len(mu), 2))  # dims the decoder ignores
    res = measure_edit(blob_decoder, judge, mu, mu + nuisance, "colour", 2)
    assert res.fidelity == res.before == pytest.approx(float((ds.labels[:, 0] == 2).mean()))
    assert res.leakage == {"size": 0.0} and res.delta_target_prob == 0.0
    small = mu[ds.labels[:, 1] == 0]
    wrong = measure_edit(blob_decoder, judge, small, small + np.array([0, 3, 0, 0], np.float32), "colour", 2)
    assert wrong.fidelity == wrong.before and wrong.leakage["size"] == 1.0


def test_fidelity_report_finds_the_value_a_mean_difference_cannot_reach(blobs) -> None:
    ds, judge, mu, dirs = blobs
    rep = fidelity_report(blob_decoder, judge, mu, ds.labels, ds.schema, dirs, strength=1.5, faces_per_value=40)
    by_name = {a.attribute: a for a in rep.attributes}
    assert set(by_name) == {"colour", "size"}
    assert by_name["size"].fidelity == 1.0 and by_name["size"].mean_leakage == 0.0
    per_value = {e.target_value: e.fidelity for e in by_name["colour"].per_value}
    # red and blue sit at the ends of z0; green sits between them, so "green minus the rest" is ~0
    assert per_value[0] == 1.0 and per_value[2] == 1.0 and per_value[1] < 0.5
    assert by_name["colour"].fidelity == pytest.approx(np.mean(list(per_value.values())))
    assert by_name["colour"].classifier_accuracy == judge.report.accuracy("colour").accuracy
    assert rep.to_dict()["attributes"][0]["attribute"] == "colour" and "colour" in rep.table()
    with pytest.raises(DatasetError, match="cannot score"):
        fidelity_report(blob_decoder, judge, mu, ds.labels, ds.schema, dirs, attributes=["shape"])


def test_a_decoder_of_another_resolution_is_refused(blobs) -> None:
    ds, judge, mu, dirs = blobs
    with pytest.raises(ConfigError, match="resolution"):
        edit_fidelity(lambda z: np.zeros((len(z), 64, 64, 3), np.uint8), judge, mu[:4], dirs, "colour", 0)


# -- with a real checkpoint and Explorer ----------------------------------------------------------------
def test_explorer_report_and_classifier_cached_in_the_checkpoint(tmp_path, monkeypatch) -> None:
    from vae_core.analysis.classifier import store
    from vae_core.explorer import Explorer
    from vae_core.training import Trainer

    spec = DataSpec(kind="synthetic", size=160, resolution=32, seed=3, val_fraction=0.25)
    ds = synthetic_dataset(spec, use_cache=False)
    out = tmp_path / "ckpt"
    for _ in Trainer(ds, ModelConfig(resolution=32, latent_dim=8, channels=(8, 16, 32)),
                     TrainConfig(epochs=1, batch_size=32, lr=3e-3), out, device="cpu", command="test").run():
        pass
    explorer = Explorer.open(out, max_points=160)
    calls: list[int] = []
    real_train = store.train_attribute_classifier
    monkeypatch.setattr(store, "train_attribute_classifier", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    kw = dict(attributes=("hair_color", "face_color"), train=ClassifierTrainConfig(epochs=1))
    judge = load_or_train_classifier(out, ds, **kw)
    assert classifier_json_path(analysis_dir(out), spec).is_file()
    again = load_or_train_classifier(out, ds, **kw)
    assert calls == [1] and again.config == judge.config  # the second call loaded, not retrained
    subset = load_or_train_classifier(out, ds, attributes=("face_color",), train=ClassifierTrainConfig(epochs=1))
    assert calls == [1] and subset.attributes == ("hair_color", "face_color")  # covered by the saved one
    wider = load_or_train_classifier(out, ds, attributes=("glasses", "face_color"),
                                     train=ClassifierTrainConfig(epochs=1))
    assert calls == [1, 1] and wider.attributes == ("glasses", "face_color")  # lacked glasses: retrained
    judge = load_or_train_classifier(out, ds, retrain=True, **kw)
    assert calls == [1, 1, 1]
    rep = explorer_fidelity_report(explorer, judge, dataset=ds, faces_per_value=4, values_per_attribute=2)
    assert [a.attribute for a in rep.attributes] == ["face_color", "hair_color"]
    for a in rep.attributes:
        assert len(a.values) == 2 and all(e.n == 4 for e in a.per_value)
        assert 0 <= a.fidelity <= 1 and 0 <= a.mean_leakage <= 1 and -1 <= a.delta_target_prob <= 1
