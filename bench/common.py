"""Shared bits of the benchmark scripts: machine description, peak matmul rate, percentiles."""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable

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


def _rate(fn, flops: float, seconds: float) -> float:
    for _ in range(2):
        fn()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        reps += 1
    return flops * reps / (time.perf_counter() - t0)


def matmul_flops(n: int = 2048, seconds: float = 3.0, dtype: torch.dtype = torch.float32) -> float:
    """Sustained ``torch.mm`` FLOP/s in ``dtype`` (on CPU builds: MKL's GEMM), measured now."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return _rate(lambda: a @ b, 2 * n**3, seconds)


@torch.no_grad()
def onednn_gemm_flops(channels: int = 512, seconds: float = 3.0, dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a large GEMM run by oneDNN, the library that runs the model's convolutions: a 1×1
    convolution over 64×32×32 channels_last pixels is a [65536, C] × [C, C] matrix product."""
    x = torch.randn(64, channels, 32, 32, dtype=dtype).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(channels, channels, 1, bias=False).to(dtype).to(memory_format=torch.channels_last)
    return _rate(lambda: conv(x), 2 * 64 * 32 * 32 * channels**2, seconds)


def peak_matmul_flops(dtype: torch.dtype = torch.float32, seconds: float = 2.0) -> dict[str, float]:
    """The MFU denominator: the best matrix-product rate this machine reaches in ``dtype`` right now.

    Why two libraries: on CPUs where MKL does not pick its fastest path (seen on an AMD EPYC: torch.mm
    150 GFLOP/s, oneDNN 174 GFLOP/s), torch.mm alone understates the peak, and the convolutions, which
    run in oneDNN, would read as MFU > 1. Taking the faster of the two keeps MFU honest (conservative).
    Returns {"torch.mm": ..., "oneDNN": ..., "peak": max}.
    """
    rates = {"torch.mm": matmul_flops(seconds=seconds, dtype=dtype),
             "oneDNN": onednn_gemm_flops(seconds=seconds, dtype=dtype)}
    rates["peak"] = max(rates.values())
    return rates


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run_concurrently(work: Callable[[int], None], n: int) -> float:
    """``work(0) … work(n - 1)`` in n threads started together; the wall-clock seconds until all have ended."""
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0
