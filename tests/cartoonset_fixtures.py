"""Builders for the data tests: tiny Cartoon Sets in the exact official format and a loopback server.

Real faces cannot be downloaded in CI, so tests fabricate the real layout byte for byte: 500×500 RGBA
``cs<digits>.png`` faces on a transparent background, each with its 18-line ``cs<digits>.csv``, in a
``cartoonset10k/`` top folder of a ``.tgz``, served over HTTP by a loopback server that honours Range
requests (or, on demand, ignores them or drops the connection half way).
"""

from __future__ import annotations

import io
import re
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae_core.data.schema import CARTOONSET_ATTRIBUTES, CARTOONSET_SCHEMA

# ids are "cs" + digits, like the official files; deliberately not in natural order as listed here
FACE_IDS = ("cs1000", "cs20", "cs3", "cs400", "cs55", "cs6")
SORTED_FACE_IDS = ("cs3", "cs6", "cs20", "cs55", "cs400", "cs1000")


def face_labels(seed: int) -> np.ndarray:
    """A valid int64 [18] label vector."""
    rng = np.random.default_rng(seed)
    return np.array([rng.integers(card) for card in CARTOONSET_SCHEMA.cardinalities], np.int64)


def draw_face(labels: np.ndarray, size: int = 500) -> Image.Image:
    """A 500×500 RGBA face: opaque disc of radius ~0.28·size, transparent (but coloured) background.

    The background pixels are transparent *black-ish green* so that a loader ignoring alpha would not
    produce white there.
    """
    im = Image.new("RGBA", (size, size), (0, 90, 0, 0))
    d = ImageDraw.Draw(im)
    skin = (200 + int(labels[11]) * 5, 160 + int(labels[11]) * 6, 120, 255)
    c, r = size / 2, size * 0.28
    d.ellipse((c - r, c - r, c + r, c + r), fill=skin)
    hair = (20 * int(labels[12]), 40, 200 - 15 * int(labels[12]), 255)
    d.pieslice((c - r, c - r * 1.1, c + r, c + r * 0.6), 180, 360, fill=hair)
    for dx in (-r / 2.5, r / 2.5):
        d.ellipse((c + dx - 12, c - 10, c + dx + 12, c + 14), fill=(30, 30, 30, 255))
    d.arc((c - r / 2, c + r / 4, c + r / 2, c + r * 0.7), 20, 160, fill=(120, 0, 0, 255), width=6)
    return im


def csv_text(labels: np.ndarray) -> str:
    """The official CSV format: one ``"name", value, cardinality`` line per attribute."""
    return "".join(f'"{name}", {int(v)}, {card}\n' for (name, card), v in zip(CARTOONSET_ATTRIBUTES, labels))


def png_bytes(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@dataclass
class TinySet:
    """What a fabricated Cartoon Set holds: ids in listing order and their labels."""

    files: dict[str, bytes]  # archive-relative path → bytes
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # id → [18]


def tiny_cartoonset(top: str = "cartoonset10k", ids: tuple[str, ...] = FACE_IDS) -> TinySet:
    s = TinySet(files={})
    for k, fid in enumerate(ids):
        lab = face_labels(k)
        s.labels[fid] = lab
        s.files[f"{top}/{fid}.png"] = png_bytes(draw_face(lab), optimize=False, compress_level=1)
        s.files[f"{top}/{fid}.csv"] = csv_text(lab).encode()
    return s


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def tar_gz(files: dict[str, bytes], extra: list[tarfile.TarInfo] = (), dirs: tuple[str, ...] = ()) -> bytes:
    """A .tgz of ``files`` (regular members) plus raw ``extra`` members (links, devices, odd names)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for d in dirs:
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tf.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
        for ti in extra:
            tf.addfile(ti, io.BytesIO(b"x" * ti.size) if ti.isreg() else None)
    return buf.getvalue()


# -- loopback HTTP server -------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[dict[str, str | None]] = []
        self.ignore_range = False
        #: send only this many body bytes on the next response, then close (a dropped connection)
        self.drop_after: int | None = None
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    @property
    def range_requests(self) -> list[str]:
        return [r["range"] for r in self.requests if r["range"]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append({"path": self.path, "range": rng})
            drop, srv.drop_after = srv.drop_after, None
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng and not srv.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            assert m, f"unexpected Range header {rng!r}"
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        data = body[start:]
        if drop is not None:
            self.wfile.write(data[:drop])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep test output quiet
        pass


@pytest.fixture
def http_server() -> Iterator[_Server]:
    srv = _Server()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


@pytest.fixture(scope="session")
def tiny_set() -> TinySet:
    return tiny_cartoonset()


@pytest.fixture
def cartoonset_dir(tmp_path: Path, tiny_set: TinySet) -> Path:
    """An extracted tiny Cartoon Set: ``tmp/cartoonset10k`` with 6 faces and their CSVs."""
    write_tree(tmp_path, tiny_set.files)
    return tmp_path / "cartoonset10k"
