"""The synthetic faces' colours, one table per colour attribute (index = attribute value).

Kept apart from the drawing code so the names a person reads (:mod:`vae_core.data.cards` names these
entries: "black", "auburn", ...) and the colours they stand for are found in one place.
"""

from __future__ import annotations

Color = tuple[int, int, int]

SKIN: tuple[Color, ...] = (
    (255, 231, 214), (251, 216, 190), (243, 198, 165), (234, 184, 143), (222, 169, 122), (205, 150, 105),
    (188, 130, 88), (163, 109, 71), (138, 89, 57), (111, 71, 45), (86, 55, 37),
)
HAIR: tuple[Color, ...] = (
    (34, 30, 30), (78, 50, 34), (122, 80, 46), (168, 120, 74), (160, 46, 28), (216, 112, 50),
    (228, 190, 100), (246, 230, 184), (150, 150, 156), (228, 228, 234),
)
IRIS: tuple[Color, ...] = ((128, 76, 34), (60, 130, 212), (62, 150, 72), (136, 146, 158), (26, 22, 22))
FRAME: tuple[Color, ...] = (
    (32, 32, 34), (124, 78, 42), (204, 46, 46), (46, 92, 196), (206, 166, 58), (172, 174, 184), (48, 142, 82),
)
WHITE: Color = (255, 255, 255)
SCLERA: Color = (252, 252, 252)
MOUTH: Color = (120, 30, 40)
TONGUE: Color = (222, 110, 118)
INK: Color = (34, 26, 26)
TEETH: Color = (255, 255, 255)


def mix(a: Color, b: Color, t: float) -> Color:
    """a blended towards b by t (0 = a, 1 = b)."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def darken(c: Color, f: float = 0.45) -> Color:
    """The outline colour of a fill: the same hue, much darker (Cartoon Set strokes are tinted)."""
    return tuple(int(x * f) for x in c)  # type: ignore[return-value]
