"""Train tab logic without a browser: form validation (allowed data roots), the reproducible command,
the event → RunLog bookkeeping and its rendering (ui.train.form, ui.train.runner, ui.train.view)."""

from __future__ import annotations

import shlex

import numpy as np
import pytest

from ui.common.errors import UserInputError
from ui.common.settings import AppSettings
from ui.train import form as train_form
from ui.train import view as train_view
from ui.train.runner import RunLog, TrainingRunner
from ui.train.worker import TrainRequest
from vae_core.cli import build_parser, data_spec, train_configs
from vae_core.config import DataSpec, TrainConfig
from vae_core.errors import ConfigError
from vae_core.training import CheckpointEvent, DoneEvent, EvalEvent, ImagesEvent, StartEvent, StepEvent


@pytest.fixture()
def settings(tmp_path) -> AppSettings:
    (tmp_path / "data" / "faces" / "nested").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 100, 50)).save(tmp_path / "data" / "faces" / "1.png")
    (tmp_path / "secret").mkdir()
    (tmp_path / "data" / "escape").symlink_to(tmp_path / "secret")
    return AppSettings.from_env({"CVAE_DATA_ROOTS": str(tmp_path / "data"), "CVAE_RUNS_DIR": str(tmp_path / "runs")},
                                repo_root=tmp_path)


def form(**kw):
    base = dict(kind="synthetic", path="", size=64, limit=0, resolution=32, latent_dim=8, beta=1.0, epochs=1,
                batch_size=16, lr=2e-3, name="")
    base.update(kw)
    return base


def test_dataset_folders_must_lie_inside_the_allowed_roots(settings, tmp_path):
    root = tmp_path / "data"
    assert train_form.allowed_data_path(settings, str(root / "faces")) == (root / "faces").resolve()
    assert train_form.allowed_data_path(settings, "faces/nested") == (root / "faces" / "nested").resolve()
    for bad in ("/etc", str(tmp_path / "secret"), "../secret", "faces/../../secret", "escape", "/"):
        with pytest.raises(UserInputError, match="outside the folders"):
            train_form.allowed_data_path(settings, bad)
    with pytest.raises(UserInputError, match="not a folder"):
        train_form.allowed_data_path(settings, "faces/missing")
    with pytest.raises(UserInputError, match="type the dataset folder"):
        train_form.allowed_data_path(settings, "  ")
    with pytest.raises(UserInputError, match="outside"):
        train_form.new_run(settings, **form(kind="folder", path="/etc"))


def test_new_run_validates_and_records_a_reproducible_command(settings):
    req = train_form.new_run(settings, **form(name="my run!"))
    assert req.out_dir == str(settings.runs_dir / "my-run") and req.label == "my-run"
    assert req.data["kind"] == "synthetic" and req.model["latent_dim"] == 8 and req.train["epochs"] == 1
    argv = shlex.split(req.command())
    assert argv[:4] == ["python", "-m", "vae_core", "train"]
    a = build_parser().parse_args(argv[3:])  # the CLI accepts it as is
    assert (a.data, a.size, a.resolution, a.latent_dim, a.epochs, a.batch_size, a.lr, a.out) == \
        ("synthetic", 64, 32, 8, 1, 16, 2e-3, req.out_dir)
    assert TrainRequest.from_json(req.to_json()) == req
    folder = train_form.new_run(settings, **form(kind="folder", path="faces", limit=10))
    args = build_parser().parse_args(shlex.split(folder.command())[3:])
    assert data_spec(args, args.resolution) == DataSpec.from_dict(folder.data)

    for bad, msg in [(dict(epochs=0), "epochs"), (dict(batch_size=1.5), "batch size"), (dict(lr="fast"), "learning"),
                     (dict(beta=-1), "β"), (dict(latent_dim=100000), "latent"), (dict(kind="web"), "dataset"),
                     (dict(size=1), "synthetic faces")]:
        with pytest.raises(UserInputError, match=msg):
            train_form.new_run(settings, **form(**bad))
    with pytest.raises(ConfigError, match="resolution"):
        train_form.new_run(settings, **form(resolution=48))
    (settings.runs_dir / "taken").mkdir(parents=True)
    with pytest.raises(UserInputError, match="already exists"):
        train_form.new_run(settings, **form(name="taken"))


def run_log() -> RunLog:
    req = TrainRequest(data={"kind": "synthetic", "size": 64}, model={"resolution": 32, "latent_dim": 8,
                       "channels": [8, 16]}, train={"epochs": 2, "batch_size": 8, "lr": 1e-3, "beta": 1.0},
                       out_dir="/tmp/x", label="x")
    return RunLog(request=req, started=0.0)


def test_events_fill_the_run_log_and_its_views():
    run = run_log()
    grid = np.zeros((64, 256, 3), np.uint8)
    events = [
        StartEvent(total_steps=20, steps_per_epoch=10, start_step=0, start_epoch=0, device="cpu", world_size=1,
                   num_train=58, num_val=6, num_parameters=1234, dataset="SYNTHETIC faces"),
        *[StepEvent(step=s, epoch=0, epoch_progress=s / 10, loss=100.0 - s, mse=0.1, recon=-5.0, kl=3.0, nelbo=-2.0,
                    beta=1.0, lr=1e-3, images_per_sec=50.0, eta_sec=12.0) for s in (5, 10)],
        EvalEvent(step=10, epoch=1, train_loss=95, train_mse=0.1, train_kl=3, train_nelbo=-2, val_loss=96, val_mse=0.1,
                  val_kl=3, val_nelbo=-1, val_bits_per_dim=5.0, beta=1.0),
        ImagesEvent(step=10, epoch=1, reconstructions=grid, samples=grid),
        CheckpointEvent(step=10, epoch=1, path="/tmp/x"),
    ]
    for ev in events:
        run.apply_event(ev)
    assert run.total_steps == 20 and run.step == 10 and run.images_per_sec == 50.0 and run.samples is grid
    assert [h["kind"] for h in run.history] == ["train", "train", "val"]
    md = train_view.status_markdown(run)
    assert "10/20" in md and "50 images/s" in md and "ETA **12s**" in md and "python -m vae_core train" in md
    fig = train_view.loss_figure(run)
    train_traces = [t for t in fig.data if t.name == "train"]
    val_traces = [t for t in fig.data if t.name == "validation"]
    assert len(train_traces) == len(val_traces) == 3 and list(train_traces[0].y) == [95.0, 90.0]
    run.apply_event(DoneEvent(step=12, epoch=1, path="/tmp/x", metrics={"mse": 0.01}, cancelled=True, seconds=3))
    assert run.done and run.cancelled and "cancelled" in train_view.status_markdown(run)
    assert "No training run yet" in train_view.status_markdown(None)
    assert len(train_view.loss_figure(None).data) == 6


def test_runner_is_idle_until_started(settings):
    r = TrainingRunner(settings)
    assert r.snapshot() is None and r.cancel() is None and r.active() == []


@pytest.mark.slow
def test_worker_process_trains_a_set_that_needs_the_data_process_pool(settings, tmp_path, monkeypatch):
    """The worker reads commands on a thread while the data layer forks a process pool (≥ 256 faces, no
    cache): it used to deadlock there (the forked child closed a sys.stdin whose lock the thread held)."""
    import time

    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "fresh-cache"))
    runner = TrainingRunner(settings)
    req = TrainRequest(data={"kind": "synthetic", "size": 300, "seed": 5, "resolution": 32},
                       model={"resolution": 32, "latent_dim": 4, "channels": [8, 16]},
                       train={"epochs": 1, "batch_size": 32, "lr": 1e-3, "beta": 1.0},
                       out_dir=str(tmp_path / "runs" / "pooled"), map_method="pca")
    runner.start(req)
    end = time.monotonic() + 90
    while time.monotonic() < end and not runner.snapshot().exited:
        time.sleep(0.2)
    run = runner.snapshot()
    assert run.exited, f"the training process hung: {run.status}"
    assert run.error is None and run.done and not run.cancelled and run.projection_ready, run.status


def test_a_short_run_from_the_tab_reaches_its_beta(settings):
    """The recipe warms β up over 1000 steps; the tab's few-minute runs get at most a quarter of their length,
    and long runs keep the recipe's warm-up."""
    short = train_form.new_run(settings, **form(size=2000, epochs=5, batch_size=64))
    steps = (int(2000 * 0.9) // 64) * 5
    assert 0 < short.train["kl_warmup_steps"] == steps // 4 < TrainConfig().kl_warmup_steps
    long = train_form.new_run(settings, **form(size=20_000, epochs=50, batch_size=64, name="long"))
    assert long.train["kl_warmup_steps"] == TrainConfig().kl_warmup_steps
    # the recorded command says so: it rebuilds the run's configs
    for req in (short, long):
        _, train = train_configs(build_parser().parse_args(shlex.split(req.command())[3:]))
        assert train == TrainConfig.from_dict(req.train)
