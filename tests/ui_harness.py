"""Shared by the UI tests: a tiny trained checkpoint and one launched app per test process.

Both are built once per process (memoised), so the unit, client and browser tests share them: a
checkpoint of a small VAE trained for two epochs on 240 SYNTHETIC faces at 32×32 (a few seconds),
with its dataset embedding and PCA map cached like a shipped checkpoint's; and the app serving it on a
free port in a background thread.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

# Chromium, its flags, the slider round trip, the first-face wait and the one free_port live with the benches
# (bench/harness.py), which may not import from tests/; the tests reach them here as before.
from bench.harness import ARGS, CHROMIUM, SLIDER_ROUND_TRIP_JS, free_port, wait_for_first_face

__all__ = ["ARGS", "CHROMIUM", "SLIDER_ROUND_TRIP_JS", "free_port", "running_app", "settings", "tiny_checkpoint",
           "ui_cache", "wait_for_first_face", "wait_until", "workdir"]


@functools.lru_cache(maxsize=1)
def workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="cvae-ui-tests-"))
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


@functools.lru_cache(maxsize=1)
def tiny_checkpoint() -> Path:
    from vae_core.config import DataSpec, ModelConfig, TrainConfig
    from vae_core.data import load_dataset
    from vae_core.explorer import Explorer
    from vae_core.training import Trainer

    out = workdir() / "checkpoints" / "default"
    spec = DataSpec(kind="synthetic", size=240, resolution=32, seed=3, val_fraction=0.1)
    model = ModelConfig(resolution=32, latent_dim=8, channels=(16, 32, 64))
    for _ in Trainer(load_dataset(spec, progress=False), model, TrainConfig(epochs=2, batch_size=32, lr=3e-3),
                     out, device="cpu", command="tests/ui_harness.py").run():
        pass
    Explorer.open(out).map("pca")  # cache the embedding and the map, as a shipped checkpoint has them
    return out


@functools.lru_cache(maxsize=1)
def ui_cache() -> Path:
    """The UI cache of the test app, inside the repository's (ignored) ``.cache`` like the app's own: the page
    names the files it serves from there relative to the working folder, as in production, so a test can
    check that no server path reaches the page."""
    d = Path(__file__).resolve().parents[1] / ".cache" / f"ui-tests-{os.getpid()}"
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def settings(**overrides):
    from ui.common.settings import AppSettings

    base = workdir()
    (base / "data" / "faces").mkdir(parents=True, exist_ok=True)
    env = {"CVAE_CHECKPOINT": str(tiny_checkpoint()), "CVAE_RUNS_DIR": str(base / "runs"),
           "CVAE_DATA_ROOTS": str(base / "data"), "CVAE_UI_CACHE": str(ui_cache()),
           "CVAE_MAP_METHOD": "pca", "CVAE_MAX_UPLOAD": "2mb"}
    env.update(overrides)
    return AppSettings.from_env(env)


@functools.lru_cache(maxsize=1)
def running_app():
    """(url, demo) of the app on a free port, launched in this process's background threads."""
    from ui.app import build_app, launch

    demo = build_app(settings())
    launch(demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    url = demo.local_url.rstrip("/") + "/"

    def stop():
        demo.cvae_context.runner.shutdown()
        demo.close()

    atexit.register(stop)
    return url, demo


def wait_until(pred, timeout: float, every: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"condition not met within {timeout}s")
