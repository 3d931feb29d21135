"""Whole files or none: every file the package writes beside files that readers may be opening.

A reader (another session of the app, a second process, the next start after a crash or a kill) must
see the old file or the complete new one, never a prefix. So a file is written to a temporary name in
the same folder, flushed and fsynced, then renamed over the target (atomic on POSIX and Windows within
one filesystem), and the folder is fsynced so the rename survives a power cut. On any failure the
temporary file is removed and the old file is untouched. Temporary names start with a dot and end in
``.tmp`` so no lookup of real files ever matches one a killed writer left behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: str | Path) -> None:
    """Persist a folder's entries (a rename in it); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """A unique hidden temporary name beside ``path`` (per process and call)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write(file)`` — to a temp file beside it, fsync, rename, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))
