"""One training run at a time per app, in a background process; any session can watch it.

The runner owns the process and a thread that drains its event queue into a :class:`RunLog` (under a
lock). UI sessions never wait on training: they poll :meth:`TrainingRunner.snapshot`, a cheap copy.
A second start while a run is active is refused with a clear message (:class:`TrainingBusy`).
"""

from __future__ import annotations

import copy
import logging
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vae_core.errors import TrainingError

from ..common.settings import REPO_ROOT, AppSettings
from .worker import TrainRequest

log = logging.getLogger(__name__)


class TrainingBusy(TrainingError):
    """Another run is in progress."""


@dataclass
class RunLog:
    """What the UI shows about a run. ``history`` holds train points (kind "train": step, loss, mse,
    recon, kl, nelbo) and validation points (kind "val": step, loss, mse, kl, nelbo), in nats/image."""

    request: TrainRequest
    started: float
    status: str = "starting the training process"
    total_steps: int = 0
    step: int = 0
    epoch: int = 0
    images_per_sec: float = 0.0
    eta_sec: float = 0.0
    dataset: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    reconstructions: np.ndarray | None = None
    samples: np.ndarray | None = None
    checkpoint: str | None = None
    done: bool = False
    cancelled: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    projection_ready: bool = False
    exited: bool = False
    cancel_requested: bool = False
    version: int = 0

    @property
    def active(self) -> bool:
        return not self.exited

    def apply(self, kind: str, payload: Any) -> None:
        """Record one ``(kind, payload)`` message of the training process (see :mod:`ui.train.worker`)."""
        if kind == "status":
            self.status = str(payload)
        elif kind == "error":
            self.error = str(payload)
            self.status = "failed"
        elif kind == "projection":
            self.projection_ready = True
            self.status = "finished; the checkpoint and its map are ready" if not self.cancelled else \
                "cancelled; the resumable checkpoint and its map are ready"
        elif kind == "exit":
            self.exited = True
        elif kind == "event":
            self.apply_event(payload)

    def apply_event(self, ev: Any) -> None:
        """Record one :mod:`vae_core.training` event (the trainer's StartEvent, StepEvent, … by class name)."""
        name = type(ev).__name__
        if name == "StartEvent":
            self.total_steps, self.step, self.epoch = ev.total_steps, ev.start_step, ev.start_epoch
            self.dataset = ev.dataset
            self.history = [dict(h) for h in ev.history]
            self.status = (f"training on {ev.dataset}: {ev.num_train} train / {ev.num_val} validation images, "
                           f"{ev.num_parameters:,} parameters, {getattr(ev, 'precision', 'fp32')} arithmetic")
        elif name == "StepEvent":
            self.step, self.epoch = ev.step, ev.epoch
            self.images_per_sec, self.eta_sec = ev.images_per_sec, ev.eta_sec
            self.history.append({"kind": "train", "step": ev.step, "epoch": ev.epoch, "loss": ev.loss, "mse": ev.mse,
                                 "recon": ev.recon, "kl": ev.kl, "nelbo": ev.nelbo})
            if not self.cancel_requested:
                self.status = "training"
        elif name == "EvalEvent":
            self.history.append({"kind": "val", "step": ev.step, "epoch": ev.epoch, "loss": ev.val_loss,
                                 "mse": ev.val_mse, "kl": ev.val_kl, "nelbo": ev.val_nelbo})
        elif name == "ImagesEvent":
            self.reconstructions, self.samples = ev.reconstructions, ev.samples
        elif name == "CheckpointEvent":
            self.checkpoint = ev.path
        elif name == "DoneEvent":
            self.done, self.cancelled, self.checkpoint, self.metrics = True, ev.cancelled, ev.path, dict(ev.metrics)
            self.step = ev.step
            self.eta_sec = 0.0
            self.status = ("cancelled: resumable checkpoint saved" if ev.cancelled else "finished") + \
                "; computing its map in the background"
        elif name == "ErrorEvent":
            self.error = ev.message
            self.checkpoint = ev.checkpoint or self.checkpoint
            self.status = "failed"


class TrainingRunner:
    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._log: RunLog | None = None
        self._process: subprocess.Popen | None = None
        self._listeners: list = []

    def add_listener(self, fn) -> None:
        """``fn(log)`` is called (from the runner's thread) when a run's checkpoint or map is ready."""
        self._listeners.append(fn)

    # -- control -------------------------------------------------------------------------------------
    def start(self, request: TrainRequest) -> RunLog:
        with self._lock:
            if self._log is not None and self._log.active:
                cur = self._log
                raise TrainingBusy(
                    f"a training run is already in progress ({cur.request.label or cur.request.out_dir}, "
                    f"started {time.strftime('%H:%M:%S', time.localtime(cur.started))}, step {cur.step}/"
                    f"{cur.total_steps or '?'}). Only one run at a time: wait for it to finish or cancel it.")
            read_fd, write_fd = os.pipe()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
            try:
                proc = subprocess.Popen([sys.executable, "-m", "ui.train.worker", str(write_fd)],
                                        stdin=subprocess.PIPE, pass_fds=(write_fd,), cwd=str(REPO_ROOT), env=env,
                                        text=True)
            finally:
                os.close(write_fd)
            proc.stdin.write(request.to_json() + "\n")
            proc.stdin.flush()
            run = RunLog(request=request, started=time.time())
            self._log, self._process = run, proc
        events = Connection(read_fd, writable=False)
        threading.Thread(target=self._drain, args=(run, proc, events), daemon=True, name="cvae-train-drain").start()
        log.info("training started (pid %d): %s", proc.pid, request.command())
        return run

    def cancel(self) -> bool:
        """Ask the active run to stop (it saves a resumable checkpoint). False if nothing is running."""
        with self._lock:
            run = self._log
            if run is None or not run.active:
                return False
            run.cancel_requested = True
            run.status = "cancelling: saving a resumable checkpoint…"
            run.version += 1
            try:
                self._process.stdin.write("cancel\n")
                self._process.stdin.flush()
            except (OSError, ValueError):
                pass  # already exiting
            return True

    @property
    def pid(self) -> int | None:
        """The process id of the current (or last) training process; None before the first run."""
        return self._process.pid if self._process is not None else None

    def snapshot(self) -> RunLog | None:
        """A consistent copy of the current (or last) run for display."""
        with self._lock:
            if self._log is None:
                return None
            snap = copy.copy(self._log)
            snap.history = list(self._log.history)
            snap.metrics = dict(self._log.metrics)
            return snap

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel and wait for the training process (app shutdown, tests)."""
        proc = self._process
        if self.cancel() and proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()

    # -- the event pump ------------------------------------------------------------------------------
    def _drain(self, run: RunLog, proc: subprocess.Popen, events: Connection) -> None:
        while True:
            try:
                kind, payload = events.recv()
            except (EOFError, OSError):
                # The pipe closed without an "exit" message: the process died (killed, out of memory…).
                code = proc.wait()
                with self._lock:
                    if not run.exited:
                        run.error = run.error or f"the training process stopped unexpectedly (exit code {code})"
                        run.exited = True
                        run.version += 1
                break
            with self._lock:
                run.apply(kind, payload)
                run.version += 1
            if kind in ("projection",) or (kind == "event" and type(payload).__name__ == "DoneEvent"):
                for fn in self._listeners:
                    try:
                        fn(run)
                    except Exception:  # noqa: BLE001
                        log.exception("training listener failed")
            if kind == "exit":
                break
        events.close()
        try:
            proc.stdin.close()
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            log.warning("training process %d did not exit; terminating it", proc.pid)
            proc.terminate()


def is_within(path: Path, roots: tuple[Path, ...]) -> bool:
    p = path.resolve()
    return any(p == r or p.is_relative_to(r) for r in roots)
