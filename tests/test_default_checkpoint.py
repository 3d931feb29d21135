"""The shipped checkpoints: the real-face default and the synthetic model. Each loads, says what it was
trained on, is reproducible from its recorded command, fits a Hugging Face Space without Git LFS, and
carries everything the app needs offline (map, sampler, analysis, examples); the README quotes their
recorded figures."""

from __future__ import annotations

import dataclasses
import re
import shlex
import time
from pathlib import Path

import numpy as np
import pytest

import vae_core.data
from vae_core.model import load_checkpoint
from vae_core.explorer import Explorer
from vae_core.sampling import LatentSampler, sampler_path

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"
DEFAULT = CHECKPOINTS / "default"
SYNTHETIC = CHECKPOINTS / "synthetic"
SAMPLE = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLAT_README = " ".join(README.split())


def test_the_default_is_the_real_face_model():
    ck = load_checkpoint(DEFAULT)
    assert ck.meta.data.kind == "folder" and Path(ck.meta.data.path).name == "cartoonset-sample-256"
    assert ck.meta.extra["synthetic"] is False
    assert ck.meta.command.startswith("python -m vae_core train --data folder --path ")
    assert "cartoonset-sample-256" in ck.meta.command
    # all 2,100 real faces: both folders, read as one dataset
    assert [Path(p).name for p in ck.meta.data.extra_paths] == ["cartoonset-more-256"]
    assert "--path ../shared/data/cartoonset-more-256" in ck.meta.command
    info = Explorer(ck).info()
    assert info["card"]["real"] and "CC BY 4.0" in info["card"]["attribution"]
    assert "/" not in info["checkpoint"].split("/", 1)[1]  # named by its folder, not a server path
    assert not (DEFAULT / "training_state.safetensors").exists()  # shipped without optimizer state
    # Half-precision storage, with the largest pixel change it causes measured when it was published
    assert ck.meta.extra["weights_dtype"] == "float16" and ck.meta.extra["storage_max_pixel_difference"] <= 3


def test_the_synthetic_model_is_shipped_and_labelled():
    ck = load_checkpoint(SYNTHETIC)
    assert ck.meta.data.kind == "synthetic" and "SYNTHETIC" in ck.meta.data.describe()
    assert ck.meta.extra["synthetic"] is True
    assert ck.meta.command.startswith("python -m vae_core train --data synthetic")
    assert not (SYNTHETIC / "training_state.safetensors").exists()


@pytest.mark.parametrize("path", [DEFAULT, SYNTHETIC], ids=["default", "synthetic"])
def test_recorded_command_asks_for_the_recorded_configs(path):
    """The recorded command line, parsed by today's CLI, gives the configs the checkpoint was trained with
    (``precision`` is left out: "auto" resolves per machine)."""
    from vae_core.cli import build_parser, train_configs

    ck = load_checkpoint(path)
    argv = shlex.split(ck.meta.command)[3:]  # after "python -m vae_core"
    model, train = train_configs(build_parser().parse_args(argv))
    assert model == ck.meta.model
    assert dataclasses.replace(train, precision="auto") == dataclasses.replace(ck.meta.train, precision="auto")


def test_every_file_fits_a_space_without_lfs():
    files = [p for p in CHECKPOINTS.rglob("*") if p.is_file()]
    big = [(str(p.relative_to(ROOT)), p.stat().st_size) for p in files if p.stat().st_size >= 10 * 1024 * 1024]
    assert not big, f"files of 10 MB or more: {big}"
    assert sum(p.stat().st_size for p in files) < 60 * 1024 * 1024


@pytest.mark.parametrize("path,points,attributes", [(DEFAULT, 2100, 3), (SYNTHETIC, 5000, 18)],
                         ids=["default", "synthetic"])
def test_carries_map_sampler_and_examples_without_the_dataset(monkeypatch, path, points, attributes):
    def no_data(*a, **k):
        raise AssertionError("a shipped checkpoint must not need its dataset")

    monkeypatch.setattr(vae_core.data, "load_dataset", no_data)
    t = time.perf_counter()
    ex = Explorer.open(path)
    data = ex.map("umap")
    assert time.perf_counter() - t < 10  # generous: the benchmark reports the real figure
    assert ex.has_cached_map("umap") and ex.has_cached_map("pca")
    assert data.coords.shape == (points, 2) and data.bundle.thumbnails.shape == (points, 32, 32, 3)
    assert data.bundle.schema is not None and len(data.bundle.schema) == attributes
    assert len(ex.attribute_directions()) == attributes and ex.pca.components.shape[0] == 10
    assert 24 <= len(data.bundle.examples) <= 48
    sampler = LatentSampler.load(sampler_path(path), weights_sha256=ex.checkpoint.fingerprint)  # no pickle
    assert ex.sampler is not None and sampler.latent_dim == ex.latent_dim
    assert sampler.info["candidates"]
    info = sampler.info
    for other in info.get("other_families", {}).values():  # chosen by "auto": no other family explained more
        assert other["chosen"]["heldout_loglik"] <= info["chosen"]["heldout_loglik"]
    if sampler.covariance_type == "grouped":  # a blend: the mixture's share of the weights is the chosen one
        assert info["density"] == "blend" and info["chosen"]["mixture_share"] == info["mixture_share"]
        assert abs(sampler.weights[:info["mixture_components"]].sum() - info["mixture_share"]) < 1e-6
    elif sampler.covariance_type == "tied":  # the kernel density: one kernel per training code, a width that copies none
        assert info["chosen"]["bandwidth"] == info["bandwidth"] and not info["chosen"]["copies"]
    else:
        assert sampler.info["chosen"]["components"] == sampler.n_components
    faces = ex.decode(ex.sample(16, seed=0))
    assert faces.shape == (16, ex.resolution, ex.resolution, 3) and faces.std() > 10


def test_the_default_ships_its_analysis():
    from vae_core.analysis.report import load_analysis

    a = load_analysis(Explorer.open(DEFAULT))
    assert a is not None, "run: python -m vae_core evaluate --checkpoint checkpoints/default --disentanglement"
    assert a.scorecard.importance.shape[1] == 3 and len(a.fidelity.attributes) == 3


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/data/cartoonset-sample-256 is not present")
def test_example_faces_are_held_out_faces():
    """The Reconstruct and Interpolate pickers show faces the default model never trained on."""
    from vae_core.data import load_dataset

    ck = load_checkpoint(DEFAULT)
    ds = load_dataset(ck.meta.data, progress=False)
    train, val = ds.split()
    held_out = {ds.ids[i] for i in val}
    examples = [str(i) for i in Explorer(ck).embedding().example_ids]
    assert examples and set(examples) <= held_out


@pytest.mark.parametrize("path,name", [(DEFAULT, "real-face"), (SYNTHETIC, "synthetic")])
def test_readme_quotes_the_recorded_ssim(path, name):
    ssim = load_checkpoint(path).meta.metrics["ssim"]
    m = re.search(rf"{name} model.{{0,600}}?held-out SSIM \*\*([0-9.]+)\*\*", FLAT_README)
    assert m, f"README must state the {name} model's recorded held-out SSIM"
    assert float(m.group(1)) == pytest.approx(ssim, abs=0.0005)


def test_synthetic_generator_still_draws_the_faces_it_was_trained_on():
    """If the generator changes, the shipped synthetic model, its metrics and its map are stale: retrain it."""
    from vae_core.data import synthetic

    ck = load_checkpoint(SYNTHETIC)
    assert ck.meta.extra.get("synthetic_generator_version") == synthetic.GENERATOR_VERSION
    bundle = Explorer.open(SYNTHETIC).embedding()
    seed = ck.meta.data.seed
    for k, name in enumerate(bundle.example_ids[:3]):
        i = int(name.split("-")[1])  # face i depends only on (seed, i)
        attrs = synthetic.sample_attributes(i + 1, seed)[i]
        face = synthetic.render_face(attrs, 64, int(synthetic.render_seeds(i + 1, seed)[i]))
        assert np.array_equal(face, bundle.examples[k]), f"synthetic face {i} changed since training"


def test_shipped_umap_map_is_found_in_the_cache_without_fitting(monkeypatch):
    """The app asks has_cached_map('umap') before serving the UMAP map; if it said no, every visitor
    would get the PCA fallback while a background job re-read the file."""
    from vae_core import projection

    ex = Explorer.open(DEFAULT)
    assert not ex.has_cached_map("umap", n_neighbors=7)
    monkeypatch.setattr(projection, "fit_umap", lambda *a, **k: pytest.fail("UMAP was refitted"))
    assert len(ex.map("umap").coords) == 2100


def test_readme_reproduce_line_asks_for_the_default_recipe_the_checkpoint_recorded():
    """The README's short line (today's defaults are the recipe) gives the default's recorded configs, but for
    what does not change the weights: ``epochs`` (its command's placeholder 100000 and today's None both mean
    "until --minutes ends it"), when to write resumable checkpoints or evaluate, and ``precision`` ("auto")."""
    from vae_core.cli import build_parser, train_configs

    m = re.search(r"python -m vae_core train --data folder --path \S+cartoonset-sample-256[^`]*?--threads 1",
                  README.replace("\\\n", " "))
    assert m, "README shows how the default was trained"
    model, train = train_configs(build_parser().parse_args(shlex.split(m.group(0))[3:]))
    ck = load_checkpoint(DEFAULT)
    assert model == ck.meta.model
    same = dict(epochs=None, precision="auto", checkpoint_every_epoch=False, eval_every=0)
    assert dataclasses.replace(train, **same) == dataclasses.replace(ck.meta.train, **same)
