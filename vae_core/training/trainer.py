"""The training loop, as a generator of :mod:`events`.

Design choices, each for a reason:

* ``run()`` is a generator: the CLI iterates it with tqdm, the UI iterates it in a worker thread, tests
  collect it. Nothing is printed here.
* Cancellation is cooperative (``cancel()`` from any thread, checked every step) and saves a resumable
  checkpoint, so a cancelled run loses nothing.
* Determinism: the data order of epoch ``e`` is a function of (seed, e) and the reparameterisation noise
  comes from a seeded ``torch.Generator`` whose state is saved; resuming (even mid-epoch) continues the
  exact same run.
* Host syncs are deferred: per-step losses accumulate on the device and are read every ``log_every``
  steps, which is also where non-finite losses are caught. A non-finite loss never reaches a checkpoint.
* Under ``torchrun`` the model is wrapped in DistributedDataParallel; each rank reads its shard of the
  epoch's permutation, and only rank 0 evaluates, writes checkpoints and yields events.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from ..checkpoint import TRAIN_STATE, CheckpointMeta, current_command, load_training_state, read_meta, save_checkpoint
from ..model import load_checkpoint
from ..config import ModelConfig, TrainConfig
from ..data.dataset import FaceDataset, to_uint8
from ..errors import ConfigError, TrainingError
from ..losses import bits_per_dim, elbo_terms
from ..latent import encode_images
from ..grid import make_grid
from ..metrics import ssim
from ..sampling import fit_checkpoint_sampler, quick_sampler
from ..model import ConvVAE
from .augment import augment
from .device import resolve_device, resolve_precision
from .distributed import DistContext, all_reduce_mean, barrier, broadcast_flag, init_distributed, shutdown
from .events import (CheckpointEvent, DoneEvent, ErrorEvent, EvalEvent, ImagesEvent, PhaseEvent, StartEvent, StepEvent,
                     TrainEvent)

log = logging.getLogger(__name__)

GRID_IMAGES = 8
#: training codes the progress grids' quick sampler is fitted to
SAMPLER_GRID_CODES = 512


@dataclass
class _RunState:
    """What a resumed run continues from (saved in the training state)."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    history: list[dict[str, Any]] | None = None
    last_good: str | None = None
    #: seconds spent in the training loop by earlier processes of this run (resume keeps the time budget)
    elapsed_before: float = 0.0
    loop_started: float = 0.0

    def elapsed(self) -> float:
        """Seconds of training in this run so far, earlier processes included."""
        return self.elapsed_before + time.perf_counter() - self.loop_started


@dataclass
class _Run:
    """What the steps of one run share, built once by :meth:`Trainer._prepare`."""

    ctx: DistContext
    model: ConvVAE
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper under torchrun
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # the reparameterisation noise
    state: _RunState
    train_idx: np.ndarray
    val_idx: np.ndarray
    per_rank: int  # training images per process
    batch_size: int
    steps_per_epoch: int
    total_steps: int | None  # None: only the time budget ends the run
    autocast: dict[str, Any]
    budget_s: float  # math.inf without a time budget

    def steps_left(self) -> bool:
        return self.total_steps is None or self.state.step < self.total_steps


@dataclass
class _Loop:
    """Bookkeeping of the loop: the losses of the current log window and epoch (on the device, read only
    when reported), and why and when it stops or evaluates."""

    window: torch.Tensor  # sums of loss, mse, recon, kl and the step count since the last StepEvent
    epoch_sums: torch.Tensor  # the same since the epoch began
    window_started: float
    last_eval: float
    window_steps: int = 0
    window_images: int = 0
    eval_cost: float = 0.0  # seconds the last evaluation took; with eval_every = 0 it sets the cadence
    cancelled: bool = False
    timed_out: bool = False  # the time budget (max_minutes) ran out: a normal end, not a cancel

    @classmethod
    def begin(cls, device: torch.device) -> "_Loop":
        now = time.perf_counter()
        return cls(window=torch.zeros(5, device=device), epoch_sums=torch.zeros(5, device=device),
                   window_started=now, last_eval=now)

    def add(self, row: torch.Tensor, images: int) -> None:
        self.window += row
        self.epoch_sums += row
        self.window_steps += 1
        self.window_images += images

    def reset_window(self) -> None:
        self.window.zero_()
        self.window_steps = 0
        self.window_started, self.window_images = time.perf_counter(), 0


def epoch_permutation(train_idx: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """Data order of one epoch: a pure function of (seed, epoch), so resuming replays it exactly."""
    return train_idx[np.random.default_rng([seed, epoch]).permutation(len(train_idx))]


#: Fraction of the run at its end over which the "wsd" schedule decays the learning rate.
WSD_DECAY_FRACTION = 0.2


def lr_at(step: int, total_steps: int | None, cfg: TrainConfig, elapsed_s: float = 0.0) -> float:
    """Learning rate at ``step``: short linear warm-up, then one of

    * ``constant``;
    * ``cosine`` decay to 5% of lr over the whole run;
    * ``wsd`` (warm-up, stable, decay): constant, then linear decay to 5% of lr over the last
      ``WSD_DECAY_FRACTION`` of the run. Why: a high rate for most of a short run keeps it learning fast
      (a cosine that starts decaying at once scored lower on a 3-minute budget), and the final decay still
      settles the weights into a low-loss point before the end.

    With a time budget (``cfg.max_minutes``) the decay follows whichever runs out first, steps or time, so
    the schedule anneals to the real end of the run; ``total_steps`` None: the budget alone ends it.
    """
    budget_s = 60.0 * cfg.max_minutes if cfg.max_minutes else math.inf
    warm = 100 if total_steps is None else min(100, max(1, total_steps // 20))
    warmed = max((step + 1) / warm, elapsed_s / (0.05 * budget_s))  # a short budget must not end in warm-up
    if warmed < 1:
        return cfg.lr * warmed
    if cfg.lr_schedule == "constant":
        return cfg.lr
    by_steps = 0.0 if total_steps is None else (step - warm) / max(1, total_steps - warm)
    t = min(1.0, max(by_steps, elapsed_s / budget_s))
    if cfg.lr_schedule == "wsd":
        into_decay = max(0.0, (t - (1 - WSD_DECAY_FRACTION)) / WSD_DECAY_FRACTION)
        return cfg.lr * (1 - 0.95 * into_decay)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def beta_at(step: int, cfg: TrainConfig) -> float:
    """β with optional linear KL warm-up from 0."""
    if cfg.kl_warmup_steps <= 0:
        return cfg.beta
    return cfg.beta * min(1.0, step / cfg.kl_warmup_steps)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW, fused where this torch has the fused kernel for the model's device: one pass over all
    parameters instead of a dozen small ops per tensor (~2 ms of a ~100 ms CPU step)."""
    kw = dict(lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, cfg.adam_beta2))
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kw)
    except (RuntimeError, TypeError):  # an older torch or a device without the fused kernel
        return torch.optim.AdamW(model.parameters(), **kw)


def _generator_version() -> int:
    """Recorded so a synthetic checkpoint can tell when the generator that made its data has changed."""
    from ..data.synthetic import GENERATOR_VERSION

    return GENERATOR_VERSION


class Trainer:
    """Trains a :class:`ConvVAE` on a :class:`FaceDataset` into the checkpoint directory ``out_dir``.

    ``resume=True`` continues the resumable checkpoint already in ``out_dir`` (same model config);
    ``init_from`` starts from another checkpoint's weights with a fresh optimizer (fine-tuning).
    """

    def __init__(
        self,
        dataset: FaceDataset,
        model_config: ModelConfig,
        train_config: TrainConfig,
        out_dir: str | Path,
        *,
        device: str = "auto",
        resume: bool = False,
        init_from: str | Path | None = None,
        command: str | None = None,
        log_every: int = 10,
        keep_training_state: bool = True,
        eval_batch_size: int = 256,
    ) -> None:
        if dataset.resolution != model_config.resolution:
            raise ConfigError(
                f"dataset images are {dataset.resolution}×{dataset.resolution} but the model expects "
                f"{model_config.resolution}; build the dataset at resolution {model_config.resolution}"
            )
        if len(dataset) < 2:
            raise ConfigError(f"need at least 2 images to train (1 train + 1 validation), got {len(dataset)}")
        self.dataset = dataset
        self.model_config = model_config
        self.train_config = train_config
        self.out_dir = Path(out_dir)
        self.device = resolve_device(device)
        self.resume = resume
        self.init_from = Path(init_from) if init_from else None
        self.command = command if command is not None else current_command()
        self.log_every = max(1, log_every)
        self.keep_training_state = keep_training_state
        self.eval_batch_size = eval_batch_size
        self._stop = threading.Event()

    # -- control ---------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the run to stop after the current step (thread-safe); it saves a resumable checkpoint."""
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> Iterator[TrainEvent]:
        ctx = init_distributed(self.device)
        try:
            yield from self._run(ctx)
        finally:
            shutdown(ctx)

    def _run(self, ctx: DistContext) -> Iterator[TrainEvent]:
        """Prepare, then epochs of steps with an evaluation and a checkpoint after each, then the final
        checkpoint. A non-finite loss ends the run with an :class:`ErrorEvent` instead."""
        t_start = time.perf_counter()
        run = self._prepare(ctx)
        if ctx.is_main:
            yield self._start_event(run)
        loop = _Loop.begin(self.device)
        run.state.loop_started = loop.window_started
        while run.steps_left() and not loop.timed_out:
            if not (yield from self._train_epoch(run, loop)):
                return
            if loop.cancelled:
                break
            if not (yield from self._end_epoch(run, loop)):
                return
        yield from self._finish(run, loop, t_start)

    # -- steps of a run ---------------------------------------------------------------------------
    def _prepare(self, ctx: DistContext) -> _Run:
        """The model (restored, fine-tuned from another checkpoint, or fresh), its optimizer, the split and
        the number of steps."""
        cfg = self.train_config
        torch.manual_seed(cfg.seed)
        model = ConvVAE(self.model_config)
        # Device and memory layout before the optimizer: its state must share the parameters' layout (the
        # fused AdamW kernel walks parameters and moments as flat memory).
        model.to(self.device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        state = _RunState(history=[])
        optimizer = build_optimizer(model, cfg)
        gen_state: torch.Tensor | None = None
        if self.resume:
            gen_state = self._restore(model, optimizer, state)
        elif self.init_from is not None:
            self._init_weights(model)
        self._sanity_check(model)

        train_idx, val_idx = self.dataset.split()
        per_rank = len(train_idx) // ctx.world_size
        if per_rank < 1:
            raise ConfigError(f"{len(train_idx)} training images cannot be split over {ctx.world_size} processes")
        batch_size = min(cfg.batch_size, per_rank)
        steps_per_epoch = per_rank // batch_size
        total_steps = cfg.epochs * steps_per_epoch if cfg.epochs is not None else None
        if cfg.max_steps is not None:
            total_steps = cfg.max_steps if total_steps is None else min(total_steps, cfg.max_steps)

        generator = torch.Generator(device=self.device)
        generator.manual_seed(cfg.seed)
        if gen_state is not None:
            generator.set_state(gen_state)
        compute_dtype = resolve_precision(cfg.precision, self.device)
        return _Run(
            ctx=ctx, model=model, net=DistributedDataParallel(model) if ctx.enabled else model, optimizer=optimizer,
            generator=generator, state=state, train_idx=train_idx, val_idx=val_idx, per_rank=per_rank,
            batch_size=batch_size, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
            autocast=dict(device_type=self.device.type, dtype=torch.bfloat16, enabled=compute_dtype == torch.bfloat16),
            budget_s=60.0 * cfg.max_minutes if cfg.max_minutes else math.inf,
        )

    def _init_weights(self, model: ConvVAE) -> None:
        """Fine-tuning: start from ``init_from``'s weights (same model config), with a fresh optimizer."""
        src = load_checkpoint(self.init_from)
        if src.meta.model != self.model_config:
            raise ConfigError(f"{self.init_from} has a different model config; cannot initialise from it")
        model.load_state_dict(src.model.state_dict())
        for p in model.parameters():
            p.requires_grad_(True)

    def _start_event(self, run: _Run) -> StartEvent:
        state = run.state
        return StartEvent(
            total_steps=run.total_steps, steps_per_epoch=run.steps_per_epoch, start_step=state.step,
            start_epoch=state.epoch, device=str(self.device), world_size=run.ctx.world_size,
            num_train=len(run.train_idx), num_val=len(run.val_idx), num_parameters=run.model.num_parameters(),
            dataset=self.dataset.spec.describe(), history=list(state.history or []),
            precision="bf16" if run.autocast["enabled"] else "fp32",
        )

    def _train_epoch(self, run: _Run, loop: _Loop) -> Generator[TrainEvent, None, bool]:
        """The steps of one epoch (the rest of it, after a resume mid-epoch) or until the run must stop;
        False when the loss became non-finite (the ErrorEvent is yielded)."""
        cfg, state, ctx = self.train_config, run.state, run.ctx
        perm = epoch_permutation(run.train_idx, cfg.seed, state.epoch)
        shard = perm[: run.per_rank * ctx.world_size][ctx.rank::ctx.world_size]
        run.net.train()
        while state.batch_in_epoch < run.steps_per_epoch and run.steps_left():
            if self._must_stop(run, loop):
                break
            idx = shard[state.batch_in_epoch * run.batch_size:(state.batch_in_epoch + 1) * run.batch_size]
            lr, beta = self._step(run, loop, idx)
            at_epoch_end = state.batch_in_epoch >= run.steps_per_epoch or not run.steps_left()
            if loop.window_steps >= self.log_every or at_epoch_end:
                if not (yield from self._report(run, loop, lr, beta)):
                    return False
            if cfg.grid_every and state.step % cfg.grid_every == 0 and ctx.is_main:
                yield self._images(run.model, run.val_idx, state, run.generator)
                run.net.train()
        return True

    def _must_stop(self, run: _Run, loop: _Loop) -> bool:
        """True when cancel() was called or the time budget ran out, on every rank alike."""
        out_of_time = run.state.elapsed() >= run.budget_s
        if broadcast_flag(self._stop.is_set() or out_of_time, run.ctx):
            loop.timed_out = broadcast_flag(out_of_time and not self._stop.is_set(), run.ctx)
            loop.cancelled = not loop.timed_out
            return True
        return False

    def _step(self, run: _Run, loop: _Loop, idx: np.ndarray) -> tuple[float, float]:
        """One optimizer step on the images ``idx``; its losses join the log window (no host sync here).
        Returns the step's learning rate and β."""
        cfg, state = self.train_config, run.state
        batch = self.dataset.images[np.sort(idx)]
        batch = augment(batch, hflip=cfg.hflip, shift=cfg.shift, seed=cfg.seed, step=state.step, rank=run.ctx.rank)
        # NHWC uint8 → NCHW float view with channels_last strides: no copy of the layout.
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        if not cfg.channels_last:
            x = x.contiguous()
        lr = lr_at(state.step, run.total_steps, cfg, state.elapsed())
        for g in run.optimizer.param_groups:
            g["lr"] = lr
        beta = beta_at(state.step, cfg)
        with torch.autocast(**run.autocast):  # the model returns fp32 posterior and reconstruction
            out = run.net(x, run.generator)
        terms = elbo_terms(x, out.reconstruction, out.posterior, self.model_config, beta)
        run.optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        run.optimizer.step()
        loop.add(torch.stack([terms.loss.detach(), terms.mse.detach(), terms.recon_nll.detach(),
                              terms.kl.detach(), torch.ones((), device=self.device)]),
                 images=len(idx) * run.ctx.world_size)
        state.step += 1
        state.batch_in_epoch += 1
        return lr, beta

    def _report(self, run: _Run, loop: _Loop, lr: float, beta: float) -> Generator[TrainEvent, None, bool]:
        """The log window's mean losses as a StepEvent (the loop's only host sync); False if non-finite."""
        state, ctx = run.state, run.ctx
        means = all_reduce_mean(loop.window / loop.window[4], ctx).tolist()
        if not all(math.isfinite(v) for v in means[:4]):
            yield from self._fault(ctx, state, lr)
            return False
        ips = loop.window_images / max(1e-9, time.perf_counter() - loop.window_started)
        steps_left = math.inf if run.total_steps is None else run.total_steps - state.step
        eta = min(steps_left * run.batch_size * ctx.world_size / max(ips, 1e-9),
                  max(0.0, run.budget_s - state.elapsed()))
        if ctx.is_main:
            point = StepEvent(
                step=state.step, epoch=state.epoch, epoch_progress=state.batch_in_epoch / run.steps_per_epoch,
                loss=means[0], mse=means[1], recon=means[2], kl=means[3], nelbo=means[2] + means[3],
                beta=beta, lr=lr, images_per_sec=ips, eta_sec=eta,
            )
            state.history.append({"kind": "train", "step": point.step, "epoch": point.epoch, "loss": point.loss,
                                  "mse": point.mse, "recon": point.recon, "kl": point.kl, "nelbo": point.nelbo,
                                  "beta": beta})
            yield point
        loop.reset_window()
        return True

    def _end_epoch(self, run: _Run, loop: _Loop) -> Generator[TrainEvent, None, bool]:
        """After an epoch (or a stop within one): evaluate when due, show images, write a checkpoint;
        False when the held-out loss is non-finite."""
        cfg, state, ctx = self.train_config, run.state, run.ctx
        train_means = all_reduce_mean(loop.epoch_sums / loop.epoch_sums[4].clamp(min=1), ctx).tolist()
        loop.epoch_sums.zero_()
        if state.batch_in_epoch >= run.steps_per_epoch:
            state.epoch += 1
            state.batch_in_epoch = 0
        finishing = not run.steps_left() or loop.timed_out
        if cfg.eval_every:
            due = state.epoch % cfg.eval_every == 0
        else:  # keep evaluation under ~5% of the time: short epochs (small sets) evaluate less often
            due = time.perf_counter() - loop.last_eval >= 20 * loop.eval_cost
        if ctx.is_main and (due or finishing):
            yield PhaseEvent(name="evaluate", step=state.step)
            t_eval = time.perf_counter()
            ev = self._evaluate(run.model, run.val_idx, state, train_means, beta_at(state.step, cfg))
            if not math.isfinite(ev.val_loss):
                yield from self._fault(ctx, state, lr_at(state.step, run.total_steps, cfg, state.elapsed()),
                                       synced=True)
                return False
            state.history.append({"kind": "val", "step": ev.step, "epoch": ev.epoch, "loss": ev.val_loss,
                                  "mse": ev.val_mse, "kl": ev.val_kl, "nelbo": ev.val_nelbo, "ssim": ev.val_ssim})
            yield ev
            yield self._images(run.model, run.val_idx, state, run.generator)
            loop.last_eval = time.perf_counter()
            loop.eval_cost = loop.last_eval - t_eval
        if ctx.is_main and cfg.checkpoint_every_epoch and not finishing:
            yield PhaseEvent(name="save", step=state.step)
            path = self._save(run.model, run.optimizer, run.generator, state, metrics=None, resumable=True)
            yield CheckpointEvent(step=state.step, epoch=state.epoch, path=str(path))
        barrier(ctx)
        return True

    def _finish(self, run: _Run, loop: _Loop, t_start: float) -> Iterator[TrainEvent]:
        """Final metrics on the held-out split, the final checkpoint and its latent sampler."""
        state = run.state
        if run.ctx.is_main:
            yield PhaseEvent(name="evaluate", step=state.step)
            metrics = self._final_metrics(run.model, run.val_idx)
            metrics.update({"steps": state.step, "epochs": state.epoch, "seconds": time.perf_counter() - t_start,
                            "cancelled": loop.cancelled, "time_budget_reached": loop.timed_out})
            yield PhaseEvent(name="save", step=state.step)
            path = self._save(run.model, run.optimizer, run.generator, state, metrics=metrics,
                              resumable=self.keep_training_state or loop.cancelled)
            yield PhaseEvent(name="sampler", step=state.step)
            self._fit_sampler(run.model, run.train_idx, path)
            if self.train_config.export_decoder:
                yield PhaseEvent(name="decoder", step=state.step)
                self._export_decoder(path)
            yield CheckpointEvent(step=state.step, epoch=state.epoch, path=str(path))
            yield DoneEvent(step=state.step, epoch=state.epoch, path=str(path), metrics=metrics,
                            cancelled=loop.cancelled, seconds=time.perf_counter() - t_start)
        barrier(run.ctx)

    # -- pieces ---------------------------------------------------------------------------------
    def _sanity_check(self, model: ConvVAE) -> None:
        """One forward pass before the loop, so a broken config fails with a message, not mid-epoch."""
        r = self.model_config.resolution
        try:
            model.eval()
            with torch.no_grad():
                out = model(torch.rand(2, 3, r, r, device=self.device))
            if out.reconstruction.shape != (2, 3, r, r):
                raise TrainingError(f"decoder produced {list(out.reconstruction.shape)}, expected [2, 3, {r}, {r}]")
        except RuntimeError as e:
            raise TrainingError(f"the model cannot run on {self.device}: {e}") from None
        finally:
            model.train()

    def _restore(self, model: ConvVAE, optimizer: torch.optim.Optimizer, state: _RunState) -> torch.Tensor | None:
        meta = read_meta(self.out_dir)
        if meta.model != self.model_config:
            raise ConfigError(
                f"cannot resume {self.out_dir}: it was trained with a different model config "
                f"({meta.model.to_dict()}); use the same settings or a new output directory"
            )
        loaded = load_checkpoint(self.out_dir, verify_hash=True)
        model.load_state_dict(loaded.model.state_dict())
        for p in model.parameters():
            p.requires_grad_(True)
        info = load_training_state(self.out_dir, optimizer)
        state.step = int(info.get("step", 0))
        state.epoch = int(info.get("epoch", 0))
        state.batch_in_epoch = int(info.get("batch_in_epoch", 0))
        state.history = list(info.get("history", []))
        state.elapsed_before = float(info.get("elapsed_s", 0.0))
        state.last_good = str(self.out_dir)
        from safetensors.torch import load_file  # local: only resuming needs the RNG tensor

        tensors = load_file(str(self.out_dir / TRAIN_STATE))
        rng = tensors.get("rng.generator")
        return rng.to(torch.uint8) if rng is not None else None

    def _save(self, model: ConvVAE, optimizer: torch.optim.Optimizer, generator: torch.Generator,
              state: _RunState, metrics: dict[str, Any] | None, resumable: bool) -> Path:
        meta = CheckpointMeta(
            model=self.model_config, data=self.dataset.spec, train=self.train_config,
            metrics=metrics or {"partial": True, "step": state.step, "epoch": state.epoch},
            command=self.command,
            extra={"dataset_label": self.dataset.spec.describe(), "synthetic": self.dataset.is_synthetic,
                   "num_images": len(self.dataset),
                   "attributes": self.dataset.schema.to_dict() if self.dataset.schema else None,
                   "synthetic_generator_version": _generator_version() if self.dataset.is_synthetic else None},
        )
        train_state = None
        if resumable:
            train_state = {"step": state.step, "epoch": state.epoch, "batch_in_epoch": state.batch_in_epoch,
                           "history": state.history, "elapsed_s": state.elapsed()}
        path = save_checkpoint(self.out_dir, model, meta, optimizer=optimizer if resumable else None,
                               train_state=train_state,
                               extra_tensors={"rng.generator": generator.get_state()} if resumable else None)
        state.last_good = str(path)
        return path

    def _fault(self, ctx: DistContext, state: _RunState, lr: float, synced: bool = False) -> Iterator[TrainEvent]:
        msg = (f"training stopped at step {state.step}: the loss became NaN or infinite "
               f"(learning rate {lr:.3g}; try a smaller --lr, e.g. 10× lower).")
        if state.last_good:
            msg += f" The last good checkpoint is kept at {state.last_good}."
        else:
            msg += " No checkpoint was written."
        log.error(msg)
        if ctx.is_main:
            yield ErrorEvent(step=state.step, message=msg, checkpoint=state.last_good)

    @torch.inference_mode()
    def _evaluate(self, model: ConvVAE, val_idx: np.ndarray, state: _RunState, train_means: list[float],
                  beta: float) -> EvalEvent:
        model.eval()
        gen = torch.Generator(device=self.device)
        gen.manual_seed(1234)
        sums = torch.zeros(5, dtype=torch.float64)
        n = 0
        idx_all = val_idx if len(val_idx) else np.arange(min(len(self.dataset), 256))
        for i in range(0, len(idx_all), self.eval_batch_size):
            idx = idx_all[i:i + self.eval_batch_size]
            x = self.dataset.tensor(idx).to(self.device)
            post = model.encode(x)
            x_hat = model.decode(post.sample(gen))
            t = elbo_terms(x, x_hat, post, self.model_config, beta)
            x_mode = model.decode(post.mode())
            mse_mode = (x_mode - x).pow(2).mean()
            ssim_mode = ssim(x_mode.float().clamp(0, 1), x.float()).mean()
            sums += torch.tensor([t.loss.item(), mse_mode.item(), t.recon_nll.item(), t.kl.item(), ssim_mode.item()],
                                 dtype=torch.float64) * len(idx)
            n += len(idx)
        model.train()
        loss, mse, recon, kl, ssim_mean = (sums / max(n, 1)).tolist()
        nel = recon + kl
        return EvalEvent(
            step=state.step, epoch=state.epoch, train_loss=train_means[0], train_mse=train_means[1],
            train_kl=train_means[3], train_nelbo=train_means[2] + train_means[3], val_loss=loss, val_mse=mse,
            val_kl=kl, val_nelbo=nel, val_bits_per_dim=bits_per_dim(nel, self.model_config), beta=beta,
            val_ssim=ssim_mean,
        )

    @torch.inference_mode()
    def _images(self, model: ConvVAE, val_idx: np.ndarray, state: _RunState, generator: torch.Generator) -> ImagesEvent:
        model.eval()
        idx = (val_idx if len(val_idx) else np.arange(len(self.dataset)))[:GRID_IMAGES]
        x = self.dataset.tensor(idx).to(self.device)
        recon = model.decode(model.encode(x).mode())
        # Random faces as the app draws them: from a kernel density on the training codes (a cheap one per
        # grid, no selection), with the same seed every time so progress is visible.
        train_idx = np.setdiff1d(np.arange(len(self.dataset)), val_idx)[:SAMPLER_GRID_CODES]
        mu = encode_images(model, self.dataset.images[train_idx] if len(train_idx) else self.dataset.images[:64])[0]
        z = torch.from_numpy(quick_sampler(mu, seed=99).sample(GRID_IMAGES, seed=99)).to(self.device)
        samples = model.decode(z)
        model.train()
        top = make_grid(np.concatenate([to_uint8(x), to_uint8(recon)]), cols=len(idx))
        return ImagesEvent(step=state.step, epoch=state.epoch, reconstructions=top,
                           samples=make_grid(to_uint8(samples), cols=GRID_IMAGES))

    def _fit_sampler(self, model: ConvVAE, train_idx: np.ndarray, path: Path) -> None:
        """Fit the checkpoint's latent sampler (random faces) on the training split's posterior means."""
        idx = train_idx if len(train_idx) else np.arange(len(self.dataset))
        try:
            fit_checkpoint_sampler(model, self.dataset.images[np.sort(idx)], path,
                                   read_meta(path).weights_sha256, seed=self.train_config.seed)
        except ValueError as e:  # e.g. too few images: the app falls back to the prior and says so
            log.warning("no latent sampler for %s: %s", path, e)
        finally:
            model.train()

    @staticmethod
    def _export_decoder(path: Path) -> None:
        """The final weights' decoder as ONNX, for the explorer's page. A finished training never fails here:
        the checkpoint is complete without it and ``ensure_decoder`` writes it when it is first needed."""
        from ..web.decoder_export import ensure_decoder

        try:
            ensure_decoder(path)
        except Exception as e:  # noqa: BLE001 - the exporter's failures are of any type; all are only a warning
            log.warning("no ONNX decoder written for %s (%s: %s); `python -m vae_core export-decoder "
                        "--checkpoint %s` writes it", path, type(e).__name__, e, path)

    def _final_metrics(self, model: ConvVAE, val_idx: np.ndarray) -> dict[str, Any]:
        from ..metrics import evaluate_model

        model.eval()
        idx = val_idx if len(val_idx) else np.arange(len(self.dataset))
        report = evaluate_model(model, self.dataset, idx, batch_size=self.eval_batch_size)
        model.train()
        return {"split": "validation", **report.to_dict()}
