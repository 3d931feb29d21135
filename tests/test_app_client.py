"""Every endpoint through gradio_client against the launched app (shared with the browser tests).

Each test opens its own Client, i.e. its own session: gr.State is per session, the model is shared.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import ui_harness
from vae_core.slider_layout import N_ATTR, N_OWN, N_PCA, N_RAW

pytestmark = pytest.mark.slow
N_SLIDERS = N_RAW + N_PCA + 2 * N_ATTR


@pytest.fixture(scope="module")
def app():
    return ui_harness.running_app()


@pytest.fixture()
def client(app) -> Client:
    return Client(app[0], verbose=False)


def sliders(raw=None, pca=None) -> list:
    r = list(raw) if raw is not None else [0.0] * N_RAW
    p = list(pca) if pca is not None else [0.0] * N_PCA
    return [*r, *p, *([None] * N_ATTR), *([0.0] * N_ATTR)]


def face_png(html: str) -> bytes:
    m = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert m, html[:200]
    return base64.b64decode(m.group(1))


def face(html: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(face_png(html))), np.float32)


def test_generate_responds_to_sliders(client):
    a = face_png(client.predict(*sliders(), api_name="/generate"))
    raw = [0.0] * N_RAW
    raw[0] = 3.0
    b = face_png(client.predict(*sliders(raw), api_name="/generate"))
    assert a != b
    assert face(client.predict(*sliders(raw), api_name="/generate")).shape == (32, 32, 3)


def test_random_seed_copy_paste_reset(client, app):
    out = client.predict(1.0, api_name="/random_face")
    seed, raw, image = out[0], out[1:1 + N_RAW], out[-1]
    assert isinstance(seed, (int, float)) and len(out) == 1 + N_RAW + N_PCA + N_ATTR + N_OWN + 1
    again = client.predict(seed, 1.0, api_name="/face_from_seed")
    assert face_png(again[-1]) == face_png(image) and list(again[1:1 + N_RAW]) == list(raw)
    text = client.predict(*sliders(raw), api_name="/copy_latent")
    assert text.startswith("cvae1:")
    other = Client(app[0], verbose=False)  # another session gets the same face from the string
    pasted = other.predict(text, api_name="/paste_latent")
    # the string stores float16: the same face up to invisible rounding
    assert np.allclose(pasted[:N_RAW], raw, atol=0.011)
    assert np.abs(face(pasted[-1]) - face(image)).mean() < 1.0
    with pytest.raises(AppError, match="not a latent"):
        other.predict("hello there", api_name="/paste_latent")
    reset = client.predict(api_name="/reset_face")
    assert "average face" in reset[-1]
    with pytest.raises(AppError, match="the seed must be between 0 and 2147483647, got -5"):
        client.predict(-5, 1.0, api_name="/face_from_seed")
    vis = client.predict(True, api_name="/show_collapsed")
    assert len(vis) == N_RAW


def test_reconstruct_upload_example_and_edit(client, tmp_path):
    path = tmp_path / "face.png"
    Image.new("RGBA", (120, 90), (200, 120, 40, 255)).save(path)
    model_input, recon, report = client.predict(handle_file(str(path)), api_name="/reconstruct")
    assert Image.open(model_input).size == Image.open(recon).size and "MSE" in report and "SSIM" in report
    assert "centre-cropped" in report
    edited = client.predict(api_name="/edit_in_generate")
    assert "your latent" in edited[-1]
    ex = client.predict(2, api_name="/reconstruct_example")
    assert "dataset example" in ex[2]


@pytest.mark.parametrize("name,data,message", [
    ("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "PNG"),
    ("notes.txt", b"just some text\n" * 20, "image"),
    ("dot.png", None, "1×1 pixels"),
])
def test_bad_uploads_get_a_message_and_the_app_keeps_serving(client, tmp_path, name, data, message):
    path = tmp_path / name
    if data is None:
        Image.new("RGB", (1, 1)).save(path)
    else:
        path.write_bytes(data)
    with pytest.raises(AppError) as e:
        client.predict(handle_file(str(path)), api_name="/reconstruct")
    msg = str(e.value)
    assert message.lower() in msg.lower() and name in msg and "Traceback" not in msg
    assert "/tmp/" not in msg  # no server paths in messages
    assert client.predict(*sliders(), api_name="/generate").startswith("<div")


def test_upload_size_limit(client, tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1200, 1200, 3), dtype=np.uint8)).save(path)
    assert path.stat().st_size > 2_000_000  # the test app allows 2 MB
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict(handle_file(str(path)), api_name="/reconstruct")


def test_map_pick_and_send(client):
    fig, status = client.predict("hair_color", *sliders(), api_name="/show_map")
    fig = json.loads(fig) if isinstance(fig, str) else fig
    dataset = [t for t in fig["data"] if t["meta"] == "dataset"]
    assert sum(len(t["x"]) for t in dataset) == 240 and fig["layout"]["legend"]["title"]["text"] == "hair color"
    assert any(t["name"] == "current Generate face" for t in fig["data"]) and "click" in status.lower()
    face, info = client.predict(None, None, 5, api_name="/map_pick")
    assert Path(face).is_file() and "point 5" in info
    face, info = client.predict(0.1, -0.2, -1, api_name="/map_pick")
    assert "Empty spot" in info
    sent = client.predict(api_name="/map_to_generate")
    assert "your latent" in sent[-1]
    with pytest.raises(AppError, match="not on the map"):
        client.predict(None, None, 100000, api_name="/map_pick")


def test_interpolate_to_strip_and_gif(client):
    with pytest.raises(AppError, match="both ends"):
        client.predict("slerp", 5, 8, api_name="/interpolate")
    client.predict("random", 4, 0, None, "", 1.0, api_name="/set_endpoint_a")
    client.predict("dataset example", 0, 3, None, "", 1.0, api_name="/set_endpoint_b")
    strip, gif_html, gif_file = client.predict("slerp", 7, 8, api_name="/interpolate")
    # the frames in rows of 6 at 128 px (readable), with 4 px gaps: 7 frames = 2 rows
    from ui.interpolate.tab import FRAME_PX, STRIP_COLUMNS

    assert Image.open(strip).size == (STRIP_COLUMNS * FRAME_PX + (STRIP_COLUMNS - 1) * 4, 2 * FRAME_PX + 4)
    gif = Image.open(gif_file)
    assert gif.is_animated and gif.n_frames == 7 + 5  # played forth and back
    assert gif_html.startswith("<img")
    with pytest.raises(AppError, match="source"):
        client.predict("dreams", 0, 0, None, "", 1.0, api_name="/set_endpoint_a")


def test_checkpoint_picker_endpoints(client, app):
    choices = client.predict(api_name="/list_checkpoints")
    assert str(ui_harness.workdir()) not in str(choices)  # named relative to their folders, no server path
    out = client.predict("checkpoints/default", False, api_name="/set_checkpoint")
    assert str(ui_harness.workdir()) not in str(out)
    assert "SYNTHETIC" in out[0] and "SYNTHETIC" in out[1]
    with pytest.raises(AppError, match="not one of"):
        client.predict("/etc", False, api_name="/set_checkpoint")
    assert choices is not None


def test_training_start_busy_cancel_resume(client, app):
    runner = app[1].cvae_context.runner
    status = client.predict("synthetic", "", 96, 0, 32, 8, 1.0, 200, 8, 2e-3, "client-run", api_name="/train_start")
    assert "client-run" in status[0]
    with pytest.raises(AppError, match="already in progress"):
        Client(app[0], verbose=False).predict("synthetic", "", 64, 0, 32, 8, 1.0, 1, 8, 2e-3, "second",
                                              api_name="/train_start")
    ui_harness.wait_until(lambda: (runner.snapshot().step or 0) > 0, 60)
    client.predict(api_name="/train_cancel")
    run = ui_harness.wait_until(lambda: (s := runner.snapshot()).exited and s, 90)
    assert run.cancelled and not run.error and run.projection_ready
    out = Path(run.checkpoint)
    assert (out / "training_state.json").is_file()
    polled = client.predict(api_name="/train_status")
    assert polled[0] is None or "cancelled" in polled[0]
    choices = app[1].cvae_context.registry.choices()
    assert any(v == f"runs/{out.name}" for _, v in choices)  # selectable in every tab, by its name
    client.predict(out.name, run.epoch + 1, api_name="/train_resume")
    resumed = ui_harness.wait_until(lambda: (s := runner.snapshot()).exited and s, 90)
    assert resumed.done and not resumed.cancelled and not resumed.error and resumed.step >= run.step
    with pytest.raises(AppError, match="outside the folders"):
        client.predict("folder", "/etc", 10, 0, 32, 8, 1.0, 1, 8, 2e-3, "", api_name="/train_start")


def test_readme_api_example_runs(app, tmp_path, monkeypatch):
    """The README's gradio_client example, run as written against the live app."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### API (gradio_client)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    code = code.replace('"http://127.0.0.1:7860/"', repr(app[0]))
    Image.new("RGB", (100, 100), (240, 200, 160)).save(tmp_path / "face.png")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert "SSIM" in scope["report"] and "data:image/png;base64," in scope["face_html"]
    beard = scope["beard"]  # a direction from four faces of the map: named, one number per latent dim
    assert beard["name"] == "beard" and beard["n_selected"] == 4 and len(beard["vector"]) == app[1].cvae_context.registry.get(None).latent_dim


def test_analysis_compute_scorecard_focus_fidelity_and_traversal(client, app):
    """The Analysis tab's endpoints: compute (in the background) and poll, the scorecard and heatmap, a
    heatmap click's twin (/focus_dim), the attribute sliders' edit fidelity and the traversal export."""
    status, scorecard, fig, timer = client.predict(api_name="/analysis_status")
    if "✓" not in status:  # not computed yet in this process: the button starts it, a poll finishes it
        assert "no analysis yet" in status and scorecard == "" and fig is None
        status, *_, timer = client.predict(api_name="/analysis_compute")
        assert "Computing" in status or "✓" in status

        def done():
            out = client.predict(api_name="/analysis_status")
            return out if "✓" in out[0] else None

        status, scorecard, fig, timer = ui_harness.wait_until(done, 300, every=0.5)
    assert timer["active"] is False
    for name in ("**MIG ", "hair_color |", "glasses |", "edit fidelity"):  # a row may carry ⚠
        assert name in scorecard
    fig = json.loads(fig) if isinstance(fig, str) else fig
    explorer = app[1].cvae_context.registry.get(None)
    layout = app[1].cvae_context.layout(explorer)
    # the most important dims (all of the tiny model's 8 here), every dim on request
    assert sorted(fig["dims"]) == sorted(s.dim for s in layout.raw) and fig["data"][0]["type"] == "heatmap"
    every = client.predict(True, api_name="/analysis_status")[2]
    every = json.loads(every) if isinstance(every, str) else every
    assert every["dims"] == [s.dim for s in layout.raw] and every["key"].endswith(":all")

    dim = fig["dims"][2]
    out = client.predict(False, dim, api_name="/focus_dim")
    raw, note = out[:N_RAW], out[-1]
    assert len(out) == N_RAW + 1 and f"Focused on z[{dim}]" in note
    with pytest.raises(AppError, match="between 0 and 7"):
        client.predict(False, 42, api_name="/focus_dim")

    attr_values = [s.values[0] for s in layout.attrs]
    strengths = [0.0] * N_ATTR
    strengths[0] = 2.0
    args = [*([0.0] * N_RAW), *([0.0] * N_PCA), *attr_values, *strengths]
    md = client.predict(*args, api_name="/edit_fidelity")
    assert "Edit fidelity" in md and layout.attrs[0].title in md and ("✓" in md or "✗" in md)
    assert "leakage" in md.lower()
    assert "move an attribute" in client.predict(*sliders(), api_name="/edit_fidelity")

    preview, png, gif = client.predict(*sliders(), f"raw:{dim}", -3, 3, 6, api_name="/traversal")
    assert Image.open(png).size == (6 * 128, 128) and Image.open(gif).is_animated
    with pytest.raises(AppError, match="pick a direction"):
        client.predict(*sliders(), "raw:999", -3, 3, 6, api_name="/traversal")
    with pytest.raises(AppError, match="lower to a higher"):
        client.predict(*sliders(), f"raw:{dim}", 3, -3, 6, api_name="/traversal")


def test_the_page_keeps_no_run_history(app):
    """Gradio 6 would store every call (all slider values and the face) in the visitor's localStorage,
    re-serialising the stored runs several times per slider move: it must be off."""
    import urllib.request

    with urllib.request.urlopen(app[0] + "config", timeout=10) as r:
        config = json.load(r)
    assert config["run_history"] is False


def test_the_packed_slider_mirror_is_not_part_of_the_api(client):
    """Endpoints that set sliders also update the page's hidden packed copy; API clients do not see it."""
    out = client.predict(1.0, api_name="/random_face")
    assert len(out) == 1 + N_RAW + N_PCA + N_ATTR + N_OWN + 1 and out[-1].startswith("<div")
