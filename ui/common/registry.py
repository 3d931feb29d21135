"""Checkpoint path → shared, read-only :class:`~vae_core.explorer.Explorer`.

One Explorer per checkpoint version serves every session: it is created once (a per-checkpoint lock
guards only the creation) and never mutated by requests. A checkpoint directory rewritten in place (a
resumed training run) gets a fresh Explorer, because the key includes its ``config.json`` mtime.

Only checkpoints found under the configured folders can be opened: the picker's value comes from the
browser (or an API client) and must never be an arbitrary server path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from vae_core.checkpoint import list_checkpoints, read_meta
from vae_core.errors import CheckpointError, VaeCoreError
from vae_core.explorer import Explorer, MapData

from .settings import AppSettings

log = logging.getLogger(__name__)


class ExplorerRegistry:
    def __init__(self, settings: AppSettings, opener: Callable[..., Explorer] | None = None) -> None:
        self.settings = settings
        self._opener = opener or (lambda p: Explorer.open(p, max_points=settings.max_map_points))
        self._lock = threading.Lock()
        self._creating: dict[str, threading.Lock] = {}
        self._explorers: dict[tuple[str, int], Explorer] = {}
        self._map_jobs: dict[tuple[str, str], threading.Thread] = {}
        self._maps_ready: set[tuple[int, str]] = set()
        self._derived: dict[tuple[int, str], tuple[Explorer, object]] = {}

    # -- which checkpoints exist ---------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """The default checkpoint first, then every other checkpoint under the configured folders."""
        found: list[Path] = []
        default = self.settings.default_checkpoint
        if (default / "config.json").is_file():
            found.append(default)
        for root in self.settings.checkpoint_dirs:
            for p in list_checkpoints(root):
                p = p.resolve()
                if p not in found:
                    found.append(p)
        return found

    def label(self, path: Path) -> str:
        try:
            meta = read_meta(path)
        except VaeCoreError:
            return f"{path.name} (unreadable)"
        kind = "SYNTHETIC" if meta.data.is_synthetic else meta.data.kind
        partial = " · partial (training stopped)" if meta.metrics.get("partial") or meta.metrics.get("cancelled") else ""
        return (f"{path.parent.name}/{path.name} · {kind} data · {meta.model.resolution}px · "
                f"z={meta.model.latent_dim}{partial}")

    def name_of(self, path: str | Path) -> str:
        """The name a checkpoint goes by in the picker and the API: ``<folder>/<checkpoint>`` relative to the
        checkpoint folder it was found in (e.g. ``checkpoints/default``, ``runs/folder-20261201-101500``).
        Never the absolute path: a public Space must not reveal its filesystem."""
        path = Path(path)
        for root in (self.settings.default_checkpoint.parent, *self.settings.checkpoint_dirs):
            try:
                return f"{root.name}/{path.relative_to(root).as_posix()}"
            except ValueError:
                continue
        return path.name

    def choices(self) -> list[tuple[str, str]]:
        return [(self.label(p), self.name_of(p)) for p in self.checkpoints()]

    def resolve(self, choice: str | None) -> Path:
        """The checkpoint a picker value names (None or "" → the default); refuses anything that is not one
        of the listed checkpoints. Accepts the picker's names and, for the server's own session state, the
        absolute paths they stand for."""
        known = self.checkpoints()
        if not choice:
            if not known:
                raise CheckpointError(
                    "no checkpoint found: expected checkpoints/default (train one with "
                    "`python -m vae_core train --out checkpoints/default`) or set CVAE_CHECKPOINT")
            return known[0]
        if not isinstance(choice, str):
            raise CheckpointError(f"the checkpoint must be named by a string, got {type(choice).__name__}")
        for p in known:
            if choice == self.name_of(p) or choice == str(p):
                return p
        raise CheckpointError(f"{choice!r} is not one of this app's checkpoints; pick one from the list")

    # -- explorers -----------------------------------------------------------------------------------
    def get(self, choice: str | None = None) -> Explorer:
        path = self.resolve(choice)
        try:
            version = (path / "config.json").stat().st_mtime_ns
        except OSError:
            raise CheckpointError(f"checkpoint {path} disappeared; pick another one") from None
        key = (str(path), version)
        found = self._explorers.get(key)
        if found is not None:
            return found
        with self._lock:
            creating = self._creating.setdefault(str(path), threading.Lock())
        with creating:
            found = self._explorers.get(key)
            if found is None:
                log.info("opening checkpoint %s", path)
                found = self._opener(path)
                with self._lock:
                    for old in [k for k in self._explorers if k[0] == str(path)]:
                        stale = self._explorers.pop(old)
                        for d in [d for d in self._derived if d[0] == id(stale)]:
                            del self._derived[d]
                    self._explorers[key] = found
        return found

    def derived(self, explorer: Explorer, name: str, build: Callable[[], object]):
        """A value computed once from a (read-only) explorer, e.g. its slider layout; shared like it."""
        key = (id(explorer), name)
        hit = self._derived.get(key)
        if hit is not None and hit[0] is explorer:
            return hit[1]
        value = build()
        with self._lock:
            self._derived[key] = (explorer, value)
        return value

    # -- maps ----------------------------------------------------------------------------------------
    def map_or_fallback(self, explorer: Explorer, method: str) -> tuple[MapData, bool]:
        """The cached ``method`` map, or (while a background job computes it) the instant PCA map.

        Returns (map, is_final). UMAP's first fit costs tens of seconds of JIT and fitting, which must
        not happen inside a request; PCA needs no fit.
        """
        if method == "pca" or (id(explorer), method) in self._maps_ready or explorer.has_cached_map(method):
            return explorer.map(method), True
        key = (str(explorer.path), method)
        with self._lock:
            job = self._map_jobs.get(key)
            if job is None or not job.is_alive():
                job = threading.Thread(target=self._compute_map, args=(explorer, method), daemon=True,
                                       name=f"map-{method}-{explorer.path.name}")
                self._map_jobs[key] = job
                job.start()
        return explorer.map("pca"), False

    def _compute_map(self, explorer: Explorer, method: str) -> None:
        try:
            explorer.map(method)
            with self._lock:
                self._maps_ready.add((id(explorer), method))
            log.info("%s map of %s ready", method, explorer.path)
        except Exception:  # noqa: BLE001 - a background job must log, not die silently
            log.exception("computing the %s map of %s failed", method, explorer.path)
