"""Held-out SSIM against training steps, read from a `train` run's log (where training flattens).

    python -m vae_core train ... 2> run.log      # every evaluation line carries step, val MSE and val SSIM
    python -m bench.ssim_curve run.log [--every 4]

The trainer evaluates the validation split at epoch ends (about 5 % of the time); each evaluation is one
point. Under the `wsd` schedule the learning rate is constant until the last 20 % of the run and then
decays: points before the decay are not annealed, so they sit below what a run *ending* at that step would
reach; the last point is the annealed end.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

LINE = re.compile(r"epoch (\d+) \(step (\d+)\):.*?val MSE ([0-9.e-]+), val SSIM ([0-9.]+)")


def read_curve(text: str) -> list[tuple[int, float, float]]:
    """(step, held-out PSNR dB, held-out SSIM) per evaluation line, in order."""
    points = []
    for m in LINE.finditer(text.replace("\r", "\n")):
        mse = float(m.group(3))
        points.append((int(m.group(2)), 10 * math.log10(1 / mse) if mse > 0 else float("inf"), float(m.group(4))))
    return points


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("log", nargs="+", help="training logs (stderr of python -m vae_core train)")
    p.add_argument("--every", type=int, default=1, help="print every Nth point (the last is always printed)")
    a = p.parse_args()
    curves = {}
    for log in a.log:
        points = read_curve(Path(log).read_text(encoding="utf-8", errors="replace"))
        if not points:
            sys.exit(f"{log}: no evaluation lines with step and val SSIM (a log of `python -m vae_core train`?)")
        curves[log] = points
        print(f"{log}: {len(points)} evaluations")
        print(f"  {'step':>7} {'PSNR dB':>8} {'SSIM':>6}")
        for i, (step, psnr, ssim) in enumerate(points):
            if i % a.every == 0 or i == len(points) - 1:
                print(f"  {step:>7} {psnr:8.2f} {ssim:6.3f}")


if __name__ == "__main__":
    main()
