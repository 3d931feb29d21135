"""The tabs' pure callbacks (ui.generate.latents, ui.reconstruct.encode, ui.interpolate.interpolation) on a
real tiny checkpoint, including hostile uploads."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import ui_harness
from ui.common.errors import UserInputError
from ui.common.state import Endpoint, as_latent
from ui.generate import latents
from ui.interpolate import interpolation
from ui.reconstruct import encode
from vae_core.errors import ImageInputError, LatentFormatError, VaeCoreError
from vae_core.explorer import Explorer


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer.open(ui_harness.tiny_checkpoint())


def png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def bomb_png(side: int = 30000) -> bytes:
    """A tiny PNG whose header claims side×side pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_seeded_faces_are_reproducible(explorer):
    assert explorer.sampler is not None  # the trainer fitted one at the end of the run
    a = latents.face_from_seed(explorer, 7, 1.0)
    np.testing.assert_array_equal(a, latents.face_from_seed(explorer, 7.0, 1.0))
    assert not np.allclose(a, latents.face_from_seed(explorer, 8, 1.0))
    # Temperature scales the spread around the chosen component: 0 is that component's mean.
    centre = latents.face_from_seed(explorer, 7, 0.0)
    assert any(np.allclose(centre, m, atol=1e-5) for m in explorer.sampler.means)
    np.testing.assert_allclose(latents.face_from_seed(explorer, 7, 0.5), centre + 0.5 * (a - centre), rtol=1e-4, atol=1e-5)
    # The prior stays available: N(0, T²I), 0 = the all-zero code.
    p = latents.face_from_seed(explorer, 7, 1.0, "N(0, I) prior")
    assert not np.allclose(p, a)
    np.testing.assert_allclose(latents.face_from_seed(explorer, 7, 0.5, "N(0, I) prior"), 0.5 * p, rtol=1e-6)
    assert not np.any(latents.face_from_seed(explorer, 7, 0.0, "N(0, I) prior"))
    for bad in ("gaussian", 3, ["fitted density"]):
        with pytest.raises(UserInputError, match="sampler"):
            latents.face_from_seed(explorer, 1, 1.0, bad)
    for bad in (-1, 2**31, "seven", None):
        with pytest.raises(UserInputError, match="seed"):
            latents.face_from_seed(explorer, bad)
    for bad in (-0.1, 3.5, float("nan"), "hot"):
        with pytest.raises(UserInputError, match="temperature"):
            latents.face_from_seed(explorer, 1, bad)


def test_the_sampler_note_says_what_temperature_0_gives():
    """A mixture's centre is a typical face; a kernel's (alone or in the shipped blend) is a training face's own code."""
    import types

    from vae_core.sampling import LatentSampler

    def with_sampler(kind):
        z = 3
        scales = {"full": np.eye(z)[None], "tied": np.eye(z), "grouped": np.eye(z)[None]}[kind]
        info = ({"mixture_share": 0.5, "n_kernels": 1, "mixture_components": 1} if kind == "grouped"
                else {"bandwidth": 1.0} if kind == "tied" else {})
        return types.SimpleNamespace(sampler=LatentSampler(
            weights=np.ones(1), means=np.zeros((1, z)), scales=scales, covariance_type=kind,
            scale_of=np.zeros(1, int) if kind == "grouped" else None, info=info))

    assert "(0 = its mean, a typical face)" in latents.sampler_note(with_sampler("full"))
    for kind in ("tied", "grouped"):
        note = latents.sampler_note(with_sampler(kind))
        assert "a training face's own code for a kernel" in note, note
    assert "blend of a kernel density" in latents.sampler_note(with_sampler("grouped"))
    assert "N(0, I) prior" in latents.sampler_note(with_sampler("full"), "N(0, I) prior")


def test_latent_strings_round_trip_and_refuse_other_models(explorer):
    z = latents.face_from_seed(explorer, 3)
    text = latents.copy_latent(explorer, z)
    assert text.startswith(f"cvae1:{explorer.model_id}:")
    np.testing.assert_allclose(latents.paste_latent(explorer, text), z, atol=2e-3)  # float16 in the string
    other = text.replace(explorer.model_id, "ffffffff" if explorer.model_id != "ffffffff" else "00000000")
    with pytest.raises(LatentFormatError, match="another model"):
        latents.paste_latent(explorer, other)
    for junk in ("", "hello", None, "cvae1:zz:abc", ", ".join(["1"] * (explorer.latent_dim + 1))):
        with pytest.raises(LatentFormatError):
            latents.paste_latent(explorer, junk)
    numbers = ", ".join(str(v) for v in range(explorer.latent_dim))
    np.testing.assert_array_equal(latents.paste_latent(explorer, numbers), np.arange(explorer.latent_dim))


def test_decode_one_shape(explorer):
    img = latents.decode_one(explorer, np.zeros(explorer.latent_dim))
    assert img.dtype == np.uint8 and img.shape == (explorer.resolution, explorer.resolution, 3)


def test_upload_path_accepts_gradio_payloads_only():
    assert encode.upload_path({"path": "/tmp/x.png", "orig_name": "x.png"}) == "/tmp/x.png"
    assert encode.upload_path("/tmp/y.png") == "/tmp/y.png"
    for empty in (None, "", {"path": None}, {}):
        with pytest.raises(UserInputError):
            encode.upload_path(empty)


def test_reconstruct_example_and_report(explorer):
    img, name = encode.example(explorer, 0)
    enc = encode.reconstruct(explorer, img)
    assert enc.reconstruction_u8.shape == img.shape and 0 <= enc.mse < 0.2 and -1 <= enc.ssim <= 1
    report = encode.recon_report(enc, "face")
    assert "MSE" in report and "SSIM" in report and "PSNR" in report
    for bad in (-1, 10_000, "one", None):
        with pytest.raises(UserInputError, match="example"):
            encode.example(explorer, bad)


@pytest.mark.parametrize("name,make,note", [
    ("grayscale", lambda: png(Image.new("L", (50, 40), 128)), "greyscale"),
    ("rgba", lambda: png(Image.new("RGBA", (40, 40), (255, 0, 0, 0))), "transparent"),
    ("palette", lambda: png(Image.new("RGB", (40, 40), (0, 90, 200)).convert("P")), "palette"),
    ("animated", lambda: png(Image.new("RGB", (40, 40), "red"), format="GIF", save_all=True,
                             append_images=[Image.new("RGB", (40, 40), "blue")]), "animated"),
    ("jpeg", lambda: png(Image.new("RGB", (80, 60), (10, 200, 30)), format="JPEG"), "centre-cropped"),
])
def test_unusual_but_valid_images_reconstruct_with_a_note(explorer, tmp_path, name, make, note):
    path = tmp_path / f"{name}.img"
    path.write_bytes(make())
    enc, fname, notes = encode.encode_upload(explorer, {"path": str(path), "orig_name": f"my {name}.png"})
    assert enc.input_u8.shape == (explorer.resolution, explorer.resolution, 3) and fname == f"my {name}.png"
    assert any(note in n for n in notes) and any(note in n for n in encode.describe_upload(str(path)))


@pytest.mark.parametrize("name,data", [
    ("corrupt", png(Image.new("RGB", (40, 40), "red"))[:60]),
    ("text", b"this is not an image at all\n" * 10),
    ("one-pixel", png(Image.new("RGB", (1, 1), "red"))),
    ("bomb", bomb_png()),
    ("empty", b""),
])
def test_bad_images_raise_clear_errors(explorer, tmp_path, name, data):
    path = tmp_path / f"{name}.png"
    path.write_bytes(data)
    with pytest.raises(ImageInputError) as e:
        encode.encode_upload(explorer, {"path": str(path), "orig_name": "holiday.png"})
    msg = str(e.value)
    assert msg.startswith("holiday.png: ") and len(msg) > 30 and str(tmp_path) not in msg


def test_endpoints_and_interpolation(explorer, tmp_path):
    a = interpolation.endpoint(explorer, "random", seed=1)
    b = interpolation.endpoint(explorer, "dataset example", example_index=2)
    assert "seed 1" in a.source and "example" in b.source
    text = latents.copy_latent(explorer, np.ones(explorer.latent_dim))
    assert interpolation.endpoint(explorer, "latent string", text=text).source == "pasted latent"
    up = tmp_path / "face.png"
    Image.fromarray(encode.example(explorer, 1)[0]).save(up)
    assert "face.png" in interpolation.endpoint(explorer, "upload", upload={"path": str(up), "orig_name": "face.png"}).source
    with pytest.raises(UserInputError, match="source"):
        interpolation.endpoint(explorer, "telepathy")

    for method in ("slerp", "lerp"):
        res = interpolation.interpolate(explorer, a, b, method, 6)
        assert res.frames.shape == (6, explorer.resolution, explorer.resolution, 3)
        np.testing.assert_allclose(res.latents[0], a.latent, atol=1e-6)
        np.testing.assert_allclose(res.latents[-1], b.latent, atol=1e-6)
    assert not np.allclose(interpolation.interpolate(explorer, a, b, "slerp", 5).latents[2],
                           interpolation.interpolate(explorer, a, b, "lerp", 5).latents[2])
    with pytest.raises(UserInputError, match="both ends"):
        interpolation.interpolate(explorer, a, None, "slerp", 5)
    for bad in (1, 65, "many"):
        with pytest.raises(UserInputError, match="steps"):
            interpolation.interpolate(explorer, a, b, "slerp", bad)
    with pytest.raises(UserInputError, match="another model"):
        interpolation.interpolate(explorer, a, Endpoint(as_latent(np.zeros(3)), "x"), "lerp", 3)


def test_all_user_errors_are_core_errors():
    assert issubclass(UserInputError, VaeCoreError)
