"""Train tab inputs → a validated :class:`TrainRequest` (pure; raises user-facing errors).

Dataset folders typed by a visitor must lie inside the allowed data roots (``CVAE_DATA_ROOTS``), so a
public Space cannot be made to read arbitrary server paths; new checkpoints go under the runs folder. The
deployment's fair-use caps (:class:`~ui.common.settings.TrainPolicy`) are applied here, so the recorded
command says what the run really did. A run can be resumed or continued only by its owner.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vae_core.checkpoint import TRAIN_STATE_JSON, read_meta
from vae_core.config import DataSpec, ModelConfig, TrainConfig
from vae_core.data.cards import folder_name
from vae_core.data.download import CARTOONSET_ARCHIVES
from vae_core.errors import DatasetError

from ..common import validate
from ..common.errors import UserInputError
from ..common.settings import AppSettings, display_path
from .owners import OwnerBook
from .runner import NotYourRun, is_within
from .worker import TrainRequest

DATASET_CHOICES = [
    ("Synthetic faces (procedural, NOT the real Cartoon Set)", "synthetic"),
    ("Cartoon Set (downloaded folder)", "cartoonset"),
    ("Image folder", "folder"),
]
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SYNTHETIC = 100_000
#: the resume forms' total epochs before a run is picked (picking one fills in its own)
DEFAULT_RESUME_EPOCHS = 10


def disabled_message(settings: AppSettings) -> str:
    where = "this Space" if settings.train.on_space else "this server"
    return (f"Training is turned off on {where}. **Duplicate this Space** (or run the app on your own machine) "
            "to train your own model; every trained checkpoint here stays open in the picker at the top.")


def limits_markdown(settings: AppSettings) -> str:
    """The Train tab's first line: what this deployment allows, and that runs belong to their visitor."""
    if not settings.train.enabled:
        return disabled_message(settings)
    return (f"**Fair use on this server:** {settings.train.describe()} A run belongs to the visitor who started "
            "it (this browser keeps a token): only you can cancel or resume yours; everybody can open finished "
            "runs in the checkpoint list at the top.")


def dataset_hint(kind: str, settings: AppSettings) -> str:
    """What the chosen dataset is and where it comes from: the real faces need a download or a folder."""
    found = image_folders(settings)
    if kind == "synthetic":
        return ("Procedural faces generated on the fly: a quick demo, **not** the real Cartoon Set. For real faces "
                "pick *Image folder*" + (f" and type `{', '.join(f for f in found if f.startswith('cartoonset-'))}`"
                                         if any(f.startswith("cartoonset-") for f in found) else "") + ".")
    if kind == "cartoonset":
        have = [f for f in found if f in CARTOONSET_ARCHIVES]
        if have:
            return f"Downloaded here: `{'`, `'.join(have)}`. Type its name in the folder box."
        how = ("press **Download cartoonset10k** below (about 10,000 faces; progress is shown)"
               if settings.train.allow_download else "this server does not download datasets")
        return (f"The official Cartoon Set (Google, CC BY 4.0) is not on this server yet: {how}, or run "
                f"`{download_command('cartoonset10k', settings)}` on it. Then type `cartoonset10k` in the folder box.")
    real = [f for f in found if f.startswith("cartoonset-")]
    return ("Any folder of images (PNG, JPEG, WebP…, with an optional labels CSV). Several folders, separated by "
            "commas, are read as one dataset" + (f", e.g. `{', '.join(real)}` (the real faces)" if len(real) > 1 else "")
            + ".")


def download_command(name: str = "cartoonset10k", settings: AppSettings | None = None) -> str:
    """The CLI line that downloads the real Cartoon Set into the app's first data folder."""
    dest = display_path(settings.download_dir) if settings is not None else "data"
    return f"python -m vae_core download --name {name} --dest {dest}"


def allowed_data_path(settings: AppSettings, text: Any, kind: str = "folder") -> Path:
    """A typed dataset folder, resolved, if it lies inside an allowed root; UserInputError otherwise."""
    roots = settings.data_roots
    where = ", ".join(display_path(r) for r in roots) or "(none configured: set CVAE_DATA_ROOTS)"
    text = validate.text(text, "the dataset folder", max_len=1000)
    if not text.strip():
        raise UserInputError(f"type the dataset folder (inside one of: {where})")
    text = text.strip()
    raw = Path(text).expanduser()
    candidates = [raw] if raw.is_absolute() else [r / raw for r in roots]
    for c in candidates:
        try:
            p = c.resolve()
        except (OSError, RuntimeError):
            continue
        if is_within(p, roots):
            if p.is_dir():
                return p
    for c in candidates:  # not found in any root: say why
        try:
            p = c.resolve()
        except (OSError, RuntimeError):
            continue
        if is_within(p, roots):
            if kind == "cartoonset" and p.name in CARTOONSET_ARCHIVES:
                raise UserInputError(
                    f"{text!r} is not downloaded yet. Press 'Download {p.name}' below (where this server may "
                    f"download), or run `{download_command(p.name, settings)}` on the server, then start again")
            raise UserInputError(f"{text!r} is not a folder (looked in {where})")
    raise UserInputError(f"{text!r} is outside the folders this app may read ({where}); "
                         "put the dataset there or set CVAE_DATA_ROOTS")


def split_folders(text: Any) -> list[str]:
    """The folders typed in one box: separated by commas or new lines, blanks dropped."""
    text = validate.text(text, "the dataset folders", max_len=5000)
    return [t.strip() for t in re.split(r"[,\n]", text) if t.strip()]


MAX_FOLDERS = 8


def data_folders(settings: AppSettings, text: Any, kind: str) -> list[Path]:
    """Every folder typed for a dataset, each allowed, present and (for an image folder) holding images.
    Several folders are read as one dataset (image folders only)."""
    names = split_folders(text)
    if len(names) > 1 and kind != "folder":
        raise UserInputError("only an image-folder dataset reads several folders; the Cartoon Set is one folder")
    if len(names) > MAX_FOLDERS:
        raise UserInputError(f"at most {MAX_FOLDERS} folders in one run, got {len(names)}")
    folders = [allowed_data_path(settings, n, kind) for n in names or [""]]
    if len(set(folders)) != len(folders):
        raise UserInputError("a folder is named twice: " + ", ".join(names))
    if kind == "folder":
        from vae_core.data.imagefolder import list_image_files

        for name, folder in zip(names, folders):
            try:
                list_image_files(folder)
            except DatasetError:
                raise UserInputError(f"the folder {name!r} holds no images (PNG, JPEG, WebP…); "
                                     "remove it from the list or add images") from None
    return folders


def image_folders(settings: AppSettings, limit: int = 20) -> list[str]:
    """Names (relative to their data root) of the folders a visitor can type: each root's sub-folders."""
    found = []
    for root in settings.data_roots:
        try:
            subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            continue
        found += [p.name for p in subs]
    return found[:limit]


def check_enabled(settings: AppSettings) -> None:
    """UserInputError when this deployment does not train (``CVAE_TRAINING=off``)."""
    if not settings.train.enabled:
        where = "this Space" if settings.train.on_space else "this server"
        raise UserInputError(f"training is turned off on {where}: duplicate this Space (or run the app on your "
                             "own machine) to train")


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
    check_enabled(settings)
    policy = settings.train
    validate.choice(kind, "the dataset", ("synthetic", "cartoonset", "folder"))
    res = validate.whole(resolution, "resolution", 32, 128)
    lim = None if limit in (None, "", 0, 0.0) else validate.whole(limit, "image limit", 2, 1_000_000)
    if kind == "synthetic":
        most = min(MAX_SYNTHETIC, policy.max_faces or MAX_SYNTHETIC)
        source = {"size": validate.whole(size, "number of synthetic faces", 2, most)}
    else:
        folders = [str(f) for f in data_folders(settings, path, kind)]
        source = {"path": folders[0], "extra_paths": tuple(folders[1:])}
        if policy.max_faces:  # the cap reads the first faces of the folders, in order (DataSpec.limit)
            lim = min(lim or policy.max_faces, policy.max_faces)
    data = DataSpec(kind=kind, resolution=res, limit=lim, **source)  # the crop follows the kind (DataSpec)
    model = ModelConfig(resolution=res, latent_dim=validate.whole(latent_dim, "latent size", 1, 512))
    train = TrainConfig(epochs=validate.whole(epochs, "epochs", 1, policy.max_epochs),
                        batch_size=validate.whole(batch_size, "batch size", 1, 1024),
                        lr=validate.number(lr, "learning rate", 1e-6, 1.0), beta=validate.number(beta, "β", 0.0, 100.0),
                        max_minutes=policy.max_minutes)
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


@dataclass(frozen=True)
class RunChoice:
    """A run that can be trained further: stopped early (resume) or finished (continue training)."""

    name: str
    label: str
    finished: bool
    epochs_done: int
    epochs_planned: int


def _state(path: Path) -> dict:
    try:
        return dict(json.loads((path / TRAIN_STATE_JSON).read_text(encoding="utf-8")).get("state") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def may_resume(settings: AppSettings, owners: OwnerBook, owner: str | None, name: str) -> bool:
    """A visitor may resume their own runs; runs nobody owns (trained from the CLI) only on a private app."""
    recorded = owners.owner_of(name)
    if recorded is None:
        return not settings.train.public
    return owners.owns(owner, name)


def trainable_runs(settings: AppSettings, checkpoints: list[Path], owners: OwnerBook | None = None,
                   owner: str | None = None) -> list[RunChoice]:
    """The runs under the runs folder that saved training state and that ``owner`` may train further."""
    out = []
    for p in checkpoints:
        if not ((p / TRAIN_STATE_JSON).is_file() and is_within(p, (settings.runs_dir,))):
            continue
        if owners is not None and not may_resume(settings, owners, owner, p.name):
            continue
        try:
            meta = read_meta(p)
        except Exception:  # noqa: BLE001 - unreadable ones are simply not offered
            continue
        state = _state(p)
        step = state.get("step", meta.metrics.get("step") or meta.metrics.get("steps"))
        done = int(state.get("epoch", meta.metrics.get("epoch") or meta.metrics.get("epochs") or 0))
        planned = int(meta.train.epochs or 0) if meta.train else 0
        stopped = bool(meta.metrics.get("partial") or meta.metrics.get("cancelled"))
        word = f"stopped at epoch {done} of {planned}" if stopped else f"finished, {done} epochs"
        out.append(RunChoice(name=p.name, label=f"{p.name} ({word}, step {step})", finished=not stopped,
                             epochs_done=done, epochs_planned=planned))
    return out


def default_epochs(choice: RunChoice) -> int:
    """The resume form's total: a stopped run finishes its plan; a finished one trains half as long again."""
    if not choice.finished and choice.epochs_planned > choice.epochs_done:
        return choice.epochs_planned
    return choice.epochs_done + max(1, choice.epochs_done // 2)


def resume_run(settings: AppSettings, choice: Any, checkpoints: list[Path], epochs: Any,
               owners: OwnerBook | None = None, owner: str | None = None) -> TrainRequest:
    check_enabled(settings)
    runs = {c.name: c for c in trainable_runs(settings, checkpoints)}
    if isinstance(choice, str) and choice in runs and owners is not None \
            and not may_resume(settings, owners, owner, choice):
        raise NotYourRun(f"{choice} belongs to another visitor: only the visitor who started it can resume it "
                         "(anyone can open it in the checkpoint list at the top)")
    if not isinstance(choice, str) or choice not in runs:
        raise UserInputError("pick a stopped or finished run to train further (runs of this app that saved "
                             "training state)")
    run = runs[choice]
    out = settings.runs_dir / choice
    meta = read_meta(out)
    if meta.train is None:
        raise UserInputError(f"{out.name} has no training recipe; start a new run instead")
    if meta.data.path and not all(is_within(Path(p), settings.data_roots) for p in meta.data.paths):
        raise UserInputError(f"{out.name} was trained on a dataset outside the folders this app may read")
    total = validate.whole(epochs, "total epochs", 1, settings.train.max_epochs) if epochs not in (None, "") \
        else default_epochs(run)
    if total <= run.epochs_done:
        raise UserInputError(f"{out.name} has already trained {run.epochs_done} epochs: set the total epochs "
                             f"above that (e.g. {default_epochs(run)}) to train it further")
    minutes = meta.train.max_minutes
    if settings.train.max_minutes:  # the cap counts this session's minutes, after the ones already trained
        before = float(_state(out).get("elapsed_s", 0.0)) / 60.0
        minutes = round(before + settings.train.max_minutes, 3)
    train = TrainConfig.from_dict({**meta.train.to_dict(), "epochs": total, "max_minutes": minutes})
    return TrainRequest(data=meta.data.to_dict(), model=meta.model.to_dict(), train=train.to_dict(),
                        out_dir=str(out), resume=True, threads=settings.train_threads,
                        map_method=settings.map_method, max_points=settings.max_map_points,
                        label=f"{out.name} ({'continued' if run.finished else 'resumed'})",
                        log_every=_log_every(meta.data, train))
