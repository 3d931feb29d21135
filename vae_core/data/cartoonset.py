"""Reader of the official Cartoon Set layout (https://google.github.io/cartoonset/, CC BY 4.0).

Each face is ``cs<digits>.png`` (500×500 RGBA, transparent background) with a sibling
``cs<digits>.csv`` of 18 lines ``"face_shape", 4, 7`` (attribute, value, number of values). The
100k archive splits the faces over ten subfolders, so files are found recursively.

The CSVs are parsed strictly against :data:`~vae_core.data.schema.CARTOONSET_SCHEMA`: the labels are
the ground truth for attribute directions and disentanglement scores, so a malformed line, an unknown
attribute, a cardinality that disagrees with the schema or an out-of-range value is an error naming
the file and line, never a silently wrong label.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DatasetError
from .imagefolder import path_sort_key
from .schema import CARTOONSET_SCHEMA, AttributeSchema

log = logging.getLogger(__name__)

_IMAGE_NAME = re.compile(r"^cs\d+\.png$")
#: ``"name", value, cardinality`` — quotes optional, spaces free, nothing else on the line.
_LINE = re.compile(r'^\s*(?P<q>"?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P=q)\s*,\s*(?P<value>[+-]?\d+)\s*,'
                   r'\s*(?P<card>[+-]?\d+)\s*$')


@dataclass(frozen=True)
class CartoonsetIndex:
    """The faces of a Cartoon Set folder in sorted order: ``labels`` is int64 [N, 18] in schema order."""

    root: Path
    paths: list[Path]
    ids: list[str]
    labels: np.ndarray
    schema: AttributeSchema = CARTOONSET_SCHEMA

    def __len__(self) -> int:
        return len(self.paths)


def parse_attribute_line(line: str, where: str = "<csv>") -> tuple[str, int, int]:
    """``"name", value, cardinality`` → (name, value, cardinality); DatasetError naming ``where`` if malformed."""
    m = _LINE.match(line)
    if m is None:
        shown = line.strip()
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise DatasetError(
            f"{where}: malformed line {shown!r}; expected '\"attribute\", value, cardinality' "
            "(e.g. '\"face_shape\", 4, 7')"
        )
    return m["name"], int(m["value"]), int(m["card"])


def parse_cartoonset_csv(path: Path, schema: AttributeSchema = CARTOONSET_SCHEMA) -> np.ndarray:
    """The labels of one face as int64 [len(schema)] in schema order (the file's line order is free)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"attribute CSV {str(path)!r} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"attribute CSV {str(path)!r} cannot be read: {e}") from None
    values = np.full(len(schema), -2, np.int64)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {lineno}"
        name, value, card = parse_attribute_line(line, where)
        if name not in schema.names:
            raise DatasetError(f"{where}: unknown attribute {name!r}; the Cartoon Set has {', '.join(schema.names)}")
        j = schema.names.index(name)
        if values[j] != -2:
            raise DatasetError(f"{where}: attribute {name!r} appears twice")
        expected = schema.cardinalities[j]
        if card != expected:
            raise DatasetError(
                f"{where}: attribute {name!r} says it has {card} values but the Cartoon Set schema has "
                f"{expected}; this is not an official Cartoon Set CSV"
            )
        if not 0 <= value < expected:
            raise DatasetError(f"{where}: value {value} of {name!r} is outside 0..{expected - 1}")
        values[j] = value
    missing = [schema.names[j] for j in np.flatnonzero(values == -2)]
    if missing:
        raise DatasetError(f"attribute CSV {str(path)!r} lacks {len(missing)} attribute(s): {', '.join(missing)}")
    return values


def list_cartoonset_files(root: Path) -> list[tuple[Path, Path]]:
    """(png, csv) of every ``cs<digits>.png`` under ``root``, in natural path order.

    A PNG without its CSV is an error (an incomplete extraction must not train on unlabelled faces).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"Cartoon Set folder {str(root)!r} does not exist; get it with "
            "`python -m vae_core download --name cartoonset10k` or pass the folder that holds the cs*.png files"
        )
    pngs = [p for p in root.rglob("cs*.png") if _IMAGE_NAME.match(p.name) and p.is_file()]
    if not pngs:
        raise DatasetError(
            f"no Cartoon Set images (cs<digits>.png) under {str(root)!r}; is it the extracted archive?"
        )
    pngs.sort(key=lambda p: path_sort_key(p.relative_to(root)))
    pairs = [(p, p.with_suffix(".csv")) for p in pngs]
    missing = [png for png, c in pairs if not c.is_file()]
    if missing:
        raise DatasetError(
            f"{len(missing)} Cartoon Set image(s) have no attribute CSV, e.g. {str(missing[0])!r} lacks "
            f"{missing[0].with_suffix('.csv').name!r}; re-extract the archive"
        )
    return pairs


def cartoonset_ids(root: Path, paths: Sequence[Path]) -> list[str]:
    """Ids are paths relative to the root without '.png' ("cs123" or "3/cs123" in the 100k layout)."""
    return [p.relative_to(root).with_suffix("").as_posix() for p in paths]


def read_cartoonset_labels(csv_paths: Sequence[Path]) -> np.ndarray:
    """int64 [N, 18] of the given CSVs."""
    if not csv_paths:
        return np.zeros((0, len(CARTOONSET_SCHEMA)), np.int64)
    return np.stack([parse_cartoonset_csv(c) for c in csv_paths])


def read_cartoonset_index(root: Path, limit: int | None = None) -> CartoonsetIndex:
    """Index (paths, ids, labels) of the first ``limit`` faces (all when None) of a Cartoon Set folder."""
    root = Path(root)
    pairs = list_cartoonset_files(root)
    if limit is not None:
        pairs = pairs[:limit]
    paths = [p for p, _ in pairs]
    labels = read_cartoonset_labels([c for _, c in pairs])
    log.debug("Cartoon Set index of %s: %d faces", root, len(paths))
    return CartoonsetIndex(root=root, paths=paths, ids=cartoonset_ids(root, paths), labels=labels)
