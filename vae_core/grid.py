"""Tiling faces into one image: the training progress grids, ``python -m vae_core sample`` and traversals.

Why a module of its own: drawing a grid is inference-side work, so the CLI's sampler and the traversal
export must not import the training loop to get it. The tiling is ``torchvision.utils.make_grid``
(torchvision is imported on the first call, not at import time: it adds seconds to the app's cold start).
"""

from __future__ import annotations

import numpy as np
import torch

WHITE = 255


def make_grid(images_u8: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [N, R, R, 3] → one uint8 [rows·R, cols·R, 3] image, rows = ⌈N / cols⌉ (at least 1), faces in
    reading order without gaps and the cells after the last face white."""
    from torchvision.utils import make_grid as tile

    images = np.require(images_u8, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"])
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"expected uint8 images [N, R, R, 3], got {list(images.shape)}")
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    n, h, w = images.shape[:3]
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    if n < cols:  # torchvision narrows a grid to fewer than `cols` faces; keep every column, white
        batch = torch.cat([batch, batch.new_full((cols - n, 3, h, w), WHITE)])
    grid = tile(batch, nrow=cols, padding=0, pad_value=WHITE)
    return grid.permute(1, 2, 0).contiguous().numpy()


__all__ = ["make_grid"]
