"""Training runs in background processes, each owned by the visitor who started it.

The runner owns the processes and, per run, a thread that drains its event queue into a :class:`RunLog`
(under a lock). UI sessions never wait on training: they poll :meth:`TrainingRunner.snapshot`, a cheap
copy. At most ``CVAE_MAX_RUNS`` runs train at once, one per visitor; a start beyond that is refused with
a message saying when a slot frees (:class:`TrainingBusy`). Only a run's owner may cancel it
(:class:`NotYourRun`); everybody sees that it runs, its progress and its ETA.
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
from .download import CartoonsetDownload
from .owners import OwnerBook, same_owner
from .worker import TrainRequest

log = logging.getLogger(__name__)


#: What a run does after its last step, in order, by the keys the trainer's PhaseEvent and the worker send:
#: the status names the phase while it runs, with its number among these and its seconds so far.
FINISH_PHASES = (
    ("evaluate", "measuring the held-out faces"),
    ("save", "saving the checkpoint"),
    ("sampler", "fitting the random-face sampler"),
    ("decoder", "exporting the decoder for the page"),
    ("map", "computing the map of the training faces"),
)


#: run logs kept in memory for display (the runs themselves stay on disk, under the quota)
KEEP_LOGS = 100


class TrainingBusy(TrainingError):
    """Another run is in progress."""


class NotYourRun(TrainingError):
    """A visitor tried to cancel or resume a run another visitor started."""


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
    #: the owner id (``ui.train.owners.owner_id``) of the visitor who started it; None: nobody's
    owner: str | None = None
    #: the phase running now (a key of FINISH_PHASES, or "" while training) and when it began (time.time())
    phase: str = ""
    phase_started: float = 0.0

    @property
    def active(self) -> bool:
        return not self.exited

    def copy(self) -> "RunLog":
        snap = copy.copy(self)
        snap.history = list(self.history)
        snap.metrics = dict(self.metrics)
        return snap

    def set_status(self, text: str) -> None:
        self.status = text

    def set_phase(self, key: str) -> None:
        """Enter a named phase (see :data:`FINISH_PHASES`): the status names it until the next phase or step."""
        self.phase, self.phase_started = key, time.time()
        self.status = dict(FINISH_PHASES).get(key, key)

    def apply(self, kind: str, payload: Any) -> None:
        """Record one ``(kind, payload)`` message of the training process (see :mod:`ui.train.worker`)."""
        if kind == "status":
            self.status = str(payload)
        elif kind == "phase":
            self.set_phase(str(payload))
        elif kind == "error":
            self.error = str(payload)
            self.status = "failed"
            self.phase = ""
        elif kind == "projection":
            self.projection_ready = True
            self.phase = ""
            self.status = "finished; the checkpoint and its map are ready" if not self.cancelled else \
                "cancelled; the resumable checkpoint and its map are ready"
        elif kind == "exit":
            self.exited = True
            self.phase = ""
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
            self.phase = ""
            if not self.cancel_requested:
                self.status = "training"
        elif name == "PhaseEvent":
            self.set_phase(ev.name)
        elif name == "EvalEvent":
            self.history.append({"kind": "val", "step": ev.step, "epoch": ev.epoch, "loss": ev.val_loss,
                                 "mse": ev.val_mse, "kl": ev.val_kl, "nelbo": ev.val_nelbo})
        elif name == "ImagesEvent":
            self.reconstructions, self.samples = ev.reconstructions, ev.samples
        elif name == "CheckpointEvent":
            self.checkpoint = ev.path
        elif name == "DoneEvent":
            self.done, self.cancelled, self.checkpoint, self.metrics = True, ev.cancelled, ev.path, dict(ev.metrics)
            self.step, self.epoch = ev.step, ev.epoch
            self.eta_sec = 0.0
            self.status = ("cancelled: resumable checkpoint saved" if ev.cancelled else "finished training") + \
                "; the map comes next"
        elif name == "ErrorEvent":
            self.error = ev.message
            self.checkpoint = ev.checkpoint or self.checkpoint
            self.status = "failed"


@dataclass
class ActiveRun:
    """A run this app started: its log (what the tab shows) and its process (what Cancel stops)."""

    log: RunLog
    process: subprocess.Popen


class TrainingRunner:
    """Starts runs (at most ``settings.train.max_concurrent``, one per owner) and keeps the latest run of
    each name for display. An owner is an id from :func:`ui.train.owners.owner_id`; ``None`` (tests,
    scripts) owns nothing, so only calls without an owner can cancel its run."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._runs: dict[str, ActiveRun] = {}  # run folder name → its latest run
        self._latest: ActiveRun | None = None
        self._listeners: list = []
        self.owners = OwnerBook(settings.runs_dir)
        #: the Cartoon Set download the Train tab may run (one per app)
        self.downloads = CartoonsetDownload(settings)
        #: bumped on every change of any run: sessions redraw when it moves
        self.version = 0

    def add_listener(self, fn) -> None:
        """``fn(log)`` is called (from the runner's thread) when a run's checkpoint or map is ready."""
        self._listeners.append(fn)

    # -- control -------------------------------------------------------------------------------------
    def start(self, request: TrainRequest, owner: str | None = None) -> RunLog:
        """Start ``request`` for ``owner``; TrainingBusy when all slots are taken or the owner already has
        a run in progress; QuotaFull (from making room) when the runs folder cannot take another run."""
        name = Path(request.out_dir).name
        with self._lock:
            active = [a.log for a in self._runs.values() if a.log.active]
            mine = [r for r in active if owner is not None and same_owner(r.owner, owner)]
            if mine:
                raise TrainingBusy(f"your run {mine[0].request.label} is still in progress: wait for it to end "
                                   "or cancel it before starting another")
            if any(Path(r.request.out_dir).name == name for r in active):
                raise TrainingBusy(f"a run named {name!r} is in progress; choose another name")
            if len(active) >= self.settings.train.max_concurrent:
                raise TrainingBusy(busy_message(active, self.settings.train.max_concurrent, owner))
            if owner is not None and not request.resume:
                from .quota import estimate_run_bytes, make_room

                make_room(self.settings, self.owners, {Path(r.request.out_dir).name for r in active},
                          estimate_run_bytes(request.model))
            claim = owner is not None and (not request.resume or self.owners.owner_of(name) is None)
            if claim:  # before the process: a run that cannot be owned is not started
                try:
                    self.owners.claim(name, owner)  # a run resumed from nobody's (a CLI run, private app) is the resumer's
                except OSError as e:
                    raise TrainingError(f"the server cannot record who owns the run ({e.strerror or e}); "
                                        "nothing was started") from None
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
            run = RunLog(request=request, started=time.time(), owner=owner)
            self._runs.pop(name, None)
            self._latest = self._runs[name] = ActiveRun(run, proc)
            self._forget_old_runs()
            self.version += 1
        events = Connection(read_fd, writable=False)
        threading.Thread(target=self._drain, args=(run, proc, events), daemon=True, name="cvae-train-drain").start()
        log.info("training started (pid %d): %s", proc.pid, request.command())
        return run

    def _forget_old_runs(self) -> None:
        """Keep the :data:`KEEP_LOGS` most recent run logs in memory (every active one): a long-lived public
        app must not grow with every run ever started. A visitor whose log was dropped still finds the run
        itself in the picker and the resume lists."""
        ended = [n for n, a in self._runs.items() if not a.log.active]  # in start order (dicts keep it)
        for n in ended[: max(0, len(self._runs) - KEEP_LOGS)]:
            del self._runs[n]

    def cancel(self, owner: str | None = None) -> RunLog | None:
        """Ask ``owner``'s run in progress to stop (it saves a resumable checkpoint) and return it; None when
        the owner has no run training. Without an owner: the latest run. NotYourRun when the owner has none
        but another visitor's run is in progress (only its owner may stop it)."""
        with self._lock:
            if owner is None:
                cur = self._latest
                candidates = [cur] if cur is not None and cur.log.active and cur.log.owner is None else []
            else:
                candidates = [a for a in self._runs.values() if a.log.active and same_owner(a.log.owner, owner)]
            if not candidates:
                others = [a.log for a in self._runs.values() if a.log.active]
                if others and owner is not None:
                    raise NotYourRun(f"the run in progress ({others[0].request.label}) belongs to another visitor: "
                                     "only the visitor who started it can cancel it")
                if owner is None and self._latest is not None and self._latest.log.active:
                    raise NotYourRun("the run in progress belongs to a visitor: only its owner can cancel it")
                return None
            act = candidates[0]
            run = act.log
            if run.done or run.cancel_requested:
                return run  # training already ended or is ending: nothing more to ask
            run.cancel_requested = True
            run.set_status("cancelling: finishing the current step, then saving a resumable checkpoint")
            run.version += 1
            self.version += 1
            try:
                act.process.stdin.write("cancel\n")
                act.process.stdin.flush()
            except (OSError, ValueError):
                pass  # already exiting
            return run

    @property
    def pid(self) -> int | None:
        """The process id of the latest training process; None before the first run."""
        return self._latest.process.pid if self._latest is not None else None

    def snapshot(self, owner: str | None = None) -> RunLog | None:
        """A consistent copy, for display, of ``owner``'s latest run (without an owner: the latest run)."""
        with self._lock:
            if owner is None:
                act = self._latest
            else:
                mine = [a for a in self._runs.values() if same_owner(a.log.owner, owner)]
                act = max(mine, key=lambda a: a.log.started) if mine else None
            return act.log.copy() if act is not None else None

    def active(self) -> list[RunLog]:
        """Copies of every run in progress (any owner), oldest first."""
        with self._lock:
            return sorted((a.log.copy() for a in self._runs.values() if a.log.active), key=lambda r: r.started)

    def busy_names(self) -> set[str]:
        with self._lock:
            return {name for name, a in self._runs.items() if a.log.active}

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel and wait for every training process (app shutdown, tests)."""
        with self._lock:
            acts = [a for a in self._runs.values() if a.log.active]
        for act in acts:
            try:
                act.process.stdin.write("cancel\n")
                act.process.stdin.flush()
            except (OSError, ValueError):
                pass
        for act in acts:
            try:
                act.process.wait(timeout)
            except subprocess.TimeoutExpired:
                act.process.terminate()

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
                        self.version += 1
                break
            with self._lock:
                run.apply(kind, payload)
                run.version += 1
                self.version += 1
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


def busy_message(active: list[RunLog], slots: int, owner: str | None) -> str:
    """Why a new run must wait, and for about how long: the soonest end among the runs in progress."""
    cur = active[0]
    whose = "your" if owner is not None and same_owner(cur.owner, owner) else "another visitor's"
    soonest = min((r.eta_sec for r in active if r.eta_sec > 0), default=0.0)
    when = f"in about {format_duration(soonest)}" if soonest else "when it ends"
    return (f"a training run is already in progress ({whose} run {cur.request.label}, step {cur.step}/"
            f"{cur.total_steps or '?'}). {slots} run{'s' if slots > 1 else ''} at a time on this server: "
            f"you can start yours {when}.")


def format_duration(sec: float) -> str:
    """``75`` → ``1m15s``; ``–`` for none."""
    if not sec or sec <= 0:
        return "–"
    m, s = divmod(int(round(sec)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def is_within(path: Path, roots: tuple[Path, ...]) -> bool:
    p = path.resolve()
    return any(p == r or p.is_relative_to(r) for r in roots)
