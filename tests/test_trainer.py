"""The trainer: event stream, learning, determinism, exact resume, cancel, NaN handling."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from helpers import TINY_MODEL, blob_dataset, tiny_train
from vae_core.model import load_checkpoint
from vae_core.errors import ConfigError
from vae_core.losses import bits_per_dim
from vae_core.model import gaussian_log_norm_const
from vae_core.training import CheckpointEvent, DoneEvent, ErrorEvent, EvalEvent, ImagesEvent, StartEvent, StepEvent, Trainer
from vae_core.training import trainer as trainer_mod


def _weights(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model.state_dict()


def test_event_stream_and_learning(tmp_path):
    ds = blob_dataset()
    events = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=3), tmp_path / "ck", device="cpu", log_every=2,
                          command="test").run())
    kinds = [type(e) for e in events]
    assert kinds[0] is StartEvent and kinds[-1] is DoneEvent
    assert kinds.count(EvalEvent) == 3 and kinds.count(ImagesEvent) == 3
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [s.step for s in steps] == sorted(s.step for s in steps)
    assert all(s.images_per_sec > 0 and s.eta_sec >= 0 and np.isfinite(s.loss) for s in steps)
    evals = [e for e in events if isinstance(e, EvalEvent)]
    assert evals[-1].val_mse < evals[0].val_mse  # it learns
    # the loss leaves out the likelihood's constant and weighs KL by β; −ELBO has both at β = 1
    last = evals[-1]
    assert last.val_nelbo - last.val_loss == pytest.approx(gaussian_log_norm_const(TINY_MODEL) + (1 - last.beta) * last.val_kl)
    assert last.val_bits_per_dim == pytest.approx(bits_per_dim(last.val_nelbo, TINY_MODEL))
    img = next(e for e in events if isinstance(e, ImagesEvent))
    assert img.reconstructions.dtype == np.uint8 and img.reconstructions.shape[0] == 2 * 32
    done = events[-1]
    assert not done.cancelled and 0 < done.metrics["ssim"] <= 1 and done.metrics["n"] == 12
    ck = load_checkpoint(done.path)
    assert ck.meta.command == "test" and ck.meta.metrics["ssim"] == done.metrics["ssim"]
    assert ck.meta.extra["num_images"] == 48


def test_a_train_step_changes_the_weights(tmp_path):
    ds = blob_dataset()
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in trainer_mod.ConvVAE(TINY_MODEL).state_dict().items()}
    list(Trainer(ds, TINY_MODEL, tiny_train(epochs=1, max_steps=1), tmp_path / "ck", device="cpu").run())
    after = _weights(tmp_path / "ck")
    changed = [k for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])]
    assert "encoder.to_moments.weight" in changed and "decoder.from_latent.weight" in changed


def test_same_seed_same_weights(tmp_path):
    ds = blob_dataset()
    for name in ("a", "b"):
        list(Trainer(ds, TINY_MODEL, tiny_train(), tmp_path / name, device="cpu").run())
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_cancel_then_resume_continues_the_exact_run(tmp_path):
    ds = blob_dataset()
    cfg = tiny_train(epochs=3, hflip=True, shift=1)  # augmentations too: their draws must replay exactly
    list(Trainer(ds, TINY_MODEL, cfg, tmp_path / "straight", device="cpu").run())

    trainer = Trainer(ds, TINY_MODEL, cfg, tmp_path / "split", device="cpu", log_every=1)
    events = []
    for ev in trainer.run():
        events.append(ev)
        if isinstance(ev, StepEvent) and ev.step == 6:  # mid epoch 2 (4 steps per epoch)
            trainer.cancel()
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.cancelled and done.step == 6

    resumed = list(Trainer(ds, TINY_MODEL, cfg, tmp_path / "split", device="cpu", resume=True).run())
    start = resumed[0]
    assert isinstance(start, StartEvent) and start.start_step == 6 and len(start.history) > 0
    assert isinstance(resumed[-1], DoneEvent) and resumed[-1].step == 12 and not resumed[-1].cancelled
    wa, wb = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-6), k


def test_cancel_from_another_thread(tmp_path):
    ds = blob_dataset(n=200)
    trainer = Trainer(ds, TINY_MODEL, tiny_train(epochs=1000), tmp_path / "ck", device="cpu", log_every=1)
    events = []
    seen_step = threading.Event()

    def consume():
        for ev in trainer.run():
            events.append(ev)
            if isinstance(ev, StepEvent):
                seen_step.set()

    t = threading.Thread(target=consume)
    t.start()
    assert seen_step.wait(30)
    trainer.cancel()
    t.join(30)
    assert not t.is_alive()
    assert isinstance(events[-1], DoneEvent) and events[-1].cancelled
    assert load_checkpoint(events[-1].path).meta.metrics["cancelled"] is True


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    ds = blob_dataset()
    real = trainer_mod.elbo_terms
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        t = real(*a, **k)
        if calls["n"] > 6:  # after the first epoch's checkpoint (4 steps/epoch)
            t.loss = t.loss * float("nan")
        return t

    monkeypatch.setattr(trainer_mod, "elbo_terms", poisoned)
    events = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=5), tmp_path / "ck", device="cpu", log_every=1).run())
    err = events[-1]
    assert isinstance(err, ErrorEvent) and "NaN" in err.message and "lr" in err.message.lower()
    assert err.checkpoint == str(tmp_path / "ck")
    assert not any(isinstance(e, DoneEvent) for e in events)
    ck = load_checkpoint(tmp_path / "ck")  # the epoch-1 checkpoint, finite and loadable
    assert ck.meta.metrics["epoch"] == 1


def test_absurd_learning_rate_is_caught(tmp_path):
    ds = blob_dataset()
    events = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=3, lr=10.0, lr_schedule="constant"), tmp_path / "ck",
                          device="cpu", log_every=1).run())
    last = events[-1]
    # Either it stops with a clear error, or (if it happens to stay finite) every reported loss is finite.
    if isinstance(last, ErrorEvent):
        assert "learning rate" in last.message
    else:
        assert all(np.isfinite(e.loss) for e in events if isinstance(e, StepEvent))


def test_config_mismatches_are_clear(tmp_path):
    ds = blob_dataset()
    with pytest.raises(ConfigError, match="resolution"):
        Trainer(ds, trainer_mod.ModelConfig(resolution=64), tiny_train(), tmp_path / "x", device="cpu")
    list(Trainer(ds, TINY_MODEL, tiny_train(epochs=1), tmp_path / "ck", device="cpu").run())
    other = trainer_mod.ModelConfig(resolution=32, latent_dim=6, channels=(8, 16, 16))
    with pytest.raises(ConfigError, match="different model config"):
        list(Trainer(ds, other, tiny_train(), tmp_path / "ck", device="cpu", resume=True).run())


def test_precision_is_resolved_and_validated():
    from vae_core.config import TrainConfig
    from vae_core.training.device import native_bf16, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) is torch.float32
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    assert resolve_precision("auto", cpu) is (torch.bfloat16 if native_bf16(cpu) else torch.float32)
    with pytest.raises(ConfigError, match="mps"):
        resolve_precision("bf16", torch.device("mps"))
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp8")
    assert TrainConfig.from_dict({"epochs": 2}).precision == "auto"


def test_adam_beta2_reaches_the_optimizer(tmp_path, monkeypatch):
    from vae_core.config import TrainConfig

    made = []
    real = trainer_mod.build_optimizer
    monkeypatch.setattr(trainer_mod, "build_optimizer", lambda model, cfg: made.append(real(model, cfg)) or made[-1])
    list(Trainer(blob_dataset(), TINY_MODEL, tiny_train(epochs=1, adam_beta2=0.95), tmp_path / "ck", device="cpu").run())
    assert made and all(g["betas"] == (0.9, 0.95) for g in made[0].param_groups)
    assert TrainConfig().adam_beta2 == 0.99
    assert TrainConfig.from_dict(TrainConfig(adam_beta2=0.9).to_dict()).adam_beta2 == 0.9
    for bad in (0, 1, 1.5, -0.1, True, "0.99", None):
        with pytest.raises(ConfigError, match="adam_beta2"):
            TrainConfig(adam_beta2=bad)


def test_under_bf16_autocast_the_model_hands_the_loss_fp32():
    """The convolutions run in bf16, but the posterior (KL, reparameterisation) and the reconstruction
    (the Gaussian likelihood) reach the loss in fp32."""
    model = trainer_mod.ConvVAE(TINY_MODEL)
    x = torch.rand(4, 3, TINY_MODEL.resolution, TINY_MODEL.resolution)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
        conv_out = model.encoder.features(x)
    assert conv_out.dtype is torch.bfloat16  # autocast is really on
    assert out.posterior.mean.dtype is torch.float32 and out.posterior.logvar.dtype is torch.float32
    assert out.reconstruction.dtype is torch.float32


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_learns_in_either_precision_and_saves_fp32_weights(tmp_path, precision):
    ds = blob_dataset()
    events = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=3, precision=precision), tmp_path / "ck",
                          device="cpu", log_every=2).run())
    start = next(e for e in events if isinstance(e, StartEvent))
    assert start.precision == precision
    evals = [e for e in events if isinstance(e, EvalEvent)]
    assert evals[-1].val_mse < evals[0].val_mse
    ck = load_checkpoint(tmp_path / "ck")
    assert ck.meta.train.precision == precision
    assert all(v.dtype is torch.float32 for v in ck.model.state_dict().values() if v.is_floating_point())


def test_lr_schedule_anneals_to_the_time_budget():
    cfg = tiny_train(lr=1e-2, lr_schedule="cosine", max_minutes=1.0)
    total = 1_000_000  # far more steps than the budget allows: time decides
    assert trainer_mod.lr_at(500, total, cfg, elapsed_s=0.0) == pytest.approx(1e-2, rel=1e-3)
    assert trainer_mod.lr_at(500, total, cfg, elapsed_s=30.0) == pytest.approx(1e-2 * (0.05 + 0.95 * 0.5), rel=1e-3)
    assert trainer_mod.lr_at(500, total, cfg, elapsed_s=60.0) == pytest.approx(5e-4)
    assert trainer_mod.lr_at(500, total, cfg, elapsed_s=600.0) == pytest.approx(5e-4)
    no_budget = tiny_train(lr=1e-2, lr_schedule="cosine")
    assert trainer_mod.lr_at(500, total, no_budget, elapsed_s=600.0) == pytest.approx(1e-2, rel=1e-3)


def test_wsd_schedule_holds_the_rate_then_decays_over_the_last_fifth():
    cfg = tiny_train(lr=1e-2, lr_schedule="wsd")
    total = 1000  # warm-up is 50 steps
    assert trainer_mod.lr_at(10, total, cfg) < 1e-2
    for step in (60, 500, 790):
        assert trainer_mod.lr_at(step, total, cfg) == pytest.approx(1e-2)
    mid_decay = trainer_mod.lr_at(50 + int(0.9 * 950), total, cfg)
    assert mid_decay == pytest.approx(1e-2 * (1 - 0.95 * 0.5), rel=1e-2)
    assert trainer_mod.lr_at(total, total, cfg) == pytest.approx(5e-4)
    timed = tiny_train(lr=1e-2, lr_schedule="wsd", max_minutes=1.0)  # time decides: the decay starts at 48 s
    assert trainer_mod.lr_at(500, 1_000_000, timed, elapsed_s=47.0) == pytest.approx(1e-2)
    assert trainer_mod.lr_at(500, 1_000_000, timed, elapsed_s=54.0) == pytest.approx(1e-2 * (1 - 0.95 * 0.5))
    assert trainer_mod.lr_at(500, 1_000_000, timed, elapsed_s=90.0) == pytest.approx(5e-4)


@pytest.mark.slow
def test_time_budget_ends_the_run_normally_at_the_annealed_rate(tmp_path):
    ds = blob_dataset()
    cfg = tiny_train(epochs=None, lr_schedule="cosine", max_minutes=3 / 60, eval_every=0,
                     checkpoint_every_epoch=False)  # no epoch limit: the budget alone ends the run
    events = list(Trainer(ds, TINY_MODEL, cfg, tmp_path / "ck", device="cpu", log_every=1).run())
    assert events[0].total_steps is None
    done = events[-1]
    assert isinstance(done, DoneEvent) and not done.cancelled
    assert done.metrics["time_budget_reached"] is True and 3 <= done.seconds < 60
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps[-1].step < 100_000 and steps[-1].eta_sec <= 3
    # the cosine is (nearly) at its floor of 5% by the deadline; 0.3 = 63% of the budget, slack for slow CI
    assert steps[-1].lr < 0.3 * cfg.lr
    outcomes = [e for e in events if not isinstance(e, trainer_mod.PhaseEvent)]  # (phases only name the work)
    assert isinstance(outcomes[-4], EvalEvent)  # the last (partial) epoch is still validated (then images, checkpoint)
    assert load_checkpoint(done.path).meta.metrics["time_budget_reached"] is True


def test_a_resumed_run_keeps_the_time_already_spent(tmp_path):
    ds = blob_dataset()
    cfg = tiny_train(epochs=None, max_minutes=0.3 / 60)
    trainer = Trainer(ds, TINY_MODEL, cfg, tmp_path / "ck", device="cpu", log_every=1)
    for ev in trainer.run():
        if isinstance(ev, StepEvent) and ev.step == 1:
            threading.Event().wait(0.4)  # the budget runs out while the consumer holds the run
            trainer.cancel()
    assert ev.cancelled and ev.step == 1 and not ev.metrics["time_budget_reached"]
    resumed = list(Trainer(ds, TINY_MODEL, cfg, tmp_path / "ck", device="cpu", resume=True).run())
    assert resumed[-1].metrics["time_budget_reached"] is True and resumed[-1].step == 1


def test_eval_cadence(tmp_path, monkeypatch):
    ds = blob_dataset()
    every2 = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=5, eval_every=2), tmp_path / "a", device="cpu").run())
    assert [e.epoch for e in every2 if isinstance(e, EvalEvent)] == [2, 4, 5]  # and always the last

    slow_eval = Trainer._evaluate

    def slow(self, *a, **kw):  # an evaluation that costs far more than an epoch, as on a tiny set
        threading.Event().wait(0.3)
        return slow_eval(self, *a, **kw)

    monkeypatch.setattr(Trainer, "_evaluate", slow)
    auto = list(Trainer(ds, TINY_MODEL, tiny_train(epochs=5, eval_every=0), tmp_path / "b", device="cpu").run())
    assert [e.epoch for e in auto if isinstance(e, EvalEvent)] == [1, 5]
    assert isinstance(auto[-1], DoneEvent) and auto[-1].step == 20
