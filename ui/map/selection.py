"""Faces selected on the latent map to make a direction from: what the map's box or lasso sent, minus the faces the
visitor left out by clicking them in the selection's gallery.

A selection belongs to one checkpoint's map (its indices are that map's faces), so it carries the model id and is
refused, with a message, once the session has switched to another model. The indices come from the browser: they
are checked here (whole numbers on the map, each once) before anything uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..common.errors import UserInputError

#: Faces shown in the selection's gallery (all selected faces count, shown or not).
GALLERY_LIMIT = 48


@dataclass(frozen=True)
class Selection:
    """Dataset indices selected on the map of model ``model_id``, and those left out of the direction."""

    model_id: str = ""
    indices: tuple[int, ...] = ()
    left_out: frozenset[int] = field(default_factory=frozenset)

    @property
    def chosen(self) -> tuple[int, ...]:
        """The faces the direction is made from."""
        return tuple(i for i in self.indices if i not in self.left_out)

    def for_model(self, model_id: str) -> "Selection":
        """This selection if it was made on this model's map, else an empty one."""
        return self if self.model_id == model_id else Selection(model_id=model_id)

    def toggle(self, position: int) -> "Selection":
        """Leave out (or take back) the face shown at ``position`` of the selection's gallery."""
        if not 0 <= position < min(len(self.indices), GALLERY_LIMIT):
            raise UserInputError(f"there is no face {position} in the selection's gallery")
        i = self.indices[position]
        left = self.left_out - {i} if i in self.left_out else self.left_out | {i}
        return Selection(self.model_id, self.indices, frozenset(left))


def from_event(data: object, n: int, model_id: str) -> Selection:
    """The selection the map's ``select`` event sent: ``{"indices": [...]}`` of a map with ``n`` faces."""
    raw = data.get("indices") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise UserInputError("the map sent a selection without a list of faces; select the faces again")
    if len(raw) > n:
        raise UserInputError(f"the map sent {len(raw)} faces but has only {n}; select the faces again")
    out: list[int] = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer() or not 0 <= v < n:
            raise UserInputError(f"the map sent a face number that is not on it ({v!r}); select the faces again")
        out.append(int(v))
    return Selection(model_id=model_id, indices=tuple(dict.fromkeys(out)))


def describe(sel: Selection, n: int) -> str:
    """The "Make a direction" panel's line: how many faces, and what to do next (or what is wrong)."""
    if not sel.indices:
        return ("**No faces selected.** Choose *Box select* or *Lasso select* in the map's toolbar and draw around "
                "faces that share a feature (shift adds to the selection); then name the feature below.")
    k, out = len(sel.chosen), len(sel.left_out)
    left = f" ({out} left out)" if out else ""
    shown = (f" The gallery shows the first {GALLERY_LIMIT}." if len(sel.indices) > GALLERY_LIMIT else "")
    if k == 0:
        return f"**Every selected face is left out**{left}: click a face in the gallery to take it back."
    if k >= n:
        return (f"**All {n} faces are selected**: a direction is the difference between the faces you select and "
                "the rest, so leave out the faces without the feature.")
    return (f"**{k} of {n} faces selected**{left}. Click a face in the gallery to leave it out (click again to take "
            f"it back); name the feature they share and make its slider.{shown}")


def gallery_items(sel: Selection, thumbnails: np.ndarray, ids) -> list[tuple[np.ndarray, str]]:
    """(thumbnail, caption) for the first :data:`GALLERY_LIMIT` selected faces; left-out faces are greyed."""
    items = []
    for i in sel.indices[:GALLERY_LIMIT]:
        img = thumbnails[i]
        if i in sel.left_out:
            img = (0.35 * img.astype(np.float32) + 0.65 * 235).astype(np.uint8)
        items.append((img, f"{'left out · ' if i in sel.left_out else ''}{ids[i]}"))
    return items
