"""App settings from the environment, read once at start-up (nothing here changes per request).

Environment variables (all optional):

- ``CVAE_CHECKPOINT``: the checkpoint opened by default (default ``checkpoints/default``);
- ``CVAE_RUNS_DIR``: where the Train tab writes new checkpoints (default ``runs/``);
- ``CVAE_DATA_ROOTS``: ``os.pathsep``-separated folders the Train tab may read datasets from
  (default: the repo's ``data/``, where the Cartoon Set download goes, and ``../shared/data`` if it exists). A typed path outside them is
  refused, so a visitor of a public Space cannot make the server read arbitrary folders;
- ``CVAE_UI_CACHE``: folder for files the UI serves (map thumbnail atlases, GIFs; default ``.cache/ui``);
- ``CVAE_MAX_UPLOAD``: largest accepted upload (default ``10mb``);
- ``CVAE_CONCURRENCY`` / ``CVAE_QUEUE_SIZE``: queue workers per event and waiting requests;
- ``CVAE_TRAIN_THREADS``: torch threads of the training process (default 1, so the app stays responsive);
- ``CVAE_TORCH_THREADS``: torch threads of the app process (default 1: one 64×64 decode takes ~4 ms on one
  thread, but ~15× longer with 2 threads when the cores are busy, e.g. while training);
- ``CVAE_MAP_METHOD``: ``umap`` (default) or ``pca``.

Training on a public deployment (:class:`TrainPolicy`; a Hugging Face Space, detected by ``SPACE_ID`` or
``SYSTEM=spaces``, gets the safe defaults in brackets):

- ``CVAE_TRAINING``: ``on`` (default) or ``off`` — off, the Train tab says to duplicate the Space to train;
- ``CVAE_PUBLIC``: ``on`` where strangers share the app [Space: on; elsewhere off]: runs without an owner
  (trained from the CLI) can then be resumed by nobody through the app;
- ``CVAE_MAX_RUNS``: training runs at the same time, one per visitor (default 1);
- ``CVAE_RUN_MINUTES`` / ``CVAE_RUN_FACES`` / ``CVAE_RUN_EPOCHS``: a run's cap in minutes, training faces
  and epochs (0 = none) [Space: 5, 20000, 50; elsewhere none, none, 1000];
- ``CVAE_RUNS_KEEP`` / ``CVAE_RUNS_BYTES``: the quota on the runs folder, in runs and in bytes (``500mb``,
  ``2gb``; 0 = none) [Space: 20 and 1gb]; the oldest visitor runs are deleted first to make room, never
  the shipped checkpoints nor a run in progress;
- ``CVAE_DOWNLOAD``: ``on`` lets the Train tab download the real Cartoon Set into the first data root
  [Space: off; elsewhere on].
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def display_path(path: Path, repo_root: Path = REPO_ROOT) -> str:
    """How the app names a server folder to a visitor: relative to the app's folder (``data``,
    ``../shared/data``, ``runs``), or by its last part when it lies elsewhere, never as an absolute path."""
    import os

    try:
        rel = os.path.relpath(Path(path).resolve(), repo_root)
    except ValueError:  # another drive (Windows)
        return Path(path).name
    return rel if not rel.startswith(os.pardir + os.sep + os.pardir) else Path(path).name


def redact_paths(text: str, folders) -> str:
    """``text`` with every absolute path under one of ``folders`` (or the app's folder) written as
    :func:`display_path` names it: for lines a visitor reads (a run's command, checkpoint, error)."""
    out = str(text)
    for folder in sorted({Path(f).resolve() for f in (*folders, REPO_ROOT)}, key=lambda f: -len(str(f))):
        name = display_path(folder)
        out = out.replace(str(folder) + "/", "" if name == "." else name + "/").replace(str(folder), name)
    return out


def on_space(env: Mapping[str, str]) -> bool:
    """True on a Hugging Face Space: it sets ``SPACE_ID`` (and ``SYSTEM=spaces``) in the app's environment."""
    return bool(env.get("SPACE_ID")) or env.get("SYSTEM", "").lower() == "spaces"


_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}


def parse_bytes(text: str) -> int:
    """``"500mb"`` → 524288000 (units b, kb, mb, gb, tb, or k, m, g, t; powers of 1024); a plain number is bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?", str(text).strip().lower())
    if not m:
        raise ValueError(f"a size like 500mb or 2gb, got {text!r}")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "") + "b"])


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{name} must be on or off, got {value!r}")


def _cap(env: Mapping[str, str], name: str, default: float | None, kind=int):
    """An optional positive limit: unset → ``default``, 0 → none."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number (0 = no limit), got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must be 0 (no limit) or more, got {value!r}")
    return number or None


@dataclass(frozen=True)
class TrainPolicy:
    """What the Train tab lets a visitor do: the fair-use limits of a shared (public) deployment.

    Why each exists: one visitor's run must not hold the CPU for hours (``max_minutes``), read a huge set
    (``max_faces``) or fill the disk (``keep_runs``/``max_bytes``); on a public app a run belongs to the
    visitor who started it (``public``: unowned CLI runs are then nobody's to resume)."""

    enabled: bool = True
    public: bool = False
    on_space: bool = False
    max_concurrent: int = 1
    max_minutes: float | None = None
    max_faces: int | None = None
    max_epochs: int = 1000
    keep_runs: int | None = None
    max_bytes: int | None = None
    allow_download: bool = True
    #: a run is refused when the disk has less free space than this (a checkpoint of the largest model
    #: with its optimizer state is ~60 MB)
    min_free_bytes: int = 200 << 20

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"CVAE_MAX_RUNS must be at least 1, got {self.max_concurrent}")
        if self.max_epochs < 1:
            raise ValueError(f"CVAE_RUN_EPOCHS must be at least 1, got {self.max_epochs}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TrainPolicy":
        space = on_space(env)
        return cls(
            enabled=_flag(env, "CVAE_TRAINING", True),
            public=_flag(env, "CVAE_PUBLIC", space),
            on_space=space,
            max_concurrent=int(_cap(env, "CVAE_MAX_RUNS", 1) or 1),
            max_minutes=_cap(env, "CVAE_RUN_MINUTES", 5.0 if space else None, float),
            max_faces=_cap(env, "CVAE_RUN_FACES", 20_000 if space else None),
            max_epochs=int(_cap(env, "CVAE_RUN_EPOCHS", 50 if space else 1000) or 1_000_000),
            keep_runs=_cap(env, "CVAE_RUNS_KEEP", 20 if space else None),
            max_bytes=(parse_bytes(env["CVAE_RUNS_BYTES"]) or None) if env.get("CVAE_RUNS_BYTES", "").strip()
            else ((1 << 30) if space else None),
            allow_download=_flag(env, "CVAE_DOWNLOAD", not space),
        )

    def describe(self) -> str:
        """The limits in one line, for the Train tab."""
        parts = [f"{self.max_concurrent} run{'s' if self.max_concurrent > 1 else ''} at a time (one per visitor)"]
        caps = [f"{self.max_minutes:g} minutes" if self.max_minutes else "",
                f"{self.max_faces:,} faces" if self.max_faces else "", f"{self.max_epochs:,} epochs"]
        parts.append("each run at most " + ", ".join(c for c in caps if c))
        if self.keep_runs or self.max_bytes:
            keep = [f"{self.keep_runs} runs" if self.keep_runs else "",
                    f"{self.max_bytes / (1 << 20):,.0f} MB" if self.max_bytes else ""]
            parts.append("the newest " + " / ".join(k for k in keep if k) + " are kept (the oldest visitor runs "
                         "are deleted first; the shipped models never)")
        return "; ".join(parts) + "."


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class AppSettings:
    default_checkpoint: Path
    checkpoint_dirs: tuple[Path, ...]
    runs_dir: Path
    data_roots: tuple[Path, ...]
    cache_dir: Path
    max_file_size: str = "10mb"
    concurrency: int = 4
    queue_size: int = 64
    train_threads: int = 1
    torch_threads: int = 1
    map_method: str = "umap"
    max_map_points: int = 5000
    train: TrainPolicy = TrainPolicy()

    @property
    def download_dir(self) -> Path:
        """Where the Train tab downloads the real Cartoon Set: the first data root."""
        return self.data_roots[0] if self.data_roots else REPO_ROOT / "data"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT) -> "AppSettings":
        env = os.environ if env is None else env
        default = Path(env.get("CVAE_CHECKPOINT") or repo_root / "checkpoints" / "default").expanduser().resolve()
        runs = Path(env.get("CVAE_RUNS_DIR") or repo_root / "runs").expanduser().resolve()
        if env.get("CVAE_DATA_ROOTS"):
            roots = _paths(env["CVAE_DATA_ROOTS"])
        else:
            # the repo's data/ even before it exists: the Train tab's Cartoon Set download creates it
            roots = tuple(p.resolve() for p in (repo_root / "data", repo_root.parent / "shared" / "data")
                          if p.is_dir() or p.name == "data" and p.parent == repo_root)
        dirs = tuple(dict.fromkeys([default.parent, (repo_root / "checkpoints").resolve(), runs]))
        method = env.get("CVAE_MAP_METHOD", "umap").lower()
        if method not in ("umap", "pca"):
            raise ValueError(f"CVAE_MAP_METHOD must be umap or pca, got {method!r}")
        return cls(
            default_checkpoint=default,
            checkpoint_dirs=dirs,
            runs_dir=runs,
            data_roots=roots,
            cache_dir=Path(env.get("CVAE_UI_CACHE") or repo_root / ".cache" / "ui").expanduser().resolve(),
            max_file_size=env.get("CVAE_MAX_UPLOAD", "10mb"),
            concurrency=int(env.get("CVAE_CONCURRENCY", "4")),
            queue_size=int(env.get("CVAE_QUEUE_SIZE", "64")),
            train_threads=int(env.get("CVAE_TRAIN_THREADS", "1")),
            torch_threads=int(env.get("CVAE_TORCH_THREADS", "1")),
            map_method=method,
            train=TrainPolicy.from_env(env),
        )
