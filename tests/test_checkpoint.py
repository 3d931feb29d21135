"""Checkpoint save/load: equality, atomicity, and every kind of bad file gives a CheckpointError."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from vae_core.checkpoint import CheckpointMeta, list_checkpoints, load_training_state, read_meta, save_checkpoint
from vae_core.model import load_checkpoint
from vae_core.config import DEFAULT_CROP, DEFAULT_EPOCHS, DataSpec, ModelConfig, TrainConfig
from vae_core.errors import CheckpointError, ConfigError
from vae_core.migrations import upgrade_checkpoint_config
from vae_core.model import ConvVAE
from vae_core.version import CHECKPOINT_FORMAT

TINY = ModelConfig(resolution=32, latent_dim=4, channels=(4, 8, 8))


def _meta(cfg: ModelConfig = TINY) -> CheckpointMeta:
    return CheckpointMeta(model=cfg, data=DataSpec(resolution=cfg.resolution, size=10), train=TrainConfig(epochs=1),
                          metrics={"ssim": 0.5}, command="python -m vae_core train")


def _saved(tmp_path: Path, name: str = "ck", seed: int = 0) -> tuple[Path, ConvVAE]:
    torch.manual_seed(seed)
    model = ConvVAE(TINY)
    return save_checkpoint(tmp_path / name, model, _meta()), model


def test_save_load_roundtrip_equal_config_and_tensors(tmp_path):
    path, model = _saved(tmp_path)
    loaded = load_checkpoint(path)
    assert loaded.meta.model == TINY
    assert loaded.meta.data == DataSpec(resolution=32, size=10)
    assert loaded.meta.metrics == {"ssim": 0.5}
    assert loaded.meta.command == "python -m vae_core train"
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    assert not loaded.model.training
    assert all(not p.requires_grad for p in loaded.model.parameters())
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["format_version"] == CHECKPOINT_FORMAT and cfg["class"] == "ConvVAE" and cfg["package_version"]
    assert sorted(os.listdir(tmp_path)) == ["ck"]  # no temp dirs left behind


def test_overwrite_replaces_atomically_and_leaves_no_debris(tmp_path):
    path, _ = _saved(tmp_path, seed=0)
    _, m2 = _saved(tmp_path, seed=1)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.model.state_dict()["decoder.from_latent.weight"], m2.state_dict()["decoder.from_latent.weight"])
    assert sorted(os.listdir(tmp_path)) == ["ck"]


def test_optimizer_state_roundtrip_without_pickle(tmp_path):
    model = ConvVAE(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(2, 3, 32, 32)).reconstruction.mean().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "ck", model, _meta(), optimizer=opt, train_state={"step": 7, "history": [{"a": 1}]})
    opt2 = torch.optim.AdamW(ConvVAE(TINY).parameters(), lr=5.0)
    state = load_training_state(path, opt2)
    assert state == {"step": 7, "history": [{"a": 1}]}
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s2["param_groups"][0]["lr"] == 1e-3
    for pid in s1["state"]:
        assert torch.equal(s1["state"][pid]["exp_avg"], s2["state"][pid]["exp_avg"])


def test_missing_dir_and_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json"):
        load_checkpoint(tmp_path / "empty")


@pytest.mark.parametrize("damage", ["truncate", "random", "pickle"])
def test_corrupt_weights_give_clear_error(tmp_path, damage):
    path, _ = _saved(tmp_path)
    w = path / "model.safetensors"
    if damage == "truncate":
        w.write_bytes(w.read_bytes()[:100])
    elif damage == "random":
        w.write_bytes(os.urandom(5000))
    else:
        class Boom:
            def __reduce__(self):
                return (os.system, ("touch " + str(tmp_path / "PWNED"),))
        w.write_bytes(pickle.dumps({"x": Boom()}))
    cfg = json.loads((path / "config.json").read_text())
    cfg["weights_sha256"] = ""  # skip the hash check: the parser itself must refuse
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_hash_mismatch_detected(tmp_path):
    path, _ = _saved(tmp_path)
    other, _ = _saved(tmp_path, name="other", seed=3)
    (path / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)


def test_wrong_shapes_and_wrong_config(tmp_path):
    path, _ = _saved(tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["latent_dim"] = 5
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path)
    cfg["model"]["latent_dim"] = -3
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="latent_dim"):
        load_checkpoint(path)
    cfg["model"] = {"resolution": 64, "bogus": 1}
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="bogus"):
        load_checkpoint(path)
    cfg["format_version"] = 99
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(path)


def test_nan_weights_rejected(tmp_path):
    model = ConvVAE(TINY)
    with torch.no_grad():
        model.decoder.from_latent.weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "ck", model, _meta())
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(path)


def test_recovers_from_interrupted_swap(tmp_path):
    path, model = _saved(tmp_path)
    os.rename(path, tmp_path / ".ck.old-1-1")  # crash between the two renames
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.model.state_dict()["decoder.from_latent.weight"], model.state_dict()["decoder.from_latent.weight"])


@pytest.mark.slow
def test_sigkill_mid_save_keeps_previous_checkpoint_loadable(tmp_path):
    """A process saving big checkpoints in a loop is SIGKILLed at random moments; the dir always loads."""
    big = ModelConfig(resolution=64, latent_dim=32, channels=(64, 128, 256, 512))
    script = textwrap.dedent(f"""
        import torch, sys
        from vae_core.checkpoint import CheckpointMeta, save_checkpoint
        from vae_core.config import DataSpec, ModelConfig
        from vae_core.model import ConvVAE
        cfg = ModelConfig(**{big.to_dict()!r})
        m = ConvVAE(cfg)
        save_checkpoint(sys.argv[1], m, CheckpointMeta(model=cfg, data=DataSpec()))
        print("first", flush=True)
        while True:
            save_checkpoint(sys.argv[1], m, CheckpointMeta(model=cfg, data=DataSpec()))
    """)
    target = tmp_path / "ck"
    for delay in (0.05, 0.2, 0.45):
        proc = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE,
                                cwd=Path(__file__).resolve().parents[1])
        assert proc.stdout.readline().strip() == b"first"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = load_checkpoint(target)
        assert loaded.meta.model == big


def test_list_checkpoints_puts_default_first(tmp_path):
    _saved(tmp_path, name="zeta")
    _saved(tmp_path, name="default")
    (tmp_path / "junk").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["default", "zeta"]
    assert read_meta(tmp_path / "zeta").metrics == {"ssim": 0.5}


def test_restored_optimizer_moments_take_the_parameters_memory_layout(tmp_path):
    """Saved moments are contiguous; a fused AdamW over channels_last weights pairs elements by memory
    position, so restored moments must be laid out like their parameters (else resume silently diverges)."""

    def make():
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
        return conv, torch.optim.AdamW(conv.parameters(), lr=1e-2, fused=True)

    x = torch.randn(2, 3, 5, 5).contiguous(memory_format=torch.channels_last)

    def step(conv, opt):
        opt.zero_grad()
        conv(x).pow(2).sum().backward()
        opt.step()

    a, opt_a = make()
    step(a, opt_a)
    path = save_checkpoint(tmp_path / "ck", a, _meta(), optimizer=opt_a, train_state={"step": 1})
    b, opt_b = make()
    b.load_state_dict(a.state_dict())
    load_training_state(path, opt_b)
    assert opt_b.state[b.weight]["exp_avg"].stride() == b.weight.stride()
    for _ in range(3):
        step(a, opt_a)
        step(b, opt_b)
    assert torch.equal(a.weight, b.weight)


def test_encoder_width_sets_the_encoder_and_survives_a_roundtrip(tmp_path):
    cfg = ModelConfig(resolution=32, latent_dim=4, channels=(8, 16, 16), encoder_width=0.5)
    assert cfg.encoder_channels == (4, 8, 8)
    model = ConvVAE(cfg)
    assert model.encoder.features[0].out_channels == 4 and model.encoder.to_moments.in_features == 8 * 4 * 4
    assert model.decoder.from_latent.out_features == 16 * 4 * 4  # the decoder keeps the full channels
    path = save_checkpoint(tmp_path / "ck", model, _meta(cfg))
    assert load_checkpoint(path).meta.model == cfg


def test_a_version_1_config_keeps_the_defaults_of_its_day(tmp_path):
    """A version-1 file that lacks a field predates it (or its default change): the field takes the value it
    had then, not today's default; the loaded metadata is of the current version."""
    cfg = ModelConfig(resolution=32, latent_dim=4, channels=(4, 8, 8), encoder_width=1.0)
    train = TrainConfig(epochs=3, lr_schedule="cosine", shift=0, kl_warmup_steps=0, adam_beta2=0.999)
    path = save_checkpoint(tmp_path / "ck", ConvVAE(cfg), dataclasses.replace(_meta(cfg), train=train))
    doc = json.loads((path / "config.json").read_text())
    doc["format_version"] = 1
    del doc["model"]["encoder_width"]
    for name in ("adam_beta2", "lr_schedule", "shift", "kl_warmup_steps"):
        del doc["train"][name]
    (path / "config.json").write_text(json.dumps(doc))
    loaded = load_checkpoint(path)  # the weights hash is over the weights, not the config
    assert loaded.meta.model == cfg and loaded.meta.model.encoder_channels == (4, 8, 8)
    assert loaded.meta.train == train and loaded.meta.format_version == CHECKPOINT_FORMAT
    assert ModelConfig().encoder_width == 0.5 and TrainConfig().lr_schedule == "wsd"  # today's defaults differ
    for bad in (0, CHECKPOINT_FORMAT + 1, "2", None):
        with pytest.raises(CheckpointError, match="format version"):
            upgrade_checkpoint_config({**doc, "format_version": bad})


@pytest.mark.parametrize("cls", [ModelConfig, TrainConfig, DataSpec])
def test_an_empty_config_is_the_default_config(cls):
    assert cls.from_dict({}) == cls()
    assert cls.from_dict(cls().to_dict()) == cls()


def test_derived_defaults_are_resolved_and_recorded():
    """None means "derived from the other fields": the config holds, and a checkpoint records, the number."""
    assert TrainConfig().epochs == DEFAULT_EPOCHS
    assert TrainConfig(max_minutes=5).epochs is None and TrainConfig(max_steps=5).epochs is None
    assert TrainConfig(epochs=3, max_minutes=5).epochs == 3
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="epochs"):
            TrainConfig(epochs=bad)
    assert DataSpec(kind="cartoonset", path="x").crop_fraction == 0.7 == DEFAULT_CROP["cartoonset"]
    assert DataSpec(kind="folder", path="x").crop_fraction == 1.0
    assert DataSpec(kind="cartoonset", path="x", crop_fraction=0.5).to_dict()["crop_fraction"] == 0.5


@pytest.mark.parametrize("bad", [0, -1, 5, "0.5", True, None])
def test_encoder_width_is_validated(bad):
    with pytest.raises(ConfigError, match="encoder_width"):
        ModelConfig(encoder_width=bad)
