"""bench/ssim_curve.py reads the curve back from exactly what the CLI prints for each evaluation."""

from __future__ import annotations

import io
import math

from bench.ssim_curve import read_curve
from vae_core.cli import render_events
from vae_core.training import EvalEvent


def test_curve_is_read_from_the_cli_eval_lines():
    events = [EvalEvent(step=s, epoch=s // 10, train_loss=1.0, train_mse=0.02, train_kl=3.0, train_nelbo=4.0,
                        val_loss=1.0, val_mse=mse, val_kl=3.0, val_nelbo=4.0, val_bits_per_dim=7.0, beta=1.0,
                        val_ssim=ssim)
              for s, mse, ssim in ((100, 0.02, 0.61), (200, 0.01, 0.72))]
    out = io.StringIO()
    render_events(iter(events), out)
    points = read_curve(out.getvalue())
    assert [(s, round(q, 2)) for s, _, q in points] == [(100, 0.61), (200, 0.72)]
    assert math.isclose(points[1][1], 20.0)  # PSNR from the printed MSE
