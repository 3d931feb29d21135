"""Two visitors and one training run, through gradio_client against the launched app: the run belongs to the
session that started it (and to its token, wherever it is used again); the other visitor sees its progress
but cannot cancel, resume or overwrite it, whatever it sends; nothing of the run is lost meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import ui_harness
from ui.train.owners import new_token, owner_id

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app():
    return ui_harness.running_app()


def start_args(name: str, epochs: int = 200, size: int = 160) -> tuple:
    """/train_start's form: synthetic faces, 32 px, z = 8, β 1, epochs, batch 8, lr, run name."""
    return ("synthetic", "", size, 0, 32, 8, 1.0, epochs, 8, 2e-3, name)


def texts(outputs) -> str:
    return "\n".join(str(o) for o in outputs if isinstance(o, str))


def test_only_the_visitor_who_started_a_run_can_stop_or_resume_it(app):
    url, demo = app
    runner = demo.cvae_context.runner
    ui_harness.wait_until(lambda: not runner.active(), 180)
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    out = a.predict(*start_args("visitor-a"), api_name="/train_start")
    token = out[-1]
    assert len(token) == 32 and int(token, 16) >= 0, out[-1]  # the API client gets its token
    me = owner_id(token)
    ui_harness.wait_until(lambda: (runner.snapshot(me).step or 0) > 0 and runner.snapshot(me).checkpoint, 120)

    # the other visitor: sees the run, its progress and when a slot frees…
    seen = texts(b.predict("", api_name="/train_status"))
    assert "Another visitor's run is in progress" in seen and "ETA" in seen and "You can start your run" in seen
    assert "No run of yours yet" in seen and "visitor-a" not in seen
    # …but cannot cancel it, with no token, a made-up one or a malformed one
    for forged in ("", new_token()):
        with pytest.raises(AppError, match="belongs to another visitor"):
            b.predict(forged, api_name="/train_cancel")
    with pytest.raises(AppError, match="token is not one this app issues"):
        b.predict("0" * 31 + "g", api_name="/train_cancel")
    # …nor start a second run while the one slot is taken, nor reuse the run's name
    with pytest.raises(AppError, match="another visitor's run .* You can start yours|start yours"):
        b.predict(*start_args("visitor-b"), api_name="/train_start")
    with pytest.raises(AppError, match="belongs to another visitor"):
        b.predict("visitor-a", 300, api_name="/train_resume")  # a forged resume of the run in progress
    step = runner.snapshot(me).step
    ui_harness.wait_until(lambda: runner.snapshot(me).step > step, 60)  # still training: nothing was stopped
    run = runner.snapshot(me)
    assert run.active and not run.cancel_requested and not run.error

    # the owner, from another client (a reloaded page) holding the token, cancels it
    Client(url, verbose=False).predict(token, api_name="/train_cancel")
    run = ui_harness.wait_until(lambda: (s := runner.snapshot(me)).exited and s, 120)
    assert run.cancelled and not run.error and (Path(run.checkpoint) / "training_state.json").is_file()
    assert "cancelled" in texts(a.predict("", api_name="/train_status"))

    # a stopped run is still its owner's: the other visitor cannot resume it, or start one under its name
    with pytest.raises(AppError, match="belongs to another visitor"):
        b.predict("visitor-a", 300, api_name="/train_resume")
    with pytest.raises(AppError, match="already exists"):
        b.predict(*start_args("visitor-a"), api_name="/train_start")
    # everybody may open it (read-only) in the picker
    assert any(v == f"runs/{Path(run.checkpoint).name}" for _, v in demo.cvae_context.registry.choices())
    # its owner resumes it (the session remembers its token), then cancels again
    a.predict("visitor-a", run.epoch + 2, api_name="/train_resume")
    ui_harness.wait_until(lambda: runner.snapshot(me).active and runner.snapshot(me).step > run.step, 120)
    resumed = runner.snapshot(me)
    assert resumed.request.resume and resumed.history[0]["step"] <= run.step  # the curve goes on, nothing lost
    a.predict(api_name="/train_cancel")
    ui_harness.wait_until(lambda: runner.snapshot(me).exited, 120)
