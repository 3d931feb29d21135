"""Drawing in unit coordinates: a supersampled PIL canvas and the shape primitives the face parts share.

Geometry is written in unit coordinates (the image is [0, 1]^2, y down) so one description serves 32,
64 and 128 pixels. Anti-aliasing: shapes are drawn with PIL at :data:`SUPERSAMPLE` times the target
size and box-downsampled, which is both smooth and fast (about 1-2 ms per 64x64 face on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

from .palette import Color

#: Supersampling factor: shapes are drawn at SUPERSAMPLE x resolution, then box-filtered down.
SUPERSAMPLE = 4

#: The face geometry is designed in a [0, 1] square and drawn magnified by this much about the centre,
#: so the head fills the frame like the real set's 0.7 centre crop (a little long hair is cut off).
ZOOM = 1.24

Points = np.ndarray  # float [K, 2] in unit coordinates


def ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 40,
            t0: float = 0.0, t1: float = 2 * np.pi) -> Points:
    t = np.linspace(t0, t1, n, endpoint=(t1 - t0) < 2 * np.pi - 1e-9)
    x, y = rx * np.cos(t), ry * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack([cx + x * ca - y * sa, cy + x * sa + y * ca], 1)


def stroke_polygon(center: Points, thickness: np.ndarray | float) -> Points:
    """Polygon of a variable-width stroke along a centre line (for brows, moustaches, tails)."""
    d = np.gradient(center, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    half = np.broadcast_to(np.asarray(thickness, float), (len(center),))[:, None] / 2
    return np.vstack([center + normal * half, (center - normal * half)[::-1]])


def mirror(pts: Points, cx: float) -> Points:
    out = pts.copy()
    out[:, 0] = 2 * cx - out[:, 0]
    return out


@dataclass
class Canvas:
    """An ImageDraw that takes unit coordinates; ``origin`` lets it draw on a cropped patch."""

    draw: ImageDraw.ImageDraw
    scale: float
    stroke: float  # default outline width, unit coordinates
    origin: tuple[float, float] = (0.0, 0.0)

    def px(self, pts: Points) -> np.ndarray:
        """Unit coordinates -> pixels of the full (supersampled) image, zoomed about the centre."""
        return ((np.asarray(pts, float) - 0.5) * ZOOM + 0.5) * self.scale

    def flat_xy(self, pts: Points) -> list[float]:
        """``px`` relative to ``origin``, flattened to the [x0, y0, x1, y1, ...] list PIL takes."""
        return (self.px(pts) - np.asarray(self.origin)).ravel().tolist()

    def poly(self, pts: Points, fill: Color | None, outline: Color | None = None, width: float | None = None) -> None:
        xy = self.flat_xy(pts)
        if fill is not None:
            self.draw.polygon(xy, fill=fill)
        if outline is not None:
            self.line(np.vstack([pts, pts[:1]]), outline, width)

    def line(self, pts: Points, color: Color, width: float | None = None) -> None:
        w = max(1, int(round((self.stroke if width is None else width) * ZOOM * self.scale)))
        self.draw.line(self.flat_xy(pts), fill=color, width=w, joint="curve")

    def disc(self, cx: float, cy: float, r: float, fill: Color, outline: Color | None = None) -> None:
        (x, y), rr = self.px(np.array([[cx, cy]]))[0] - np.asarray(self.origin), r * ZOOM * self.scale
        self.draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=fill)
        if outline is not None:
            self.line(ellipse(cx, cy, r, r, n=36)[list(range(36)) + [0]], outline)
