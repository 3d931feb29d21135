"""The Objective tab and the issue-#22 changes through the launched app: the /objective API against the core,
bad input as messages, the Reconstruct report's "how typical", and in Chromium the Objective view on a held-out
face (formulas rendered, charts drawn) and the Analysis tab's height."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import ui_harness
from vae_core.objective import face_objective

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

from browser_fixtures import app_url, browser, open_tab, opened_page  # noqa: E402,F401 - pytest fixtures


@pytest.fixture(scope="module")
def app():
    return ui_harness.running_app()


@pytest.fixture()
def client(app) -> Client:
    return Client(app[0], verbose=False)


def test_objective_api_returns_the_terms_of_the_uploaded_face(client, app, tmp_path):
    explorer = app[1].cvae_context.registry.get(None)
    face = explorer.embedding().examples[3]
    path = tmp_path / "held-out.png"
    Image.fromarray(face).save(path)
    d = client.predict(handle_file(str(path)), api_name="/objective")
    for key in ("mu", "sigma", "kl_per_dim", "kl", "recon_mse", "recon_nll", "nelbo", "loss", "beta", "obs_std",
                "data_dim", "bits_per_dim"):
        assert key in d, key
    assert len(d["mu"]) == len(d["sigma"]) == len(d["kl_per_dim"]) == explorer.latent_dim
    core = face_objective(explorer.model, face, beta=explorer.meta.train.beta)  # the PNG is lossless: same input
    assert d["kl"] == pytest.approx(core.kl, rel=1e-5) and d["recon_nll"] == pytest.approx(core.recon_nll, rel=1e-5)
    assert d["nelbo"] == pytest.approx(d["recon_nll"] + d["kl"]) and d["bits_per_dim"] == pytest.approx(core.bits_per_dim)
    assert d["loss"] == pytest.approx(d["recon_nll"] + d["beta"] * d["kl"])
    assert d["data_dim"] == 3 * explorer.resolution ** 2 and d["model_id"] == explorer.model_id
    assert d["heldout_bits_per_dim"]["verdict"] in ("within", "above", "below")  # a held-out face is no outlier


@pytest.mark.parametrize("name,make,message", [
    ("notes.txt", lambda p: p.write_bytes(b"just some text\n" * 20), "image"),
    ("dot.png", lambda p: Image.new("RGB", (1, 1)).save(p), "1×1 pixels"),
])
def test_objective_refuses_what_is_not_an_image_with_a_message(client, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with pytest.raises(AppError) as e:
        client.predict(handle_file(str(path)), api_name="/objective")
    msg = str(e.value)
    assert message.lower() in msg.lower() and name in msg and "Traceback" not in msg and "/tmp/" not in msg


def test_objective_takes_any_mode_or_size_and_needs_a_file(client, tmp_path):
    for mode, size in (("L", (50, 80)), ("CMYK", (300, 200)), ("I;16", (40, 40)), ("P", (64, 64))):
        path = tmp_path / f"img-{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
        Image.new(mode, size).save(path)
        d = client.predict(handle_file(str(path)), api_name="/objective")
        assert d["bits_per_dim"] > 0, mode
    with pytest.raises(AppError, match="no image"):
        client.predict(None, api_name="/objective")


def test_objective_example_and_reconstruct_say_how_typical(client):
    out = client.predict(2, api_name="/objective_example")
    assert "held-out face" in out[3] and "bits/dim" in out[3]
    with pytest.raises(AppError, match="example number"):
        client.predict(10_000, api_name="/objective_example")
    report = client.predict(2, api_name="/reconstruct_example")[2]
    assert "How typical" in report and "held-out faces" in report


# -- in the browser ---------------------------------------------------------------------------------------------
def test_objective_view_on_a_held_out_face(browser, app_url):
    with opened_page(browser, app_url, advanced=False) as page:
        open_tab(page, "Objective")
        # the tab opens on held-out face #0: its terms, formulas rendered by KaTeX, and the charts
        page.wait_for_function("document.querySelector('#obj_terms') && "
                               "document.querySelector('#obj_terms').innerText.includes('bits/dim')", timeout=60_000)
        assert page.locator("#obj_terms .katex").count() >= 5
        page.wait_for_selector("#obj_kl_plot .main-svg", timeout=30_000)
        page.wait_for_selector("#obj_mu_sigma_plot .main-svg", timeout=30_000)
        page.wait_for_selector("#obj_norms_plot .main-svg", timeout=30_000)
        for sel in ("#obj_input img", "#obj_mean img", "#obj_samples img", "#obj_fitted_faces img",
                    "#obj_prior_faces img"):
            page.wait_for_selector(sel, timeout=30_000)
        text = page.locator("#obj_terms").inner_text()
        assert "held-out face" in text and "How typical" in text and "nats/image" in text
        assert page.locator("#obj_kl_plot .main-svg .bars .point").count() > 0
        # another held-out face replaces the numbers
        before = text
        page.locator("#obj_example_index input").fill("4")
        page.locator("#obj_example_btn").click()
        page.wait_for_function("t => document.querySelector('#obj_terms').innerText !== t", arg=before,
                               timeout=30_000)
        # the current Generate face
        page.locator("#obj_from_generate").click()
        page.wait_for_function("document.querySelector('#obj_terms').innerText.includes('current Generate face')",
                               timeout=30_000)


def test_analysis_tab_fits_about_two_screens(browser, app_url, app):
    ctx = app[1].cvae_context
    explorer = ctx.registry.get(None)
    ctx.analyses.start(explorer)
    assert ctx.analyses.wait(explorer, 300).state == "ready"
    with opened_page(browser, app_url, advanced=False, width=1400, height=900) as page:
        open_tab(page, "Analysis")
        page.wait_for_function("document.querySelector('#analysis_status').innerText.includes('✓')", timeout=60_000)
        page.wait_for_selector("#analysis_heatmap .cvae-heat[data-key] .heatmaplayer", timeout=30_000)
        page.wait_for_timeout(500)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= 2 * 900, f"the Analysis tab is {height} px tall at 1400×900"
        # the traversal tool sits above the scorecard and the heatmap
        top = {s: page.locator(s).bounding_box()["y"] for s in ("#analysis_trav_go", "#analysis_scorecard",
                                                                "#analysis_heatmap")}
        assert top["#analysis_trav_go"] < top["#analysis_scorecard"] < top["#analysis_heatmap"]
        # every dim is one click away
        rows = page.evaluate("document.querySelector('#analysis_heatmap .cvae-heat').data[0].y.length")
        page.locator("#analysis_heat_all input").check()
        page.wait_for_function("document.querySelector('#analysis_heatmap .cvae-heat').dataset.key.endsWith(':all')",
                               timeout=30_000)
        assert page.evaluate("document.querySelector('#analysis_heatmap .cvae-heat').data[0].y.length") \
            == explorer.latent_dim >= rows
        # the traversal's preview and files, hidden while empty, appear with the first traversal
        assert page.locator("#analysis_trav_preview img").count() == 0
        page.locator("#analysis_trav_go").click()
        page.wait_for_selector("#analysis_trav_preview img", timeout=60_000)
        page.wait_for_selector("#analysis_trav_gif", state="visible", timeout=10_000)
