"""The in-memory face dataset every source (synthetic, real Cartoon Set, image folder) turns into.

Training, embedding and the UI read only this: a uint8 image array (usually a read-only memory map of
the preprocessed cache, so 100k faces cost page cache, not RSS), labels in a shared schema, and the
``DataSpec`` that says where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import DataSpec
from .schema import AttributeSchema


@dataclass
class FaceDataset:
    """``images``: uint8 [N, R, R, 3]; ``labels``: int64 [N, A] (-1 = unknown) or None; ``ids``: N names."""

    images: np.ndarray
    labels: np.ndarray | None
    schema: AttributeSchema | None
    spec: DataSpec
    ids: list[str]

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[3] != 3:
            raise ValueError(f"images must be uint8 [N, R, R, 3], got {self.images.dtype} {self.images.shape}")
        if len(self.ids) != n:
            raise ValueError(f"{len(self.ids)} ids for {n} images")
        if (self.labels is None) != (self.schema is None):
            raise ValueError("labels and schema go together")
        if self.labels is not None:
            if len(self.labels) != n:
                raise ValueError(f"{len(self.labels)} label rows for {n} images")
            self.schema.validate_labels(self.labels)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    @property
    def is_synthetic(self) -> bool:
        return self.spec.is_synthetic

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic (train_idx, val_idx): a fixed permutation seeded by the dataset size.

        The same dataset always yields the same held-out faces, whatever the training seed, so metrics
        of different runs are comparable.
        """
        n = len(self)
        perm = np.random.default_rng(12345 + n).permutation(n)
        n_val = int(round(n * self.spec.val_fraction))
        if self.spec.val_fraction > 0 and n >= 2:
            n_val = max(1, min(n_val, n - 1))
        else:
            n_val = 0
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    def tensor(self, idx: np.ndarray | slice | list[int]) -> torch.Tensor:
        """Images idx as float [B, 3, R, R] in [0, 1]."""
        arr = np.ascontiguousarray(self.images[idx])
        return to_tensor(arr)


def to_tensor(images_u8: np.ndarray) -> torch.Tensor:
    """uint8 [B, R, R, 3] → float32 [B, 3, R, R] in [0, 1]."""
    return torch.from_numpy(images_u8).permute(0, 3, 1, 2).float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float [B, 3, R, R] in [0, 1] → uint8 [B, R, R, 3]."""
    return (images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
