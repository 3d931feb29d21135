"""make_grid: faces tiled in reading order without gaps, white cells after the last face, any input layout."""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.grid import make_grid


def _faces(n: int, r: int = 4) -> np.ndarray:
    """n flat faces; face i is filled with the value i + 1 (never white)."""
    return np.repeat(np.arange(1, n + 1, dtype=np.uint8), r * r * 3).reshape(n, r, r, 3)


def test_faces_fill_rows_in_reading_order_and_the_rest_is_white():
    grid = make_grid(_faces(5), cols=3)
    assert grid.shape == (8, 12, 3) and grid.dtype == np.uint8
    cells = grid.reshape(2, 4, 3, 4, 3).transpose(0, 2, 1, 3, 4)  # [row, col, R, R, 3]
    assert [[int(c.min()) for c in row] for row in cells] == [[1, 2, 3], [4, 5, 255]]
    assert all((c == c.flat[0]).all() for row in cells for c in row)  # no padding between cells


@pytest.mark.parametrize("n,cols,shape", [(2, 8, (4, 32, 3)), (1, 1, (4, 4, 3)), (0, 2, (4, 8, 3))])
def test_a_grid_keeps_all_its_columns_even_with_fewer_faces(n, cols, shape):
    grid = make_grid(_faces(n), cols=cols)
    assert grid.shape == shape
    assert (grid[:, n * 4:] == 255).all() and (grid[:, :n * 4] == np.repeat(np.arange(1, n + 1), 4)[None, :, None]).all()


def test_strided_and_read_only_inputs_give_the_same_grid():
    faces = _faces(6)
    read_only = faces.copy()
    read_only.flags.writeable = False
    strided = np.stack([faces, faces], axis=1)[:, 0]
    assert not strided.flags.c_contiguous
    expected = make_grid(faces, cols=4)
    assert np.array_equal(make_grid(read_only, cols=4), expected)
    assert np.array_equal(make_grid(strided, cols=4), expected)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="cols"):
        make_grid(_faces(2), cols=0)
    with pytest.raises(ValueError, match=r"\[N, R, R, 3\]"):
        make_grid(np.zeros((2, 4, 4), np.uint8), cols=2)
