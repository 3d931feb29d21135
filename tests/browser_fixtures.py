"""Fixtures and helpers shared by the browser tests: one Chromium per module, a fresh page per test on the
launched app, failing the test on any JavaScript error."""

from __future__ import annotations

import contextlib

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


@contextlib.contextmanager
def opened_page(browser, url: str, init_script: str | None = None, route=None, *, width: int = 1400,
                height: int = 1200, advanced: bool = True):
    """A fresh browser context on ``url`` (``init_script`` run before the page's own, ``route`` = (pattern,
    handler) installed before it loads), its first face drawn and, with ``advanced``, the raw sliders opened;
    closed afterwards, and the block fails on any JavaScript error the page raised."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    if init_script:
        ctx.add_init_script(init_script)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    if route is not None:
        pg.route(*route)
    try:
        pg.goto(url)
        ui_harness.wait_for_first_face(pg)
        if advanced:
            open_advanced(pg)
        yield pg
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture()
def page(browser, app_url):
    with opened_page(browser, app_url) as pg:
        yield pg


def open_advanced(page) -> None:
    """Open Generate's closed "Advanced" section, so the raw latent sliders are drawn (Gradio 6 mounts an
    accordion's content when it opens); the attribute and PCA sliders are open from the start."""
    page.get_by_text("Advanced: every latent dimension").click()
    page.wait_for_selector("#gen_raw_0 input[type=range]", timeout=30_000)
    page.wait_for_timeout(150)  # a move in the first moments can be overwritten by the mount


def img_src(page, sel: str) -> str | None:
    return page.evaluate(f"(() => {{ const i = document.querySelector('{sel} img'); return i ? i.src : null; }})()")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
