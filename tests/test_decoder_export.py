"""The decoder as ONNX (vae_core.web.decoder_export): what onnxruntime decodes from the file is what torch decodes,
at any batch size; the file is keyed to the weights; a broken file is a CheckpointError with a readable message;
publish and the end of training write it."""

from __future__ import annotations

import logging
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper

from helpers import ROOT, TINY_MODEL, blob_dataset, tiny_train
from vae_core.checkpoint import CheckpointMeta, file_sha256, read_meta, save_checkpoint
from vae_core.model import load_checkpoint
from vae_core.config import DataSpec, TrainConfig
from vae_core.data.dataset import to_uint8
from vae_core.errors import CheckpointError
from vae_core.model import ConvVAE
from vae_core.training import DoneEvent, Trainer
from vae_core.web import decoder_export
from vae_core.web.decoder_export import (check_decoder, compare_with_torch, decoder_path, ensure_decoder,
                                         export_decoder)

SHIPPED = [ROOT / "checkpoints" / "default", ROOT / "checkpoints" / "synthetic"]
MAX_BYTES = 10_000_000  # a Hugging Face Space takes files under 10 MB without Git LFS


def _onnx_vs_torch(path: Path, model: ConvVAE, n: int = 200, seed: int = 0) -> tuple[float, int]:
    """Largest |onnx - torch| over ``n`` latents decoded one at a time and in batches of 37 (the last one
    shorter), as float in [0, 1] and as 0-255 pixel levels (to_uint8, what a page shows)."""
    z = np.random.default_rng(seed).standard_normal((n, model.config.latent_dim)).astype(np.float32)
    z[:10] *= 3  # far out in the tails too, where the sigmoid saturates
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    one = np.concatenate([session.run(["image"], {"z": z[i:i + 1]})[0] for i in range(n)])
    batched = np.concatenate([session.run(["image"], {"z": z[i:i + 37]})[0] for i in range(0, n, 37)])
    with torch.inference_mode():
        want = model.eval().decode(torch.from_numpy(z)).numpy()
    r = model.config.resolution
    assert one.shape == batched.shape == want.shape == (n, 3, r, r) and one.dtype == np.float32
    diff = max(np.abs(one - want).max(), np.abs(batched - want).max())
    levels = max(np.abs(to_uint8(torch.from_numpy(got)).astype(int) - to_uint8(torch.from_numpy(want)).astype(int)).max()
                 for got in (one, batched))
    return float(diff), int(levels)


def _tiny_checkpoint(tmp_path: Path, name: str = "ck", seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = ConvVAE(TINY_MODEL)
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode matters in the export
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    meta = CheckpointMeta(model=TINY_MODEL, data=DataSpec(kind="folder", path=str(tmp_path / "no-such-faces"),
                                                          resolution=TINY_MODEL.resolution),
                          train=TrainConfig(epochs=1), command="test")
    return save_checkpoint(tmp_path / name, model, meta)


# -- the shipped checkpoints ----------------------------------------------------------------------
@pytest.mark.parametrize("ck", SHIPPED, ids=lambda p: p.name)
def test_shipped_decoder_exists_is_keyed_to_the_weights_and_fits_a_space(ck):
    meta = read_meta(ck)
    assert meta.weights_sha256 == file_sha256(ck / "model.safetensors")
    path = decoder_path(ck, meta.weights_sha256)
    assert sorted((ck / "web").iterdir()) == [path], "exactly one decoder, the current weights'"
    assert path.stat().st_size < MAX_BYTES
    check_decoder(path, meta.model.latent_dim, meta.model.resolution)


@pytest.mark.parametrize("ck", SHIPPED, ids=lambda p: p.name)
def test_shipped_decoder_decodes_what_torch_decodes_from_the_float16_weights(ck):
    loaded = load_checkpoint(ck)
    assert loaded.meta.extra["weights_dtype"] == "float16"  # stored half, up-cast on load: the ONNX is of that
    diff, levels = _onnx_vs_torch(decoder_path(ck, loaded.fingerprint), loaded.model)
    assert diff < 1e-4 and levels <= 1


def test_ensure_decoder_uses_a_sound_existing_file_without_exporting(monkeypatch):
    monkeypatch.setattr(decoder_export, "export_decoder", lambda *a, **k: pytest.fail("exported again"))
    ck = SHIPPED[0]
    assert ensure_decoder(ck) == decoder_path(ck, read_meta(ck).weights_sha256)


# -- broken files ---------------------------------------------------------------------------------
SHIPPED_FILE = decoder_path(SHIPPED[0], read_meta(SHIPPED[0]).weights_sha256)


@pytest.mark.parametrize("content", [
    pytest.param(lambda good: good[: len(good) // 2], id="truncated-half"),
    pytest.param(lambda good: good[:-7], id="truncated-end"),
    pytest.param(lambda good: good[:1000], id="truncated-head"),
    pytest.param(lambda good: bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), id="garbage"),
    pytest.param(lambda good: b"<html>404 Not Found</html>\n" * 20, id="text"),
    pytest.param(lambda good: b"", id="empty"),
])
def test_a_corrupt_or_truncated_file_is_a_checkpoint_error_that_says_what_to_do(tmp_path, content):
    bad = tmp_path / "decoder.onnx"
    bad.write_bytes(content(SHIPPED_FILE.read_bytes()))
    with pytest.raises(CheckpointError) as err:
        check_decoder(bad, 256, 64)
    message = str(err.value)
    assert str(bad) in message and "corrupt or truncated" in message and "export-decoder" in message
    assert "Traceback" not in message and "\n" not in message


def test_a_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no ONNX decoder at .*export-decoder"):
        check_decoder(tmp_path / "nothing.onnx", 256, 64)


def test_a_decoder_of_another_shape_is_a_checkpoint_error():
    with pytest.raises(CheckpointError, match=r"float32 \[batch, 256\] into float32 \[batch, 3, 64, 64\].*needs "
                                              r"float32 \[batch, 4\] into float32 \[batch, 3, 32, 32\]"):
        check_decoder(SHIPPED_FILE, 4, 32)
    with pytest.raises(CheckpointError, match=r"needs float32 \[batch, 256\] into float32 \[batch, 3, 32, 32\]"):
        check_decoder(SHIPPED_FILE, 256, 32)


def _identity_model(in_name: str, out_name: str, in_dims: list, out_dims: list, elem=TensorProto.FLOAT) -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node("Identity", [in_name], [out_name])], "g",
                              [helper.make_tensor_value_info(in_name, elem, in_dims)],
                              [helper.make_tensor_value_info(out_name, elem, out_dims)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("model, message", [
    (_identity_model("x", "image", ["batch", 4], ["batch", 4]), r"inputs \['x'\] and outputs \['image'\]"),
    (_identity_model("z", "y", ["batch", 4], ["batch", 4]), r"inputs \['z'\] and outputs \['y'\]"),
    (_identity_model("z", "image", ["batch", 4], ["batch", 4]),
     r"decodes float32 \[batch, 4\] into float32 \[batch, 4\]"),
    (_identity_model("z", "image", [1, 4], [1, 4]), r"decodes float32 \[1, 4\]"),  # a fixed batch: not the page's
    (_identity_model("z", "image", ["batch", 4], ["batch", 4], TensorProto.DOUBLE), r"decodes double \[batch, 4\]"),
])
def test_a_valid_onnx_model_that_is_not_this_decoder_is_a_checkpoint_error(tmp_path, model, message):
    path = tmp_path / "other.onnx"
    onnx.save(model, str(path))
    with pytest.raises(CheckpointError, match=message):
        check_decoder(path, 4, 32)


def test_a_file_whose_weights_live_in_another_file_is_refused(tmp_path):
    model = onnx.load(str(SHIPPED_FILE))
    onnx.save(model, str(tmp_path / "split.onnx"), save_as_external_data=True, location="split.data",
              size_threshold=1024)
    with pytest.raises(CheckpointError, match="separate file"):
        check_decoder(tmp_path / "split.onnx", 256, 64)


def test_decoder_path_is_keyed_by_the_first_16_hex_digits_of_the_weights_sha256(tmp_path):
    sha = "0123456789abcdef" * 4
    assert decoder_path(tmp_path, sha) == tmp_path / "web" / "decoder-0123456789abcdef.onnx"
    for bad in ("", "0123", "../../etc/passwd" + "0" * 48, sha.upper()):
        with pytest.raises(ValueError):
            decoder_path(tmp_path, bad)


def test_a_config_without_a_valid_sha_is_a_checkpoint_error(tmp_path):
    ck = tmp_path / "ck"
    shutil.copytree(SHIPPED[0], ck, ignore=shutil.ignore_patterns("projections", "analysis", "web"))
    text = (ck / "config.json").read_text()
    (ck / "config.json").write_text(text.replace(read_meta(SHIPPED[0]).weights_sha256, "../not-a-hash"))
    with pytest.raises(CheckpointError, match="no valid weights sha256"):
        ensure_decoder(ck)


# -- exporting (seconds: torch.export traces the decoder) -------------------------------------------
@pytest.mark.slow
def test_a_tiny_models_export_matches_torch_at_any_batch_size_quietly_and_leaves_the_model_alone(tmp_path, capfd,
                                                                                             monkeypatch):
    model = load_checkpoint(_tiny_checkpoint(tmp_path)).model
    model.train().requires_grad_(True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export_decoder(model, tmp_path / "out" / "decoder.onnx")
    assert not caught, [str(w.message) for w in caught]
    out, err = capfd.readouterr()
    assert out == "" and err == "", "the exporter's progress lines must not reach the CLI's output"
    assert model.training and all(p.requires_grad for p in model.parameters())  # the caller's model untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert sorted(p.name for p in path.parent.iterdir()) == ["decoder.onnx"]  # no temporary file left
    check_decoder(path, TINY_MODEL.latent_dim, TINY_MODEL.resolution)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 18 and proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    diff, levels = _onnx_vs_torch(path, model)
    assert diff < 1e-4 and levels <= 1
    model.train()
    agreement = compare_with_torch(path, model, np.zeros((64, TINY_MODEL.latent_dim), np.float32))
    assert agreement.count == 64 and agreement.max_abs < 1e-4 and "onnxruntime" in agreement.runtime
    assert model.training  # compare_with_torch decodes in eval mode and gives the mode back
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # a runtime install: onnx's reference evaluator instead
    agreement = compare_with_torch(path, model, np.ones((64, TINY_MODEL.latent_dim), np.float32))
    assert agreement.count == 4 and agreement.max_abs < 1e-4 and "reference evaluator" in agreement.runtime


@pytest.mark.slow
def test_ensure_decoder_replaces_a_corrupt_file_and_removes_the_decoders_of_other_weights(tmp_path):
    ck = _tiny_checkpoint(tmp_path)
    path = decoder_path(ck, read_meta(ck).weights_sha256)
    stale = path.parent / "decoder-0000000000000000.onnx"
    path.parent.mkdir()
    stale.write_bytes(b"old weights' decoder")
    path.write_bytes(b"truncated")
    assert ensure_decoder(ck) == path
    check_decoder(path, TINY_MODEL.latent_dim, TINY_MODEL.resolution)
    assert sorted(path.parent.iterdir()) == [path]
    diff, levels = _onnx_vs_torch(path, load_checkpoint(ck).model, n=50)
    assert diff < 1e-4 and levels <= 1
    # new weights in the same folder (save_checkpoint starts a fresh folder; a copied-in old file is the case
    # left): a new name, and the old weights' file goes
    old = path.read_bytes()
    _tiny_checkpoint(tmp_path, seed=1)
    path.parent.mkdir()
    path.write_bytes(old)
    new = ensure_decoder(ck)
    assert new != path and sorted(path.parent.iterdir()) == [new]


@pytest.mark.slow
def test_publish_writes_the_decoder_of_the_published_float16_weights(tmp_path, capsys):
    from vae_core.cli import main

    src = _tiny_checkpoint(tmp_path)
    pub = tmp_path / "published"
    assert main(["publish", "--checkpoint", str(src), "--out", str(pub), "--half"]) == 0
    shipped = load_checkpoint(pub)
    path = decoder_path(pub, shipped.fingerprint)
    assert "ONNX decoder web/" in capsys.readouterr().out and sorted((pub / "web").iterdir()) == [path]
    diff, levels = _onnx_vs_torch(path, shipped.model, n=50)
    assert diff < 1e-4 and levels <= 1


@pytest.mark.slow
def test_export_decoder_command_prints_the_path_size_and_difference(tmp_path, capsys):
    from vae_core.cli import main

    ck = _tiny_checkpoint(tmp_path)
    path = decoder_path(ck, read_meta(ck).weights_sha256)
    assert main(["export-decoder", "--checkpoint", str(ck)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {path} (") and "MB" in out and "over 64 random latents" in out and "onnxruntime" in out
    assert main(["export-decoder", "--checkpoint", str(ck)]) == 0
    assert capsys.readouterr().out.startswith(f"kept {path} (")
    assert main(["export-decoder", "--checkpoint", str(ck), "--force"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {path} (")
    assert main(["export-decoder", "--checkpoint", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


# -- the end of training --------------------------------------------------------------------------
def _train(tmp_path: Path, **train) -> list:
    return list(Trainer(blob_dataset(16), TINY_MODEL, tiny_train(epochs=1, max_steps=2, **train), tmp_path / "run",
                        device="cpu").run())


@pytest.mark.slow
def test_the_end_of_training_writes_the_final_weights_decoder_unless_told_not_to(tmp_path):
    assert TrainConfig().export_decoder, "the recipe writes it"
    done = _train(tmp_path / "on", export_decoder=True)[-1]
    assert isinstance(done, DoneEvent)
    ck = load_checkpoint(done.path)
    path = decoder_path(ck.path, ck.fingerprint)
    assert sorted((ck.path / "web").iterdir()) == [path]
    diff, levels = _onnx_vs_torch(path, ck.model, n=50)
    assert diff < 1e-4 and levels <= 1
    done = _train(tmp_path / "off", export_decoder=False)[-1]
    assert isinstance(done, DoneEvent) and not (Path(done.path) / "web").exists()


@pytest.mark.slow
def test_a_failed_export_is_a_warning_and_the_training_still_finishes(tmp_path, monkeypatch, caplog):
    def fail(checkpoint_dir, **_):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(decoder_export, "ensure_decoder", fail)
    with caplog.at_level(logging.WARNING, logger="vae_core.training.trainer"):
        events = _train(tmp_path, export_decoder=True)
    assert isinstance(events[-1], DoneEvent) and not events[-1].cancelled
    load_checkpoint(events[-1].path)  # the checkpoint is complete
    assert any("no ONNX decoder written" in r.getMessage() and "exporter exploded" in r.getMessage()
               and "export-decoder" in r.getMessage() for r in caplog.records)


def test_a_failing_exporter_is_a_checkpoint_error(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'onnxscript'")

    monkeypatch.setattr(torch.onnx, "export", missing)
    target = tmp_path / "web" / "decoder.onnx"
    with pytest.raises(CheckpointError, match=r"ModuleNotFoundError: No module named 'onnxscript'.*requirements"):
        export_decoder(ConvVAE(TINY_MODEL), target)
    assert not target.parent.exists()  # nothing written
