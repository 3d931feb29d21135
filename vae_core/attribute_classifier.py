"""A small attribute classifier trained on dataset images: the judge of "edit fidelity".

Why it exists: an attribute slider moves a latent along a mean-difference direction
(:func:`vae_core.latent.apply_attribute`), and whether the decoded face *really* took the asked-for value
— and what else changed with it — cannot be read off the latent. So we train an independent
classifier on the dataset's own labelled images (never on decoded faces, so it has no stake in the VAE)
and let it look at the decoded faces before and after an edit.

- The network is deliberately small: a shared convolutional trunk and one linear head per attribute,
  trained with cross-entropy where unknown labels (-1) are ignored. It trains on 4.5k synthetic 64×64
  faces in 25 s on one thread of a busy 2-core CPU (8 epochs; mean held-out accuracy over the 18
  attributes 0.65 vs 0.30 for the majority baseline; 9k faces: 53 s, 0.75), so it can be rebuilt on
  demand for any dataset.
- Its held-out accuracy per attribute is reported next to the majority-class baseline (always guessing
  the most frequent training value), so a user sees at once which attributes it learned and therefore
  which fidelity numbers mean something.
- It is saved like a checkpoint (safetensors weights + a JSON config, never pickle) in the VAE
  checkpoint's ``analysis/`` folder, keyed by the dataset it was trained on. The JSON names the weights
  file by content hash and is replaced last, so a reader always sees a matching pair, even when a save
  is killed half way. It does not depend on the VAE's weights, only on its dataset, so a checkpoint
  re-saved by training keeps it (``save_checkpoint`` carries ``analysis/`` over).

Fidelity measures (all predictions, never labels, so the classifier's own errors on a face cancel out
between "before" and "after"):

- ``fidelity``: fraction of edited faces whose predicted value is the target after the edit;
- ``leakage[a]``: fraction of edited faces whose predicted value of another attribute ``a`` changed;
- ``target_prob_after − target_prob_before``: mean change of the target's predicted probability.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save as save_safetensors
from torch import nn

from . import latent as latent_ops
from .atomic import atomic_write_bytes
from .checkpoint import _load_tensors, _sha256, read_json_file
from .config import SUPPORTED_RESOLUTIONS, DataSpec
from .data.dataset import FaceDataset, to_tensor
from .data.schema import UNKNOWN, AttributeSchema
from .errors import CheckpointError, ConfigError, DatasetError
from .metrics import eval_mode
from .version import __version__

if TYPE_CHECKING:
    from .explorer import Explorer

log = logging.getLogger(__name__)

#: Folder inside a VAE checkpoint directory for analysis artefacts derived from its dataset.
ANALYSIS_DIR = "analysis"
FORMAT = "cartoon-vae-attribute-classifier"
FORMAT_VERSION = 1
CLASS_NAME = "AttributeClassifierNet"
_PREFIX = "attribute-classifier"
_MAX_JSON_BYTES = 5_000_000

#: A decode function: latents float32 [B, Z] → uint8 images [B, R, R, 3] (e.g. ``Explorer.decode``).
DecodeFn = Callable[[np.ndarray], np.ndarray]


# -- configuration ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture: a ``stem``×``stem`` patchify conv (stride ``stem``) to ``channels[0]``, then one stride-2
    3×3 conv per further entry of ``channels`` (each with batch norm and ReLU), pooled to ``pool``×``pool``,
    a shared ``hidden``-unit layer, then one linear head per attribute with its cardinality.
    ``attributes``/``cardinalities`` are the (possibly partial) schema it predicts.

    Why a 2×2 patchify stem: the first version's stride-2 3×3 conv at full resolution made a training step
    1.7× dearer (148 vs 86 ms per batch of 64 at 64×64, one thread) for +0.01 mean held-out accuracy
    after 6 epochs on 5k synthetic faces, while the same time spent on more epochs gains far more
    (6 → 12 epochs: 0.61 → 0.69)."""

    resolution: int
    attributes: tuple[str, ...]
    cardinalities: tuple[int, ...]
    channels: tuple[int, ...] = (24, 48, 96)
    stem: int = 2
    pool: int = 4
    hidden: int = 256

    def __post_init__(self) -> None:
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ConfigError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}")
        if not self.attributes:
            raise ConfigError("an attribute classifier needs at least one attribute")
        if len(self.attributes) != len(self.cardinalities):
            raise ConfigError(f"{len(self.attributes)} attributes but {len(self.cardinalities)} cardinalities")
        if len(set(self.attributes)) != len(self.attributes):
            raise ConfigError(f"duplicate attribute names in {self.attributes}")
        if any(int(c) < 1 for c in self.cardinalities):
            raise ConfigError(f"cardinalities must be >= 1, got {self.cardinalities}")
        if not self.channels or any(int(c) < 1 for c in self.channels) or len(self.channels) > 5:
            raise ConfigError(f"channels must be 1 to 5 positive integers, got {self.channels}")
        if self.stem not in (1, 2, 4):
            raise ConfigError(f"stem must be 1, 2 or 4, got {self.stem}")
        if self.resolution // (self.stem * 2 ** (len(self.channels) - 1)) < 2:
            raise ConfigError(f"a stem of {self.stem} and {len(self.channels) - 1} stride-2 stages do not fit "
                              f"resolution {self.resolution}: the last feature map must be at least 2×2")
        if not 1 <= self.pool <= 8 or not 1 <= self.hidden <= 4096:
            raise ConfigError(f"pool must be in 1..8 and hidden in 1..4096, got {self.pool}, {self.hidden}")
        object.__setattr__(self, "attributes", tuple(str(a) for a in self.attributes))
        object.__setattr__(self, "cardinalities", tuple(int(c) for c in self.cardinalities))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    @property
    def schema(self) -> AttributeSchema:
        return AttributeSchema(self.attributes, self.cardinalities)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("attributes", "cardinalities", "channels"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClassifierConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"classifier config must be a JSON object, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown classifier config keys {sorted(unknown)}; known: {sorted(names)}")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        except TypeError as e:
            raise ConfigError(f"bad classifier config: {e}") from None


@dataclass(frozen=True)
class ClassifierTrainConfig:
    """Optimisation recipe. ``max_train`` caps the training images (a seeded subset), which bounds the
    time and memory on a 100k-face set; the held-out split is always the dataset's own."""

    epochs: int = 8
    batch_size: int = 64
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seed: int = 0
    max_train: int | None = 20_000
    #: torch CPU threads while training (process-wide, restored afterwards; None = leave torch's
    #: setting). Why 1 by default: the net is small, so a second thread gains little, while on cores
    #: shared with other work (the app trains while it serves) intra-op threads spin-wait on each other —
    #: measured on this 2-core box with 3 other jobs: 2.0 s per step with 2 threads, 0.1 s with 1.
    threads: int | None = 1

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 1000:
            raise ConfigError(f"epochs must be in 1..1000, got {self.epochs}")
        if not 1 <= self.batch_size <= 4096:
            raise ConfigError(f"batch_size must be in 1..4096, got {self.batch_size}")
        if not (0 < self.lr <= 1) or self.weight_decay < 0:
            raise ConfigError(f"need 0 < lr <= 1 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        if self.max_train is not None and self.max_train < 1:
            raise ConfigError(f"max_train must be >= 1, got {self.max_train}")
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise ConfigError(f"threads must be None or in 1..1024, got {self.threads}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- the network -------------------------------------------------------------------------------------
class AttributeClassifierNet(nn.Module):
    """float [B, 3, R, R] in [0, 1] → one logit tensor [B, cardinality] per attribute (config order)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        c0 = config.channels[0]
        layers: list[nn.Module] = [nn.Conv2d(3, c0, config.stem, stride=config.stem, bias=False),
                                   nn.BatchNorm2d(c0), nn.ReLU(inplace=True)]
        c_in = c0
        for c in config.channels[1:]:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        # Pooling to a small fixed grid (not global average) keeps *where* things are: hair colour sits at
        # the top, facial hair at the bottom, glasses in the middle.
        layers += [nn.AdaptiveAvgPool2d(config.pool), nn.Flatten(),
                   nn.Linear(c_in * config.pool ** 2, config.hidden), nn.ReLU(inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(config.hidden, k) for k in config.cardinalities)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        r = self.config.resolution
        if x.ndim != 4 or x.shape[1:] != (3, r, r):
            raise ValueError(f"expected images [B, 3, {r}, {r}], got {list(x.shape)}")
        h = self.trunk(x)
        return [head(h) for head in self.heads]


# -- reports ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeAccuracy:
    """Held-out accuracy of one head over the ``n_eval`` held-out faces with a known label, and the
    accuracy of always guessing the most frequent training value (``majority_baseline``). Both None
    when no held-out face has a known label."""

    attribute: str
    cardinality: int
    accuracy: float | None
    majority_baseline: float | None
    n_eval: int

    @property
    def learned(self) -> bool:
        """True if the head beats the majority baseline (what makes its fidelity numbers meaningful)."""
        return self.accuracy is not None and self.majority_baseline is not None \
            and self.accuracy > self.majority_baseline + 0.02


@dataclass(frozen=True)
class ClassifierReport:
    """How the classifier was trained and how well it does, for the scorecard and for ``to_dict``."""

    per_attribute: tuple[AttributeAccuracy, ...]
    n_train: int
    n_eval: int
    epochs: int
    train_seconds: float
    dataset: str
    train: dict[str, Any] = field(default_factory=dict)

    def accuracy(self, attribute: str) -> AttributeAccuracy:
        for a in self.per_attribute:
            if a.attribute == attribute:
                return a
        raise DatasetError(f"the classifier report has no attribute {attribute!r}")

    @property
    def mean_accuracy(self) -> float | None:
        vals = [a.accuracy for a in self.per_attribute if a.accuracy is not None]
        return float(np.mean(vals)) if vals else None

    @property
    def mean_baseline(self) -> float | None:
        vals = [a.majority_baseline for a in self.per_attribute if a.majority_baseline is not None]
        return float(np.mean(vals)) if vals else None

    def to_dict(self) -> dict[str, Any]:
        return {"per_attribute": [dataclasses.asdict(a) for a in self.per_attribute], "n_train": self.n_train,
                "n_eval": self.n_eval, "epochs": self.epochs, "train_seconds": self.train_seconds,
                "dataset": self.dataset, "train": dict(self.train),
                "mean_accuracy": self.mean_accuracy, "mean_baseline": self.mean_baseline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClassifierReport":
        try:
            per = tuple(AttributeAccuracy(attribute=str(a["attribute"]), cardinality=int(a["cardinality"]),
                                          accuracy=None if a["accuracy"] is None else float(a["accuracy"]),
                                          majority_baseline=None if a["majority_baseline"] is None
                                          else float(a["majority_baseline"]), n_eval=int(a["n_eval"]))
                        for a in d["per_attribute"])
            return cls(per_attribute=per, n_train=int(d["n_train"]), n_eval=int(d["n_eval"]),
                       epochs=int(d["epochs"]), train_seconds=float(d["train_seconds"]),
                       dataset=str(d["dataset"]), train=dict(d.get("train") or {}))
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"the classifier's report is malformed ({type(e).__name__}: {e})") from None

    def table(self) -> str:
        """A plain-text table: attribute, held-out accuracy, majority baseline, labelled held-out faces."""
        lines = [f"{'attribute':<22}{'accuracy':>10}{'baseline':>10}{'n':>7}"]
        for a in self.per_attribute:
            acc = "-" if a.accuracy is None else f"{a.accuracy:.3f}"
            base = "-" if a.majority_baseline is None else f"{a.majority_baseline:.3f}"
            lines.append(f"{a.attribute:<22}{acc:>10}{base:>10}{a.n_eval:>7}")
        return "\n".join(lines)


# -- the classifier handle ------------------------------------------------------------------------------
class AttributeClassifier:
    """A trained net in eval mode with no gradients, plus where it came from. Thread-safe to share:
    prediction methods are pure functions of their inputs."""

    def __init__(self, net: AttributeClassifierNet, data: DataSpec, report: ClassifierReport) -> None:
        self.net = net.cpu().eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.data = data
        self.report = report

    @property
    def config(self) -> ClassifierConfig:
        return self.net.config

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.config.attributes

    @property
    def schema(self) -> AttributeSchema:
        return self.config.schema

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def data_key(self) -> str:
        return data_key(self.data)

    def _index(self, attribute: str) -> int:
        try:
            return self.attributes.index(attribute)
        except ValueError:
            raise DatasetError(f"the attribute classifier does not predict {attribute!r}; "
                               f"it knows {', '.join(self.attributes)}") from None

    def _batches(self, images: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
        """Checked uint8 images [N, R, R, 3] → float [B, 3, R, R] batches (call inside eval/inference mode)."""
        imgs = np.asarray(images)
        r = self.resolution
        if imgs.dtype != np.uint8 or imgs.ndim != 4 or imgs.shape[1:] != (r, r, 3):
            raise ConfigError(
                f"the attribute classifier takes uint8 [N, {r}, {r}, 3] images, got {imgs.dtype} {list(imgs.shape)}; "
                "it must be trained on a dataset of the same resolution as the model it judges")
        for i in range(0, len(imgs), batch_size):
            yield to_tensor(np.ascontiguousarray(imgs[i:i + batch_size]))

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
        """uint8 images [N, R, R, 3] → per attribute the softmax probabilities float32 [N, cardinality]."""
        outs: list[list[np.ndarray]] = [[] for _ in self.attributes]
        with eval_mode(self.net), torch.inference_mode():
            for x in self._batches(images, batch_size):
                for j, logits in enumerate(self.net(x)):
                    outs[j].append(logits.softmax(dim=1).numpy())
        return {name: (np.concatenate(o) if o else np.zeros((0, k), np.float32))
                for name, k, o in zip(self.attributes, self.config.cardinalities, outs)}

    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images [N, R, R, 3] → the shared layer's activations float32 [N, hidden].

        Why: a feature space for comparing sets of faces (Fréchet distance, kNN precision/recall) that is
        trained on this project's own faces and needs no download, unlike an ImageNet Inception."""
        with eval_mode(self.net), torch.inference_mode():
            out = [self.net.trunk(x).numpy() for x in self._batches(images, batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.config.hidden), np.float32)

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images [N, R, R, 3] → predicted values int64 [N, A] in :attr:`attributes` order."""
        probs = self.predict_proba(images, batch_size)
        return np.stack([probs[a].argmax(axis=1) for a in self.attributes], axis=1).astype(np.int64)


def data_key(spec: DataSpec) -> str:
    """Identity of a dataset description (16 hex): a classifier is only reused for the same data."""
    return hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


# -- training -----------------------------------------------------------------------------------------
def _labels_for(ds: FaceDataset, attributes: Sequence[str] | None) -> tuple[AttributeSchema, np.ndarray]:
    if ds.labels is None or ds.schema is None:
        raise DatasetError(f"{ds.spec.describe()} has no attribute labels; an attribute classifier needs them")
    names = tuple(attributes) if attributes is not None else ds.schema.names
    cols = [ds.schema.index(n) for n in names]
    schema = AttributeSchema(names, tuple(ds.schema.cardinalities[c] for c in cols))
    return schema, np.asarray(ds.labels[:, cols], np.int64)


def _accuracies(schema: AttributeSchema, pred: np.ndarray, truth: np.ndarray,
                train_labels: np.ndarray) -> tuple[AttributeAccuracy, ...]:
    out = []
    for j, (name, card) in enumerate(zip(schema.names, schema.cardinalities)):
        known = truth[:, j] != UNKNOWN
        n = int(known.sum())
        tr = train_labels[:, j][train_labels[:, j] != UNKNOWN]
        majority = int(np.bincount(tr, minlength=card).argmax()) if len(tr) else 0
        if n == 0:
            out.append(AttributeAccuracy(name, card, None, None, 0))
            continue
        acc = float((pred[known, j] == truth[known, j]).mean())
        base = float((truth[known, j] == majority).mean())
        out.append(AttributeAccuracy(name, card, acc, base, n))
    return tuple(out)


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (None: unchanged), restoring the previous count."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(net: AttributeClassifierNet, all_images: np.ndarray, train_idx: np.ndarray, targets_np: np.ndarray,
         cfg: ClassifierTrainConfig, rng: np.random.Generator,
         progress: Callable[[int, int, float], None] | None) -> None:
    """AdamW with a one-cycle schedule; loss = Σ_attributes cross-entropy over the known labels (nats)."""
    # Held in memory as uint8 (61 MB for 5k 64×64 faces; max_train bounds it), converted per batch.
    images = torch.from_numpy(np.ascontiguousarray(all_images[train_idx]))
    targets = torch.from_numpy(targets_np)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_idx) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    net.train()
    for epoch in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(len(train_idx)))
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            x = images[idx].permute(0, 3, 1, 2).float().div_(255)
            y = targets[idx]
            n_known = (y != UNKNOWN).sum(dim=0).tolist()
            loss = torch.zeros(())
            for j, logits in enumerate(net(x)):
                if n_known[j]:  # a batch without any known label of an attribute must not give NaN
                    loss = loss + F.cross_entropy(logits, y[:, j], ignore_index=UNKNOWN)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item()
        if progress is not None:
            progress(epoch + 1, cfg.epochs, loss_sum / steps_per_epoch)


def train_attribute_classifier(
    dataset: FaceDataset,
    attributes: Sequence[str] | None = None,
    train: ClassifierTrainConfig | None = None,
    channels: tuple[int, ...] = (24, 48, 96),
    stem: int = 2,
    progress: Callable[[int, int, float], None] | None = None,
    hidden: int = 256,
) -> AttributeClassifier:
    """Train a classifier on the training part of ``dataset.split()`` and score it on the held-out part.

    ``attributes`` picks a subset of the dataset's schema (default: all); ``channels``, ``stem`` and
    ``hidden`` are the :class:`ClassifierConfig` architecture (the shared layer dominates the size: 2.0 MB
    of float32 weights at 256 hidden units, 1.1 MB at 128 for the 18 Cartoon Set heads). Deterministic for
    ``train.seed`` on CPU. ``progress(epoch, epochs, mean_loss)`` is called after each epoch, where
    ``mean_loss`` is the summed per-attribute cross-entropy (nats) averaged over the epoch's batches.
    Runs on the CPU: the net is tiny and the analysis must not compete with a GPU training run.
    """
    cfg = train or ClassifierTrainConfig()
    schema, labels = _labels_for(dataset, attributes)
    train_idx, val_idx = dataset.split()
    if len(train_idx) == 0:
        raise DatasetError("the dataset has no training images")
    rng = np.random.default_rng(cfg.seed)
    if cfg.max_train is not None and len(train_idx) > cfg.max_train:
        train_idx = np.sort(rng.choice(train_idx, cfg.max_train, replace=False))
    config = ClassifierConfig(resolution=dataset.resolution, attributes=schema.names,
                              cardinalities=schema.cardinalities, channels=channels, stem=stem, hidden=hidden)
    with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's global RNG
        torch.manual_seed(cfg.seed)
        net = AttributeClassifierNet(config)
    t0 = time.perf_counter()
    with _torch_threads(cfg.threads):
        _fit(net, dataset.images, train_idx, labels[train_idx], cfg, rng, progress)
        seconds = time.perf_counter() - t0
        clf = AttributeClassifier(net, dataset.spec, ClassifierReport((), 0, 0, 0, 0.0, ""))
        eval_idx = val_idx if len(val_idx) else train_idx
        if not len(val_idx):
            log.warning("%s has no held-out split (val_fraction 0); classifier accuracy is on training faces",
                        dataset.spec.describe())
        pred = clf.predict(np.ascontiguousarray(dataset.images[eval_idx]))
    report = ClassifierReport(
        per_attribute=_accuracies(schema, pred, labels[eval_idx], labels[train_idx]),
        n_train=len(train_idx), n_eval=len(eval_idx), epochs=cfg.epochs, train_seconds=round(seconds, 3),
        dataset=dataset.spec.describe(), train=cfg.to_dict())
    log.info("attribute classifier: %d faces, %d epochs, %.1f s, mean held-out accuracy %.3f (baseline %.3f)",
             len(train_idx), cfg.epochs, seconds, report.mean_accuracy or float("nan"),
             report.mean_baseline or float("nan"))
    return AttributeClassifier(clf.net, dataset.spec, report)


# -- save / load ----------------------------------------------------------------------------------------
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
    key = classifier.data_key
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
    if _sha256(weights) != sha:
        raise CheckpointError(f"{weights} does not match the sha256 recorded in {path}; it was modified or is corrupt")
    state = _load_tensors(weights)
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


# -- edit fidelity ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditFidelity:
    """What the classifier saw when ``n`` latents were edited toward ``attribute = target_value``.

    ``fidelity``: fraction predicted ``target_value`` after the edit; ``before``: fraction already
    predicted so before (compare the two: an edit only earns what it changed); ``target_prob_before`` /
    ``target_prob_after``: mean predicted probability of the target; ``leakage``: per other attribute the
    fraction whose predicted value changed. Attributes that only show together (no glasses → no
    glasses colour) leak by construction; the numbers say what a viewer would see, not why.
    """

    attribute: str
    target_value: int
    strength: float | None
    n: int
    fidelity: float
    before: float
    target_prob_before: float
    target_prob_after: float
    leakage: dict[str, float]

    @property
    def delta_target_prob(self) -> float:
        return self.target_prob_after - self.target_prob_before

    @property
    def mean_leakage(self) -> float:
        return float(np.mean(list(self.leakage.values()))) if self.leakage else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(delta_target_prob=self.delta_target_prob, mean_leakage=self.mean_leakage)
        return d


def _decode_checked(decode: DecodeFn, z: np.ndarray, classifier: AttributeClassifier) -> np.ndarray:
    images = np.asarray(decode(np.ascontiguousarray(z, dtype=np.float32)))
    r = classifier.resolution
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:3] != (r, r) or len(images) != len(z):
        raise ConfigError(f"the decoder made {images.dtype} {list(images.shape)} from {len(z)} latents but the "
                          f"attribute classifier judges uint8 [{len(z)}, {r}, {r}, 3] faces; train the classifier "
                          "on the dataset (and resolution) of this model")
    return images


def _compare(classifier: AttributeClassifier, before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray],
             attribute: str, target_value: int, strength: float | None) -> EditFidelity:
    j = classifier._index(attribute)
    card = classifier.config.cardinalities[j]
    if not 0 <= int(target_value) < card:
        raise ValueError(f"target value {target_value} is outside 0..{card - 1} for {attribute!r}")
    pb, pa = before[attribute], after[attribute]
    n = len(pa)
    if n == 0:
        raise ValueError("edit fidelity needs at least one latent")
    leakage = {a: float((before[a].argmax(1) != after[a].argmax(1)).mean()) for a in classifier.attributes
               if a != attribute}
    return EditFidelity(attribute=attribute, target_value=int(target_value),
                        strength=None if strength is None else float(strength), n=n,
                        fidelity=float((pa.argmax(1) == target_value).mean()),
                        before=float((pb.argmax(1) == target_value).mean()),
                        target_prob_before=float(pb[:, target_value].mean()),
                        target_prob_after=float(pa[:, target_value].mean()), leakage=leakage)


def measure_edit(decode: DecodeFn, classifier: AttributeClassifier, z_before: np.ndarray, z_after: np.ndarray,
                 attribute: str, target_value: int, strength: float | None = None) -> EditFidelity:
    """Fidelity of any latent edit ``z_before → z_after`` (both [B, Z]) meant to set ``attribute``."""
    zb, za = np.atleast_2d(np.asarray(z_before, np.float32)), np.atleast_2d(np.asarray(z_after, np.float32))
    if zb.shape != za.shape:
        raise ValueError(f"z_before and z_after must have the same shape, got {list(zb.shape)} and {list(za.shape)}")
    images = _decode_checked(decode, np.concatenate([zb, za]), classifier)
    probs = classifier.predict_proba(images)
    b = len(zb)
    return _compare(classifier, {k: v[:b] for k, v in probs.items()}, {k: v[b:] for k, v in probs.items()},
                    attribute, target_value, strength)


def edit_fidelity(decode: DecodeFn, classifier: AttributeClassifier, z: np.ndarray,
                  directions: Mapping[str, latent_ops.AttributeDirections], attribute: str, target_value: int,
                  strength: float = 1.0) -> EditFidelity:
    """Edit latents z [B, Z] exactly as the attribute slider does (:func:`vae_core.latent.apply_attribute`),
    decode before and after with ``decode`` (e.g. ``Explorer.decode``) and let the classifier judge."""
    z = np.atleast_2d(np.asarray(z, np.float32))
    edited = latent_ops.apply_attribute(z, directions, attribute, target_value, strength)
    return measure_edit(decode, classifier, z, edited, attribute, target_value, strength)


@dataclass(frozen=True)
class AttributeFidelity:
    """Fidelity of one attribute's slider, averaged over the ``values`` tried (each on up to
    ``faces_per_value`` held-out faces labelled with another value), with the classifier's own held-out
    accuracy and majority baseline beside it: fidelity is only as trustworthy as the classifier."""

    attribute: str
    values: tuple[int, ...]
    fidelity: float
    before: float
    delta_target_prob: float
    mean_leakage: float
    classifier_accuracy: float | None
    majority_baseline: float | None
    per_value: tuple[EditFidelity, ...]

    def to_dict(self, per_value: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("attribute", "fidelity", "before", "delta_target_prob", "mean_leakage",
                                           "classifier_accuracy", "majority_baseline")}
        d["values"] = list(self.values)
        if per_value:
            d["per_value"] = [e.to_dict() for e in self.per_value]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AttributeFidelity":
        """Inverse of :meth:`to_dict` (``per_value`` is empty unless it was saved). ValueError if malformed."""
        def opt(v: Any) -> float | None:
            return None if v is None else float(v)

        try:
            per = []
            for e in d.get("per_value") or ():
                per.append(EditFidelity(
                    attribute=str(e["attribute"]), target_value=int(e["target_value"]), strength=opt(e["strength"]),
                    n=int(e["n"]), fidelity=float(e["fidelity"]), before=float(e["before"]),
                    target_prob_before=float(e["target_prob_before"]), target_prob_after=float(e["target_prob_after"]),
                    leakage={str(k): float(v) for k, v in dict(e["leakage"]).items()}))
            return cls(attribute=str(d["attribute"]), values=tuple(int(v) for v in d["values"]),
                       fidelity=float(d["fidelity"]), before=float(d["before"]),
                       delta_target_prob=float(d["delta_target_prob"]), mean_leakage=float(d["mean_leakage"]),
                       classifier_accuracy=opt(d["classifier_accuracy"]), majority_baseline=opt(d["majority_baseline"]),
                       per_value=tuple(per))
        except KeyError as e:
            raise ValueError(f"an attribute fidelity entry lacks {e.args[0]!r}") from None
        except TypeError as e:
            raise ValueError(f"an attribute fidelity entry is malformed: {e}") from None


@dataclass(frozen=True)
class FidelityReport:
    """Per-attribute slider fidelity at one ``strength`` (the scorecard's "edit fidelity" row)."""

    strength: float
    attributes: tuple[AttributeFidelity, ...]

    @property
    def mean_fidelity(self) -> float | None:
        return float(np.mean([a.fidelity for a in self.attributes])) if self.attributes else None

    @property
    def mean_leakage(self) -> float | None:
        return float(np.mean([a.mean_leakage for a in self.attributes])) if self.attributes else None

    def to_dict(self, per_value: bool = False) -> dict[str, Any]:
        return {"strength": self.strength, "mean_fidelity": self.mean_fidelity, "mean_leakage": self.mean_leakage,
                "attributes": [a.to_dict(per_value) for a in self.attributes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FidelityReport":
        """Inverse of :meth:`to_dict` (a cached report, see ``vae_core.analysis``). ValueError if malformed."""
        try:
            return cls(strength=float(d["strength"]),
                       attributes=tuple(AttributeFidelity.from_dict(a) for a in d["attributes"]))
        except KeyError as e:
            raise ValueError(f"the fidelity report lacks {e.args[0]!r}") from None
        except TypeError as e:
            raise ValueError(f"the fidelity report is malformed: {e}") from None

    def of(self, attribute: str) -> "AttributeFidelity | None":
        """The entry of ``attribute``, or None when it was not scored (no directions or no classifier head)."""
        return next((a for a in self.attributes if a.attribute == attribute), None)

    def table(self) -> str:
        lines = [f"{'attribute':<22}{'fidelity':>9}{'before':>8}{'Δp':>8}{'leak':>7}{'clf acc':>9}{'base':>7}"]
        for a in self.attributes:
            acc = "-" if a.classifier_accuracy is None else f"{a.classifier_accuracy:.2f}"
            base = "-" if a.majority_baseline is None else f"{a.majority_baseline:.2f}"
            lines.append(f"{a.attribute:<22}{a.fidelity:>9.3f}{a.before:>8.3f}{a.delta_target_prob:>+8.3f}"
                         f"{a.mean_leakage:>7.3f}{acc:>9}{base:>7}")
        return "\n".join(lines)


def fidelity_report(decode: DecodeFn, classifier: AttributeClassifier, mu: np.ndarray, labels: np.ndarray,
                    schema: AttributeSchema, directions: Mapping[str, latent_ops.AttributeDirections], *,
                    strength: float = 1.0, attributes: Sequence[str] | None = None, faces_per_value: int = 32,
                    values_per_attribute: int = 6, seed: int = 0) -> FidelityReport:
    """Mean slider fidelity per attribute over held-out latents ``mu`` [N, Z] labelled ``labels`` [N, A].

    For each attribute (default: those with directions that the classifier predicts) up to
    ``values_per_attribute`` of its direction values are tried (a seeded choice when there are more, e.g.
    111 hair styles); each is applied with ``strength`` to up to ``faces_per_value`` faces whose *label*
    is another known value, so every edit has something to change. Faces are decoded once unedited.
    """
    m = np.asarray(mu, np.float32)
    lab = np.asarray(labels)
    if m.ndim != 2 or lab.ndim != 2 or len(m) != len(lab) or lab.shape[1] != len(schema):
        raise ValueError(f"need mu [N, Z] and labels [N, {len(schema)}], got {list(m.shape)} and {list(lab.shape)}")
    if faces_per_value < 1 or values_per_attribute < 1:
        raise ValueError("faces_per_value and values_per_attribute must be >= 1")
    names = [a for a in (attributes if attributes is not None else schema.names)
             if a in directions and a in classifier.attributes]
    if attributes is not None:
        missing = [a for a in attributes if a not in names]
        if missing:
            raise DatasetError(f"cannot score {missing}: each needs attribute directions and a classifier head")
    rng = np.random.default_rng(seed)
    plans: list[tuple[str, int, np.ndarray]] = []
    for name in names:
        col = lab[:, schema.index(name)]
        values = directions[name].values
        if len(values) > values_per_attribute:
            values = np.sort(rng.choice(values, values_per_attribute, replace=False))
        for v in values:
            pool = np.flatnonzero((col != UNKNOWN) & (col != v))
            if len(pool):
                plans.append((name, int(v), np.sort(rng.choice(pool, min(faces_per_value, len(pool)), replace=False))))
    used = np.unique(np.concatenate([p[2] for p in plans])) if plans else np.zeros(0, np.int64)
    base_probs = classifier.predict_proba(_decode_checked(decode, m[used], classifier)) if len(used) else {}
    row_of = {int(i): r for r, i in enumerate(used)}
    results: dict[str, list[EditFidelity]] = {n: [] for n in names}
    for name, v, idx in plans:
        rows = np.array([row_of[int(i)] for i in idx])
        before = {k: p[rows] for k, p in base_probs.items()}
        edited = latent_ops.apply_attribute(m[idx], directions, name, v, strength)
        after = classifier.predict_proba(_decode_checked(decode, edited, classifier))
        results[name].append(_compare(classifier, before, after, name, v, strength))
    out = []
    for name in names:
        per = results[name]
        if not per:
            continue
        acc = next((a for a in classifier.report.per_attribute if a.attribute == name), None)
        out.append(AttributeFidelity(
            attribute=name, values=tuple(e.target_value for e in per),
            fidelity=float(np.mean([e.fidelity for e in per])), before=float(np.mean([e.before for e in per])),
            delta_target_prob=float(np.mean([e.delta_target_prob for e in per])),
            mean_leakage=float(np.mean([e.mean_leakage for e in per])),
            classifier_accuracy=acc.accuracy if acc else None, majority_baseline=acc.majority_baseline if acc else None,
            per_value=tuple(per)))
    return FidelityReport(strength=float(strength), attributes=tuple(out))


def explorer_fidelity_report(explorer: "Explorer", classifier: AttributeClassifier, dataset: FaceDataset | None = None,
                             max_faces: int = 2000, **kwargs: Any) -> FidelityReport:
    """:func:`fidelity_report` for an :class:`~vae_core.explorer.Explorer`: its attribute directions and
    decoder, applied to the μ of up to ``max_faces`` faces of the held-out split of its dataset (loaded
    from the checkpoint's data spec unless given). The directions come from the explorer's embedding
    sample, which may include some held-out faces; with thousands of faces per mean this is negligible."""
    if dataset is None:
        from .data import load_dataset

        dataset = load_dataset(explorer.meta.data, progress=False)
    if dataset.labels is None or dataset.schema is None:
        raise DatasetError(f"{dataset.spec.describe()} has no labels; edit fidelity needs labelled faces")
    _, val = dataset.split()
    if not len(val):
        log.warning("%s has no held-out split; scoring edits on training faces", dataset.spec.describe())
        val = np.arange(len(dataset))
    if len(val) > max_faces:
        val = np.sort(np.random.default_rng(kwargs.get("seed", 0)).choice(val, max_faces, replace=False))
    mu, _ = latent_ops.encode_images(explorer.model, np.ascontiguousarray(dataset.images[val]))
    return fidelity_report(explorer.decode, classifier, mu, dataset.labels[val], dataset.schema,
                           explorer.attribute_directions(), **kwargs)


__all__ = [
    "ANALYSIS_DIR", "AttributeAccuracy", "AttributeClassifier", "AttributeClassifierNet", "AttributeFidelity",
    "ClassifierConfig", "ClassifierReport", "ClassifierTrainConfig", "EditFidelity", "FidelityReport",
    "analysis_dir", "classifier_json_path", "data_key", "edit_fidelity", "explorer_fidelity_report",
    "fidelity_report", "load_classifier", "load_classifier_file", "load_or_train_classifier", "measure_edit",
    "save_classifier", "train_attribute_classifier",
]
