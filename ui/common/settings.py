"""App settings from the environment, read once at start-up (nothing here changes per request).

Environment variables (all optional):

- ``CVAE_CHECKPOINT``: the checkpoint opened by default (default ``checkpoints/default``);
- ``CVAE_RUNS_DIR``: where the Train tab writes new checkpoints (default ``runs/``);
- ``CVAE_DATA_ROOTS``: ``os.pathsep``-separated folders the Train tab may read datasets from
  (default: the repo's ``data/`` and ``../shared/data`` where they exist). A typed path outside them is
  refused, so a visitor of a public Space cannot make the server read arbitrary folders;
- ``CVAE_UI_CACHE``: folder for files the UI serves (map thumbnail atlases, GIFs; default ``.cache/ui``);
- ``CVAE_MAX_UPLOAD``: largest accepted upload (default ``10mb``);
- ``CVAE_CONCURRENCY`` / ``CVAE_QUEUE_SIZE``: queue workers per event and waiting requests;
- ``CVAE_TRAIN_THREADS``: torch threads of the training process (default 1, so the app stays responsive);
- ``CVAE_TORCH_THREADS``: torch threads of the app process (default 1: one 64×64 decode takes ~4 ms on one
  thread, but ~15× longer with 2 threads when the cores are busy, e.g. while training);
- ``CVAE_MAP_METHOD``: ``umap`` (default) or ``pca``.
"""

from __future__ import annotations

import os
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT) -> "AppSettings":
        env = os.environ if env is None else env
        default = Path(env.get("CVAE_CHECKPOINT") or repo_root / "checkpoints" / "default").expanduser().resolve()
        runs = Path(env.get("CVAE_RUNS_DIR") or repo_root / "runs").expanduser().resolve()
        if env.get("CVAE_DATA_ROOTS"):
            roots = _paths(env["CVAE_DATA_ROOTS"])
        else:
            roots = tuple(p.resolve() for p in (repo_root / "data", repo_root.parent / "shared" / "data") if p.is_dir())
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
        )
