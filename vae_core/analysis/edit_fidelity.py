"""Edit fidelity: does an attribute slider's edit make the attribute classifier see the asked-for value?

Why a judge and not the latent: an attribute slider moves a latent along a mean-difference direction
(:func:`vae_core.latent.apply_attribute`), and whether the decoded face *really* took the asked-for value —
and what else changed with it — cannot be read off the latent. So the faces are decoded before and after
the edit and the independent attribute classifier (:mod:`vae_core.analysis.classifier`, trained on the
dataset's own images) looks at both.

The measures (all predictions, never labels, so the classifier's own errors on a face cancel out between
"before" and "after"):

- ``fidelity``: fraction of edited faces whose predicted value is the target after the edit;
- ``leakage[a]``: fraction of edited faces whose predicted value of another attribute ``a`` changed;
- ``target_prob_after − target_prob_before``: mean change of the target's predicted probability.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import latent as latent_ops
from ..data.dataset import FaceDataset
from ..data.schema import UNKNOWN, AttributeSchema
from ..errors import ConfigError, DatasetError
from .classifier.network import AttributeClassifier

if TYPE_CHECKING:
    from ..explorer import Explorer

log = logging.getLogger(__name__)

#: A decode function: latents float32 [B, Z] → uint8 images [B, R, R, 3] (e.g. ``Explorer.decode``).
DecodeFn = Callable[[np.ndarray], np.ndarray]


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
    j = classifier.index_of(attribute)
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
        """Inverse of :meth:`to_dict` (a cached report, see :mod:`vae_core.analysis.report`); ValueError if
        malformed."""
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
                             max_faces: int = 2000, directions: str = latent_ops.DEFAULT_DIRECTIONS,
                             **kwargs: Any) -> FidelityReport:
    """:func:`fidelity_report` for an :class:`~vae_core.explorer.Explorer`: its attribute directions of kind
    ``directions`` (default: the sliders') and decoder, applied to the μ of up to ``max_faces`` faces of the
    held-out split of its dataset (loaded from the checkpoint's data spec unless given). The directions come
    from the explorer's embedding sample, which may include some held-out faces; with thousands of faces per
    mean this is negligible."""
    directions = latent_ops.check_direction_kind(directions)
    if dataset is None:
        from ..data import load_dataset

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
                           explorer.attribute_directions(directions), **kwargs)


__all__ = [
    "AttributeFidelity", "DecodeFn", "EditFidelity", "FidelityReport", "edit_fidelity", "explorer_fidelity_report",
    "fidelity_report", "measure_edit",
]
