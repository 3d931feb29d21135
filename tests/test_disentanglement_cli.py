"""``python -m vae_core beta-sweep`` and ``evaluate --disentanglement`` end to end on a tiny synthetic set.

Tiny settings (300 synthetic faces at 32×32, z = 4, one epoch) keep it to seconds: the numbers are not
meaningful scores, only checked to be present, named and in range; the metrics themselves are tested
on known answers in test_disentanglement.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "300", "--resolution", "32", "--latent-dim", "4", "--channels", "8,16,16", "--epochs", "1",
        "--batch-size", "32"]
pytestmark = pytest.mark.slow  # each test starts interpreters that import torch and train for a second

SCORES = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap")


cli = run_cli


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    proc = cli("beta-sweep", *TINY, "--betas", "0.5,4", "--out", str(tmp / "runs"), "--plot", str(tmp / "rd.png"),
               cache=tmp / "cache")
    return tmp, proc


def test_sweep_prints_one_row_per_beta_with_every_metric(sweep):
    tmp, proc = sweep
    out = proc.stdout
    for name in ("MSE", "PSNR", "SSIM", "rate (KL)", "distortion", "active", "MIG", "DCI-D", "DCI-C", "DCI-I", "SAP"):
        assert name in out
    assert "SYNTHETIC" in out and "200 train / 100 test" in out  # 300 faces: split 2:1, said so
    rows = [ln for ln in out.splitlines() if re.match(r"\| (0\.5|4) \|", ln)]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        active, scores = cells[6], [float(c) for c in cells[7:]]
        assert re.fullmatch(r"[0-4]/4", active)
        assert all(-1e-9 <= v <= 1 for v in scores)
        assert float(cells[4]) >= 0 and float(cells[5]) > 0  # rate, distortion in nats/image
    for beta in ("0.5", "4"):
        assert (tmp / "runs" / f"beta-{beta}" / "model.safetensors").is_file()


def test_sweep_plot_is_a_png(sweep):
    tmp, proc = sweep
    img = np.asarray(Image.open(tmp / "rd.png"))
    assert img.shape == (320, 840, 3) and (img < 128).any()  # drawn on, not blank
    assert "wrote" in proc.stderr


def test_sweep_json(tmp_path):
    proc = cli("beta-sweep", *TINY, "--betas", "1", "--out", str(tmp_path / "runs"), "--json", cache=tmp_path / "cache")
    d = json.loads(proc.stdout)
    (p,) = d["points"]
    assert p["beta"] == 1.0 and p["rate"] >= 0 and p["distortion"] > 0 and 0 <= p["ssim"] <= 1
    for key in SCORES:
        assert 0 <= p[key] <= 1
    assert len(p["scorecard"]["factors"]) == 18 and np.array(p["scorecard"]["importance"]).shape == (4, 18)


def test_evaluate_disentanglement_table_and_json(sweep):
    tmp, _ = sweep
    ck = str(tmp / "runs" / "beta-0.5")
    table = cli("evaluate", "--checkpoint", ck, "--disentanglement", cache=tmp / "cache").stdout
    assert "ssim" in table  # the usual report is still there
    for name in ("MIG", "DCI disentanglement", "DCI completeness", "DCI informativeness", "SAP", "hair_color"):
        assert name in table
    for name in ("MIG", "SAP"):
        v = float(re.search(rf"\| {name} \| ([-0-9.]+) \|", table).group(1))
        assert 0 <= v <= 1
    report = json.loads(cli("evaluate", "--checkpoint", ck, "--disentanglement", "--json", "--num-train", "150",
                            "--num-test", "60", cache=tmp / "cache").stdout)
    card = report["disentanglement"]
    assert (card["n_train"], card["n_test"]) == (150, 60) and "ssim" in report
    for key in SCORES:
        assert 0 <= card[key] <= 1
    # the scorecard reports each attribute slider's mean edit fidelity, and is cached for the app
    assert re.search(r"\| edit fidelity \(mean of 18 attributes, strength 1\) \| [0-9.]+ \|", table)
    fid = report["edit_fidelity"]["attributes"]
    assert len(fid) == 18 and all(0 <= a["fidelity"] <= 1 for a in fid)
    assert len(list((Path(ck) / "analysis").glob("analysis-*.json"))) == 2  # one per parameter set
    again = cli("evaluate", "--checkpoint", ck, "--disentanglement", cache=tmp / "cache")
    assert "scoring" not in again.stderr and again.stdout == table  # loaded, not recomputed


def test_bad_flags_exit_2_with_one_line(tmp_path):
    bad = cli("beta-sweep", "--betas", "1,x", cache=tmp_path, check=False)
    assert bad.returncode == 2 and "--betas must be comma-separated numbers" in bad.stderr
    neg = cli("beta-sweep", "--betas=-1", cache=tmp_path, check=False)
    assert neg.returncode == 2 and "finite number >= 0" in neg.stderr
    zero = cli("evaluate", "--disentanglement", "--num-train", "0", cache=tmp_path, check=False)
    assert zero.returncode == 2 and "must be >= 1" in zero.stderr


SAMPLE = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"


def _train_and_score(tmp: Path, *data: str) -> dict:
    ck = tmp / "ck"
    cli("train", *data, "--resolution", "32", "--latent-dim", "4", "--channels", "8,16,16", "--epochs", "1",
        "--batch-size", "32", "--out", str(ck), cache=tmp / "cache")
    return json.loads(cli("evaluate", "--checkpoint", str(ck), "--disentanglement", "--json", cache=tmp / "cache").stdout)


def test_scorecard_on_a_cartoonset_folder_with_the_official_csvs(tmp_path):
    """The real set's layout: cs*.png (500×500 RGBA) + one CSV of 18 '"name", value, cardinality' lines each."""
    from cartoonset_fixtures import csv_text, draw_face, face_labels

    root = tmp_path / "cartoonset10k"
    root.mkdir()
    for i in range(150):
        labels = face_labels(i)
        draw_face(labels, size=120).resize((500, 500)).save(root / f"cs{i}.png")
        (root / f"cs{i}.csv").write_text(csv_text(labels))
    report = _train_and_score(tmp_path, "--data", "cartoonset", "--path", str(root))
    card = report["disentanglement"]
    assert [f["name"] for f in card["factors"]][:3] == ["eye_angle", "eye_lashes", "eye_lid"]
    assert len(card["factors"]) == 18 and (card["n_train"], card["n_test"]) == (100, 50)
    for key in SCORES:
        assert 0 <= card[key] <= 1


@pytest.mark.skipif(not (SAMPLE / "labels.csv").is_file(), reason="needs ../shared/data/cartoonset-sample-256")
def test_scorecard_on_an_image_folder_with_a_labels_csv(tmp_path):
    """The course's labels CSV of the real sample: hair_color (6 values), eyeglasses and young (±1) are
    scored; `smiling` and `human` hold one value for every face and are dropped by the folder reader."""
    report = _train_and_score(tmp_path, "--data", "folder", "--path", str(SAMPLE), "--limit", "300")
    card = report["disentanglement"]
    names = {f["name"]: f for f in card["factors"]}
    assert set(names) == {"hair_color", "eyeglasses", "young"}
    assert not any(f["skipped"] for f in names.values()) and 0 <= names["hair_color"]["mig"] <= 1
    assert np.array(card["importance"]).shape == (4, 3)
    for key in SCORES:
        assert 0 <= card[key] <= 1
