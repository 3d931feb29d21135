"""Step-matched recipe sweep on the real-face split: which change to the recipe buys held-out SSIM per CPU minute.

    python -m bench.recipe_sweep [--variants recipe,z128,...] [--steps 6714] [--parallel K] [--device auto]
    python -m bench.recipe_sweep --list

Why steps and not minutes: a 10-minute run of ``bench/quality.py`` on the 2-core CPU of README "Performance"
takes 6,714 optimizer steps, and each probe there costs 10 minutes of a noisy machine. Running the same number
of steps answers the same question on any device, a GPU included, in a fraction of the time, and without the
machine's ±10–20% drift deciding the result. A variant that changes the CPU cost of a step (batch size, widths,
latent size) runs the steps the same 10 CPU minutes would buy it: ``cpu_cost`` is its CPU step time relative to
the recipe's (bf16 autocast, 2 threads, measured on that CPU), and it runs ``steps / cpu_cost`` steps.

Each variant trains in its own process (``--parallel`` at once; one process per GPU stream is what keeps a
small model's GPU busy) and prints one JSON line: held-out SSIM, PSNR, −ELBO, active units, SSIM on as many
training faces, and held-out SSIM by background (see ``bench/quality.py``). On this CPU one variant takes
about 10 minutes; on an H200 eight at once took 85–135 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine
from bench.quality import REAL_SPEC, recipe, ssim_by_background
from vae_core.data import load_dataset
from vae_core.data.dataset import FaceDataset

#: Optimizer steps of `python -m bench.quality --data real` in its 10 minutes on the README's AMD EPYC with the
#: recipe before the sweep (2026-11-27; today's recipe took 6,514 in another run: the machine drifts by more).
CPU_10MIN_STEPS = 6714


@dataclass(frozen=True)
class Variant:
    """One change to :func:`bench.quality.recipe`: its keyword overrides and the CPU step cost they bring."""

    overrides: dict[str, Any] = field(default_factory=dict)
    cpu_cost: float = 1.0  # CPU step time ÷ the recipe's (1.0: the change costs nothing per step)
    step_factor: float = 1.0  # a longer budget: 2.0 = 20 CPU minutes


#: cpu_cost: the mean of two `python -m bench.recipe_sweep --cpu-cost` runs on the README's AMD EPYC (2026-11-27).
VARIANTS: dict[str, Variant] = {
    "recipe": Variant(),
    "recipe-seed1": Variant(dict(seed=1)),
    "flips": Variant(dict(hflip=True)),
    "no-shift": Variant(dict(shift=0)),
    "shift4": Variant(dict(shift=4)),
    "z128": Variant(dict(latent_dim=128), cpu_cost=0.90),
    "z512": Variant(dict(latent_dim=512), cpu_cost=1.08),
    "beta2-0.999": Variant(dict(adam_beta2=0.999)),
    "lr3e-3": Variant(dict(lr=3e-3)),
    "lr1e-3": Variant(dict(lr=1e-3)),
    "cosine": Variant(dict(lr_schedule="cosine")),
    "no-warmup": Variant(dict(kl_warmup_steps=0)),
    "beta0.5": Variant(dict(beta=0.5)),
    "sigma0.05": Variant(dict(obs_std=0.05)),
    "no-wd": Variant(dict(weight_decay=0.0)),
    "wd0.01": Variant(dict(weight_decay=0.01)),
    "wd0.1": Variant(dict(weight_decay=0.1)),
    "wd0.5": Variant(dict(weight_decay=0.5)),
    "wd1": Variant(dict(weight_decay=1.0)),
    "batch32": Variant(dict(batch_size=32, lr=1.4e-3), cpu_cost=0.56),
    "batch128": Variant(dict(batch_size=128, lr=3e-3), cpu_cost=1.87),
    "encoder-width1": Variant(dict(encoder_width=1.0), cpu_cost=1.4),
    "no-batchnorm": Variant(dict(norm="none"), cpu_cost=0.92),
    "res-blocks1": Variant(dict(res_blocks=1), cpu_cost=2.37),
    "2x-budget": Variant(step_factor=2.0),
    "4x-budget": Variant(step_factor=4.0),
}


def variant_steps(v: Variant, steps: int) -> int:
    """Steps a variant runs so that it costs what ``steps`` of the recipe cost on the CPU."""
    return max(1, round(steps * v.step_factor / v.cpu_cost))


def run_variant(name: str, ds: FaceDataset, steps: int, device: str = "auto") -> dict[str, Any]:
    """Train variant ``name`` for its step-matched budget on ``ds``'s split and evaluate it; one result row."""
    import torch

    from vae_core.model import load_checkpoint
    from vae_core.metrics import evaluate_model
    from vae_core.training import DoneEvent, Trainer

    v = VARIANTS[name]
    n = variant_steps(v, steps)
    train, cfg = recipe(**v.overrides, max_steps=n)
    train_idx, test_idx = ds.split()
    t0 = time.perf_counter()
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(ds, cfg, train, Path(tmp) / name, device=device, command="bench/recipe_sweep.py",
                          log_every=200)
        for ev in trainer.run():
            if isinstance(ev, DoneEvent):
                done = ev.step
        model = load_checkpoint(Path(tmp) / name, device=trainer.device).model
    seconds = time.perf_counter() - t0
    r = evaluate_model(model, ds, test_idx)
    seen = evaluate_model(model, ds, train_idx[: len(test_idx)])
    by_bg = {k: round(ssim, 4) for k, (_, ssim) in ssim_by_background(model, ds, test_idx).items()}
    return dict(variant=name, overrides=v.overrides, steps=done, ssim=round(r.ssim, 4), psnr=round(r.psnr, 2),
                nelbo=round(r.nelbo, 1), active_units=r.active_units, latent_dim=cfg.latent_dim,
                train_ssim=round(seen.ssim, 4), by_background=by_bg, seconds=round(seconds, 1),
                device=str(trainer.device), torch=torch.__version__)


def cpu_step_costs(names: list[str], rounds: int = 3, steps: int = 20) -> dict[str, float]:
    """CPU step time of each variant ÷ the recipe's, median over ``rounds`` interleaved rounds (the machine
    drifts, so each round times every variant close together): what ``Variant.cpu_cost`` holds."""
    import torch

    from vae_core.losses import elbo_terms
    from vae_core.model import ConvVAE
    from vae_core.training.device import resolve_precision
    from vae_core.training.trainer import build_optimizer

    def step_time(name: str) -> float:
        train, cfg = recipe(**VARIANTS[name].overrides)
        torch.manual_seed(0)
        model = ConvVAE(cfg).to(memory_format=torch.channels_last)
        opt = build_optimizer(model, train)
        x = torch.rand(train.batch_size, 3, cfg.resolution, cfg.resolution).contiguous(memory_format=torch.channels_last)
        bf16 = resolve_precision(train.precision, torch.device("cpu")) == torch.bfloat16

        def one() -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(x)
            loss = elbo_terms(x, out.reconstruction, out.posterior, cfg, 1.0).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(3):
            one()
        t0 = time.perf_counter()
        for _ in range(steps):
            one()
        return (time.perf_counter() - t0) / steps

    names = ["recipe"] + [n for n in names if n != "recipe"]
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        times = {n: step_time(n) for n in names}
        for n in names:
            ratios[n].append(times[n] / times["recipe"])
    return {n: float(np.median(r)) for n, r in ratios.items()}


def load_split_faces(npz: str | None) -> FaceDataset:
    """The real-face split: from ../shared (the benchmark's source) or from an array saved by --save-npz, for a
    machine without ../shared (a lent GPU gets the repository only)."""
    if npz is None:
        return load_dataset(REAL_SPEC, progress=False)
    with np.load(npz, allow_pickle=False) as f:
        images, ids = f["images"], [str(i) for i in f["ids"]]
    return FaceDataset(images=images, labels=None, schema=None, spec=REAL_SPEC, ids=ids)


def format_row(r: dict[str, Any]) -> str:
    bg = " · ".join(f"{k} {v:.3f}" for k, v in r["by_background"].items())
    return (f"{r['variant']:<15} {r['steps']:>6} steps  held-out SSIM {r['ssim']:.4f}  PSNR {r['psnr']:5.2f} dB  "
            f"-ELBO {r['nelbo']:9.1f}  active {r['active_units']}/{r['latent_dim']}  training faces {r['train_ssim']:.4f}"
            f"  [{bg}]  {r['seconds']:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default="recipe,recipe-seed1,flips,z128,beta2-0.999",
                   help="comma-separated names (--list shows them); default: the recipe against its last changes")
    p.add_argument("--steps", type=int, default=CPU_10MIN_STEPS, help="the recipe's steps (default: 10 CPU minutes)")
    p.add_argument("--parallel", type=int, default=None, help="variants at once (default: 8 on a GPU, 1 on a CPU)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--npz", help="read the split's faces from this file instead of ../shared")
    p.add_argument("--save-npz", help="write the split's faces to this file (for a machine without ../shared) and exit")
    p.add_argument("--out", help="append each result as a JSON line to this file")
    p.add_argument("--list", action="store_true", help="print the variants and exit")
    p.add_argument("--cpu-cost", action="store_true",
                   help="measure each variant's CPU step time relative to the recipe's (what cpu_cost holds) and exit")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.list:
        for name, v in VARIANTS.items():
            print(f"{name:<15} {variant_steps(v, a.steps):>6} steps  {v.overrides or '(the recipe)'}")
        return
    if a.cpu_cost:
        names = [n.strip() for n in a.variants.split(",") if n.strip()]
        print(f"CPU step time ÷ the recipe's (median of 3 interleaved rounds; {machine()}):")
        for name, ratio in cpu_step_costs(names).items():
            print(f"  {name:<15} measured {ratio:5.2f}   cpu_cost in use {VARIANTS[name].cpu_cost:.2f}")
        return
    if a.save_npz:
        ds = load_dataset(REAL_SPEC, progress=False)
        np.savez(a.save_npz, images=np.asarray(ds.images), ids=np.asarray(ds.ids))
        print(f"wrote {len(ds)} faces to {a.save_npz}")
        return
    if a.child:  # one variant in this process: its JSON line on stdout
        print(json.dumps(run_variant(a.child, load_split_faces(a.npz), a.steps, a.device)), flush=True)
        return
    names = [n.strip() for n in a.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants {unknown}; --list shows the {len(VARIANTS)} known ones")
    import torch

    gpu = a.device.startswith("cuda") or (a.device == "auto" and torch.cuda.is_available())
    parallel = a.parallel or (8 if gpu else 1)
    print(f"machine: {machine()}" + (f", {torch.cuda.get_device_name()}" if gpu else ""))
    print(f"{len(names)} variants, the recipe's budget {a.steps} steps, {parallel} at once", flush=True)
    todo, running = list(names), []
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1" if gpu else str(torch.get_num_threads())))
    while todo or running:
        while todo and len(running) < parallel:
            name = todo.pop(0)
            cmd = [sys.executable, "-m", "bench.recipe_sweep", "--child", name, "--steps", str(a.steps),
                   "--device", a.device]
            cmd += ["--npz", a.npz] if a.npz else []
            log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty child must not block on a full pipe
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, env=env), log))
        for item in list(running):
            name, proc, log = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.seek(0)
            text = log.read()
            log.close()
            if proc.returncode:
                print(f"{name}: failed (exit {proc.returncode}):\n{text[-2000:]}", flush=True)
                continue
            row = json.loads(text.strip().splitlines()[-1])
            print(format_row(row), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
