"""Image-folder datasets: natural order, labels CSV → attributes, clear errors; and the real 256px sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae_core.config import DataSpec
from vae_core.data import load_dataset
from vae_core.data.imagefolder import list_image_files, natural_key, read_labels_csv
from vae_core.data.schema import UNKNOWN
from vae_core.errors import DatasetError

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cartoonset-sample-256"
needs_sample = pytest.mark.skipif(not (SAMPLE / "labels.csv").is_file(), reason=f"{SAMPLE} not available")


def _folder_spec(path: Path, **kw) -> DataSpec:
    return DataSpec(kind="folder", path=str(path), resolution=kw.pop("resolution", 32), **kw)


def _make_folder(root: Path) -> Path:
    """img2/img10 (natural order), nested folder, several formats and sizes, a hidden file, a non-image."""
    root.mkdir()
    (root / "sub").mkdir()
    (root / ".hidden").mkdir()
    Image.new("RGB", (40, 40), (250, 0, 0)).save(root / "img10.png")
    Image.new("RGB", (64, 48), (0, 250, 0)).save(root / "img2.jpg", quality=95)
    Image.new("RGBA", (30, 30), (0, 0, 250, 255)).save(root / "img1.webp", lossless=True)
    Image.new("RGB", (20, 20), (9, 9, 9)).save(root / "sub" / "img3.bmp")
    Image.new("P", (20, 20), 0).save(root / "sub" / "img4.GIF")
    Image.new("RGB", (20, 20)).save(root / ".hidden" / "x.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_natural_order_and_discovery(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "f")
    rel = [p.relative_to(root).as_posix() for p in list_image_files(root)]
    assert rel == ["img1.webp", "img2.jpg", "img10.png", "sub/img3.bmp", "sub/img4.GIF"]
    assert sorted(["a10", "a2", "A1"], key=natural_key) == ["A1", "a2", "a10"]


def test_folder_without_labels(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "f")
    ds = load_dataset(_folder_spec(root, limit=3), cache_dir=tmp_path / "cache", progress=False)
    assert ds.ids == ["img1.webp", "img2.jpg", "img10.png"]
    assert ds.labels is None and ds.schema is None
    assert tuple(ds.images[2, 16, 16]) == (250, 0, 0)
    assert ds.images.shape == (3, 32, 32, 3)


def test_labels_csv_mapping(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "f")
    (root / "labels.csv").write_text(
        "file_name,hair_color,glasses,caption,constant,smile\n"
        "img1,0,-1,red face,7,1.0\n"         # by stem
        "img2.jpg,-1,1,green,7,\n"           # by name; hair -1 = unknown; empty smile = unknown
        "sub/img3.bmp,5,1,x,7,0\n"           # by relative path
        "missing.png,2,-1,y,7,1\n"           # no such file: ignored
        "img10,3,-1,z,7,0\n"
    )
    files = list_image_files(root)
    table = read_labels_csv(root / "labels.csv", root, files)
    assert table.schema.names == ("hair_color", "glasses", "smile")
    assert table.schema.cardinalities == (4, 2, 2)  # hair {0,2,3,5} (+ unknown), glasses ±1, smile {0,1}
    assert table.value_maps["hair_color"] == {0: 0, 2: 1, 3: 2, 5: 3}
    assert table.value_maps["glasses"] == {-1: 0, 1: 1}
    assert any("caption" in n and "not integer" in n for n in table.notes)
    assert any("constant" in n for n in table.notes)
    expected = {
        "img1.webp": [0, 0, 1], "img2.jpg": [UNKNOWN, 1, UNKNOWN], "img10.png": [2, 0, 0],
        "sub/img3.bmp": [3, 1, 0], "sub/img4.GIF": [UNKNOWN, UNKNOWN, UNKNOWN],  # no row
    }
    rel = [p.relative_to(root).as_posix() for p in files]
    np.testing.assert_array_equal(table.labels, np.array([expected[r] for r in rel]))

    # auto-detected labels.csv at the folder root, limit applied after sorting
    ds = load_dataset(_folder_spec(root, limit=2), cache_dir=tmp_path / "cache", progress=False)
    assert ds.schema.names == ("hair_color", "glasses", "smile")
    np.testing.assert_array_equal(ds.labels, [[0, 0, 1], [UNKNOWN, 1, UNKNOWN]])


def test_explicit_labels_csv_elsewhere(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "f")
    csv = tmp_path / "meta.csv"
    csv.write_text("image,kind\nimg1.webp,1\nimg2.jpg,2\n")
    ds = load_dataset(_folder_spec(root, labels_csv=str(csv)), cache_dir=tmp_path / "cache", progress=False)
    assert ds.schema.names == ("kind",) and ds.labels[:2, 0].tolist() == [0, 1]
    assert (ds.labels[2:, 0] == UNKNOWN).all()
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(_folder_spec(root, labels_csv="nope.csv"), cache_dir=tmp_path / "cache", progress=False)


@pytest.mark.parametrize(
    "content, message",
    [
        ("hair,glasses\n1,2\n3,4\n", "no file-name column"),
        ("file_name,hair\nimg1,1\nimg1.webp,2\n", "both describe 'img1.webp'"),
        ("file_name,hair\nimg2,1\nimg2,2\n", "duplicate rows for 'img2'"),
        ("file_name,hair\n", "at least one row"),
        ("file_name,hair\nimg1,1,9\n", "line 2: 3 cells"),
    ],
)
def test_labels_csv_errors(tmp_path: Path, content: str, message: str) -> None:
    root = _make_folder(tmp_path / "f")
    csv = tmp_path / "l.csv"
    csv.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(_folder_spec(root, labels_csv=str(csv)), cache_dir=tmp_path / "cache", progress=False)


def test_unreadable_csv(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "f")
    csv = tmp_path / "l.csv"
    csv.write_bytes(b"file_name,hair\n\xff\xfe\xfa,1\n")
    with pytest.raises(DatasetError, match="cannot be read as UTF-8 CSV"):
        read_labels_csv(csv, root, list_image_files(root))


def test_bad_auto_detected_csv_is_only_a_warning(tmp_path: Path, caplog) -> None:
    root = _make_folder(tmp_path / "f")
    (root / "labels.csv").write_text("a,b\n1,2\n")
    ds = load_dataset(_folder_spec(root), cache_dir=tmp_path / "cache", progress=False)
    assert ds.labels is None and "ignoring auto-detected" in caplog.text


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(_folder_spec(tmp_path / "typo"), cache_dir=tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError, match="contains no images"):
        load_dataset(_folder_spec(tmp_path / "empty"), cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetError, match="is a file"):
        load_dataset(_folder_spec(tmp_path / "empty" / "readme.txt"), cache_dir=tmp_path / "cache")


@needs_sample
def test_real_sample_labels() -> None:
    files = list_image_files(SAMPLE)
    assert len(files) == 1500 and files[0].name == "1.png"
    table = read_labels_csv(SAMPLE / "labels.csv", SAMPLE, files)
    assert table.matched == 1500
    assert table.schema.cardinality("hair_color") == 6  # 0..5; -1 would be UNKNOWN
    assert table.value_maps["hair_color"] == {i: i for i in range(6)}
    assert table.schema.cardinality("eyeglasses") == 2 and table.value_maps["eyeglasses"] == {-1: 0, 1: 1}
    j = table.schema.index("hair_color")
    assert set(np.unique(table.labels[:, j])) <= {UNKNOWN, 0, 1, 2, 3, 4, 5}
    assert "human" not in table.schema.names  # always -1 in the sample: nothing to learn


@needs_sample
def test_real_sample_as_dataset(tmp_path: Path) -> None:
    ds = load_dataset(_folder_spec(SAMPLE, limit=40), cache_dir=tmp_path / "cache", progress=False)
    assert ds.images.shape == (40, 32, 32, 3) and isinstance(ds.images, np.memmap)
    assert ds.ids[:3] == ["images/1.png", "images/8.png", "images/10.png"]
    assert {"hair_color", "eyeglasses"} <= set(ds.schema.names)
    assert (ds.labels[:, ds.schema.index("eyeglasses")] >= 0).all()
    # faces are on (mostly) white: the mean corner is bright, the centre is not flat white
    assert ds.images[:, 0, 0].mean() > 150 and ds.images[:, 16, 16].std() > 5
