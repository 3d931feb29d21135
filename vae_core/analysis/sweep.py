"""β-sweep results: one row per trained β (reconstruction, rate, distortion, disentanglement) and a plot.

Why: β trades rate (KL, nats/image) against distortion (reconstruction NLL, nats/image), and
disentanglement metrics are known to move with it (Higgins et al. 2017; Locatello et al. 2019 show how
weakly). Seeing all three side by side for short runs tells a user which β to train for real.

Training itself is the ordinary :class:`~vae_core.training.Trainer` (the CLI renders its events); this
module measures a trained model (:func:`measure_point`) and renders a list of points as a table
(:func:`format_sweep_table`) or a PNG (:func:`plot_sweep_png`, drawn with PIL: matplotlib is not a
dependency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import EvalReport, evaluate_model
from .disentanglement import DEFAULT_NUM_TEST, DEFAULT_NUM_TRAIN, Scorecard, score_model

if TYPE_CHECKING:
    from ..data.dataset import FaceDataset
    from ..model import ConvVAE


@dataclass(frozen=True, eq=False)
class SweepPoint:
    """One β: its checkpoint, held-out reconstruction report and disentanglement scorecard.

    ``rate`` = KL(q(z|x) ‖ p(z)) and ``distortion`` = E_q[−log p(x|z)], both nats/image on held-out
    images (β = 1 units, so points of different β are comparable).
    """

    beta: float
    checkpoint: str
    report: EvalReport
    scorecard: Scorecard

    @property
    def rate(self) -> float:
        return self.report.kl

    @property
    def distortion(self) -> float:
        return self.report.recon_nll

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        s = self.scorecard
        return {
            "beta": self.beta, "checkpoint": self.checkpoint, "mse": r.mse, "psnr": r.psnr, "ssim": r.ssim,
            "rate": self.rate, "distortion": self.distortion, "nelbo": r.nelbo, "active_units": r.active_units,
            "mig": s.mig, "dci_disentanglement": s.dci_disentanglement, "dci_completeness": s.dci_completeness,
            "dci_informativeness": s.dci_informativeness, "sap": s.sap, "scorecard": s.to_dict(),
        }


def measure_point(model: "ConvVAE", dataset: "FaceDataset", beta: float, checkpoint: str | Path, *,
                  n_train: int = DEFAULT_NUM_TRAIN, n_test: int = DEFAULT_NUM_TEST, seed: int = 0) -> SweepPoint:
    """Evaluate a trained model: reconstruction on the dataset's held-out split (all images if it has
    none), disentanglement on the whole labelled dataset (see :func:`score_model`)."""
    _, val = dataset.split()
    idx = val if len(val) else np.arange(len(dataset))
    report = evaluate_model(model, dataset, idx, seed=seed)
    card = score_model(model, dataset, n_train=n_train, n_test=n_test, seed=seed)
    return SweepPoint(beta=float(beta), checkpoint=str(checkpoint), report=report, scorecard=card)


def format_sweep_table(points: Sequence[SweepPoint]) -> str:
    """Markdown table, one row per β: MSE, PSNR (dB), SSIM, rate and distortion (nats/image), active
    units, MIG, DCI (D, C, I) and SAP."""
    head = ("| β | MSE | PSNR | SSIM | rate (KL) | distortion | active | MIG | DCI-D | DCI-C | DCI-I | SAP |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for p in points:
        r, s = p.report, p.scorecard
        n_dims = len(r.kl_per_dim)
        rows.append(f"| {p.beta:g} | {r.mse:.5f} | {r.psnr:.2f} | {r.ssim:.3f} | {p.rate:.1f} | {p.distortion:.1f} | "
                    f"{r.active_units}/{n_dims} | {s.mig:.3f} | {s.dci_disentanglement:.3f} | "
                    f"{s.dci_completeness:.3f} | {s.dci_informativeness:.3f} | {s.sap:.3f} |")
    return "\n".join([head, *rows])


# -- a small PIL chart ---------------------------------------------------------------------------------------
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 420, 320, 62, 16, 34, 46
_COLOURS = {"MIG": (214, 39, 40), "DCI-D": (31, 119, 180), "SAP": (44, 160, 44)}


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[tuple[float, str]]:
    """About n round (value, label) ticks inside [lo, hi], labelled with just enough decimals."""
    if not hi > lo:
        return [(lo, f"{lo:g}")]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    mult = next(m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    step = mult * mag
    decimals = max(0, -math.floor(math.log10(step)) + (1 if mult == 2.5 else 0))
    start = math.ceil(lo / step - 1e-9) * step
    values = [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]
    return [(v, f"{v:.{decimals}f}") for v in values]


def _pad_range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = float(min(values)), float(max(values))
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - 0.08 * span, hi + 0.08 * span


def _panel(draw, font, x0: int, title: str, xlabel: str, ylabel: str, xr: tuple[float, float],
           yr: tuple[float, float], xticks: list[tuple[float, str]], yticks: list[tuple[float, str]]):
    """Axes box with ticks and labels; returns data → pixel mapping. x values may be pre-transformed."""
    left, right, top, bottom = x0 + _PAD_L, x0 + _W - _PAD_R, _PAD_T, _H - _PAD_B

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (left + (x - xr[0]) / (xr[1] - xr[0]) * (right - left),
                bottom - (y - yr[0]) / (yr[1] - yr[0]) * (bottom - top))

    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for v, label in xticks:
        px, _ = to_px(v, yr[0])
        draw.line([px, bottom, px, bottom + 4], fill=(0, 0, 0))
        draw.text((px, bottom + 6), label, fill=(0, 0, 0), font=font, anchor="ma")
    for v, label in yticks:
        _, py = to_px(xr[0], v)
        draw.line([left - 4, py, left, py], fill=(0, 0, 0))
        draw.text((left - 6, py), label, fill=(0, 0, 0), font=font, anchor="rm")
    draw.text(((left + right) / 2, 8), title, fill=(0, 0, 0), font=font, anchor="ma")
    draw.text(((left + right) / 2, _H - 16), xlabel, fill=(0, 0, 0), font=font, anchor="ma")
    draw.text((x0 + 4, top - 14), ylabel, fill=(0, 0, 0), font=font)
    return to_px


def plot_sweep_png(points: Sequence[SweepPoint], path: str | Path) -> Path:
    """Two panels, 840×320 PNG: rate–distortion (each point labelled with its β) and MIG / DCI
    disentanglement / SAP against β (log axis when the βs are all positive)."""
    from PIL import Image, ImageDraw, ImageFont

    if not points:
        raise ValueError("plot_sweep_png needs at least one point")
    pts = sorted(points, key=lambda p: p.beta)
    img = Image.new("RGB", (2 * _W, _H), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)

    rates, dists = [p.rate for p in pts], [p.distortion for p in pts]
    xr, yr = _pad_range(rates), _pad_range(dists)
    # ASCII only in the chart: PIL's built-in font has no Greek letters or en dashes.
    to_px = _panel(draw, font, 0, "rate - distortion", "rate: KL (nats/image)", "distortion (nats/image)", xr, yr,
                   _nice_ticks(*xr), _nice_ticks(*yr))
    xy = [to_px(r, d) for r, d in zip(rates, dists)]
    if len(xy) > 1:
        draw.line(xy, fill=(120, 120, 120), width=1)
    for (px, py), p in zip(xy, pts):
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=(31, 119, 180))
        near_right = px > _W - _PAD_R - 70  # keep the label inside the panel
        draw.text((px - 6 if near_right else px + 6, py - 6), f"beta={p.beta:g}", fill=(0, 0, 0), font=font,
                  anchor="rd" if near_right else "ld")

    log_x = all(p.beta > 0 for p in pts)
    bx = [math.log10(p.beta) if log_x else p.beta for p in pts]
    bxr = _pad_range(bx)
    to_px = _panel(draw, font, _W, "disentanglement vs beta", "beta (log scale)" if log_x else "beta", "score", bxr,
                   (0.0, 1.0), [(v, f"{p.beta:g}") for v, p in zip(bx, pts)], _nice_ticks(0.0, 1.0))
    series = {"MIG": [p.scorecard.mig for p in pts], "DCI-D": [p.scorecard.dci_disentanglement for p in pts],
              "SAP": [p.scorecard.sap for p in pts]}
    for i, (name, ys) in enumerate(series.items()):
        colour = _COLOURS[name]
        line = [to_px(x, min(max(y, 0.0), 1.0)) for x, y in zip(bx, ys)]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for px, py in line:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        lx, ly = _W + _PAD_L + 8 + 70 * i, _PAD_T + 6
        draw.line([lx, ly + 6, lx + 16, ly + 6], fill=colour, width=2)
        draw.text((lx + 20, ly), name, fill=(0, 0, 0), font=font)
    out = Path(path)
    img.save(out)
    return out


__all__ = ["SweepPoint", "format_sweep_table", "measure_point", "plot_sweep_png"]
