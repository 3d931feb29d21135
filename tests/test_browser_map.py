"""Real-browser test of the latent map's selection → direction loop: a box drawn with plotly's own select tool on
the map, the selected faces named, their slider made and found in Generate; the map coloured along it."""

from __future__ import annotations

from pathlib import Path

import pytest

import ui_harness

pytestmark = pytest.mark.slow
if not Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from browser_fixtures import app_url, browser, open_tab, page  # noqa: E402,F401 - pytest fixtures

#: Client coordinates of the plot area (left, top, width, height) and how many dataset points lie in the box
#: spanning the given fractions of it (x0, y0, x1, y1).
PLOT_AREA_JS = """([x0, y0, x1, y1]) => {
  const gd = document.querySelector('#map_plot .cvae-plot'), fl = gd._fullLayout, bb = gd.getBoundingClientRect();
  const L = bb.left + fl._size.l, T = bb.top + fl._size.t, W = fl._size.w, H = fl._size.h;
  let inside = 0;
  for (const t of gd.data) {
    if (t.meta !== 'dataset') continue;
    for (let i = 0; i < t.x.length; i++) {
      const px = fl.xaxis.l2p(t.x[i]) / W, py = fl.yaxis.l2p(t.y[i]) / H;
      if (px >= x0 && px <= x1 && py >= y0 && py <= y1) inside++;
    }
  }
  return {L, T, W, H, inside};
}"""

#: How many dataset faces plotly marks as selected in the page.
SELECTED_JS = """(() => document.querySelector('#map_plot .cvae-plot').data
  .filter(t => t.meta === 'dataset').reduce((n, t) => n + (t.selectedpoints || []).length, 0))()"""
#: The dataset indices of the faces plotly marks as selected.
SELECTED_INDICES_JS = """(() => document.querySelector('#map_plot .cvae-plot').data
  .filter(t => t.meta === 'dataset').flatMap(t => (t.selectedpoints || []).map(i => t.customdata[i])))()"""


def test_box_select_names_a_feature_and_makes_a_slider_in_generate(page):
    open_tab(page, "Latent map")
    page.wait_for_selector("#map_plot .cvae-plot[data-key] .scatterlayer .point", timeout=20_000)
    page.locator("#map_plot .cvae-plot").scroll_into_view_if_needed()
    # With nothing selected, making a slider is refused with a message, and the page keeps working.
    page.locator("#map_dir_name textarea, #map_dir_name input").first.fill("round face")
    chosen = page.evaluate(SELECTED_INDICES_JS)
    page.locator("#map_make_dir").click()
    toast = page.locator(".toast-body").filter(has_text="select faces on the map first")
    toast.first.wait_for(timeout=20_000)
    assert "Traceback" not in toast.first.inner_text()

    # plotly's own Box Select tool in the map's toolbar, then a real drag over part of the map
    box = [0.2, 0.2, 0.65, 0.7]
    area = page.evaluate(PLOT_AREA_JS, box)
    assert 0 < area["inside"], "the box should hold some faces"
    page.locator('#map_plot .modebar-btn[data-val="select"]').click()
    x0, y0 = area["L"] + box[0] * area["W"], area["T"] + box[1] * area["H"]
    x1, y1 = area["L"] + box[2] * area["W"], area["T"] + box[3] * area["H"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.wait_for_function("/\\d+ of \\d+ faces selected/.test(document.querySelector('#map_sel_info').innerText)",
                           timeout=20_000)
    text = page.locator("#map_sel_info").inner_text()
    # the server has the faces plotly selected in the page, each once: about those inside the dragged box
    selected = page.evaluate(SELECTED_JS)
    assert abs(selected - area["inside"]) <= 2 and f"{selected} of 240 faces selected" in text, (selected, text)
    page.wait_for_selector("#map_sel_faces img")
    assert page.locator("#map_sel_faces img").count() == min(selected, 48)
    assert page.locator("#map_info").inner_text().strip() == "", "the drag must not count as a click on the map"

    # a face clicked in the selection's gallery is left out of the direction
    page.locator("#map_sel_faces .grid-container button").first.click()
    page.wait_for_function("document.querySelector('#map_sel_info').innerText.includes('(1 left out)')",
                           timeout=20_000)
    assert f"{selected - 1} of 240 faces selected" in page.locator("#map_sel_info").inner_text()

    chosen = page.evaluate(SELECTED_INDICES_JS)
    page.locator("#map_make_dir").click()
    page.wait_for_function("document.querySelector('#map_sel_info').innerText.includes('is a slider in Generate')",
                           timeout=20_000)
    assert f"{selected - 1} selected faces against the other {240 - selected + 1}" in \
        page.locator("#map_sel_info").inner_text()
    # the map can now be coloured along the new direction: a colour scale with a colour bar
    page.locator("#map_color input").click()
    page.get_by_role("option", name="along 'round face'").click()
    page.wait_for_selector("#map_plot .colorbar", timeout=20_000)
    assert "'round face'" in page.locator("#map_status").inner_text()

    open_tab(page, "Generate")
    slider = page.locator("#gen_own_0")
    slider.wait_for(state="visible", timeout=20_000)
    assert "round face" in slider.inner_text()

    # moving the new slider brings the face's code towards the selected faces (decoded in the page, no request)
    import numpy as np

    from test_browser_page_decode import CURRENT_LATENT_JS, runtime_present

    if not runtime_present():
        pytest.skip("the rest needs the page's own decoder (python -m vae_core fetch-web-runtime)")

    mu = ui_harness.running_app()[1].cvae_context.registry.get(None).embedding().mu
    inside = np.zeros(len(mu), bool)
    inside[chosen] = True
    towards = mu[inside].mean(0) - mu[~inside].mean(0)
    page.wait_for_function("document.body.dataset.cvaeDecoder === 'page'", timeout=30_000)
    z0 = np.asarray(page.evaluate(CURRENT_LATENT_JS), np.float64)
    assert page.evaluate(ui_harness.SLIDER_ROUND_TRIP_JS, ["gen_own_0", "1.5"]) > 0
    z1 = np.asarray(page.evaluate(CURRENT_LATENT_JS), np.float64)
    step = z1 - z0
    assert step @ towards / (np.linalg.norm(step) * np.linalg.norm(towards)) > 0.9  # one face left out at most
    # nearer the selected faces than the rest: the gap between the squared distances to their centres shrinks
    sel_c, rest_c = mu[inside].mean(0), mu[~inside].mean(0)

    def lean(z):
        return np.sum((z - sel_c) ** 2) - np.sum((z - rest_c) ** 2)

    assert lean(z1) < lean(z0)
