"""The shipped checkpoint: loadable, labelled synthetic, reproducible command, small, map cached, and the
README's quality figure is the one recorded in it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import vae_core.data
from vae_core.checkpoint import load_checkpoint
from vae_core.explorer import Explorer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "checkpoints" / "default"


def test_loads_and_is_labelled_synthetic():
    ck = load_checkpoint(DEFAULT)
    assert ck.meta.data.kind == "synthetic" and "SYNTHETIC" in ck.meta.data.describe()
    assert ck.meta.extra["synthetic"] is True
    assert ck.meta.command.startswith("python -m vae_core train --data synthetic")
    assert ck.meta.model.resolution == 64 and ck.meta.model.latent_dim == 32
    assert not (DEFAULT / "training_state.safetensors").exists()  # shipped without optimizer state


def test_recorded_command_with_the_readmes_flags_asks_for_the_recorded_configs():
    """Defaults move (z, encoder width, Adam β2, weight decay…); the README says which flags bring the shipped
    checkpoint's recorded command back to the configs it was trained with. ``precision`` is left out: the
    checkpoint recorded "auto", which meant fp32 on the machine that trained it."""
    import dataclasses
    import shlex

    from vae_core.cli import build_parser, train_configs

    ck = load_checkpoint(DEFAULT)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"reproduces it with `([^`]+)` added", readme)
    assert m, "README must say which flags reproduce the shipped checkpoint"
    argv = shlex.split(ck.meta.command)[3:] + shlex.split(m.group(1))  # after "python -m vae_core"
    model, train = train_configs(build_parser().parse_args(argv))
    assert model == ck.meta.model
    assert dataclasses.replace(train, precision="auto") == ck.meta.train


def test_small_enough_for_git():
    total = sum(p.stat().st_size for p in DEFAULT.rglob("*") if p.is_file())
    assert total < 20 * 1024 * 1024


def test_map_opens_from_cache_without_the_dataset(monkeypatch):
    def no_data(*a, **k):
        raise AssertionError("the shipped map must not need the dataset")

    monkeypatch.setattr(vae_core.data, "load_dataset", no_data)
    t = time.perf_counter()
    ex = Explorer.open(DEFAULT)
    data = ex.map("umap")
    assert time.perf_counter() - t < 10  # generous: the benchmark reports the real figure
    assert data.coords.shape == (5000, 2) and data.bundle.thumbnails.shape == (5000, 32, 32, 3)
    assert data.bundle.schema is not None and len(data.bundle.schema) == 18
    assert ex.map("pca").coords.shape == (5000, 2)


def test_readme_quotes_the_recorded_ssim():
    ssim = load_checkpoint(DEFAULT).meta.metrics["ssim"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"held-out SSIM \*\*([0-9.]+)\*\*", readme)
    assert m, "README must state the default checkpoint's held-out SSIM"
    assert float(m.group(1)) == pytest.approx(ssim, abs=0.0005)


def test_synthetic_generator_still_draws_the_faces_it_was_trained_on():
    """If the generator changes, the shipped model, its metrics and its map are stale: retrain it."""
    import numpy as np

    from vae_core.data import synthetic

    ck = load_checkpoint(DEFAULT)
    assert ck.meta.extra.get("synthetic_generator_version") == synthetic.GENERATOR_VERSION
    bundle = Explorer.open(DEFAULT).embedding()
    seed = ck.meta.data.seed
    for k, name in enumerate(bundle.example_ids[:3]):
        i = int(name.split("-")[1])  # face i depends only on (seed, i)
        attrs = synthetic.sample_attributes(i + 1, seed)[i]
        face = synthetic.render_face(attrs, 64, int(synthetic._render_seeds(i + 1, seed)[i]))
        assert np.array_equal(face, bundle.examples[k]), f"synthetic face {i} changed since training"


def test_shipped_umap_map_is_found_in_the_cache_without_fitting(monkeypatch):
    """The app asks has_cached_map('umap') before serving the UMAP map; if it said no, every visitor
    would get the PCA fallback while a background job re-read the file."""
    from vae_core import projection

    ex = Explorer.open(DEFAULT)
    assert ex.has_cached_map("umap") and ex.has_cached_map("pca")
    assert not ex.has_cached_map("umap", n_neighbors=7)
    monkeypatch.setattr(projection, "fit_umap", lambda *a, **k: pytest.fail("UMAP was refitted"))
    assert len(ex.map("umap").coords) == 5000
