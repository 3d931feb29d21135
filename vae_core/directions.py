"""Directions people make themselves: pick faces that share a feature ("beard", "round face"), get a slider.

Why: a dataset labels few features (the real-face model has three), and the features people want to edit are
the ones nobody labelled. A set of example faces is a label made on the spot, and the same mean difference that
gives the attribute sliders (vae_core.latent.attribute_directions) gives its direction: mean μ(selected) − mean
μ(the rest). Strength 1 adds the whole average gap between the selected faces and the others, as for an
attribute slider.

Each direction carries its own check (:class:`DirectionCheck`): does moving along it bring a face's code nearer
the selected faces than the rest? Checked on faces it was not made from, because on its own faces a mean
difference always "works"; a direction made from faces that share only noise fails it visibly.

Directions are small JSON documents (name, model id, vector) that travel between sessions (export / import,
checked: :func:`read_directions`) and can be saved into a checkpoint folder (``directions/<name>.json``, CLI
``direction``), where the app offers them to every visitor.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .errors import VaeCoreError

FORMAT = "cvae-directions"
VERSION = 1
#: Longest direction name; names are shown as slider labels.
MAX_NAME = 40
#: Largest directions file accepted on import (16 directions of 256 dims as JSON need ~90 kB).
MAX_FILE_BYTES = 512 * 1024
#: Most directions in one file (and in one session).
MAX_DIRECTIONS = 16
#: Largest vector component accepted on import: codes live within a few units; anything this large is not ours.
MAX_COMPONENT = 1000.0
#: Where a checkpoint keeps its saved directions.
DIRECTIONS_DIR = "directions"

_NAME = re.compile(r"^[\w][\w .,'()+-]*$", re.UNICODE)


class DirectionError(VaeCoreError):
    """A direction could not be made or read: the message says what to change."""


#: Fewest selected faces the check needs: it makes the direction from half of them and tests on the other half.
MIN_CHECK_FACES = 4


@dataclass(frozen=True)
class DirectionCheck:
    """Cross-fitted, so that it can fail: the direction made from half of the selected faces and half of the rest
    moves the *other* half's unselected faces by strength 1; ``nearer_*`` is the share of them nearer those
    held-out selected faces' mean than those held-out others' mean, before and after (averaged over both halves).
    A shared feature moves most of them across; faces that share nothing but noise do not (the noise of one half
    does not point at the other half's)."""

    nearer_before: float
    nearer_after: float

    @property
    def works(self) -> bool:
        return self.nearer_after >= 0.5 and self.nearer_after > self.nearer_before

    def sentence(self) -> str:
        verdict = "it works" if self.works else "it barely separates them: pick more, or more alike, faces"
        return (f"checked on faces it was not made from: strength +1 moves {100 * self.nearer_after:.0f}% of the "
                f"other faces nearer the selected ones than the rest (before: {100 * self.nearer_before:.0f}%): "
                f"{verdict}")


@dataclass(frozen=True, eq=False)
class CustomDirection:
    name: str
    model_id: str
    vector: np.ndarray  # [Z] float32
    n_selected: int = 0
    n_rest: int = 0
    check: DirectionCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "vector": [round(float(v), 6) for v in self.vector],
                             "n_selected": self.n_selected, "n_rest": self.n_rest}
        if self.check is not None:
            d["check"] = {"nearer_before": round(self.check.nearer_before, 4),
                          "nearer_after": round(self.check.nearer_after, 4)}
        return d


def check_name(name: Any) -> str:
    """A direction's name, stripped; DirectionError unless 1–40 characters of letters, digits and simple marks."""
    if not isinstance(name, str):
        raise DirectionError(f"a direction's name must be text, got {type(name).__name__}")
    s = " ".join(name.split())
    if not s:
        raise DirectionError("name the feature the selected faces share (e.g. \"beard\")")
    if len(s) > MAX_NAME:
        raise DirectionError(f"a direction's name has at most {MAX_NAME} characters, this one {len(s)}")
    if not _NAME.fullmatch(s):
        raise DirectionError(f"a direction's name may hold letters, digits, spaces and . , ' ( ) + -; got {s[:MAX_NAME]!r}")
    return s


def check_selection(indices: Any, n: int) -> np.ndarray:
    """Sorted unique face indices in [0, n); DirectionError for none, all, or anything not a whole index."""
    if indices is None or isinstance(indices, (str, bytes)) or not isinstance(indices, Iterable):
        raise DirectionError("select the example faces as a list of face numbers")
    if isinstance(indices, Sized) and len(indices) > n:  # checked before the loop: a stranger's list can be huge
        raise DirectionError(f"{len(indices)} face numbers for a map of {n} faces: name each selected face once")
    out = []
    for i in indices:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) and not (isinstance(i, float) and i.is_integer()):
            raise DirectionError(f"face numbers are whole numbers, got {i!r}")
        if not 0 <= int(i) < n:
            raise DirectionError(f"face number {int(i)} does not exist (this map has faces 0–{n - 1})")
        out.append(int(i))
    sel = np.unique(np.asarray(out, np.int64))
    if len(sel) == 0:
        raise DirectionError("select at least one face that shows the feature")
    if len(sel) >= n:
        raise DirectionError("every face is selected: leave out the faces without the feature, so there is a "
                             "difference to measure")
    return sel


def check_direction(mu: np.ndarray, selected: np.ndarray) -> DirectionCheck | None:
    """See :class:`DirectionCheck`; None with fewer than :data:`MIN_CHECK_FACES` selected faces (or other faces)."""
    m = np.asarray(mu, np.float64)
    mask = np.zeros(len(m), bool)
    mask[selected] = True
    sel, rest = np.flatnonzero(mask), np.flatnonzero(~mask)
    if len(sel) < MIN_CHECK_FACES or len(rest) < MIN_CHECK_FACES:
        return None
    halves = [(sel[k::2], rest[k::2]) for k in (0, 1)]
    before, after = [], []
    for (fit_in, fit_out), (test_in, test_out) in (halves, halves[::-1]):
        vector = m[fit_in].mean(axis=0) - m[fit_out].mean(axis=0)
        c_in, c_out = m[test_in].mean(axis=0), m[test_out].mean(axis=0)

        def nearer(z: np.ndarray) -> float:
            return float(np.mean(np.linalg.norm(z - c_in, axis=1) < np.linalg.norm(z - c_out, axis=1)))

        before.append(nearer(m[test_out]))
        after.append(nearer(m[test_out] + vector))
    return DirectionCheck(nearer_before=float(np.mean(before)), nearer_after=float(np.mean(after)))


def direction_from_examples(mu: np.ndarray, selected: Sequence[int], name: Any, model_id: str) -> CustomDirection:
    """mean μ(selected) − mean μ(the rest), with its check. μ: [N, Z], the faces the indices refer to."""
    m = np.asarray(mu, np.float64)
    if m.ndim != 2 or len(m) < 2:
        raise DirectionError("a direction needs the codes of at least two faces")
    label = check_name(name)
    sel = check_selection(selected, len(m))
    mask = np.zeros(len(m), bool)
    mask[sel] = True
    vector = m[mask].mean(axis=0) - m[~mask].mean(axis=0)
    return CustomDirection(name=label, model_id=str(model_id), vector=vector.astype(np.float32),
                           n_selected=int(mask.sum()), n_rest=int((~mask).sum()), check=check_direction(m, sel))


# -- files ----------------------------------------------------------------------------------------------
def dumps(directions: Sequence[CustomDirection], model_id: str, latent_dim: int) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "model_id": model_id, "latent_dim": int(latent_dim),
                       "directions": [d.to_dict() for d in directions]}, separators=(",", ":"))


def read_directions(data: bytes | str, model_id: str, latent_dim: int) -> list[CustomDirection]:
    """Directions from an exported file, checked: size, JSON, format, the model they belong to, names, lengths and
    finite, plausible numbers. DirectionError (one clear sentence) for anything else — the file came from a stranger."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_FILE_BYTES:
        raise DirectionError(f"a directions file is at most {MAX_FILE_BYTES // 1024} kB; this one is "
                             f"{len(raw) // 1024} kB")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DirectionError("this is not a directions file (not JSON text)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DirectionError(f"this is not a directions file (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise DirectionError(f"unsupported directions file version {doc.get('version')!r} (this app reads {VERSION})")
    if str(doc.get("model_id", ""))[:8].lower() != str(model_id)[:8].lower():
        raise DirectionError(f"these directions were made for model {str(doc.get('model_id'))[:12]!r}, not the loaded "
                             f"{model_id}: a direction only means something in the model that made it")
    items = doc.get("directions")
    if not isinstance(items, list) or not items:
        raise DirectionError("the file holds no directions")
    if len(items) > MAX_DIRECTIONS:
        raise DirectionError(f"at most {MAX_DIRECTIONS} directions per file, this one has {len(items)}")
    out = []
    for k, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise DirectionError(f"direction {k} is not an object")
        name = check_name(item.get("name"))
        vec = item.get("vector")
        if not isinstance(vec, list) or len(vec) != latent_dim:
            got = len(vec) if isinstance(vec, list) else type(vec).__name__
            raise DirectionError(f"direction {name!r} has {got} numbers; this model has {latent_dim} latent dimensions")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   and abs(v) <= MAX_COMPONENT for v in vec):
            raise DirectionError(f"direction {name!r} holds a value that is not a finite number within "
                                 f"±{MAX_COMPONENT:g}")
        counts = [item.get(key, 0) for key in ("n_selected", "n_rest")]
        counts = [c if isinstance(c, int) and not isinstance(c, bool) and c >= 0 else 0 for c in counts]
        out.append(CustomDirection(name=name, model_id=str(model_id), vector=np.asarray(vec, np.float32),
                                   n_selected=counts[0], n_rest=counts[1]))
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise DirectionError("two directions in the file share a name")
    return out


def save_to_checkpoint(checkpoint_dir: str | Path, direction: CustomDirection, latent_dim: int) -> Path:
    """Write one direction into ``<checkpoint>/directions/<name>.json`` (atomically); the app offers it to everyone."""
    slug = re.sub(r"[^\w-]+", "-", direction.name.lower()).strip("-") or "direction"
    path = Path(checkpoint_dir) / DIRECTIONS_DIR / f"{slug}.json"
    atomic_write_bytes(path, dumps([direction], direction.model_id, latent_dim).encode())
    return path


def load_from_checkpoint(checkpoint_dir: str | Path, model_id: str, latent_dim: int) -> list[CustomDirection]:
    """The directions saved in a checkpoint folder (files for other weights or damaged ones are skipped)."""
    folder = Path(checkpoint_dir) / DIRECTIONS_DIR
    out: list[CustomDirection] = []
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.extend(read_directions(file.read_bytes(), model_id, latent_dim))
        except (OSError, DirectionError):
            continue
    return out[:MAX_DIRECTIONS]
