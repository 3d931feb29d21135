"""The Objective tab's views (ui.objective: terms next to their formulas, charts, prior hole, β), the Reconstruct
report's "how typical", the model info's units and the Analysis scorecard's context, on a copy of the harness's
tiny checkpoint (no server)."""

from __future__ import annotations

import json
import math
import re
import shutil
import types

import numpy as np
import plotly.graph_objects as go
import pytest

import ui_harness
from ui.common.errors import UserInputError
from ui.common.modelinfo import info_markdown, metric_texts
from ui.common.registry import ExplorerRegistry
from ui.common.state import SessionState
from ui.context import AppContext
from ui.objective import plots, view
from ui.objective import tab as objective_tab
from ui.train.runner import TrainingRunner
from vae_core.analysis import objective_reference as oref
from vae_core.objective import face_objective


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> AppContext:
    root = tmp_path_factory.mktemp("objective-ui")
    ckpt = root / "checkpoints" / "default"
    shutil.copytree(ui_harness.tiny_checkpoint(), ckpt, ignore=shutil.ignore_patterns("analysis"))
    settings = ui_harness.settings(CVAE_CHECKPOINT=str(ckpt), CVAE_UI_CACHE=str(root / "ui-cache"))
    return AppContext(settings=settings, registry=ExplorerRegistry(settings), runner=TrainingRunner(settings))


@pytest.fixture(scope="module")
def explorer(ctx):
    return ctx.registry.get(None)


def test_face_view_puts_each_number_next_to_its_formula(ctx, explorer):
    img = explorer.embedding().examples[0]
    model_input, mean, samples, md, kl_fig, mu_fig, numbers = objective_tab.face_values(ctx, explorer, img, "face A")
    obj = face_objective(explorer.model, img, beta=explorer.meta.train.beta)
    # the formulas (LaTeX, rendered by the Markdown's delimiters) and the numbers they produce
    assert "\\log(\\sigma\\sqrt{2\\pi})" in md and "1+\\log\\sigma_j^2-\\mu_j^2-\\sigma_j^2" in md
    assert all("|" not in m for m in re.findall(r"\$([^$]+)\$", md))  # a pipe in math would split the table
    assert f"**{obj.bits_per_dim:.3f}**" in md and f"{obj.kl:,.1f}" in md
    assert "nats/image" in md and "bits per pixel value" in md and "How typical" in md
    # the held-out faces' range the face is placed in comes from the checkpoint's reference
    ref = objective_tab.checkpoint_reference(ctx, explorer)
    assert f"{ref.heldout.bits_per_dim.min():.3f}–{ref.heldout.bits_per_dim.max():.3f}" in md
    assert all(str(p).endswith(".png") for p in (model_input, mean, samples))
    assert isinstance(kl_fig, go.Figure) and len(kl_fig.data[0].y) == explorer.latent_dim
    assert list(kl_fig.data[0].y) == sorted(obj.kl_per_dim, reverse=True)
    assert len(mu_fig.data[0].y) == min(plots.MU_SIGMA_DIMS, explorer.latent_dim)
    assert numbers["model_id"] == explorer.model_id and numbers["kl"] == pytest.approx(obj.kl)
    assert numbers["heldout_bits_per_dim"]["n"] == len(ref.heldout.ids)
    json.dumps(numbers)


def test_held_out_example_numbers_are_checked(ctx, explorer):
    img, name = objective_tab.example_face(explorer, 1)
    assert "held-out face" in name and img.shape == (explorer.resolution, explorer.resolution, 3)
    n = len(explorer.embedding().examples)
    for bad in (-1, n, 1.5, "x", None):
        with pytest.raises(UserInputError, match="example number"):
            objective_tab.example_face(explorer, bad)


def test_static_sections_prior_hole_samplers_and_beta(ctx, explorer, tmp_path):
    hole, norms, top, marginals, fitted, prior, beta_md, beta_fig = objective_tab.static_values(ctx, explorer)
    assert "aggregate posterior" in hole and "61.2" in hole and "335.3" in hole  # cited from docs/performance.md
    assert isinstance(norms, go.Figure) and {t.name.split(" ")[0] for t in norms.data} >= {"‖μ‖", "‖z‖,"}
    assert isinstance(marginals, go.Figure) and len(marginals.data[0].y) == explorer.latent_dim
    ref = objective_tab.checkpoint_reference(ctx, explorer)
    bars = [t for t in top.data if t.type == "bar"]
    assert len(bars) == len(ref.aggregate.marginal_dims) == min(oref.MARGINAL_DIMS, explorer.latent_dim)
    # each histogram is a density over its bins (the prior's N(0, 1) beside it)
    width = np.diff(ref.aggregate.marginal_edges)
    assert all(float(np.sum(np.asarray(b.y) * width)) == pytest.approx(1.0, abs=1e-3) for b in bars)
    assert fitted.endswith(".png") and prior.endswith(".png") and fitted != prior
    assert "ships no β-sweep" in beta_md and beta_fig["value"] is None and beta_fig["visible"] is False
    # memoised: the same objects for every visitor
    assert objective_tab.static_values(ctx, explorer)[1] is norms


def test_sweep_view_marks_the_checkpoint_point(ctx, explorer):
    ref = objective_tab.checkpoint_reference(ctx, explorer)
    pts = [oref.SweepPoint(beta=b, rate=100 / b, distortion=-5000 + 50 * b, distortion_term=1000 + 50 * b, nelbo=0.0,
                           mse=0.01, psnr=20.0, ssim=0.5, active_units=int(8 / b), mig=0.01 * b,
                           dci_disentanglement=0.1, dci_completeness=0.2, dci_informativeness=0.9, sap=0.02)
           for b in (0.5, 1.0, 4.0)]
    sw = oref.Sweep(points=pts, dataset="tiny faces", command="python -m vae_core beta-sweep --betas 0.5,1,4",
                    latent_dim=8)
    point = view.shipped_point(ref, 1.0, -100.0, {"mig": 0.5})
    assert point["rate"] == pytest.approx(ref.heldout.kl.mean())
    assert point["distortion_term"] == pytest.approx(ref.heldout.recon_nll.mean() + 100.0)
    md = view.sweep_markdown(sw, point, "my data")
    assert "★" in md and "python -m vae_core beta-sweep --betas 0.5,1,4" in md and md.count("\n| ") >= 4
    fig = plots.sweep(sw, point, "this checkpoint")
    stars = [t for t in fig.data if t.marker is not None and t.marker.symbol == "star"]
    assert len(stars) == 3  # rate–distortion, active units, MIG
    assert list(fig.data[0].x) == [p.rate for p in pts]


@pytest.mark.parametrize("bits, verdict, words", [(6.3, "within", "within their range"),
                                                  (9.0, "far_above", "not a face like those")])
def test_placement_sentences(bits, verdict, words):
    held = oref.HeldOut(ids=["a", "b", "c"], bits_per_dim=np.array([6.0, 6.3, 6.6]), nelbo_8bit=np.zeros(3),
                        recon_nll=np.zeros(3), kl=np.zeros(3))
    p = held.placement(bits)
    assert p.verdict == verdict and words in view.placement_sentence(p)


def test_reconstruct_report_says_how_typical_the_image_is(ctx, explorer):
    from ui.reconstruct import tab as reconstruct_tab

    enc = explorer.encode_image(explorer.embedding().examples[0])
    *_, report = reconstruct_tab.results(ctx, explorer, enc, "face A")
    assert "MSE" in report and "How typical" in report and "bits/dim" in report


def test_generate_face_needs_the_pages_values(ctx):
    with pytest.raises(Exception, match="reload the page"):
        objective_tab.generate_face(ctx, SessionState(), "", [None] * 3)


def test_model_info_gives_a_positive_nelbo_with_units():
    info = {"checkpoint": "c/d", "model_id": "ab", "dataset": "faces", "synthetic": False, "resolution": 64,
            "latent_dim": 256, "channels": [8], "parameters": 10, "beta": 1.0,
            "metrics": {"mse": 0.00397, "psnr": 24.6, "ssim": 0.86, "nelbo": -13973.7, "kl": 461.0,
                        "bits_per_dim": 6.359, "active_units": 256, "n": 48, "steps": 17765, "split": "validation"}}
    md = info_markdown(info)
    d = 3 * 64 * 64
    assert f"−ELBO {-13973.7 + d * math.log(256):,.0f} nats/image on 8-bit pixels" in md
    assert "6.359 bits/dim" in md and "−ELBO -" not in md and "−ELBO −" not in md
    assert "per pixel value" in md and "24.6 dB" in md and "KL 461.0 nats/image" in md and "256 of 256" in md
    texts = metric_texts({"bits_per_dim": 7.5}, None, None)
    assert texts == ["−ELBO 7.500 bits/dim"]


def test_scorecard_reads_each_metric_against_the_sweep():
    from ui.analysis import view as analysis_view

    pts = [types.SimpleNamespace(beta=b, mig=m, dci_disentanglement=0.1, dci_completeness=0.2,
                                 dci_informativeness=0.9, sap=0.01) for b, m in ((0.5, 0.01), (4.0, 0.05))]
    text = analysis_view._context("mig", 0.03, types.SimpleNamespace(points=pts), None)
    assert "0.010 (β=0.5) to 0.050 (β=4)" in text and "beats 1 of 2" in text


def test_the_quoted_sample_quality_is_what_docs_performance_measured():
    """The tab quotes docs/performance.md's "Random faces" table: every figure it quotes is in that table, so a
    re-measured table fails here until the quote is updated."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    section = doc.split("## Random faces", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"\d+\.\d+", view.SAMPLE_QUALITY_SOURCE)
    assert len(quoted) == 9
    for figure in quoted:
        assert figure in section, figure


def test_without_a_reference_the_face_still_gets_its_terms(ctx, explorer, monkeypatch):
    from vae_core.errors import CheckpointError

    def missing(*_):
        raise CheckpointError("this checkpoint has no held-out example faces")

    monkeypatch.setattr(objective_tab, "checkpoint_reference", missing)
    img = explorer.embedding().examples[0]
    md, numbers = objective_tab.face_values(ctx, explorer, img, "face A")[3::3]
    assert "bits per dim" in md and "How typical" not in md and "heldout_bits_per_dim" not in numbers
    assert "no held-out faces to compare" in objective_tab.typicality_line(ctx, explorer, img)
