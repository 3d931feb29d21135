"""Fixtures and helpers shared by the browser tests: one Chromium per module, a fresh page per test on the
launched app, failing the test on any JavaScript error."""

from __future__ import annotations

import pytest

import ui_harness


@pytest.fixture(scope="module")
def app_url() -> str:
    return ui_harness.running_app()[0]


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=ui_harness.CHROMIUM, args=ui_harness.ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1200})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(app_url)
    pg.wait_for_selector("#gen_image img", timeout=30_000)
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


def img_src(page, sel: str) -> str | None:
    return page.evaluate(f"(() => {{ const i = document.querySelector('{sel} img'); return i ? i.src : null; }})()")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
