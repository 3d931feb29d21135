"""Train tab inputs → a validated :class:`TrainRequest` (pure; raises user-facing errors).

Dataset folders typed by a visitor must lie inside the allowed data roots (``CVAE_DATA_ROOTS``), so a
public Space cannot be made to read arbitrary server paths; new checkpoints go under the runs folder.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Any

from vae_core.checkpoint import TRAIN_STATE_JSON, read_meta
from vae_core.config import DataSpec, ModelConfig, TrainConfig

from ..common import validate
from ..common.errors import UserInputError
from ..common.settings import AppSettings, display_path
from .runner import is_within
from .worker import TrainRequest

DATASET_CHOICES = [
    ("Synthetic faces (procedural, NOT the real Cartoon Set)", "synthetic"),
    ("Cartoon Set (downloaded folder)", "cartoonset"),
    ("Image folder", "folder"),
]
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SYNTHETIC = 100_000


def allowed_data_path(settings: AppSettings, text: Any) -> Path:
    """A typed dataset folder, resolved, if it lies inside an allowed root; UserInputError otherwise."""
    roots = settings.data_roots
    where = ", ".join(display_path(r) for r in roots) or "(none configured: set CVAE_DATA_ROOTS)"
    text = validate.text(text, "the dataset folder", max_len=1000)
    if not text.strip():
        raise UserInputError(f"type the dataset folder (inside one of: {where})")
    raw = Path(str(text).strip()).expanduser()
    candidates = [raw] if raw.is_absolute() else [r / raw for r in roots]
    for c in candidates:
        try:
            p = c.resolve()
        except (OSError, RuntimeError):
            continue
        if is_within(p, roots):
            if not p.is_dir():
                raise UserInputError(f"{text!r} is not a folder")
            return p
    raise UserInputError(f"{text!r} is outside the folders this app may read ({where}); "
                         "put the dataset there or set CVAE_DATA_ROOTS")


def run_dir(settings: AppSettings, name: Any, kind: str) -> Path:
    clean = _NAME.sub("-", validate.text(name, "the run name", max_len=200).strip()).strip("-.")[:60]
    if not clean:
        clean = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = settings.runs_dir / clean
    if out.exists():
        raise UserInputError(f"a run named {clean!r} already exists in {display_path(settings.runs_dir)}; choose another name, "
                             "or resume it")
    return out


def new_run(settings: AppSettings, *, kind: str, path: Any, size: Any, limit: Any, resolution: Any,
            latent_dim: Any, beta: Any, epochs: Any, batch_size: Any, lr: Any, name: Any) -> TrainRequest:
    validate.choice(kind, "the dataset", ("synthetic", "cartoonset", "folder"))
    res = validate.whole(resolution, "resolution", 32, 128)
    lim = None if limit in (None, "", 0, 0.0) else validate.whole(limit, "image limit", 2, 1_000_000)
    if kind == "synthetic":
        source = {"size": validate.whole(size, "number of synthetic faces", 2, MAX_SYNTHETIC)}
    else:
        source = {"path": str(allowed_data_path(settings, path))}
    data = DataSpec(kind=kind, resolution=res, limit=lim, **source)  # the crop follows the kind (DataSpec)
    model = ModelConfig(resolution=res, latent_dim=validate.whole(latent_dim, "latent size", 1, 512))
    train = TrainConfig(epochs=validate.whole(epochs, "epochs", 1, 1000),
                        batch_size=validate.whole(batch_size, "batch size", 1, 1024),
                        lr=validate.number(lr, "learning rate", 1e-6, 1.0), beta=validate.number(beta, "β", 0.0, 100.0))
    train = dataclasses.replace(train, kl_warmup_steps=short_run_warmup(data, train))
    out = run_dir(settings, name, kind)
    return TrainRequest(data=data.to_dict(), model=model.to_dict(), train=train.to_dict(), out_dir=str(out),
                        threads=settings.train_threads, map_method=settings.map_method,
                        max_points=settings.max_map_points, label=out.name,
                        log_every=_log_every(data, train))


def _steps_per_epoch(data: DataSpec, train: TrainConfig) -> int:
    """Optimizer steps in one epoch (a folder's size is not known before it is read: assume 10,000 images)."""
    n = data.size if data.kind == "synthetic" else (data.limit or 10_000)
    return max(1, int(n * (1 - data.val_fraction)) // train.batch_size)


def short_run_warmup(data: DataSpec, train: TrainConfig) -> int:
    """The recipe's β warm-up, but at most a quarter of the run: a few-minute run from this tab (a hundred
    steps or so) must reach its β, or it trains a model of β ≈ 0.1 whose random faces are blobs."""
    total = _steps_per_epoch(data, train) * (train.epochs or 1)
    return min(train.kl_warmup_steps, total // 4)


def _log_every(data: DataSpec, train: TrainConfig) -> int:
    """Report often enough for a live curve (~50 points per epoch), rarely enough to stay cheap."""
    return max(1, min(20, _steps_per_epoch(data, train) // 50))


def resumable(settings: AppSettings, checkpoints: list[Path]) -> list[tuple[str, str]]:
    """(label, path) of checkpoints that hold training state, i.e. can be resumed."""
    out = []
    for p in checkpoints:
        if (p / TRAIN_STATE_JSON).is_file() and is_within(p, (settings.runs_dir,)):
            try:
                meta = read_meta(p)
            except Exception:  # noqa: BLE001 - unreadable ones are simply not offered
                continue
            step = meta.metrics.get("step") or meta.metrics.get("steps")
            state = "stopped early" if (meta.metrics.get("partial") or meta.metrics.get("cancelled")) else "finished"
            # the value is the run's folder name (no server path reaches the page); resume_run maps it back
            out.append((f"{p.name} ({state}, step {step}, {meta.train.epochs if meta.train else '?'} epochs)", p.name))
    return out


def resume_run(settings: AppSettings, choice: Any, checkpoints: list[Path], epochs: Any) -> TrainRequest:
    known = {name for _, name in resumable(settings, checkpoints)}
    if not isinstance(choice, str) or choice not in known:
        raise UserInputError("pick a stopped run to resume (only runs of this app that saved training state)")
    out = settings.runs_dir / choice
    meta = read_meta(out)
    if meta.train is None:
        raise UserInputError(f"{out.name} has no training recipe; start a new run instead")
    if meta.data.path and not is_within(Path(meta.data.path), settings.data_roots):
        raise UserInputError(f"{out.name} was trained on a dataset outside the folders this app may read")
    train = TrainConfig.from_dict({**meta.train.to_dict(),
                                   "epochs": validate.whole(epochs, "epochs", 1, 1000) if epochs else meta.train.epochs})
    return TrainRequest(data=meta.data.to_dict(), model=meta.model.to_dict(), train=train.to_dict(),
                        out_dir=str(out), resume=True, threads=settings.train_threads,
                        map_method=settings.map_method, max_points=settings.max_map_points,
                        label=f"{out.name} (resumed)", log_every=_log_every(meta.data, train))
