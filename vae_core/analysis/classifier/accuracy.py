"""How well the attribute classifier learned each attribute: held-out accuracy next to the majority baseline.

Why the baseline: an attribute where one value dominates (most faces wear no glasses) gives a high accuracy
to a classifier that learned nothing; only accuracy above always guessing the most frequent training value
makes the classifier's edit-fidelity verdicts on that attribute mean something.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...data.schema import UNKNOWN, AttributeSchema
from ...errors import CheckpointError, DatasetError


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


def held_out_accuracies(schema: AttributeSchema, pred: np.ndarray, truth: np.ndarray,
                        train_labels: np.ndarray) -> tuple[AttributeAccuracy, ...]:
    """Per attribute of ``schema``: accuracy of predictions ``pred`` [N, A] against labels ``truth`` [N, A]
    over the known labels, and of always guessing the most frequent value of ``train_labels`` [M, A]."""
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



__all__ = ["AttributeAccuracy", "ClassifierReport", "held_out_accuracies"]
