"""The sha256 of a file, read in chunks: weights, decoder files, the page runtime and static-site manifests are all
identified by it. Its own module (no torch) so that light tools (the runtime fetcher) can use it too."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: Bytes read at a time: a weights file is hashed without holding it in memory.
CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()
