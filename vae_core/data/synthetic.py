"""Procedural cartoon avatar faces labelled with the 18 Cartoon Set attributes.

Why it exists: the app must work (train, explore, colour the latent map by attribute) without
downloading Google's Cartoon Set. These faces imitate its look - a floating head on white, flat
colours, dark outlines - and use exactly its attribute schema (:data:`CARTOONSET_SCHEMA`), so every
latent tool behaves the same on real and synthetic data. They are clearly labelled as synthetic
(:data:`SYNTHETIC_LABEL`) and must never be passed off as the real set.

Design:

- Every attribute value changes the drawing. The 111 hair values map onto 11 parametric families
  (bald, short, side part, spiky, bob, long, curly, buns, ponytail, mohawk, wavy) times a mixed-radix
  variation index (length, volume, fringe, parting, ...), so each value is one distinct, fixed style.
- Determinism: face ``i`` of seed ``s`` depends only on ``(s, i)`` - attributes come from a counter
  based hash (splitmix64) of ``(s, i, attribute)`` and the small rendering jitter from a seed hashed
  from ``(s, i)``. The first ``k`` of ``n`` faces therefore equal ``generate_faces(k)``, whatever the
  worker count.
- Anti-aliasing: shapes are drawn with PIL at 4x the target size and box-downsampled, which is both
  smooth and fast (about 1-2 ms per 64x64 face on one core).
- Geometry is written in unit coordinates (the image is [0, 1]^2, y down) so one description serves
  32, 64 and 128 pixels.
- Speed and caching: 10,000 faces at 64x64 take about 17 s on 2 cores (a 'fork' process pool over
  blocks of 128 faces); :func:`cached_synthetic` stores a generated set as memory-mapped ``.npy``
  files keyed by :data:`GENERATOR_VERSION`, resolution, seed and count, so later runs, DDP ranks and
  the UI read it instead of drawing it again.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import multiprocessing
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_write
from ..config import SUPPORTED_RESOLUTIONS, DataSpec
from .cache import default_cache_dir
from .dataset import FaceDataset
from .schema import CARTOONSET_SCHEMA

log = logging.getLogger(__name__)

__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_LABEL",
    "cached_synthetic",
    "generate_faces",
    "render_face",
    "sample_attributes",
    "synthetic_dataset",
]

#: Shown wherever these faces appear, so nobody mistakes them for the real data set.
SYNTHETIC_LABEL = "SYNTHETIC procedural cartoon faces (not Google's Cartoon Set)"

#: Bumped whenever the drawing or sampling code changes the faces a (seed, i) produces: it is part of
#: every cache file name, so stale caches are never served.
GENERATOR_VERSION = 2

#: synthetic_dataset caches sets of at least this many faces (smaller ones take well under a second).
CACHE_MIN_FACES = 256

#: Supersampling factor: shapes are drawn at SUPERSAMPLE x resolution, then box-filtered down.
SUPERSAMPLE = 4

#: The face geometry is designed in a [0, 1] square and drawn magnified by this much about the centre,
#: so the head fills the frame like the real set's 0.7 centre crop (a little long hair is cut off).
ZOOM = 1.24

#: Below this many faces a process pool costs more than it saves.
_MIN_PARALLEL = 256
_CHUNK = 128

Color = tuple[int, int, int]
Points = np.ndarray  # float [K, 2] in unit coordinates

_A = {name: j for j, name in enumerate(CARTOONSET_SCHEMA.names)}
FACIAL_HAIR_NONE = 14
GLASSES_NONE = 11

# --------------------------------------------------------------------------------------------------
# Palettes (index = attribute value)
# --------------------------------------------------------------------------------------------------

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

# --------------------------------------------------------------------------------------------------
# Attribute sampling
# --------------------------------------------------------------------------------------------------

def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic): a cheap, well-mixed hash."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _hash(seed: int, index: np.ndarray, stream: int) -> np.ndarray:
    """uint64 hash of (seed, index, stream); index is an int array. Counter based, so prefix-stable."""
    key = _splitmix64(np.array([seed % 2**64], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        x = _splitmix64(key ^ _splitmix64(index.astype(np.uint64) * np.uint64(0x100) + np.uint64(stream)))
        return _splitmix64(x + key)


def _uniform(seed: int, index: np.ndarray, stream: int) -> np.ndarray:
    return (_hash(seed, index, stream) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _attribute_weights() -> list[np.ndarray]:
    """Per-attribute value probabilities: uniform, except where real faces are lopsided.

    Most faces have no glasses and no facial hair (as in the real set, where those "none" values
    dominate), and natural hair colours are more common than grey/white.
    """
    weights = [np.ones(c) for c in CARTOONSET_SCHEMA.cardinalities]
    fh = weights[_A["facial_hair"]]
    fh[FACIAL_HAIR_NONE] = 0.6 / 0.4 * (len(fh) - 1)
    gl = weights[_A["glasses"]]
    gl[GLASSES_NONE] = 0.55 / 0.45 * (len(gl) - 1)
    weights[_A["hair_color"]] = np.array([3, 3, 3, 2, 1.5, 1.5, 2, 1.5, 1, 0.7])
    return [w / w.sum() for w in weights]


def sample_attributes(n: int, seed: int) -> np.ndarray:
    """int64 [n, 18] attribute rows in schema order; row i depends only on (seed, i)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    idx = np.arange(n, dtype=np.uint64)
    out = np.empty((n, len(CARTOONSET_SCHEMA)), np.int64)
    for j, w in enumerate(_attribute_weights()):
        cdf = np.cumsum(w)
        cdf[-1] = 1.0 + 1e-12
        out[:, j] = np.searchsorted(cdf, _uniform(seed, idx, j), side="right")
    return out


def _render_seeds(n: int, seed: int) -> np.ndarray:
    """Per-face jitter seeds, a separate hash stream from the attributes."""
    return (_hash(seed, np.arange(n, dtype=np.uint64), 1000) >> np.uint64(1)).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------------


def _mix(a: Color, b: Color, t: float) -> Color:
    """a blended towards b by t (0 = a, 1 = b)."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def _dark(c: Color, f: float = 0.45) -> Color:
    """The outline colour of a fill: the same hue, much darker (Cartoon Set strokes are tinted)."""
    return tuple(int(x * f) for x in c)  # type: ignore[return-value]


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 40,
             t0: float = 0.0, t1: float = 2 * np.pi) -> Points:
    t = np.linspace(t0, t1, n, endpoint=(t1 - t0) < 2 * np.pi - 1e-9)
    x, y = rx * np.cos(t), ry * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack([cx + x * ca - y * sa, cy + x * sa + y * ca], 1)


def _stroke(center: Points, thickness: np.ndarray | float) -> Points:
    """Polygon of a variable-width stroke along a centre line (for brows, moustaches, tails)."""
    d = np.gradient(center, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    half = np.broadcast_to(np.asarray(thickness, float), (len(center),))[:, None] / 2
    return np.vstack([center + normal * half, (center - normal * half)[::-1]])


def _mirror(pts: Points, cx: float) -> Points:
    out = pts.copy()
    out[:, 0] = 2 * cx - out[:, 0]
    return out


@dataclass
class _Canvas:
    """An ImageDraw that takes unit coordinates; ``origin`` lets it draw on a cropped patch."""

    draw: ImageDraw.ImageDraw
    scale: float
    stroke: float  # default outline width, unit coordinates
    origin: tuple[float, float] = (0.0, 0.0)

    def px(self, pts: Points) -> np.ndarray:
        """Unit coordinates -> pixels of the full (supersampled) image, zoomed about the centre."""
        return ((np.asarray(pts, float) - 0.5) * ZOOM + 0.5) * self.scale

    def _xy(self, pts: Points) -> list[float]:
        return (self.px(pts) - np.asarray(self.origin)).ravel().tolist()

    def poly(self, pts: Points, fill: Color | None, outline: Color | None = None, width: float | None = None) -> None:
        xy = self._xy(pts)
        if fill is not None:
            self.draw.polygon(xy, fill=fill)
        if outline is not None:
            self.line(np.vstack([pts, pts[:1]]), outline, width)

    def line(self, pts: Points, color: Color, width: float | None = None) -> None:
        w = max(1, int(round((self.stroke if width is None else width) * ZOOM * self.scale)))
        self.draw.line(self._xy(pts), fill=color, width=w, joint="curve")

    def disc(self, cx: float, cy: float, r: float, fill: Color, outline: Color | None = None) -> None:
        (x, y), rr = self.px(np.array([[cx, cy]]))[0] - np.asarray(self.origin), r * ZOOM * self.scale
        self.draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=fill)
        if outline is not None:
            self.line(_ellipse(cx, cy, r, r, n=36)[list(range(36)) + [0]], outline)


# --------------------------------------------------------------------------------------------------
# Face geometry
# --------------------------------------------------------------------------------------------------

# face_shape -> (half width, top height, bottom height, top superellipse exponent, bottom exponent, jaw taper)
_FACE_SHAPES: tuple[tuple[float, float, float, float, float, float], ...] = (
    (0.255, 0.275, 0.255, 2.0, 2.0, 1.00),  # round
    (0.235, 0.285, 0.290, 2.0, 2.0, 0.95),  # oval
    (0.258, 0.270, 0.255, 3.4, 3.6, 1.00),  # square
    (0.222, 0.300, 0.315, 2.8, 3.0, 0.95),  # long
    (0.262, 0.280, 0.285, 2.6, 1.9, 0.66),  # heart
    (0.245, 0.280, 0.285, 1.7, 1.6, 0.80),  # diamond
    (0.238, 0.265, 0.265, 1.9, 3.2, 1.12),  # pear / wide jaw
)


@dataclass(frozen=True)
class _Face:
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


def _make_face(attrs: np.ndarray, rng: np.random.Generator) -> _Face:
    fw, top, bot, nt, nb, jaw = _FACE_SHAPES[int(attrs[_A["face_shape"]])]
    scale = 1 + rng.normal(0, 0.015)
    bot += 0.035 * int(attrs[_A["chin_length"]])

    def tint(c: Color, amount: float) -> Color:
        f = 1 + rng.normal(0, amount)
        return tuple(int(np.clip(v * f, 0, 255)) for v in c)  # type: ignore[return-value]

    return _Face(
        cx=0.5 + rng.normal(0, 0.007),
        cy=0.545 - 0.5 * (bot - 0.27) + rng.normal(0, 0.006),
        fw=fw * scale, top=top * scale, bot=bot * scale, n_top=nt, n_bot=nb, jaw=jaw,
        skin=tint(SKIN[int(attrs[_A["face_color"]])], 0.02),
        hair=tint(HAIR[int(attrs[_A["hair_color"]])], 0.03),
    )


# --------------------------------------------------------------------------------------------------
# Hair: 111 values = 11 parametric families x variations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hair:
    """A hair style as parameters of the shared drawing code (see ``_draw_back_hair``, ``_draw_cap``)."""

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


def _bald(v: int) -> _Hair:
    if v == 0:
        return _Hair(cap=False)
    if v == 1:
        return _Hair(vol_side=0.006, vol_top=0.008, fringe="high", depth=0.06, shade=0.55, sideburn=0.01)
    return _Hair(receding=True, vol_side=0.02, vol_top=0.0, sideburn=0.03)


def _short(v: int) -> _Hair:
    vol, fringe, sides = _digits(v, (2, 3, 2))
    kind, depth = (("high", 0.07), ("bangs", 0.10), ("zigzag", 0.09))[fringe]
    # sides: trimmed above the ears, or grown over them
    return _Hair(vol_side=(0.018, 0.032)[vol] + 0.02 * sides, vol_top=(0.03, 0.065)[vol], fringe=kind, depth=depth,
                 sideburn=(0.025, 0.085)[sides])


def _side_part(v: int) -> _Hair:
    side, vol, depth = _digits(v, (2, 2, 3))
    s = (-1.0, 1.0)[side]
    return _Hair(vol_side=(0.022, 0.035)[vol], vol_top=(0.04, 0.075)[vol], fringe="swept",
                 depth=(0.06, 0.10, 0.14)[depth], part_at=-0.5 * s, part_line=-0.5 * s)


def _spiky(v: int) -> _Hair:
    count, height, lean = _digits(v, (3, 2, 2))
    return _Hair(vol_side=0.02, vol_top=0.03, fringe="zigzag", depth=0.075, spikes=(3, 5, 8)[count],
                 spike_h=(0.045, 0.085)[height], spike_lean=(-0.35, 0.35)[lean])


def _bob(v: int) -> _Hair:
    length, fringe, ends = _digits(v, (3, 2, 2))
    return _Hair(vol_side=0.035, vol_top=0.045, fringe=("bangs", "part")[fringe], depth=0.13 if fringe == 0 else 0.1,
                 back=("bob", "flip")[ends], length=(0.66, 0.73, 0.80)[length], back_width=0.045, sideburn=0.08)


def _long(v: int) -> _Hair:
    length, fringe = _digits(v, (3, 4))
    kind, at = (("bangs", 0.0), ("part", 0.0), ("swept", -0.5), ("part", 0.5))[fringe]
    return _Hair(vol_side=0.03, vol_top=0.04, fringe=kind, depth=0.13 if kind == "bangs" else 0.1, part_at=at,
                 back="straight", length=(0.80, 0.855, 0.905)[length], back_width=0.05, sideburn=0.08)


def _curly(v: int) -> _Hair:
    size, freq, shape = _digits(v, (3, 2, 2))
    grow = (0.045, 0.075, 0.11)[size]
    return _Hair(vol_side=grow * 0.7, vol_top=grow, fringe="curly", depth=0.085, curls=(9, 15)[freq],
                 curl_amp=(0.018, 0.012)[freq], back=("afro", "curly")[shape], length=0.9,
                 back_width=grow, sideburn=0.05)


def _buns(v: int) -> _Hair:
    kind, size, fringe = _digits(v, (3, 2, 2))
    r = (0.055, 0.078)[size]
    buns = (((0.0, -0.035 - 0.7 * r, r),), ((-0.2, -0.015 - 0.3 * r, r), (0.2, -0.015 - 0.3 * r, r)),
            ((0.28, 0.07, r * 0.9),))[kind]
    return _Hair(vol_side=0.015, vol_top=0.022, fringe=("part", "bangs")[fringe], depth=(0.08, 0.12)[fringe],
                 buns=buns)


def _ponytail(v: int) -> _Hair:
    side, length, fringe = _digits(v, (3, 2, 2))
    sides = ((-1,), (1,), (-1, 1))[side]  # left, right, or pigtails
    return _Hair(vol_side=0.016, vol_top=0.03, fringe=("part", "bangs")[fringe], depth=(0.08, 0.12)[fringe],
                 tails=tuple((s, (0.2, 0.33)[length]) for s in sides))


def _mohawk(v: int) -> _Hair:
    height, width = _digits(v, (3, 2))
    return _Hair(vol_side=0.006, vol_top=0.008, fringe="high", depth=0.06, shade=0.6, sideburn=0.01,
                 mohawk=((0.08, 0.115, 0.15)[height], (0.08, 0.13)[width]))


def _wavy(v: int) -> _Hair:
    length, part = _digits(v, (3, 2))
    return _Hair(vol_side=0.04, vol_top=0.05, fringe=("part", "swept")[part], depth=0.1, part_at=(0.0, 0.5)[part],
                 back="wavy", length=(0.78, 0.84, 0.90)[length], back_width=0.06, sideburn=0.08)


#: (family name, number of hair values, builder); the counts add up to 111.
_HAIR_FAMILIES: tuple[tuple[str, int, Callable[[int], _Hair]], ...] = (
    ("bald", 3, _bald), ("short", 12, _short), ("side_part", 12, _side_part), ("spiky", 12, _spiky),
    ("bob", 12, _bob), ("long", 12, _long), ("curly", 12, _curly), ("buns", 12, _buns),
    ("ponytail", 12, _ponytail), ("mohawk", 6, _mohawk), ("wavy", 6, _wavy),
)
if sum(c for _, c, _ in _HAIR_FAMILIES) != CARTOONSET_SCHEMA.cardinality("hair"):
    raise RuntimeError("hair families must cover every hair value of the schema exactly once")


def _hair_lookup(value: int) -> tuple[str, int, Callable[[int], _Hair]]:
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


def _hair_style(value: int) -> _Hair:
    _, var, build = _hair_lookup(value)
    h = build(var)
    side, top, back = _HAIR_VOLUME
    return dataclasses.replace(h, vol_side=h.vol_side * side, vol_top=h.vol_top * top,
                               back_width=h.back_width * back)


def _fringe_depth(h: _Hair, xn: np.ndarray) -> np.ndarray:
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


def _outline_bumps(h: _Hair, u: np.ndarray) -> np.ndarray:
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


def _draw_back_hair(cv: _Canvas, f: _Face, h: _Hair) -> None:
    """Everything of the hair that is behind the head: long hair, afros, ponytails, buns."""
    col, line = f.hair, _dark(f.hair)
    for s, ln in h.tails:
        root = np.array([f.cx + s * (f.fw + 0.01), f.face_top + 0.09])
        t = np.linspace(0, 1, 24)[:, None]
        center = root + np.hstack([s * (0.03 + 0.045 * t ** 0.6), ln * t])
        thick = 0.09 * np.sin(np.pi * (0.15 + 0.85 * t.ravel())) ** 0.6 + 0.01
        cv.poly(_stroke(center, thick), col, line)
        cv.line(_ellipse(root[0] + s * 0.03, root[1] + 0.02, 0.028, 0.01, angle=-s * 0.5, n=16), (70, 50, 110),
                0.014)
    for dx, dy, r in h.buns:
        bx, by = f.cx + dx, f.face_top + dy
        cv.disc(bx, by, r, col, line)
        cv.line(_ellipse(bx, by, r * 0.55, r * 0.45, t0=0.3, t1=4.0, n=16), line, 0.007)
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
    left = _mirror(right, f.cx)[::-1]
    pts = np.vstack([top, right, bottom, left])
    cv.poly(pts, col, line)
    # a central shadow line gives long hair some structure behind the neck
    cv.line(np.array([[f.cx, f.cy + f.bot], [f.cx, min(h.length, f.cy + f.bot + 0.12)]]), _dark(col, 0.75), 0.006)


def _draw_cap(cv: _Canvas, f: _Face, h: _Hair) -> None:
    """The hair over the top of the head and the forehead (fringe), plus mohawks and parting lines."""
    if not h.cap:
        # a bald head still reads as a head: a little shine
        cv.poly(_ellipse(f.cx - 0.06, f.face_top + 0.05, 0.05, 0.018, angle=-0.3, n=20), _mix(f.skin, WHITE, 0.45))
        return
    col = _mix(f.hair, f.skin, h.shade)
    line = _dark(f.hair) if h.shade < 0.5 else _dark(f.skin, 0.6)
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
            cv.line(np.array([[x0, y1 - 0.045], [x0 + 0.006, y1 - 0.01]]), _dark(col, 0.7), 0.005)
    if h.mohawk is not None:
        height, width = h.mohawk
        n = 4
        xs = np.linspace(f.cx - width / 2, f.cx + width / 2, 2 * n + 1)
        top = f.face_top - height * (0.6 + 0.4 * (np.arange(2 * n + 1) % 2 == 0))
        crest = np.vstack([[f.cx - width / 2, f.face_top + 0.05], np.stack([xs, top], 1),
                           [f.cx + width / 2, f.face_top + 0.05]])
        cv.poly(crest, f.hair, _dark(f.hair))


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


def _draw_ears(cv: _Canvas, f: _Face) -> None:
    for s in (-1, 1):
        ex = f.cx + s * (f.halfwidth(f.eye_y + 0.03) - 0.004)
        cv.poly(_ellipse(ex, f.eye_y + 0.035, 0.04, 0.06, n=32), f.skin, _dark(f.skin))
        t0 = -1.6 if s > 0 else 1.5  # the inner fold, on the outer half of each ear
        cv.line(_ellipse(ex + s * 0.008, f.eye_y + 0.035, 0.018, 0.032, n=12, t0=t0, t1=t0 + 3.2),
                _dark(f.skin, 0.7), 0.006)


def _draw_face(cv: _Canvas, f: _Face) -> None:
    cv.poly(f.contour(np.linspace(0, 2 * np.pi, 128, endpoint=False)), f.skin, _dark(f.skin))


# eye_slant -> (rx, ry): round, almond, narrow
_EYE_SIZES = ((0.054, 0.047), (0.06, 0.037), (0.063, 0.028))


def _draw_eyes(img: Image.Image, cv: _Canvas, f: _Face, attrs: np.ndarray) -> None:
    """Eyes: sclera, iris and pupil clipped to the eye shape, optional lid and lashes.

    The iris is painted on a cropped patch and pasted through the sclera's mask, so narrow eyes cut it
    off the way cartoon eyes do.
    """
    rx, ry = _EYE_SIZES[int(attrs[_A["eye_slant"]])]
    tilt = (-0.2, 0.0, 0.2)[int(attrs[_A["eye_angle"]])]
    iris = IRIS[int(attrs[_A["eye_color"]])]
    lid, lashes = int(attrs[_A["eye_lid"]]), int(attrs[_A["eye_lashes"]])
    ink = (38, 30, 30)
    for s in (-1, 1):
        ex, ey, ang = f.cx + s * f.eye_dx, f.eye_y, -s * tilt
        sclera = _ellipse(ex, ey, rx, ry, angle=ang, n=40)
        pad = 2
        xy = cv.px(sclera)
        box = (int(xy[:, 0].min()) - pad, int(xy[:, 1].min()) - pad, int(xy[:, 0].max()) + pad + 1,
               int(xy[:, 1].max()) + pad + 1)
        patch = img.crop(box)
        pc = _Canvas(ImageDraw.Draw(patch), cv.scale, cv.stroke, origin=(box[0], box[1]))
        pc.poly(sclera, SCLERA)
        ri = 0.033
        pc.disc(ex, ey + 0.003, ri, iris, _dark(iris, 0.5))
        pc.disc(ex, ey + 0.003, ri * 0.45, (12, 10, 10))
        pc.disc(ex + 0.35 * ri, ey - 0.3 * ri, ri * 0.3, WHITE)
        if lid:
            ca, sa = np.cos(ang), np.sin(ang)
            k = ry * 0.2
            lid_pts = np.array([[-2 * rx, -2 * ry], [2 * rx, -2 * ry], [2 * rx, -k], [-2 * rx, -k]])
            lid_pts = np.stack([ex + lid_pts[:, 0] * ca - lid_pts[:, 1] * sa, ey + lid_pts[:, 0] * sa + lid_pts[:, 1] * ca], 1)
            pc.poly(lid_pts, _mix(f.skin, (0, 0, 0), 0.12))
            pc.line(lid_pts[2:4], _dark(f.skin, 0.5), 0.007)
        mask = Image.new("L", patch.size, 0)
        ImageDraw.Draw(mask).polygon(pc._xy(sclera), fill=255)
        img.paste(patch, box, mask)
        cv.line(np.vstack([sclera, sclera[:1]]), ink, 0.009)
        if lashes:
            upper = _ellipse(ex, ey, rx, ry, angle=ang, n=20, t0=np.pi, t1=2 * np.pi)
            cv.line(upper, ink, 0.016)
            a = -0.05 if s > 0 else np.pi + 0.05  # the outer corner
            ox, oy = _ellipse(ex, ey, rx, ry, angle=ang, n=1, t0=a, t1=a)[0]
            for k in range(3):
                a = -0.5 - 0.45 * k
                d = np.array([s * np.cos(a), np.sin(a)]) * 0.022
                base = np.array([ox - s * 0.012 * k, oy - 0.004 * k])
                cv.line(np.array([base, base + d]), ink, 0.007)


# eyebrow_shape % 7 -> curve over t in [0, 1] (inner -> outer end), positive = up
_BROW_CURVES: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda t: 0.0 * t,  # straight
    lambda t: 0.015 * np.sin(np.pi * t),  # soft arch
    lambda t: 0.032 * np.sin(np.pi * t),  # high arch
    lambda t: 0.028 * np.minimum(t / 0.65, (1 - t) / 0.35),  # angled peak
    lambda t: 0.024 * np.sin(np.pi * t**0.5),  # rounded inner hump
    lambda t: -0.016 * np.sin(np.pi * t),  # sagging
    lambda t: 0.014 * np.sin(2 * np.pi * t),  # s-curve
)


def _draw_brows(cv: _Canvas, f: _Face, attrs: np.ndarray) -> None:
    shape = int(attrs[_A["eyebrow_shape"]])
    curve, tilt = _BROW_CURVES[shape % 7], (-0.014, 0.014)[shape // 7]
    thick = (0.014, 0.021, 0.029, 0.038)[int(attrs[_A["eyebrow_thickness"]])]
    width = (0.08, 0.1, 0.122)[int(attrs[_A["eyebrow_width"]])]
    gap = (0.028, 0.045, 0.062)[int(attrs[_A["eye_eyebrow_distance"]])]
    ry = _EYE_SIZES[int(attrs[_A["eye_slant"]])][1]
    color = _mix(f.hair, f.skin, 0.35) if int(attrs[_A["eyebrow_weight"]]) == 0 else _dark(f.hair, 0.55)
    base_y = f.eye_y - ry - gap
    t = np.linspace(0, 1, 20)
    for s in (-1, 1):
        x = f.cx + s * (f.eye_dx - 0.45 * width + width * t)
        y = base_y - curve(t) - tilt * (1 - t)
        th = thick * (1 - 0.45 * t**1.5)
        cv.poly(_stroke(np.stack([x, y], 1), th), color, _dark(color, 0.7), 0.004)


def _draw_nose_mouth(cv: _Canvas, f: _Face) -> None:
    shade = _dark(f.skin, 0.62)
    cv.line(np.array([[f.cx + 0.006, f.nose_y - 0.045], [f.cx + 0.016, f.nose_y - 0.005], [f.cx + 0.012, f.nose_y + 0.008],
                      [f.cx - 0.01, f.nose_y + 0.01]]), shade, 0.009)
    # an open smile: raised corners, white upper teeth, a tongue, a dark outline (as in the real set)
    my, mw = f.mouth_y, 0.068
    xn = np.linspace(-1, 1, 25)
    upper = my - 0.018 * xn**2
    lower = upper + 0.05 * (1 - xn**2) ** 0.7
    x = f.cx + mw * xn
    mouth = np.vstack([np.stack([x, upper], 1), np.stack([x, lower], 1)[::-1]])
    cv.poly(mouth, MOUTH)
    cv.poly(_ellipse(f.cx, my + 0.04, 0.03, 0.014, n=20), TONGUE)
    teeth = np.vstack([np.stack([x, upper], 1), np.stack([x, upper + 0.017 * (1 - xn**2) ** 0.5], 1)[::-1]])
    cv.poly(teeth, TEETH)
    cv.poly(mouth, None, INK, 0.009)


def _beard_region(f: _Face, grow: float, bottom: float = 0.0) -> Points:
    """Cheeks, jaw and chin below a line under the nose: the area of a full beard."""
    outer = f.contour(np.linspace(-0.12, np.pi + 0.12, 48), grow_x=grow, grow_y=grow, grow_bot=grow + bottom)
    xn = np.linspace(-1, 1, 24)
    x = f.cx + xn * (f.halfwidth(f.cy + 0.03) + grow * 0.5)
    y = f.cy + 0.03 + (f.nose_y + 0.03 - f.cy - 0.03) * (1 - xn**2) ** 0.8
    return np.vstack([outer, np.stack([x, y], 1)])


def _moustache(f: _Face, kind: str) -> Points:
    t = np.linspace(0, 1, 16)
    my, ny = f.mouth_y, f.nose_y
    if kind == "handlebar":
        x = 0.072 * t
        y = ny + 0.032 + (my - ny - 0.02) * np.sin(np.pi * t * 0.8) - 0.03 * t**4
        th = 0.022 * (1 - 0.75 * t)
    elif kind == "pencil":
        x = 0.055 * t
        y = my - 0.012 + 0.004 * t
        th = np.full_like(t, 0.011)
    elif kind == "chevron":
        x = 0.07 * t
        y = ny + 0.038 + 0.028 * t
        th = 0.036 * (1 - 0.25 * t)
    else:
        x = 0.058 * t
        y = ny + 0.034 + 0.022 * t
        th = (0.022 if kind == "standard" else 0.014) * (1 - 0.35 * t)
    right = np.stack([f.cx + x, y], 1)
    center = np.vstack([_mirror(right, f.cx)[::-1], right[1:]])
    thick = np.concatenate([th[::-1], th[1:]])
    return _stroke(center, thick)


def _goatee(f: _Face, soul_patch: bool = False) -> Points:
    my = f.mouth_y
    if soul_patch:
        return np.array([[f.cx - 0.022, my + 0.048], [f.cx + 0.022, my + 0.048], [f.cx, my + 0.088]])
    chin = f.contour(np.linspace(np.pi / 2 - 0.42, np.pi / 2 + 0.42, 16), grow_x=0.01, grow_y=0.01)
    top = np.array([[f.cx - 0.05, my + 0.048], [f.cx - 0.015, my + 0.044], [f.cx + 0.015, my + 0.044],
                    [f.cx + 0.05, my + 0.048]])
    return np.vstack([chin, top])


def _draw_facial_hair(cv: _Canvas, f: _Face, value: int, layer: str) -> None:
    """Beards (``layer='under'``, before the mouth) and moustaches (``layer='over'``, after it)."""
    if value == FACIAL_HAIR_NONE:
        return
    col, line = _dark(f.hair, 0.78), _dark(f.hair, 0.4)
    stubble = _mix(f.hair, f.skin, 0.55)
    beards: dict[int, Callable[[], None]] = {
        0: lambda: cv.poly(_beard_region(f, 0.012), col, line),
        1: lambda: cv.poly(_beard_region(f, 0.004), _mix(col, f.skin, 0.3), line),
        2: lambda: cv.poly(_goatee(f), col, line),
        5: lambda: cv.poly(np.vstack([f.contour(np.linspace(-0.1, np.pi + 0.1, 40), 0.008, 0.008),
                                      f.contour(np.linspace(np.pi + 0.1, -0.1, 40), -0.025, -0.025)]), col, line),
        6: lambda: cv.poly(_beard_region(f, 0.014, bottom=0.09), col, line),
        7: lambda: cv.poly(_goatee(f, soul_patch=True), col, line),
        9: lambda: cv.poly(_beard_region(f, 0.0), stubble),
        12: lambda: cv.poly(_goatee(f), col, line),
        13: lambda: cv.poly(np.vstack([f.contour(np.linspace(-0.1, np.pi + 0.1, 40), 0.012, 0.012, 0.02),
                                       f.contour(np.linspace(np.pi + 0.1, -0.1, 40), -0.04, -0.05, -0.06)]),
                            col, line),
    }
    moustaches = {0: "standard", 1: "standard", 3: "standard", 4: "handlebar", 6: "standard", 10: "pencil",
                  11: "chevron", 12: "thin"}
    if layer == "under":
        if value == 8:  # mutton chops
            for lo, hi in ((-0.15, 0.75), (np.pi - 0.75, np.pi + 0.15)):
                t = np.linspace(lo, hi, 16)
                cv.poly(np.vstack([f.contour(t, 0.01, 0.01), f.contour(t[::-1], -0.06, -0.06)]), col, line)
        elif value in beards:
            beards[value]()
    elif value in moustaches:
        cv.poly(_moustache(f, moustaches[value]), col, line)


# glasses -> lens outline around the eye centre, one function per style (right lens; the left is mirrored)
def _lens(kind: int, ex: float, ey: float) -> Points:
    def rrect(w: float, hgt: float, r: float, n: int = 8) -> Points:
        corners = ((w - r, -hgt + r, -np.pi / 2, 0), (w - r, hgt - r, 0, np.pi / 2),
                   (-w + r, hgt - r, np.pi / 2, np.pi), (-w + r, -hgt + r, np.pi, 1.5 * np.pi))
        pts = [np.stack([ex + cx + r * np.cos(a), ey + cy + r * np.sin(a)], 1)
               for cx, cy, a0, a1 in corners for a in [np.linspace(a0, a1, n)]]
        return np.vstack(pts)

    if kind == 0:
        return _ellipse(ex, ey, 0.062, 0.062, n=40)
    if kind == 1:
        return _ellipse(ex, ey, 0.048, 0.048, n=32)
    if kind == 2:
        return _ellipse(ex, ey, 0.07, 0.05, n=40)
    if kind == 3:
        return rrect(0.068, 0.046, 0.004)
    if kind == 4:
        return rrect(0.068, 0.05, 0.022)
    if kind == 5:
        return rrect(0.078, 0.036, 0.01)
    if kind == 6:  # aviator: flat top, teardrop bottom drooping outwards
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        x = 0.07 * np.cos(t)
        y = np.where(np.sin(t) < 0, 0.035 * np.sin(t), 0.062 * np.sin(t) * (0.75 + 0.25 * np.cos(t)))
        return np.stack([ex + x, ey + y - 0.005], 1)
    if kind == 7:  # cat-eye: the outer top corner sweeps up
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        x = 0.068 * np.cos(t)
        y = 0.045 * np.sin(t) - 0.03 * np.clip(np.cos(t), 0, 1) ** 3 * (np.sin(t) < 0.3)
        return np.stack([ex + x, ey + y], 1)
    if kind == 8:  # browline: handled by the caller (thick top, thin rim)
        return rrect(0.066, 0.045, 0.02)
    if kind == 9:
        return rrect(0.064, 0.052, 0.012)
    return rrect(0.07, 0.048, 0.025)  # 10: sunglasses


def _draw_glasses(cv: _Canvas, f: _Face, kind: int, color: Color) -> None:
    if kind == GLASSES_NONE:
        return
    widths = {9: 0.022, 8: 0.008, 1: 0.009}
    w = widths.get(kind, 0.013)
    ex, ey = f.cx + f.eye_dx, f.eye_y
    lens_r = _lens(kind, ex, ey)
    # the lens shapes are designed around the eye; grow them to frame the big cartoon eyes, keeping a
    # gap for the bridge between the two lenses
    half_w = np.abs(lens_r[:, 0] - ex).max()
    lens_r = np.asarray([ex, ey]) + (lens_r - np.asarray([ex, ey])) * [min(1.25, 0.088 / half_w), 1.25]
    lenses = (lens_r, _mirror(lens_r, f.cx))
    for k, lens in enumerate(lenses):
        s = 1 if k == 0 else -1
        if kind == 10:
            cv.poly(lens, (28, 30, 38))
            cv.line(_ellipse(f.cx + s * f.eye_dx + 0.02, f.eye_y - 0.015, 0.02, 0.01, n=8, t0=3.5, t1=5.0),
                    (120, 125, 140), 0.007)
        cv.poly(lens, None, color, w)
        if kind == 8:
            top = lens[lens[:, 1] < f.eye_y - 0.01]
            top = top[np.argsort(top[:, 0])]
            cv.line(top, color, 0.024)
        outer_x = lens[:, 0].max() if s > 0 else lens[:, 0].min()
        edge = f.cx + s * f.halfwidth(f.eye_y - 0.01)
        cv.line(np.array([[outer_x, f.eye_y - 0.012], [edge, f.eye_y - 0.016]]), color, min(w, 0.012))
    inner = lens_r[:, 0].min()
    bridge = np.array([[2 * f.cx - inner, f.eye_y - 0.012], [f.cx, f.eye_y - 0.022], [inner, f.eye_y - 0.012]])
    cv.line(bridge, color, min(w, 0.012))


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def render_face(attrs: np.ndarray, resolution: int, rng_seed: int) -> np.ndarray:
    """uint8 [R, R, 3] cartoon face for one attribute row (schema order); rng_seed sets small jitter."""
    attrs = np.asarray(attrs, dtype=np.int64)
    if attrs.shape != (len(CARTOONSET_SCHEMA),):
        raise ValueError(f"attrs must have shape [{len(CARTOONSET_SCHEMA)}], got {list(attrs.shape)}")
    for j, card in enumerate(CARTOONSET_SCHEMA.cardinalities):
        if not 0 <= attrs[j] < card:
            raise ValueError(f"{CARTOONSET_SCHEMA.names[j]} = {int(attrs[j])} is outside 0..{card - 1}")
    if resolution not in SUPPORTED_RESOLUTIONS:
        raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {resolution}")
    rng = np.random.default_rng(int(rng_seed) % 2**63)
    size = resolution * SUPERSAMPLE
    img = Image.new("RGB", (size, size), WHITE)
    cv = _Canvas(ImageDraw.Draw(img), float(size), stroke=0.01)
    f = _make_face(attrs, rng)
    hair = _hair_style(int(attrs[_A["hair"]]))
    facial = int(attrs[_A["facial_hair"]])

    _draw_ears(cv, f)
    _draw_back_hair(cv, f, hair)
    _draw_face(cv, f)
    _draw_facial_hair(cv, f, facial, "under")
    _draw_nose_mouth(cv, f)
    _draw_facial_hair(cv, f, facial, "over")
    _draw_eyes(img, cv, f, attrs)
    _draw_brows(cv, f, attrs)
    _draw_cap(cv, f, hair)
    _draw_glasses(cv, f, int(attrs[_A["glasses"]]), FRAME[int(attrs[_A["glasses_color"]])])
    return np.asarray(img.reduce(SUPERSAMPLE), dtype=np.uint8)


def _render_chunk(args: tuple[np.ndarray, int, np.ndarray]) -> np.ndarray:
    """Worker entry point: render a block of faces (module level so a process pool can pickle it)."""
    attrs, resolution, seeds = args
    out = np.empty((len(attrs), resolution, resolution, 3), np.uint8)
    for k in range(len(attrs)):
        out[k] = render_face(attrs[k], resolution, int(seeds[k]))
    return out


def _pool_context() -> multiprocessing.context.BaseContext:
    """'fork' where available: workers start instantly and need no ``if __name__ == '__main__'`` guard
    in the calling script (``python -m vae_core`` has none). They only run numpy and PIL, so forking a
    process that has torch threads is safe. Elsewhere 'spawn'."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def generate_faces(n: int, resolution: int = 64, seed: int = 0, workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces: (images uint8 [n, R, R, 3], labels int64 [n, 18]).

    Deterministic in (n, resolution, seed) and independent of ``workers`` (default: the usable CPUs);
    face i depends only on (seed, i). ``progress(done, n)`` is called after each block of faces.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if resolution not in SUPPORTED_RESOLUTIONS:
        raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {resolution}")
    labels = sample_attributes(n, seed)
    seeds = _render_seeds(n, seed)
    images = np.empty((n, resolution, resolution, 3), np.uint8)
    workers = _default_workers() if workers is None else max(1, int(workers))
    starts = list(range(0, n, _CHUNK))
    jobs = [(labels[a:a + _CHUNK], resolution, seeds[a:a + _CHUNK]) for a in starts]
    pool = None
    # daemonic processes (e.g. a pool worker of the caller) may not start children: render serially
    if workers > 1 and n >= _MIN_PARALLEL and not multiprocessing.current_process().daemon:
        try:
            with warnings.catch_warnings():  # Python >= 3.12 warns about fork() in threaded processes
                warnings.simplefilter("ignore", DeprecationWarning)
                pool = _pool_context().Pool(min(workers, len(jobs)))
        except OSError:  # no processes to be had (limits, sandbox): slower but still correct
            pool = None
    results = map(_render_chunk, jobs) if pool is None else pool.imap(_render_chunk, jobs)
    try:
        done = 0
        for a, block in zip(starts, results):
            images[a:a + len(block)] = block
            done += len(block)
            if progress is not None:
                progress(done, n)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return images, labels


def _cache_name(n: int, seed: int, resolution: int) -> str:
    return f"synthetic-v{GENERATOR_VERSION}-r{resolution}-s{seed}-n{n}"


def _load_cached(folder: Path, n: int, seed: int, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Memory-mapped (images[:n], labels[:n]) of the smallest valid cache holding at least n faces.

    Because face i depends only on (seed, i), a cache of m >= n faces serves every n <= m: a run with
    ``limit`` reuses the full set's file instead of writing another one.
    """
    prefix = _cache_name(0, seed, resolution)[:-1]  # "...-n"
    found: list[tuple[int, Path]] = []
    for p in folder.glob(f"{glob.escape(prefix)}*.images.npy"):
        count = p.name[len(prefix):-len(".images.npy")]
        if count.isdigit() and int(count) >= n:
            found.append((int(count), p))
    for m, img_path in sorted(found):
        lab_path = img_path.with_name(img_path.name.replace(".images.npy", ".labels.npy"))
        try:
            images = np.load(img_path, mmap_mode="r", allow_pickle=False)
            labels = np.load(lab_path, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # missing half, truncated or foreign file: ignore it
            continue
        if (images.dtype == np.uint8 and images.shape == (m, resolution, resolution, 3)
                and labels.dtype == np.int64 and labels.shape == (m, len(CARTOONSET_SCHEMA))):
            return images[:n], labels[:n]
    return None


def _save_atomic(path: Path, array: np.ndarray) -> None:
    """np.save to a temporary name in the same folder, fsync, then os.replace: readers see the whole
    file or none, and a killed writer leaves only a ``.tmp`` file that no lookup matches."""
    atomic_write(path, lambda fh: np.save(fh, np.ascontiguousarray(array), allow_pickle=False))


def cached_synthetic(spec: DataSpec, cache_dir: Path | None = None, progress: bool = False) -> FaceDataset:
    """:func:`synthetic_dataset` backed by an on-disk cache (``.npy`` files, memory-mapped on load).

    Generating 10,000 faces costs tens of seconds of CPU, every process that trains or explores would
    pay it again, and a memory map lets several processes (DDP ranks, the UI) share one copy in the
    page cache. Files live in ``cache_dir`` (default ``$VAE_CACHE_DIR`` or ``~/.cache/cartoon-vae``)
    under ``synthetic/``, named by generator version, resolution, seed and count, so a change of the
    drawing code (:data:`GENERATOR_VERSION`) never serves stale faces. Labels are written before
    images and each atomically; a lookup needs both, so a crash never yields a half cache. If the
    folder is not writable the faces are returned from memory with a warning.
    """
    if not spec.is_synthetic:
        raise ValueError(f"cached_synthetic needs a synthetic DataSpec, got kind {spec.kind!r}")
    return _cached(spec, cache_dir, progress, write=True)


def _cached(spec: DataSpec, cache_dir: Path | None, progress: bool, write: bool) -> FaceDataset:
    """Read the faces from the cache if it has them; else generate them and, if ``write``, store them."""
    n = _face_count(spec)
    folder = (default_cache_dir() if cache_dir is None else Path(cache_dir)).expanduser() / "synthetic"
    hit = _load_cached(folder, n, spec.seed, spec.resolution) if folder.is_dir() else None
    if hit is not None:
        return _dataset(spec, *hit)
    images, labels = _generate_for(spec, n, progress)
    if write:
        name = _cache_name(n, spec.seed, spec.resolution)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _save_atomic(folder / f"{name}.labels.npy", labels)
            _save_atomic(folder / f"{name}.images.npy", images)
        except OSError as e:
            log.warning("cannot cache synthetic faces in %s (%s); set VAE_CACHE_DIR to a writable folder",
                        folder, e.strerror or e)
        else:
            images = np.load(folder / f"{name}.images.npy", mmap_mode="r", allow_pickle=False)
    return _dataset(spec, images, labels)


def _face_count(spec: DataSpec) -> int:
    return spec.size if spec.limit is None else min(spec.size, spec.limit)


def _generate_for(spec: DataSpec, n: int, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    if not progress:
        return generate_faces(n, resolution=spec.resolution, seed=spec.seed)
    from tqdm.auto import tqdm

    with tqdm(total=n, desc="synthetic faces", unit="face", dynamic_ncols=True) as bar:
        def report(done: int, total: int) -> None:
            bar.update(done - bar.n)

        return generate_faces(n, resolution=spec.resolution, seed=spec.seed, progress=report)


def _dataset(spec: DataSpec, images: np.ndarray, labels: np.ndarray) -> FaceDataset:
    return FaceDataset(images=images, labels=labels, schema=CARTOONSET_SCHEMA, spec=spec,
                       ids=[f"synthetic-{i:06d}" for i in range(len(images))])


def synthetic_dataset(spec: DataSpec, progress: bool = False, use_cache: bool = True,
                      cache_dir: Path | None = None) -> FaceDataset:
    """The FaceDataset a ``kind='synthetic'`` spec describes (``min(size, limit)`` faces, schema of the
    Cartoon Set). Generating only the first ``limit`` faces gives the same faces as cutting them.

    With ``use_cache`` (default) the faces come from the on-disk cache when it holds them (a cache of
    more faces of the same seed serves any prefix); on a miss, sets of at least
    :data:`CACHE_MIN_FACES` faces are generated and written there (:func:`cached_synthetic`), while
    smaller ones take well under a second to generate and never touch disk.
    ``progress`` shows a progress bar while faces are being generated.
    """
    if not spec.is_synthetic:
        raise ValueError(f"synthetic_dataset needs a synthetic DataSpec, got kind {spec.kind!r}")
    if use_cache:
        return _cached(spec, cache_dir, progress, write=_face_count(spec) >= CACHE_MIN_FACES)
    images, labels = _generate_for(spec, _face_count(spec), progress)
    return _dataset(spec, images, labels)
