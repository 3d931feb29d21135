"""End to end through ``python -m vae_core``: train on a tiny set, then evaluate, sample, info, embed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import run_cli

from vae_core.model import load_checkpoint
from vae_core.cli import data_spec, build_parser, subcommands, train_configs
from vae_core.cli_flags import dest, flag_fields
from vae_core.config import DataSpec, ModelConfig, TrainConfig

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


@pytest.mark.slow
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


@pytest.mark.slow
def test_resume_continues(trained):
    tmp, out, _ = trained
    proc = cli("train", "--data", "folder", "--path", str(SAMPLE), "--limit", "40", "--resolution", "32",
               "--channels", "8,16,16", "--latent-dim", "4", "--epochs", "3", "--batch-size", "8", "--out", str(out),
               "--resume", cache=tmp / "cache")
    assert json.loads(proc.stdout)["epochs"] == 3


@pytest.mark.slow
def test_evaluate_json(trained):
    tmp, out, _ = trained
    report = json.loads(cli("evaluate", "--checkpoint", str(out), "--json", cache=tmp / "cache").stdout)
    for key in ("mse", "psnr", "ssim", "nelbo", "bits_per_dim", "kl_per_dim", "active_units"):
        assert key in report
    assert report["n"] == 4 and report["split"] == "val"
    # The redistributed Cartoon Set sample is recognised and named, without the server's path
    assert "Cartoon Set (real" in report["dataset"] and "cartoonset-sample-256" in report["dataset"]
    assert str(SAMPLE.parent) not in report["dataset"]


@pytest.mark.slow
def test_sample_writes_png(trained):
    tmp, out, _ = trained
    png = tmp / "s.png"
    cli("sample", "--checkpoint", str(out), "-n", "6", "--cols", "3", "--out", str(png), cache=tmp / "cache")
    assert np.asarray(Image.open(png)).shape == (64, 96, 3)


@pytest.mark.slow
def test_info_and_embed(trained):
    tmp, out, _ = trained
    info = json.loads(cli("info", "--checkpoint", str(out), cache=tmp / "cache").stdout)
    assert info["model"]["latent_dim"] == 4
    proc = cli("embed", "--checkpoint", str(out), "--method", "pca", cache=tmp / "cache")
    assert "40 points mapped with pca" in proc.stdout
    assert any(p.name.startswith("map-pca-") for p in (out / "projections").iterdir())


@pytest.mark.slow
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


def test_every_subcommand_has_help(capsys):
    names = subcommands()
    assert {"download", "train", "evaluate", "beta-sweep", "embed", "sample", "publish", "info"} <= set(names)
    for sub in names:
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args([sub, "--help"])
        assert exit_.value.code == 0 and f"usage: python -m vae_core {sub}" in capsys.readouterr().out


def test_train_without_flags_is_the_recipe_of_the_configs():
    """The flags' defaults are the dataclasses' (one source of truth), the tuned recipe among them."""
    model, train = train_configs(build_parser().parse_args(["train"]))
    assert model == ModelConfig() and train == TrainConfig()
    assert (train.lr_schedule, train.shift, train.kl_warmup_steps, train.weight_decay) == ("wsd", 2, 1000, 0.3)
    args = build_parser().parse_args(["train", "--data", "cartoonset", "--path", "faces"])
    assert data_spec(args, model.resolution).crop_fraction == DataSpec(kind="cartoonset", path="x").crop_fraction


def test_minutes_alone_is_a_time_budget_without_an_epoch_limit():
    _, train = train_configs(build_parser().parse_args(["train", "--minutes", "5"]))
    assert train.max_minutes == 5 and train.epochs is None
    _, train = train_configs(build_parser().parse_args(["train", "--minutes", "5", "--epochs", "3"]))
    assert train.epochs == 3


def test_every_flag_field_is_a_train_flag():
    """Each config field with a help text is settable from ``train`` (data fields included)."""
    args = vars(build_parser().parse_args(["train"]))
    for cls in (ModelConfig, TrainConfig, DataSpec):
        for field in flag_fields(cls):
            assert args[dest(field)] == field.default, field.name


@pytest.mark.slow
def test_publish_half_precision_then_embed_fits_the_sampler_that_sample_draws_from(trained, tmp_path):
    tmp, out, _ = trained
    pub = tmp_path / "published"
    proc = cli("publish", "--checkpoint", str(out), "--out", str(pub), "--half", cache=tmp / "cache")
    assert "largest pixel difference" in proc.stdout
    ck = load_checkpoint(pub)
    assert ck.meta.extra["weights_dtype"] == "float16" and ck.meta.extra["storage_max_pixel_difference"] <= 8
    assert ck.meta.command == load_checkpoint(out).meta.command  # still says how it was trained
    from safetensors import safe_open

    with safe_open(str(pub / "model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys() if f.get_tensor(k).is_floating_point()} == {"torch.float16"}
    assert not (pub / "training_state.safetensors").exists()
    # A published checkpoint has new weights: its sampler is fitted afresh by embed, then used by sample.
    proc = cli("embed", "--checkpoint", str(pub), "--method", "pca", cache=tmp / "cache")
    assert "latent sampler:" in proc.stdout and "held-out log-likelihood" in proc.stdout
    png = tmp_path / "s.png"
    proc = cli("sample", "--checkpoint", str(pub), "-n", "4", "--cols", "2", "--out", str(png), cache=tmp / "cache")
    assert "fitted" in proc.stdout and Image.open(png).size == (2 * 32, 2 * 32)
    fitted = np.asarray(Image.open(png))
    proc = cli("sample", "--checkpoint", str(pub), "-n", "4", "--cols", "2", "--out", str(png), "--prior",
               cache=tmp / "cache")
    assert "N(0, I) prior" in proc.stdout and not np.array_equal(fitted, np.asarray(Image.open(png)))
    bad = cli("sample", "--checkpoint", str(pub), "--temperature", "-1", "--out", str(png), cache=tmp / "cache",
              check=False)
    assert bad.returncode == 2 and "temperature" in bad.stderr and "Traceback" not in bad.stderr
    same = cli("publish", "--checkpoint", str(pub), "--out", str(pub), cache=tmp / "cache", check=False)
    assert same.returncode == 2 and "another folder" in same.stderr
