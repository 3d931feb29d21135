"""DistributedDataParallel under torchrun on CPU (gloo backend), 2 processes, tiny data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vae_core.model import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0["kinds"][0] == "start" and rank0["kinds"][-1] == "done"
    assert rank0["world_size"] == [2]
    assert rank1["kinds"] == []  # only rank 0 reports and writes
    ck = load_checkpoint(tmp_path / "ck")
    # 48 train images / 2 ranks / batch 8 = 3 steps per epoch, 2 epochs
    assert ck.meta.metrics["steps"] == 6
    assert all(torch.isfinite(v).all() for v in ck.model.state_dict().values() if v.is_floating_point())


@pytest.mark.slow
def test_cli_under_torchrun(tmp_path):
    """The README's command shape: `torchrun --nproc_per_node 2 -m vae_core train ...`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "VAE_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "ck"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "vae_core",
         "train", "--data", "synthetic", "--size", "80", "--resolution", "32", "--channels", "8,16,16",
         "--latent-dim", "4", "--epochs", "1", "--batch-size", "8", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count('"path"') == 1  # one summary: only rank 0 reports
    ck = load_checkpoint(out)
    assert ck.meta.metrics["steps"] == 4  # 72 train faces / 2 ranks / batch 8 → 4 steps
    assert ck.meta.command.startswith("torchrun --nnodes 1 --nproc_per_node 2 -m vae_core train --data synthetic")
