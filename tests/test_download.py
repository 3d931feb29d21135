"""download_cartoonset: streaming, resume, verification and safe extraction against a loopback server."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cartoonset_fixtures import SORTED_FACE_IDS, TinySet, http_server, tar_gz, tiny_set  # noqa: F401
from vae_core.config import DataSpec
from vae_core.data import download as dl
from vae_core.data import download_cartoonset, load_dataset
from vae_core.errors import DownloadError

URL_PATH = "/cartoonset10k.tgz"


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "RETRY_DELAY_S", 0.0)


@pytest.fixture
def archive(tiny_set: TinySet) -> bytes:
    return tar_gz(tiny_set.files, dirs=("cartoonset10k",))


def _download(srv, dest: Path, **kw) -> Path:
    kw.setdefault("expected_count", 6)
    return download_cartoonset("cartoonset10k", dest, url=srv.url(URL_PATH), progress=False, **kw)


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_constants_name_official_archives() -> None:
    assert dl.CARTOONSET_ARCHIVES["cartoonset10k"].expected_count == 10_000
    assert dl.CARTOONSET_ARCHIVES["cartoonset100k"].expected_count == 100_000
    assert dl.CARTOONSET_ARCHIVES["cartoonset100k"].url.endswith("/cartoonset100k.tgz")


def test_download_extract_and_load_end_to_end(http_server, archive, tiny_set, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    dest = tmp_path / "data"
    seen: list[tuple[int, int | None]] = []
    path = download_cartoonset("cartoonset10k", dest, url=http_server.url(URL_PATH), expected_count=6,
                               progress=lambda done, total: seen.append((done, total)))
    assert path == dest / "cartoonset10k"
    assert sorted(p.name for p in path.glob("cs*.png")) == sorted(f"{i}.png" for i in SORTED_FACE_IDS)
    assert (path / dl.COMPLETE_MARKER).is_file()
    assert _leftovers(dest) == ["cartoonset10k"]  # no .part, no temp folder
    assert seen and seen[-1] == (len(archive), len(archive))

    ds = load_dataset(DataSpec(kind="cartoonset", path=str(path), resolution=32, crop_fraction=0.7),
                      cache_dir=tmp_path / "cache", progress=False)
    assert ds.images.shape == (6, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.ids == list(SORTED_FACE_IDS)
    np.testing.assert_array_equal(ds.labels, np.stack([tiny_set.labels[i] for i in SORTED_FACE_IDS]))
    # the transparent (green-tinted) background composites to white; the face centre is not white
    assert (ds.images[:, 0, 0] == 255).all()
    assert (ds.images[:, 16, 16] < 250).any(axis=-1).all()

    # idempotent: a second call returns at once without touching the network
    n_requests = len(http_server.requests)
    assert _download(http_server, dest) == path
    assert len(http_server.requests) == n_requests


def test_resume_from_partial_download_uses_range(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    dest = tmp_path / "data"
    dest.mkdir()
    half = len(archive) // 2
    (dest / "cartoonset10k.tgz.part").write_bytes(archive[:half])
    path = _download(http_server, dest)
    assert http_server.range_requests == [f"bytes={half}-"]
    assert len(list(path.glob("cs*.png"))) == 6
    assert _leftovers(dest) == ["cartoonset10k"]


def test_server_ignoring_range_restarts_cleanly(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    http_server.ignore_range = True
    dest = tmp_path / "data"
    dest.mkdir()
    # garbage in the .part: if we appended the 200 body to it the archive would be corrupt
    (dest / "cartoonset10k.tgz.part").write_bytes(b"\0garbage" * 100)
    path = _download(http_server, dest)
    assert http_server.range_requests == ["bytes=800-"]
    assert len(list(path.glob("cs*.png"))) == 6


def test_dropped_connection_is_resumed_automatically(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    http_server.drop_after = len(archive) // 3
    path = _download(http_server, tmp_path / "data")
    assert http_server.range_requests == [f"bytes={len(archive) // 3}-"]
    assert len(list(path.glob("cs*.png"))) == 6


def test_complete_part_is_not_downloaded_again(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "cartoonset10k.tgz.part").write_bytes(archive)  # e.g. killed during extraction
    path = _download(http_server, dest)
    assert http_server.range_requests == [f"bytes={len(archive)}-"]  # answered 416: nothing to fetch
    assert len(list(path.glob("cs*.png"))) == 6


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_truncated_archive_is_rejected_and_deleted(http_server, archive, tmp_path, cut) -> None:
    http_server.files[URL_PATH] = archive[: int(len(archive) * cut)]
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="truncated or corrupt.*re-run"):
        _download(http_server, dest)
    assert _leftovers(dest) == []  # no dataset folder, no temp folder, no corrupt .part


def test_not_an_archive(http_server, tmp_path) -> None:
    http_server.files[URL_PATH] = b"<html>Access denied</html>"
    with pytest.raises(DownloadError, match="truncated or corrupt"):
        _download(http_server, tmp_path / "data")
    assert _leftovers(tmp_path / "data") == []


def test_wrong_image_count(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    with pytest.raises(DownloadError, match="holds 6 Cartoon Set faces.*expected 7"):
        _download(http_server, tmp_path / "data", expected_count=7)
    assert _leftovers(tmp_path / "data") == []


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.size, ti.mode = kind, linkname, size, 0o644
    return ti


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "hardlink", "device", "nested-dotdot"])
def test_malicious_archives_are_refused(http_server, tiny_set, tmp_path, case) -> None:
    outside = tmp_path / "evil.txt"
    dest = tmp_path / "data"
    members = {
        "dotdot": _member("../evil.txt", size=4),
        "nested-dotdot": _member("cartoonset10k/sub/../../../evil.txt", size=4),
        "absolute": _member(str(outside), size=4),
        "symlink": _member("cartoonset10k/link", tarfile.SYMTYPE, linkname=str(outside)),
        "hardlink": _member("cartoonset10k/hard", tarfile.LNKTYPE, linkname="cartoonset10k/cs3.png"),
        "device": _member("cartoonset10k/dev", tarfile.CHRTYPE),
    }
    http_server.files[URL_PATH] = tar_gz(tiny_set.files, extra=[members[case]])
    with pytest.raises(DownloadError, match="refusing|escapes|absolute"):
        _download(http_server, dest)
    assert not outside.exists()
    assert not (tmp_path / "data" / "cartoonset10k").exists()
    assert _leftovers(dest) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_existing_incomplete_folder_is_not_overwritten(http_server, tmp_path) -> None:
    target = tmp_path / "data" / "cartoonset10k"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("user data")
    with pytest.raises(DownloadError, match="not a complete Cartoon Set.*remove it"):
        _download(http_server, tmp_path / "data")
    assert (target / "mine.txt").read_text() == "user data"
    assert http_server.requests == []


def test_http_error_and_unknown_name(http_server, tmp_path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        _download(http_server, tmp_path / "data")
    with pytest.raises(DownloadError, match="unknown Cartoon Set archive"):
        download_cartoonset("cartoonset1k", tmp_path, url=http_server.url(URL_PATH), progress=False)  # type: ignore[arg-type]


def test_unreachable_server_keeps_part_and_says_rerun(tmp_path) -> None:
    with pytest.raises(DownloadError, match="re-run the same command to resume"):
        download_cartoonset("cartoonset10k", tmp_path, url="http://127.0.0.1:9/x.tgz", progress=False, timeout=2)


def test_leftover_temp_folder_of_a_killed_extraction_is_cleaned(http_server, archive, tmp_path) -> None:
    http_server.files[URL_PATH] = archive
    dest = tmp_path / "data"
    old = dest / ".cartoonset10k.extract-dead0000"
    (old / "cartoonset10k").mkdir(parents=True)
    os.utime(old, (1_000_000, 1_000_000))
    _download(http_server, dest)
    assert _leftovers(dest) == ["cartoonset10k"]
