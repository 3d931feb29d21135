"""Any folder of images as a dataset, with an optional labels CSV turned into categorical attributes.

Lets people train and explore on their own faces (or on a redistributed Cartoon Set sample such as
``cartoonset-sample-256``) without writing code. Images are found recursively and sorted in natural
order ("2.png" before "10.png"), so ``DataSpec.limit`` always picks the same files.

The labels CSV has a header; one column names the image files (``file_name``, ``filename``, ``image``
… or, failing that, a first column whose values are image file names) and every other column of
integers becomes an attribute. Values are remapped to 0..k-1 in sorted order (±1 → 0/1); a -1 in a
column whose other values are 0-based codes (0, 1, 2, …) means *unknown* (as the course's
``hair_color`` uses it) and becomes :data:`~vae_core.data.schema.UNKNOWN`. Columns that are not
integers, that are constant, or that look like identifiers (too many distinct values) are skipped with
a note, rows naming missing files are ignored, and files without a row get UNKNOWN labels.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DatasetError
from .schema import UNKNOWN, AttributeSchema

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
#: Header names (lower-cased, spaces/dashes as underscores) recognised as the file-name column.
FILE_COLUMN_NAMES = frozenset({
    "file", "filename", "file_name", "fname", "filepath", "file_path", "path", "image", "image_name",
    "image_file", "image_id", "image_path", "img", "img_name", "name", "id",
})
#: An integer column with more distinct values than this is an identifier, not an attribute.
MAX_ATTRIBUTE_VALUES = 512

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key putting "img2" before "img10" (case-insensitive, ties broken by the exact text)."""
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)) + (text,)


def path_sort_key(rel: Path) -> tuple:
    """Natural order of a relative path, folder by folder."""
    return tuple(natural_key(part) for part in rel.parts)


def list_image_files(root: Path) -> list[Path]:
    """All images under ``root`` (recursive, hidden files and folders skipped), in natural order."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"image folder {str(root)!r} does not exist or is not a folder")
    found: list[Path] = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
            found.append(p)
    if not found:
        raise DatasetError(
            f"image folder {str(root)!r} contains no images "
            f"(looked recursively for {', '.join(IMAGE_EXTENSIONS)})"
        )
    found.sort(key=lambda p: path_sort_key(p.relative_to(root)))
    return found


@dataclass(frozen=True)
class LabelTable:
    """Attributes read from a labels CSV for a list of files.

    ``labels``: int64 [N, A] in the order of the files given, UNKNOWN (-1) where a file has no row or
    an empty cell; ``value_maps[name]`` maps each original CSV value to its code; ``notes`` says which
    columns were skipped and why.
    """

    schema: AttributeSchema
    labels: np.ndarray
    value_maps: dict[str, dict[int, int]]
    notes: tuple[str, ...] = field(default=())
    matched: int = 0


def _norm_header(h: str) -> str:
    return re.sub(r"[\s\-]+", "_", h.strip().lower())


def _parse_int(cell: str) -> int | None:
    """Integer of a cell, None for an empty cell; raises ValueError when it is not an integer."""
    s = cell.strip()
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        f = float(s)  # "1.0" is an integer written by pandas; "1.5" is not
        if not f.is_integer():
            raise
        return int(f)


class _FileMatcher:
    """Finds the image file a CSV key names: relative path, with or without extension, or stem.

    Ambiguous stems (the same name in two subfolders) only match by relative path; purely numeric keys
    also match zero-padded file names ("1" → "000001.png").
    """

    def __init__(self, root: Path, files: Sequence[Path]) -> None:
        self._map: dict[str, int | None] = {}
        self._num: dict[int, int | None] = {}
        for i, p in enumerate(files):
            rel = p.relative_to(root).as_posix()
            keys = {rel.lower(), rel[: -len(p.suffix)].lower() if p.suffix else rel.lower(),
                    p.name.lower(), p.stem.lower()}
            for k in keys:
                self._map[k] = i if self._map.get(k, i) == i else None
            if p.stem.isdigit():
                n = int(p.stem)
                self._num[n] = i if self._num.get(n, i) == i else None

    def find(self, key: str) -> int | None:
        k = key.strip().replace("\\", "/").lower()
        while k.startswith("./"):
            k = k[2:]
        if not k:
            return None
        hit = self._map.get(k)
        if hit is None and "/" in k:
            hit = self._map.get(k.rsplit("/", 1)[-1])
        if hit is None and k.isdigit():
            hit = self._num.get(int(k))
        return hit


def _find_file_column(header: list[str], rows: list[list[str]], csv_path: Path) -> int:
    normed = [_norm_header(h) for h in header]
    for j, h in enumerate(normed):
        if h in FILE_COLUMN_NAMES:
            return j
    firsts = [r[0].strip().lower() for r in rows[:50] if r]
    if firsts and sum(f.endswith(IMAGE_EXTENSIONS) for f in firsts) >= max(1, len(firsts) // 2):
        return 0
    raise DatasetError(
        f"labels CSV {str(csv_path)!r} has no file-name column: its header {header} should name one "
        "column e.g. 'file_name' (values like '12.png' or '12') and the other columns integer attributes"
    )


def _read_csv_table(csv_path: Path) -> tuple[list[str], list[list[str]], int]:
    """(header, rows, file-name column) of a labels CSV, every row as long as the header."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            table = [row for row in csv.reader(f)]
    except FileNotFoundError:
        raise DatasetError(f"labels CSV {str(csv_path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"labels CSV {str(csv_path)!r} cannot be read as UTF-8 CSV: {e}") from None
    table = [r for r in table if any(c.strip() for c in r)]
    if len(table) < 2:
        raise DatasetError(f"labels CSV {str(csv_path)!r} needs a header line and at least one row")
    header, rows = [h.strip() for h in table[0]], table[1:]
    fcol = _find_file_column(header, rows, csv_path)
    for lineno, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise DatasetError(
                f"labels CSV {str(csv_path)!r} line {lineno}: {len(r)} cells but the header has {len(header)}"
            )
    return header, rows, fcol


def _match_rows(csv_path: Path, rows: list[list[str]], fcol: int, root: Path, files: Sequence[Path]) -> dict[int, int]:
    """{file index: row index} for the rows of one CSV that name one of ``files``."""
    matcher = _FileMatcher(Path(root), files)
    row_of_file: dict[int, int] = {}
    seen_keys: dict[str, int] = {}
    unmatched = 0
    for k, r in enumerate(rows):
        key = r[fcol].strip()
        norm = key.lower()
        if norm in seen_keys:
            raise DatasetError(
                f"labels CSV {str(csv_path)!r} has duplicate rows for {key!r} "
                f"(lines {seen_keys[norm] + 2} and {k + 2}); keep one row per file"
            )
        seen_keys[norm] = k
        i = matcher.find(key)
        if i is None:
            unmatched += 1
            continue
        if i in row_of_file:
            raise DatasetError(
                f"labels CSV {str(csv_path)!r} lines {row_of_file[i] + 2} and {k + 2} both describe "
                f"{files[i].name!r}; keep one row per file"
            )
        row_of_file[i] = k
    if unmatched:
        log.info("labels CSV %s: %d row(s) name files that are not in the dataset; ignored", csv_path, unmatched)
    return row_of_file


@dataclass(frozen=True)
class LabelSource:
    """One folder's images and its labels CSV (None: the folder has none, its faces are unlabelled)."""

    csv_path: Path | None
    root: Path
    files: Sequence[Path]


def read_labels_csv(csv_path: Path, root: Path, files: Sequence[Path]) -> LabelTable | None:
    """Attributes for ``files`` (under ``root``) from ``csv_path``; None when no column is usable.

    The value mapping is built from all CSV rows, not only the matched ones, so it does not change
    with ``DataSpec.limit``.
    """
    return read_labels_csvs([LabelSource(Path(csv_path), Path(root), files)])


def read_labels_csvs(sources: Sequence[LabelSource]) -> LabelTable | None:
    """Attributes for the files of several folders, each labelled by its own CSV, as one table.

    Why one table rather than one per folder: a value code (hair colour 3) must mean the same in every
    folder, so the value mapping is built from the rows of all CSVs together. The CSVs must name the same
    columns; a folder without a CSV gives its files UNKNOWN labels.
    """
    # All rows of all CSVs as one list of attribute cells, and where each file's row is in it.
    attr_names: list[str] | None = None
    all_rows: list[list[str]] = []
    row_of_file: dict[int, int] = {}
    csvs: list[str] = []
    n_files = 0
    for src in sources:
        if src.csv_path is not None:
            header, rows, fcol = _read_csv_table(Path(src.csv_path))
            names_here = [h for j, h in enumerate(header) if j != fcol]
            if attr_names is None:
                attr_names = names_here
            elif names_here != attr_names:
                raise DatasetError(
                    f"labels CSVs {csvs[0]!r} and {str(src.csv_path)!r} name different columns; "
                    "folders read as one dataset need the same attribute columns"
                )
            csvs.append(str(src.csv_path))
            base = len(all_rows)
            all_rows.extend([c for j, c in enumerate(r) if j != fcol] for r in rows)
            for i, k in _match_rows(Path(src.csv_path), rows, fcol, src.root, src.files).items():
                row_of_file[n_files + i] = base + k
        n_files += len(src.files)
    if attr_names is None:
        return None
    where = ", ".join(csvs)

    names: list[str] = []
    cards: list[int] = []
    value_maps: dict[str, dict[int, int]] = {}
    columns: list[np.ndarray] = []
    notes: list[str] = []
    for j, h in enumerate(attr_names):
        try:
            values = [_parse_int(r[j]) for r in all_rows]
        except ValueError:
            notes.append(f"column {h!r} is not integer; ignored")
            continue
        distinct = sorted({v for v in values if v is not None})
        unknown_minus_one = -1 in distinct and len(distinct) > 1 and 0 in distinct and distinct[0] == -1
        codes = [v for v in distinct if not (unknown_minus_one and v == -1)]
        if len(codes) < 2:
            notes.append(f"column {h!r} has a single value {codes}; ignored (nothing to learn)")
            continue
        if len(codes) > MAX_ATTRIBUTE_VALUES:
            notes.append(f"column {h!r} has {len(codes)} distinct values (an identifier?); ignored")
            continue
        if not h or h in names:
            notes.append(f"attribute column {j + 1} has an empty or repeated name {h!r}; ignored")
            continue
        vmap = {v: c for c, v in enumerate(codes)}
        coded = np.array([UNKNOWN if v is None or v not in vmap else vmap[v] for v in values], np.int64)
        names.append(h)
        cards.append(len(codes))
        value_maps[h] = vmap
        columns.append(coded)
    for n in notes:
        log.info("labels CSV %s: %s", where, n)
    if not names:
        log.warning("labels CSV %s has no usable attribute column; the dataset is unlabelled", where)
        return None
    labels = np.full((n_files, len(names)), UNKNOWN, np.int64)
    if row_of_file:
        idx = np.fromiter(row_of_file.keys(), np.int64)
        src_rows = np.fromiter(row_of_file.values(), np.int64)
        labels[idx] = np.stack(columns, axis=1)[src_rows]
    if len(row_of_file) < n_files:
        log.info("labels CSV %s: %d of %d image(s) have no row; their labels are unknown",
                 where, n_files - len(row_of_file), n_files)
    return LabelTable(schema=AttributeSchema(tuple(names), tuple(cards)), labels=labels,
                      value_maps=value_maps, notes=tuple(notes), matched=len(row_of_file))


def find_labels_csv(root: Path, labels_csv: str | None) -> tuple[Path | None, bool]:
    """(CSV path, explicitly given?) for a folder dataset.

    An explicit path is resolved against the working directory, then against the folder. Without one,
    a ``labels.csv`` at the folder root is used (reported as auto-detected, so its problems are
    warnings rather than errors).
    """
    if labels_csv:
        p = Path(labels_csv).expanduser()
        for cand in (p, Path(root) / p):
            if cand.is_file():
                return cand, True
        raise DatasetError(f"labels CSV {labels_csv!r} does not exist (looked in the working folder and in {str(root)!r})")
    auto = Path(root) / "labels.csv"
    return (auto, False) if auto.is_file() else (None, False)


def image_ids(root: Path, files: Sequence[Path]) -> list[str]:
    """Stable ids: paths relative to the folder, '/'-separated."""
    return [p.relative_to(root).as_posix() for p in files]
