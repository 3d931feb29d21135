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
import socket
import tempfile
import time
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM = "/usr/bin/chromium"

#: In the page: set slider ``#<id>`` to a value, fire ``input``, and return the ms until the new face is painted
#: (-1 if none came within 5 s). The page that decodes itself paints into a canvas and says so ("cvae:painted");
#: where the server decodes, the new <img> is the signal. Either way the time includes the frame that shows it,
#: and the call returns once the <img> holds the new face too (untimed), so callers can read it.
#: Used by the browser tests and the benches.
SLIDER_ROUND_TRIP_JS = """async ([slider, value]) => {
  const range = document.querySelector(`#${slider} input[type=range]`);
  const root = document.querySelector('#gen_image');
  const old = root.querySelector('img') ? root.querySelector('img').src : null;
  const changed = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      const im = root.querySelector('img');
      if (im && im.src !== old) { obs.disconnect(); resolve(im); }
    });
    obs.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    setTimeout(() => { obs.disconnect(); resolve(null); }, 5000);
  });
  const t0 = performance.now();
  range.value = value;
  range.dispatchEvent(new Event('input', {bubbles: true}));
  const first = await Promise.race([changed, new Promise(r => document.addEventListener('cvae:painted', () => r('painted'), {once: true}))]);
  if (first === null) return -1;
  if (first !== 'painted') await first.decode().catch(() => {});
  await new Promise(r => requestAnimationFrame(() => r()));  // the frame that shows it
  const elapsed = performance.now() - t0;
  // the <img> follows the canvas (untimed; at most 1 s: a move can round to the very same pixels)
  const im = await Promise.race([changed, new Promise(r => setTimeout(() => r(null), 1000))]);
  if (im) await im.decode().catch(() => {});
  return elapsed;
}"""


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def wait_for_first_face(page, timeout: float = 30_000) -> None:
    """Until the Generate tab's first face is in the page. Attached, not "visible": once the page decodes a face
    itself it shows it in a canvas over the server's <img>, which is then hidden."""
    page.wait_for_selector("#gen_image img", state="attached", timeout=timeout)


def wait_until(pred, timeout: float, every: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"condition not met within {timeout}s")
