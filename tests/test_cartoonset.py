"""Strict reading of the official Cartoon Set layout (cs*.png + 18-line cs*.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartoonset_fixtures import SORTED_FACE_IDS, TinySet, cartoonset_dir, csv_text, face_labels, tiny_set  # noqa: F401
from vae_core.config import DataSpec
from vae_core.data import load_dataset
from vae_core.data.cartoonset import parse_attribute_line, parse_cartoonset_csv, read_cartoonset_index
from vae_core.data.schema import CARTOONSET_SCHEMA
from vae_core.errors import DatasetError


def test_index_sorted_with_labels_in_schema_order(cartoonset_dir: Path, tiny_set: TinySet) -> None:
    idx = read_cartoonset_index(cartoonset_dir)
    assert idx.ids == list(SORTED_FACE_IDS)
    assert [p.name for p in idx.paths] == [f"{i}.png" for i in SORTED_FACE_IDS]
    assert idx.labels.dtype == np.int64 and idx.labels.shape == (6, 18)
    np.testing.assert_array_equal(idx.labels, np.stack([tiny_set.labels[i] for i in SORTED_FACE_IDS]))
    CARTOONSET_SCHEMA.validate_labels(idx.labels)
    assert len(read_cartoonset_index(cartoonset_dir, limit=2)) == 2


def test_100k_layout_subfolders(tmp_path: Path) -> None:
    for sub, fid in (("1", "cs9"), ("0", "cs7"), ("0", "cs10")):
        d = tmp_path / "cartoonset100k" / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{fid}.png").write_bytes(b"")
        (d / f"{fid}.csv").write_text(csv_text(face_labels(1)))
    idx = read_cartoonset_index(tmp_path / "cartoonset100k")
    assert idx.ids == ["0/cs7", "0/cs10", "1/cs9"]


def test_line_order_is_free_and_quotes_optional(tmp_path: Path) -> None:
    lab = face_labels(5)
    lines = csv_text(lab).splitlines()
    lines.reverse()
    lines[0] = lines[0].replace('"', "")
    f = tmp_path / "cs1.csv"
    f.write_text("\n".join(lines) + "\n\n")
    np.testing.assert_array_equal(parse_cartoonset_csv(f), lab)


def _csv_with(tmp_path: Path, lineno: int, replacement: str) -> Path:
    lines = csv_text(face_labels(2)).splitlines()
    lines[lineno - 1] = replacement
    f = tmp_path / "cs77.csv"
    f.write_text("\n".join(lines) + "\n")
    return f


@pytest.mark.parametrize(
    "lineno, line, message",
    [
        (3, '"eye_lid" 1 2', r"cs77\.csv, line 3: malformed line"),
        (3, '"eye_lid", 1', r"line 3: malformed line"),
        (3, '"eye_lid", one, 2', r"line 3: malformed line"),
        (5, '"nose_size", 1, 2', r"line 5: unknown attribute 'nose_size'"),
        (8, '"face_shape", 4, 8', r"line 8: attribute 'face_shape' says it has 8 values.*schema has 7"),
        (8, '"face_shape", 7, 7', r"line 8: value 7 of 'face_shape' is outside 0\.\.6"),
        (8, '"face_shape", -1, 7', r"line 8: value -1"),
        (8, '"eye_angle", 1, 3', r"line 8: attribute 'eye_angle' appears twice"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, lineno: int, line: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_cartoonset_csv(_csv_with(tmp_path, lineno, line))


def test_csv_missing_attribute_and_undecodable(tmp_path: Path) -> None:
    lines = csv_text(face_labels(2)).splitlines()
    f = tmp_path / "cs8.csv"
    f.write_text("\n".join(lines[:-1]))
    with pytest.raises(DatasetError, match="lacks 1 attribute.*eye_eyebrow_distance"):
        parse_cartoonset_csv(f)
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DatasetError, match="cannot be read"):
        parse_cartoonset_csv(f)


def test_missing_csv_and_missing_folder(cartoonset_dir: Path, tmp_path: Path) -> None:
    (cartoonset_dir / "cs20.csv").unlink()
    with pytest.raises(DatasetError, match=r"cs20\.png.*lacks 'cs20\.csv'"):
        read_cartoonset_index(cartoonset_dir)
    with pytest.raises(DatasetError, match="does not exist.*download"):
        read_cartoonset_index(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="does not exist.*download"):
        load_dataset(DataSpec(kind="cartoonset", path=str(tmp_path / "nowhere")), cache_dir=tmp_path / "c")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no Cartoon Set images"):
        read_cartoonset_index(empty)


def test_bad_csv_fails_load_dataset_before_decoding(cartoonset_dir: Path, tmp_path: Path) -> None:
    (cartoonset_dir / "cs3.csv").write_text('"face_shape", 9, 7\n')
    with pytest.raises(DatasetError, match=r"cs3\.csv, line 1"):
        load_dataset(DataSpec(kind="cartoonset", path=str(cartoonset_dir), resolution=32),
                      cache_dir=tmp_path / "cache", progress=False)


def test_parse_attribute_line_accepts_official_format() -> None:
    assert parse_attribute_line('"face_shape", 4, 7') == ("face_shape", 4, 7)
    assert parse_attribute_line('  "hair",110,111  \r') == ("hair", 110, 111)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_property_line_parser_parses_or_raises_dataset_error(text: str) -> None:
    try:
        name, value, card = parse_attribute_line(text, "fuzz.csv, line 1")
    except DatasetError as e:
        assert "fuzz.csv, line 1" in str(e)
        return
    assert isinstance(name, str) and isinstance(value, int) and isinstance(card, int)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(CARTOONSET_SCHEMA.names), value=st.integers(-5, 200), card=st.integers(0, 200),
       quote=st.booleans(), space=st.sampled_from(["", " ", "\t"]))
def test_property_line_parser_round_trips(name: str, value: int, card: int, quote: bool, space: str) -> None:
    q = '"' if quote else ""
    assert parse_attribute_line(f"{q}{name}{q},{space}{value},{space}{card}") == (name, value, card)
