"""The shared .npy storage and process pool of both dataset caches: whole files or none, checked on read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vae_core.data import pool
from vae_core.data.npy_files import load_npy, save_npy, write_npy_rows

IMAGES = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)


def test_streamed_rows_give_the_file_np_save_writes(tmp_path: Path) -> None:
    write_npy_rows(tmp_path / "rows.npy", np.uint8, IMAGES.shape, iter(IMAGES))
    save_npy(tmp_path / "whole.npy", IMAGES)
    np.save(tmp_path / "ref.npy", IMAGES)
    assert (tmp_path / "rows.npy").read_bytes() == (tmp_path / "ref.npy").read_bytes()
    assert (tmp_path / "whole.npy").read_bytes() == (tmp_path / "ref.npy").read_bytes()
    loaded = load_npy(tmp_path / "rows.npy", np.uint8, (5, None, 8, 3), mmap=True)
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable and np.array_equal(loaded, IMAGES)


@pytest.mark.parametrize("rows", [IMAGES[:4], np.concatenate([IMAGES, IMAGES[:1]]), IMAGES[:, :4]],
                         ids=["too few", "too many", "wrong shape"])
def test_wrong_rows_leave_no_file(tmp_path: Path, rows: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_npy_rows(tmp_path / "a.npy", np.uint8, IMAGES.shape, iter(rows))
    assert list(tmp_path.iterdir()) == []


def test_a_failing_producer_leaves_no_file(tmp_path: Path) -> None:
    def rows():
        yield IMAGES[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_npy_rows(tmp_path / "a.npy", np.uint8, IMAGES.shape, rows())
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_other_dtype_shape_and_broken_files(tmp_path: Path) -> None:
    save_npy(tmp_path / "a.npy", IMAGES)
    with pytest.raises(ValueError, match="expected int64"):
        load_npy(tmp_path / "a.npy", np.int64, IMAGES.shape)
    with pytest.raises(ValueError, match="expected uint8"):
        load_npy(tmp_path / "a.npy", np.uint8, (6, 8, 8, 3))
    with pytest.raises(ValueError):
        load_npy(tmp_path / "a.npy", np.uint8, (5, 8, 8))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "a.npy").read_bytes()[:100])
    for name in ("empty.npy", "cut.npy"):
        with pytest.raises(ValueError):
            load_npy(tmp_path / name, np.uint8, IMAGES.shape)
    with pytest.raises(OSError):
        load_npy(tmp_path / "missing.npy", np.uint8, IMAGES.shape)


def _square(x: int) -> int:
    return x * x


def test_ordered_map_runs_in_process_when_no_pool_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoProcesses:
        def Pool(self, n: int):
            raise OSError("no processes here")

    monkeypatch.setattr(pool, "pool_context", NoProcesses)
    with pool.ordered_map(_square, list(range(10)), workers=4) as results:
        assert list(results) == [x * x for x in range(10)]
