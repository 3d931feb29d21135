"""Interactive paths of the explorer, measured on the shipped default checkpoint.

    python -m bench.interactive [--checkpoint checkpoints/default]

Prints: decode of one face (p50/p95 ms), opening the map from the cache, placing one new point on the
map, and a fresh UMAP of 10k latents cold (new process, numba JIT included) and warm (same process).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench.common import machine, pct
from vae_core.explorer import Explorer

ROOT = Path(__file__).resolve().parents[1]

UMAP_SNIPPET = """
import time, numpy as np
t = time.perf_counter()
from vae_core.projection import fit_umap
mu = np.random.default_rng(0).normal(size=(10000, 32)).astype(np.float32)
fit_umap(mu)
cold = time.perf_counter() - t
t = time.perf_counter()
fit_umap(mu)
print(cold, time.perf_counter() - t)
"""


def time_ms(fn: Callable[[int], object], n: int) -> list[float]:
    """Wall time of ``fn(i)`` for i in 0..n-1, in ms each."""
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(1000 * (time.perf_counter() - t))
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    p.add_argument("--skip-umap", action="store_true")
    a = p.parse_args()
    print(f"machine: {machine()}")
    t = time.perf_counter()
    ex = Explorer.open(a.checkpoint)
    print(f"load checkpoint: {1000 * (time.perf_counter() - t):.0f} ms")

    z = np.random.default_rng(0).normal(size=(200, ex.latent_dim)).astype(np.float32)
    for i in range(20):
        ex.decode(z[i])
    times = time_ms(lambda i: ex.decode(z[i]), 200)
    print(f"decode one {ex.resolution}x{ex.resolution} face: p50 {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms")

    fresh = Explorer.open(a.checkpoint)
    t = time.perf_counter()
    data = fresh.map("umap")
    print(f"map from cache ({len(data.coords)} points, embedding + UMAP coords): "
          f"{1000 * (time.perf_counter() - t):.0f} ms")
    times = time_ms(lambda i: fresh.place(z[i]), 100)
    print(f"place one new point: p50 {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms")

    if not a.skip_umap:
        out = subprocess.run([sys.executable, "-c", UMAP_SNIPPET], capture_output=True, text=True, cwd=ROOT,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
        cold, warm = map(float, out.stdout.split())
        print(f"fresh UMAP of 10k x 32: cold {cold:.1f} s (new process, JIT included), warm {warm:.1f} s")


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    main()
