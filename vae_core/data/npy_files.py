"""Arrays on disk as ``.npy`` files: written whole or not at all, read back memory-mapped and checked.

Both dataset caches (preprocessed real images, :mod:`.cache`; generated synthetic faces,
:mod:`.synthetic.dataset`) keep ``uint8 [N, R, R, 3]`` images and ``int64`` labels this way: a memory
map costs page cache rather than RSS, and several processes (DDP ranks, the UI) share one copy. A
cache is read by processes that did not write it, possibly while a writer is killed, so a file only
ever appears under its real name complete (see :mod:`vae_core.atomic`), and a reader checks dtype and
shape instead of trusting a file name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import atomic_write


def save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` (no pickles) to ``path`` atomically: readers see the whole file or none."""
    atomic_write(path, lambda fh: np.save(fh, np.ascontiguousarray(array), allow_pickle=False))


def write_npy_rows(path: Path, dtype: np.dtype | type, shape: tuple[int, ...], rows: Iterable[np.ndarray]) -> None:
    """Stream ``rows`` (``shape[0]`` arrays of ``shape[1:]``) into a new ``.npy`` at ``path``, atomically.

    For arrays too large to hold in memory first: each row is written as it arrives. If ``rows`` raises
    (or yields the wrong number or shape of rows) nothing appears at ``path``.
    """
    dtype = np.dtype(dtype)

    def write(fh: BinaryIO) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
        np.lib.format.write_array_header_1_0(fh, header)
        count = 0
        for row in rows:
            if row.shape != shape[1:] or count == shape[0]:
                raise ValueError(f"row {count} of {path.name} has shape {row.shape}, expected {shape[0]} rows of "
                                 f"{shape[1:]}")
            fh.write(np.ascontiguousarray(row, dtype=dtype).tobytes())
            count += 1
        if count != shape[0]:
            raise ValueError(f"{path.name} got {count} rows, expected {shape[0]}")

    atomic_write(path, write)


def load_npy(path: Path, dtype: np.dtype | type, shape: tuple[int | None, ...], mmap: bool = False) -> np.ndarray:
    """The array at ``path`` (read-only memory map if ``mmap``), which must have ``dtype`` and ``shape``.

    ``None`` in ``shape`` accepts any length on that axis. Raises OSError when the file cannot be read
    and ValueError when it is not a plain ``.npy`` array of that dtype and shape (truncated, foreign).
    """
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except EOFError:  # an empty file
        raise ValueError(f"{path.name} is empty") from None
    fits = len(array.shape) == len(shape) and all(w is None or w == s for w, s in zip(shape, array.shape))
    if array.dtype != np.dtype(dtype) or not fits:
        want = tuple("any" if w is None else w for w in shape)
        raise ValueError(f"{path.name} holds {array.dtype} {array.shape}, expected {np.dtype(dtype)} {want}")
    return array
