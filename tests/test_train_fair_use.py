"""Training on a shared (public) app, without a server: visitor tokens and the owner book, the deployment's
limits read from the environment (a Space's safe defaults), the runs quota, several folders per run, the
Cartoon Set hint and download, ownership of resume, named phases, and a run whose disk fills
(ui.train.owners, ui.common.settings.TrainPolicy, ui.train.quota, ui.train.form, ui.train.download,
ui.train.view, ui.train.worker)."""

from __future__ import annotations

import errno
import json
import shlex
import time
from pathlib import Path

import pytest
from PIL import Image

from cartoonset_fixtures import TinySet, http_server, tar_gz, tiny_set  # noqa: F401
from ui.common.errors import UserInputError
from ui.common.settings import AppSettings, TrainPolicy, parse_bytes
from ui.train import form as train_form
from ui.train import quota
from ui.train import view as train_view
from ui.train.download import CartoonsetDownload
from ui.train.owners import OWNERS_FILE, OwnerBook, check_token, new_token, owner_id, same_owner
from ui.train.runner import NotYourRun, RunLog, TrainingBusy, TrainingRunner, busy_message
from ui.train.worker import TrainRequest, run_worker
from vae_core.checkpoint import read_meta
from vae_core.cli import build_parser, data_spec, train_configs
from vae_core.config import DataSpec, TrainConfig
from vae_core.data import download as dl
from vae_core.data import download_cartoonset
from vae_core.training import PhaseEvent, StartEvent, StepEvent


def _faces(folder: Path, n: int, colour=(200, 100, 50)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (16, 16), (colour[0], (colour[1] + 9 * i) % 256, colour[2])).save(folder / f"{i}.png")
    return folder


def make_settings(tmp_path: Path, **env) -> AppSettings:
    base = {"CVAE_DATA_ROOTS": str(tmp_path / "data"), "CVAE_RUNS_DIR": str(tmp_path / "runs"),
            "CVAE_CHECKPOINT": str(tmp_path / "checkpoints" / "default")}
    return AppSettings.from_env({**base, **env}, repo_root=tmp_path)


def _req(label: str = "r") -> TrainRequest:
    return TrainRequest(data={"kind": "synthetic", "size": 64}, model={"resolution": 32, "latent_dim": 8,
                        "channels": [8, 16]}, train={"epochs": 2, "batch_size": 8, "lr": 1e-3, "beta": 1.0},
                        out_dir=f"/x/{label}", label=label)


def form(**kw):
    base = dict(kind="synthetic", path="", size=64, limit=0, resolution=32, latent_dim=8, beta=1.0, epochs=1,
                batch_size=16, lr=2e-3, name="")
    base.update(kw)
    return base


# -- tokens and owners -------------------------------------------------------------------------------------
def test_tokens_are_random_128_bit_and_only_their_hash_is_stored(tmp_path):
    a, b = new_token(), new_token()
    assert len(a) == 32 and int(a, 16) >= 0 and a != b
    assert check_token(a.upper()) == a and check_token("") == "" and check_token(None) == ""
    for bad in ("abc", "x" * 32, a + "0", 12, ["a"]):
        with pytest.raises(UserInputError, match="token"):
            check_token(bad)
    book = OwnerBook(tmp_path)
    book.claim("run-a", owner_id(a))
    assert book.owns(owner_id(a), "run-a") and not book.owns(owner_id(b), "run-a") and not book.owns(None, "run-a")
    text = (tmp_path / OWNERS_FILE).read_text()
    assert a not in text and owner_id(a) in text  # the token itself never reaches the disk
    assert OwnerBook(tmp_path).owner_of("run-a") == owner_id(a)  # survives a restart
    assert not same_owner(None, None) and not same_owner("", "")
    (tmp_path / OWNERS_FILE).write_text("{not json")
    assert OwnerBook(tmp_path).runs() == {}  # an unreadable book: its runs are nobody's, the app still starts


# -- the deployment's limits ----------------------------------------------------------------------------------
def test_a_space_gets_safe_defaults_and_every_limit_can_be_set():
    local, space = TrainPolicy.from_env({}), TrainPolicy.from_env({"SPACE_ID": "user/cartoon-vae"})
    assert local.enabled and not local.public and local.max_minutes is None and local.keep_runs is None
    assert local.allow_download
    assert space.on_space and space.public and space.max_concurrent == 1 and space.max_minutes == 5
    assert space.keep_runs == 20 and space.max_bytes == 1 << 30 and not space.allow_download
    assert TrainPolicy.from_env({"SYSTEM": "spaces"}).on_space
    assert "5 minutes" in space.describe() and "20 runs" in space.describe()
    custom = TrainPolicy.from_env({"SPACE_ID": "a/b", "CVAE_RUN_MINUTES": "0", "CVAE_MAX_RUNS": "3",
                                   "CVAE_RUNS_BYTES": "500mb", "CVAE_TRAINING": "off", "CVAE_RUN_FACES": "100"})
    assert custom.max_minutes is None and custom.max_concurrent == 3 and custom.max_bytes == 500 << 20
    assert not custom.enabled and custom.max_faces == 100
    assert parse_bytes("2gb") == 2 << 30 and parse_bytes("10") == 10
    for env, msg in [({"CVAE_TRAINING": "maybe"}, "CVAE_TRAINING"), ({"CVAE_RUN_MINUTES": "soon"}, "CVAE_RUN_MINUTES"),
                     ({"CVAE_RUN_EPOCHS": "-1"}, "CVAE_RUN_EPOCHS"), ({"CVAE_RUNS_BYTES": "lots"}, "size")]:
        with pytest.raises(ValueError, match=msg):
            TrainPolicy.from_env(env)


def test_training_turned_off_says_to_duplicate_the_space(tmp_path):
    s = make_settings(tmp_path, SPACE_ID="a/b", CVAE_TRAINING="off")
    for call in (lambda: train_form.new_run(s, **form()), lambda: train_form.resume_run(s, "x", [], 2)):
        with pytest.raises(UserInputError, match="duplicate this Space"):
            call()
    assert "Duplicate this Space" in train_form.limits_markdown(s)


def test_the_caps_bound_a_run_and_its_recorded_command_says_so(tmp_path):
    _faces(tmp_path / "data" / "a", 3)
    s = make_settings(tmp_path, CVAE_RUN_MINUTES="5", CVAE_RUN_FACES="500", CVAE_RUN_EPOCHS="20")
    with pytest.raises(UserInputError, match="epochs"):
        train_form.new_run(s, **form(epochs=21))
    with pytest.raises(UserInputError, match="synthetic faces"):
        train_form.new_run(s, **form(size=501))
    req = train_form.new_run(s, **form(kind="folder", path="a", limit=0))
    assert req.data["limit"] == 500 and req.train["max_minutes"] == 5
    args = build_parser().parse_args(shlex.split(req.command())[3:])
    assert train_configs(args)[1] == TrainConfig.from_dict(req.train)  # the command rebuilds the capped recipe
    assert data_spec(args, args.resolution) == DataSpec.from_dict(req.data)


# -- several folders, the Cartoon Set ------------------------------------------------------------------------
def test_several_folders_are_one_dataset_and_bad_ones_get_a_message(tmp_path):
    a, b = _faces(tmp_path / "data" / "a", 3), _faces(tmp_path / "data" / "b", 2)
    (tmp_path / "data" / "empty").mkdir()
    s = make_settings(tmp_path)
    req = train_form.new_run(s, **form(kind="folder", path="a, b"))
    assert req.data["path"] == str(a.resolve()) and req.data["extra_paths"] == [str(b.resolve())]
    argv = shlex.split(req.command())
    assert argv.count("--path") == 2  # the recorded command reads both
    args = build_parser().parse_args(argv[3:])
    assert data_spec(args, args.resolution) == DataSpec.from_dict(req.data)
    for text, msg in [("a, missing", "'missing' is not a folder"), ("a, empty", "'empty' holds no images"),
                      ("a, a", "named twice"), ("a, /etc", "outside the folders")]:
        with pytest.raises(UserInputError, match=msg):
            train_form.new_run(s, **form(kind="folder", path=text))
    with pytest.raises(UserInputError, match="only an image-folder"):
        train_form.new_run(s, **form(kind="cartoonset", path="a, b"))
    assert "a" in train_form.image_folders(s) and "b" in train_form.image_folders(s)
    for kind in ("synthetic", "cartoonset", "folder"):  # every hint names folders, never a server path
        assert str(tmp_path) not in train_form.dataset_hint(kind, s)


def test_picking_the_cartoon_set_before_it_is_downloaded_says_how(tmp_path):
    (tmp_path / "data").mkdir()
    s = make_settings(tmp_path)
    with pytest.raises(UserInputError, match=r"not downloaded yet.*python -m vae_core download --name cartoonset10k"):
        train_form.new_run(s, **form(kind="cartoonset", path="cartoonset10k"))
    hint = train_form.dataset_hint("cartoonset", s)
    assert "Download cartoonset10k" in hint and "python -m vae_core download --name cartoonset10k" in hint


def test_the_download_runs_in_the_background_with_progress(tmp_path, http_server, tiny_set, monkeypatch):
    monkeypatch.setattr(dl, "RETRY_DELAY_S", 0.0)
    http_server.files["/cartoonset10k.tgz"] = tar_gz(tiny_set.files, dirs=("cartoonset10k",))
    (tmp_path / "data").mkdir()
    s = make_settings(tmp_path)
    seen = []

    def fetch(name, dest, url=None, progress=None):
        return download_cartoonset(name, dest, url=url, expected_count=6,
                                   progress=lambda done, total: (seen.append((done, total)), progress(done, total)))

    job = CartoonsetDownload(s, fetch=fetch, url=http_server.url("/cartoonset10k.tgz"))
    job.start("cartoonset10k")
    end = time.monotonic() + 30
    while job.state().running and time.monotonic() < end:
        time.sleep(0.05)
    st = job.state()
    assert not st.running and not st.error and st.folder == "cartoonset10k" and "ready" in st.describe()
    assert seen and seen[-1][0] == st.done_bytes > 0
    # the downloaded folder is what a Cartoon Set run then reads
    req = train_form.new_run(s, **form(kind="cartoonset", path="cartoonset10k"))
    assert req.data["path"] == str((tmp_path / "data" / "cartoonset10k").resolve())

    (tmp_path / "other" / "data").mkdir(parents=True)
    offline = CartoonsetDownload(make_settings(tmp_path / "other"), fetch=fetch, url=http_server.url("/missing.tgz"))
    offline.start("cartoonset10k")
    while offline.state().running:
        time.sleep(0.05)
    assert "python -m vae_core download" in offline.state().error and str(tmp_path) not in offline.state().error
    with pytest.raises(UserInputError, match="does not download"):
        CartoonsetDownload(make_settings(tmp_path, CVAE_DOWNLOAD="off")).start("cartoonset10k")
    with pytest.raises(UserInputError, match="choose one of"):
        job.start("everything")


# -- the quota ----------------------------------------------------------------------------------------------
def _run_folder(runs: Path, name: str, size: int, age: float) -> Path:
    p = runs / name
    p.mkdir(parents=True)
    (p / "model.safetensors").write_bytes(b"\0" * size)
    t = time.time() - age
    import os

    os.utime(p, (t, t))
    return p


def test_the_quota_deletes_the_oldest_visitor_runs_and_nothing_else(tmp_path):
    s = make_settings(tmp_path, CVAE_RUNS_KEEP="3", CVAE_RUNS_BYTES="1mb")
    runs = s.runs_dir
    book = OwnerBook(runs)
    for name, age in [("old", 300), ("mid", 200), ("busy", 400), ("new", 100)]:
        _run_folder(runs, name, 100_000, age)
        book.claim(name, owner_id(new_token()))
    cli = _run_folder(runs, "cli-run", 900_000, 1000)  # the operator's: nobody owns it
    # 4 visitor runs, at most 3 with the new one: the two oldest go, but not the (older) one in progress
    deleted = quota.make_room(s, book, busy={"busy"}, new_bytes=100_000)
    assert deleted == ["old", "mid"] and not (runs / "old").exists() and book.owner_of("old") is None
    assert (runs / "busy").is_dir() and cli.is_dir() and (runs / "new").is_dir()
    # bytes: 2 × 100 kB kept; a 900 kB run passes 1 MB with both, so the oldest that may go goes
    assert quota.make_room(s, book, busy={"busy"}, new_bytes=900_000) == ["new"]
    with pytest.raises(quota.QuotaFull, match="in progress"):
        quota.make_room(s, book, busy={"busy"}, new_bytes=1_000_000)
    assert (runs / "busy").is_dir() and cli.is_dir()
    assert not [p for p in runs.iterdir() if p.name.startswith(".evicted")]


def test_the_shipped_checkpoints_are_never_deleted_even_inside_the_runs_folder(tmp_path):
    s = AppSettings.from_env({"CVAE_RUNS_DIR": str(tmp_path / "ck"), "CVAE_CHECKPOINT": str(tmp_path / "ck" / "default"),
                              "CVAE_RUNS_KEEP": "1"}, repo_root=tmp_path)
    book = OwnerBook(s.runs_dir)
    _run_folder(s.runs_dir, "default", 10, 100)
    book.claim("default", owner_id(new_token()))  # even a forged book entry cannot make it a visitor run
    with pytest.raises(quota.QuotaFull):
        quota.make_room(s, book, busy=set(), new_bytes=1)
    assert (s.runs_dir / "default").is_dir()


def test_a_full_disk_refuses_the_run_before_it_starts(tmp_path, monkeypatch):
    s = make_settings(tmp_path)
    monkeypatch.setattr(quota, "free_bytes", lambda folder: 50 << 20)
    with pytest.raises(quota.QuotaFull, match="disk is nearly full"):
        quota.make_room(s, OwnerBook(s.runs_dir), set(), 1 << 20)


# -- ownership of resume --------------------------------------------------------------------------------------
def _checkpoint(out: Path, epochs: int, cancelled: bool) -> Path:
    from vae_core.data import load_dataset
    from vae_core.config import ModelConfig, TrainConfig
    from vae_core.training import Trainer

    spec = DataSpec(kind="synthetic", size=40, resolution=32, seed=1)
    trainer = Trainer(load_dataset(spec, progress=False), ModelConfig(resolution=32, latent_dim=4, channels=(8, 16)),
                      TrainConfig(epochs=epochs, batch_size=16, export_decoder=False), out, device="cpu", command="t")
    if cancelled:
        trainer.cancel()
    for _ in trainer.run():
        pass
    return out


def test_only_the_owner_resumes_and_the_form_has_a_valid_default(tmp_path):
    s = make_settings(tmp_path, CVAE_PUBLIC="on")
    stopped = _checkpoint(s.runs_dir / "stopped", epochs=4, cancelled=True)
    finished = _checkpoint(s.runs_dir / "finished", epochs=1, cancelled=False)
    _checkpoint(s.runs_dir / "cli-run", epochs=1, cancelled=False)
    book = OwnerBook(s.runs_dir)
    me, stranger = owner_id(new_token()), owner_id(new_token())
    book.claim("stopped", me)
    book.claim("finished", me)
    cks = [stopped, finished, s.runs_dir / "cli-run"]
    runs = {c.name: c for c in train_form.trainable_runs(s, cks, book, me)}
    assert set(runs) == {"stopped", "finished"}  # on a public app nobody resumes a run nobody owns
    assert not runs["stopped"].finished and runs["finished"].finished
    assert train_form.default_epochs(runs["stopped"]) == 4 and train_form.default_epochs(runs["finished"]) == 2
    assert train_form.trainable_runs(s, cks, book, stranger) == []
    with pytest.raises(NotYourRun, match="belongs to another visitor"):
        train_form.resume_run(s, "stopped", cks, 5, book, stranger)
    with pytest.raises(NotYourRun):
        train_form.resume_run(s, "cli-run", cks, 5, book, me)
    with pytest.raises(UserInputError, match="pick a stopped or finished run"):
        train_form.resume_run(s, "../../etc", cks, 5, book, me)
    with pytest.raises(UserInputError, match="already trained 1 epochs"):
        train_form.resume_run(s, "finished", cks, 1, book, me)
    req = train_form.resume_run(s, "finished", cks, None, book, me)  # no total typed: the form's default
    assert req.resume and req.train["epochs"] == 2 and "continued" in req.label
    private = make_settings(tmp_path)  # a private app: the operator's CLI runs are anybody's to resume
    assert {c.name for c in train_form.trainable_runs(private, cks, book, stranger)} == {"cli-run"}


# -- the runner: one run per visitor, only the owner cancels -----------------------------------------------
def test_the_busy_message_says_whose_run_and_when_a_slot_frees():
    run = RunLog(request=_req(), started=0.0, owner="o1", total_steps=100, step=40, eta_sec=75)
    assert "another visitor's run r" in busy_message([run], 1, "o2") and "in about 1m15s" in busy_message([run], 1, "o2")
    assert "your run r" in busy_message([run], 1, "o1")


def test_nobody_cancels_a_run_they_do_not_own(tmp_path):
    """The runner's rules, on a run that never leaves its first step (its process is a stand-in)."""
    import subprocess
    import sys

    s = make_settings(tmp_path)
    runner = TrainingRunner(s)
    req = TrainRequest(data={"kind": "synthetic"}, model={}, train={}, out_dir=str(s.runs_dir / "a"), label="a")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True)
    from ui.train.runner import ActiveRun

    try:
        run = RunLog(request=req, started=time.time(), owner="owner-a")
        runner._runs["a"] = runner._latest = ActiveRun(run, proc)
        with pytest.raises(NotYourRun, match="belongs to another visitor"):
            runner.cancel("owner-b")
        with pytest.raises(NotYourRun):
            runner.cancel()  # no owner: not a visitor's run to stop either
        assert not run.cancel_requested
        with pytest.raises(TrainingBusy, match="already in progress"):
            runner.start(TrainRequest(data={}, model={}, train={}, out_dir=str(s.runs_dir / "b")), "owner-b")
        with pytest.raises(TrainingBusy, match="your run a is still in progress"):
            runner.start(TrainRequest(data={}, model={}, train={}, out_dir=str(s.runs_dir / "c")), "owner-a")
        assert runner.snapshot("owner-b") is None and runner.snapshot("owner-a").request.label == "a"
        assert runner.cancel("owner-a") is run and run.cancel_requested and "cancelling" in run.status
    finally:
        proc.kill()
        proc.wait()


# -- feedback --------------------------------------------------------------------------------------------------
def test_every_phase_is_named_with_its_progress():
    run = RunLog(request=_req(), started=0.0)
    run.apply_event(StartEvent(total_steps=10, steps_per_epoch=5, start_step=0, start_epoch=0, device="cpu",
                               world_size=1, num_train=9, num_val=1, num_parameters=1, dataset="d"))
    run.apply_event(PhaseEvent(name="save", step=5))
    assert run.status == "saving the checkpoint"
    assert "Now: **saving the checkpoint**" in train_view.status_markdown(run)
    run.apply_event(StepEvent(step=6, epoch=1, epoch_progress=0.2, loss=1, mse=1, recon=1, kl=1, nelbo=1, beta=1,
                              lr=1, images_per_sec=1, eta_sec=3))
    assert run.phase == "" and run.status == "training"
    run.step = 10
    for key, words in [("evaluate", "held-out"), ("sampler", "sampler"), ("map", "map")]:
        run.apply("phase", key) if key == "map" else run.apply_event(PhaseEvent(name=key, step=10))
        run.phase_started = time.time() - 7
        md = train_view.status_markdown(run)
        assert words in md and "after training" in md and "7 s so far" in md
    assert "step 5 of 5" in train_view.status_markdown(run)
    run.apply("projection", "/x/r")
    assert run.phase == "" and "Finishing" not in train_view.status_markdown(run)


def test_the_trainer_names_the_work_between_steps(tmp_path):
    from vae_core.config import ModelConfig, TrainConfig
    from vae_core.data import load_dataset
    from vae_core.training import CheckpointEvent, DoneEvent, Trainer

    spec = DataSpec(kind="synthetic", size=40, resolution=32, seed=1)
    events = list(Trainer(load_dataset(spec, progress=False), ModelConfig(resolution=32, latent_dim=4, channels=(8, 16)),
                          TrainConfig(epochs=2, batch_size=16, export_decoder=True, eval_every=1), tmp_path / "ck",
                          device="cpu", command="t").run())
    names = [e.name if isinstance(e, PhaseEvent) else type(e).__name__ for e in events
             if isinstance(e, (PhaseEvent, CheckpointEvent, DoneEvent))]
    # after epoch 1: measure, save; after the last: measure, save, fit the sampler, export the decoder
    assert names == ["evaluate", "save", "CheckpointEvent", "evaluate", "evaluate", "save", "sampler", "decoder",
                     "CheckpointEvent", "DoneEvent"]


def test_others_see_progress_eta_and_when_they_can_start():
    run = RunLog(request=_req("secret-name"), started=0.0, owner="o", total_steps=200, step=50, eta_sec=90)
    text = train_view.others_markdown([run], mine=False, slots=1)
    assert "step 50/200 (25%)" in text and "ETA 1m30s" in text and "start your run in about 1m30s" in text
    assert "Only that visitor can cancel it" in text
    assert "start your run" not in train_view.others_markdown([run], mine=False, slots=2)
    assert train_view.others_markdown([], mine=False, slots=1) == ""


# -- a write that fails mid-run --------------------------------------------------------------------------------
def test_a_full_disk_mid_run_stops_it_with_a_message_and_keeps_the_last_whole_checkpoint(tmp_path, monkeypatch):
    import threading

    import vae_core.checkpoint as checkpoint

    out = tmp_path / "runs" / "full"
    req = TrainRequest(data={"kind": "synthetic", "size": 48, "seed": 2, "resolution": 32},
                       model={"resolution": 32, "latent_dim": 4, "channels": [8, 16]},
                       train={"epochs": 3, "batch_size": 16, "lr": 1e-3, "beta": 1.0, "export_decoder": False},
                       out_dir=str(out), map_method="pca")
    real, calls = checkpoint._write_json, []

    def failing_writer(path, data):  # the second checkpoint's config.json finds the disk full
        if Path(path).name == "config.json":
            calls.append(path)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(checkpoint, "_write_json", failing_writer)
    sent = []
    run_worker(req, sent.append, threading.Event())
    errors = [p for k, p in sent if k == "error"]
    assert sent[-1] == ("exit", None) and len(errors) == 1
    assert "disk is full" in errors[0] and f"last complete checkpoint is kept at {out}" in errors[0]
    assert "Traceback" not in errors[0]
    assert sorted(p.name for p in out.parent.iterdir()) == ["full"]  # no half-written temporary folder left
    meta = read_meta(out)  # the first checkpoint, whole
    assert meta.metrics.get("partial") and json.loads((out / "config.json").read_text())["format_version"]
    monkeypatch.setattr(checkpoint, "_write_json", lambda path, data: (_ for _ in ()).throw(
        OSError(errno.EACCES, "Permission denied")))
    sent.clear()
    run_worker(TrainRequest(**{**req.__dict__, "out_dir": str(tmp_path / "runs" / "ro")}), sent.append,
               threading.Event())
    errors = [p for k, p in sent if k == "error"]
    assert errors and "Permission denied" in errors[0] and "no checkpoint was written" in errors[0]
    assert not (tmp_path / "runs" / "ro").exists()


@pytest.mark.slow
def test_a_run_on_two_folders_records_both_and_holds_out_faces_of_the_whole(tmp_path):
    """Through the training process's own code: the checkpoint's data spec, command and held-out faces
    cover both folders (ids are prefixed by their folder)."""
    import threading

    from vae_core.data import load_dataset
    from vae_core.explorer import Explorer

    _faces(tmp_path / "data" / "one", 12, (200, 40, 40))
    _faces(tmp_path / "data" / "two", 12, (40, 40, 200))
    s = make_settings(tmp_path, CVAE_MAP_METHOD="pca")  # (UMAP's first use compiles for a minute)
    req = train_form.new_run(s, **form(kind="folder", path="one, two", epochs=1, batch_size=8, name="both"))
    sent = []
    run_worker(req, sent.append, threading.Event())
    assert not [p for k, p in sent if k == "error"] and ("projection", req.out_dir) in sent
    meta = read_meta(req.out_dir)
    assert [Path(p).name for p in meta.data.paths] == ["one", "two"] and meta.command == req.command()
    args = build_parser().parse_args(shlex.split(meta.command)[3:])
    assert data_spec(args, args.resolution) == meta.data  # the recorded command reads both folders again
    held_out = load_dataset(meta.data, progress=False)
    _, val = held_out.split()
    shown = Explorer.open(req.out_dir).embedding().example_ids.tolist()
    assert len(held_out) == 24 and shown == [held_out.ids[i] for i in val][:len(shown)]
    assert {i.split("/")[0] for i in held_out.ids} == {"one", "two"}


@pytest.mark.slow
def test_a_new_run_makes_room_by_deleting_the_oldest_visitor_run(tmp_path):
    """Through the runner: with room for one run kept, the next visitor's run deletes the previous one once it
    has ended, never while it trains."""
    s = make_settings(tmp_path, CVAE_RUNS_KEEP="1", CVAE_MAX_RUNS="2", CVAE_MAP_METHOD="pca")
    runner = TrainingRunner(s)

    def start(name: str, owner: str, epochs: int = 1):
        return runner.start(train_form.new_run(s, **form(size=40, epochs=epochs, batch_size=16, name=name)), owner)

    start("first", "owner-1", epochs=500)
    wait = lambda cond: ui_wait(cond, 120)  # noqa: E731
    wait(lambda: runner.snapshot("owner-1").checkpoint)
    with pytest.raises(quota.QuotaFull, match="in progress"):
        start("second", "owner-2")  # the only run that could make room is training
    runner.cancel("owner-1")
    wait(lambda: runner.snapshot("owner-1").exited)
    assert (s.runs_dir / "first").is_dir()
    start("second", "owner-2")
    assert not (s.runs_dir / "first").exists() and runner.owners.owner_of("first") is None
    wait(lambda: runner.snapshot("owner-2").exited)
    run = runner.snapshot("owner-2")
    assert run.done and not run.error and (s.runs_dir / "second" / "config.json").is_file()


def ui_wait(cond, timeout: float):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    raise TimeoutError("condition not met")


def test_the_runner_keeps_a_bounded_number_of_run_logs(tmp_path, monkeypatch):
    import ui.train.runner as runner_mod
    from ui.train.runner import ActiveRun

    monkeypatch.setattr(runner_mod, "KEEP_LOGS", 2)
    runner = TrainingRunner(make_settings(tmp_path))
    for name in ("a", "b", "c", "d"):
        log = RunLog(request=_req(name), started=time.time(), exited=name != "b")  # b still trains
        runner._runs[name] = ActiveRun(log, process=None)
    runner._forget_old_runs()
    assert list(runner._runs) == ["b", "d"]  # the oldest ended logs go first; one in progress never


def test_a_run_whose_owner_cannot_be_recorded_is_not_started(tmp_path, monkeypatch):
    import subprocess

    from vae_core.errors import TrainingError

    s = make_settings(tmp_path)
    runner = TrainingRunner(s)
    monkeypatch.setattr(runner.owners, "claim", lambda run, owner: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system")))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a process was started"))
    with pytest.raises(TrainingError, match="cannot record who owns the run .*Read-only.*nothing was started"):
        runner.start(train_form.new_run(s, **form()), "owner-a")
    assert runner.active() == [] and runner.snapshot("owner-a") is None
