"""Hostile inputs, faults and load: nothing lost, nothing crashes, nothing executed.

Complements the per-module tests (uploads: test_data_images, test_ui_callbacks, test_app_client;
checkpoints: test_checkpoint; archives/CSVs: test_download, test_cartoonset, test_imagefolder; training:
test_trainer, test_ui_train) with what crosses module lines: the launched app facing bad uploads,
booby-trapped checkpoints, a request flood and concurrent identical requests; a process killed at every
stage of a checkpoint save, and a training process killed mid-epoch; and fuzzing of image arrays,
checkpoint config JSON, the Cartoon Set CSV and image-folder labels CSV parsers. ``bench/load.py`` is the
on-demand load test.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import ui_harness
from helpers import TINY_MODEL, blob_dataset, tiny_train
from ui.common.state import SessionState
from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW
from vae_core.checkpoint import load_training_state
from vae_core.model import load_checkpoint
from vae_core.data import center_crop_resize, load_image
from vae_core.data.cartoonset import CARTOONSET_SCHEMA, parse_cartoonset_csv
from vae_core.data.imagefolder import read_labels_csv
from vae_core.data.schema import UNKNOWN
from vae_core.errors import CheckpointError, DatasetError, ImageInputError
from vae_core.explorer import Explorer
from vae_core.training import CheckpointEvent, DoneEvent, ErrorEvent, StartEvent, StepEvent, Trainer

REPO = Path(__file__).resolve().parents[1]


class Boom:
    """Unpickling this runs ``touch <marker>``: proof that a file was (not) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def png_claiming(w: int, h: int) -> bytes:
    """A ~100-byte PNG whose header claims w×h RGB pixels: a decompression bomb."""
    def chunk(typ: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def flat_rgba_png(path: Path, side: int) -> None:
    """A real, fully decodable side×side half-transparent PNG, compressed row by row (a few hundred KB
    for 40 megapixels) without ever holding the image in memory."""
    def chunk(typ: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes((200, 60, 20, 128)) * side
    z = zlib.compressobj(1)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


# -- uploads ----------------------------------------------------------------------------------------
def test_largest_accepted_upload_decodes_in_bounded_memory(tmp_path):
    """A ~40-megapixel RGBA PNG (under the pixel limit, ~200 KB: well under the upload limit) peaks at
    about twice its decoded size (RGBA 159 MB + RGB 119 MB), not five times as a whole-image
    composite over white would (~900 MB)."""
    side = 6300
    path = tmp_path / "huge.png"
    flat_rgba_png(path, side)
    assert path.stat().st_size < 2_000_000
    script = textwrap.dedent("""
        import resource, sys
        from vae_core.data import center_crop_resize, load_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = center_crop_resize(load_image(sys.argv[1]), 64, 0.7)
        assert out.shape == (64, 64, 3) and (abs(out.astype(int) - (227, 157, 137)) <= 1).all(), out[0, 0]
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    growth_mb = float(out.stdout.strip())
    decoded_mb = side * side * 4 / 2**20
    assert growth_mb < 2.6 * decoded_mb, f"decoding peaked at +{growth_mb:.0f} MB"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.bool_, np.float16, np.float32,
                                     np.float64, np.complex64]),
                    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=24)),
       res=st.sampled_from([32, 64]))
def test_property_any_array_is_a_model_input_or_image_input_error(a: np.ndarray, res: int) -> None:
    try:
        out = center_crop_resize(load_image(a), res, 0.7)
    except ImageInputError as e:
        assert str(e)
        return
    assert out.shape == (res, res, 3) and out.dtype == np.uint8


def test_arrays_of_every_kind_of_image_agree():
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    ref = np.asarray(load_image(rgb))
    assert np.array_equal(np.asarray(load_image(rgb / 255.0)), ref)  # float [0, 1]
    assert np.array_equal(np.asarray(load_image(rgb.astype(np.uint16) * 257)), ref)  # 16-bit
    assert np.array_equal(np.asarray(load_image(np.dstack([rgb, np.full((20, 30), 255, np.uint8)]))), ref)  # RGBA
    grey = np.asarray(load_image(rgb[..., 0]))
    assert (grey[..., 0] == rgb[..., 0]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert (np.asarray(load_image(np.zeros((10, 10, 4), np.uint8))) == 255).all()  # transparent → white
    for bad, msg in [(np.zeros((10, 10, 2), np.uint8), "shape"), (np.full((10, 10), np.nan), "NaN"),
                     (np.full((10, 10), -1, np.int64), "values"), (np.zeros((10, 10), np.complex64), "dtype"),
                     (np.zeros((4, 4, 3), np.uint8), "at least"), (np.zeros((9000, 9000), np.bool_), "megapixels")]:
        with pytest.raises(ImageInputError, match=msg):
            load_image(bad)


# -- the launched app: hostile uploads, booby-trapped checkpoints, a flood -----------------------------
def sliders(first: float = 0.0) -> list:
    return [first, *([0.0] * (N_RAW - 1)), *([0.0] * N_PCA), *([None] * N_ATTR), *([0.0] * N_ATTR)]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Our own app (not the shared one): a tiny queue (2 waiting, 1 worker per event) and its own runs/."""
    from ui.app import build_app, launch

    runs = tmp_path_factory.mktemp("runs")
    demo = build_app(ui_harness.settings(CVAE_RUNS_DIR=str(runs), CVAE_QUEUE_SIZE="2", CVAE_CONCURRENCY="1"))
    launch(demo, server_name="127.0.0.1", server_port=ui_harness.free_port(), prevent_thread_lock=True, quiet=True)
    yield demo.local_url, demo, runs
    demo.close()


@pytest.mark.slow
@pytest.mark.parametrize("name,data,message", [
    ("bomb.png", png_claiming(30_000, 30_000), "decompression bomb"),
    ("drawing.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "SVG"),
    ("photo.jpg", b"MZ\x90\x00" + bytes(range(256)) * 8, "not a supported image"),
    ("cut.png", None, "truncated or corrupt"),
], ids=["bomb", "svg", "exe", "truncated"])
def test_hostile_uploads_get_a_message_and_the_app_keeps_serving(app, tmp_path, name, data, message):
    if data is None:
        buf = io.BytesIO()
        Image.effect_noise((64, 64), 60).convert("RGB").save(buf, "PNG")
        data = buf.getvalue()[:900]
    path = tmp_path / name
    path.write_bytes(data)
    client = Client(app[0], verbose=False)
    t = time.perf_counter()
    with pytest.raises(AppError) as e:
        client.predict(handle_file(str(path)), api_name="/reconstruct")
    assert time.perf_counter() - t < 10
    msg = str(e.value)
    assert message in msg and name in msg and "Traceback" not in msg and str(tmp_path) not in msg
    assert client.predict(*sliders(), api_name="/generate").startswith("<div")


def test_animated_upload_uses_its_first_frame(app, tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 40), c) for c in ((250, 0, 0), (0, 0, 250), (0, 250, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    _, _, report = Client(app[0], verbose=False).predict(handle_file(str(path)), api_name="/reconstruct")
    assert "3 frames" in report and "first frame" in report


def _broken_checkpoint(runs: Path, damage: str, marker: Path) -> Path:
    dst = runs / f"broken-{damage}"
    shutil.copytree(ui_harness.tiny_checkpoint(), dst, ignore=shutil.ignore_patterns("projections"))
    weights, config = dst / "model.safetensors", dst / "config.json"
    cfg = json.loads(config.read_text())
    if damage == "pickle":  # a pickle named .safetensors whose recorded sha256 even matches
        weights.write_bytes(pickle.dumps({"decoder.weight": Boom(marker)}))
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:300])
    elif damage == "random":
        weights.write_bytes(os.urandom(4096))
    elif damage == "shapes":
        cfg["model"]["latent_dim"] += 1
    elif damage == "config":
        cfg["model"]["channels"] = "lots"
    cfg["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()  # the parser itself must refuse
    config.write_text(json.dumps(cfg))
    return dst


@pytest.mark.parametrize("damage,message", [
    ("pickle", "not a valid safetensors"), ("truncated", "safetensors"), ("random", "safetensors"),
    ("shapes", "shape"), ("config", "channels"),
])
def test_a_broken_checkpoint_in_the_picker_leaves_the_session_on_its_model(app, tmp_path, damage, message):
    url, demo, runs = app
    marker = tmp_path / "PWNED"
    bad = _broken_checkpoint(runs, damage, marker)
    client = Client(url, verbose=False)
    name = demo.cvae_context.registry.name_of(bad)
    assert any(v == name for _, v in demo.cvae_context.registry.choices())  # listed: it looks like one
    before = client.predict(*sliders(2.0), api_name="/generate")
    with pytest.raises(AppError) as e:
        client.predict(name, False, api_name="/set_checkpoint")
    assert message in str(e.value) and "Traceback" not in str(e.value)
    assert not marker.exists()  # nothing in the file was executed
    assert client.predict(*sliders(2.0), api_name="/generate") == before  # same model, same face
    with pytest.raises(CheckpointError):
        demo.cvae_context.registry.get(str(bad))  # and the registry did not keep a half-open explorer


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                     max_leaves=8)
_SECTIONS = {"model": ["resolution", "latent_dim", "channels", "res_blocks", "norm", "obs_std"],
             "data": ["kind", "path", "resolution", "crop_fraction", "size", "seed", "limit", "val_fraction"],
             "train": ["epochs", "batch_size", "lr", "beta", "seed", "max_steps"],
             "metrics": [], "extra": [], "command": [], "format_version": [], "class": [], "format": []}


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> Path:
    from vae_core.checkpoint import CheckpointMeta, save_checkpoint
    from vae_core.config import DataSpec, ModelConfig, TrainConfig
    from vae_core.model import ConvVAE, load_checkpoint

    cfg = ModelConfig(resolution=32, latent_dim=4, channels=(4, 8, 8))
    return save_checkpoint(tmp_path_factory.mktemp("ck") / "ck", ConvVAE(cfg),
                           CheckpointMeta(model=cfg, data=DataSpec(resolution=32, size=10), train=TrainConfig()))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.sampled_from(sorted(_SECTIONS)), key=st.integers(0, 8), value=_JSON)
def test_property_hostile_config_json_is_a_checkpoint_error(small_checkpoint, section, key, value):
    """Any value in any field of config.json: the checkpoint loads (the value was acceptable) or the
    error is a CheckpointError, never a TypeError from deep inside the model constructor."""
    config = small_checkpoint / "config.json"
    good = config.read_text()
    d = json.loads(good)
    fields = _SECTIONS[section]
    if fields and key < len(fields):
        d[section][fields[key]] = value
    else:
        d[section] = value
    try:
        config.write_text(json.dumps(d))
        try:
            loaded = load_checkpoint(small_checkpoint)
        except CheckpointError as e:
            assert str(e)
            return
        assert loaded.model(torch.rand(1, 3, 32, 32)).reconstruction.shape == (1, 3, 32, 32)
    finally:
        config.write_text(good)


_DIE_DURING_SAVE = textwrap.dedent("""
    import json, os, signal, sys
    import torch
    torch.set_num_threads(1)  # the driver forks: no thread pools
    import vae_core.checkpoint as ck
    from vae_core.config import DataSpec, ModelConfig
    from vae_core.model import ConvVAE, load_checkpoint

    cfg = ModelConfig(resolution=32, latent_dim=4, channels=(4, 8, 8))
    target = sys.argv[1]
    models = {}
    for step in (1, 2):
        torch.manual_seed(step)
        models[step] = ConvVAE(cfg)

    def save(step):
        m = models[step]
        ck.save_checkpoint(target, m, ck.CheckpointMeta(model=cfg, data=DataSpec(resolution=32, size=10)),
                           optimizer=torch.optim.AdamW(m.parameters()), train_state={"step": step})

    def loaded_step():
        weights = load_checkpoint(target).model.state_dict()["decoder.from_latent.weight"]
        step = ck.load_training_state(target, None)["step"]
        return step if torch.equal(weights, models[step].state_dict()["decoder.from_latent.weight"]) else "mixed"

    for name, n in json.loads(sys.argv[2]):
        save(1)
        pid = os.fork()
        if pid == 0:  # save checkpoint 2 and die right after the n-th call of `name`
            real = os.rename if name == "rename" else getattr(ck, name)
            calls = [0]

            def dying(*a, **k):
                out = real(*a, **k)
                calls[0] += 1
                if calls[0] == n:
                    os.kill(os.getpid(), signal.SIGKILL)
                return out

            if name == "rename":
                os.rename = dying
            else:
                setattr(ck, name, dying)
            save(2)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        try:
            got = loaded_step()
        except Exception as e:
            got = f"{type(e).__name__}: {e}"
        print(json.dumps([name, n, os.WIFSIGNALED(status), got]), flush=True)
""")


@pytest.mark.slow
def test_death_at_every_stage_of_a_save_leaves_a_whole_checkpoint(tmp_path):
    """Deterministic companion of test_checkpoint's random SIGKILL test: the saving process is killed
    right after each step of a (resumable) save — weights written, training state written, each JSON,
    the directory fsync, each of the two renames. The directory always loads, weights and training
    state always belong together, and it is the old checkpoint until the final rename."""
    stages = [["save_file", 1], ["save_file", 2], ["_write_json", 1], ["_write_json", 2],
              ["_fsync_dir", 1], ["rename", 1], ["rename", 2]]
    out = subprocess.run([sys.executable, "-c", _DIE_DURING_SAVE, str(tmp_path / "ck"), json.dumps(stages)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r[:2] for r in results] == stages
    for name, n, killed, step in results:
        assert killed, f"the save did not reach {name} #{n}"
        assert step == (2 if (name, n) == ("rename", 2) else 1), (name, n, step)


def test_a_failed_switch_puts_the_picker_back(app):
    demo = app[1]
    deps = dict(demo.fns)  # dependency id → BlockFunction
    restore = next(d for d in deps.values() if d.fn is not None and d.fn.__name__ == "restore_picker")
    assert restore.trigger_only_on_failure and deps[restore.trigger_after].api_name == "set_checkpoint"
    # the picker shows the session's checkpoint again, by its name (never the server path it stands for)
    registry = demo.cvae_context.registry
    default = registry.resolve(None)
    assert restore.fn(SessionState(checkpoint=str(default)))["value"] == registry.name_of(default)


def test_booby_trapped_caches_and_training_state_are_never_unpickled(tmp_path):
    """The other files of a checkpoint: a pickled training state is refused; a pickled (or garbage)
    embedding cache is recomputed instead of loaded."""
    marker = tmp_path / "PWNED"
    out = tmp_path / "ck"
    list(Trainer(blob_dataset(), TINY_MODEL, tiny_train(epochs=1), out, device="cpu", keep_training_state=True).run())
    (out / "training_state.safetensors").write_bytes(pickle.dumps(Boom(marker)))
    opt = torch.optim.AdamW(load_checkpoint(out).model.parameters())
    with pytest.raises(CheckpointError, match="safetensors"):
        load_training_state(out, opt)

    ex = Explorer.open(ui_harness.tiny_checkpoint())
    good = ex.embedding()
    cache = next((ex.path / "projections").glob("embedding-*.npz"))
    saved = cache.read_bytes()
    try:
        for poison in (pickle.dumps(Boom(marker)),  # not even a zip
                       None):  # a real npz whose arrays are pickled objects
            if poison is None:
                buf = io.BytesIO()
                np.savez(buf, mu=np.array([Boom(marker)], dtype=object), schema=np.array(""))
                poison = buf.getvalue()
            cache.write_bytes(poison)
            fresh = Explorer.open(ex.path).embedding()
            np.testing.assert_allclose(fresh.mu, good.mu, atol=1e-5)
            assert not marker.exists()
    finally:
        cache.write_bytes(saved)


def test_a_flood_beyond_the_queue_size_is_refused_and_the_app_recovers(app, monkeypatch):
    """1 worker + 2 waiting: while the first decode is held, 3 of 6 simultaneous requests wait and the
    other 3 get "Queue is full" at once (nothing else piles up in memory); then all is served normally."""
    url, demo, _ = app
    explorer = demo.cvae_context.registry.get(None)
    real = explorer.decode
    gate = threading.Event()

    def held(z):
        gate.wait(30)
        return real(z)

    monkeypatch.setattr(explorer, "decode", held)
    clients = [Client(url, verbose=False) for _ in range(6)]
    results: list = [None] * len(clients)

    def call(i: int) -> None:
        try:
            results[i] = clients[i].predict(*sliders(0.5 * i), api_name="/generate")  # within ±4
        except Exception as e:  # noqa: BLE001 - collected and checked below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    try:
        ui_harness.wait_until(lambda: sum(isinstance(r, Exception) for r in results) >= 3, 30)
    finally:
        gate.set()
    for t in threads:
        t.join(30)
    ok = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 3 and len(refused) == 3, results
    assert all("queue is full" in str(r).lower() for r in refused), refused
    monkeypatch.setattr(explorer, "decode", real)
    assert clients[0].predict(*sliders(), api_name="/generate").startswith("<div")


@pytest.mark.slow
def test_identical_images_for_concurrent_sessions_always_arrive_whole():
    """Many sessions reconstructing the same dataset example at once all get complete images. (Returned
    as arrays, Gradio rewrote the one cache file they share in place, cutting concurrent downloads short:
    18 of 96 such requests failed before ui.common.images.image_file.)"""
    url, _ = ui_harness.running_app()  # the shared app: 4 workers per event, a long queue
    clients = [Client(url, verbose=False) for _ in range(8)]
    errors: list[str] = []
    sizes: set = set()

    def work(c: Client) -> None:
        for _ in range(4):
            try:
                model_input, recon, _ = c.predict(0, api_name="/reconstruct_example")
                sizes.add((Image.open(model_input).size, Image.open(recon).size))
            except Exception as e:  # noqa: BLE001 - collected and checked below
                errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(sizes) == 1


def test_image_files_are_shared_by_content_and_never_partial(tmp_path):
    from ui.common.images import image_file

    a = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    paths: list[str] = []
    threads = [threading.Thread(target=lambda: paths.append(image_file(a, tmp_path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 1 and np.array_equal(np.asarray(Image.open(paths[0])), a)
    assert image_file(a[::-1], tmp_path) != paths[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


# -- training faults --------------------------------------------------------------------------------
def _train_curve(events) -> list[tuple[int, float]]:
    return [(e.step, e.loss) for e in events if isinstance(e, StepEvent)]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_continues_the_loss_curve(tmp_path):
    """A training process killed two steps after its epoch-1 checkpoint resumes from that checkpoint;
    history and steps continue from there, and the curve is the uninterrupted run's. In fp32: oneDNN's bf16
    kernels may round differently in another process (~1e-4 relative), which is not the resume's doing."""
    cfg = tiny_train(epochs=2, precision="fp32")
    straight = list(Trainer(blob_dataset(), TINY_MODEL, cfg, tmp_path / "straight", device="cpu", log_every=1).run())
    script = textwrap.dedent("""
        import sys, time
        import torch
        torch.set_num_threads(int(sys.argv[2]))  # the parent's: another count sums in another order (~1e-5)
        from helpers import TINY_MODEL, blob_dataset, tiny_train
        from vae_core.training import CheckpointEvent, StepEvent, Trainer
        ck = None
        for ev in Trainer(blob_dataset(), TINY_MODEL, tiny_train(epochs=2, precision="fp32"), sys.argv[1], device="cpu",
                          log_every=1).run():
            if isinstance(ev, CheckpointEvent) and ck is None:
                ck = ev.step
            elif isinstance(ev, StepEvent) and ck is not None and ev.step == ck + 2:
                print(ck, flush=True)  # mid epoch 2: killed here, two steps of work unsaved
                time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "split"), str(torch.get_num_threads())],
                            stdout=subprocess.PIPE,
                            cwd=REPO, env=env, text=True)
    try:
        ck_step = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    resumed = list(Trainer(blob_dataset(), TINY_MODEL, cfg, tmp_path / "split", device="cpu", log_every=1,
                           resume=True).run())
    start = resumed[0]
    assert isinstance(start, StartEvent) and start.start_step == ck_step
    before = [(h["step"], h["loss"]) for h in start.history if h["kind"] == "train"]
    after = _train_curve(resumed)
    assert before[-1][0] == ck_step and after[0][0] == ck_step + 1  # no gap, no repeated step
    assert isinstance(resumed[-1], DoneEvent) and not resumed[-1].cancelled
    curve = before + after
    want = _train_curve(straight)
    assert [s for s, _ in curve] == [s for s, _ in want]
    np.testing.assert_allclose([v for _, v in curve], [v for _, v in want], rtol=1e-5)


def test_divergence_stops_with_the_last_good_checkpoint_intact_and_resumable(tmp_path, monkeypatch):
    """An optimizer step that blows the weights up (what an absurd learning rate does to a bigger model)
    mid epoch 2: the run stops with a message, the epoch-1 checkpoint on disk is untouched, and
    resuming it with sane settings finishes."""
    out = tmp_path / "ck"
    calls = {"n": 0}
    real_step = torch.optim.AdamW.step

    def diverging(self, *a, **k):
        result = real_step(self, *a, **k)
        calls["n"] += 1
        if calls["n"] == 6:  # 4 steps per epoch: mid epoch 2
            with torch.no_grad():
                for g in self.param_groups:
                    for p in g["params"]:
                        p.mul_(float("inf"))
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", diverging)
    events = list(Trainer(blob_dataset(), TINY_MODEL, tiny_train(epochs=2), out, device="cpu", log_every=1).run())
    monkeypatch.setattr(torch.optim.AdamW, "step", real_step)
    err = events[-1]
    assert isinstance(err, ErrorEvent) and "NaN or infinite" in err.message and err.checkpoint == str(out)
    ck_events = [e for e in events if isinstance(e, CheckpointEvent)]
    assert [e.step for e in ck_events] == [4]
    kept = load_checkpoint(out)
    assert all(torch.isfinite(v).all() for v in kept.model.state_dict().values() if v.is_floating_point())
    assert load_training_state(out, None)["step"] == 4
    resumed = list(Trainer(blob_dataset(), TINY_MODEL, tiny_train(epochs=2), out, device="cpu", resume=True).run())
    assert isinstance(resumed[0], StartEvent) and resumed[0].start_step == 4
    assert isinstance(resumed[-1], DoneEvent) and resumed[-1].step == 8


@pytest.mark.slow
def test_app_training_process_killed_then_resumed(tmp_path):
    """The app's training worker is SIGKILLed: the run reports it, the runner accepts a new run (not stuck
    "busy"), and resuming the last checkpoint continues the history where it stopped."""
    from ui.common.settings import AppSettings
    from ui.train.runner import TrainingRunner
    from ui.train.worker import TrainRequest

    settings = AppSettings.from_env({"CVAE_RUNS_DIR": str(tmp_path / "runs"), "CVAE_DATA_ROOTS": str(tmp_path)},
                                    repo_root=tmp_path)
    runner = TrainingRunner(settings)
    out = tmp_path / "runs" / "killed"

    def request(resume: bool, epochs: int) -> TrainRequest:
        return TrainRequest(data={"kind": "synthetic", "size": 200, "seed": 1, "resolution": 32},
                            model={"resolution": 32, "latent_dim": 4, "channels": [8, 16]},
                            train={"epochs": epochs, "batch_size": 8, "lr": 1e-3, "beta": 1.0},
                            out_dir=str(out), resume=resume, map_method="pca", log_every=2)

    try:
        runner.start(request(False, 200))
        ui_harness.wait_until(lambda: runner.snapshot().checkpoint, 90)
        os.kill(runner.pid, signal.SIGKILL)
        killed = ui_harness.wait_until(lambda: (s := runner.snapshot()).exited and s, 30)
        assert "stopped unexpectedly" in killed.error and "-9" in killed.error
        state = load_training_state(out, None)
        saved = state["step"]
        # two more epochs than were saved, however far the run got before the kill
        runner.start(request(True, int(state["epoch"]) + 2))
        run = ui_harness.wait_until(lambda: (s := runner.snapshot()).exited and s, 120)
        assert run.error is None and run.done, run.status
        steps = [h["step"] for h in run.history if h["kind"] == "train"]
        assert steps == sorted(set(steps)) and saved in steps and steps[-1] == run.step > saved
        assert steps[steps.index(saved) + 1] <= saved + 2  # log_every=2: the next point follows directly
    finally:
        runner.shutdown()


# -- parsers under fuzzing ----------------------------------------------------------------------------
_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="cvae-fuzz-"))
atexit.register(shutil.rmtree, _FUZZ_DIR, ignore_errors=True)
_FILES = [_FUZZ_DIR / n for n in ("a.png", "b.jpg", "sub/c.png", "d e.webp")]
_CELL = st.one_of(st.sampled_from(["a", "a.png", "b.jpg", "sub/c.png", "d e", "missing.png", "", "-1", "0", "1",
                                   "2", "7", "1.0", "1.5", "nan", "1e9", "-99999999999999999999", '"1"', "x,y"]),
                  st.text(max_size=6))
_HEADER = st.one_of(st.sampled_from(["file_name", "filename", "image", "file", "path", "hair", "glasses", ""]),
                    st.text(max_size=8))


@st.composite
def labels_csv(draw) -> str:
    cols = draw(st.integers(1, 5))
    header = [draw(_HEADER) for _ in range(cols)]
    rows = draw(st.lists(st.lists(_CELL, min_size=max(0, cols - 1), max_size=cols + 1), max_size=8))
    text = "\n".join(",".join(r) for r in [header, *rows])
    return draw(st.sampled_from([text, text + "\n", text.replace("\n", "\r\n"), "\ufeff" + text]))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(labels_csv(), st.text(max_size=120)))
def test_property_labels_csv_parses_or_raises_dataset_error(text: str) -> None:
    csv = _FUZZ_DIR / "labels.csv"
    csv.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        table = read_labels_csv(csv, _FUZZ_DIR, _FILES)
    except DatasetError as e:
        assert str(e)
        return
    if table is None:
        return
    assert table.labels.shape == (len(_FILES), len(table.schema.names)) and table.labels.dtype == np.int64
    cards = np.array(table.schema.cardinalities)
    assert ((table.labels == UNKNOWN) | ((table.labels >= 0) & (table.labels < cards))).all()


_NAMES = CARTOONSET_SCHEMA.names
_LINE = st.one_of(
    st.builds(lambda n, v, c, q: f"{q}{n}{q}, {v}, {c}", st.sampled_from([*_NAMES, "nose_size", ""]),
              st.integers(-2, 120), st.integers(0, 120), st.sampled_from(['"', ""])),
    st.builds(lambda i, v: f'"{_NAMES[i]}", {v}, {CARTOONSET_SCHEMA.cardinalities[i]}',
              st.integers(0, len(_NAMES) - 1), st.integers(0, 3)),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_LINE, max_size=24), full=st.booleans(), seed=st.integers(0, 2**16))
def test_property_cartoonset_csv_parses_or_raises_dataset_error(lines: list[str], full: bool, seed: int) -> None:
    if full:  # a valid file (shuffled) plus fuzzed lines
        rng = np.random.default_rng(seed)
        valid = [f'"{n}", {rng.integers(c)}, {c}' for n, c in zip(_NAMES, CARTOONSET_SCHEMA.cardinalities)]
        lines = list(rng.permutation(valid)) + lines
    f = _FUZZ_DIR / "cs1.csv"
    f.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    try:
        labels = parse_cartoonset_csv(f)
    except DatasetError as e:
        assert "cs1.csv" in str(e)
        return
    assert labels.shape == (len(_NAMES),) and labels.dtype == np.int64
    assert ((labels >= 0) & (labels < np.array(CARTOONSET_SCHEMA.cardinalities))).all()
