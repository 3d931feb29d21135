"""The front door: ``ConvVAE.from_pretrained`` / ``save_pretrained`` and ``Explorer.open`` on a local folder and
on a Hugging Face Hub repo id, the latter against a Hub cache laid out here exactly as ``huggingface_hub``
writes one, read by the real ``snapshot_download`` with ``HF_HUB_OFFLINE=1`` (nothing of ours is mocked)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import ROOT, TINY_MODEL
from vae_core import ConvVAE, DataSpec, Explorer, VaeCoreError
from vae_core.checkpoint import CONFIG, WEIGHTS, read_meta
from vae_core.errors import CheckpointError
from vae_core.hub import is_repo_id

SPEC = DataSpec(kind="folder", path="/tmp/faces", resolution=TINY_MODEL.resolution)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_then_load_gives_equal_config_and_tensors(tmp_path):
    torch.manual_seed(0)
    model = ConvVAE(TINY_MODEL)
    folder = model.save_pretrained(tmp_path / "tiny", data=SPEC, metrics={"val_ssim": 0.5})
    loaded = ConvVAE.from_pretrained(folder)
    assert loaded.config == model.config and _same_weights(model, loaded)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert loaded.pretrained_meta.data == SPEC and loaded.pretrained_meta.metrics["val_ssim"] == 0.5


def test_a_loaded_model_saves_again_with_its_provenance(tmp_path):
    first = ConvVAE(TINY_MODEL).save_pretrained(tmp_path / "a", data=SPEC, metrics={"val_ssim": 0.5})
    model = ConvVAE.from_pretrained(first)
    second = model.save_pretrained(tmp_path / "b", metrics={"note": 1}, half=True)
    meta = read_meta(second)
    assert meta.data == SPEC and meta.metrics == {"val_ssim": 0.5, "note": 1}
    assert meta.extra["weights_dtype"] == "float16"
    assert model.pretrained_meta.weights_sha256 == read_meta(first).weights_sha256  # the source is untouched
    again = ConvVAE.from_pretrained(second)
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v.half().float() if v.is_floating_point() else v)


def test_a_new_model_must_say_how_its_inputs_are_prepared(tmp_path):
    with pytest.raises(ValueError, match="data=DataSpec"):
        ConvVAE(TINY_MODEL).save_pretrained(tmp_path / "x")
    with pytest.raises(ValueError, match="resolution"):
        ConvVAE(TINY_MODEL).save_pretrained(tmp_path / "x", data=DataSpec(resolution=64))
    assert not (tmp_path / "x").exists()


def test_explorer_opens_what_save_pretrained_wrote(tmp_path):
    folder = ConvVAE(TINY_MODEL).save_pretrained(tmp_path / "tiny", data=SPEC)
    explorer = Explorer.open(folder)
    assert explorer.latent_dim == TINY_MODEL.latent_dim
    assert explorer.decode(torch.zeros(TINY_MODEL.latent_dim).numpy()).shape == (1, 32, 32, 3)


@pytest.mark.parametrize("name, repo", [("owner/name", True), ("a-b.c/d_e", True), ("./x", False), ("/abs/p", False),
                                        ("a/b/c", False), ("noslash", False), ("../up", False), ("a/..", False)])
def test_repo_ids_are_told_from_paths(name, repo):
    assert is_repo_id(name) is repo


def test_a_missing_local_run_gets_the_loaders_message_not_a_hub_lookup(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint at runs/missing"):
        ConvVAE.from_pretrained("runs/missing")


def _hub_cache(cache: Path, repo_id: str, checkpoint: Path) -> str:
    """Lay ``checkpoint`` out as the Hub cache holds a downloaded model repo: content-addressed blobs, a
    snapshot folder of symlinks named by the commit, and ``refs/main`` naming that commit."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    for file in sorted(p for p in checkpoint.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / file.relative_to(checkpoint)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


HUB_SCRIPT = """
import json, sys
from vae_core import ConvVAE, Explorer, VaeCoreError
repo, commit = sys.argv[1], sys.argv[2]
model = ConvVAE.from_pretrained(repo)
pinned = ConvVAE.from_pretrained(repo, revision=commit)
explorer = Explorer.open(repo)
try:
    ConvVAE.from_pretrained("nobody/nothing")
    missing = None
except VaeCoreError as e:
    missing = str(e)
print(json.dumps({"sha": model.pretrained_meta.weights_sha256, "pinned": pinned.pretrained_meta.weights_sha256,
                  "explorer": explorer.checkpoint.fingerprint, "path": str(explorer.path), "missing": missing,
                  "sum": float(sum(p.double().sum() for p in model.state_dict().values()))}))
"""


def test_from_pretrained_reads_a_hub_repo_from_the_hub_cache_offline(tmp_path):
    torch.manual_seed(1)
    model = ConvVAE(TINY_MODEL)
    folder = model.save_pretrained(tmp_path / "tiny", data=SPEC)
    cache = tmp_path / "hub"
    commit = _hub_cache(cache, "cartoon-vae/tiny", folder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", HUB_SCRIPT, "cartoon-vae/tiny", commit], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    sha = json.loads((folder / CONFIG).read_text())["weights_sha256"]
    assert out["sha"] == out["pinned"] == out["explorer"] == sha
    assert Path(out["path"]).is_relative_to(cache) and (Path(out["path"]) / WEIGHTS).is_file()
    assert out["sum"] == pytest.approx(float(sum(p.double().sum() for p in model.state_dict().values())))
    assert "nobody/nothing" in out["missing"] and "HF_HUB_OFFLINE" in out["missing"]


def test_the_public_api_is_what_init_lists():
    import vae_core

    assert vae_core.__version__ and set(dir(vae_core)) == set(vae_core.__all__)
    for name in vae_core.__all__:
        assert getattr(vae_core, name) is not None, name
    with pytest.raises(AttributeError):
        vae_core.not_a_name  # noqa: B018
    assert issubclass(CheckpointError, VaeCoreError)
