"""The quality benchmark's background classes: they decide which faces its per-background SSIM lines count."""

import numpy as np

from bench.quality import BACKGROUNDS, background_kinds


def _face_on(background: np.ndarray) -> np.ndarray:
    """A dark 'face' disc in the middle of a 64×64 background, so only the frame decides the class."""
    img = background.copy()
    yy, xx = np.mgrid[:64, :64]
    img[(yy - 32) ** 2 + (xx - 32) ** 2 < 24**2] = (200, 150, 120)
    return img


def test_background_kinds_white_flat_and_textured():
    rng = np.random.default_rng(0)
    white = _face_on(np.full((64, 64, 3), 255, np.uint8))
    nearly_white = _face_on(np.full((64, 64, 3), 250, np.uint8))
    flat = _face_on(np.full((64, 64, 3), (90, 90, 200), np.uint8))
    noise = _face_on(rng.integers(60, 200, (64, 64, 3)).astype(np.uint8))
    gradient = _face_on(np.repeat(np.linspace(0, 255, 64, dtype=np.float32)[None, :, None], 64, 0)
                        .repeat(3, 2).astype(np.uint8))
    tiles = _face_on(((np.indices((64, 64)).sum(0) // 2 % 2) * 120 + 60).astype(np.uint8)[..., None].repeat(3, 2))
    kinds = background_kinds(np.stack([white, nearly_white, flat, noise, gradient, tiles]))
    assert kinds.tolist() == ["white", "white", "flat colour", "textured", "textured", "textured"]
    assert set(kinds) <= set(BACKGROUNDS)
