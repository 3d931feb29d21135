"""Image plumbing between numpy and the browser: upscaling for display, inline PNGs, strips and GIFs."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

#: Faces are shown at this size: the R×R model output scaled smoothly, as a face, not as blocks of pixels.
DISPLAY_SIZE = 256


def upscale(img_u8: np.ndarray, size: int = DISPLAY_SIZE, smooth: bool = True) -> np.ndarray:
    """uint8 [H, W, 3] → the image scaled so its height is ``size`` (images already that tall pass through).

    ``smooth`` (default): Lanczos resampling, the way a person expects a small face shown large to look;
    otherwise an integer nearest-neighbour factor (pixel-exact, for looking at what the model emits).
    """
    h, w = img_u8.shape[:2]
    if h >= size:
        return img_u8
    if not smooth:
        k = -(-size // h)
        return np.repeat(np.repeat(img_u8, k, axis=0), k, axis=1)
    return np.asarray(Image.fromarray(img_u8).resize((max(1, round(w * size / h)), size), Image.LANCZOS))


def png_bytes(img_u8: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # compress_level=1: a 64×64 face encodes in ~0.2 ms; the browser scales it (smoothly, see ui.app.CSS).
    Image.fromarray(img_u8).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def data_url(img_u8: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(img_u8)).decode("ascii")


_last_prune: dict[Path, float] = {}
_prune_lock = threading.Lock()


def image_file(img_u8: np.ndarray, folder: Path, max_age_s: float = 3600.0) -> str:
    """uint8 [H, W, 3] → the path of its PNG in ``folder``, named by its content and written atomically.

    Image outputs return this path rather than the array. Gradio saves an array output to a cache
    file named by its content hash by rewriting that file in place, so when two sessions get the same
    image at once (the same dataset example, the same map point) one rewrite truncates the file while
    the other's download of it is under way, and that download is cut short (measured: 18 of 96
    concurrent identical reconstructions failed). A path is copied into Gradio's cache atomically,
    and ours is complete before it is ever renamed into place. Files older than ``max_age_s`` are
    pruned (at most once a minute).
    """
    data = png_bytes(img_u8)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if path.is_file():
        os.utime(path)  # in use again: not pruned
        return str(path)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    now = time.time()
    with _prune_lock:
        due = now - _last_prune.get(folder, 0.0) > 60
        if due:
            _last_prune[folder] = now
    if due:
        prune_old_files(folder, max_age_s)
    return str(path)


def face_html(img_u8: np.ndarray, caption: str = "", elem_class: str = "cvae-face") -> str:
    """An <img> of a face at display size, scaled smoothly by the browser (the page's "show model pixels"
    switch makes it pixel-exact): the Generate image, sent inline (no file round trip), so a slider move
    costs one request."""
    cap = f'<div class="cvae-caption">{caption}</div>' if caption else ""
    return (f'<div class="{elem_class}"><img src="{data_url(img_u8)}" width="{DISPLAY_SIZE}" height="{DISPLAY_SIZE}" '
            f'alt="generated face"></div>{cap}')


def strip(images_u8: np.ndarray, gap: int = 2) -> np.ndarray:
    """uint8 [N, R, R, 3] → one row [R, N·R + (N-1)·gap, 3] on white."""
    n, r = images_u8.shape[0], images_u8.shape[1]
    out = np.full((r, n * r + (n - 1) * gap, 3), 255, np.uint8)
    for i, im in enumerate(images_u8):
        out[:, i * (r + gap): i * (r + gap) + r] = im
    return out


def write_gif(frames_u8: np.ndarray, path: Path, fps: float = 8.0, bounce: bool = True, size: int = 128) -> Path:
    """Animated GIF of the frames (upscaled to ≥ size), looping forever; ``bounce`` plays back and forth."""
    frames = [Image.fromarray(upscale(f, size)) for f in frames_u8]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = max(20, int(round(1000 / max(fps, 0.1))))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration, loop=0, disposal=2)
    return path


def prune_old_files(folder: Path, max_age_s: float = 3600.0) -> None:
    """Delete files in ``folder`` older than ``max_age_s`` (downloads the UI wrote for earlier requests)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - max_age_s
    for f in folder.iterdir():
        try:
            if f.is_file() and f.stat().st_mtime < cutoff:
                f.unlink()
        except OSError:
            pass
