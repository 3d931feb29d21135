"""The Generate tab as a new visitor meets it, in real Chromium: the first screen, sharing, saving, own directions.

The first screen (1280×720) shows a random face with Random / seed / temperature above the fold and named
controls first; a share link opens the same face for anyone (a damaged one says so and leaves the page working);
"Save" downloads the face at display size or in the model's own pixels; an imported direction becomes a slider
that moves the face in the page.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

import ui_harness

pytestmark = pytest.mark.slow
if not ui_harness.Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)
pytest.importorskip("playwright.sync_api")

from browser_fixtures import app_url, browser, opened_page  # noqa: E402,F401 - pytest fixtures
from test_browser_page_decode import CURRENT_LATENT_JS, decoder_mode, face_pixels, move, needs_runtime  # noqa: E402


def bottom(pg, selector: str) -> float:
    box = pg.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["y"] + box["height"]


def upload(pg, button: str, file) -> None:
    """Pick ``file`` through an upload button's own file chooser (its <input> is not inside the button)."""
    with pg.expect_file_chooser() as chooser:
        pg.click(button)
    chooser.value.set_files(str(file))


def test_the_first_screen_shows_a_random_face_and_what_makes_another_above_the_fold(browser, app_url):
    with opened_page(browser, app_url, width=1280, height=720, advanced=False) as pg:
        assert "random face, seed" in pg.inner_text("#gen_image .cvae-caption")
        for sel in ("#gen_image img", "#gen_random", "#gen_seed", "#gen_temperature input[type=range]"):
            assert bottom(pg, sel) <= 720, f"{sel} is below the fold at 1280×720"
        # named controls first: the attribute sliders come before the PCA ones; raw dims are closed away
        assert pg.locator("#gen_attr_strength_0").bounding_box()["y"] < pg.locator("#gen_pca_0").bounding_box()["y"]
        assert not pg.locator("#gen_raw_0 input[type=range]").is_visible()
        assert pg.get_by_text("Advanced: every latent dimension").is_visible()


@needs_runtime
def test_a_share_link_opens_the_same_face_for_anyone(browser, app_url):
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page"
        assert move(pg, "gen_pca_0", 1.5) > 0
        shown = face_pixels(pg)
        pg.click("#gen_share_btn")
        pg.wait_for_function("document.querySelector('#gen_share textarea, #gen_share input').value.includes('face=')")
        link = pg.evaluate("document.querySelector('#gen_share textarea, #gen_share input').value")
        assert parse_qs(urlparse(link).query)["face"][0].startswith("cvae1:")
    with opened_page(browser, link) as pg2:  # a stranger opens it
        pg2.wait_for_function("document.querySelector('#gen_latent textarea').value.startsWith('cvae1:')")
        pg2.wait_for_function("!document.querySelector('#gen_image .cvae-caption').innerText.includes('random face')")
        pg2.wait_for_timeout(300)
        assert np.abs(face_pixels(pg2) - shown).max() <= 3


@pytest.mark.parametrize("garbage", ["cvae1:zz", "hello", "cvae1:00000000:AAAA"])
def test_a_damaged_share_link_says_so_and_the_page_works(browser, app_url, garbage):
    with opened_page(browser, f"{app_url}?face={garbage}") as pg:
        pg.wait_for_selector("text=share link's face could not be opened", timeout=60_000)
        assert "random face, seed" in pg.inner_text("#gen_image .cvae-caption")
        before = face_pixels(pg)
        old = pg.evaluate("document.querySelector('#gen_image img').src")
        pg.click("#gen_random")
        # generous: earlier tests of the module-wide app may have left it training in the background
        pg.wait_for_function("(old) => document.querySelector('#gen_image img').src !== old", arg=old, timeout=60_000)
        assert face_pixels(pg).shape == before.shape


@needs_runtime
@pytest.mark.parametrize("button, size", [("#gen_save", 256), ("#gen_save_model", None)])
def test_save_downloads_the_face_shown(browser, app_url, button, size):
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page"
        assert move(pg, "gen_pca_1", -1.0) > 0
        model = face_pixels(pg)
        with pg.expect_download() as info:
            pg.click(button)
        path = info.value.path()
        img = np.asarray(Image.open(path).convert("RGB"), np.int16)
        assert info.value.suggested_filename.endswith(".png") and "edited" in info.value.suggested_filename
        if size is None:  # the model's own pixels, exactly the face shown
            assert img.shape == model.shape and np.abs(img - model).max() == 0
        else:
            assert img.shape == (size, size, 3)
            small = np.asarray(Image.fromarray(img.astype(np.uint8)).resize(model.shape[:2][::-1], Image.BOX), np.int16)
            assert np.abs(small - model).mean() < 8  # the same face, smoothed to display size


@needs_runtime
def test_an_imported_direction_is_a_slider_that_moves_the_face_in_the_page(browser, app_url, tmp_path):
    from vae_core import directions as D

    demo = ui_harness.running_app()[1]
    explorer = demo.cvae_context.registry.get(None)
    mu = explorer.embedding().mu
    d = D.direction_from_examples(mu, list(range(0, len(mu), 3)), "every third", explorer.model_id)
    file = tmp_path / "dirs.json"
    file.write_text(D.dumps([d], explorer.model_id, explorer.latent_dim))
    with opened_page(browser, app_url) as pg:
        assert decoder_mode(pg) == "page"
        upload(pg, "#gen_own_import", file)
        pg.wait_for_selector("#gen_own_0 input[type=range]", state="visible", timeout=20_000)
        assert "every third" in pg.inner_text("#gen_own_0")
        assert f"imported, made from {d.n_selected} faces against {d.n_rest}" in pg.inner_text("#gen_own_note")
        pg.wait_for_timeout(300)
        z0 = np.asarray(pg.evaluate(CURRENT_LATENT_JS), np.float32)
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url) if "/gradio_api/queue" in r.url else None)
        assert move(pg, "gen_own_0", 1.5) > 0
        z1 = np.asarray(pg.evaluate(CURRENT_LATENT_JS), np.float32)
        np.testing.assert_allclose(z1 - z0, 1.5 * d.vector, atol=1e-4)
        assert requests == [], requests
        # an import of a file for another model is refused with the reason, and the slider stays
        doc = json.loads(file.read_text())
        doc["model_id"] = "00000000"
        file.write_text(json.dumps(doc))
        upload(pg, "#gen_own_import", file)
        pg.wait_for_selector("text=made for model", timeout=20_000)
        assert pg.locator("#gen_own_0 input[type=range]").is_visible()


def test_direction_from_examples_through_the_api():
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, demo = ui_harness.running_app()
    client = Client(url, verbose=False)
    out = client.predict("round face", list(range(10)), api_name="/direction_from_examples")
    got = out[-1]
    explorer = demo.cvae_context.registry.get(None)
    mu = explorer.embedding().mu
    assert got["name"] == "round face" and got["n_selected"] == 10 and len(got["vector"]) == explorer.latent_dim
    np.testing.assert_allclose(got["vector"], mu[:10].mean(0) - mu[10:].mean(0), atol=1e-5)
    for bad, message in (([], "at least one face"), (list(range(len(mu))), "every face is selected"),
                         ("1,2", "list of face numbers")):
        with pytest.raises(AppError, match=message):
            client.predict("x", bad, api_name="/direction_from_examples")
    with pytest.raises(AppError, match="name the feature"):
        client.predict("", [1, 2], api_name="/direction_from_examples")
