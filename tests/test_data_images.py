"""load_image / center_crop_resize: every mode and format lands as RGB, and every bad input as ImageInputError."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, features

from cartoonset_fixtures import draw_face, face_labels, png_bytes
from vae_core.data import center_crop_resize, load_image
from vae_core.data.images import MIN_SIDE
from vae_core.errors import ImageInputError


def _rgb(source, **kw) -> np.ndarray:
    im = load_image(source, **kw)
    assert im.mode == "RGB"
    return np.asarray(im)


def _png_with_header(w: int, h: int) -> bytes:
    """A tiny PNG whose IHDR claims w×h RGB pixels (the pixel data is a few bytes: a decompression bomb)."""
    def chunk(typ: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# -- colour modes ---------------------------------------------------------------------------------
def test_rgba_composited_over_white() -> None:
    a = np.zeros((16, 16, 4), np.uint8)
    a[..., :3] = (0, 90, 0)  # transparent but coloured: must still become white
    a[8:, :, :] = (255, 0, 0, 255)
    a[8:, 8:, 3] = 128  # half-transparent red over white → (255, ~127, ~127)
    out = _rgb(png_bytes(Image.fromarray(a, "RGBA")))
    assert (out[0, 0] == 255).all()
    assert tuple(out[9, 0]) == (255, 0, 0)
    assert out[9, 9, 0] == 255 and 120 <= out[9, 9, 1] <= 135 and out[9, 9, 1] == out[9, 9, 2]


def test_cartoonset_face_background_is_white() -> None:
    out = _rgb(png_bytes(draw_face(face_labels(0))))
    assert out.shape == (500, 500, 3)
    assert (out[0, 0] == 255).all() and (out[-1, -1] == 255).all()
    assert not (out[250, 250] == 255).all()


def test_la_and_palette_with_transparency() -> None:
    la = Image.new("LA", (10, 10), (0, 0))
    la.putpixel((5, 5), (40, 255))
    out = _rgb(png_bytes(la))
    assert (out[0, 0] == 255).all() and tuple(out[5, 5]) == (40, 40, 40)

    p = Image.new("P", (10, 10), 0)
    p.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    p.putpixel((3, 3), 1)
    for fmt, kw in (("PNG", {"transparency": 0}), ("GIF", {"transparency": 0})):
        out = _rgb(png_bytes(p, fmt, **kw))
        assert (out[0, 0] == 255).all(), fmt
        assert tuple(out[3, 3]) == (200, 10, 10), fmt


def test_palette_without_transparency_and_grayscale() -> None:
    p = Image.new("P", (10, 10), 1)
    p.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    assert tuple(_rgb(png_bytes(p))[0, 0]) == (10, 200, 30)
    g = Image.new("L", (10, 10), 77)
    assert tuple(_rgb(png_bytes(g))[2, 2]) == (77, 77, 77)
    b = Image.new("1", (10, 10), 1)
    assert tuple(_rgb(png_bytes(b, "BMP"))[2, 2]) == (255, 255, 255)


def test_sixteen_bit_grayscale_is_scaled() -> None:
    a = np.zeros((8, 12), np.uint16)
    a[:, 4:8] = 32896  # 128 * 257
    a[:, 8:] = 65535
    out = _rgb(png_bytes(Image.fromarray(a)))
    assert tuple(out[0, [0, 5, 10], 0]) == (0, 128, 255)
    assert (out[..., 0] == out[..., 2]).all()
    # 32-bit 'I' images given directly (as some decoders produce for 16-bit data)
    out = _rgb(Image.fromarray(a.astype(np.int32), "I"))
    assert tuple(out[0, [0, 5, 10], 0]) == (0, 128, 255)


def test_cmyk_jpeg_to_rgb() -> None:
    red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    out = _rgb(png_bytes(red, "JPEG", quality=95))
    r, g, b = (int(v) for v in out[8, 8])
    assert r > 230 and g < 30 and b < 30


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = _rgb(png_bytes(im, "JPEG", quality=95, exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)  # portrait after rotation
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60  # the left half is now on top
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60


def test_animated_gif_and_webp_give_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = png_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert tuple(_rgb(gif)[8, 8]) == (255, 0, 0)
    if features.check("webp"):
        webp = png_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
        assert tuple(_rgb(webp)[8, 8]) == (255, 0, 0)


def test_path_bytes_and_pil_sources_agree(tmp_path: Path) -> None:
    data = png_bytes(draw_face(face_labels(3), size=64))
    f = tmp_path / "face.png"
    f.write_bytes(data)
    a, b, c = _rgb(f), _rgb(str(f)), _rgb(data)
    d = _rgb(Image.open(io.BytesIO(data)))
    for x in (b, c, d):
        np.testing.assert_array_equal(a, x)


# -- bad input ------------------------------------------------------------------------------------
def test_truncated_png(tmp_path: Path) -> None:
    data = png_bytes(Image.effect_noise((64, 64), 50).convert("RGB"))
    with pytest.raises(ImageInputError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_random_bytes_and_text() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ImageInputError, match=r"not a supported image \(PNG, JPEG, WebP, GIF, BMP\)"):
        load_image(rng.integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(ImageInputError, match="empty"):
        load_image(b"")


def test_svg_is_refused_with_hint() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    with pytest.raises(ImageInputError, match="SVG.*export it as PNG"):
        load_image(svg)
    with pytest.raises(ImageInputError, match="SVG"):
        load_image(b'<svg width="4" height="4"/>')


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [30_000, 10_000, 7_000])
@pytest.mark.parametrize("warnings_as_errors", [False, True])
def test_decompression_bomb_is_refused_before_decoding(side: int, warnings_as_errors: bool) -> None:
    """30000² trips Pillow's DecompressionBombError, 10000² its warning, 7000² only our own limit."""
    bomb = _png_with_header(side, side)
    assert len(bomb) < 200
    t = time.perf_counter()
    with warnings.catch_warnings():
        if warnings_as_errors:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageInputError, match="decompression bomb"):
            load_image(bomb)
    assert time.perf_counter() - t < 1.0


def test_max_pixels_and_max_bytes() -> None:
    data = png_bytes(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageInputError, match="megapixels"):
        load_image(data, max_pixels=5_000)
    with pytest.raises(ImageInputError, match="megapixels"):
        load_image(Image.new("RGB", (100, 100)), max_pixels=5_000)
    with pytest.raises(ImageInputError, match="more than the limit"):
        load_image(data, max_bytes=10)
    assert load_image(data, max_pixels=10_000, max_bytes=len(data)).size == (100, 100)


@pytest.mark.parametrize("size", [(1, 1), (7, 100), (100, 3)])
def test_too_small(size) -> None:
    with pytest.raises(ImageInputError, match=f"at least {MIN_SIDE}×{MIN_SIDE}"):
        load_image(png_bytes(Image.new("RGB", size)))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageInputError, match="is a folder"):
        load_image(tmp_path)
    with pytest.raises(TypeError):
        load_image(12345)  # type: ignore[arg-type]


def test_unsupported_format_is_refused() -> None:
    data = png_bytes(Image.new("RGB", (16, 16)), "TIFF")
    with pytest.raises(ImageInputError, match="not a supported image"):
        load_image(data)


# -- crop -------------------------------------------------------------------------------------------
def test_center_crop_fraction_keeps_the_central_box() -> None:
    im = Image.new("RGB", (500, 500), (0, 0, 255))
    im.paste((255, 0, 0), (75, 75, 425, 425))  # the central 350×350 = 0.7 crop
    for res in (32, 64, 128):
        out = center_crop_resize(im, res, 0.7)
        assert out.shape == (res, res, 3) and out.dtype == np.uint8
        assert (out[..., 0] >= 250).all() and (out[..., 2] <= 5).all()
    full = center_crop_resize(im, 64, 1.0)
    assert tuple(full[0, 0]) == (0, 0, 255) and tuple(full[32, 32]) == (255, 0, 0)


@pytest.mark.parametrize("size", [(300, 100), (100, 300)])
def test_non_square_is_center_cropped_to_square(size) -> None:
    w, h = size
    im = Image.new("RGB", size, (0, 255, 0))
    s = min(w, h)
    im.paste((255, 0, 0), ((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2))
    out = center_crop_resize(im, 32, 1.0)
    assert (out[..., 0] >= 250).all() and (out[..., 1] <= 5).all()


def test_crop_converts_non_rgb_and_validates_args() -> None:
    out = center_crop_resize(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), 32, 1.0)
    assert (out == 255).all()
    with pytest.raises(ValueError):
        center_crop_resize(Image.new("RGB", (20, 20)), 32, 0.0)
    with pytest.raises(TypeError):
        center_crop_resize(np.zeros((20, 20, 3), np.uint8), 32, 1.0)  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------------
MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16")
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


@st.composite
def encoded_images(draw) -> bytes:
    """Small images of any mode, saved in any format that accepts the mode, sometimes cut short."""
    mode = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA").convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        im = Image.fromarray(arr[..., 0].astype(np.uint16) * 257)
    fmt = draw(st.sampled_from(FORMATS))
    try:
        data = png_bytes(im, fmt)
    except (OSError, ValueError, KeyError):
        data = png_bytes(im.convert("RGB"), fmt) if fmt != "WEBP" or features.check("webp") else png_bytes(im, "PNG")
    cut = draw(st.one_of(st.none(), st.integers(0, max(0, len(data) - 1))))
    return data if cut is None else data[:cut]


def _check_pipeline(data: bytes, res: int, crop: float) -> None:
    try:
        out = center_crop_resize(load_image(data), res, crop)
    except ImageInputError:
        return
    assert out.shape == (res, res, 3) and out.dtype == np.uint8


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=encoded_images(), res=st.sampled_from([32, 64]), crop=st.floats(0.2, 1.0))
def test_property_any_image_is_model_input_or_image_input_error(data: bytes, res: int, crop: float) -> None:
    _check_pipeline(data, res, crop)


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=300), prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff",
                                                               b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 "]))
def test_property_random_bytes_never_crash(data: bytes, prefix: bytes) -> None:
    _check_pipeline(prefix + data, 32, 1.0)


PIL_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "HSV", "I", "F",
             "I;16", "I;16B")


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(PIL_MODES), w=st.integers(1, 30), h=st.integers(1, 30), seed=st.integers(0, 999),
       res=st.sampled_from([32, 64, 128]))
def test_property_pil_images_of_any_mode(mode: str, w: int, h: int, seed: int, res: int) -> None:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    base = Image.fromarray(arr, "RGBA")
    if mode in ("I", "F", "I;16", "I;16B"):
        im = base.convert("L").convert(mode) if mode in ("I", "F") else Image.fromarray(
            arr[..., 0].astype(np.uint16) * 257).convert(mode) if mode == "I;16" else Image.frombytes(
            mode, (w, h), (arr[..., 0].astype(">u2") * 257).tobytes())
    else:
        try:
            im = base.convert(mode)
        except ValueError:
            im = base.convert("RGB").convert(mode)
    try:
        out = center_crop_resize(load_image(im), res, 1.0)
    except ImageInputError:
        assert min(w, h) < MIN_SIDE
        return
    assert out.shape == (res, res, 3) and out.dtype == np.uint8
