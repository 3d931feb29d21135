"""``export-web``: the explorer as a static folder (vae_core/web/static_site.py and the page in vae_core/web/static).

Fast tests: the manifest (every file, its size and sha256, the total), the destination rules (a folder that is
not a previous export is never replaced) and the CLI's one-line errors. Slow tests export a small trained
checkpoint once per module, serve it with ``python -m http.server`` and open it in headless Chromium: the face
paints and follows the sliders, Random faces and interpolation work, a latent string crosses between Python and
the page both ways with the server's pixels (within 2/255), the page asks for nothing outside its folder, and a
broken site or a bad latent string gets a clear message instead of a blank page or an uncaught error.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import ui_harness
from helpers import ROOT, run_cli
from vae_core.errors import LatentFormatError, WebRuntimeError
from vae_core.latent_string import format_latent, parse_latent
from vae_core.web import static_site
from vae_core.web.static_site import (MANIFEST, SiteExportError, build_manifest, check_destination, export_web,
                                      read_manifest, verify_site)


# -- fast: the manifest and the destination rules --------------------------------------------------------------
def _folder(tmp: Path) -> Path:
    site = tmp / "site"
    (site / "ort").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html>")
    (site / "ort" / "x.wasm").write_bytes(bytes(range(256)) * 40)
    return site


def _write_manifest(site: Path):
    manifest = build_manifest(site, model_id="0123abcd", fingerprint="f" * 64, title="t", checkpoint="ck")
    (site / MANIFEST).write_text(json.dumps(manifest.to_dict()))
    return manifest


def test_the_manifest_lists_every_file_with_its_size_and_sha256(tmp_path):
    site = _folder(tmp_path)
    manifest = _write_manifest(site)
    assert {f.path for f in manifest.files} == {"index.html", "ort/x.wasm"}
    for f in manifest.files:
        data = (site / f.path).read_bytes()
        assert f.size == len(data) and f.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.total_bytes == 15 + 256 * 40
    doc = json.loads((site / MANIFEST).read_text())
    assert doc["total_bytes"] == manifest.total_bytes and doc["model_id"] == "0123abcd"
    assert verify_site(site) == manifest == read_manifest(site)


@pytest.mark.parametrize("damage, message", [
    (lambda s: (s / "ort" / "x.wasm").write_bytes(b"short"), "has 5 bytes, the manifest says 10240"),
    (lambda s: (s / "index.html").write_text("<!DOCTYPE html>"), "index.html does not match its sha256"),
    (lambda s: (s / "index.html").unlink(), "index.html is missing"),
    (lambda s: (s / "extra.js").write_text(""), "extra.js is not in the manifest"),
])
def test_verify_site_names_what_differs_from_the_manifest(tmp_path, damage, message):
    site = _folder(tmp_path)
    _write_manifest(site)
    damage(site)
    with pytest.raises(SiteExportError, match=message):
        verify_site(site)


def test_a_folder_that_is_not_an_export_is_refused_and_left_alone(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(SiteExportError, match="not a previous export-web site"):
        check_destination(mine)
    # export_web refuses before anything else (the checkpoint does not even exist here)
    with pytest.raises(SiteExportError, match="not a previous export-web site"):
        export_web(tmp_path / "no-checkpoint", mine)
    (mine / MANIFEST).write_text('{"format": "something else"}')
    with pytest.raises(SiteExportError, match="not a previous export-web site"):
        check_destination(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["manifest.json", "thesis.txt"]
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(SiteExportError, match="is not a folder"):
        check_destination(file)


def test_a_missing_empty_or_previously_exported_folder_is_accepted(tmp_path):
    check_destination(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_destination(tmp_path / "empty")
    site = _folder(tmp_path)
    _write_manifest(site)
    check_destination(site)


def test_the_cli_refuses_a_missing_checkpoint_and_a_foreign_folder(tmp_path):
    out = tmp_path / "site"
    proc = run_cli("export-web", "--checkpoint", str(tmp_path / "nope"), "--out", str(out), cache=tmp_path,
                   check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "no checkpoint" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    proc = run_cli("export-web", "--checkpoint", str(tmp_path / "nope"), "--out", str(mine), cache=tmp_path,
                   check=False)
    assert proc.returncode == 2 and "not a previous export-web site" in proc.stderr
    assert (mine / "notes.txt").read_text() == "keep me"


def test_without_the_runtime_offline_nothing_is_written_and_the_cli_exits_2(tmp_path, monkeypatch, capsys):
    from vae_core import cli
    from vae_core.web import ort_runtime

    monkeypatch.setenv(ort_runtime.ENV_ROOT, str(tmp_path / "runtime"))
    monkeypatch.setattr(ort_runtime, "NODE_MODULES", tmp_path / "node_modules")  # no `npm ci` copy either
    out = tmp_path / "site"
    code = cli.main(["export-web", "--checkpoint", str(ROOT / "checkpoints" / "default"), "--out", str(out),
                     "--offline"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: not fetched") and "fetch-web-runtime" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nor a temp folder


def test_the_page_files_are_real_relative_html():
    """index.html names only files of the folder (relative URLs), and its title slot is filled escaped."""
    html = (static_site.STATIC_DIR / "static_page.html").read_text()
    import re

    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls and all(u.startswith("./") or u == "data:," for u in urls), urls
    assert "<title>a &lt;b&gt;</title>" in static_site.render_index(html, "a <b>")


# -- slow: a real export of a small trained checkpoint ---------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from vae_core.explorer import Explorer

    tmp = tmp_path_factory.mktemp("static-site")
    ck = tmp / "ck"
    shutil.copytree(ui_harness.tiny_checkpoint(), ck)
    Explorer.open(ck).fit_sampler()  # random faces from a fitted mixture, as the shipped checkpoints have
    out = tmp / "site"
    try:
        manifest = export_web(ck, out, title="Static test <site>")
    except WebRuntimeError as e:
        pytest.skip(f"onnxruntime-web is not available here ({e}); python -m vae_core fetch-web-runtime")
    return SimpleNamespace(ck=ck, out=out, manifest=manifest, explorer=Explorer.open(ck), tmp=tmp)


@pytest.mark.slow
def test_the_export_holds_the_page_layout_decoder_runtime_and_a_true_manifest(exported):
    out, manifest = exported.out, exported.manifest
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted([f.path for f in manifest.files] + [MANIFEST]) == on_disk
    for f in manifest.files:
        data = (out / f.path).read_bytes()
        assert (f.size, f.sha256) == (len(data), hashlib.sha256(data).hexdigest()), f.path
    assert manifest.total_bytes == sum((out / f.path).stat().st_size for f in manifest.files)
    shared = {p.name for p in static_site.STATIC_DIR.glob("*.js")}
    assert {"index.html", "static_page.css", "layout.json", "decoder.onnx", "ort/ort.wasm.min.mjs",
            "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm"} | shared <= set(on_disk)
    assert {"compose.js", "decoder.js", "layout.js", "latent_string.js", "mixture.js", "interpolate.js", "paint.js",
            "static_page.js"} <= shared
    ex = exported.explorer
    layout = json.loads((out / "layout.json").read_text())
    assert (layout["model_id"], layout["latent_dim"], layout["resolution"]) == (ex.model_id, ex.latent_dim,
                                                                                 ex.resolution)
    assert layout["sampler"] is not None and layout["title"] == "Static test <site>"
    assert (manifest.model_id, manifest.fingerprint) == (ex.model_id, ex.checkpoint.fingerprint)
    assert "<title>Static test &lt;site&gt;</title>" in (out / "index.html").read_text()
    print(f"\nstatic site of the test checkpoint: {len(manifest.files) + 1} files, {manifest.total_bytes / 1e6:.2f} MB")


@pytest.mark.slow
def test_exporting_again_replaces_a_previous_export_whole(exported):
    out = exported.tmp / "again"
    export_web(exported.ck, out)
    (out / "stale.js").write_text("// left from an older export")
    export_web(exported.ck, out)
    assert not (out / "stale.js").exists()
    verify_site(out)
    assert [p.name for p in exported.tmp.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


@pytest.mark.slow
def test_an_unwritable_destination_is_one_clear_error(exported):
    blocker = exported.tmp / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SiteExportError, match="cannot write the site to"):
        export_web(exported.ck, blocker / "site")
    assert blocker.read_text() == "not a folder"


# -- slow: the site in Chromium ------------------------------------------------------------------------------
@contextmanager
def serve(folder: Path):
    """``python -m http.server`` on ``folder`` (a subprocess, a free port): its base URL."""
    port = ui_harness.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                             str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        end = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > end or proc.poll() is not None:
                    raise RuntimeError("python -m http.server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(ui_harness.CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=ui_harness.CHROMIUM, args=ui_harness.ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site_url(exported):
    # one server for the export and its damaged copies (sub-folders): every URL of the page is relative
    root = exported.tmp / "served"
    shutil.copytree(exported.out, root / "site")
    for name, damage in BROKEN_SITES.items():
        shutil.copytree(exported.out, root / name)
        damage(root / name)
    with serve(root) as url:
        yield url


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


BROKEN_SITES = {
    "no-decoder": lambda s: (s / "decoder.onnx").unlink(),
    "short-decoder": lambda s: _truncate(s / "decoder.onnx"),
    # with no manifest to compare against, the runtime itself finds the file damaged
    "short-decoder-no-manifest": lambda s: (_truncate(s / "decoder.onnx"), (s / MANIFEST).unlink()),
    "no-layout": lambda s: (s / "layout.json").unlink(),
    "edited-layout": lambda s: (s / "layout.json").write_text('{"format": "cvae-page-layout"}'),
    "bad-layout": lambda s: ((s / "layout.json").write_text('{"format": "cvae-page-layout"}'),
                             (s / MANIFEST).unlink()),
    "no-page-code": lambda s: (s / "compose.js").unlink(),
}


class Page:
    """A fresh browser context on one site, recording every request, uncaught error and console error."""

    def __init__(self, browser, url: str, init_script: str | None = None, permissions: tuple[str, ...] = ()):
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 1200}, permissions=list(permissions))
        if init_script:
            self.ctx.add_init_script(init_script)
        self.pg = self.ctx.new_page()
        self.url = url
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.pg.on("request", lambda r: self.requests.append(r.url))
        self.pg.on("pageerror", lambda e: self.errors.append(str(e)))
        self.pg.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.pg.goto(url)
        self.pg.wait_for_function("document.body.dataset.state !== 'loading'", timeout=60_000)

    @property
    def state(self) -> str:
        return self.pg.evaluate("document.body.dataset.state")

    def status(self) -> str:
        return self.pg.inner_text("#status")

    def idle(self) -> None:
        self.pg.evaluate("() => window.cvaeStatic.idle()")

    def pixels(self, canvas: str = "gen_image") -> np.ndarray:
        """The canvas's RGB pixels [R, R, 3] uint8."""
        r = self.pg.evaluate(f"document.getElementById('{canvas}').width")
        rgba = self.pg.evaluate(f"Array.from(document.getElementById('{canvas}').getContext('2d')"
                                f".getImageData(0, 0, {r}, {r}).data)")
        return np.asarray(rgba, np.uint8).reshape(r, r, 4)[..., :3]

    def latent(self) -> np.ndarray:
        return np.asarray(self.pg.evaluate("Array.from(window.cvaeStatic.latent())"), np.float32)

    def paste(self, text: str) -> str:
        """Type ``text`` into the latent field, press Paste; the message shown."""
        self.pg.fill("#latent_text", text)
        self.pg.click("#paste_latent")
        self.idle()
        return self.pg.inner_text("#latent_message")

    def copy(self) -> str:
        self.pg.click("#copy_latent")
        self.pg.wait_for_function("document.getElementById('latent_message').textContent !== ''")
        return self.pg.input_value("#latent_text")

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture()
def page(browser, site_url):
    p = Page(browser, site_url + "site/")
    assert p.state == "ready", p.status()
    yield p
    p.close()
    assert not p.errors, f"uncaught JavaScript errors: {p.errors}"
    assert not p.console_errors, f"console errors: {p.console_errors}"


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.mark.slow
def test_the_face_paints_and_follows_the_sliders_and_random(page, exported):
    ex = exported.explorer
    first = page.pixels()
    assert first.std() > 5, "the face is blank"
    assert _max_diff(first, ex.decode(ex.pca.mean)[0]) <= 2  # it opens on the average face (needs no sampler)
    page.pg.fill("#raw_0", "2.5")
    page.idle()
    moved = page.pixels()
    assert _max_diff(moved, first) > 10
    assert page.latent()[int(exported.explorer.dims_by_kl[0])] == pytest.approx(2.5)
    page.pg.click("#random_face")
    page.idle()
    random = page.pixels()
    assert _max_diff(random, moved) > 10
    shown = float(np.clip(page.latent()[int(ex.dims_by_kl[0])], -4, 4))
    assert float(page.pg.input_value("#raw_0")) == pytest.approx(shown, abs=0.005)  # the sliders show the new face
    assert "random face, seed" in page.pg.inner_text("#face_caption")
    page.pg.fill("#seed", "7")
    page.pg.click("#seed_face")
    page.idle()
    seven = page.latent()
    page.pg.click("#random_face")
    page.pg.fill("#seed", "7")
    page.pg.click("#seed_face")
    page.idle()
    np.testing.assert_array_equal(page.latent(), seven)  # a seed is a face


@pytest.mark.slow
def test_a_python_latent_string_paints_the_servers_face(page, exported):
    ex = exported.explorer
    z = ex.sample(1, seed=11, temperature=1.0)[0]
    text = format_latent(z, ex.model_id)
    assert page.paste(text) == "Showing the pasted latent."
    z16 = parse_latent(text, ex.latent_dim, ex.model_id)
    np.testing.assert_array_equal(page.latent(), z16)
    diff = _max_diff(page.pixels(), ex.decode(z16)[0])
    assert diff <= 2, f"the page's face differs from the server's by {diff}/255"
    assert page.copy() == text  # nothing moved: the page copies the very string it was given


@pytest.mark.slow
def test_the_pages_copied_latent_is_the_composed_latent_in_python(page, exported):
    from vae_core.slider_layout import build_layout

    ex = exported.explorer
    layout = build_layout(ex)
    z16 = parse_latent(format_latent(ex.sample(1, seed=3)[0], ex.model_id), ex.latent_dim, ex.model_id)
    page.paste(format_latent(z16, ex.model_id))
    page.pg.fill("#raw_1", "-1.25")
    page.pg.fill("#pca_0", "1.5")
    page.pg.fill("#pca_2", "-0.75")
    attr_values = [page.pg.input_value(f"#attr_{k}_target") for k in range(len(layout.attrs))]
    if layout.attrs:
        page.pg.fill("#attr_0_strength", "0.8")
    page.idle()
    copied = page.copy()
    raw = layout.raw_values(z16)[: len(layout.raw)]
    raw[1] = -1.25
    pca = [1.5, 0.0, -0.75] + [0.0] * (layout.n_pca - 3)
    strengths = [0.8 if k == 0 else 0.0 for k in range(len(layout.attrs))]
    want = layout.compose(z16, raw, pca, attr_values, strengths)
    got = parse_latent(copied, ex.latent_dim, ex.model_id)
    np.testing.assert_allclose(got, want.astype(np.float16), rtol=2 ** -10, atol=2 ** -24)  # one float16 step
    assert _max_diff(page.pixels(), ex.decode(page.latent())[0]) <= 2


@pytest.mark.slow
def test_interpolation_draws_the_way_between_two_faces(page):
    page.pg.click("#set_a")
    a = page.pixels()
    for _ in range(8):  # the tiny test model's random faces can be alike: draw until B is another face
        page.pg.click("#random_face")
        page.idle()
        if _max_diff(a, page.pixels()) > 10:
            break
    page.pg.click("#set_b")
    page.pg.wait_for_function("document.getElementById('interp_strip').dataset.drawn === '8'", timeout=30_000)
    strip = [page.pixels(f"interp_frame_{i}") for i in range(page.pg.locator("#interp_strip canvas").count())]
    assert len(strip) == 8 and all(f.std() > 5 for f in strip)
    assert _max_diff(strip[0], page.pixels("interp_a")) <= 0 and _max_diff(strip[-1], page.pixels("interp_b")) <= 0
    assert _max_diff(strip[0], strip[-1]) > 10
    before = page.pixels("interp_image")
    page.pg.fill("#interp_t", "0.9")
    page.idle()
    page.pg.wait_for_timeout(200)
    assert _max_diff(page.pixels("interp_image"), before) > 0
    page.pg.check('input[name="interp_mode"][value="lerp"]')
    page.pg.wait_for_function("document.getElementById('interp_strip').dataset.drawn === '8'", timeout=30_000)


@pytest.mark.slow
def test_the_page_asks_for_nothing_outside_its_folder(page):
    page.pg.click("#random_face")
    page.pg.fill("#pca_0", "1")
    page.pg.click("#set_a")
    page.pg.click("#set_b")
    page.pg.click("#copy_latent")
    page.idle()
    # the decoder's bytes, already downloaded, reach the runtime as an in-memory blob: URL of this same origin
    blob = "blob:" + page.url.split("/site/")[0] + "/"
    outside = [u for u in page.requests if not (u.startswith(page.url) or u.startswith(blob))]
    assert page.requests and not outside, outside
    assert {page.url + "decoder.onnx", page.url + "ort/ort.wasm.min.mjs", page.url + "layout.json"} <= set(page.requests)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["garbage", "cvae1:zzzz:AAAA", "cvae2:0123abcd:AAAA", "1, 2, nan", "wrong length",
                                  "other model"])
def test_a_bad_latent_string_gets_pythons_message_and_the_page_keeps_working(page, exported, text):
    ex = exported.explorer
    if text == "wrong length":
        text = format_latent(np.zeros(ex.latent_dim + 3), ex.model_id)
    elif text == "other model":
        text = format_latent(np.zeros(ex.latent_dim), "89abcdef" if ex.model_id != "89abcdef" else "01234567")
    with pytest.raises(LatentFormatError) as refused:
        parse_latent(text, ex.latent_dim, ex.model_id)
    before = page.pixels()
    assert page.paste(text) == str(refused.value)
    assert "error" in page.pg.get_attribute("#latent_message", "class")
    assert _max_diff(page.pixels(), before) == 0 and page.state == "ready"
    page.pg.click("#random_face")  # still working
    page.idle()
    assert _max_diff(page.pixels(), before) > 0


@pytest.mark.slow
def test_copy_and_paste_go_through_the_clipboard_where_the_browser_allows_it(browser, site_url, page):
    # no clipboard permission (the default page): Paste on an empty field asks for the string instead
    page.pg.click("#paste_latent")
    page.pg.wait_for_function("document.getElementById('latent_message').textContent.includes('into the field')")
    assert page.state == "ready"
    p = Page(browser, site_url + "site/", permissions=("clipboard-read", "clipboard-write"))
    try:
        p.pg.click("#random_face")
        p.idle()
        face, z = p.pixels(), p.latent()
        text = p.copy()
        assert "clipboard" in p.pg.inner_text("#latent_message")
        assert p.pg.evaluate("navigator.clipboard.readText()") == text
        p.pg.click("#average_face")
        p.idle()
        p.pg.fill("#latent_text", "")
        p.pg.click("#paste_latent")
        p.pg.wait_for_function("document.getElementById('latent_message').textContent.startsWith('Showing')")
        p.idle()
        assert p.pg.input_value("#latent_text") == text
        np.testing.assert_array_equal(p.latent(), z.astype(np.float16).astype(np.float32))
        assert _max_diff(p.pixels(), face) <= 2
        assert not p.errors and not p.console_errors
    finally:
        p.close()


@pytest.mark.slow
@pytest.mark.parametrize("name, message", [
    ("no-decoder", "decoder.onnx is missing"),
    ("short-decoder", "decoder.onnx is damaged"),
    ("short-decoder-no-manifest", "decoder file is damaged"),
    ("no-layout", "layout.json is missing"),
    ("edited-layout", "layout.json is damaged"),
    ("bad-layout", "layout.json: the page layout is invalid: version must be 1"),
    ("no-page-code", "could not be loaded"),
])
def test_a_broken_site_says_what_is_wrong(browser, site_url, name, message):
    p = Page(browser, f"{site_url}{name}/")
    try:
        assert p.state == "error"
        assert message in p.status()
        assert p.pg.is_visible("#status") and not p.pg.is_visible("#explorer")
        assert not p.errors, p.errors
    finally:
        p.close()


@pytest.mark.slow
def test_without_webassembly_the_page_says_so(browser, site_url):
    p = Page(browser, site_url + "site/", init_script="delete window.WebAssembly;")
    try:
        assert p.state == "error" and "WebAssembly" in p.status()
        assert not p.errors
    finally:
        p.close()


@pytest.mark.slow
def test_show_model_pixels_switches_the_rendering(page):
    rendering = "getComputedStyle(document.getElementById('gen_image')).imageRendering"
    assert page.pg.evaluate(rendering) == "auto"
    page.pg.check("#show_pixels")
    assert page.pg.evaluate(rendering) == "pixelated"
    box = page.pg.locator("#gen_image").bounding_box()
    assert (box["width"], box["height"]) == (256, 256)


@pytest.mark.slow
def test_time_from_page_load_to_decoder_ready(page, exported):
    timings = page.pg.evaluate("window.cvaeStatic.timings")
    assert 0 < timings["decoderReadyMs"] <= timings["firstFaceMs"]
    print(f"\nstatic page (test checkpoint, {exported.manifest.total_bytes / 1e6:.1f} MB): decoder ready "
          f"{timings['decoderReadyMs']:.0f} ms after navigation, first face {timings['firstFaceMs']:.0f} ms")
