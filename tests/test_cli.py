"""End to end through ``python -m vae_core``: train on a tiny set, then evaluate, sample, info, embed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import run_cli

from vae_core.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"


cli = run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if not SAMPLE.is_dir():
        pytest.skip("../shared/data/cartoonset-sample-256 is not present")
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "ck"
    proc = cli("train", "--data", "folder", "--path", str(SAMPLE), "--limit", "40", "--resolution", "32",
               "--channels", "8,16,16", "--latent-dim", "4", "--epochs", "2", "--batch-size", "8", "--out", str(out),
               "--minutes", "30", "--eval-every", "1", "--adam-beta2", "0.98", cache=tmp / "cache")
    return tmp, out, proc


def test_train_writes_a_checkpoint_with_its_command(trained):
    tmp, out, proc = trained
    summary = json.loads(proc.stdout)
    assert summary["path"] == str(out) and 0 < summary["ssim"] <= 1
    ck = load_checkpoint(out)
    assert ck.meta.command.startswith("python -m vae_core train --data folder")
    assert ck.meta.data.kind == "folder" and ck.meta.data.limit == 40
    assert "epoch 1" in proc.stderr and "epoch 2" in proc.stderr  # the per-epoch lines rendered from EvalEvents
    assert ck.meta.train.max_minutes == 30 and ck.meta.train.eval_every == 1 and ck.meta.train.adam_beta2 == 0.98
    assert summary["time_budget_reached"] is False and summary["epochs"] == 2  # the epochs ran out first


def test_resume_continues(trained):
    tmp, out, _ = trained
    proc = cli("train", "--data", "folder", "--path", str(SAMPLE), "--limit", "40", "--resolution", "32",
               "--channels", "8,16,16", "--latent-dim", "4", "--epochs", "3", "--batch-size", "8", "--out", str(out),
               "--resume", cache=tmp / "cache")
    assert json.loads(proc.stdout)["epochs"] == 3


def test_evaluate_json(trained):
    tmp, out, _ = trained
    report = json.loads(cli("evaluate", "--checkpoint", str(out), "--json", cache=tmp / "cache").stdout)
    for key in ("mse", "psnr", "ssim", "nelbo", "bits_per_dim", "kl_per_dim", "active_units"):
        assert key in report
    assert report["n"] == 4 and report["split"] == "val" and "image folder" in report["dataset"]


def test_sample_writes_png(trained):
    tmp, out, _ = trained
    png = tmp / "s.png"
    cli("sample", "--checkpoint", str(out), "-n", "6", "--cols", "3", "--out", str(png), cache=tmp / "cache")
    assert np.asarray(Image.open(png)).shape == (64, 96, 3)


def test_info_and_embed(trained):
    tmp, out, _ = trained
    info = json.loads(cli("info", "--checkpoint", str(out), cache=tmp / "cache").stdout)
    assert info["model"]["latent_dim"] == 4
    proc = cli("embed", "--checkpoint", str(out), "--method", "pca", cache=tmp / "cache")
    assert "40 points mapped with pca" in proc.stdout
    assert any(p.name.startswith("map-pca-") for p in (out / "projections").iterdir())


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "folder", "--path", "/nonexistent/faces"], "does not exist"),
    (["train", "--data", "folder"], "needs a path"),
    (["train", "--latent-dim", "0"], "latent_dim"),
    (["evaluate", "--checkpoint", "/nonexistent/ck"], "no checkpoint"),
    (["train", "--device", "cuda", "--size", "4"], "CUDA"),
])
def test_clear_errors_without_traceback(tmp_path, args, message):
    proc = cli(*args, cache=tmp_path, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_every_subcommand_has_help(tmp_path):
    for sub in ("download", "train", "evaluate", "embed", "sample", "info"):
        proc = cli(sub, "--help", cache=tmp_path)
        assert "usage: python -m vae_core" in proc.stdout
