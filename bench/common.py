"""Shared bits of the benchmark scripts: machine description, peak matmul rate, percentiles."""

from __future__ import annotations

import os
import platform
import time

import numpy as np
import torch


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def matmul_flops(n: int = 2048, seconds: float = 3.0, dtype: torch.dtype = torch.float32) -> float:
    """Sustained matmul FLOP/s of this machine in ``dtype`` (the MFU denominator), measured now."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))
