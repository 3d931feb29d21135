"""Several image folders read as one dataset (``--path A --path B``): one label coding, unique ids, a split
over the whole, a recorded command that rebuilds the spec, and clear errors for a missing or empty folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae_core.cli import build_parser, data_spec
from vae_core.config import DataSpec
from vae_core.data import load_dataset
from vae_core.data.cards import card_for
from vae_core.errors import ConfigError, DatasetError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE, MORE = SHARED / "cartoonset-sample-256", SHARED / "cartoonset-more-256"
needs_both = pytest.mark.skipif(not ((SAMPLE / "labels.csv").is_file() and (MORE / "labels.csv").is_file()),
                                reason="the two real-face folders are not available")


def _folder(root: Path, colours: list[tuple[int, int, int]], labels: str | None) -> Path:
    """A folder of flat-colour faces named 1.png, 2.png, … (the same names in every folder)."""
    (root / "images").mkdir(parents=True)
    for i, c in enumerate(colours, start=1):
        Image.new("RGB", (24, 24), c).save(root / "images" / f"{i}.png")
    if labels is not None:
        (root / "labels.csv").write_text(labels)
    return root


def _spec(*roots: Path, **kw) -> DataSpec:
    return DataSpec(kind="folder", path=str(roots[0]), extra_paths=tuple(str(r) for r in roots[1:]),
                    resolution=32, **kw)


def test_two_folders_one_dataset_one_label_coding(tmp_path: Path) -> None:
    # Folder b uses hair colour 7, which a lacks: a code must mean the same value in both folders.
    a = _folder(tmp_path / "a", [(200, 0, 0), (0, 200, 0)], "file_name,hair,glasses\n1,0,-1\n2,3,1\n")
    b = _folder(tmp_path / "b", [(0, 0, 200), (9, 9, 9), (99, 99, 99)], "file_name,hair,glasses\n1,7,1\n2,3,-1\n")
    ds = load_dataset(_spec(a, b), cache_dir=tmp_path / "cache", progress=False)
    assert ds.ids == ["a/images/1.png", "a/images/2.png", "b/images/1.png", "b/images/2.png", "b/images/3.png"]
    assert tuple(ds.images[2, 10, 10]) == (0, 0, 200)
    hair = ds.labels[:, ds.schema.index("hair")]
    assert hair.tolist() == [0, 1, 2, 1, -1]  # values 0, 3, 7 → codes 0, 1, 2; 3.png has no row
    assert ds.schema.cardinality("hair") == 3


def test_a_folder_without_labels_leaves_its_faces_unknown(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", [(200, 0, 0), (0, 200, 0)], "file_name,glasses\n1,-1\n2,1\n")
    b = _folder(tmp_path / "b", [(0, 0, 200)], None)
    ds = load_dataset(_spec(a, b), cache_dir=tmp_path / "cache", progress=False)
    assert ds.labels[:, 0].tolist() == [0, 1, -1]


def test_limit_and_split_cover_the_folders_in_order(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", [(i, 0, 0) for i in range(0, 250, 50)], None)
    b = _folder(tmp_path / "b", [(0, i, 0) for i in range(0, 250, 50)], None)
    ds = load_dataset(_spec(a, b, limit=7), cache_dir=tmp_path / "cache", progress=False)
    assert len(ds) == 7 and ds.ids[5:] == ["b/images/1.png", "b/images/2.png"]
    whole = load_dataset(_spec(a, b, val_fraction=0.3), cache_dir=tmp_path / "cache", progress=False)
    train, val = whole.split()
    assert len(val) == 3 and len(set(train) | set(val)) == 10
    # the same faces held out on every load: the split is recorded by the spec alone
    again = load_dataset(_spec(a, b, val_fraction=0.3), cache_dir=tmp_path / "cache", progress=False)
    assert [again.ids[i] for i in again.split()[1]] == [whole.ids[i] for i in val]


def test_bad_folders_are_named(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", [(1, 2, 3)], None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(_spec(a, tmp_path / "missing"), cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match="contains no images"):
        load_dataset(_spec(a, empty), cache_dir=tmp_path / "cache", progress=False)
    same_name = _folder(tmp_path / "x" / "a", [(1, 2, 3)], None)
    with pytest.raises(DatasetError, match="same name"):
        load_dataset(_spec(a, same_name), cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(ConfigError, match="named twice"):
        _spec(a, a)
    with pytest.raises(ConfigError, match="only image-folder"):
        DataSpec(kind="cartoonset", path=str(a), extra_paths=(str(a),))
    with pytest.raises(DatasetError, match="--labels"):
        load_dataset(_spec(a, _folder(tmp_path / "c", [(3, 2, 1)], None), labels_csv="x.csv"),
                     cache_dir=tmp_path / "cache", progress=False)


def test_different_csv_columns_are_refused_for_labels_only(tmp_path: Path, caplog) -> None:
    a = _folder(tmp_path / "a", [(200, 0, 0)], "file_name,glasses\n1,1\n")
    b = _folder(tmp_path / "b", [(0, 0, 200)], "file_name,smile\n1,1\n")
    ds = load_dataset(_spec(a, b), cache_dir=tmp_path / "cache", progress=False)
    assert ds.labels is None and len(ds) == 2
    assert "different columns" in caplog.text


def test_cli_repeats_path_and_the_spec_round_trips(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    args = build_parser().parse_args(["train", "--data", "folder", "--path", str(a), "--path", str(b)])
    spec = data_spec(args, 64)
    assert spec.paths == (str(a.resolve()), str(b.resolve()))
    assert DataSpec.from_dict(spec.to_dict()) == spec
    one = data_spec(build_parser().parse_args(["train", "--data", "folder", "--path", str(a)]), 64)
    assert one.extra_paths == () and one.paths == (str(a.resolve()),)
    # a one-folder spec serialises as before several folders existed: caches keyed by it keep their names
    assert "extra_paths" not in one.to_dict() and spec.to_dict()["extra_paths"] == [str(b.resolve())]
    assert DataSpec.from_dict({k: v for k, v in one.to_dict().items() if k != "extra_paths"}) == one


@needs_both
def test_the_two_real_folders_make_2100_faces(tmp_path: Path) -> None:
    spec = DataSpec(kind="folder", path=str(SAMPLE), extra_paths=(str(MORE),), val_fraction=0.05)
    ds = load_dataset(spec, cache_dir=tmp_path / "cache", progress=False)
    assert len(ds) == 2100 and len(set(ds.ids)) == 2100
    assert len(ds.split()[1]) == 105
    assert card_for(spec).real and "2,100" in card_for(spec).name
    assert "cartoonset-sample-256 + cartoonset-more-256" in spec.describe() and "/work" not in spec.describe()
    assert (ds.labels[:, ds.schema.index("eyeglasses")] >= 0).all()
    alone = load_dataset(DataSpec(kind="folder", path=str(SAMPLE)), cache_dir=tmp_path / "cache", progress=False)
    assert np.array_equal(alone.images, ds.images[:1500]) and np.array_equal(alone.labels, ds.labels[:1500])
