"""Checkpoints: a directory with ``model.safetensors`` + ``config.json`` (+ resumable training state).

Why a directory swapped atomically: a checkpoint is several files that must agree. We write all of them
into a fresh temp directory beside the target, fsync, then rename the old directory aside and the new one
into place. A crash (even SIGKILL) at any moment leaves either the old or the new checkpoint complete;
the only window without ``<name>/`` is between two renames, and :func:`load_checkpoint` recovers from it
by taking the ``.<name>.old-*`` copy. Nothing is ever unpickled: weights are safetensors, metadata JSON,
optimizer state safetensors + JSON.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import fsync_dir as _fsync_dir
from .config import DataSpec, ModelConfig, TrainConfig
from .errors import CheckpointError, ConfigError
from .file_hash import file_sha256  # noqa: F401 - part of this module's API (the weights' identity)
from .migrations import upgrade_checkpoint_config
from .version import CHECKPOINT_FORMAT, __version__

log = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TRAIN_STATE = "training_state.safetensors"
TRAIN_STATE_JSON = "training_state.json"
MAX_CONFIG_BYTES = 10_000_000


def _read_umask() -> int:
    """The process umask, read once at import (os.umask can only be read by setting it: not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@dataclass
class CheckpointMeta:
    """Everything in ``config.json``: enough to rebuild the model and to say where it came from."""

    model: ModelConfig
    data: DataSpec
    train: TrainConfig | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    package_version: str = __version__
    format_version: int = CHECKPOINT_FORMAT
    weights_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "cartoon-vae-checkpoint",
            "format_version": self.format_version,
            "class": "ConvVAE",
            "package_version": self.package_version,
            "created": self.created,
            "command": self.command,
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "train": self.train.to_dict() if self.train else None,
            "metrics": self.metrics,
            "extra": self.extra,
            "weights_sha256": self.weights_sha256,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckpointMeta":
        if not isinstance(d, dict) or d.get("format") != "cartoon-vae-checkpoint":
            raise CheckpointError("config.json is not a cartoon-vae checkpoint config (missing 'format')")
        d = upgrade_checkpoint_config(d)
        if d.get("class") != "ConvVAE":
            raise CheckpointError(f"unknown model class {d.get('class')!r} in checkpoint")
        try:
            return cls(
                model=ModelConfig.from_dict(d["model"]),
                data=DataSpec.from_dict(d["data"]),
                train=TrainConfig.from_dict(d["train"]) if d.get("train") else None,
                metrics=dict(d.get("metrics") or {}),
                command=str(d.get("command", "")),
                extra=dict(d.get("extra") or {}),
                created=str(d.get("created", "")),
                package_version=str(d.get("package_version", "")),
                format_version=int(d["format_version"]),
                weights_sha256=str(d.get("weights_sha256", "")),
            )
        except KeyError as e:
            raise CheckpointError(f"checkpoint config lacks the {e.args[0]!r} section") from None
        except ConfigError as e:
            raise CheckpointError(f"checkpoint config is invalid: {e}") from None
        except (TypeError, ValueError, AttributeError) as e:  # e.g. "metrics": [1, 2] or "model": "big"
            raise CheckpointError(f"checkpoint config is invalid: {type(e).__name__}: {e}") from None


@dataclass
class LoadedCheckpoint:
    """A model ready for inference (eval mode, no grad) with its metadata and a stable identity."""

    #: a ConvVAE for checkpoints of this package (the class :func:`read_checkpoint` was given)
    model: torch.nn.Module
    meta: CheckpointMeta
    path: Path

    @property
    def fingerprint(self) -> str:
        """Identity of the weights (sha256 of the safetensors file); keys projection caches."""
        return self.meta.weights_sha256


def current_command() -> str:
    """The command line of this process, recorded in checkpoints so a run can be reproduced."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "__main__.py" and argv0.parent.name == "vae_core":
        cmd = ["-m", "vae_core", *sys.argv[1:]]
    else:
        cmd = list(sys.argv)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # launched by torchrun: record how to relaunch it
        nodes = os.environ.get("GROUP_WORLD_SIZE", "1")
        per_node = os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])
        return shlex.join(["torchrun", "--nnodes", nodes, "--nproc_per_node", per_node, *cmd])
    return shlex.join(["python", *cmd])


def read_json_file(path: Path, max_bytes: int, what: str, fix: str) -> Any:
    """The parsed JSON of a small metadata file: refused unread when over ``max_bytes`` (it names ``what``
    it should have been) and a :class:`CheckpointError` saying how to ``fix`` it when it does not parse."""
    if path.stat().st_size > max_bytes:
        raise CheckpointError(f"{path} is too large to be {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); {fix}") from None


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _plain_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """state_dict of the plain module: unwraps DDP (``module.``) and torch.compile (``_orig_mod.``)."""
    inner = getattr(model, "module", model)
    inner = getattr(inner, "_orig_mod", inner)
    return {k: v.detach().cpu().contiguous() for k, v in inner.state_dict().items()}


def _optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state_dict into tensors (safetensors) and JSON, so resuming needs no pickle."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"opt.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                       info: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if not key.startswith("opt."):
            continue
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = v
    for pid, sc in info.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(sc)
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    # Saved moments are contiguous; a channels_last parameter needs them in its own layout (a fused
    # optimizer pairs parameter and moment elements by memory position, not by index).
    for group in optimizer.param_groups:
        for p in group["params"]:
            for k, v in optimizer.state.get(p, {}).items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    optimizer.state[p][k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    meta: CheckpointMeta,
    optimizer: torch.optim.Optimizer | None = None,
    train_state: dict[str, Any] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    weights_dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a checkpoint directory atomically; returns its path.

    ``weights_dtype`` torch.float16 stores floating weights at half size (a published model: a Hugging Face
    Space takes files under 10 MB without Git LFS); loading casts them back to float32. Measure the change
    before shipping one (``python -m vae_core publish`` prints the largest pixel difference).

    ``train_state`` (JSON-able: step, epoch, history…), the optimizer and ``extra_tensors`` (e.g. RNG
    state) are saved only for resumable checkpoints. Existing files of an older checkpoint at ``path`` survive until the new one is
    complete; existing ``projections/`` and ``web/`` folders are carried over only if the weights did not change, an
    ``analysis/`` folder always (its attribute classifier depends on the data only), minus the cached
    analyses of other weights.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp's 0700 would hide a shared checkpoint from other users
    try:
        weights = tmp / WEIGHTS
        tensors = {k: v.to(weights_dtype) if v.is_floating_point() else v for k, v in _plain_state_dict(model).items()}
        save_file(tensors, str(weights), metadata={"format": "cartoon-vae"})
        with open(weights, "rb+") as f:
            os.fsync(f.fileno())
        meta.weights_sha256 = file_sha256(weights)
        meta.created = meta.created or time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if optimizer is not None or train_state is not None:
            tensors, info = _optimizer_state(optimizer) if optimizer is not None else ({}, None)
            tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra_tensors or {}).items()})
            save_file(tensors or {"_empty": torch.zeros(1)}, str(tmp / TRAIN_STATE))
            _write_json(tmp / TRAIN_STATE_JSON, {"optimizer": info, "state": train_state or {}})
        old_proj = path / "projections"
        same_weights = _same_weights(path, meta.weights_sha256)
        if old_proj.is_dir() and same_weights:
            shutil.copytree(old_proj, tmp / "projections")
        old_web = path / "web"  # the exported decoder (vae_core.web.decoder_export), keyed by the weights too
        if old_web.is_dir() and same_weights:
            shutil.copytree(old_web, tmp / "web")
        old_analysis = path / "analysis"
        if old_analysis.is_dir():
            # The attribute classifier depends only on the dataset, so it survives new weights; the cached
            # analyses (keyed by the weights anyway) describe the old weights and are dropped with them.
            shutil.copytree(old_analysis, tmp / "analysis",
                            ignore=None if same_weights else shutil.ignore_patterns("analysis-*.json"))
        _write_json(tmp / CONFIG, meta.to_dict())
        _fsync_dir(tmp)
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}-{time.time_ns()}"
            os.rename(path, old)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("saved checkpoint %s", path)
    return path


def _same_weights(path: Path, sha: str) -> bool:
    try:
        return json.loads((path / CONFIG).read_text()).get("weights_sha256") == sha
    except (OSError, ValueError):
        return False


def _recover(path: Path) -> None:
    """Finish an interrupted swap: if ``path`` is missing but an ``.old`` copy exists, put it back."""
    if path.exists():
        return
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        log.warning("recovering checkpoint %s from interrupted save (%s)", path, olds[-1].name)
        try:
            os.rename(olds[-1], path)
        except OSError as e:
            raise CheckpointError(f"checkpoint {path} was interrupted mid-save and cannot be recovered: {e}") from None


def read_meta(path: str | Path) -> CheckpointMeta:
    """Read and validate ``config.json`` only (cheap: for listing checkpoints)."""
    path = Path(path)
    _recover(path)
    cfg = path / CONFIG
    if not path.is_dir():
        raise CheckpointError(f"no checkpoint at {path}: expected a directory with {CONFIG} and {WEIGHTS}")
    if not cfg.is_file():
        raise CheckpointError(f"{path} has no {CONFIG}; is it a cartoon-vae checkpoint directory?")
    d = read_json_file(cfg, MAX_CONFIG_BYTES, "a checkpoint config", "the checkpoint is corrupt")
    return CheckpointMeta.from_dict(d)


def load_tensors(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, on the CPU, never unpickled; a :class:`CheckpointError` if the file
    is missing or not valid safetensors."""
    if not file.is_file():
        raise CheckpointError(f"checkpoint file {file} is missing")
    try:
        return load_file(str(file), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{file} is not a valid safetensors file ({e}); the checkpoint is corrupt or truncated"
        ) from None


def read_checkpoint(path: str | Path, model_cls: Callable[[ModelConfig], torch.nn.Module],
                    device: str | torch.device = "cpu", verify_hash: bool = True) -> LoadedCheckpoint:
    """Load a checkpoint for inference as a ``model_cls``. Never unpickles; every failure is a
    :class:`CheckpointError`.

    Why the class is passed in: this module is the file format, which the model module saves through, so it
    must not import the model (diffusers' ``ModelMixin.from_pretrained`` hands over ``cls`` the same way).
    :func:`vae_core.model.load_checkpoint` is the call with :class:`~vae_core.model.ConvVAE`."""
    path = Path(path)
    meta = read_meta(path)
    weights = path / WEIGHTS
    if verify_hash and meta.weights_sha256 and weights.is_file() and file_sha256(weights) != meta.weights_sha256:
        raise CheckpointError(
            f"{weights} does not match the sha256 recorded in {CONFIG}; the checkpoint was modified or is corrupt"
        )
    state = load_tensors(weights)
    model = model_cls(meta.model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {weights} do not fit the model described in {CONFIG} "
            f"(missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''})"
        )
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise CheckpointError(
                f"tensor {k!r} in {weights} has shape {list(state[k].shape)} but the config needs {list(v.shape)}"
            )
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            raise CheckpointError(f"tensor {k!r} in {weights} holds NaN/inf values; the checkpoint is unusable")
    model.load_state_dict(state)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedCheckpoint(model=model, meta=meta, path=path)


def load_training_state(path: str | Path, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
    """Restore the optimizer of a resumable checkpoint in place; returns its JSON training state."""
    path = Path(path)
    info_file = path / TRAIN_STATE_JSON
    if not info_file.is_file():
        raise CheckpointError(f"{path} holds no training state; it cannot be resumed (only fine-tuned)")
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{info_file} is corrupt ({e})") from None
    if optimizer is not None and info.get("optimizer"):
        tensors = load_tensors(path / TRAIN_STATE)
        try:
            _restore_optimizer(optimizer, tensors, info["optimizer"])
        except (KeyError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"optimizer state in {path} does not fit this model: {e}") from None
    return dict(info.get("state") or {})


def list_checkpoints(root: str | Path) -> list[Path]:
    """Checkpoint directories directly under ``root`` (those with a readable config), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for d in root.iterdir():
        if d.is_dir() and not d.name.startswith(".") and (d / CONFIG).is_file() and (d / WEIGHTS).is_file():
            found.append(d)
    return sorted(found, key=lambda p: (p.name != "default", -(p / CONFIG).stat().st_mtime))
