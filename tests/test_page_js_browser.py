"""vae_core/web/static's paint.js (and layout.js's base64 path) in real Chromium: the Node tests paint into stand-in
elements only. A <canvas> and an <img> must show the decoded pixels exactly, a repeated face must not wait for a load
event that never comes, and paints that replace each other must all settle."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import pytest

import ui_harness

pytestmark = pytest.mark.slow
if not Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)
pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://cvae-page.test"
SERVED = (ROOT / "vae_core" / "web" / "static", ROOT / "tests" / "js")


def _serve(route) -> None:
    """Answer the page's requests from the two folders above (module scripts need http, not file://)."""
    path = (ROOT / route.request.url[len(ORIGIN) + 1:].split("?")[0]).resolve()
    if not any(path.is_relative_to(d) for d in SERVED) or not path.is_file():
        route.fulfill(status=404, body="not found")
        return
    kind = "text/javascript" if path.suffix in (".js", ".mjs") else mimetypes.guess_type(path.name)[0] or "text/plain"
    route.fulfill(status=200, body=path.read_bytes(), headers={"content-type": kind})


def test_paint_shows_exact_pixels_in_chromium():
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ui_harness.CHROMIUM, args=ui_harness.ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(f"{ORIGIN}/**", _serve)
            page.goto(f"{ORIGIN}/tests/js/")  # any page of the origin: the 404 body is enough to import from
            got = page.evaluate("(u) => import(u).then((m) => m.run())", f"{ORIGIN}/tests/js/browser_paint.mjs")
        finally:
            browser.close()
    assert not errors, errors
    assert got == {"canvas": True, "img": True, "again": "resolved", "replaced": "resolved", "final": True,
                   "decoded": [1.0, 2.0]}, got
