"""onnxruntime-web for the page: fetched from npm at the version and integrity that package-lock.json pins.

Why this module: the page decodes faces with onnxruntime-web, but no third-party front-end code is copied into the
repository and nothing is loaded from a CDN at run time. So every machine that serves the page gets the package
itself: ``make setup`` runs ``python -m vae_core fetch-web-runtime``, and a Hugging Face Space (which only runs
``pip install -r requirements.txt`` and ``python app.py``) fetches it when the app starts.

package-lock.json is the single source of the version, tarball URL and ``integrity`` (sha512 SRI). The tarball is
verified against that integrity *before* anything in it is read; then only :data:`RUNTIME_FILES` are taken from its
``dist/`` folder, written under names we choose (never a path from the archive), listed with their sha256 in
``runtime.json`` and moved into place as one folder, ``<root>/onnxruntime-web-<version>/``, by a rename: a reader sees
the complete folder or none. Where ``npm ci`` has already installed the pinned version into ``node_modules`` (npm
checked the same integrity), its files are copied instead of downloading again.

:func:`find_runtime` never touches the network and re-checks the files against the manifest, so a truncated or
edited file reads as "not available" (and :func:`ensure_runtime` replaces it). The check hashes ~14 MB once and is
then cached by each file's size, mtime and inode, so callers may ask on every request.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import fsync_dir, temp_path
from ..errors import WebRuntimeError
from ..file_hash import file_sha256

log = logging.getLogger(__name__)

PACKAGE = "onnxruntime-web"
#: What the page loads: the WASM-only ES module build, its Emscripten glue, and the SIMD WASM binary (the page
#: sets ``numThreads = 1``, so the "threaded" build runs without cross-origin isolation).
RUNTIME_FILES: tuple[str, ...] = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MANIFEST = "runtime.json"
ENV_ROOT = "CVAE_WEB_RUNTIME"

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_PATH = REPO_ROOT / "package-lock.json"
NODE_MODULES = REPO_ROOT / "node_modules"

#: The 1.30.0 tarball is 33 MB; a response beyond this is not the package.
MAX_TARBALL_BYTES = 100 * 2**20
#: Seconds a connect or a read may stall, and the whole download's limit (a trickle must not hold start-up).
TIMEOUT_S = 30.0
DEADLINE_S = 300.0
ATTEMPTS = 2
RETRY_DELAY_S = 2.0
#: Temporary downloads and staging folders older than this were left by a killed process and are removed.
STALE_TMP_S = 3600.0
CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedPackage:
    """The lock's entry for onnxruntime-web: what to fetch and how to recognise it."""

    version: str
    url: str
    integrity: str

    @property
    def folder_name(self) -> str:
        return f"{PACKAGE}-{self.version}"


def default_runtime_root() -> Path:
    """Where fetched runtimes live: ``$CVAE_WEB_RUNTIME`` or the repository's ``.cache/web-runtime``."""
    env = os.environ.get(ENV_ROOT)
    return Path(env).expanduser() if env else REPO_ROOT / ".cache" / "web-runtime"


def read_pin(lock_path: str | Path | None = None) -> PinnedPackage:
    """The version, tarball URL and integrity package-lock.json pins for onnxruntime-web."""
    path = Path(lock_path) if lock_path is not None else LOCK_PATH
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WebRuntimeError(f"file missing: {path} (the lock that pins {PACKAGE}); restore it from the "
                              "repository") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WebRuntimeError(f"cannot read {path}: {e}") from None
    entry = lock.get("packages", {}).get(f"node_modules/{PACKAGE}") if isinstance(lock, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
        raise WebRuntimeError(f"{path} does not pin {PACKAGE}; run `npm install --package-lock-only`")
    version = entry["version"]
    integrity = entry.get("integrity")
    if not isinstance(integrity, str) or _sha512_digests(integrity) == []:
        raise WebRuntimeError(f"{path} has no sha512 integrity for {PACKAGE} {version}; regenerate the lock")
    # npm leaves `resolved` out under omit-lockfile-registry-resolved; the registry's URL scheme is fixed
    url = entry.get("resolved") or f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{version}.tgz"
    return PinnedPackage(version=version, url=url, integrity=integrity)


def _sha512_digests(integrity: str) -> list[bytes]:
    """The sha512 digests of an SRI string (``sha512-<base64>``, several separated by spaces, options after ?)."""
    digests = []
    for token in integrity.split():
        algo, _, rest = token.partition("-")
        if algo == "sha512":
            try:
                digests.append(base64.b64decode(rest.split("?")[0], validate=True))
            except ValueError:
                continue
    return [d for d in digests if len(d) == 64]


def _sri(digest: bytes) -> str:
    return "sha512-" + base64.b64encode(digest).decode()


# -- checking a fetched runtime ------------------------------------------------------------------
_verified: dict[tuple[str, str], tuple[tuple, str | None]] = {}
_verified_lock = threading.Lock()


def _signature(folder: Path) -> tuple:
    """What changes when any file of the runtime is replaced, truncated or written to."""
    sig = []
    for name in (MANIFEST, *RUNTIME_FILES):
        try:
            st = (folder / name).stat()
            sig.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            sig.append((name, None))
    return tuple(sig)


def _problem(folder: Path, pin: PinnedPackage) -> str | None:
    """Why ``folder`` is not the pinned runtime, or None when every file matches its manifest."""
    if not folder.is_dir():
        return f"not fetched: {folder} does not exist; run `python -m vae_core fetch-web-runtime`"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"file missing: {folder / MANIFEST}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"corrupt: {folder / MANIFEST} cannot be read ({e})"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return f"corrupt: {folder / MANIFEST} lists no files"
    if manifest.get("version") != pin.version or manifest.get("integrity") != pin.integrity:
        return (f"stale: {folder} holds {PACKAGE} {manifest.get('version')} ({manifest.get('integrity')}), "
                f"package-lock.json pins {pin.version} ({pin.integrity})")
    for name in RUNTIME_FILES:
        path, want = folder / name, manifest["files"].get(name)
        if not isinstance(want, dict):
            return f"corrupt: {folder / MANIFEST} does not list {name}"
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"file missing: {path}"
        if size != want.get("size"):
            return f"corrupt: {path} has {size} bytes, {MANIFEST} records {want.get('size')}"
        if file_sha256(path) != want.get("sha256"):
            return f"corrupt: {path} does not match the sha256 in {MANIFEST}"
    return None


def check_runtime(root: str | Path | None = None, *, lock_path: str | Path | None = None) -> Path:
    """The folder holding :data:`RUNTIME_FILES` for the pinned version, checked against its manifest; raises
    :class:`WebRuntimeError` saying why it is not usable. No network."""
    root = Path(root) if root is not None else default_runtime_root()
    pin = read_pin(lock_path)
    return _verify(root / pin.folder_name, pin)


def _verify(folder: Path, pin: PinnedPackage) -> Path:
    """:func:`_problem`, remembered for as long as no file of the folder changes."""
    key = (str(folder.absolute()), pin.integrity)
    sig = _signature(folder)
    with _verified_lock:
        cached = _verified.get(key)
    if cached is not None and cached[0] == sig:
        problem = cached[1]
    else:
        problem = _problem(folder, pin)
        if _signature(folder) == sig:  # unchanged while hashing: the verdict holds for this signature
            with _verified_lock:
                _verified[key] = (sig, problem)
    if problem:
        raise WebRuntimeError(problem)
    return folder


def find_runtime(root: str | Path | None = None, *, lock_path: str | Path | None = None) -> Path | None:
    """The checked runtime folder, or None (the reason is logged; :func:`check_runtime` raises it). No network."""
    try:
        return check_runtime(root, lock_path=lock_path)
    except WebRuntimeError as e:
        log.debug("onnxruntime-web not available: %s", e)
        return None


# -- getting it ----------------------------------------------------------------------------------
def ensure_runtime(root: str | Path | None = None, *, download: bool = True, lock_path: str | Path | None = None,
                   node_modules: str | Path | None = None) -> Path:
    """The runtime folder, fetching it if it is missing or damaged: copied from ``node_modules`` when ``npm ci``
    installed the pinned version there, else downloaded from the lock's URL (unless ``download`` is False).
    Raises :class:`WebRuntimeError` with a one-line reason when it cannot be had."""
    pin = read_pin(lock_path)
    root = Path(root) if root is not None else default_runtime_root()
    try:
        return _verify(root / pin.folder_name, pin)
    except WebRuntimeError as e:
        reason = str(e)
        log.info("fetching %s %s: %s", PACKAGE, pin.version, reason)
    package_dir = Path(node_modules if node_modules is not None else NODE_MODULES) / PACKAGE
    from_npm_ci = _installed_version(package_dir) == pin.version
    if not (from_npm_ci or download):
        hint = "" if "fetch-web-runtime" in reason else "; fetch it again: `python -m vae_core fetch-web-runtime`"
        raise WebRuntimeError(reason + hint)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WebRuntimeError(f"cannot create {root}: {e.strerror or e}") from None
    _remove_stale(root)
    if from_npm_ci:
        try:
            return _install(root, pin, lambda staging: _copy_from_node_modules(package_dir, staging),
                            f"node_modules ({package_dir})")
        except WebRuntimeError as e:
            if not download:
                raise
            log.warning("cannot copy %s from %s (%s); downloading it", PACKAGE, package_dir, e)
    tarball = temp_path(root / f"{pin.folder_name}.tgz")
    try:
        _download(pin, tarball)
        return _install(root, pin, lambda staging: _extract(tarball, staging, pin), pin.url)
    finally:
        tarball.unlink(missing_ok=True)


def _installed_version(package_dir: Path) -> str | None:
    try:
        meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return meta.get("version") if isinstance(meta, dict) and meta.get("name") == PACKAGE else None


def _remove_stale(root: Path) -> None:
    """Temporary files and folders that a killed fetch left behind."""
    now = time.time()
    for p in root.glob(".*.tmp"):
        try:
            if now - p.lstat().st_mtime > STALE_TMP_S:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:
            pass


def _download(pin: PinnedPackage, dest: Path) -> None:
    """Stream the tarball into ``dest`` and check it against the lock's integrity; raise on any failure."""
    last = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            digest = _fetch_once(pin.url, dest)
        except ConnectionError as e:  # worth another try: a refused, dropped or stalled connection, an HTTP 5xx
            last = str(e)
            log.warning("download attempt %d/%d of %s failed: %s", attempt, ATTEMPTS, pin.url, e)
            if attempt < ATTEMPTS:
                time.sleep(RETRY_DELAY_S)
            continue
        if digest not in _sha512_digests(pin.integrity):
            raise WebRuntimeError(f"integrity mismatch: {pin.url} has {_sri(digest)}, package-lock.json pins "
                                  f"{pin.integrity}")
        return
    what = "download failed" if last.startswith("HTTP ") else "no network"
    raise WebRuntimeError(f"{what}: cannot download {PACKAGE} {pin.version} from {pin.url} ({last})")


def _fetch_once(url: str, dest: Path) -> bytes:
    """Write ``url``'s body to ``dest``; its sha512. ConnectionError for what a retry may cure."""
    req = urllib.request.Request(url, headers={"User-Agent": "cartoon-vae (fetch-web-runtime)"})
    started = time.monotonic()
    try:
        # a fresh opener reads the proxy settings of the environment now, not at first import
        resp = urllib.request.build_opener().open(req, timeout=TIMEOUT_S)  # noqa: S310 - the lock's URL
    except urllib.error.HTTPError as e:
        e.close()
        if e.code >= 500 or e.code == 429:
            raise ConnectionError(f"HTTP {e.code} {e.reason}") from None
        raise WebRuntimeError(f"download failed: {url} answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise ConnectionError(str(e.reason)) from None
    except ValueError as e:
        raise WebRuntimeError(f"download failed: invalid URL {url!r} in package-lock.json ({e})") from None
    except (OSError, http.client.HTTPException) as e:
        raise ConnectionError(str(e) or type(e).__name__) from None
    h = hashlib.sha512()
    with resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > MAX_TARBALL_BYTES:
            raise WebRuntimeError(f"download failed: {url} is {total / 1e6:.0f} MB, more than the "
                                  f"{MAX_TARBALL_BYTES / 1e6:.0f} MB any {PACKAGE} tarball should be")
        done = 0
        try:
            with open(dest, "wb") as f:
                while True:
                    try:
                        chunk = resp.read(CHUNK)
                    except (OSError, http.client.HTTPException) as e:
                        raise ConnectionError(str(e) or type(e).__name__) from None
                    if not chunk:
                        break
                    done += len(chunk)
                    if done > MAX_TARBALL_BYTES:
                        raise WebRuntimeError(f"download failed: {url} sent more than "
                                              f"{MAX_TARBALL_BYTES / 1e6:.0f} MB")
                    if time.monotonic() - started > DEADLINE_S:
                        raise ConnectionError(f"too slow: {done / 1e6:.1f} MB in {DEADLINE_S:.0f} s")
                    h.update(chunk)
                    f.write(chunk)
        except ConnectionError:
            raise
        except OSError as e:
            raise WebRuntimeError(f"cannot write {dest}: {e.strerror or e}") from None
    if total is not None and done != total:
        raise ConnectionError(f"connection closed after {done} of {total} bytes")
    return h.digest()


def _extract(tarball: Path, staging: Path, pin: PinnedPackage) -> None:
    """Write :data:`RUNTIME_FILES` from the (verified) tarball's ``dist/`` into ``staging``.

    npm strips an archive's first path component (``package/``); so do we. Only exact names are taken and each
    is written under our own name, so no archive path ever reaches the file system; an archive with an absolute
    or ``..`` member is refused outright, being no npm package."""
    wanted = {f"dist/{name}": name for name in RUNTIME_FILES}
    found: dict[str, tarfile.TarInfo] = {}
    package_json: dict | None = None
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            for m in tf:
                parts = m.name.split("/")
                if m.name.startswith("/") or ".." in parts or "\\" in m.name:
                    raise WebRuntimeError(f"bad tarball: unsafe member {m.name!r} in {pin.url}")
                rel = "/".join(parts[1:])
                if rel not in wanted and rel != "package.json":
                    continue
                if not m.isreg():
                    raise WebRuntimeError(f"bad tarball: {m.name!r} in {pin.url} is not a regular file")
                if rel in found or (rel == "package.json" and package_json is not None):
                    raise WebRuntimeError(f"bad tarball: {pin.url} holds {m.name!r} twice")
                if m.size > MAX_TARBALL_BYTES:
                    raise WebRuntimeError(f"bad tarball: {m.name!r} claims {m.size} bytes")
                src = tf.extractfile(m)
                assert src is not None  # a regular member
                if rel == "package.json":
                    package_json = json.loads(src.read().decode("utf-8"))
                    continue
                found[rel] = m
                with src, open(staging / wanted[rel], "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
    except (tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError, OSError) as e:
        if isinstance(e, OSError) and getattr(e, "filename", None):
            raise WebRuntimeError(f"cannot write {e.filename}: {e.strerror}") from None
        raise WebRuntimeError(f"bad tarball: {pin.url} cannot be unpacked ({e})") from None
    missing = [f"package/{rel}" for rel in wanted if rel not in found]
    if missing:
        raise WebRuntimeError(f"file missing: {pin.url} has no {', '.join(missing)}")
    version = package_json.get("version") if isinstance(package_json, dict) else None
    if version != pin.version:
        raise WebRuntimeError(f"bad tarball: {pin.url} is {PACKAGE} {version}, package-lock.json pins {pin.version}")


def _copy_from_node_modules(package_dir: Path, staging: Path) -> None:
    for name in RUNTIME_FILES:
        src = package_dir / "dist" / name
        try:
            shutil.copyfile(src, staging / name)
        except FileNotFoundError:
            raise WebRuntimeError(f"file missing: {src}; run `npm ci` again") from None
        except OSError as e:
            raise WebRuntimeError(f"cannot copy {src}: {e.strerror or e}") from None


def _install(root: Path, pin: PinnedPackage, fill: Callable[[Path], None], source: str) -> Path:
    """Fill a hidden staging folder, write its manifest, and rename it to ``<root>/<package>-<version>``."""
    final = root / pin.folder_name
    staging = temp_path(final)
    try:
        staging.mkdir()
        fill(staging)
        files = {name: {"size": (staging / name).stat().st_size, "sha256": file_sha256(staging / name)}
                 for name in RUNTIME_FILES}
        manifest = {"package": PACKAGE, "version": pin.version, "integrity": pin.integrity, "source": source,
                    "files": files}
        with open(staging / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(staging)
        _replace_dir(staging, final)
    except OSError as e:
        raise WebRuntimeError(f"cannot write {PACKAGE} into {root}: {e.strerror or e}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(root)
    return _verify(final, pin)


def _replace_dir(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final``; an old (damaged or stale) ``final`` is renamed aside first and removed.
    If another process put a good copy in place meanwhile, ours is dropped (the caller removes it)."""
    try:
        os.replace(staging, final)
        return
    except OSError:
        if not final.exists():
            raise
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", suffix=".tmp", dir=final.parent))
    try:
        os.replace(final, old / final.name)
    except FileNotFoundError:
        pass  # another process moved it meanwhile
    try:
        os.replace(staging, final)
    except OSError:
        if not final.exists():
            raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
