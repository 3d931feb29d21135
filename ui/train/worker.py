"""The training process: runs one :class:`~vae_core.training.Trainer` and ships its events to the app.

Why a separate process: training saturates the CPU. In its own process it runs at a lower priority
with few torch threads, so the explorer stays responsive for everyone, and a crash cannot take the web
server down. It is started as ``python -m ui.train.worker FD`` (not multiprocessing's spawn, which
would re-import the app's ``__main__`` and build a second app): the request arrives as one JSON line
on stdin, events go back as ``(kind, payload)`` tuples over the pipe ``FD``. A ``cancel`` line on stdin
— or stdin closing because the app went away — calls ``trainer.cancel()``: the trainer saves a
resumable checkpoint and finishes with ``DoneEvent(cancelled=True)``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from vae_core.cli_flags import flag_name
from vae_core.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainRequest:
    """Everything a run needs, as plain data (it crosses a process boundary)."""

    data: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    out_dir: str
    resume: bool = False
    threads: int = 1
    log_every: int = 5
    map_method: str = "umap"
    max_points: int = 5000
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def command(self) -> str:
        """The CLI command that reproduces this run (recorded in the checkpoint)."""
        d, m, t = self.data, self.model, self.train
        args = ["python", "-m", "vae_core", "train", "--data", d["kind"]]
        for folder in (d["path"], *d.get("extra_paths", ())) if d.get("path") else ():
            args += ["--path", folder]
        if d["kind"] == "synthetic":
            args += ["--size", str(d.get("size", 10_000)), "--data-seed", str(d.get("seed", 0))]
        if d.get("limit"):
            args += ["--limit", str(d["limit"])]
        if d.get("crop_fraction") not in (None, 1.0) or d["kind"] == "cartoonset":
            args += ["--crop", str(d.get("crop_fraction", 1.0))]
        args += ["--resolution", str(m["resolution"]), "--latent-dim", str(m["latent_dim"]),
                 "--channels", ",".join(str(c) for c in m["channels"]),
                 "--encoder-width", f"{m.get('encoder_width', 1.0):g}",
                 "--epochs", str(t["epochs"]), "--batch-size", str(t["batch_size"]), "--lr", f"{t['lr']:g}",
                 "--beta", f"{t['beta']:g}", "--out", self.out_dir]
        # the tab shortens the recipe's β warm-up for short runs (ui.train.form.short_run_warmup): say so
        fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
        warmup = fields["kl_warmup_steps"]
        if t.get("kl_warmup_steps", warmup.default) != warmup.default:
            args += [flag_name(warmup), str(t["kl_warmup_steps"])]
        if t.get("max_minutes"):  # the app's per-run cap (TrainPolicy.max_minutes)
            args += [flag_name(fields["max_minutes"]), f"{t['max_minutes']:g}"]
        if self.resume:
            args.append("--resume")
        return shlex.join(args)


    def __post_init__(self) -> None:
        # Plain JSON values (tuples become lists), so a request equals itself after crossing the pipe.
        for name in ("data", "model", "train", "extra"):
            object.__setattr__(self, name, json.loads(json.dumps(getattr(self, name))))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "TrainRequest":
        return cls(**json.loads(text))


def run_worker(request: TrainRequest, put, cancel: threading.Event) -> None:
    """Train, sending ``(kind, payload)`` through ``put``; ``cancel`` set → the trainer stops and saves."""
    try:
        try:
            os.nice(10)
        except (AttributeError, OSError):
            pass
        import torch

        torch.set_num_threads(max(1, request.threads))
        from vae_core.config import DataSpec, ModelConfig, TrainConfig
        from vae_core.data import load_dataset
        from vae_core.errors import VaeCoreError
        from vae_core.training import CheckpointEvent, DoneEvent, Trainer
    except Exception as e:  # noqa: BLE001 - report, whatever it is
        put(("error", f"the training process could not start: {e}"))
        put(("exit", None))
        return
    last = request.out_dir if request.resume else None  # the last complete checkpoint of this run
    try:
        spec = DataSpec.from_dict(request.data)
        put(("status", f"loading {spec.describe()}"))
        dataset = load_dataset(spec, progress=False)
        put(("status", f"{len(dataset)} images loaded; building the model"))
        trainer = Trainer(dataset, ModelConfig.from_dict(request.model), TrainConfig.from_dict(request.train),
                          request.out_dir, device="cpu", resume=request.resume, command=request.command(),
                          log_every=request.log_every)

        def watch_cancel() -> None:
            cancel.wait()
            trainer.cancel()

        threading.Thread(target=watch_cancel, daemon=True).start()
        done = None
        for ev in trainer.run():
            put(("event", ev))
            if isinstance(ev, CheckpointEvent):
                last = ev.path
            if isinstance(ev, DoneEvent):
                done = ev
        if done is not None:
            put(("phase", "map"))
            from vae_core.explorer import Explorer

            Explorer.open(done.path, max_points=request.max_points).map(request.map_method)
            put(("projection", done.path))
    except VaeCoreError as e:
        put(("error", str(e)))
    except OSError as e:  # a full disk, a folder made read-only, a quota of the filesystem…
        put(("error", write_failure(e, last)))
    except Exception as e:  # noqa: BLE001 - the app shows a message; the trace goes to the server log
        traceback.print_exc()
        put(("error", f"training failed unexpectedly ({type(e).__name__}: {e}); see the server log"))
    finally:
        put(("exit", None))


def write_failure(e: OSError, last: str | None) -> str:
    """The message for a file the run could not read or write: what happened, and what is kept. Checkpoints
    are written whole or not at all (vae_core.checkpoint), so the last complete one is intact."""
    import errno

    what = ("the server's disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT)
            else f"a file could not be written or read on the server ({e.strerror or type(e).__name__})")
    kept = (f"the last complete checkpoint is kept at {last} (resume it later)" if last
            else "no checkpoint was written")
    return f"training stopped: {what}; {kept}. The app keeps serving."


def _lines(fd: int):
    """Text lines read from ``fd`` with plain ``os.read`` (no shared buffered-file lock); ends at EOF."""
    buf = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode("utf-8", "replace")
    if buf:
        yield buf.decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    from multiprocessing.connection import Connection

    args = sys.argv[1:] if argv is None else argv
    conn = Connection(int(args[0]), readable=False)
    # Commands are read from a private copy of fd 0 with os.read, never through sys.stdin: the data
    # layer forks process pools, and a forked child closes sys.stdin on start-up - if our reader thread
    # held sys.stdin's lock at that moment, the child would deadlock and training would hang in loading.
    commands = _lines(os.dup(0))
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    first = next(commands, None)
    if first is None:
        return 2  # the app went away before sending a request
    request = TrainRequest.from_json(first)
    cancel = threading.Event()

    def read_commands() -> None:
        for line in commands:
            if line.strip() == "cancel":
                break
        cancel.set()  # "cancel", or stdin closed: the app is gone, stop and save

    threading.Thread(target=read_commands, daemon=True).start()
    run_worker(request, conn.send, cancel)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
