"""Latent traversals: rows and offsets, labels, and the PNG grid / GIF exports (sizes, frame counts,
atomic writes)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.config import ModelConfig
from vae_core.data.schema import AttributeSchema
from vae_core.errors import DatasetError
from vae_core.latent import attribute_directions, decode_latents, pca_directions
from vae_core.model import ConvVAE
from vae_core.atomic import atomic_write
from vae_core.analysis.traversal import (
    Direction,
    attribute_direction,
    dim_direction,
    pca_direction,
    save_gif,
    save_grid_png,
    traverse,
)

R = 16
Z = 4


def grey_decoder(z: np.ndarray) -> np.ndarray:
    """Flat grey faces whose brightness is set by z[0] alone; the other dims are ignored."""
    z = np.atleast_2d(z)
    level = np.clip(128 + 40 * z[:, 0], 0, 255).round().astype(np.uint8)
    return np.broadcast_to(level[:, None, None, None], (len(z), R, R, 3)).copy()


def test_offsets_latents_and_frames_follow_the_direction() -> None:
    base = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    tr = traverse(grey_decoder, base, dim_direction(0, Z), low=-2, high=2, steps=5)
    assert tr.frames.shape == (1, 5, R, R, 3) and tr.frames.dtype == np.uint8
    np.testing.assert_allclose(tr.offsets, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(tr.latents[0, :, 0], base[0] + tr.offsets, rtol=1e-6)
    np.testing.assert_allclose(tr.latents[0, :, 1:], np.broadcast_to(base[1:], (5, 3)))
    brightness = tr.frames[0].mean(axis=(1, 2, 3))
    assert np.all(np.diff(brightness) > 0), "frames must change monotonically along a used direction"
    assert tr.labels == ("z0",)


def test_an_ignored_direction_gives_identical_frames() -> None:
    tr = traverse(grey_decoder, np.zeros(Z), dim_direction(1, Z), steps=4)
    assert all(np.array_equal(tr.frames[0, 0], f) for f in tr.frames[0])


def test_rows_are_bases_directions_or_pairs() -> None:
    bases = np.zeros((3, Z), np.float32)
    by_base = traverse(grey_decoder, bases, dim_direction(0, Z), steps=3, base_labels=["a", "b", "c"])
    assert by_base.rows == 3 and by_base.labels == ("a: z0", "b: z0", "c: z0")
    by_dir = traverse(grey_decoder, np.zeros(Z), [dim_direction(0, Z), dim_direction(2, Z)], steps=3)
    assert by_dir.rows == 2 and by_dir.labels == ("z0", "z2")
    pairs = traverse(grey_decoder, bases[:2], [dim_direction(0, Z), dim_direction(1, Z)], steps=3)
    assert pairs.rows == 2
    assert not np.array_equal(pairs.frames[0, 0], pairs.frames[0, -1])   # row 0 moves along z0 …
    assert np.array_equal(pairs.frames[1, 0], pairs.frames[1, -1])       # … row 1 along the ignored z1
    with pytest.raises(ValueError, match="one base, one direction"):
        traverse(grey_decoder, bases, [dim_direction(0, Z), dim_direction(1, Z)])
    with pytest.raises(ValueError, match="dims"):
        traverse(grey_decoder, np.zeros(Z + 1), dim_direction(0, Z))
    with pytest.raises(ValueError, match="steps"):
        traverse(grey_decoder, np.zeros(Z), dim_direction(0, Z), steps=0)
    with pytest.raises(ValueError, match="non-zero"):
        Direction(np.zeros(Z), "nothing")


def test_grid_png_has_rows_by_steps_tiles_and_exact_pixels(tmp_path) -> None:
    tr = traverse(grey_decoder, np.zeros((2, Z)), dim_direction(0, Z), steps=6)
    out = save_grid_png(tr, tmp_path / "sub" / "grid.png", scale=2)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (6 * R * 2, 2 * R * 2)
        pixels = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(pixels, tr.grid(scale=2))
    np.testing.assert_array_equal(pixels[:R * 2, :R * 2], np.repeat(np.repeat(tr.frames[0, 0], 2, 0), 2, 1))
    assert sorted(p.name for p in out.parent.iterdir()) == ["grid.png"]  # no temp files left


def test_gif_loops_ping_pong_with_the_expected_frames(tmp_path) -> None:
    steps = 5
    tr = traverse(grey_decoder, np.zeros((3, Z)), dim_direction(0, Z), low=-2, high=2, steps=steps)
    out = save_gif(tr, tmp_path / "walk.gif", duration_ms=50, cols=3)
    with Image.open(out) as im:
        assert im.format == "GIF" and im.is_animated
        assert im.n_frames == 2 * steps - 2
        assert im.size == (3 * R, R)
        assert im.info.get("loop") == 0
        levels = []
        for i in range(im.n_frames):
            im.seek(i)
            levels.append(int(np.asarray(im.convert("RGB"))[0, 0, 0]))
    expected = [int(tr.frames[0, j, 0, 0, 0]) for j in [0, 1, 2, 3, 4, 3, 2, 1]]
    assert levels == expected  # flat colours survive the palette exactly; the sequence goes there and back
    once = save_gif(tr, tmp_path / "once.gif", pingpong=False)
    with Image.open(once) as im:
        assert im.n_frames == steps


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path) -> None:
    target = tmp_path / "grid.png"
    target.write_bytes(b"old")

    def broken(f) -> None:
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_real_decoder_with_pca_and_attribute_directions(tmp_path) -> None:
    torch.manual_seed(0)
    model = ConvVAE(ModelConfig(resolution=32, latent_dim=8, channels=(8, 16, 32)))
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(200, 8)).astype(np.float32)
    labels = rng.integers(0, 3, size=(200, 1))
    pca = pca_directions(mu, 3)
    pc = pca_direction(pca, 0)
    assert pc.label == "PC1"
    np.testing.assert_allclose(np.linalg.norm(pc.vector), pca.stds[0], rtol=1e-5)
    dirs = attribute_directions(mu, labels, AttributeSchema(("colour",), (3,)))
    ad = attribute_direction(dirs, "colour", 2)
    assert ad.label == "colour=2"
    with pytest.raises(DatasetError, match="available"):
        attribute_direction(dirs, "size", 0)
    tr = traverse(partial(decode_latents, model), mu[:2], [pc, ad], low=-2, high=2, steps=4)
    assert tr.frames.shape == (2, 4, 32, 32, 3)
    for row in tr.frames:
        assert not np.array_equal(row[0], row[-1])
    png = save_grid_png(tr, tmp_path / "t.png")
    gif = save_gif(tr, tmp_path / "t.gif")
    with Image.open(png) as im:
        assert im.size == (4 * 32, 2 * 32)
    with Image.open(gif) as im:
        assert im.size == (2 * 32, 32) and im.n_frames == 6
