"""The attribute classifier's file format: saved like a checkpoint, in the VAE checkpoint's ``analysis/`` folder.

Why this format: safetensors weights plus a JSON config, never pickle, so a downloaded checkpoint cannot run
code. The files are keyed by the dataset the classifier was trained on (:func:`data_key`); the JSON names the
weights file by content hash and is replaced last, so a reader always sees a matching pair, even when a save
is killed half way. A classifier depends on the VAE's dataset, not on its weights, so a checkpoint re-saved
by training keeps it (``save_checkpoint`` carries ``analysis/`` over).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as save_safetensors

from ...atomic import atomic_write_bytes
from ...checkpoint import file_sha256, load_tensors, read_json_file
from ...config import DataSpec
from ...data.dataset import FaceDataset
from ...errors import CheckpointError, ConfigError
from ...version import __version__
from .accuracy import ClassifierReport
from .config import ClassifierConfig
from .network import AttributeClassifier, AttributeClassifierNet
from .training import train_attribute_classifier

log = logging.getLogger(__name__)

#: Folder inside a VAE checkpoint directory for analysis artefacts derived from its dataset.
ANALYSIS_DIR = "analysis"
FORMAT = "cartoon-vae-attribute-classifier"
FORMAT_VERSION = 1
CLASS_NAME = "AttributeClassifierNet"
_PREFIX = "attribute-classifier"
_MAX_JSON_BYTES = 5_000_000


def data_key(spec: DataSpec) -> str:
    """Identity of a dataset description (16 hex): a classifier is only reused for the same data."""
    return hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def analysis_dir(checkpoint: str | Path) -> Path:
    """``<checkpoint>/analysis``: where a VAE checkpoint keeps classifiers trained on its dataset."""
    return Path(checkpoint) / ANALYSIS_DIR


def classifier_json_path(folder: str | Path, data: DataSpec) -> Path:
    return Path(folder) / f"{_PREFIX}-{data_key(data)}.json"


def save_classifier(classifier: AttributeClassifier, folder: str | Path) -> Path:
    """Write ``<folder>/attribute-classifier-<data key>.json`` and the weights it names; returns the JSON path.

    Atomic as a pair: the weights go to a new content-named file first (vae_core.atomic), then the JSON
    replaces the old one — the commit point — and only then are weights
    files no JSON names any more removed. A crash leaves the old pair (plus maybe an orphan file) intact.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = data_key(classifier.data)
    state = {k: v.detach().cpu().contiguous() for k, v in classifier.net.state_dict().items()}
    blob = save_safetensors(state, metadata={"format": FORMAT})
    sha = hashlib.sha256(blob).hexdigest()
    weights = atomic_write_bytes(folder / f"{_PREFIX}-{key}-{sha[:16]}.safetensors", blob)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "class": CLASS_NAME,
           "package_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "data_key": key, "data": classifier.data.to_dict(), "config": classifier.config.to_dict(),
           "report": classifier.report.to_dict(), "weights": weights.name, "weights_sha256": sha}
    target = atomic_write_bytes(classifier_json_path(folder, classifier.data),
                                (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    for old in folder.glob(f"{_PREFIX}-{key}-*.safetensors"):
        if old.name != weights.name:
            old.unlink(missing_ok=True)
    log.info("saved attribute classifier %s", target)
    return target


def load_classifier_file(json_path: str | Path) -> AttributeClassifier:
    """Load a classifier from its JSON file. Never unpickles; every failure is a :class:`CheckpointError`
    that says what is wrong (missing, not JSON, unknown version, weights altered, not safetensors,
    tensors that do not fit the config, NaN/inf)."""
    path = Path(json_path)
    if not path.is_file():
        raise CheckpointError(f"no attribute classifier at {path}; train one first")
    doc = read_json_file(path, _MAX_JSON_BYTES, "an attribute classifier config",
                         "delete it and retrain the classifier")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an attribute classifier config (missing format {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"attribute classifier format version {doc.get('format_version')!r} in {path} is not "
                              f"supported (expects {FORMAT_VERSION}); retrain it with this version")
    if doc.get("class") != CLASS_NAME:
        raise CheckpointError(f"unknown classifier class {doc.get('class')!r} in {path}")
    try:
        config = ClassifierConfig.from_dict(doc["config"])
        data = DataSpec.from_dict(doc["data"])
        report = ClassifierReport.from_dict(doc["report"])
        weights_name = str(doc["weights"])
        sha = str(doc["weights_sha256"])
    except KeyError as e:
        raise CheckpointError(f"{path} lacks the {e.args[0]!r} entry") from None
    except ConfigError as e:
        raise CheckpointError(f"{path} holds an invalid config: {e}") from None
    except (TypeError, ValueError, AttributeError) as e:  # e.g. "cardinalities": "abc" or "data": 5
        raise CheckpointError(f"{path} holds an invalid config: {type(e).__name__}: {e}") from None
    if Path(weights_name).name != weights_name or not weights_name.endswith(".safetensors"):
        raise CheckpointError(f"{path} names weights {weights_name!r} outside its folder; refusing it")
    weights = path.parent / weights_name
    if not weights.is_file():
        raise CheckpointError(f"the weights {weights} named by {path} are missing; retrain the classifier")
    if file_sha256(weights) != sha:
        raise CheckpointError(f"{weights} does not match the sha256 recorded in {path}; it was modified or is corrupt")
    state = load_tensors(weights)
    net = AttributeClassifierNet(config)
    expected = net.state_dict()
    if set(state) != set(expected):
        diff = sorted(set(state) ^ set(expected))
        raise CheckpointError(f"the weights in {weights} do not fit the config in {path} (keys {diff[:4]})")
    for k, v in expected.items():
        if state[k].shape != v.shape or state[k].dtype != v.dtype:
            raise CheckpointError(f"tensor {k!r} in {weights} is {state[k].dtype} {list(state[k].shape)}, "
                                  f"the config needs {v.dtype} {list(v.shape)}")
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            raise CheckpointError(f"tensor {k!r} in {weights} holds NaN/inf values; retrain the classifier")
    net.load_state_dict(state)
    return AttributeClassifier(net, data, report)


def load_classifier(folder: str | Path, data: DataSpec) -> AttributeClassifier:
    """The classifier saved in ``folder`` for dataset ``data`` (see :func:`save_classifier`)."""
    return load_classifier_file(classifier_json_path(folder, data))


def load_or_train_classifier(checkpoint: str | Path, dataset: FaceDataset, retrain: bool = False,
                             **train_kwargs: Any) -> AttributeClassifier:
    """The classifier in ``<checkpoint>/analysis`` for ``dataset``, trained and saved there if missing or
    if it lacks some of the wanted ``attributes`` (a train keyword; default: the whole schema).

    A corrupt file is *not* silently replaced (it raises, as :func:`load_classifier`), unless
    ``retrain``. If the folder is read-only (a shipped checkpoint) the new classifier is returned unsaved.
    """
    folder = analysis_dir(checkpoint)
    if not retrain and classifier_json_path(folder, dataset.spec).is_file():
        clf = load_classifier(folder, dataset.spec)
        wanted = train_kwargs.get("attributes") or (dataset.schema.names if dataset.schema else ())
        if set(wanted) <= set(clf.attributes):
            return clf
        log.info("the saved attribute classifier lacks %s; training a new one",
                 sorted(set(wanted) - set(clf.attributes)))
    clf = train_attribute_classifier(dataset, **train_kwargs)
    try:
        save_classifier(clf, folder)
    except OSError as e:
        log.warning("cannot save the attribute classifier in %s (%s); using it unsaved", folder, e.strerror or e)
    return clf


__all__ = [
    "ANALYSIS_DIR", "analysis_dir", "classifier_json_path", "data_key", "load_classifier", "load_classifier_file",
    "load_or_train_classifier", "save_classifier",
]
