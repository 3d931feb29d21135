"""Training augmentations: what they do to pixels, and that they are a pure function of (seed, step, rank)."""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.config import TrainConfig
from vae_core.errors import ConfigError
from vae_core.training.augment import augment


def _dots(n: int = 64, r: int = 16) -> np.ndarray:
    """n images on a grey background, each with one white pixel in the centre and a black top row."""
    b = np.full((n, r, r, 3), 128, np.uint8)
    b[:, r // 2, r // 2] = 255
    b[:, 0, :] = 0
    return b


def _dot_position(img: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero((img == 255).all(axis=-1))
    assert len(ys) == 1
    return int(ys[0]), int(xs[0])


def test_off_is_the_identity():
    b = _dots()
    assert augment(b, hflip=False, shift=0, seed=0, step=3) is b


def test_shift_moves_content_within_the_bound_and_repeats_the_edge():
    b = _dots()
    out = augment(b, hflip=False, shift=2, seed=0, step=5)
    assert out.shape == b.shape and out.dtype == np.uint8
    offsets = set()
    for img in out:
        y, x = _dot_position(img)
        dy, dx = y - 8, x - 8
        assert abs(dy) <= 2 and abs(dx) <= 2
        offsets.add((dy, dx))
        if dy > 0:  # moved down: the black top row is repeated into the gap
            assert (img[: dy + 1] == 0).all()
        else:  # the grey background fills whatever came in from the other sides
            assert (img[1:, :] != 0).all()
    assert len(offsets) > 10  # 64 images draw many of the 25 offsets


def test_hflip_mirrors_about_half_the_images():
    b = np.zeros((200, 4, 4, 3), np.uint8)
    b[:, :, 0] = 255  # a white left column
    out = augment(b, hflip=True, shift=0, seed=1, step=0)
    flipped = (out[:, :, -1] == 255).all(axis=(1, 2))
    assert np.array_equal(out[flipped], b[flipped][:, :, ::-1]) and np.array_equal(out[~flipped], b[~flipped])
    assert 60 < flipped.sum() < 140


def test_draws_depend_only_on_seed_step_and_rank():
    b = _dots()
    a1 = augment(b, hflip=True, shift=2, seed=0, step=7)
    assert np.array_equal(a1, augment(b.copy(), hflip=True, shift=2, seed=0, step=7))
    for other in (dict(seed=1, step=7), dict(seed=0, step=8), dict(seed=0, step=7, rank=1)):
        assert not np.array_equal(a1, augment(b, hflip=True, shift=2, **other))


def test_shift_is_validated():
    assert TrainConfig(shift=2).shift == 2
    with pytest.raises(ConfigError, match="shift"):
        TrainConfig(shift=-1)
    with pytest.raises(ConfigError, match="shift"):
        TrainConfig.from_dict({"shift": 2.5})
