"""Hair: the 111 hair values as 11 parametric families times variations, and the code that draws them.

The families are bald, short, side part, spiky, bob, long, curly, buns, ponytail, mohawk and wavy;
within a family a mixed-radix variation index picks length, volume, fringe, parting, ... so each hair
value is one distinct, fixed style. A style is drawn in two layers: what is behind the head
(:func:`draw_back_hair`, before the face) and the cap over the forehead (:func:`draw_cap`, last).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..schema import CARTOONSET_SCHEMA
from .canvas import Canvas, Points, ellipse, mirror, stroke_polygon
from .face import Face
from .palette import WHITE, darken, mix


@dataclass(frozen=True)
class HairStyle:
    """A hair style as parameters of the shared drawing code (see ``draw_back_hair``, ``draw_cap``)."""

    cap: bool = True  # the hair on top of the head and the fringe, drawn over the forehead
    vol_side: float = 0.025
    vol_top: float = 0.04
    fringe: str = "high"  # high | bangs | swept | part | zigzag | curly
    depth: float = 0.08  # how far the fringe reaches below the top of the face
    part_at: float = 0.0  # parting position in [-1, 1] across the forehead (part / swept)
    part_line: float | None = None  # draw a parting line at this position
    sideburn: float = 0.03  # how far the hair reaches down the temples, below cy
    spikes: int = 0
    spike_h: float = 0.0
    spike_lean: float = 0.0
    curls: int = 0  # bumps along the outline
    curl_amp: float = 0.0
    back: str | None = None  # straight | bob | flip | wavy | afro | curly
    length: float = 0.0  # y where long hair ends
    back_width: float = 0.0
    buns: tuple[tuple[float, float, float], ...] = ()  # (dx, dy relative to face top, radius)
    tails: tuple[tuple[int, float], ...] = ()  # (side -1/+1, length)
    shade: float = 0.0  # blend of the cap colour towards skin (buzz cut, shaved sides)
    mohawk: tuple[float, float] | None = None  # (height, width)
    receding: bool = False


def _digits(v: int, radices: Sequence[int]) -> list[int]:
    """Mixed-radix digits of v, least significant first (e.g. radices (3, 2, 2) covers 0..11)."""
    out = []
    for r in radices:
        out.append(v % r)
        v //= r
    return out


def _bald(v: int) -> HairStyle:
    if v == 0:
        return HairStyle(cap=False)
    if v == 1:
        return HairStyle(vol_side=0.006, vol_top=0.008, fringe="high", depth=0.06, shade=0.55, sideburn=0.01)
    return HairStyle(receding=True, vol_side=0.02, vol_top=0.0, sideburn=0.03)


def _short(v: int) -> HairStyle:
    vol, fringe, sides = _digits(v, (2, 3, 2))
    kind, depth = (("high", 0.07), ("bangs", 0.10), ("zigzag", 0.09))[fringe]
    # sides: trimmed above the ears, or grown over them
    return HairStyle(vol_side=(0.018, 0.032)[vol] + 0.02 * sides, vol_top=(0.03, 0.065)[vol], fringe=kind, depth=depth,
                     sideburn=(0.025, 0.085)[sides])


def _side_part(v: int) -> HairStyle:
    side, vol, depth = _digits(v, (2, 2, 3))
    s = (-1.0, 1.0)[side]
    return HairStyle(vol_side=(0.022, 0.035)[vol], vol_top=(0.04, 0.075)[vol], fringe="swept",
                     depth=(0.06, 0.10, 0.14)[depth], part_at=-0.5 * s, part_line=-0.5 * s)


def _spiky(v: int) -> HairStyle:
    count, height, lean = _digits(v, (3, 2, 2))
    return HairStyle(vol_side=0.02, vol_top=0.03, fringe="zigzag", depth=0.075, spikes=(3, 5, 8)[count],
                     spike_h=(0.045, 0.085)[height], spike_lean=(-0.35, 0.35)[lean])


def _bob(v: int) -> HairStyle:
    length, fringe, ends = _digits(v, (3, 2, 2))
    return HairStyle(vol_side=0.035, vol_top=0.045, fringe=("bangs", "part")[fringe],
                     depth=0.13 if fringe == 0 else 0.1, back=("bob", "flip")[ends],
                     length=(0.66, 0.73, 0.80)[length], back_width=0.045, sideburn=0.08)


def _long(v: int) -> HairStyle:
    length, fringe = _digits(v, (3, 4))
    kind, at = (("bangs", 0.0), ("part", 0.0), ("swept", -0.5), ("part", 0.5))[fringe]
    return HairStyle(vol_side=0.03, vol_top=0.04, fringe=kind, depth=0.13 if kind == "bangs" else 0.1, part_at=at,
                     back="straight", length=(0.80, 0.855, 0.905)[length], back_width=0.05, sideburn=0.08)


def _curly(v: int) -> HairStyle:
    size, freq, shape = _digits(v, (3, 2, 2))
    grow = (0.045, 0.075, 0.11)[size]
    return HairStyle(vol_side=grow * 0.7, vol_top=grow, fringe="curly", depth=0.085, curls=(9, 15)[freq],
                     curl_amp=(0.018, 0.012)[freq], back=("afro", "curly")[shape], length=0.9,
                     back_width=grow, sideburn=0.05)


def _buns(v: int) -> HairStyle:
    kind, size, fringe = _digits(v, (3, 2, 2))
    r = (0.055, 0.078)[size]
    buns = (((0.0, -0.035 - 0.7 * r, r),), ((-0.2, -0.015 - 0.3 * r, r), (0.2, -0.015 - 0.3 * r, r)),
            ((0.28, 0.07, r * 0.9),))[kind]
    return HairStyle(vol_side=0.015, vol_top=0.022, fringe=("part", "bangs")[fringe], depth=(0.08, 0.12)[fringe],
                     buns=buns)


def _ponytail(v: int) -> HairStyle:
    side, length, fringe = _digits(v, (3, 2, 2))
    sides = ((-1,), (1,), (-1, 1))[side]  # left, right, or pigtails
    return HairStyle(vol_side=0.016, vol_top=0.03, fringe=("part", "bangs")[fringe], depth=(0.08, 0.12)[fringe],
                     tails=tuple((s, (0.2, 0.33)[length]) for s in sides))


def _mohawk(v: int) -> HairStyle:
    height, width = _digits(v, (3, 2))
    return HairStyle(vol_side=0.006, vol_top=0.008, fringe="high", depth=0.06, shade=0.6, sideburn=0.01,
                     mohawk=((0.08, 0.115, 0.15)[height], (0.08, 0.13)[width]))


def _wavy(v: int) -> HairStyle:
    length, part = _digits(v, (3, 2))
    return HairStyle(vol_side=0.04, vol_top=0.05, fringe=("part", "swept")[part], depth=0.1, part_at=(0.0, 0.5)[part],
                     back="wavy", length=(0.78, 0.84, 0.90)[length], back_width=0.06, sideburn=0.08)


#: (family name, number of hair values, builder); the counts add up to 111.
_HAIR_FAMILIES: tuple[tuple[str, int, Callable[[int], HairStyle]], ...] = (
    ("bald", 3, _bald), ("short", 12, _short), ("side_part", 12, _side_part), ("spiky", 12, _spiky),
    ("bob", 12, _bob), ("long", 12, _long), ("curly", 12, _curly), ("buns", 12, _buns),
    ("ponytail", 12, _ponytail), ("mohawk", 6, _mohawk), ("wavy", 6, _wavy),
)
if sum(c for _, c, _ in _HAIR_FAMILIES) != CARTOONSET_SCHEMA.cardinality("hair"):
    raise RuntimeError("hair families must cover every hair value of the schema exactly once")


def _hair_lookup(value: int) -> tuple[str, int, Callable[[int], HairStyle]]:
    v = int(value)
    if v >= 0:
        for name, count, build in _HAIR_FAMILIES:
            if v < count:
                return name, v, build
            v -= count
    raise ValueError(f"hair value {value} is outside 0..{CARTOONSET_SCHEMA.cardinality('hair') - 1}")


def hair_family(value: int) -> tuple[str, int]:
    """(family name, variation index) of a hair attribute value - documents the mapping for the UI."""
    name, var, _ = _hair_lookup(value)
    return name, var


#: Hair volume multipliers (side, top, long-hair width) applied to every style: Cartoon Set hair is
#: big and fills the frame around the head, and volume is one of the things the VAE should learn.
_HAIR_VOLUME = (1.6, 1.3, 1.5)


def hair_style(value: int) -> HairStyle:
    _, var, build = _hair_lookup(value)
    h = build(var)
    side, top, back = _HAIR_VOLUME
    return dataclasses.replace(h, vol_side=h.vol_side * side, vol_top=h.vol_top * top,
                               back_width=h.back_width * back)


def _fringe_depth(h: HairStyle, xn: np.ndarray) -> np.ndarray:
    """Depth of the hairline below the top of the face across the forehead (xn in [-1, 1])."""
    if h.fringe == "bangs":
        return h.depth + 0.012 * xn**2
    if h.fringe == "swept":
        s = 1.0 if h.part_at < 0 else -1.0  # sweeps away from the parting, deepest on the far side
        return 0.04 + h.depth * ((1 + s * xn) / 2) ** 1.4
    if h.fringe == "part":
        return 0.035 + h.depth * np.clip(np.abs(xn - h.part_at) / (1 + abs(h.part_at)), 0, 1) ** 0.6 * 1.1
    if h.fringe == "zigzag":
        k = 7
        tri = 1 - 2 * np.abs(((xn + 1) * k / 2) % 1 - 0.5)
        return h.depth - 0.03 * tri
    if h.fringe == "curly":
        return h.depth + 0.02 * np.abs(np.sin((xn + 1) * np.pi * 4))
    return h.depth + 0.03 * xn**2  # high, swept back


def _outline_bumps(h: HairStyle, u: np.ndarray) -> np.ndarray:
    """Outward offset along the cap's outer outline (u in [0, 1] left to right): spikes and curls."""
    off = np.zeros_like(u)
    if h.spikes:
        envelope = np.sin(np.pi * u) ** 1.5  # tallest on top, none at the temples
        ph = (u * h.spikes) % 1
        peak = 0.5 + 0.8 * h.spike_lean / 2  # lean moves each tooth's tip sideways
        tooth = np.where(ph < peak, ph / peak, (1 - ph) / (1 - peak))
        off += h.spike_h * envelope * tooth
    if h.curls:
        off += h.curl_amp * np.abs(np.sin(np.pi * u * h.curls))
    return off


def _offset_from(pts: Points, center: tuple[float, float], off: np.ndarray) -> Points:
    d = pts - np.asarray(center)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    return pts + d * off[:, None]


def draw_back_hair(cv: Canvas, f: Face, h: HairStyle) -> None:
    """Everything of the hair that is behind the head: long hair, afros, ponytails, buns."""
    col, line = f.hair, darken(f.hair)
    for s, ln in h.tails:
        root = np.array([f.cx + s * (f.fw + 0.01), f.face_top + 0.09])
        t = np.linspace(0, 1, 24)[:, None]
        center = root + np.hstack([s * (0.03 + 0.045 * t ** 0.6), ln * t])
        thick = 0.09 * np.sin(np.pi * (0.15 + 0.85 * t.ravel())) ** 0.6 + 0.01
        cv.poly(stroke_polygon(center, thick), col, line)
        cv.line(ellipse(root[0] + s * 0.03, root[1] + 0.02, 0.028, 0.01, angle=-s * 0.5, n=16), (70, 50, 110),
                0.014)
    for dx, dy, r in h.buns:
        bx, by = f.cx + dx, f.face_top + dy
        cv.disc(bx, by, r, col, line)
        cv.line(ellipse(bx, by, r * 0.55, r * 0.45, t0=0.3, t1=4.0, n=16), line, 0.007)
    if h.back is None:
        return
    w = f.fw + h.back_width
    top = f.contour(np.linspace(np.pi, 2 * np.pi, 48), grow_x=h.back_width, grow_y=h.vol_top + 0.005)
    if h.back == "afro":
        c = (f.cx, f.cy - 0.15 * f.top)
        th = np.linspace(0, 2 * np.pi, 120, endpoint=False)
        r = (f.fw + h.back_width + 0.03) * (1 + 0.06 * np.abs(np.sin(th * h.curls / 2)))
        pts = np.stack([c[0] + r * 1.05 * np.cos(th), c[1] + r * 1.02 * np.sin(th)], 1)
        cv.poly(pts, col, line)
        return
    y0 = f.cy
    ys = np.linspace(y0, h.length, 24)
    frac = (ys - y0) / max(h.length - y0, 1e-6)
    xr = f.cx + w + 0.02 * frac
    if h.back == "wavy":
        xr = xr + 0.018 * np.sin(frac * np.pi * 4)
    if h.back == "curly":
        xr = xr + 0.02 * np.abs(np.sin(frac * np.pi * 5))
    right = np.stack([xr, ys], 1)
    if h.back == "flip":
        flip = np.array([[f.cx + w + 0.05, h.length + 0.005], [f.cx + w - 0.01, h.length + 0.02]])
        right = np.vstack([right, flip])
    bottom_y = h.length + (0.02 if h.back == "straight" else 0.0)
    bottom = np.array([[f.cx + w * 0.6, bottom_y + 0.01], [f.cx, bottom_y + 0.015], [f.cx - w * 0.6, bottom_y + 0.01]])
    if h.back == "curly":
        bx = np.linspace(f.cx + w, f.cx - w, 14)
        bottom = np.stack([bx, h.length + 0.02 * np.abs(np.sin(np.linspace(0, 5 * np.pi, 14)))], 1)
    left = mirror(right, f.cx)[::-1]
    pts = np.vstack([top, right, bottom, left])
    cv.poly(pts, col, line)
    # a central shadow line gives long hair some structure behind the neck
    cv.line(np.array([[f.cx, f.cy + f.bot], [f.cx, min(h.length, f.cy + f.bot + 0.12)]]), darken(col, 0.75), 0.006)


def draw_cap(cv: Canvas, f: Face, h: HairStyle) -> None:
    """The hair over the top of the head and the forehead (fringe), plus mohawks and parting lines."""
    if not h.cap:
        # a bald head still reads as a head: a little shine
        cv.poly(ellipse(f.cx - 0.06, f.face_top + 0.05, 0.05, 0.018, angle=-0.3, n=20), mix(f.skin, WHITE, 0.45))
        return
    col = mix(f.hair, f.skin, h.shade)
    line = darken(f.hair) if h.shade < 0.5 else darken(f.skin, 0.6)
    sb_y = f.cy + h.sideburn
    if h.receding:
        for s in (-1, 1):
            t = np.linspace(np.pi - 0.25, np.pi + 0.9, 16) if s < 0 else np.linspace(-0.25, -0.9, 16)
            outer = f.contour(t, grow_x=h.vol_side, grow_y=0.02)
            inner = f.contour(t[::-1], grow_x=-0.035, grow_y=-0.03)
            cv.poly(np.vstack([outer, inner]), col, line)
        return
    u = np.linspace(0, 1, 80)
    outer = f.contour(np.pi + np.pi * u, grow_x=h.vol_side, grow_y=h.vol_top)
    outer = _offset_from(outer, (f.cx, f.cy), _outline_bumps(h, u))
    ends = np.array([[f.cx - f.fw - h.vol_side * 0.7, sb_y], [f.cx + f.fw + h.vol_side * 0.7, sb_y]])
    xn = np.linspace(1, -1, 72)
    y = f.face_top + _fringe_depth(h, xn)
    y = y + (sb_y - y) * np.abs(xn) ** 5
    x = f.cx + xn * (f.fw + 0.004)
    y = np.maximum(y, f.top_edge(x) + 0.012)
    inner = np.stack([x, y], 1)
    cap = np.vstack([ends[:1], outer, ends[1:], inner])
    if h.back is None:
        cv.poly(cap, col, line)
    else:  # the cap's outer edge lies on the back hair: outlining it would draw a seam
        cv.poly(cap, col)
        cv.line(inner, line)
    if h.part_line is not None:
        px = f.cx + h.part_line * f.fw * 0.6
        py = f.face_top + _fringe_depth(h, np.array([h.part_line * 0.6]))[0]
        cv.line(np.array([[px, py - 0.005], [px + 0.01 * np.sign(h.part_line), f.face_top - h.vol_top * 0.6]]),
                line, 0.007)
    if h.fringe in ("bangs", "zigzag") and h.shade == 0:
        for k in (-0.45, 0.0, 0.45):  # strand lines give the fringe texture
            x0 = f.cx + k * f.fw
            y1 = f.face_top + _fringe_depth(h, np.array([k]))[0]
            cv.line(np.array([[x0, y1 - 0.045], [x0 + 0.006, y1 - 0.01]]), darken(col, 0.7), 0.005)
    if h.mohawk is not None:
        height, width = h.mohawk
        n = 4
        xs = np.linspace(f.cx - width / 2, f.cx + width / 2, 2 * n + 1)
        top = f.face_top - height * (0.6 + 0.4 * (np.arange(2 * n + 1) % 2 == 0))
        crest = np.vstack([[f.cx - width / 2, f.face_top + 0.05], np.stack([xs, top], 1),
                           [f.cx + width / 2, f.face_top + 0.05]])
        cv.poly(crest, f.hair, darken(f.hair))
