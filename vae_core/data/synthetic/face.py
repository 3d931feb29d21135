"""The head of one synthetic face: its outline and where every feature sits, from attributes and jitter.

The outline is a pair of superellipses (upper and lower half) with a tapering jaw, so seven face
shapes and three chin lengths come from six numbers each; the eyes, nose and mouth are placed
relative to it, so every face part follows the head it is drawn on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .attributes import COLUMN
from .canvas import Points
from .palette import HAIR, SKIN, Color

# face_shape -> (half width, top height, bottom height, top superellipse exponent, bottom exponent, jaw taper)
FACE_SHAPES: tuple[tuple[float, float, float, float, float, float], ...] = (
    (0.255, 0.275, 0.255, 2.0, 2.0, 1.00),  # round
    (0.235, 0.285, 0.290, 2.0, 2.0, 0.95),  # oval
    (0.258, 0.270, 0.255, 3.4, 3.6, 1.00),  # square
    (0.222, 0.300, 0.315, 2.8, 3.0, 0.95),  # long
    (0.262, 0.280, 0.285, 2.6, 1.9, 0.66),  # heart
    (0.245, 0.280, 0.285, 1.7, 1.6, 0.80),  # diamond
    (0.238, 0.265, 0.265, 1.9, 3.2, 1.12),  # pear / wide jaw
)


@dataclass(frozen=True)
class Face:
    """Positions of every feature of one face, derived from its attributes plus jitter."""

    cx: float
    cy: float
    fw: float
    top: float
    bot: float
    n_top: float
    n_bot: float
    jaw: float
    skin: Color
    hair: Color

    @property
    def face_top(self) -> float:
        return self.cy - self.top

    @property
    def eye_y(self) -> float:
        return self.cy - 0.012

    @property
    def eye_dx(self) -> float:
        return 0.1 + 0.12 * (self.fw - 0.245)

    @property
    def nose_y(self) -> float:
        return self.cy + 0.075

    @property
    def mouth_y(self) -> float:
        return self.cy + 0.155 + 0.3 * (self.bot - 0.27)

    def contour(self, t: np.ndarray, grow_x: float = 0.0, grow_y: float = 0.0, grow_bot: float | None = None) -> Points:
        """Points of the (optionally grown) face outline at angles t: 0 right, pi/2 chin, pi left, 3pi/2 top."""
        c, s = np.cos(t), np.sin(t)
        lower = s > 0
        n = np.where(lower, self.n_bot, self.n_top)
        ux = np.sign(c) * np.abs(c) ** (2 / n)
        uy = np.sign(s) * np.abs(s) ** (2 / n)
        taper = np.where(lower, 1 - (1 - self.jaw) * np.abs(uy), 1.0)
        gb = grow_y if grow_bot is None else grow_bot
        x = self.cx + (self.fw + grow_x) * ux * taper
        y = self.cy + np.where(lower, self.bot + gb, self.top + grow_y) * uy
        return np.stack([x, y], 1)

    def top_edge(self, x: np.ndarray) -> np.ndarray:
        """y of the upper face outline above x (cy beside the face)."""
        xr = np.clip(np.abs(x - self.cx) / self.fw, 0, 1)
        return self.cy - self.top * (1 - xr**self.n_top) ** (1 / self.n_top)

    def halfwidth(self, y: float) -> float:
        """Half width of the face at height y."""
        if y <= self.cy:
            yr = min(1.0, (self.cy - y) / self.top)
            return self.fw * (1 - yr**self.n_top) ** (1 / self.n_top)
        yr = min(1.0, (y - self.cy) / self.bot)
        return self.fw * (1 - yr**self.n_bot) ** (1 / self.n_bot) * (1 - (1 - self.jaw) * yr)


def make_face(attrs: np.ndarray, rng: np.random.Generator) -> Face:
    fw, top, bot, nt, nb, jaw = FACE_SHAPES[int(attrs[COLUMN["face_shape"]])]
    scale = 1 + rng.normal(0, 0.015)
    bot += 0.035 * int(attrs[COLUMN["chin_length"]])

    def tint(c: Color, amount: float) -> Color:
        f = 1 + rng.normal(0, amount)
        return tuple(int(np.clip(v * f, 0, 255)) for v in c)  # type: ignore[return-value]

    return Face(
        cx=0.5 + rng.normal(0, 0.007),
        cy=0.545 - 0.5 * (bot - 0.27) + rng.normal(0, 0.006),
        fw=fw * scale, top=top * scale, bot=bot * scale, n_top=nt, n_bot=nb, jaw=jaw,
        skin=tint(SKIN[int(attrs[COLUMN["face_color"]])], 0.02),
        hair=tint(HAIR[int(attrs[COLUMN["hair_color"]])], 0.03),
    )
