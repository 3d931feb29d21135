"""Attribute values people can read: a name where the data set defines one, and a picture for every value.

Why this exists: labels are integer codes ("hair_color = 3"), which say nothing to a person. A data set's
card names the values it knows (the synthetic generator knows its palettes; the redistributed sample's ±1
labels are no/yes), and every value also gets a *swatch*: the decoded average face of that value (the
decoder applied to the mean posterior code of the faces labelled with it), which shows what the value
looks like to this model. For colour attributes a colour is also measured, on the data: the mean colour of
the pixels where the faces with that value differ most from all faces, so the latent map can draw hair
colours in their own colour and an unnamed colour value gets a colour name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.cards import card_for

#: Named reference colours for naming a measured colour (sRGB).
COLOUR_NAMES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (30, 28, 28)), ("dark brown", (75, 50, 35)), ("brown", (125, 82, 50)),
    ("light brown", (170, 122, 78)), ("auburn", (150, 55, 35)), ("ginger", (215, 115, 55)),
    ("blond", (225, 190, 105)), ("platinum", (240, 228, 190)), ("grey", (150, 150, 155)),
    ("white", (235, 235, 240)), ("red", (200, 45, 45)), ("pink", (230, 140, 170)), ("purple", (130, 70, 160)),
    ("blue", (60, 110, 210)), ("teal", (40, 150, 150)), ("green", (60, 150, 75)), ("yellow", (230, 210, 60)),
    ("orange", (235, 140, 40)), ("beige", (235, 205, 175)), ("tan", (205, 150, 105)),
)


def colour_name(rgb) -> str:
    """The nearest of :data:`COLOUR_NAMES` to an sRGB colour (plain Euclidean distance: good enough to say
    'dark brown' rather than 'value 1')."""
    c = np.asarray(rgb, np.float64)
    return min(COLOUR_NAMES, key=lambda nc: float(((np.asarray(nc[1]) - c) ** 2).sum()))[0]


def is_colour_attribute(name: str) -> bool:
    return name.endswith("_color") or name.endswith("_colour")


@dataclass(frozen=True)
class ValueSwatch:
    """One value of one attribute: its code, readable name, number of labelled faces, average face
    (uint8 [R, R, 3]) and, for colour attributes, the measured colour (sRGB) of what it changes."""

    value: int
    name: str
    count: int
    face: np.ndarray
    colour: tuple[int, int, int] | None = None

    @property
    def hex(self) -> str | None:
        return None if self.colour is None else "#{:02x}{:02x}{:02x}".format(*self.colour)


def measured_colour(faces: np.ndarray, average: np.ndarray, share: float = 0.02) -> tuple[int, int, int]:
    """The colour a value gives faces: the mean image of the faces labelled with it (uint8 [N, t, t, 3]),
    averaged over the ``share`` of pixels where it differs most from the mean image of all faces."""
    f = faces.astype(np.float64).mean(axis=0).reshape(-1, 3)
    diff = np.abs(f - average.reshape(-1, 3)).sum(axis=1)
    k = max(1, int(len(diff) * share))
    top = np.argpartition(-diff, k - 1)[:k]
    r, g, b = np.round(f[top].mean(axis=0)).astype(int).tolist()
    return int(r), int(g), int(b)


def value_swatches(data_spec, directions, decode, thumbnails: np.ndarray | None = None,
                   labels: np.ndarray | None = None, schema=None) -> dict[str, list[ValueSwatch]]:
    """Per attribute with directions (see :func:`vae_core.latent.attribute_directions`), a swatch per value.

    ``decode``: codes [B, Z] → uint8 faces [B, R, R, 3] (every value's average face, in one batch). Colours
    of colour attributes are measured on the data, ``thumbnails`` [N, t, t, 3] with ``labels`` [N, A] in
    ``schema``'s order: real pixels hold colours a decoded average blurs.
    """
    card = card_for(data_spec)
    known = card.value_names if card is not None else {}
    names = list(directions)
    if not names:
        return {}
    faces = decode(np.concatenate([np.asarray(directions[n].class_means, np.float32) for n in names]))
    average = thumbnails.astype(np.float64).mean(axis=0) if thumbnails is not None and len(thumbnails) else None
    out: dict[str, list[ValueSwatch]] = {}
    i = 0
    for n in names:
        d = directions[n]
        col = labels[:, schema.index(n)] if average is not None and labels is not None and schema is not None else None
        row = []
        for v, c in zip(d.values, d.counts):
            face = faces[i]
            i += 1
            colour = None
            if is_colour_attribute(n) and col is not None and (col == v).any():
                colour = measured_colour(thumbnails[col == v], average)
            name = known.get(n, {}).get(int(v))
            if name is None:
                name = f"{colour_name(colour)} (measured)" if colour is not None else f"value {int(v)}"
            row.append(ValueSwatch(value=int(v), name=name, count=int(c), face=face, colour=colour))
        out[n] = row
    return out
