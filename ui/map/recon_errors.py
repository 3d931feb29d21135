"""Per-face reconstruction error of a checkpoint's map faces, for the map's "reconstruction error" colouring.

Why thumbnails: a checkpoint ships its map's faces as μ and 32×32 thumbnails only (the dataset itself may not be
on the server: a Space has none), so the error is measured where the faces are known: each face's decoded μ,
shrunk to the thumbnail's size exactly as the thumbnails were made (box filter), against its thumbnail. It ranks
faces by how well the model keeps their overall shapes and colours; detail finer than 32 pixels is not in it.
The map's status says so.

Why in the background: decoding every map face costs seconds (1500 faces at 64 px: ~4 s on one core), too long
for a request. The first request for the colouring starts one thread per checkpoint version; the result is kept
in memory and in the UI cache (``map-colors/recon-<weights>-<faces>.npz``, written atomically), so a restart
reads it back at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from vae_core.atomic import atomic_write
from vae_core.explorer import make_thumbnails

log = logging.getLogger(__name__)

#: Faces decoded per batch (bounds the memory of one step: 128 faces at 64 px are 1.5 MB).
BATCH = 128
#: Nice value of the computing thread: the app's interactive requests come first.
JOB_NICENESS = 10

State = Literal["missing", "running", "ready", "failed"]


def thumbnail_errors(decode: Callable[[np.ndarray], np.ndarray], mu: np.ndarray, thumbnails: np.ndarray,
                     batch: int = BATCH) -> np.ndarray:
    """Per face, the mean squared error (pixel values in [0, 1]) between its decoded μ shrunk to the thumbnail
    size and its thumbnail: μ [N, Z], thumbnails uint8 [N, t, t, 3] → float32 [N]. ``decode``: [B, Z] → uint8
    [B, R, R, 3] (:meth:`vae_core.explorer.Explorer.decode`)."""
    mu = np.asarray(mu, np.float32)
    if len(mu) != len(thumbnails):
        raise ValueError(f"{len(mu)} codes but {len(thumbnails)} thumbnails")
    t = thumbnails.shape[1]
    out = np.empty(len(mu), np.float32)
    for s in range(0, len(mu), batch):
        rec = make_thumbnails(decode(mu[s:s + batch]), t).astype(np.float32) / 255.0
        ref = thumbnails[s:s + batch].astype(np.float32) / 255.0
        out[s:s + batch] = np.square(rec - ref).reshape(len(rec), -1).mean(axis=1)
    return out


def cache_file(cache_dir: Path, fingerprint: str, mu: np.ndarray, thumbnails: np.ndarray) -> Path:
    """Where one checkpoint's errors are kept: named by its weights and by the faces measured (their μ and
    thumbnails), so retrained weights or another sample of faces never read stale errors."""
    faces = hashlib.sha256(np.ascontiguousarray(mu).tobytes() + np.ascontiguousarray(thumbnails).tobytes())
    return Path(cache_dir) / "map-colors" / f"recon-{fingerprint[:16]}-{faces.hexdigest()[:12]}.npz"


def read_errors(file: Path, n: int) -> np.ndarray | None:
    """The cached errors [n], or None when the file is missing, unreadable or of another length."""
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            errors = np.asarray(z["mse"], np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        log.warning("cached reconstruction errors %s are unreadable (%s); recomputing them", file, e)
        return None
    return errors if errors.shape == (n,) and np.isfinite(errors).all() else None


@dataclass(frozen=True)
class ErrorStatus:
    """Where one checkpoint's errors stand: ``values`` [N] when ready; ``message`` says what is happening or
    what went wrong."""

    state: State
    values: np.ndarray | None = None
    message: str = ""


class ReconErrorJob:
    """One checkpoint's per-face errors: read from the cache, else computed once in a background thread.

    Requests only look (:meth:`status`) or start (:meth:`start`), never wait; one job per checkpoint version,
    held in the registry's derived values (``ui.map.tab``)."""

    def __init__(self, file: Path, n: int, compute: Callable[[], np.ndarray]) -> None:
        self.file = file
        self.n = n
        self._compute = compute
        self._lock = threading.Lock()
        self._values: np.ndarray | None = None
        self._thread: threading.Thread | None = None
        self._error = ""
        self._started = 0.0

    def status(self) -> ErrorStatus:
        if self._values is None:
            cached = read_errors(self.file, self.n)
            if cached is not None:
                with self._lock:
                    if self._values is None:
                        self._values = cached
        if self._values is not None:
            return ErrorStatus("ready", self._values)
        if self._thread is not None and self._thread.is_alive():
            took = time.monotonic() - self._started
            return ErrorStatus("running", message=f"decoding the map's {self.n} faces ({took:.0f} s so far)")
        if self._error:
            return ErrorStatus("failed", message=self._error)
        return ErrorStatus("missing", message="not computed yet")

    def start(self) -> ErrorStatus:
        """Start the computation unless the errors are ready, being computed or failed (a failure is reported,
        not retried on every request: the next checkpoint version gets a fresh job); returns the status."""
        st = self.status()
        if st.state != "missing":
            return st
        with self._lock:
            if self._values is None and not self._error and (self._thread is None or not self._thread.is_alive()):
                self._started = time.monotonic()
                self._thread = threading.Thread(target=self._run, daemon=True, name=f"recon-errors-{self.file.stem}")
                self._thread.start()
        return self.status()

    def wait(self, timeout: float | None = None) -> ErrorStatus:
        """Block until a running computation ends (for scripts and tests; requests never wait)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _run(self) -> None:
        try:  # this thread only (Linux: a thread id is a process id for setpriority)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
        except (OSError, AttributeError):
            pass
        try:
            values = np.asarray(self._compute(), np.float32)
            if values.shape != (self.n,):
                raise ValueError(f"computed {values.shape} errors for {self.n} faces")
            try:
                atomic_write(self.file, lambda f: np.savez_compressed(f, mse=values))
            except OSError as e:  # a read-only cache: the errors still serve from memory
                log.warning("could not cache reconstruction errors in %s: %s", self.file, e)
            with self._lock:
                self._values = values
            log.info("reconstruction errors of %d map faces ready in %.1f s", self.n, time.monotonic() - self._started)
        except Exception as e:  # noqa: BLE001 - a background job must report, not die silently
            self._error = f"computing them failed ({type(e).__name__}); the error was logged on the server"
            log.exception("computing reconstruction errors for %s failed", self.file)
