"""Each checkpoint's analysis (scorecard + attribute classifier + edit fidelity), shared by every session.

Why a service: computing an analysis takes seconds to minutes (see :mod:`vae_core.analysis.report`), far too long
for a request. So a request only *looks* (a cached analysis is loaded once from the checkpoint folder and
kept in memory) or *starts* a background thread — at most one per checkpoint version, whoever asks — and
sessions poll :meth:`AnalysisJobs.status` with a timer, like the UMAP maps of :mod:`ui.common.registry`. Nothing
here is per user: an analysis belongs to a checkpoint, and every session sees the same one.

Keyed by (checkpoint path, weights sha256): a checkpoint retrained in place is a new version.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from vae_core.analysis.classifier.network import AttributeClassifier
from vae_core.analysis.report import (Analysis, AnalysisConfig, AnalysisResult, compute_analysis, load_analysis,
                                      load_classifier_for)
from vae_core.errors import VaeCoreError
from vae_core.explorer import Explorer

log = logging.getLogger(__name__)

State = Literal["missing", "running", "ready", "failed"]
#: Nice value of the computing thread: the app's interactive requests come first.
JOB_NICENESS = 10


@dataclass(frozen=True)
class JobStatus:
    """Where one checkpoint's analysis stands. ``message``: the stage being computed, or what went wrong;
    ``elapsed_s``: seconds since the computation started (running) or that it took (ready, computed here)."""

    state: State
    message: str = ""
    analysis: Analysis | None = None
    elapsed_s: float = 0.0


class _Job:
    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.message = "starting"
        self.error = ""
        self.started = time.monotonic()
        self.finished: float | None = None


class AnalysisJobs:
    """Cached analyses and classifiers per checkpoint version, and their background computations."""

    def __init__(self, config: AnalysisConfig | None = None,
                 compute: Callable[..., AnalysisResult] = compute_analysis) -> None:
        self.config = config or AnalysisConfig()
        self._compute = compute
        self._lock = threading.Lock()
        self._ready: dict[tuple[str, str], Analysis] = {}
        self._classifiers: dict[tuple[str, str], AttributeClassifier | None] = {}
        self._jobs: dict[tuple[str, str], _Job] = {}

    @staticmethod
    def _key(explorer: Explorer) -> tuple[str, str]:
        return str(explorer.path), explorer.checkpoint.fingerprint

    # -- looking (cheap: what a request may do) ----------------------------------------------------------
    def status(self, explorer: Explorer) -> JobStatus:
        """The analysis if it is in memory or cached on disk (read once), else whether it is being computed."""
        key = self._key(explorer)
        found = self._ready.get(key)
        job = self._jobs.get(key)
        if found is not None:
            took = (job.finished - job.started) if job is not None and job.finished is not None else 0.0
            return JobStatus("ready", analysis=found, elapsed_s=took)
        if job is not None and job.thread is not None and job.thread.is_alive():
            return JobStatus("running", job.message, elapsed_s=time.monotonic() - job.started)
        if job is not None and job.error:
            return JobStatus("failed", job.error)
        try:
            cached = load_analysis(explorer, self.config)
        except VaeCoreError as e:
            return JobStatus("failed", f"the cached analysis cannot be read ({e})")
        if cached is None:
            return JobStatus("missing")
        with self._lock:
            self._ready.setdefault(key, cached)
        return JobStatus("ready", analysis=self._ready[key])

    def classifier(self, explorer: Explorer) -> AttributeClassifier | None:
        """The attribute classifier of the ready analysis (loaded once), or None when there is none yet or
        it cannot be loaded (logged)."""
        key = self._key(explorer)
        if key in self._classifiers:
            return self._classifiers[key]
        st = self.status(explorer)
        if st.state != "ready" or st.analysis is None:
            return None
        try:
            clf: AttributeClassifier | None = load_classifier_for(explorer, st.analysis)
        except VaeCoreError as e:
            log.warning("the attribute classifier of %s cannot be loaded: %s", explorer.path, e)
            clf = None
        with self._lock:
            self._classifiers.setdefault(key, clf)
        return self._classifiers[key]

    # -- computing (in the background) -------------------------------------------------------------------
    def start(self, explorer: Explorer) -> JobStatus:
        """Start computing this checkpoint's analysis unless it is ready or already being computed."""
        st = self.status(explorer)
        if st.state in ("ready", "running"):
            return st
        key = self._key(explorer)
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.thread is None or not job.thread.is_alive():
                job = _Job()
                job.thread = threading.Thread(target=self._run, args=(explorer, key, job), daemon=True,
                                              name=f"analysis-{explorer.path.name}")
                self._jobs[key] = job
                job.thread.start()
        return JobStatus("running", job.message, elapsed_s=time.monotonic() - job.started)

    def _run(self, explorer: Explorer, key: tuple[str, str], job: _Job) -> None:
        try:  # this thread only (Linux: a thread id is a process id for setpriority)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
        except (OSError, AttributeError):
            pass

        def progress(msg: str) -> None:
            job.message = msg

        try:
            result = self._compute(explorer, config=self.config, progress=progress)
            with self._lock:
                self._ready[key] = result.analysis
                self._classifiers[key] = result.classifier  # in memory even if the folder was read-only
            log.info("analysis of %s ready in %.1f s", explorer.path, time.monotonic() - job.started)
        except VaeCoreError as e:
            job.error = str(e)
            log.warning("analysis of %s failed: %s", explorer.path, e)
        except Exception as e:  # noqa: BLE001 - a background job must report, not die silently
            job.error = f"computing the analysis failed ({type(e).__name__}); the error was logged on the server"
            log.exception("analysis of %s failed", explorer.path)
        finally:
            job.finished = time.monotonic()

    def wait(self, explorer: Explorer, timeout: float | None = None) -> JobStatus:
        """Block until the running computation ends (for scripts and tests; requests never wait)."""
        job = self._jobs.get(self._key(explorer))
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return self.status(explorer)
