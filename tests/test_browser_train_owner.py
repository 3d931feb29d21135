"""The Train tab in Chromium with two visitors: a reload keeps the run its visitor's (the page keeps the token);
another browser sees the run's progress, has no Cancel to press and is told why it cannot start; the Resume
form has a valid default; the tab states the server's limits."""

from __future__ import annotations

import re

import pytest

import ui_harness
from browser_fixtures import app_url, browser, open_tab, opened_page  # noqa: F401

pytestmark = pytest.mark.slow

STATUS = "document.querySelector('#train_status').innerText"
CANCEL_ENABLED = "(() => { const b = document.querySelector('#train_cancel'); return !!b && !b.disabled; })()"


def fill(page, name: str) -> None:
    page.locator("#train_size input").fill("160")
    page.locator("#train_resolution input").fill("32")
    page.keyboard.press("Enter")
    page.locator("#train_latent input").fill("8")
    page.locator("#train_epochs input").fill("200")
    page.locator("#train_batch input").fill("8")
    page.locator("#train_name textarea").fill(name)


def test_a_reload_keeps_the_run_and_another_browser_cannot_cancel_it(browser, app_url):  # noqa: F811
    runner = ui_harness.running_app()[1].cvae_context.runner
    ui_harness.wait_until(lambda: not runner.active(), 180)
    with opened_page(browser, app_url, advanced=False) as a:
        open_tab(a, "Train")
        assert "at a time" in a.locator("#train_limits").inner_text()  # the fair-use limits are stated
        assert not a.evaluate(CANCEL_ENABLED)  # nothing of this visitor's runs: no Cancel
        a.get_by_text("Cartoon Set (downloaded folder)").click()  # the real faces: how to get them
        a.wait_for_function("document.querySelector('#train_data_hint').innerText.includes('not on this server yet')")
        assert "python -m vae_core download --name cartoonset10k" in a.locator("#train_data_hint").inner_text()
        assert a.locator("#train_download").is_visible()
        a.get_by_text("Synthetic faces (procedural").click()
        a.wait_for_function("document.querySelector('#train_data_hint').innerText.includes('Procedural faces')")
        assert not a.locator("#train_download").is_visible()
        a.get_by_text("Resume a stopped run").click()
        epochs = a.locator("#train_resume_epochs input")
        assert epochs.input_value() == "10" and epochs.evaluate("e => e.checkValidity()")  # a valid default
        fill(a, "browser-owned")
        a.locator("#train_start").click()
        a.wait_for_function(f"{STATUS}.includes('browser-owned') && {CANCEL_ENABLED}", timeout=60_000)
        token = a.evaluate("localStorage.getItem('cvae-train-token')")
        assert re.fullmatch(r"[0-9a-f]{32}", token or ""), token

        a.reload()  # the same visitor after a reload: still the run's owner
        ui_harness.wait_for_first_face(a)
        open_tab(a, "Train")
        a.wait_for_function(f"{STATUS}.includes('browser-owned') && {CANCEL_ENABLED}", timeout=30_000)

        with opened_page(browser, app_url, advanced=False) as b:  # another browser: another visitor
            open_tab(b, "Train")
            b.wait_for_function("document.querySelector('#train_others').innerText"
                                ".includes(\"Another visitor's run is in progress\")", timeout=30_000)
            others = b.locator("#train_others").inner_text()
            assert "ETA" in others and "You can start your run" in others and "browser-owned" not in others
            assert "No run of yours yet" in b.locator("#train_status").inner_text()
            assert not b.evaluate(CANCEL_ENABLED)
            fill(b, "browser-other")
            b.locator("#train_start").click()
            b.get_by_text(re.compile("already in progress")).first.wait_for(timeout=30_000)
            assert b.evaluate("localStorage.getItem('cvae-train-token')") is None  # it was issued nothing

        run = runner.active()[0]
        assert run.request.label == "browser-owned" and not run.cancel_requested
        a.locator("#train_cancel").click()
        a.wait_for_function(f"{STATUS}.includes('cancel')", timeout=30_000)
        ui_harness.wait_until(lambda: not runner.active(), 120)
        a.wait_for_function(f"{STATUS}.includes('cancelled') && !{CANCEL_ENABLED}", timeout=60_000)
