"""The runs folder's quota: room for a new run is made by deleting the oldest visitor runs.

Why only visitor runs: the runs folder may also hold the operator's own runs (trained from the CLI) and the
shipped checkpoints may lie beside it; a public Space must not fill its disk, but a quota must never delete
work the app did not create. So the quota counts the runs a visitor started through the app (those in the
:class:`~ui.train.owners.OwnerBook`), deletes the oldest of them first, and never one in progress; when that
is not enough the new run is refused with a message saying why. A deleted run disappears at once (renamed to
a hidden name, then removed), so no reader sees a half-deleted checkpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vae_core.errors import TrainingError

from ..common.settings import AppSettings, TrainPolicy, display_path
from .owners import OwnerBook

log = logging.getLogger(__name__)

MB = 1 << 20


class QuotaFull(TrainingError):
    """No room for a new run, and none of the runs that could make room may be deleted now."""


@dataclass(frozen=True)
class RunFolder:
    name: str
    path: Path
    bytes: int
    mtime: float


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (links not followed; files that vanish meanwhile count 0)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def visitor_runs(runs_dir: Path, owners: OwnerBook) -> list[RunFolder]:
    """The runs started through the app that still exist, oldest first (by last change)."""
    out = []
    for name in owners.runs():
        p = runs_dir / name
        if p.is_dir() and not p.is_symlink():
            try:
                mtime = p.stat().st_mtime
            except OSError:
                continue
            out.append(RunFolder(name=name, path=p, bytes=folder_bytes(p), mtime=mtime))
    return sorted(out, key=lambda r: r.mtime)


def protected(settings: AppSettings, path: Path) -> bool:
    """The shipped checkpoints (the default's folder and the repository's checkpoints/) are never deleted."""
    p = path.resolve()
    shipped = {settings.default_checkpoint.parent.resolve(), settings.default_checkpoint.resolve()}
    return any(p == s or p.is_relative_to(s) or s.is_relative_to(p) for s in shipped)


def delete_run(path: Path) -> None:
    """Remove a run folder so it vanishes at once: renamed to a hidden name, then deleted."""
    hidden = path.with_name(f".evicted-{path.name}-{time.time_ns()}")
    os.rename(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds ``folder`` (or its nearest existing parent)."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def make_room(settings: AppSettings, owners: OwnerBook, busy: set[str], new_bytes: int) -> list[str]:
    """Delete the oldest visitor runs until a new run of about ``new_bytes`` fits the quota; returns the
    names deleted. ``busy``: run names in progress (never deleted). QuotaFull when it cannot fit."""
    policy: TrainPolicy = settings.train
    runs_dir = settings.runs_dir
    free = free_bytes(runs_dir)
    if free < policy.min_free_bytes + new_bytes:
        raise QuotaFull(f"the server's disk is nearly full ({free / MB:,.0f} MB free, a run needs about "
                        f"{(policy.min_free_bytes + new_bytes) / MB:,.0f} MB): training is paused until space is freed")
    runs = visitor_runs(runs_dir, owners)
    count, used = len(runs), sum(r.bytes for r in runs)

    def over() -> bool:
        return bool((policy.keep_runs and count + 1 > policy.keep_runs)
                    or (policy.max_bytes and used + new_bytes > policy.max_bytes))

    deleted: list[str] = []
    for run in runs:
        if not over():
            break
        if run.name in busy or protected(settings, run.path):
            continue
        try:
            delete_run(run.path)
        except OSError as e:
            log.warning("could not delete the old run %s: %s", run.path, e)
            continue
        owners.forget(run.name)
        deleted.append(run.name)
        count, used = count - 1, used - run.bytes
        log.info("quota: deleted the old visitor run %s (%.1f MB)", run.name, run.bytes / MB)
    if over():
        limits = " and ".join(x for x in (f"{policy.keep_runs} runs" if policy.keep_runs else "",
                                          f"{policy.max_bytes / MB:,.0f} MB" if policy.max_bytes else "") if x)
        raise QuotaFull(f"{display_path(runs_dir)} is full ({count} visitor runs, {used / MB:,.1f} MB; at most "
                        f"{limits}) and the runs that could make room are in progress: try again when they end")
    return deleted


def estimate_run_bytes(model: dict) -> int:
    """About what a run writes: float32 weights + Adam's two moments, plus 2 MB for its map and files."""
    from vae_core.config import ModelConfig
    from vae_core.model import ConvVAE

    params = ConvVAE(ModelConfig.from_dict(model)).num_parameters()
    return 3 * 4 * params + 2 * MB
