"""Small builders shared by tests: tiny datasets and models that train in well under a second."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from vae_core.config import DataSpec, ModelConfig, TrainConfig
from vae_core.data.dataset import FaceDataset
from vae_core.data.schema import AttributeSchema

TINY_MODEL = ModelConfig(resolution=32, latent_dim=4, channels=(8, 16, 16))


def blob_dataset(n: int = 48, resolution: int = 32, seed: int = 0) -> FaceDataset:
    """Coloured discs on white whose colour and size are the two labelled factors: learnable in seconds."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:resolution, :resolution]
    images = np.full((n, resolution, resolution, 3), 255, np.uint8)
    labels = np.zeros((n, 2), np.int64)
    palette = np.array([[220, 40, 40], [40, 160, 40], [40, 40, 220]], np.uint8)
    for i in range(n):
        c, s = rng.integers(3), rng.integers(2)
        r = resolution * (0.2 if s == 0 else 0.35)
        mask = (yy - resolution / 2) ** 2 + (xx - resolution / 2) ** 2 < r * r
        images[i][mask] = palette[c]
        labels[i] = (c, s)
    spec = DataSpec(kind="folder", path="/tmp/blobs", resolution=resolution, val_fraction=0.25)
    return FaceDataset(images=images, labels=labels, schema=AttributeSchema(("colour", "size"), (3, 2)),
                       spec=spec, ids=[f"blob{i}" for i in range(n)])


def tiny_train(**kw) -> TrainConfig:
    # eval_every=1: tests count EvalEvents; no ONNX decoder export (1-4 s a run; tests/test_decoder_export.py
    # checks the recipe's default, on)
    base = dict(epochs=2, batch_size=8, lr=3e-3, seed=0, eval_every=1, export_decoder=False)
    base.update(kw)
    return TrainConfig(**base)


ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cache: Path, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m vae_core *args`` in a fresh interpreter with its own data cache; asserts success unless
    ``check=False`` (then the caller inspects the exit code and stderr)."""
    env = {**os.environ, "VAE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "vae_core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc
