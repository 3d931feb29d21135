"""onnxruntime-web fetched at the lock's pin: a fake npm tarball served on loopback, never the real registry."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import tarfile
from pathlib import Path

import pytest

from cartoonset_fixtures import http_server, tar_gz  # noqa: F401
from vae_core.cli import main
from vae_core.errors import VaeCoreError, WebRuntimeError
from vae_core.web import ort_runtime as rt

ROOT = Path(__file__).resolve().parents[1]
VERSION = "1.30.0"
URL_PATH = f"/onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
#: Stand-ins for the three dist files, of distinct content; the wasm one starts with the WASM magic number.
DIST = {name: (b"\0asm" if name.endswith(".wasm") else b"// ") + name.encode() * (50 + i)
        for i, name in enumerate(rt.RUNTIME_FILES)}


@pytest.fixture(autouse=True)
def _quick_and_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt, "RETRY_DELAY_S", 0.0)
    monkeypatch.setattr(rt, "NODE_MODULES", Path("/nonexistent/node_modules"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def npm_tarball(dist: dict[str, bytes] = DIST, version: str = VERSION, extra: list[tarfile.TarInfo] = ()) -> bytes:
    """What `npm pack` makes: everything under ``package/``, with its package.json and more than dist/."""
    files = {"package/package.json": json.dumps({"name": "onnxruntime-web", "version": version}).encode(),
             "package/lib/index.js": b"export {};\n", "package/dist/ort.min.js": b"// another build\n"}
    files |= {f"package/dist/{name}": data for name, data in dist.items()}
    return tar_gz(files, extra=list(extra))


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def write_lock(path: Path, url: str, integrity: str, version: str = VERSION) -> Path:
    lock = {"name": "cartoon-vae-page", "lockfileVersion": 3, "requires": True, "packages": {
        "": {"name": "cartoon-vae-page", "dependencies": {"onnxruntime-web": version}},
        "node_modules/onnxruntime-web": {"version": version, "resolved": url, "integrity": integrity}}}
    path.write_text(json.dumps(lock))
    return path


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{URL_PATH}"


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.fixture
def served(http_server, tmp_path):  # noqa: F811 - the fixture
    """A good tarball on the loopback server and a lock pinning it: (server, lock path, root)."""
    body = npm_tarball()
    http_server.files[URL_PATH] = body
    return http_server, write_lock(tmp_path / "package-lock.json", http_server.url(URL_PATH), sri(body)), \
        tmp_path / "web-runtime"


def test_good_tarball_gives_the_dist_files_and_a_manifest(served):
    srv, lock, root = served
    folder = rt.ensure_runtime(root, lock_path=lock)
    assert folder == root / f"onnxruntime-web-{VERSION}" and entries(root) == [folder.name]  # no temp left
    assert sorted(p.name for p in folder.iterdir()) == sorted([*rt.RUNTIME_FILES, rt.MANIFEST])
    for name, data in DIST.items():
        assert (folder / name).read_bytes() == data
    manifest = json.loads((folder / rt.MANIFEST).read_text())
    assert manifest["version"] == VERSION and manifest["integrity"] == rt.read_pin(lock).integrity
    assert manifest["files"] == {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in DIST.items()}
    assert rt.find_runtime(root, lock_path=lock) == folder
    # present and intact: neither a second download nor a rewrite
    mtime = (folder / rt.MANIFEST).stat().st_mtime_ns
    assert rt.ensure_runtime(root, lock_path=lock, download=False) == folder
    assert rt.ensure_runtime(root, lock_path=lock) == folder
    assert len(srv.requests) == 1 and (folder / rt.MANIFEST).stat().st_mtime_ns == mtime


def test_wrong_integrity_is_refused_and_leaves_nothing(http_server, tmp_path):  # noqa: F811
    body = npm_tarball()
    http_server.files[URL_PATH] = body
    lock = write_lock(tmp_path / "lock.json", http_server.url(URL_PATH), sri(body + b"tampered"))
    root = tmp_path / "web-runtime"
    with pytest.raises(WebRuntimeError, match=r"^integrity mismatch: .* has sha512-") as e:
        rt.ensure_runtime(root, lock_path=lock)
    assert isinstance(e.value, VaeCoreError) and "\n" not in str(e.value)
    assert entries(root) == [] and rt.find_runtime(root, lock_path=lock) is None


def test_a_tarball_without_a_runtime_file_is_refused(http_server, tmp_path):  # noqa: F811
    body = npm_tarball({n: d for n, d in DIST.items() if not n.endswith(".wasm")})
    http_server.files[URL_PATH] = body
    lock = write_lock(tmp_path / "lock.json", http_server.url(URL_PATH), sri(body))
    root = tmp_path / "web-runtime"
    with pytest.raises(WebRuntimeError, match=r"^file missing: .*package/dist/ort-wasm-simd-threaded\.wasm"):
        rt.ensure_runtime(root, lock_path=lock)
    assert entries(root) == []


def test_a_tarball_of_another_version_is_refused(http_server, tmp_path):  # noqa: F811
    body = npm_tarball(version="1.29.0")
    http_server.files[URL_PATH] = body
    lock = write_lock(tmp_path / "lock.json", http_server.url(URL_PATH), sri(body))
    with pytest.raises(WebRuntimeError, match="is onnxruntime-web 1.29.0, package-lock.json pins 1.30.0"):
        rt.ensure_runtime(tmp_path / "web-runtime", lock_path=lock)


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 4, target: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname = kind, (size if kind == tarfile.REGTYPE else 0), target
    return ti


@pytest.mark.parametrize("member, message", [
    (_member("package/dist/../../evil"), "unsafe member 'package/dist/../../evil'"),
    (_member("/abs/evil"), "unsafe member '/abs/evil'"),
    (_member("package/dist/ort-wasm-simd-threaded.mjs", tarfile.SYMTYPE, target="/etc/passwd"), "not a regular file"),
])
def test_member_path_tricks_are_refused(http_server, tmp_path, member, message):  # noqa: F811
    dist = DIST if not member.issym() else {n: d for n, d in DIST.items() if n != member.name.split("/")[-1]}
    body = npm_tarball(dist, extra=[member])
    http_server.files[URL_PATH] = body
    lock = write_lock(tmp_path / "lock.json", http_server.url(URL_PATH), sri(body))
    root = tmp_path / "a" / "b" / "web-runtime"
    with pytest.raises(WebRuntimeError, match=f"^bad tarball: .*{message}"):
        rt.ensure_runtime(root, lock_path=lock)
    assert entries(root) == [] and not list(tmp_path.rglob("evil"))


def test_a_damaged_runtime_is_not_found_and_is_fetched_again(served):
    srv, lock, root = served
    folder = rt.ensure_runtime(root, lock_path=lock)
    wasm = folder / "ort-wasm-simd-threaded.wasm"
    wasm.write_bytes(wasm.read_bytes()[:-10])  # truncated
    assert rt.find_runtime(root, lock_path=lock) is None
    with pytest.raises(WebRuntimeError, match=r"^corrupt: .*ort-wasm-simd-threaded\.wasm has \d+ bytes"):
        rt.check_runtime(root, lock_path=lock)
    with pytest.raises(WebRuntimeError, match="^corrupt: .*fetch it again"):
        rt.ensure_runtime(root, lock_path=lock, download=False)

    assert rt.ensure_runtime(root, lock_path=lock) == folder  # replaced whole
    assert wasm.read_bytes() == DIST[wasm.name] and len(srv.requests) == 2 and entries(root) == [folder.name]

    (folder / "ort.wasm.min.mjs").unlink()
    with pytest.raises(WebRuntimeError, match=r"^file missing: .*ort\.wasm\.min\.mjs"):
        rt.check_runtime(root, lock_path=lock)
    glue = folder / "ort-wasm-simd-threaded.mjs"
    glue.write_bytes(b"X" * glue.stat().st_size)  # same size, other bytes
    rt.ensure_runtime(root, lock_path=lock)
    glue.write_bytes(b"X" * glue.stat().st_size)
    with pytest.raises(WebRuntimeError, match="does not match the sha256"):
        rt.check_runtime(root, lock_path=lock)


def test_a_runtime_of_another_pin_is_stale(served, tmp_path):
    srv, lock, root = served
    rt.ensure_runtime(root, lock_path=lock)
    other = write_lock(tmp_path / "other-lock.json", srv.url(URL_PATH), sri(b"another release"))
    with pytest.raises(WebRuntimeError, match="^stale: "):
        rt.check_runtime(root, lock_path=other)


def test_the_check_is_cached_until_a_file_changes(served, monkeypatch):
    _, lock, root = served
    folder = rt.ensure_runtime(root, lock_path=lock)
    hashed: list[str] = []
    real = rt.file_sha256
    monkeypatch.setattr(rt, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    for _ in range(5):
        assert rt.find_runtime(root, lock_path=lock) == folder
    assert hashed == []
    (folder / "ort.wasm.min.mjs").write_bytes(b"changed")
    assert rt.find_runtime(root, lock_path=lock) is None and rt.find_runtime(root, lock_path=lock) is None


def test_node_modules_is_used_when_npm_ci_installed_the_pinned_version(tmp_path):
    pkg = tmp_path / "node_modules" / "onnxruntime-web"
    (pkg / "dist").mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": VERSION}))
    for name, data in DIST.items():
        (pkg / "dist" / name).write_bytes(data)
    lock = write_lock(tmp_path / "lock.json", closed_port_url(), sri(b"not downloaded"))
    root = tmp_path / "web-runtime"
    folder = rt.ensure_runtime(root, lock_path=lock, node_modules=tmp_path / "node_modules", download=False)
    assert {n: (folder / n).read_bytes() for n in rt.RUNTIME_FILES} == DIST
    assert json.loads((folder / rt.MANIFEST).read_text())["source"].startswith("node_modules")

    # another version there is not the pinned one: left alone
    (pkg / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": "1.22.0"}))
    with pytest.raises(WebRuntimeError, match="^not fetched: "):
        rt.ensure_runtime(tmp_path / "elsewhere", lock_path=lock, node_modules=tmp_path / "node_modules",
                          download=False)


def test_no_network_is_a_clear_one_line_error(tmp_path, capsys, monkeypatch):
    lock = write_lock(tmp_path / "lock.json", closed_port_url(), sri(b"x"))
    root = tmp_path / "web-runtime"
    with pytest.raises(WebRuntimeError, match=r"^no network: cannot download onnxruntime-web 1\.30\.0 from http") as e:
        rt.ensure_runtime(root, lock_path=lock)
    assert "\n" not in str(e.value) and entries(root) == []
    with pytest.raises(WebRuntimeError, match=r"^not fetched: .*fetch-web-runtime"):
        rt.ensure_runtime(root, lock_path=lock, download=False)

    monkeypatch.setattr(rt, "LOCK_PATH", lock)
    assert main(["fetch-web-runtime", "--dest", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no network: ") and "Traceback" not in err


def test_http_errors_and_oversized_downloads(served, monkeypatch):
    srv, lock, root = served
    write_lock(lock, srv.url("/missing.tgz"), rt.read_pin(lock).integrity)
    with pytest.raises(WebRuntimeError, match=r"^download failed: .*HTTP 404"):
        rt.ensure_runtime(root, lock_path=lock)
    write_lock(lock, srv.url(URL_PATH), rt.read_pin(lock).integrity)
    monkeypatch.setattr(rt, "MAX_TARBALL_BYTES", 100)
    with pytest.raises(WebRuntimeError, match=r"^download failed: .* more than"):
        rt.ensure_runtime(root, lock_path=lock)
    assert entries(root) == []


def test_a_dropped_connection_is_retried(served):
    srv, lock, root = served
    srv.drop_after = 100
    assert rt.ensure_runtime(root, lock_path=lock).is_dir() and len(srv.requests) == 2


def test_a_file_url_works_too(tmp_path):
    body = npm_tarball()
    (tmp_path / "pkg.tgz").write_bytes(body)
    lock = write_lock(tmp_path / "lock.json", (tmp_path / "pkg.tgz").as_uri(), sri(body))
    assert rt.find_runtime(tmp_path / "rt", lock_path=lock) is None
    assert rt.ensure_runtime(tmp_path / "rt", lock_path=lock) == rt.find_runtime(tmp_path / "rt", lock_path=lock)


def test_the_cli_says_where_and_how_big(served, capsys, monkeypatch):
    _, lock, root = served
    monkeypatch.setattr(rt, "LOCK_PATH", lock)
    assert main(["fetch-web-runtime", "--dest", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"onnxruntime-web {VERSION} ready at {root / f'onnxruntime-web-{VERSION}'}" in out and "MB" in out


def test_a_lock_without_the_package_or_its_integrity(tmp_path):
    with pytest.raises(WebRuntimeError, match="^file missing: "):
        rt.read_pin(tmp_path / "none.json")
    (tmp_path / "lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": {"": {}}}))
    with pytest.raises(WebRuntimeError, match="does not pin onnxruntime-web"):
        rt.read_pin(tmp_path / "lock.json")
    write_lock(tmp_path / "lock.json", "https://example.invalid/x.tgz", "sha1-abc=")
    with pytest.raises(WebRuntimeError, match="no sha512 integrity"):
        rt.read_pin(tmp_path / "lock.json")


def test_the_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(rt.ENV_ROOT, raising=False)
    assert rt.default_runtime_root() == ROOT / ".cache" / "web-runtime"
    monkeypatch.setenv(rt.ENV_ROOT, str(tmp_path))
    assert rt.default_runtime_root() == tmp_path


# -- the repository's own pin ---------------------------------------------------------------------
def test_the_lock_pins_onnxruntime_web_1_30_0_with_sha512_and_package_json_agrees():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    package = json.loads((ROOT / "package.json").read_text())
    assert lock["lockfileVersion"] == 3 and lock["name"] == package["name"] == "cartoon-vae-page"
    assert package["private"] is True and package["dependencies"] == {"onnxruntime-web": "1.30.0"}
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    pin = rt.read_pin(ROOT / "package-lock.json")
    assert pin.version == "1.30.0"
    assert pin.url == "https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-1.30.0.tgz"
    assert pin.integrity == ("sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1Sig"
                             "qR4CXAfKYQ==")
    assert "node_modules/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_fetched_runtime_is_sane():
    folder = rt.find_runtime()
    if folder is None:
        pytest.skip("onnxruntime-web is not fetched here (python -m vae_core fetch-web-runtime)")
    sizes = {name: (folder / name).stat().st_size for name in rt.RUNTIME_FILES}
    assert 5e6 < sizes["ort-wasm-simd-threaded.wasm"] < 60e6
    assert 10e3 < sizes["ort.wasm.min.mjs"] < 1e6 and 5e3 < sizes["ort-wasm-simd-threaded.mjs"] < 1e6
    assert (folder / "ort-wasm-simd-threaded.wasm").read_bytes()[:4] == b"\0asm"
    assert b"ort-wasm-simd-threaded" in (folder / "ort.wasm.min.mjs").read_bytes()  # it finds its siblings
