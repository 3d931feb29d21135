"""``python -m vae_core``: download, train, evaluate, beta-sweep, embed, sample, publish, info, export-decoder, export-web,
fetch-web-runtime, direction.

The CLI only parses flags and renders the trainer's event stream with tqdm; all work is in the library.
The training flags and their defaults come from the config dataclasses (:mod:`vae_core.cli_flags`).
Errors the user can fix exit with status 2 and one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from .cli_flags import add_config_flags, config_kwargs
from .config import DataSpec, ModelConfig, TrainConfig
from .errors import VaeCoreError

if TYPE_CHECKING:
    from .training import TrainEvent

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"

#: The fields a β sweep varies besides β; the rest of its runs keep the recipe's defaults.
SWEEP_MODEL_FIELDS = ("resolution", "latent_dim", "channels")
SWEEP_TRAIN_FIELDS = ("epochs", "batch_size", "lr", "kl_warmup_steps", "seed")


# -- argument groups ------------------------------------------------------------------------------
class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except where there is none or the help already says what it is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser.add_argument_group("data"), DataSpec)


def data_spec(args: argparse.Namespace, resolution: int) -> DataSpec:
    """The dataset a command line asks for, at the model's resolution."""
    fields = config_kwargs(args, DataSpec)
    for name in ("path", "labels_csv"):  # recorded absolute, so the checkpoint finds its data from anywhere
        if fields[name]:
            fields[name] = str(Path(fields[name]).resolve())
    if fields.get("extra_paths"):
        fields["extra_paths"] = tuple(str(Path(p).resolve()) for p in fields["extra_paths"])
    return DataSpec(**fields, resolution=resolution)


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


def _add_scorecard_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("disentanglement scorecard (MIG, DCI, SAP; disentanglement_lib definitions)")
    from .analysis.disentanglement import DEFAULT_NUM_TEST, DEFAULT_NUM_TRAIN, DEFAULT_SCORE_SEED

    group.add_argument("--num-train", type=_positive_int, default=DEFAULT_NUM_TRAIN,
                       help="images to fit the DCI/SAP classifiers and compute MIG on (default %(default)s; a "
                            "smaller dataset is split 2:1 and the output says so)")
    group.add_argument("--num-test", type=_positive_int, default=DEFAULT_NUM_TEST,
                       help="held-out images for DCI/SAP accuracy (default %(default)s)")
    group.add_argument("--score-seed", type=int, default=DEFAULT_SCORE_SEED,
                       help="seed of the image draw and the DCI trees (default %(default)s)")


def _add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")


def _add_download(sub: argparse._SubParsersAction) -> None:
    download = sub.add_parser("download", help="download and verify the real Cartoon Set (needs internet)")
    download.set_defaults(run=cmd_download)
    download.add_argument("--name", choices=["cartoonset10k", "cartoonset100k"], default="cartoonset10k")
    download.add_argument("--dest", default="data", help="folder to extract into (default ./data)")
    download.add_argument("--url", help="override the archive URL (mirrors, tests)")


def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a VAE with the tuned recipe; writes a checkpoint directory",
                           formatter_class=_DefaultsHelpFormatter)
    train.set_defaults(run=cmd_train)
    _add_data_args(train)
    add_config_flags(train.add_argument_group("model"), ModelConfig)
    add_config_flags(train.add_argument_group("optimisation"), TrainConfig)
    run = train.add_argument_group("run")
    run.add_argument("--out", default=None, help="checkpoint directory (default runs/<dataset>-<time>)")
    run.add_argument("--resume", action="store_true", help="continue the resumable checkpoint in --out")
    run.add_argument("--init-from", help="start from another checkpoint's weights (fine-tune)")
    _add_device_args(run)
    run.add_argument("--log-every", type=int, default=10, help="report the losses every N steps")
    run.add_argument("--no-train-state", action="store_true",
                     help="final checkpoint without optimizer state (smaller, not resumable)")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("evaluate", help="held-out MSE/PSNR/SSIM, ELBO and KL per dim of a checkpoint")
    evaluate.set_defaults(run=cmd_evaluate)
    evaluate.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    _add_data_args(evaluate)
    evaluate.set_defaults(data=None)  # no --data: the checkpoint's own dataset
    evaluate.add_argument("--split", choices=["val", "all"], default="val")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.add_argument(
        "--disentanglement", action="store_true",
        help="also score MIG, DCI and SAP of the posterior means against the attribute labels, on the whole dataset "
             "(it describes the representation, as disentanglement_lib does, so --split does not apply), and the "
             "mean edit fidelity of each attribute slider (judged by an attribute classifier); cached in "
             "<checkpoint>/analysis/, where the app's Analysis tab finds it")
    from .direction_kinds import DEFAULT_DIRECTIONS, DIRECTION_KINDS

    evaluate.add_argument("--directions", choices=DIRECTION_KINDS, default=DEFAULT_DIRECTIONS,
                          help="with --disentanglement: the attribute directions whose slider edits are scored "
                               "(default %(default)s, the sliders'; docs/latent-space.md compares them)")
    _add_scorecard_args(evaluate)


def _add_beta_sweep(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser("beta-sweep", help="train short runs at several β; compare reconstruction, rate, "
                                              "distortion and MIG/DCI/SAP in one table",
                           formatter_class=_DefaultsHelpFormatter)
    sweep.set_defaults(run=cmd_beta_sweep)
    _add_data_args(sweep)
    sweep.add_argument("--betas", type=_parse_betas, default=(0.5, 1.0, 4.0), help="comma-separated β values")
    add_config_flags(sweep, ModelConfig, SWEEP_MODEL_FIELDS)
    add_config_flags(sweep, TrainConfig, SWEEP_TRAIN_FIELDS)
    # Short runs that compare β, then train for real: a small model, and no KL warm-up (it would last most of
    # a run this short).
    sweep.set_defaults(size=2000, resolution=32, latent_dim=10, channels=(32, 64, 128), epochs=5, kl_warmup=0)
    sweep.add_argument("--out", default=None, help="folder for one checkpoint per β (default runs/beta-sweep-<time>)")
    _add_device_args(sweep)
    sweep.add_argument("--plot", default=None, help="write a PNG: rate-distortion and MIG/DCI/SAP against β")
    sweep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_scorecard_args(sweep)


def _add_embed(sub: argparse._SubParsersAction) -> None:
    embed = sub.add_parser("embed", help="encode the checkpoint's dataset and cache a 2-D map (UMAP or PCA)")
    embed.set_defaults(run=cmd_embed)
    embed.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    embed.add_argument("--method", choices=["umap", "pca"], default="umap")
    from .projection import DEFAULT_MAX_POINTS, UMAP_MIN_DIST, UMAP_NEIGHBORS

    embed.add_argument("--n-neighbors", type=int, default=UMAP_NEIGHBORS, help="UMAP neighbours (default %(default)s)")
    embed.add_argument("--min-dist", type=float, default=UMAP_MIN_DIST, help="UMAP min_dist (default %(default)s)")
    embed.add_argument("--max-points", type=int, default=DEFAULT_MAX_POINTS,
                       help="embed at most this many images (the app maps the default %(default)s)")
    embed.add_argument("--no-sampler", action="store_true",
                       help="do not (re)fit the latent sampler that Random face and `sample` draw from")


def _add_sample(sub: argparse._SubParsersAction) -> None:
    sample = sub.add_parser("sample", help="decode random latents into a PNG grid (fitted sampler, or --prior)")
    sample.set_defaults(run=cmd_sample)
    sample.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    sample.add_argument("-n", "--count", type=int, default=16, help="number of faces")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="spread around the chosen mixture component (0 = its mean); with --prior the std of "
                             "N(0, I)")
    sample.add_argument("--prior", action="store_true",
                        help="draw from the N(0, I) prior instead of the density fitted to the training codes")
    sample.add_argument("--cols", type=int, default=8)
    sample.add_argument("--out", default="samples.png")


def _add_publish(sub: argparse._SubParsersAction) -> None:
    publish = sub.add_parser("publish", help="copy a trained checkpoint for shipping: weights only, optionally "
                                             "float16, with the largest pixel change that storage causes measured "
                                             "and recorded")
    publish.set_defaults(run=cmd_publish)
    publish.add_argument("--checkpoint", required=True, help="the trained checkpoint folder")
    publish.add_argument("--out", required=True, help="the folder to write (replaced atomically)")
    publish.add_argument("--half", action="store_true", help="store floating weights as float16 (half the size)")


def _add_info(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="print a checkpoint's metadata")
    info.set_defaults(run=cmd_info)
    info.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))


def _add_export_decoder(sub: argparse._SubParsersAction) -> None:
    dec = sub.add_parser("export-decoder", help="write a checkpoint's decoder as ONNX (<checkpoint>/web/, keyed by the "
                                                "weights) for in-browser decoding; compare it with torch")
    dec.set_defaults(run=cmd_export_decoder)
    dec.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    dec.add_argument("--force", action="store_true", help="export again even if a sound file for these weights exists")


def _add_export_web(sub: argparse._SubParsersAction) -> None:
    web = sub.add_parser("export-web", help="write the explorer as a static folder (page, decoder.onnx, runtime) that "
                                            "any static host serves; faces are decoded in the visitor's browser")
    web.set_defaults(run=cmd_export_web)
    web.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    web.add_argument("--out", required=True,
                     help="the folder to write (replaced whole; an existing one must be empty or a previous export)")
    web.add_argument("--title", default=None, help="the page's title")
    web.add_argument("--offline", action="store_true",
                     help="do not download onnxruntime-web: use only the copy already fetched")


def _add_fetch_web_runtime(sub: argparse._SubParsersAction) -> None:
    fetch = sub.add_parser("fetch-web-runtime", help="fetch onnxruntime-web (the page's decoder runtime) from npm at "
                                                     "the version and integrity package-lock.json pins")
    fetch.set_defaults(run=cmd_fetch_web_runtime)
    fetch.add_argument("--dest", default=None,
                       help="folder to keep it in (default $CVAE_WEB_RUNTIME or .cache/web-runtime)")


def _add_direction(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("direction", help="save a direction made from example faces (mean code of the faces minus the "
                                         "rest's) into a checkpoint folder, where the app offers it as a slider")
    d.set_defaults(run=cmd_direction)
    d.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    d.add_argument("--name", required=True, help='what the faces share, e.g. "beard" (the slider\'s name)')
    d.add_argument("--faces", required=True,
                   help="comma-separated face numbers of the checkpoint's map (the Latent map's hover shows them)")


def build_parser() -> argparse.ArgumentParser:
    # usage lines name the command as it was typed: the installed `cartoon-vae` script or the module
    prog = "cartoon-vae" if Path(sys.argv[0]).name == "cartoon-vae" else "python -m vae_core"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_download, _add_train, _add_evaluate, _add_beta_sweep, _add_embed, _add_sample, _add_publish,
                _add_info, _add_export_decoder, _add_export_web, _add_fetch_web_runtime, _add_direction):
        add(sub)
    return parser


def subcommands(parser: argparse.ArgumentParser | None = None) -> list[str]:
    """The subcommands' names, read from the parser (the README's CLI table is checked against them)."""
    parser = parser or build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


# -- commands -----------------------------------------------------------------------------------
def cmd_download(args: argparse.Namespace) -> int:
    from .data import download_cartoonset

    path = download_cartoonset(args.name, Path(args.dest), url=args.url)
    print(f"Cartoon Set ready at {path} (Google, CC BY 4.0). Train on it with:\n"
          f"  python -m vae_core train --data cartoonset --path {path}")
    return 0


def render_events(events: Iterable[TrainEvent], out: TextIO) -> dict[str, Any] | None:
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


def train_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """The configs a ``train`` command line asks for: separate from the run so that a checkpoint's recorded
    command can be checked against the configs it recorded (tests/test_default_checkpoint.py)."""
    return ModelConfig(**config_kwargs(args, ModelConfig)), TrainConfig(**config_kwargs(args, TrainConfig))


def cmd_train(args: argparse.Namespace) -> int:
    import time

    import torch

    from .data import load_dataset
    from .training import Trainer, resolve_device

    resolve_device(args.device)  # fail on a missing GPU before spending time on data
    if args.threads:
        torch.set_num_threads(args.threads)
    model_cfg, train_cfg = train_configs(args)
    spec = data_spec(args, args.resolution)
    out = Path(args.out) if args.out else Path("runs") / f"{spec.kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.resume and not out.is_dir():
        raise VaeCoreError(f"--resume needs an existing checkpoint directory in --out, {out} does not exist")
    if spec.is_synthetic:
        print(f"dataset: {spec.describe()}", file=sys.stderr)
    dataset = load_dataset(spec)
    trainer = Trainer(dataset, model_cfg, train_cfg, out, device=args.device, resume=args.resume, init_from=args.init_from,
                      log_every=args.log_every, keep_training_state=not args.no_train_state)
    import os

    rank0 = int(os.environ.get("RANK", "0")) == 0
    stream = sys.stderr if rank0 else open(os.devnull, "w")
    try:
        done = render_events(trainer.run(), stream)
    except KeyboardInterrupt:
        trainer.cancel()
        raise
    if rank0 and done:
        print(json.dumps({k: v for k, v in done.items() if k != "kl_per_dim"}, indent=2))
    return 0


def _load(args: argparse.Namespace):
    from .model import load_checkpoint

    return load_checkpoint(args.checkpoint)


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .data import load_dataset
    from .metrics import evaluate_model

    ck = _load(args)
    spec = data_spec(args, ck.meta.model.resolution) if args.data else ck.meta.data
    dataset = load_dataset(spec)
    _, val = dataset.split()
    idx = val if args.split == "val" and len(val) else np.arange(len(dataset))
    report = evaluate_model(ck.model, dataset, idx).to_dict()
    report["dataset"] = spec.describe()
    report["split"] = args.split
    if not args.json:
        print(f"checkpoint {args.checkpoint}\ndataset    {report['dataset']} ({args.split} split, {report['n']} images)")
        for k in ("mse", "psnr", "ssim", "recon_nll", "kl", "nelbo", "bits_per_dim", "active_units"):
            if k in report:
                v = report[k]
                print(f"  {k:<13} {v:.5g}" if isinstance(v, float) else f"  {k:<13} {v}")
    if args.disentanglement:
        # The scorecard plus the attribute sliders' edit fidelity, cached in <checkpoint>/analysis/ (the app's
        # Analysis tab reads the same file): a second run, or the app, loads it instead of recomputing.
        from .analysis.report import AnalysisConfig, load_or_compute_analysis
        from .explorer import Explorer

        analysis = load_or_compute_analysis(
            Explorer(ck), dataset, AnalysisConfig(n_train=args.num_train, n_test=args.num_test, seed=args.score_seed,
                                                  directions=args.directions),
            progress=lambda msg: print(f"analysis: {msg}", file=sys.stderr))
        if args.json:
            report["disentanglement"] = analysis.scorecard.to_dict()
            report["edit_fidelity"] = analysis.fidelity.to_dict()
            report["attribute_classifier"] = analysis.classifier.to_dict()
        else:
            print(f"\ndisentanglement of the posterior means ({args.checkpoint}, all of {len(dataset)} images)\n")
            print(analysis.format_table())
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def cmd_beta_sweep(args: argparse.Namespace) -> int:
    """Train one short run per β with the same data, model and seed, then measure each (vae_core.analysis.sweep)."""
    import time

    import torch

    from .model import load_checkpoint
    from .data import load_dataset
    from .analysis.sweep import format_sweep_table, measure_point, plot_sweep_png
    from .training import Trainer, resolve_device

    resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    model_cfg = ModelConfig(**config_kwargs(args, ModelConfig, SWEEP_MODEL_FIELDS))
    recipe = config_kwargs(args, TrainConfig, SWEEP_TRAIN_FIELDS)
    configs = [TrainConfig(**recipe, beta=b) for b in args.betas]  # validate every β before training any
    spec = data_spec(args, args.resolution)
    dataset = load_dataset(spec)
    if dataset.labels is None:
        raise VaeCoreError(f"{spec.describe()} has no attribute labels, so disentanglement cannot be scored; use the "
                           "synthetic set, the Cartoon Set, or --labels with a CSV")
    root = Path(args.out) if args.out else Path("runs") / f"beta-sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"dataset: {spec.describe()}\nβ sweep {', '.join(f'{b:g}' for b in args.betas)} into {root}", file=sys.stderr)
    points = []
    for cfg in configs:
        print(f"\n-- β = {cfg.beta:g} --", file=sys.stderr)
        trainer = Trainer(dataset, model_cfg, cfg, root / f"beta-{cfg.beta:g}", device=args.device,
                          log_every=10, keep_training_state=False)
        try:
            done = render_events(trainer.run(), sys.stderr)
        except KeyboardInterrupt:
            trainer.cancel()
            raise
        if not done:
            raise VaeCoreError(f"training at β = {cfg.beta:g} ended without a checkpoint")
        ck = load_checkpoint(done["path"])
        points.append(measure_point(ck.model, dataset, cfg.beta, done["path"], n_train=args.num_train,
                                    n_test=args.num_test, seed=args.score_seed))
    if args.plot:
        plot_sweep_png(points, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        print(json.dumps({"dataset": spec.describe(), "out": str(root), "points": [p.to_dict() for p in points]},
                         indent=2))
    else:
        card = points[0].scorecard
        print(f"dataset {spec.describe()}\nreconstruction, rate and distortion on the {points[0].report.n} held-out "
              f"images; rate = KL, distortion = reconstruction NLL, both nats/image; MIG/DCI/SAP on "
              f"{card.n_train} train / {card.n_test} test images\n")
        print(format_sweep_table(points))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from .explorer import Explorer

    ex = Explorer.open(args.checkpoint, max_points=args.max_points)
    data = ex.map(method=args.method, n_neighbors=args.n_neighbors, min_dist=args.min_dist)
    print(f"{len(data.coords)} points mapped with {args.method} ({data.bundle.dataset_label}); "
          f"cached under {Path(args.checkpoint) / 'projections'}")
    if not args.no_sampler:
        sampler = ex.fit_sampler()
        others = sampler.info.get("other_families", {})
        print(f"latent sampler: {sampler.describe()}, fitted to {sampler.info['n_final']} training codes and chosen "
              f"by held-out log-likelihood: {sampler.info['chosen']['heldout_loglik']:.1f} nats/code"
              + "".join(f"; {name}: {o['chosen']['heldout_loglik']:.1f}" for name, o in others.items()))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from PIL import Image

    from .explorer import Explorer
    from .grid import make_grid
    from .latent import decode_latents

    if args.count < 1 or args.cols < 1:
        raise VaeCoreError("--count (-n) and --cols must be >= 1")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise VaeCoreError(f"--temperature must be a finite number >= 0, got {args.temperature}")
    ex = Explorer(_load(args))
    source = "the N(0, I) prior" if args.prior or ex.sampler is None else f"the fitted {ex.sampler.describe()}"
    if not args.prior and ex.sampler is None:
        print("this checkpoint has no fitted sampler (fit one with `python -m vae_core embed`); "
              "sampling the prior", file=sys.stderr)
    z = ex.sample(args.count, seed=args.seed, temperature=args.temperature, prior=args.prior)
    grid = make_grid(decode_latents(ex.model, z), cols=args.cols)
    Image.fromarray(grid).save(args.out)
    print(f"wrote {args.count} samples from {source} (temperature {args.temperature:g}) to {args.out}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Weights (optionally float16) and metadata only; the caches are made afresh for the new file (embed,
    evaluate --disentanglement), since they are keyed by the weights' hash."""
    import dataclasses

    import numpy as np
    import torch

    from .checkpoint import save_checkpoint
    from .model import load_checkpoint
    from .data import load_dataset
    from .errors import DatasetError
    from .latent import decode_latents, encode_images
    from .sampling import sample_prior
    from .web.decoder_export import ensure_decoder

    src = load_checkpoint(args.checkpoint)
    out = Path(args.out)
    if out.resolve() == Path(args.checkpoint).resolve():
        raise VaeCoreError("--out must be another folder than --checkpoint")
    dtype = torch.float16 if args.half else torch.float32
    meta = dataclasses.replace(src.meta, weights_sha256="", created="",
                               extra={**src.meta.extra, "weights_dtype": str(dtype).removeprefix("torch."),
                                      "published_from": Path(args.checkpoint).name})
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
    decoder = ensure_decoder(out)  # from the stored (up-cast) weights: the page decodes what the server decodes
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"published {out} ({size / 1e6:.1f} MB, weights {meta.extra['weights_dtype']}, ONNX decoder "
          f"{decoder.relative_to(out)}): largest pixel difference from the source over {what}: {diff} of 255")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .checkpoint import read_meta

    print(json.dumps(read_meta(args.checkpoint).to_dict(), indent=2))
    return 0


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None if there is none: an atomic rewrite changes both."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def cmd_export_decoder(args: argparse.Namespace) -> int:
    import time

    from .model import load_checkpoint
    from .sampling import sample_prior
    from .web.decoder_export import compare_with_torch, decoder_path, ensure_decoder

    started = time.perf_counter()
    ck = load_checkpoint(args.checkpoint)
    before = _file_identity(decoder_path(ck.path, ck.fingerprint))
    path = ensure_decoder(ck.path, force=args.force)
    seconds = time.perf_counter() - started
    existed = before is not None and before == _file_identity(path)
    agree = compare_with_torch(path, ck.model, sample_prior(ck.meta.model.latent_dim, 64, seed=0))
    print(f"{'kept' if existed else 'wrote'} {path} ({path.stat().st_size / 1e6:.1f} MB, {seconds:.1f} s); largest "
          f"difference from torch over {agree.count} random latents: {agree.max_abs:.2g} "
          f"({agree.max_levels} of 255 levels), run by {agree.runtime}")
    return 0


def cmd_export_web(args: argparse.Namespace) -> int:
    from .web.static_site import export_web

    manifest = export_web(args.checkpoint, args.out, title=args.title, download=not args.offline)
    print(f"wrote {args.out}: the explorer of model {manifest.model_id}, {len(manifest.files) + 1} files, "
          f"{manifest.total_bytes / 1e6:.1f} MB; serve it with any static host, e.g. "
          f"python -m http.server --directory {args.out}")
    return 0


def cmd_direction(args: argparse.Namespace) -> int:
    from . import directions as dirs
    from .explorer import Explorer

    try:
        faces = [int(t) for t in args.faces.replace(" ", "").split(",") if t]
    except ValueError:
        raise dirs.DirectionError(f"--faces takes comma-separated face numbers, got {args.faces!r}") from None
    explorer = Explorer.open(args.checkpoint)
    direction = dirs.direction_from_examples(explorer.embedding().mu, faces, args.name, explorer.model_id)
    path = dirs.save_to_checkpoint(explorer.path, direction, explorer.latent_dim)
    print(f"saved {direction.name!r} ({direction.n_selected} faces against {direction.n_rest}) to {path}; "
          f"check: {direction.check.sentence() if direction.check else 'none'}")
    return 0


def cmd_fetch_web_runtime(args: argparse.Namespace) -> int:
    import time

    from .web.ort_runtime import RUNTIME_FILES, ensure_runtime, read_pin

    started = time.perf_counter()
    path = ensure_runtime(args.dest)
    size = sum((path / name).stat().st_size for name in RUNTIME_FILES)
    print(f"onnxruntime-web {read_pin().version} ready at {path} ({len(RUNTIME_FILES)} files, {size / 1e6:.1f} MB, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except VaeCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
