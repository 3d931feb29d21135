"""Download, verify and safely extract the real Cartoon Set archives.

The archives are large (the 100k one is several GB) and come over the network, so the download is
streamed in chunks to ``<name>.tgz.part`` and *resumed* with an HTTP Range request when re-run (a
server that ignores Range and answers 200 makes us restart cleanly). The archive is then treated as
untrusted input: it is decompressed to the end (a truncated or corrupt gzip/tar is a
:class:`~vae_core.errors.DownloadError` and the broken ``.part`` is deleted), every member is checked
before it is written (absolute paths, ``..`` components, links, devices and oversized files are
refused; only regular files and folders are extracted, additionally through ``tarfile``'s ``'data'``
filter), and the number of ``cs*.png`` faces must match the expected count. Everything is extracted
into a temporary folder next to the target and renamed into place only when complete and verified, so
the dataset folder is either absent or whole. Re-running on a complete dataset returns at once.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import os
import re
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Callable, Literal, Mapping, Union

from ..errors import DownloadError

log = logging.getLogger(__name__)

CartoonsetName = Literal["cartoonset10k", "cartoonset100k"]
ProgressCallback = Callable[[int, Union[int, None]], None]


@dataclass(frozen=True)
class ArchiveInfo:
    """Where an official archive lives and how many faces (``cs*.png``) it must contain."""

    url: str
    expected_count: int


CARTOONSET_ARCHIVES: Mapping[str, ArchiveInfo] = MappingProxyType({
    "cartoonset10k": ArchiveInfo("https://storage.googleapis.com/cartoonset_public_files/cartoonset10k.tgz", 10_000),
    "cartoonset100k": ArchiveInfo("https://storage.googleapis.com/cartoonset_public_files/cartoonset100k.tgz", 100_000),
})

#: Written inside a dataset folder once it is complete; its presence makes re-runs return at once.
COMPLETE_MARKER = ".cartoonset-complete.json"
CHUNK = 1 << 20
#: No Cartoon Set member comes close to this (PNGs are ~20–100 kB); larger means a hostile archive.
MAX_MEMBER_BYTES = 256 << 20
ATTEMPTS = 3
#: Seconds before the n-th retry is n × this (a flaky link usually recovers within seconds).
RETRY_DELAY_S = 2.0
_FACE = re.compile(r"^cs\d+\.png$")
#: tarfile's extraction-filter refusals (Python >= 3.11.4); an empty tuple matches nothing.
_FILTER_ERRORS: tuple[type[BaseException], ...] = tuple(
    c for c in (getattr(tarfile, "FilterError", None),) if c is not None
)


def download_cartoonset(
    name: CartoonsetName,
    dest_root: Path,
    url: str | None = None,
    progress: bool | ProgressCallback = True,
    expected_count: int | None = None,
    timeout: float = 60.0,
    keep_archive: bool = False,
) -> Path:
    """Make ``dest_root/name`` a complete, verified Cartoon Set folder and return its path.

    ``url`` overrides the official address (mirrors, tests); ``expected_count`` the number of faces the
    archive must hold; ``progress`` is True for a tqdm bar, False for none, or a callback
    ``(bytes_done, bytes_total_or_None)``. Raises DownloadError with what to do on any failure.
    """
    if name not in CARTOONSET_ARCHIVES:
        raise DownloadError(f"unknown Cartoon Set archive {name!r}; choose one of {', '.join(CARTOONSET_ARCHIVES)}")
    info = CARTOONSET_ARCHIVES[name]
    url = url or info.url
    expected = info.expected_count if expected_count is None else int(expected_count)
    dest_root = Path(dest_root).expanduser()
    target = dest_root / name

    if target.exists():
        return _existing(target, expected)
    try:
        dest_root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create {str(dest_root)!r}: {e.strerror or e}") from None

    _remove_stale_extractions(dest_root, name)
    part = dest_root / f"{name}.tgz.part"
    _fetch(url, part, progress, timeout)
    _extract_verified(part, target, name, url, expected)
    if keep_archive:
        os.replace(part, dest_root / f"{name}.tgz")
    else:
        part.unlink(missing_ok=True)
    log.info("Cartoon Set %s ready at %s", name, target)
    return target


def _existing(target: Path, expected: int) -> Path:
    """Idempotence: a folder we completed (marker) or one holding the expected faces is returned as is."""
    marker = target / COMPLETE_MARKER
    if marker.is_file():
        try:
            count = int(json.loads(marker.read_text(encoding="utf-8"))["count"])
        except (OSError, ValueError, KeyError, TypeError):
            count = -1
        if count == expected:
            log.info("Cartoon Set already present at %s", target)
            return target
    count = _count_faces(target) if target.is_dir() else -1
    if count == expected:
        return target
    raise DownloadError(
        f"{str(target)!r} exists but is not a complete Cartoon Set ({max(count, 0)} of {expected} faces); "
        "remove it and re-run the download"
    )


def _remove_stale_extractions(dest_root: Path, name: str, max_age_s: float = 6 * 3600) -> None:
    """Temp folders of extractions killed hard (no ``finally`` ran); young ones may be a live run."""
    now = time.time()
    for p in dest_root.glob(f".{name}.extract-*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > max_age_s:
                log.info("removing leftover %s of an interrupted extraction", p)
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _count_faces(folder: Path) -> int:
    return sum(1 for p in folder.rglob("cs*.png") if _FACE.match(p.name))


# -- download ----------------------------------------------------------------------------------------
def _fetch(url: str, part: Path, progress: bool | ProgressCallback, timeout: float) -> None:
    """Stream ``url`` into ``part``, resuming from its current size; retry network errors (resuming)."""
    last: Exception | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_once(url, part, progress, timeout)
            return
        except DownloadError:
            raise
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as e:
            last = e
            log.warning("download attempt %d/%d of %s failed: %s", attempt, ATTEMPTS, url, e)
            if attempt < ATTEMPTS:
                time.sleep(RETRY_DELAY_S * attempt)
    have = part.stat().st_size if part.exists() else 0
    raise DownloadError(
        f"downloading {url} failed after {ATTEMPTS} attempts ({last}); {have / 1e6:.1f} MB are kept in "
        f"{str(part)!r} - re-run the same command to resume"
    )


def _fetch_once(url: str, part: Path, progress: bool | ProgressCallback, timeout: float) -> None:
    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "cartoon-vae/0.1"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) URL from our table or the user
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            total = _content_range_total(e.headers.get("Content-Range", ""))
            e.close()
            if total == offset:
                log.info("%s is already complete (%d bytes)", part, offset)
                return
            log.warning("server refused to resume %s at %d bytes; restarting", part, offset)
            part.unlink(missing_ok=True)
            raise ConnectionError("range not satisfiable; restarting from scratch") from None
        if e.code >= 500 or e.code == 429:
            raise ConnectionError(f"HTTP {e.code} {e.reason}") from None
        raise DownloadError(f"downloading {url} failed: HTTP {e.code} {e.reason}; check the URL") from None
    except ValueError as e:
        raise DownloadError(f"invalid download URL {url!r}: {e}") from None
    with resp:
        status = getattr(resp, "status", 200)
        length = resp.headers.get("Content-Length")
        length_i = int(length) if length and length.isdigit() else None
        if offset and status == 206:
            start = _content_range_start(resp.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink(missing_ok=True)
                raise ConnectionError(f"server resumed at byte {start}, not {offset}; restarting")
            mode, total = "ab", (offset + length_i if length_i is not None else None)
            log.info("resuming %s at %.1f MB", part.name, offset / 1e6)
        else:
            if offset:
                log.info("server ignored the Range request (HTTP %s); restarting %s", status, part.name)
            offset, mode, total = 0, "wb", length_i
        done = offset
        bar = _progress_bar(progress, total, done, part.name)
        try:
            with open(part, mode) as f:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    done += len(chunk)
                    bar(done)
                f.flush()
                os.fsync(f.fileno())
        finally:
            bar(None)
    if total is not None and done != total:
        raise ConnectionError(f"connection closed after {done} of {total} bytes")


def _progress_bar(progress: bool | ProgressCallback, total: int | None, initial: int, name: str):
    """A function taking the byte count (None closes): tqdm, a user callback, or nothing."""
    if callable(progress):
        return lambda n: progress(n, total) if n is not None else None
    if not progress:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
               dynamic_ncols=True)

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n - bar.n)

    return update


def _content_range_start(value: str) -> int | None:
    m = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*$", value)
    return int(m.group(1)) if m else None


def _content_range_total(value: str) -> int | None:
    m = re.match(r"^\s*bytes\s+(?:\*|\d+-\d+)/(\d+)\s*$", value)
    return int(m.group(1)) if m else None


# -- verify + extract --------------------------------------------------------------------------------
def _check_member(m: tarfile.TarInfo) -> PurePosixPath:
    """The safe relative path of member ``m``; DownloadError for anything that is not a plain file/folder."""
    name = m.name
    if not (m.isreg() or m.isdir()):
        kind = "symlink" if m.issym() else "hard link" if m.islnk() else "device/fifo/special file"
        raise DownloadError(f"archive member {name!r} is a {kind}; refusing to extract a Cartoon Set archive with it")
    if "\x00" in name or "\\" in name or not name.strip():
        raise DownloadError(f"archive member {name!r} has an invalid name")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise DownloadError(f"archive member {name!r} has an absolute path; refusing to extract")
    p = PurePosixPath(name)
    if ".." in p.parts:
        raise DownloadError(f"archive member {name!r} escapes the target folder ('..'); refusing to extract")
    if m.isreg() and m.size > MAX_MEMBER_BYTES:
        raise DownloadError(f"archive member {name!r} is {m.size / 1e6:.0f} MB, too large for a Cartoon Set file")
    return p


def _extract_verified(part: Path, target: Path, name: str, url: str, expected: int) -> None:
    """Decompress ``part`` to the end, extracting checked members into a temp folder, then move it to ``target``."""
    tmp = target.parent / f".{name}.extract-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    tmp_resolved = tmp.resolve()
    try:
        try:
            with gzip.open(part, "rb") as gz:
                with tarfile.open(fileobj=gz, mode="r|") as tf:
                    for m in tf:
                        rel = _check_member(m)
                        dest = (tmp / rel).resolve()
                        if dest != tmp_resolved and tmp_resolved not in dest.parents:
                            raise DownloadError(f"archive member {m.name!r} escapes the target folder; refusing to extract")
                        if hasattr(tarfile, "data_filter"):
                            tf.extract(m, tmp, set_attrs=False, filter="data")
                        else:  # Python without extraction filters: our checks above are the guard
                            tf.extract(m, tmp, set_attrs=False)
                # the tar end marker may come before the gzip end: read on so a cut gzip stream is caught
                while gz.read(CHUNK):
                    pass
        except DownloadError:
            raise
        except _FILTER_ERRORS as e:
            raise DownloadError(f"the archive {part.name} has an unsafe member: {e}; refusing to extract") from None
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
            raise DownloadError(
                f"the downloaded archive {part.name} is truncated or corrupt ({type(e).__name__}: {e}); "
                "it was deleted - re-run the download"
            ) from None
        content = tmp / name if (tmp / name).is_dir() and len(list(tmp.iterdir())) == 1 else tmp
        count = _count_faces(content)
        if count != expected:
            raise DownloadError(
                f"the archive from {url} holds {count} Cartoon Set faces (cs*.png), expected {expected}; "
                "it is incomplete or not the right archive and was deleted; check the URL and re-run"
            )
        (content / COMPLETE_MARKER).write_text(
            json.dumps({"name": name, "url": url, "count": count, "archive_bytes": part.stat().st_size,
                        "completed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "license": "Cartoon Set, Google, CC BY 4.0"}, indent=2),
            encoding="utf-8",
        )
        if target.exists():
            raise DownloadError(f"{str(target)!r} appeared while extracting (another download?); remove it and re-run")
        os.replace(content, target)
    except DownloadError:
        # truncated, corrupt, hostile or wrong: the archive is unusable, a re-run must fetch it anew
        part.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
