"""Quality for a fixed CPU budget on real Cartoon Set faces (and the synthetic set).

    python bench/quality.py [--minutes 10] [--data real|synthetic|both]    # ~21 min per data set

Trains, for the same wall-clock budget, (a) the project's default recipe through vae_core's Trainer and
(b) the textbook baseline loop of bench/train_speed.py (β = 1, same architecture, eager, DataLoader),
on a fixed split of ../shared/data/cartoonset-sample-256 (1,200 train / 300 test). Prints held-out PSNR,
SSIM, −ELBO (nats/image, bits/dim) and active units of both, and saves prior-sample grids as PNGs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import machine  # noqa: E402
from bench.train_speed import DecodedImages  # noqa: E402
from vae_core.config import DataSpec, ModelConfig, TrainConfig  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.latent import decode_latents, sample_prior  # noqa: E402
from vae_core.losses import elbo_terms  # noqa: E402
from vae_core.metrics import evaluate_model  # noqa: E402
from vae_core.model import ConvVAE  # noqa: E402
from vae_core.training import DoneEvent, Trainer, make_grid  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"


#: The issue's real-face split: the sample's first 1,500 faces, 1,200 train / 300 held-out (FaceDataset.split).
REAL_SPEC = DataSpec(kind="folder", path=str(SAMPLE), limit=1500, val_fraction=0.2)


def recipe(*, latent_dim: int = ModelConfig().latent_dim, channels: tuple[int, ...] = ModelConfig().channels,
           encoder_width: float = ModelConfig().encoder_width, res_blocks: int = 0, norm: str = "batch",
           obs_std: float = ModelConfig().obs_std, lr: float = TrainConfig().lr,
           batch_size: int = TrainConfig().batch_size, beta: float = TrainConfig().beta,
           schedule: str = "wsd", shift: int = 2, hflip: bool = False, adam_beta2: float = TrainConfig().adam_beta2,
           kl_warmup: int = 1000, weight_decay: float = TrainConfig().weight_decay, seed: int = 0,
           max_steps: int | None = None) -> tuple[TrainConfig, ModelConfig]:
    """The project's recipe for a time-budgeted run, any part overridable (this script's flags, the sweep's variants).

    Constant lr then a linear decay over the last 20% of the run (wsd; a cosine annealed over the whole run
    scored lower), β warm-up, ±2 px shifts (they close most of the train/held-out gap; step-matched: 0.810 with,
    0.781 without), no flips (0.816 without, 0.810 with: these faces are not mirror-symmetric enough for a flip
    to be a free extra face), Adam β2 0.99, AdamW weight decay 0.3 (0.837 against 0.826 without), z 256 and a
    half-width encoder (more steps in the budget). The
    caller sets the end: ``max_minutes`` (this script) or ``max_steps``. Figures: README "Performance".
    """
    train = TrainConfig(epochs=100_000, batch_size=batch_size, lr=lr, kl_warmup_steps=kl_warmup, hflip=hflip,
                        shift=shift, beta=beta, lr_schedule=schedule, checkpoint_every_epoch=False,
                        adam_beta2=adam_beta2, weight_decay=weight_decay, seed=seed, max_steps=max_steps)
    cfg = ModelConfig(obs_std=obs_std, res_blocks=res_blocks, latent_dim=latent_dim, norm=norm,
                      channels=tuple(channels), encoder_width=encoder_width)
    return train, cfg


def run_ours(ds, cfg: ModelConfig, train: TrainConfig, out: Path):
    """The budget is the recipe's own ``max_minutes``: the run ends there, its schedule annealed to it."""
    trainer = Trainer(ds, cfg, train, out, device="cpu", command="bench/quality.py", log_every=50)
    steps = 0
    for ev in trainer.run():
        if isinstance(ev, DoneEvent):
            steps = ev.step
    from vae_core.checkpoint import load_checkpoint

    return load_checkpoint(out).model, steps


def run_textbook(cfg: ModelConfig, ds, train_idx: np.ndarray, seconds: float) -> tuple[ConvVAE, int]:
    torch.manual_seed(0)
    model = ConvVAE(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(DecodedImages(ds.images[train_idx]), batch_size=64, shuffle=True)
    t0 = time.perf_counter()
    steps = 0
    while time.perf_counter() - t0 < seconds:
        for x in loader:
            steps += 1
            out = model(x)
            loss = elbo_terms(x, out.reconstruction, out.posterior, cfg, 1.0).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
            if time.perf_counter() - t0 >= seconds:
                break
    return model.eval(), steps


#: Background classes of ``background_kinds``, in report order.
BACKGROUNDS = ("white", "flat colour", "textured")


def background_kinds(images: np.ndarray) -> np.ndarray:
    """Background class of each face, [N, H, W, 3] uint8 → [N] strings from :data:`BACKGROUNDS`.

    Why: the course that redistributed the real sample put about half of the faces on textured backgrounds
    (noise, clouds, tiles, gradients) that the original Cartoon Set does not have. A per-image random texture
    cannot pass through a latent of a few hundred numbers, so those faces bound SSIM from above whatever the model; the
    report splits SSIM by background so that bound is visible instead of hidden in one mean. The classes come
    from the outer 3-pixel frame: white (mean > 0.95), flat colour (neighbouring pixels along the top rows
    differ by < 1% on average) or textured.
    """
    x = images.astype(np.float32) / 255.0
    n = len(x)
    frame = np.concatenate([x[:, :3].reshape(n, -1), x[:, -3:].reshape(n, -1),
                            x[:, :, :3].reshape(n, -1), x[:, :, -3:].reshape(n, -1)], axis=1)
    roughness = np.abs(np.diff(x[:, :3], axis=2)).mean(axis=(1, 2, 3))
    return np.where(frame.mean(axis=1) > 0.95, BACKGROUNDS[0],
                    np.where(roughness < 0.01, BACKGROUNDS[1], BACKGROUNDS[2]))


def ssim_by_background(model, ds, idx: np.ndarray) -> dict[str, tuple[int, float]]:
    """{background class: (faces, mean SSIM)} over ``ds.images[idx]``, classes in :data:`BACKGROUNDS` order."""
    kinds = background_kinds(ds.images[idx])
    return {k: (int((kinds == k).sum()), evaluate_model(model, ds, idx[kinds == k]).ssim)
            for k in BACKGROUNDS if (kinds == k).any()}


def report(name: str, model, ds, train_idx, test_idx, png: Path, steps: int) -> None:
    r = evaluate_model(model, ds, test_idx)
    # The same number on as many training faces: the gap says how much of the error is generalisation.
    seen = evaluate_model(model, ds, train_idx[: len(test_idx)])
    grid = make_grid(decode_latents(model, sample_prior(model.config.latent_dim, 16, seed=0)), cols=8)
    Image.fromarray(grid).save(png)
    print(f"  {name:<22} PSNR {r.psnr:6.2f} dB  SSIM {r.ssim:.3f}  -ELBO {r.nelbo:9.1f} nats/image "
          f"({r.bits_per_dim:.3f} bits/dim)  active units {r.active_units}/{model.config.latent_dim}  "
          f"({steps} steps; load average {os.getloadavg()[0]:.2f})  samples: {png}")
    print(f"  {'':<22} on {len(test_idx)} training faces: SSIM {seen.ssim:.3f}, PSNR {seen.psnr:.2f} dB")
    parts = [f"{k} ({n}) SSIM {ssim:.3f}" for k, (n, ssim) in ssim_by_background(model, ds, test_idx).items()]
    print(f"  {'':<22} held-out by background: " + " · ".join(parts))


def bench(label: str, spec: DataSpec, minutes: float, train: TrainConfig, cfg: ModelConfig, out_dir: Path,
          baseline: bool = True) -> None:
    ds = load_dataset(spec, progress=False)
    train_idx, test_idx = ds.split()
    print(f"{label}: {len(train_idx)} train / {len(test_idx)} held-out faces, {minutes:g} min each")
    with tempfile.TemporaryDirectory() as tmp:
        ours, steps = run_ours(ds, cfg, dataclasses.replace(train, max_minutes=minutes), Path(tmp) / "ours")
        report("vae_core default recipe", ours, ds, train_idx, test_idx, out_dir / f"samples-{label}-ours.png", steps)
    if not baseline:
        return
    base, steps = run_textbook(ModelConfig(), ds, train_idx, minutes * 60)
    report("textbook baseline", base, ds, train_idx, test_idx, out_dir / f"samples-{label}-textbook.png", steps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--data", choices=["real", "synthetic", "both"], default="real",
                   help="real: the issue's run (< 25 min); synthetic: the same report on the synthetic set")
    p.add_argument("--out", default="bench/out")
    p.add_argument("--obs-std", type=float, default=ModelConfig().obs_std, help="our recipe's decoder σ")
    p.add_argument("--res-blocks", type=int, default=0, help="our recipe's residual blocks per stage")
    p.add_argument("--latent-dim", type=int, default=ModelConfig().latent_dim, help="our recipe's z size")
    p.add_argument("--beta", type=float, default=TrainConfig().beta, help="our recipe's KL weight")
    p.add_argument("--lr", type=float, default=TrainConfig().lr, help="our recipe's learning rate")
    p.add_argument("--shift", type=int, default=2, help="our recipe's random translation, pixels")
    p.add_argument("--channels", default="32,64,128,256", help="our recipe's channels per stage")
    p.add_argument("--encoder-width", type=float, default=ModelConfig().encoder_width,
                   help="our recipe's encoder channels as a multiple of --channels")
    p.add_argument("--norm", choices=["batch", "none"], default="batch", help="our recipe's normalisation")
    p.add_argument("--schedule", choices=["constant", "cosine", "wsd"], default="wsd",
                   help="our recipe's lr schedule (cosine and wsd anneal to the end of the budget)")
    p.add_argument("--batch-size", type=int, default=TrainConfig().batch_size, help="our recipe's batch size")
    p.add_argument("--hflip", action="store_true", help="our recipe with random horizontal flips (off by default)")
    p.add_argument("--adam-beta2", type=float, default=TrainConfig().adam_beta2, help="our recipe's Adam β2")
    p.add_argument("--weight-decay", type=float, default=TrainConfig().weight_decay,
                   help="our recipe's AdamW weight decay")
    p.add_argument("--no-baseline", action="store_true", help="train only our recipe (recipe search)")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    train, cfg = recipe(latent_dim=a.latent_dim, channels=tuple(int(c) for c in a.channels.split(",")),
                        encoder_width=a.encoder_width, res_blocks=a.res_blocks, norm=a.norm, obs_std=a.obs_std,
                        lr=a.lr, batch_size=a.batch_size, beta=a.beta, schedule=a.schedule, shift=a.shift,
                        hflip=a.hflip, adam_beta2=a.adam_beta2, weight_decay=a.weight_decay)
    print(f"our recipe: z {cfg.latent_dim}, channels {list(cfg.channels)} (encoder {list(cfg.encoder_channels)}), norm {cfg.norm}, obs_std {cfg.obs_std}, res_blocks "
          f"{cfg.res_blocks}, β {train.beta}, KL warm-up {train.kl_warmup_steps} steps, hflip {'on' if train.hflip else 'off'}, "
          f"shift ±{train.shift} px, lr {train.lr} ({train.lr_schedule}), Adam β2 {train.adam_beta2}, weight decay {train.weight_decay}, batch {train.batch_size}, "
          f"precision {train.precision}")
    if a.data in ("real", "both"):
        if not SAMPLE.is_dir():
            sys.exit(f"{SAMPLE} not found: the real-face benchmark needs ../shared/data/cartoonset-sample-256")
        bench("real", REAL_SPEC, a.minutes, train, cfg, out, not a.no_baseline)
    if a.data in ("synthetic", "both"):
        bench("synthetic", DataSpec(kind="synthetic", size=1500, val_fraction=0.2), a.minutes, train, cfg, out,
              not a.no_baseline)


if __name__ == "__main__":
    main()
