"""Latent traversals: decode faces along a direction and export them as a grid PNG or a looping GIF.

Why a module of its own: a traversal is the standard way to *show* what a latent direction does — a
raw latent dim, a PCA axis, an attribute slider — in a paper figure, an issue or a README. The same
frames serve both exports, so a grid and an animation of one traversal always agree.

Conventions: a direction is a vector [Z] plus a human label; the latent at offset ``t`` is
``base + t · vector`` (an offset from the base face, never an absolute coordinate, so every face
keeps its identity). The units of ``t`` are whatever the vector is scaled in: :func:`dim_direction`
is a unit basis vector (t in prior standard deviations), :func:`pca_direction` is scaled by the
data's standard deviation along the axis (t in σ of the data), :func:`attribute_direction` is the
mean-difference direction (t is the slider's strength). Files are written atomically (temp file,
fsync, rename), so a reader never sees half an image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from .. import latent as latent_ops
from ..atomic import atomic_write
from ..errors import DatasetError
from ..grid import make_grid

#: A decode function: latents float32 [B, Z] → uint8 images [B, R, R, 3] (e.g. ``Explorer.decode``).
DecodeFn = Callable[[np.ndarray], np.ndarray]

MAX_STEPS = 64
MAX_FRAMES = 4096


@dataclass(frozen=True, eq=False)
class Direction:
    """A latent direction ``vector`` [Z] (float32, finite, non-zero) and the ``label`` shown for it."""

    vector: np.ndarray
    label: str

    def __post_init__(self) -> None:
        v = np.asarray(self.vector, np.float32).reshape(-1)
        if v.size == 0 or not np.isfinite(v).all() or not np.any(v):
            raise ValueError(f"direction {self.label!r} must be a finite, non-zero vector [Z]")
        object.__setattr__(self, "vector", v)


def dim_direction(dim: int, latent_dim: int) -> Direction:
    """Unit vector along raw latent dim ``dim``: offsets are in prior standard deviations."""
    if not 0 <= dim < latent_dim:
        raise ValueError(f"dim must be in 0..{latent_dim - 1}, got {dim}")
    v = np.zeros(latent_dim, np.float32)
    v[dim] = 1.0
    return Direction(v, f"z{dim}")


def pca_direction(pca: latent_ops.PCADirections, component: int) -> Direction:
    """Principal axis ``component`` (0-based) scaled by the data's std along it: offsets are in σ."""
    if not 0 <= component < len(pca.stds):
        raise ValueError(f"component must be in 0..{len(pca.stds) - 1}, got {component}")
    return Direction(pca.stds[component] * pca.components[component], f"PC{component + 1}")


def attribute_direction(directions: Mapping[str, latent_ops.AttributeDirections], attribute: str,
                        value: int) -> Direction:
    """The attribute slider's direction toward ``attribute = value``: offsets are slider strengths."""
    if attribute not in directions:
        raise DatasetError(
            f"no directions for attribute {attribute!r}; available: {', '.join(directions) or 'none'}")
    d = directions[attribute]
    return Direction(d.directions[d.index_of(value)], f"{attribute}={int(value)}")


@dataclass(frozen=True, eq=False)
class Traversal:
    """``frames`` uint8 [rows, steps, R, R, 3] decoded from ``latents`` float32 [rows, steps, Z] at
    ``offsets`` [steps]; one ``labels`` entry per row."""

    frames: np.ndarray
    latents: np.ndarray
    offsets: np.ndarray
    labels: tuple[str, ...]

    @property
    def rows(self) -> int:
        return int(self.frames.shape[0])

    @property
    def steps(self) -> int:
        return int(self.frames.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.frames.shape[2])

    def grid(self, scale: int = 1) -> np.ndarray:
        """One image uint8 [rows·R·scale, steps·R·scale, 3]: a row per traversal, a column per offset."""
        flat = self.frames.reshape(-1, *self.frames.shape[2:])
        return _upscale(make_grid(flat, cols=self.steps), scale)

    def animation_frames(self, cols: int | None = None, scale: int = 1, pingpong: bool = True) -> list[np.ndarray]:
        """Frames of the animation: frame j tiles every row's step j (``cols`` per line, default all rows up
        to 8). Ping-pong (0 … S−1 … 1) loops without a jump back: 2·S − 2 frames for S ≥ 2."""
        cols = min(self.rows, 8) if cols is None else int(cols)
        if cols < 1:
            raise ValueError(f"cols must be >= 1, got {cols}")
        order = list(range(self.steps))
        if pingpong:
            order += list(range(self.steps - 2, 0, -1))
        return [_upscale(make_grid(self.frames[:, j], cols=cols), scale) for j in order]


def _upscale(image: np.ndarray, scale: int) -> np.ndarray:
    if not 1 <= int(scale) <= 16:
        raise ValueError(f"scale must be in 1..16, got {scale}")
    s = int(scale)
    return image if s == 1 else np.repeat(np.repeat(image, s, axis=0), s, axis=1)


def offsets(low: float, high: float, steps: int) -> np.ndarray:
    """``steps`` evenly spaced offsets from ``low`` to ``high`` (both included): float32 [steps]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"low and high must be finite, got {low}, {high}")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in 1..{MAX_STEPS}, got {steps}")
    return np.linspace(low, high, steps, dtype=np.float64).astype(np.float32)


def traverse(decode: DecodeFn, base: np.ndarray, directions: Direction | Sequence[Direction],
             low: float = -3.0, high: float = 3.0, steps: int = 7,
             base_labels: Sequence[str] | None = None) -> Traversal:
    """Decode ``base + t · direction`` for ``steps`` offsets t in [low, high].

    ``base``: one latent [Z] or several [B, Z]; ``directions``: one or K. Rows are the bases (one
    direction), the directions (one base), or pairs (B == K). Row labels are the direction labels,
    prefixed with ``base_labels`` when given. All rows·steps latents are decoded in one call.
    """
    dirs = [directions] if isinstance(directions, Direction) else list(directions)
    b = np.atleast_2d(np.asarray(base, np.float32))
    if b.ndim != 2 or len(b) == 0 or not np.isfinite(b).all():
        raise ValueError(f"base must be finite latents [Z] or [B, Z], got shape {list(np.shape(base))}")
    if not dirs:
        raise ValueError("traverse needs at least one direction")
    z_dim = b.shape[1]
    for d in dirs:
        if d.vector.shape != (z_dim,):
            raise ValueError(f"direction {d.label!r} has {d.vector.size} dims, the base {z_dim}")
    n_b, n_d = len(b), len(dirs)
    if not (n_b == 1 or n_d == 1 or n_b == n_d):
        raise ValueError(f"{n_b} bases and {n_d} directions: give one base, one direction, or as many of each")
    rows = max(n_b, n_d)
    if base_labels is not None and len(base_labels) != n_b:
        raise ValueError(f"{len(base_labels)} base labels for {n_b} bases")
    t = offsets(low, high, steps)
    if rows * steps > MAX_FRAMES:
        raise ValueError(f"{rows} rows × {steps} steps is more than {MAX_FRAMES} faces")
    bases = np.broadcast_to(b, (rows, z_dim)) if n_b == 1 else b
    vecs = np.stack([d.vector for d in dirs])
    vecs = np.broadcast_to(vecs, (rows, z_dim)) if n_d == 1 else vecs
    latents = (bases[:, None, :] + t[None, :, None] * vecs[:, None, :]).astype(np.float32)
    images = np.asarray(decode(latents.reshape(rows * steps, z_dim)))
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != rows * steps or images.shape[3] != 3:
        raise ValueError(f"decode must return uint8 [{rows * steps}, R, R, 3], got {images.dtype} {list(images.shape)}")
    labels = []
    for i in range(rows):
        label = dirs[0 if n_d == 1 else i].label
        if base_labels is not None:
            label = f"{base_labels[0 if n_b == 1 else i]}: {label}"
        labels.append(label)
    return Traversal(frames=images.reshape(rows, steps, *images.shape[1:]), latents=latents, offsets=t,
                     labels=tuple(labels))


def save_grid_png(traversal: Traversal, path: str | Path, scale: int = 1) -> Path:
    """The traversal as one PNG (rows = traversals, columns = offsets), written atomically."""
    image = Image.fromarray(traversal.grid(scale))
    return atomic_write(path, lambda f: image.save(f, format="PNG", optimize=True))


def save_gif(traversal: Traversal, path: str | Path, duration_ms: int = 120, cols: int | None = None,
             scale: int = 1, pingpong: bool = True) -> Path:
    """The traversal as a looping animated GIF (see :meth:`Traversal.animation_frames`), written atomically.

    Each frame gets its own adaptive 256-colour palette (cartoon faces have few colours, so this is
    near-lossless). Pillow merges consecutive identical frames, so a direction the decoder ignores gives
    fewer (or one) frames — itself a finding.
    """
    if not 10 <= int(duration_ms) <= 10_000:
        raise ValueError(f"duration_ms must be in 10..10000, got {duration_ms}")
    frames = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
              for f in traversal.animation_frames(cols=cols, scale=scale, pingpong=pingpong)]

    def write(f: BinaryIO) -> None:
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:], duration=int(duration_ms),
                       loop=0, disposal=1, optimize=False)

    return atomic_write(path, write)


__all__ = [
    "Direction", "Traversal", "attribute_direction", "dim_direction", "offsets", "pca_direction",
    "save_gif", "save_grid_png", "traverse",
]
