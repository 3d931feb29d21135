"""The app as a fresh clone runs it, with no ../shared beside it: the shipped real-face model opens by
default, and its map, sliders, random faces, examples and analysis all work from what the checkpoint carries.

The repository's code and checkpoints are copied to a temporary folder that has no ``shared/`` next to it,
and the app runs there as `python app.py` with an empty data cache, so nothing can be read from the
redistributed sample at run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client

import ui_harness
from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("offline")
    repo = base / "clone"
    repo.mkdir()
    for name in ("app.py", "ui", "vae_core", "checkpoints"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, repo / name,
                                                            **({"ignore": shutil.ignore_patterns("__pycache__", "*.pyc")}
                                                               if src.is_dir() else {}))
    assert not (base / "shared").exists()
    port = ui_harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVAE_")}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", VAE_CACHE_DIR=str(base / "empty-cache"),
               CVAE_UI_CACHE=str(base / "ui-cache"), PYTHONPATH=str(repo), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    log = open(base / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        client = None
        while client is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the app did not start:\n{(base / 'server.log').read_text()[-3000:]}")
            try:
                client = Client(url, verbose=False)
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        yield client, base / "server.log"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_opens_the_real_face_model_by_default(offline_app):
    client, _ = offline_app
    choices = client.predict(api_name="/list_checkpoints")
    labels = [c[0] if isinstance(c, (list, tuple)) else c for c in choices.get("choices", [])]
    assert labels and "cartoonset-sample-256" in str(labels[0]) or "folder" in str(labels[0]), labels
    assert any("SYNTHETIC" in str(lab) for lab in labels)  # the synthetic model stays selectable


def test_random_faces_sliders_map_examples_and_analysis_work_offline(offline_app):
    client, log = offline_app
    out = client.predict(0.0, "fitted density", api_name="/random_face")
    assert "data:image/png;base64," in out[-1]
    values = [*out[1:1 + N_RAW], *([0.0] * N_PCA), *([None] * N_ATTR), *([0.0] * N_ATTR)]
    face = client.predict(*values, api_name="/generate")
    assert "data:image/png;base64," in face
    fig, status = client.predict("hair_color", *values, api_name="/show_map")
    assert fig is not None and "being computed" not in status  # the shipped UMAP map, not a fallback
    inp, recon, report = client.predict(0, api_name="/reconstruct_example")
    assert "SSIM" in report
    status, scorecard, heatmap, _ = client.predict(api_name="/analysis_status")
    assert "MIG" in scorecard and heatmap is not None, status
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "shared" not in text
