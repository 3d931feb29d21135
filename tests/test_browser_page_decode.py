"""The Generate tab decodes in the page (ui/static/generate_page.js + onnxruntime-web), in real Chromium.

What only a browser can show: a slider drag sends no request; the page's face is the server's face (same latent,
same pixels within 2/255); each fallback to server decoding (no WebAssembly, the runtime missing, a damaged
decoder file) says so and still makes faces; and the page decodes with no internet at all.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

import ui_harness

pytestmark = pytest.mark.slow
if not ui_harness.Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)
pytest.importorskip("playwright.sync_api")

from browser_fixtures import app_url, browser, opened_page  # noqa: E402,F401 - pytest fixtures


def runtime_present() -> bool:
    from vae_core.web import ort_runtime

    try:
        return ort_runtime.find_runtime() is not None
    except Exception:  # noqa: BLE001 - any reason: the in-page tests are skipped with it
        return False


needs_runtime = pytest.mark.skipif(not runtime_present(),
                                   reason="onnxruntime-web is not fetched here (python -m vae_core fetch-web-runtime)")

#: The page's own module (the same instance the app's events call): its composed latent, as a plain list.
CURRENT_LATENT_JS = """async () => {
  const m = await import(new URL('gradio_api/file=ui/static/generate_page.js', document.baseURI).href);
  const z = m.currentLatent();
  return z ? Array.from(z) : null;
}"""
#: The page's slider mirror, as the fallback and "Copy latent" send it.
MIRROR_JS = """async () => {
  const m = await import(new URL('gradio_api/file=ui/static/generate_page.js', document.baseURI).href);
  return m.withValues(null, '')[1];
}"""


def decoder_mode(pg, timeout: float = 30_000) -> str:
    pg.wait_for_function("['page', 'server'].includes(document.body.dataset.cvaeDecoder)", timeout=timeout)
    return pg.evaluate("document.body.dataset.cvaeDecoder")


def status_text(pg) -> str:
    return pg.inner_text("#gen_decoder_status")


def move(pg, slider: str, value: float) -> float:
    return pg.evaluate(ui_harness.SLIDER_ROUND_TRIP_JS, [slider, f"{value:.2f}"])


def wait_for_server_face(pg) -> None:
    """Until the face the server set is shown: its caption without "edited", and the page's paint settled."""
    pg.wait_for_function("!document.querySelector('#gen_image .cvae-caption').innerText.includes('edited')")
    pg.wait_for_timeout(500)


def face_pixels(pg) -> np.ndarray:
    src = pg.evaluate("document.querySelector('#gen_image img').src")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"), np.int16)


@needs_runtime
def test_a_slider_drag_decodes_in_the_page_with_no_request(browser, app_url):
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page", status_text(pg)
        assert "in your browser" in status_text(pg)
        pg.wait_for_function("!!window.Plotly", timeout=30_000)  # the page's own idle preload, not a move's
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url) if r.url.startswith("http") else None)
        times = [move(pg, "gen_raw_0", -1.5 + 0.25 * i) for i in range(12)]
        assert all(t > 0 for t in times), f"a move painted no face: {times}"
        assert requests == [], f"slider moves sent requests: {requests}"
        assert "· edited" in pg.inner_text("#gen_image .cvae-caption")


@needs_runtime
def test_the_page_face_is_the_server_face(browser, app_url):
    """Same latent as the server composes from the same slider values; same pixels within 2/255."""
    from ui.generate import slider_mirror
    from ui.generate.tab import mirrored_split, slider_latent

    demo = ui_harness.running_app()[1]
    ctx_app = demo.cvae_context
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page", status_text(pg)
        caption = pg.inner_text("#gen_image .cvae-caption")
        pg.click("#gen_random")  # the page opened on a random face too: wait for the new seed's
        pg.wait_for_function("(old) => document.querySelector('#gen_image .cvae-caption').innerText !== old",
                             arg=caption)
        pg.wait_for_timeout(300)
        for slider, v in [("gen_raw_0", 1.25), ("gen_raw_3", -0.8)]:
            assert move(pg, slider, v) > 0
        z_page = np.asarray(pg.evaluate(CURRENT_LATENT_JS), np.float32)
        page_face = face_pixels(pg)
        mirror = pg.evaluate(MIRROR_JS)
        # the server's composition of the page's slider values, on the session's base latent
        from ui.common.state import SessionState, as_latent

        explorer = ctx_app.registry.get(None)
        base = np.asarray(pg.evaluate("""async () => {
          const m = await import(new URL('gradio_api/file=ui/static/generate_page.js', document.baseURI).href);
          return m.syncedBase();
        }"""), np.float32)
        st = SessionState(checkpoint=str(explorer.path), base=as_latent(base))
        targets = [None] * 6
        _, _, z_server = slider_latent(ctx_app, st, mirrored_split(slider_mirror.unpack(mirror), targets), False)
        np.testing.assert_allclose(z_page, z_server, atol=1e-5)
        server_face = explorer.decode(z_page)[0].astype(np.int16)
        assert page_face.shape == server_face.shape
        assert np.abs(page_face - server_face).max() <= 2, np.abs(page_face - server_face).max()


@needs_runtime
def test_copy_latent_copies_the_face_the_page_shows_to_the_clipboard(browser, app_url):
    """The string is the page's latent (float16, as cvae1 stores it), in the text box and on the clipboard, and
    pasting it back shows the same face."""
    from vae_core.latent_string import parse_latent

    demo = ui_harness.running_app()[1]
    explorer = demo.cvae_context.registry.get(None)
    with opened_page(browser, app_url) as pg:
        pg.context.grant_permissions(["clipboard-read", "clipboard-write"])
        assert decoder_mode(pg) == "page", status_text(pg)
        for slider, v in [("gen_raw_0", -1.75), ("gen_raw_2", 0.6)]:
            assert move(pg, slider, v) > 0
        z_page = np.asarray(pg.evaluate(CURRENT_LATENT_JS), np.float32)
        shown = face_pixels(pg)
        pg.click("#gen_copy")
        pg.wait_for_function("document.querySelector('#gen_latent textarea').value.startsWith('cvae1:')")
        text = pg.evaluate("document.querySelector('#gen_latent textarea').value")
        z = parse_latent(text, explorer.latent_dim, explorer.model_id)
        np.testing.assert_allclose(z, z_page.astype(np.float16).astype(np.float32), rtol=0, atol=1e-7)
        pg.wait_for_function("navigator.clipboard.readText().then(t => t.startsWith('cvae1:'))")
        assert pg.evaluate("navigator.clipboard.readText()") == text
        pg.click("#gen_paste")
        wait_for_server_face(pg)
        assert np.abs(face_pixels(pg) - shown).max() <= 3


@needs_runtime
def test_the_same_server_face_again_replaces_the_pages_edits(browser, app_url):
    """Average face, an edit in the page, Average face again: Gradio does not redraw an unchanged face, so the page
    must paint the synced face itself, or the edited face would stay under a caption that says it is gone."""
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page"
        pg.click("#gen_reset")
        pg.wait_for_function("document.querySelector('#gen_image .cvae-caption').innerText.includes('average face')")
        pg.wait_for_timeout(500)
        reset = face_pixels(pg)
        assert move(pg, "gen_pca_0", 2.5) > 0
        assert np.abs(face_pixels(pg) - reset).max() > 10
        pg.click("#gen_reset")
        wait_for_server_face(pg)
        assert np.abs(face_pixels(pg) - reset).max() <= 2


@pytest.mark.parametrize("case", ["no WebAssembly", "runtime missing", "damaged decoder"])
def test_each_fallback_decodes_on_the_server_and_says_why(browser, app_url, case):
    init, route, reason = None, None, ""
    if case == "no WebAssembly":
        init, reason = "delete window.WebAssembly;", "WebAssembly"
    elif case == "runtime missing":
        route, reason = ("**/ort.wasm.min.mjs", lambda r: r.fulfill(status=404, body="gone")), "onnxruntime-web"
    else:
        route, reason = ("**/decoder.onnx", lambda r: r.fulfill(status=200, body=b"\x08\x07garbage" * 50)), "decoder"
    if case != "no WebAssembly" and not runtime_present():
        pytest.skip("needs the runtime to show its failure")
    with opened_page(browser, app_url, init, route) as pg:
        assert decoder_mode(pg) == "server"
        text = status_text(pg)
        assert "on the server" in text and reason in text, text
        before = face_pixels(pg)
        assert move(pg, "gen_raw_0", 2.0) > 0, "the server fallback painted no face"
        assert np.abs(face_pixels(pg) - before).max() > 0


@needs_runtime
def test_the_page_decodes_with_no_internet(browser, app_url):
    host = urlparse(app_url).hostname
    blocked: list[str] = []

    def only_the_app(route):
        u = urlparse(route.request.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname != host:
            blocked.append(route.request.url)
            return route.abort()
        return route.continue_()

    with opened_page(browser, app_url, route=("**/*", only_the_app)) as pg:
        assert decoder_mode(pg) == "page", status_text(pg)
        assert move(pg, "gen_raw_1", 1.0) > 0
