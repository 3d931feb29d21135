"""The Cartoon Set attribute schema and the attribute table every dataset exposes.

Google's Cartoon Set labels each face with 18 categorical attributes; the real set's per-image CSVs,
the synthetic generator and the UI all share this one ordered schema, so latent tools (attribute
directions, colouring the map, disentanglement scores) work the same on real and synthetic faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError

#: (name, number of values) of the 18 Cartoon Set attributes, in the order of the official CSVs.
CARTOONSET_ATTRIBUTES: tuple[tuple[str, int], ...] = (
    ("eye_angle", 3),
    ("eye_lashes", 2),
    ("eye_lid", 2),
    ("chin_length", 3),
    ("eyebrow_weight", 2),
    ("eyebrow_shape", 14),
    ("eyebrow_thickness", 4),
    ("face_shape", 7),
    ("facial_hair", 15),
    ("hair", 111),
    ("eye_color", 5),
    ("face_color", 11),
    ("hair_color", 10),
    ("glasses", 12),
    ("glasses_color", 7),
    ("eye_slant", 3),
    ("eyebrow_width", 3),
    ("eye_eyebrow_distance", 3),
)

#: Missing/unknown label value in every label array.
UNKNOWN = -1


@dataclass(frozen=True)
class AttributeSchema:
    """Ordered attribute names with their number of values (values are 0..cardinality-1)."""

    names: tuple[str, ...]
    cardinalities: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.cardinalities):
            raise ValueError("names and cardinalities must have the same length")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"duplicate attribute names in {self.names}")
        if any(c < 1 for c in self.cardinalities):
            raise ValueError(f"cardinalities must be >= 1, got {self.cardinalities}")

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DatasetError(
                f"unknown attribute {name!r}; known attributes: {', '.join(self.names)}"
            ) from None

    def cardinality(self, name: str) -> int:
        return self.cardinalities[self.index(name)]

    def to_dict(self) -> dict:
        return {"names": list(self.names), "cardinalities": list(self.cardinalities)}

    @classmethod
    def from_dict(cls, d: dict) -> "AttributeSchema":
        return cls(tuple(d["names"]), tuple(int(c) for c in d["cardinalities"]))

    def validate_labels(self, labels: np.ndarray) -> None:
        """Raise DatasetError unless labels is int [N, len(self)] with values in range or UNKNOWN."""
        if labels.ndim != 2 or labels.shape[1] != len(self):
            raise DatasetError(f"labels must have shape [N, {len(self)}], got {list(labels.shape)}")
        for j, (name, card) in enumerate(zip(self.names, self.cardinalities)):
            col = labels[:, j]
            bad = (col != UNKNOWN) & ((col < 0) | (col >= card))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DatasetError(
                    f"attribute {name!r} of image {i} has value {int(col[i])}, "
                    f"outside 0..{card - 1}"
                )


CARTOONSET_SCHEMA = AttributeSchema(
    names=tuple(n for n, _ in CARTOONSET_ATTRIBUTES),
    cardinalities=tuple(c for _, c in CARTOONSET_ATTRIBUTES),
)
