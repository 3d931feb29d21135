"""The step-matched recipe sweep: its budgets, its variants' configs, one real (tiny) run, and the CLI end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.quality import recipe
from bench.recipe_sweep import VARIANTS, cpu_step_costs, run_variant, variant_steps
from vae_core.config import DataSpec
from vae_core.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces():
    return load_dataset(DataSpec(kind="synthetic", size=40, val_fraction=0.2), progress=False)


def test_budgets_match_cpu_time():
    assert variant_steps(VARIANTS["recipe"], 6714) == 6714
    assert variant_steps(VARIANTS["batch32"], 6714) == round(6714 / VARIANTS["batch32"].cpu_cost)
    assert variant_steps(VARIANTS["batch32"], 6714) > 6714 > variant_steps(VARIANTS["res-blocks1"], 6714)
    assert variant_steps(VARIANTS["4x-budget"], 6714) == 26856
    assert variant_steps(VARIANTS["recipe"], 0) == 1


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_builds_the_recipe_with_its_change(name):
    train, cfg = recipe(**VARIANTS[name].overrides, max_steps=10)
    base_train, base_cfg = recipe(max_steps=10)
    changed = {k for k in train.to_dict() if train.to_dict()[k] != base_train.to_dict()[k]}
    changed |= {k for k in cfg.to_dict() if cfg.to_dict()[k] != base_cfg.to_dict()[k]}
    assert changed == set(VARIANTS[name].overrides)  # overrides are named by the configs' fields


def test_recipe_defaults_are_the_documented_ones():
    train, cfg = recipe()
    assert (cfg.latent_dim, cfg.encoder_width, train.hflip, train.shift, train.adam_beta2, train.lr_schedule,
            train.weight_decay) == (256, 0.5, False, 2, 0.99, "wsd", 0.3)


def test_run_variant_trains_the_matched_steps_and_evaluates(faces):
    row = run_variant("z128", faces, steps=3, device="cpu")
    assert row["steps"] == 3 and row["latent_dim"] == 128 and row["variant"] == "z128"
    assert 0 < row["ssim"] < 1 and 0 < row["train_ssim"] < 1 and np.isfinite(row["nelbo"])
    assert row["by_background"] and all(0 < v < 1 for v in row["by_background"].values())


def test_cpu_step_costs_are_ratios_to_the_recipe():
    costs = cpu_step_costs(["batch32", "recipe"], rounds=1, steps=1)
    assert costs["recipe"] == 1.0
    assert 0 < costs["batch32"] < 5


@pytest.mark.slow
def test_cli_runs_a_variant_from_a_saved_array(tmp_path, faces):
    npz, rows = tmp_path / "faces.npz", tmp_path / "rows.jsonl"
    np.savez(npz, images=faces.images, ids=np.asarray(faces.ids))
    p = subprocess.run([sys.executable, "-m", "bench.recipe_sweep", "--npz", str(npz), "--variants", "recipe,flips",
                        "--steps", "2", "--parallel", "2", "--device", "cpu", "--out", str(rows)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    got = {r["variant"]: r for r in map(json.loads, rows.read_text().splitlines())}
    assert set(got) == {"recipe", "flips"} and all(r["steps"] == 2 for r in got.values())
    assert "held-out SSIM" in p.stdout
    bad = subprocess.run([sys.executable, "-m", "bench.recipe_sweep", "--variants", "nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown variants ['nope']" in bad.stderr
