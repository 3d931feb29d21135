"""The face parts other than hair: ears, skin, eyes, brows, nose and mouth, facial hair, glasses.

One function per part, each reading the attribute values it depends on, so a label maps to the lines
that draw it. Every attribute value changes the drawing (the "none" values of facial hair and glasses
draw nothing, as in the real set).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from .attributes import COLUMN, FACIAL_HAIR_NONE, GLASSES_NONE
from .canvas import Canvas, Points, ellipse, mirror, stroke_polygon
from .face import Face
from .palette import INK, IRIS, MOUTH, SCLERA, TEETH, TONGUE, WHITE, Color, darken, mix


def draw_ears(cv: Canvas, f: Face) -> None:
    for s in (-1, 1):
        ex = f.cx + s * (f.halfwidth(f.eye_y + 0.03) - 0.004)
        cv.poly(ellipse(ex, f.eye_y + 0.035, 0.04, 0.06, n=32), f.skin, darken(f.skin))
        t0 = -1.6 if s > 0 else 1.5  # the inner fold, on the outer half of each ear
        cv.line(ellipse(ex + s * 0.008, f.eye_y + 0.035, 0.018, 0.032, n=12, t0=t0, t1=t0 + 3.2),
                darken(f.skin, 0.7), 0.006)


def draw_face(cv: Canvas, f: Face) -> None:
    cv.poly(f.contour(np.linspace(0, 2 * np.pi, 128, endpoint=False)), f.skin, darken(f.skin))


# eye_slant -> (rx, ry): round, almond, narrow
_EYE_SIZES = ((0.054, 0.047), (0.06, 0.037), (0.063, 0.028))


def draw_eyes(img: Image.Image, cv: Canvas, f: Face, attrs: np.ndarray) -> None:
    """Eyes: sclera, iris and pupil clipped to the eye shape, optional lid and lashes.

    The iris is painted on a cropped patch and pasted through the sclera's mask, so narrow eyes cut it
    off the way cartoon eyes do.
    """
    rx, ry = _EYE_SIZES[int(attrs[COLUMN["eye_slant"]])]
    tilt = (-0.2, 0.0, 0.2)[int(attrs[COLUMN["eye_angle"]])]
    iris = IRIS[int(attrs[COLUMN["eye_color"]])]
    lid, lashes = int(attrs[COLUMN["eye_lid"]]), int(attrs[COLUMN["eye_lashes"]])
    ink = (38, 30, 30)
    for s in (-1, 1):
        ex, ey, ang = f.cx + s * f.eye_dx, f.eye_y, -s * tilt
        sclera = ellipse(ex, ey, rx, ry, angle=ang, n=40)
        pad = 2
        xy = cv.px(sclera)
        box = (int(xy[:, 0].min()) - pad, int(xy[:, 1].min()) - pad, int(xy[:, 0].max()) + pad + 1,
               int(xy[:, 1].max()) + pad + 1)
        patch = img.crop(box)
        pc = Canvas(ImageDraw.Draw(patch), cv.scale, cv.stroke, origin=(box[0], box[1]))
        pc.poly(sclera, SCLERA)
        ri = 0.033
        pc.disc(ex, ey + 0.003, ri, iris, darken(iris, 0.5))
        pc.disc(ex, ey + 0.003, ri * 0.45, (12, 10, 10))
        pc.disc(ex + 0.35 * ri, ey - 0.3 * ri, ri * 0.3, WHITE)
        if lid:
            ca, sa = np.cos(ang), np.sin(ang)
            k = ry * 0.2
            lid_pts = np.array([[-2 * rx, -2 * ry], [2 * rx, -2 * ry], [2 * rx, -k], [-2 * rx, -k]])
            lid_pts = np.stack([ex + lid_pts[:, 0] * ca - lid_pts[:, 1] * sa, ey + lid_pts[:, 0] * sa + lid_pts[:, 1] * ca], 1)
            pc.poly(lid_pts, mix(f.skin, (0, 0, 0), 0.12))
            pc.line(lid_pts[2:4], darken(f.skin, 0.5), 0.007)
        mask = Image.new("L", patch.size, 0)
        ImageDraw.Draw(mask).polygon(pc.flat_xy(sclera), fill=255)
        img.paste(patch, box, mask)
        cv.line(np.vstack([sclera, sclera[:1]]), ink, 0.009)
        if lashes:
            upper = ellipse(ex, ey, rx, ry, angle=ang, n=20, t0=np.pi, t1=2 * np.pi)
            cv.line(upper, ink, 0.016)
            a = -0.05 if s > 0 else np.pi + 0.05  # the outer corner
            ox, oy = ellipse(ex, ey, rx, ry, angle=ang, n=1, t0=a, t1=a)[0]
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


def draw_brows(cv: Canvas, f: Face, attrs: np.ndarray) -> None:
    shape = int(attrs[COLUMN["eyebrow_shape"]])
    curve, tilt = _BROW_CURVES[shape % 7], (-0.014, 0.014)[shape // 7]
    thick = (0.014, 0.021, 0.029, 0.038)[int(attrs[COLUMN["eyebrow_thickness"]])]
    width = (0.08, 0.1, 0.122)[int(attrs[COLUMN["eyebrow_width"]])]
    gap = (0.028, 0.045, 0.062)[int(attrs[COLUMN["eye_eyebrow_distance"]])]
    ry = _EYE_SIZES[int(attrs[COLUMN["eye_slant"]])][1]
    color = mix(f.hair, f.skin, 0.35) if int(attrs[COLUMN["eyebrow_weight"]]) == 0 else darken(f.hair, 0.55)
    base_y = f.eye_y - ry - gap
    t = np.linspace(0, 1, 20)
    for s in (-1, 1):
        x = f.cx + s * (f.eye_dx - 0.45 * width + width * t)
        y = base_y - curve(t) - tilt * (1 - t)
        th = thick * (1 - 0.45 * t**1.5)
        cv.poly(stroke_polygon(np.stack([x, y], 1), th), color, darken(color, 0.7), 0.004)


def draw_nose_mouth(cv: Canvas, f: Face) -> None:
    shade = darken(f.skin, 0.62)
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
    cv.poly(ellipse(f.cx, my + 0.04, 0.03, 0.014, n=20), TONGUE)
    teeth = np.vstack([np.stack([x, upper], 1), np.stack([x, upper + 0.017 * (1 - xn**2) ** 0.5], 1)[::-1]])
    cv.poly(teeth, TEETH)
    cv.poly(mouth, None, INK, 0.009)


def _beard_region(f: Face, grow: float, bottom: float = 0.0) -> Points:
    """Cheeks, jaw and chin below a line under the nose: the area of a full beard."""
    outer = f.contour(np.linspace(-0.12, np.pi + 0.12, 48), grow_x=grow, grow_y=grow, grow_bot=grow + bottom)
    xn = np.linspace(-1, 1, 24)
    x = f.cx + xn * (f.halfwidth(f.cy + 0.03) + grow * 0.5)
    y = f.cy + 0.03 + (f.nose_y + 0.03 - f.cy - 0.03) * (1 - xn**2) ** 0.8
    return np.vstack([outer, np.stack([x, y], 1)])


def _moustache(f: Face, kind: str) -> Points:
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
    center = np.vstack([mirror(right, f.cx)[::-1], right[1:]])
    thick = np.concatenate([th[::-1], th[1:]])
    return stroke_polygon(center, thick)


def _goatee(f: Face, soul_patch: bool = False) -> Points:
    my = f.mouth_y
    if soul_patch:
        return np.array([[f.cx - 0.022, my + 0.048], [f.cx + 0.022, my + 0.048], [f.cx, my + 0.088]])
    chin = f.contour(np.linspace(np.pi / 2 - 0.42, np.pi / 2 + 0.42, 16), grow_x=0.01, grow_y=0.01)
    top = np.array([[f.cx - 0.05, my + 0.048], [f.cx - 0.015, my + 0.044], [f.cx + 0.015, my + 0.044],
                    [f.cx + 0.05, my + 0.048]])
    return np.vstack([chin, top])


def draw_facial_hair(cv: Canvas, f: Face, value: int, layer: str) -> None:
    """Beards (``layer='under'``, before the mouth) and moustaches (``layer='over'``, after it)."""
    if value == FACIAL_HAIR_NONE:
        return
    col, line = darken(f.hair, 0.78), darken(f.hair, 0.4)
    stubble = mix(f.hair, f.skin, 0.55)
    beards: dict[int, Callable[[], None]] = {
        0: lambda: cv.poly(_beard_region(f, 0.012), col, line),
        1: lambda: cv.poly(_beard_region(f, 0.004), mix(col, f.skin, 0.3), line),
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
        return ellipse(ex, ey, 0.062, 0.062, n=40)
    if kind == 1:
        return ellipse(ex, ey, 0.048, 0.048, n=32)
    if kind == 2:
        return ellipse(ex, ey, 0.07, 0.05, n=40)
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


def draw_glasses(cv: Canvas, f: Face, kind: int, color: Color) -> None:
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
    lenses = (lens_r, mirror(lens_r, f.cx))
    for k, lens in enumerate(lenses):
        s = 1 if k == 0 else -1
        if kind == 10:
            cv.poly(lens, (28, 30, 38))
            cv.line(ellipse(f.cx + s * f.eye_dx + 0.02, f.eye_y - 0.015, 0.02, 0.01, n=8, t0=3.5, t1=5.0),
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
