"""Directions people make from example faces (vae_core.directions) and their place in a session (ui.generate.own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vae_core import directions as D

ROOT = Path(__file__).resolve().parents[1]


def faces_with_a_feature(n: int = 200, z: int = 16, seed: int = 0):
    """Codes where the first 30 faces share a feature: +3 along dim 2 (and noise everywhere)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(n, z))
    mu[:30, 2] += 3.0
    return mu, np.arange(30)


def test_the_direction_is_the_mean_difference_and_its_check_finds_the_feature():
    mu, sel = faces_with_a_feature()
    d = D.direction_from_examples(mu, sel.tolist(), "  round   face ", "abcd1234")
    expect = mu[:30].mean(0) - mu[30:].mean(0)
    np.testing.assert_allclose(d.vector, expect, rtol=1e-5, atol=1e-6)
    assert d.name == "round face" and (d.n_selected, d.n_rest) == (30, 170)
    assert d.check.works and d.check.nearer_after > 0.5 > d.check.nearer_before
    assert "works" in d.check.sentence()


def test_a_direction_from_faces_that_share_nothing_fails_its_check():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(300, 64))
    d = D.direction_from_examples(mu, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "noise", "abcd1234")
    assert not d.check.works and "barely separates" in d.check.sentence()
    assert D.direction_from_examples(mu, [0, 1, 2], "few", "abcd1234").check is None  # too few to check honestly


@pytest.mark.parametrize("sel, message", [([], "at least one face"), (list(range(200)), "every face is selected"),
                                          ([1, 500], "does not exist"), ([1.5], "whole numbers"), ("1,2", "list"),
                                          ([True], "whole numbers"), (None, "list"),
                                          ([0] * 201, "201 face numbers for a map of 200 faces")])
def test_a_selection_of_none_all_or_nonsense_is_refused_clearly(sel, message):
    mu, _ = faces_with_a_feature()
    with pytest.raises(D.DirectionError, match=message):
        D.direction_from_examples(mu, sel, "x", "abcd1234")


@pytest.mark.parametrize("name, message", [("", "name the feature"), ("   ", "name the feature"), (7, "must be text"),
                                           ("x" * 41, "at most 40"), ("<script>", "may hold letters")])
def test_names_are_checked(name, message):
    with pytest.raises(D.DirectionError, match=message):
        D.check_name(name)


def exported(n: int = 2, z: int = 16, model: str = "abcd1234") -> str:
    mu, sel = faces_with_a_feature(z=z)
    ds = [D.direction_from_examples(mu, sel[: 10 + k].tolist(), f"feature {k}", model) for k in range(n)]
    return D.dumps(ds, model, z)


def test_export_then_import_gives_the_same_directions():
    got = D.read_directions(exported(), "abcd1234", 16)
    assert [d.name for d in got] == ["feature 0", "feature 1"]
    mu, sel = faces_with_a_feature()
    np.testing.assert_allclose(got[0].vector, mu[:10].mean(0) - mu[10:].mean(0), atol=1e-5)


def edited(change) -> str:
    doc = json.loads(exported())
    change(doc)
    return json.dumps(doc)


@pytest.mark.parametrize("text, message", [
    (b"\xff\xfe", "not JSON"), ("[]", "not a directions file"), ("{}", "not a directions file"),
    ("x" * (D.MAX_FILE_BYTES + 1), "at most 512 kB"),
    (edited(lambda d: d.update(version=9)), "unsupported directions file version"),
    (edited(lambda d: d.update(model_id="ffff0000")), "made for model"),
    (edited(lambda d: d.update(directions=[])), "holds no directions"),
    (edited(lambda d: d["directions"][0].update(vector=[1.0] * 15)), "has 15 numbers"),
    (edited(lambda d: d["directions"][0].update(vector="abc")), "has str numbers"),
    (edited(lambda d: d["directions"][0]["vector"].__setitem__(3, "1")), "not a finite number"),
    (edited(lambda d: d["directions"][0]["vector"].__setitem__(3, 1e9)), "not a finite number"),
    (edited(lambda d: d["directions"][0].update(name="")), "name the feature"),
    (edited(lambda d: d["directions"][1].update(name="feature 0")), "share a name"),
    (edited(lambda d: d["directions"].__setitem__(0, 5)), "not an object"),
    (edited(lambda d: d.update(directions=d["directions"] * 9)), "at most 16"),
])
def test_a_hand_edited_or_foreign_file_is_refused_with_a_reason(text, message):
    with pytest.raises(D.DirectionError, match=message):
        D.read_directions(text, "abcd1234", 16)


def test_nan_in_a_file_is_refused():
    text = exported().replace("[", "[NaN,", 2).replace('"vector":[NaN,', '"vector":[NaN,')
    doc = json.loads(exported())
    doc["directions"][0]["vector"][0] = float("nan")
    with pytest.raises(D.DirectionError, match="not a finite number"):
        D.read_directions(json.dumps(doc), "abcd1234", 16)
    assert text  # the literal NaN JSON Python writes is what a hand edit would contain


def test_saved_into_a_checkpoint_and_loaded_back(tmp_path):
    mu, sel = faces_with_a_feature()
    d = D.direction_from_examples(mu, sel.tolist(), "Beard (big)", "abcd1234")
    path = D.save_to_checkpoint(tmp_path, d, 16)
    assert path == tmp_path / "directions" / "beard-big.json"
    (tmp_path / "directions" / "broken.json").write_text("{")  # skipped, not fatal
    got = D.load_from_checkpoint(tmp_path, "abcd1234", 16)
    assert [g.name for g in got] == ["Beard (big)"]
    assert D.load_from_checkpoint(tmp_path, "00000000", 16) == []  # files of other weights are not offered


# -- in a session (ui.generate.own) --------------------------------------------------------------------
def test_a_session_holds_its_own_directions_up_to_the_slots():
    from ui.common.errors import UserInputError
    from ui.common.state import SessionState
    from ui.generate import own
    from vae_core.slider_layout import N_OWN

    mu, sel = faces_with_a_feature()
    st = SessionState()
    for k in range(N_OWN):
        st = own.with_direction(st, own.own_from(D.direction_from_examples(mu, sel.tolist(), f"f{k}", "abcd1234")))
    assert [d.name for d in st.own_directions] == [f"f{k}" for k in range(N_OWN)]
    again = own.with_direction(st, own.own_from(D.direction_from_examples(mu, [0, 1], "f0", "abcd1234")))
    assert len(again.own_directions) == N_OWN and again.own_directions[-1].name == "f0"  # replaced by name
    with pytest.raises(UserInputError, match="all are taken"):
        own.with_direction(st, own.own_from(D.direction_from_examples(mu, [0, 1], "new", "abcd1234")))
    z = np.zeros(16, np.float32)
    moved = own.add_own(z, st, [1.0, 0.0, -2.0, float("nan")])
    np.testing.assert_allclose(moved, np.asarray(st.own_directions[0].vector) - 2 * np.asarray(st.own_directions[2].vector),
                               rtol=1e-6, atol=1e-6)


def test_the_cli_saves_a_direction_into_a_checkpoint(tmp_path):
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(ROOT / "checkpoints" / "synthetic", ckpt)
    done = subprocess.run([sys.executable, "-m", "vae_core", "direction", "--checkpoint", str(ckpt),
                           "--name", "beard", "--faces", "1,2,3,5,8,13,21"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "saved 'beard' (7 faces against" in done.stdout
    from vae_core import Explorer

    ex = Explorer.open(ckpt)
    got = D.load_from_checkpoint(ckpt, ex.model_id, ex.latent_dim)
    assert [g.name for g in got] == ["beard"]
    bad = subprocess.run([sys.executable, "-m", "vae_core", "direction", "--checkpoint", str(ckpt), "--name", "x",
                          "--faces", "1,a"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "comma-separated face numbers" in bad.stderr and "Traceback" not in bad.stderr
