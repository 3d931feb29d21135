"""``python -m vae_core``: download, train, evaluate, beta-sweep, embed, sample, info.

The CLI only parses flags and renders the trainer's event stream with tqdm; all work is in the library.
Errors the user can fix exit with status 2 and one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from .config import DataSpec, ModelConfig, TrainConfig
from .errors import VaeCoreError

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"


# -- argument groups ------------------------------------------------------------------------------
def _add_data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", choices=["synthetic", "cartoonset", "folder"], default=None if not required else "synthetic",
                   help="dataset kind: the embedded SYNTHETIC faces (offline default), a downloaded real Cartoon Set "
                        "folder, or any folder of images")
    g.add_argument("--path", help="folder of the Cartoon Set / image folder")
    g.add_argument("--labels", help="labels CSV for an image folder (first column = file name)")
    g.add_argument("--size", type=int, default=10_000, help="synthetic: number of faces (default %(default)s)")
    g.add_argument("--data-seed", type=int, default=0, help="synthetic: generator seed")
    g.add_argument("--crop", type=float, default=None,
                   help="centred square crop as a fraction of the shorter side (default 0.7 for the real "
                        "Cartoon Set, 1.0 otherwise)")
    g.add_argument("--limit", type=int, default=None, help="use only the first N images")
    g.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction (default 0.1)")


def _data_spec(a: argparse.Namespace, resolution: int) -> DataSpec:
    kind = a.data or "synthetic"
    crop = a.crop if a.crop is not None else (0.7 if kind == "cartoonset" else 1.0)
    return DataSpec(kind=kind, path=str(Path(a.path).resolve()) if a.path else None, resolution=resolution,
                    crop_fraction=crop, size=a.size, seed=a.data_seed,
                    labels_csv=str(Path(a.labels).resolve()) if a.labels else None,
                    limit=a.limit, val_fraction=a.val_fraction)


def _parse_channels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--channels must be comma-separated integers, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _parse_betas(text: str) -> tuple[float, ...]:
    try:
        betas = tuple(float(b) for b in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--betas must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(b) and b >= 0 for b in betas):
        raise argparse.ArgumentTypeError(f"every β must be a finite number >= 0, got {text!r}")
    if len(set(betas)) != len(betas):
        raise argparse.ArgumentTypeError(f"--betas lists a value twice: {text!r}")
    return betas


def _add_scorecard_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("disentanglement scorecard (MIG, DCI, SAP; disentanglement_lib definitions)")
    g.add_argument("--num-train", type=_positive_int, default=10_000,
                   help="images to fit the DCI/SAP classifiers and compute MIG on (default 10000; a smaller "
                        "dataset is split 2:1 and the output says so)")
    g.add_argument("--num-test", type=_positive_int, default=5_000,
                   help="held-out images for DCI/SAP accuracy (default 5000)")
    g.add_argument("--score-seed", type=int, default=0, help="seed of the image draw and the DCI trees")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_core", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("download", help="download and verify the real Cartoon Set (needs internet)")
    d.add_argument("--name", choices=["cartoonset10k", "cartoonset100k"], default="cartoonset10k")
    d.add_argument("--dest", default="data", help="folder to extract into (default ./data)")
    d.add_argument("--url", help="override the archive URL (mirrors, tests)")

    t = sub.add_parser("train", help="train a VAE; writes a checkpoint directory",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_args(t)
    m = t.add_argument_group("model")
    m.add_argument("--resolution", type=int, default=64, choices=[32, 64, 128])
    m.add_argument("--latent-dim", type=int, default=ModelConfig().latent_dim)
    m.add_argument("--channels", type=_parse_channels, default=(32, 64, 128, 256), help="per stage, e.g. 32,64,128,256")
    m.add_argument("--encoder-width", type=float, default=ModelConfig().encoder_width,
                   help="encoder channels = this × --channels (1 mirrors the decoder)")
    m.add_argument("--res-blocks", type=int, default=0)
    m.add_argument("--norm", choices=["batch", "none"], default="batch")
    m.add_argument("--obs-std", type=float, default=0.1, help="std σ of the Gaussian decoder on [0,1] pixels")
    o = t.add_argument_group("optimisation")
    o.add_argument("--epochs", type=int, default=10)
    o.add_argument("--batch-size", type=int, default=64)
    o.add_argument("--lr", type=float, default=2e-3)
    o.add_argument("--weight-decay", type=float, default=TrainConfig().weight_decay,
                   help="AdamW's decoupled weight decay (default %(default)s)")
    o.add_argument("--adam-beta2", type=float, default=TrainConfig().adam_beta2,
                   help="Adam's second-moment decay (default %(default)s)")
    o.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    o.add_argument("--kl-warmup", type=int, default=0, help="steps over which β ramps up from 0")
    o.add_argument("--schedule", choices=["constant", "cosine", "wsd"], default="cosine",
                   help="lr schedule: constant, cosine decay, or wsd (constant, then linear decay over the last 20%%)")
    o.add_argument("--hflip", action="store_true", help="random horizontal flips")
    o.add_argument("--shift", type=int, default=0, help="random translations by up to N pixels (edge-filled)")
    o.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="training arithmetic: bf16 autocast where the hardware has it natively (auto), or fixed")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--max-steps", type=int, default=None)
    o.add_argument("--minutes", type=float, default=None,
                   help="time budget: stop after this many minutes; the cosine/wsd schedule anneals to it")
    o.add_argument("--eval-every", type=int, default=0,
                   help="validate every N epochs (0: every epoch, less often when epochs are very short)")
    o.add_argument("--grid-every", type=int, default=0, help="image grids every N steps (0: at epoch ends)")
    o.add_argument("--checkpoint-every-epoch", action=argparse.BooleanOptionalAction,
                   default=TrainConfig().checkpoint_every_epoch,
                   help="write a resumable checkpoint at every epoch end (off: only the final one; long runs on "
                        "small sets spend less time writing)")
    r = t.add_argument_group("run")
    r.add_argument("--out", default=None, help="checkpoint directory (default runs/<dataset>-<time>)")
    r.add_argument("--resume", action="store_true", help="continue the resumable checkpoint in --out")
    r.add_argument("--init-from", help="start from another checkpoint's weights (fine-tune)")
    r.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    r.add_argument("--log-every", type=int, default=10)
    r.add_argument("--no-train-state", action="store_true",
                   help="final checkpoint without optimizer state (smaller, not resumable)")
    r.add_argument("--threads", type=int, default=None, help="torch intra-op threads")

    e = sub.add_parser("evaluate", help="held-out MSE/PSNR/SSIM, ELBO and KL per dim of a checkpoint")
    e.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    _add_data_args(e)
    e.add_argument("--split", choices=["val", "all"], default="val")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--disentanglement", action="store_true",
                   help="also score MIG, DCI and SAP of the posterior means against the attribute labels, on the "
                        "whole dataset (it describes the representation, as disentanglement_lib does, so --split "
                        "does not apply), and the mean edit fidelity of each attribute slider (judged by an "
                        "attribute classifier); cached in <checkpoint>/analysis/, where the app's Analysis tab "
                        "finds it")
    _add_scorecard_args(e)

    w = sub.add_parser("beta-sweep", help="train short runs at several β; compare reconstruction, rate, distortion "
                                          "and MIG/DCI/SAP in one table",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_data_args(w)
    w.set_defaults(size=2000)
    w.add_argument("--betas", type=_parse_betas, default=(0.5, 1.0, 4.0), help="comma-separated β values")
    w.add_argument("--resolution", type=int, default=32, choices=[32, 64, 128], help="image side in pixels")
    w.add_argument("--latent-dim", type=int, default=10, help="latent size z")
    w.add_argument("--channels", type=_parse_channels, default=(32, 64, 128), help="per stage")
    w.add_argument("--epochs", type=int, default=5, help="epochs per β (short runs: compare, then train for real)")
    w.add_argument("--batch-size", type=int, default=64, help="batch size")
    w.add_argument("--lr", type=float, default=2e-3, help="learning rate")
    w.add_argument("--kl-warmup", type=int, default=0, help="steps over which β ramps up from 0")
    w.add_argument("--seed", type=int, default=0, help="training seed (the same for every β)")
    w.add_argument("--out", default=None, help="folder for one checkpoint per β (default runs/beta-sweep-<time>)")
    w.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    w.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    w.add_argument("--plot", default=None, help="write a PNG: rate-distortion and MIG/DCI/SAP against β")
    w.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_scorecard_args(w)

    b = sub.add_parser("embed", help="encode the checkpoint's dataset and cache a 2-D map (UMAP or PCA)")
    b.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    b.add_argument("--method", choices=["umap", "pca"], default="umap")
    b.add_argument("--n-neighbors", type=int, default=15)
    b.add_argument("--min-dist", type=float, default=0.1)
    b.add_argument("--max-points", type=int, default=5000,
                   help="embed at most this many images (the app maps the default 5000)")
    b.add_argument("--no-sampler", action="store_true",
                   help="do not (re)fit the latent sampler that Random face and `sample` draw from")

    s = sub.add_parser("sample", help="decode random latents into a PNG grid (fitted sampler, or --prior)")
    s.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    s.add_argument("-n", type=int, default=16)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--temperature", type=float, default=1.0,
                   help="spread around the chosen mixture component (0 = its mean); with --prior the std of N(0, I)")
    s.add_argument("--prior", action="store_true",
                   help="draw from the N(0, I) prior instead of the density fitted to the training codes")
    s.add_argument("--cols", type=int, default=8)
    s.add_argument("--out", default="samples.png")

    u = sub.add_parser("publish", help="copy a trained checkpoint for shipping: weights only, optionally float16, "
                                       "with the largest pixel change that storage causes measured and recorded")
    u.add_argument("--checkpoint", required=True, help="the trained checkpoint folder")
    u.add_argument("--out", required=True, help="the folder to write (replaced atomically)")
    u.add_argument("--half", action="store_true", help="store floating weights as float16 (half the size)")

    i = sub.add_parser("info", help="print a checkpoint's metadata")
    i.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    return parser


# -- commands -----------------------------------------------------------------------------------
def cmd_download(a: argparse.Namespace) -> int:
    from .data import download_cartoonset

    path = download_cartoonset(a.name, Path(a.dest), url=a.url)
    print(f"Cartoon Set ready at {path} (Google, CC BY 4.0). Train on it with:\n"
          f"  python -m vae_core train --data cartoonset --path {path}")
    return 0


def _render_events(events, out) -> dict[str, Any] | None:
    """Draw the event stream: a tqdm bar with live losses, one line per epoch."""
    from tqdm import tqdm

    from .training import DoneEvent, ErrorEvent, EvalEvent, StartEvent, StepEvent

    bar = None
    done: dict[str, Any] | None = None
    for ev in events:
        if isinstance(ev, StartEvent):
            out.write(f"training on {ev.dataset}\n  {ev.num_train} train / {ev.num_val} val images, "
                      f"{ev.num_parameters:,} parameters, device {ev.device} ({ev.precision}), {ev.world_size} process(es)\n")
            bar = tqdm(total=ev.total_steps, initial=ev.start_step, unit="step", dynamic_ncols=True, file=out)
        elif isinstance(ev, StepEvent) and bar is not None:
            bar.update(ev.step - bar.n)
            bar.set_postfix(loss=f"{ev.loss:.1f}", mse=f"{ev.mse:.4f}", kl=f"{ev.kl:.1f}", beta=f"{ev.beta:.2f}",
                            ips=f"{ev.images_per_sec:.0f}")
        elif isinstance(ev, EvalEvent):
            msg = (f"epoch {ev.epoch} (step {ev.step}): train -ELBO {ev.train_nelbo:.1f} | val -ELBO {ev.val_nelbo:.1f} nats/image "
                   f"({ev.val_bits_per_dim:.3f} bits/dim), val MSE {ev.val_mse:.5f}, val SSIM {ev.val_ssim:.3f}, "
                   f"val KL {ev.val_kl:.1f} nats")
            (bar.write(msg, file=out) if bar is not None else out.write(msg + "\n"))
        elif isinstance(ev, ErrorEvent):
            if bar is not None:
                bar.close()
            raise VaeCoreError(ev.message)
        elif isinstance(ev, DoneEvent):
            if bar is not None:
                bar.update(ev.step - bar.n)
                bar.close()
            done = {"path": ev.path, "cancelled": ev.cancelled, "seconds": ev.seconds, **ev.metrics}
    return done


def train_configs(a: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """The configs a ``train`` command line asks for: separate from the run so that a checkpoint's recorded
    command can be checked against the configs it recorded (tests/test_default_checkpoint.py)."""
    model_cfg = ModelConfig(resolution=a.resolution, latent_dim=a.latent_dim, channels=a.channels,
                            encoder_width=a.encoder_width, res_blocks=a.res_blocks, norm=a.norm, obs_std=a.obs_std)
    train_cfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay,
                            adam_beta2=a.adam_beta2, beta=a.beta, kl_warmup_steps=a.kl_warmup, lr_schedule=a.schedule,
                            hflip=a.hflip, shift=a.shift, seed=a.seed, max_steps=a.max_steps, grid_every=a.grid_every,
                            precision=a.precision, max_minutes=a.minutes, eval_every=a.eval_every,
                            checkpoint_every_epoch=a.checkpoint_every_epoch)
    return model_cfg, train_cfg


def cmd_train(a: argparse.Namespace) -> int:
    import time

    import torch

    from .data import load_dataset
    from .training import Trainer, resolve_device

    resolve_device(a.device)  # fail on a missing GPU before spending time on data
    if a.threads:
        torch.set_num_threads(a.threads)
    model_cfg, train_cfg = train_configs(a)
    spec = _data_spec(a, a.resolution)
    out = Path(a.out) if a.out else Path("runs") / f"{spec.kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    if a.resume and not out.is_dir():
        raise VaeCoreError(f"--resume needs an existing checkpoint directory in --out, {out} does not exist")
    if spec.is_synthetic:
        print(f"dataset: {spec.describe()}", file=sys.stderr)
    dataset = load_dataset(spec)
    trainer = Trainer(dataset, model_cfg, train_cfg, out, device=a.device, resume=a.resume, init_from=a.init_from,
                      log_every=a.log_every, keep_training_state=not a.no_train_state)
    import os

    rank0 = int(os.environ.get("RANK", "0")) == 0
    stream = sys.stderr if rank0 else open(os.devnull, "w")
    try:
        done = _render_events(trainer.run(), stream)
    except KeyboardInterrupt:
        trainer.cancel()
        raise
    if rank0 and done:
        print(json.dumps({k: v for k, v in done.items() if k != "kl_per_dim"}, indent=2))
    return 0


def _load(a: argparse.Namespace):
    from .checkpoint import load_checkpoint

    return load_checkpoint(a.checkpoint)


def cmd_evaluate(a: argparse.Namespace) -> int:
    import numpy as np

    from .data import load_dataset
    from .metrics import evaluate_model

    ck = _load(a)
    spec = _data_spec(a, ck.meta.model.resolution) if a.data else ck.meta.data
    dataset = load_dataset(spec)
    _, val = dataset.split()
    idx = val if a.split == "val" and len(val) else np.arange(len(dataset))
    report = evaluate_model(ck.model, dataset, idx).to_dict()
    report["dataset"] = spec.describe()
    report["split"] = a.split
    if not a.json:
        print(f"checkpoint {a.checkpoint}\ndataset    {report['dataset']} ({a.split} split, {report['n']} images)")
        for k in ("mse", "psnr", "ssim", "recon_nll", "kl", "nelbo", "bits_per_dim", "active_units"):
            if k in report:
                v = report[k]
                print(f"  {k:<13} {v:.5g}" if isinstance(v, float) else f"  {k:<13} {v}")
    if a.disentanglement:
        # The scorecard plus the attribute sliders' edit fidelity, cached in <checkpoint>/analysis/ (the app's
        # Analysis tab reads the same file): a second run, or the app, loads it instead of recomputing.
        from .analysis import AnalysisConfig, load_or_compute_analysis
        from .explorer import Explorer

        analysis = load_or_compute_analysis(
            Explorer(ck), dataset, AnalysisConfig(n_train=a.num_train, n_test=a.num_test, seed=a.score_seed),
            progress=lambda msg: print(f"analysis: {msg}", file=sys.stderr))
        if a.json:
            report["disentanglement"] = analysis.scorecard.to_dict()
            report["edit_fidelity"] = analysis.fidelity.to_dict()
            report["attribute_classifier"] = analysis.classifier.to_dict()
        else:
            print(f"\ndisentanglement of the posterior means ({a.checkpoint}, all of {len(dataset)} images)\n")
            print(analysis.format_table())
    if a.json:
        print(json.dumps(report, indent=2))
    return 0


def cmd_beta_sweep(a: argparse.Namespace) -> int:
    """Train one short run per β with the same data, model and seed, then measure each (see vae_core.sweep)."""
    import time

    import torch

    from .checkpoint import load_checkpoint
    from .data import load_dataset
    from .sweep import format_sweep_table, measure_point, plot_sweep_png
    from .training import Trainer, resolve_device

    resolve_device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    model_cfg = ModelConfig(resolution=a.resolution, latent_dim=a.latent_dim, channels=a.channels)
    configs = [TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, beta=b, kl_warmup_steps=a.kl_warmup,
                           seed=a.seed) for b in a.betas]  # validate every β before training any
    spec = _data_spec(a, a.resolution)
    dataset = load_dataset(spec)
    if dataset.labels is None:
        raise VaeCoreError(f"{spec.describe()} has no attribute labels, so disentanglement cannot be scored; use the "
                           "synthetic set, the Cartoon Set, or --labels with a CSV")
    root = Path(a.out) if a.out else Path("runs") / f"beta-sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"dataset: {spec.describe()}\nβ sweep {', '.join(f'{b:g}' for b in a.betas)} into {root}", file=sys.stderr)
    points = []
    for cfg in configs:
        print(f"\n-- β = {cfg.beta:g} --", file=sys.stderr)
        trainer = Trainer(dataset, model_cfg, cfg, root / f"beta-{cfg.beta:g}", device=a.device,
                          log_every=10, keep_training_state=False)
        try:
            done = _render_events(trainer.run(), sys.stderr)
        except KeyboardInterrupt:
            trainer.cancel()
            raise
        if not done:
            raise VaeCoreError(f"training at β = {cfg.beta:g} ended without a checkpoint")
        ck = load_checkpoint(done["path"])
        points.append(measure_point(ck.model, dataset, cfg.beta, done["path"], n_train=a.num_train,
                                    n_test=a.num_test, seed=a.score_seed))
    if a.plot:
        plot_sweep_png(points, a.plot)
        print(f"wrote {a.plot}", file=sys.stderr)
    if a.json:
        print(json.dumps({"dataset": spec.describe(), "out": str(root), "points": [p.to_dict() for p in points]},
                         indent=2))
    else:
        card = points[0].scorecard
        print(f"dataset {spec.describe()}\nreconstruction, rate and distortion on the {points[0].report.n} held-out "
              f"images; rate = KL, distortion = reconstruction NLL, both nats/image; MIG/DCI/SAP on "
              f"{card.n_train} train / {card.n_test} test images\n")
        print(format_sweep_table(points))
    return 0


def cmd_embed(a: argparse.Namespace) -> int:
    from .explorer import Explorer

    ex = Explorer.open(a.checkpoint, max_points=a.max_points)
    data = ex.map(method=a.method, n_neighbors=a.n_neighbors, min_dist=a.min_dist)
    print(f"{len(data.coords)} points mapped with {a.method} ({data.bundle.dataset_label}); "
          f"cached under {Path(a.checkpoint) / 'projections'}")
    if not a.no_sampler:
        sampler = ex.fit_sampler()
        chosen = sampler.info["chosen"]
        print(f"latent sampler: {sampler.describe()} fitted to {sampler.info['n_final']} training codes, chosen "
              f"among {len(sampler.info['candidates'])} candidates by held-out log-likelihood "
              f"({chosen['heldout_loglik']:.1f} nats/code for {chosen['components']} {chosen['covariance_type']}, "
              f"variance floor {chosen['variance_floor']})")
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    from PIL import Image

    from .explorer import Explorer
    from .latent import decode_latents
    from .training import make_grid

    if a.n < 1 or a.cols < 1:
        raise VaeCoreError("-n and --cols must be >= 1")
    if not (math.isfinite(a.temperature) and a.temperature >= 0):
        raise VaeCoreError(f"--temperature must be a finite number >= 0, got {a.temperature}")
    ex = Explorer(_load(a))
    source = "the N(0, I) prior" if a.prior or ex.sampler is None else f"the fitted {ex.sampler.describe()}"
    if not a.prior and ex.sampler is None:
        print("this checkpoint has no fitted sampler (fit one with `python -m vae_core embed`); "
              "sampling the prior", file=sys.stderr)
    z = ex.sample(a.n, seed=a.seed, temperature=a.temperature, prior=a.prior)
    grid = make_grid(decode_latents(ex.model, z), cols=a.cols)
    Image.fromarray(grid).save(a.out)
    print(f"wrote {a.n} samples from {source} (temperature {a.temperature:g}) to {a.out}")
    return 0


def cmd_publish(a: argparse.Namespace) -> int:
    """Weights (optionally float16) and metadata only; the caches are made afresh for the new file (embed,
    evaluate --disentanglement), since they are keyed by the weights' hash."""
    import dataclasses

    import numpy as np
    import torch

    from .checkpoint import load_checkpoint, save_checkpoint
    from .data import load_dataset
    from .errors import DatasetError
    from .latent import decode_latents, encode_images, sample_prior

    src = load_checkpoint(a.checkpoint)
    out = Path(a.out)
    if out.resolve() == Path(a.checkpoint).resolve():
        raise VaeCoreError("--out must be another folder than --checkpoint")
    dtype = torch.float16 if a.half else torch.float32
    meta = dataclasses.replace(src.meta, weights_sha256="", created="",
                               extra={**src.meta.extra, "weights_dtype": str(dtype).removeprefix("torch."),
                                      "published_from": Path(a.checkpoint).name})
    save_checkpoint(out, src.model, meta, weights_dtype=dtype)
    shipped = load_checkpoint(out)
    # The largest change the storage makes to what a user sees: decoded faces, as 0–255 pixel values.
    z = sample_prior(src.meta.model.latent_dim, 64, seed=0)
    try:
        ds = load_dataset(src.meta.data, progress=False)
        _, val = ds.split()
        idx = np.sort(val if len(val) else np.arange(min(len(ds), 64)))
        z = np.concatenate([z, encode_images(src.model, ds.images[idx])[0]])
        what = f"64 prior samples and {len(idx)} held-out reconstructions"
    except DatasetError:
        what = "64 prior samples (the dataset is not here)"
    before, after = decode_latents(src.model, z), decode_latents(shipped.model, z)
    diff = int(np.abs(before.astype(np.int16) - after.astype(np.int16)).max())
    meta = dataclasses.replace(meta, extra={**meta.extra, "storage_max_pixel_difference": diff, "storage_check": what})
    save_checkpoint(out, shipped.model, meta, weights_dtype=dtype)  # the same weights again, now with the figure
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"published {out} ({size / 1e6:.1f} MB, weights {meta.extra['weights_dtype']}): largest pixel "
          f"difference from the source over {what}: {diff} of 255")
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from .checkpoint import read_meta

    print(json.dumps(read_meta(a.checkpoint).to_dict(), indent=2))
    return 0


COMMANDS = {"download": cmd_download, "train": cmd_train, "evaluate": cmd_evaluate, "beta-sweep": cmd_beta_sweep,
            "embed": cmd_embed, "sample": cmd_sample, "publish": cmd_publish, "info": cmd_info}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[a.command](a)
    except VaeCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
