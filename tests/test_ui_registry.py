"""Settings from the environment and the shared explorer registry (ui.common.settings, ui.common.registry)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import ui_harness
from ui.common.registry import ExplorerRegistry
from ui.common.settings import AppSettings
from vae_core.errors import CheckpointError


def test_settings_defaults_and_env(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    s = AppSettings.from_env({}, repo_root=repo)
    assert s.default_checkpoint == (repo / "checkpoints" / "default").resolve()
    assert s.data_roots == ((repo / "data").resolve(),)  # ../shared/data does not exist here
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert len(AppSettings.from_env({}, repo_root=repo).data_roots) == 2
    s = AppSettings.from_env({"CVAE_DATA_ROOTS": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]),
                              "CVAE_RUNS_DIR": str(tmp_path / "r"), "CVAE_MAX_UPLOAD": "1mb"}, repo_root=repo)
    assert s.data_roots == ((tmp_path / "a").resolve(), (tmp_path / "b").resolve())
    assert s.runs_dir in s.checkpoint_dirs and s.max_file_size == "1mb"
    with pytest.raises(ValueError, match="CVAE_MAP_METHOD"):
        AppSettings.from_env({"CVAE_MAP_METHOD": "tsne"}, repo_root=repo)


@pytest.fixture()
def registry(tmp_path) -> ExplorerRegistry:
    ck = tmp_path / "checkpoints" / "default"
    shutil.copytree(ui_harness.tiny_checkpoint(), ck)
    shutil.copytree(ck, tmp_path / "runs" / "other")
    s = AppSettings.from_env({"CVAE_CHECKPOINT": str(ck), "CVAE_RUNS_DIR": str(tmp_path / "runs"),
                              "CVAE_UI_CACHE": str(tmp_path / "cache")}, repo_root=tmp_path)
    return ExplorerRegistry(s)


def test_lists_default_first_and_refuses_unknown_paths(registry, tmp_path):
    paths = registry.checkpoints()
    assert paths[0].name == "default" and {p.name for p in paths} == {"default", "other"}
    labels = dict((v, k) for k, v in registry.choices())
    # The picker and the API name checkpoints relative to their folders: no server path leaves the app.
    assert set(labels) == {"checkpoints/default", "runs/other"}
    assert not any(str(tmp_path) in k or str(tmp_path) in v for k, v in registry.choices())
    assert "SYNTHETIC" in labels["checkpoints/default"]
    assert registry.resolve(None) == paths[0] and registry.resolve("") == paths[0]
    assert registry.resolve("runs/other") == tmp_path / "runs" / "other"
    for bad in ("/etc", str(tmp_path), "../../checkpoints/default", "nonsense", "runs/../checkpoints/default"):
        with pytest.raises(CheckpointError, match="not one of"):
            registry.get(bad)
    with pytest.raises(CheckpointError, match="string"):
        registry.get(["checkpoints/default"])


def test_one_shared_explorer_per_checkpoint_version(registry):
    a = registry.get(None)
    assert registry.get(str(a.path)) is a
    assert registry.derived(a, "x", lambda: object()) is registry.derived(a, "x", lambda: object())
    cfg = a.path / "config.json"
    later = time.time() + 5
    os.utime(cfg, (later, later))  # the checkpoint was rewritten in place (a resumed run)
    b = registry.get(None)
    assert b is not a and registry.get(None) is b


def test_uncached_umap_falls_back_to_pca_and_computes_in_background(registry, monkeypatch):
    ex = registry.get(None)
    started = []
    monkeypatch.setattr(ExplorerRegistry, "_compute_map", lambda self, e, m: started.append((e, m)))
    data, final = registry.map_or_fallback(ex, "umap")
    assert data.method == "pca" and not final
    for _ in range(50):
        if started:
            break
        time.sleep(0.02)
    assert started == [(ex, "umap")]
    assert registry.map_or_fallback(ex, "pca")[1]


def test_missing_default_checkpoint_is_a_clear_error(tmp_path):
    s = AppSettings.from_env({"CVAE_CHECKPOINT": str(tmp_path / "nope"), "CVAE_RUNS_DIR": str(tmp_path / "r")},
                             repo_root=tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        ExplorerRegistry(s).get(None)
    assert Path(s.default_checkpoint).name == "nope"
