"""Real-browser tests: Playwright drives Debian's Chromium (headless) against the launched app.

They check what only a browser can: the slider → image loop (and its latency), uploads, the plotly
click bridge of the latent map (hover, point click, empty-space click) and the live training view.
"""

from __future__ import annotations

import base64
import io
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ui_harness

pytestmark = pytest.mark.slow
if not Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

#: Where the measured latencies go (read by the README's numbers and by reviewers).
LATENCY_REPORT = Path(os.environ.get("CVAE_LATENCY_REPORT", ui_harness.workdir() / "latency.json"))




#: Status trackers drawn over the face (Gradio keeps them in the DOM, at opacity 0, when hidden).
OVERLAY_JS = """Array.from(document.querySelectorAll('#gen_image [data-testid=status-tracker]'))
  .filter(e => getComputedStyle(e).opacity !== '0' && getComputedStyle(e).display !== 'none').length"""


from browser_fixtures import app_url, browser, img_src, open_tab, page  # noqa: E402,F401 - pytest fixtures


def test_dragging_a_slider_changes_the_face_live(page):
    before = img_src(page, "#gen_image")
    seen = {before}
    page.locator("#gen_raw_0 input[type=range]").scroll_into_view_if_needed()
    box = page.locator("#gen_raw_0 input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    for i in range(1, 9):  # a real drag: intermediate faces arrive while the button is still down
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.055 * i), y, steps=2)
        page.wait_for_timeout(120)
        seen.add(img_src(page, "#gen_image"))
        assert page.evaluate(OVERLAY_JS) == 0, "a progress overlay covers the face while dragging"
    page.mouse.up()
    page.wait_for_function(f"document.querySelector('#gen_image img').src !== {json.dumps(before)}")
    assert len(seen) >= 3, "the face should change during the drag, not only at the end"


def face_diff(src_a: str, src_b: str) -> float:
    """Mean absolute difference (0–255 levels) between two faces given as PNG data URLs."""
    a, b = (np.asarray(Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).convert("RGB"), np.float64)
            for s in (src_a, src_b))
    return float(np.abs(a - b).mean())


def test_slider_moves_compose_with_every_other_slider_and_server_set_values(page):
    """A move sends the page's mirror of all slider values (ui.generate.slider_mirror): the face it paints must
    be the face of *all* current slider positions — including ones set by the server since the page's last
    move (a random face) and ones moved in other accordions — which copy → paste reproduces exactly."""
    move = lambda slider, v: page.evaluate(ui_harness.SLIDER_ROUND_TRIP_JS, [slider, v])  # noqa: E731
    # Opened first: Gradio 6 mounts an accordion's sliders on open, and a move in the first ~0.1 s can be
    # overwritten by the mount (see the fidelity test below); the round trips before the moves outlast that.
    page.wait_for_selector("#gen_pca_0 input[type=range]")
    page.wait_for_selector("#gen_attr_strength_0 input[type=range]")
    assert move("gen_raw_2", "1.5") > 0  # the mirror now holds the first page's values
    before = img_src(page, "#gen_image")
    caption = page.inner_text("#gen_image .cvae-caption")
    page.click("#gen_random")  # the page opened on a random face too: wait for the new seed's
    page.wait_for_function("(old) => { const c = document.querySelector('#gen_image .cvae-caption');"
                           " return c && c.innerText.includes('seed') && c.innerText !== old; }", arg=caption)
    page.wait_for_timeout(200)
    random_face = img_src(page, "#gen_image")
    assert random_face != before
    for slider, v in [("gen_raw_0", "-1.2"), ("gen_pca_0", "1.1"), ("gen_attr_strength_0", "0.8")]:
        assert move(slider, v) > 0, f"moving {slider} painted no new face"
    moved = img_src(page, "#gen_image")
    assert moved != random_face

    page.click("#gen_copy")
    page.wait_for_function("document.querySelector('#gen_latent textarea').value.startsWith('cvae1:')")
    page.click("#gen_paste")
    page.wait_for_function("document.querySelector('#gen_image .cvae-caption')?.innerText.includes('your latent')")
    # The latent string stores float16, so the pasted face may differ by a level or so in a few pixels;
    # a stale mirror (the random face's dims, or a move lost) changes it by far more than that.
    drift, moves = face_diff(img_src(page, "#gen_image"), moved), face_diff(moved, random_face)
    assert drift < 0.5 and drift < 0.1 * moves, (
        f"the face painted by slider moves is not the face of the slider values (mean |Δ| {drift:.2f} "
        f"levels; the moves changed the face by {moves:.2f}): a stale page mirror?")


def test_slider_round_trip_latency(page):
    """Input event → new face painted, measured in the page; reported, with a loose regression bound."""
    page.evaluate(ui_harness.SLIDER_ROUND_TRIP_JS, ["gen_raw_1", "0.5"])  # warm-up
    times = []
    for i in range(40):
        times.append(page.evaluate(ui_harness.SLIDER_ROUND_TRIP_JS, ["gen_raw_1", f"{-2 + 0.1 * i + 0.01:.2f}"]))
        page.wait_for_timeout(30)
    assert min(times) > 0, "some slider moves never produced a new face"
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    LATENCY_REPORT.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_REPORT.write_text(json.dumps({"n": len(times), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                                          "max_ms": round(times[-1], 1)}))
    print(f"\nslider → painted face: p50 {p50:.0f} ms, p95 {p95:.0f} ms (n={len(times)}) → {LATENCY_REPORT}")
    # The target is 100 ms p95 on an idle 2-core machine; this bound only catches regressions (a file
    # round trip, a progress overlay, a blocking queue) on a busy CI machine.
    assert p95 < float(os.environ.get("CVAE_LATENCY_BOUND_MS", "1000"))


def test_upload_shows_reconstruction_and_bad_files_get_a_message(page, tmp_path):
    open_tab(page, "Reconstruct")
    good = tmp_path / "portrait.png"
    Image.new("RGB", (90, 120), (230, 180, 150)).save(good)
    page.locator("#rec_upload input[type=file]").set_input_files(str(good))
    page.wait_for_selector("#rec_output img", timeout=20_000)
    page.wait_for_selector("#rec_input img")
    report = page.locator("#rec_report").inner_text()
    assert "MSE" in report and "SSIM" in report and "portrait.png" in report

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    page.locator("#rec_upload input[type=file]").set_input_files(str(bad))
    toast = page.locator(".toast-body").filter(has_text="broken.png")
    toast.first.wait_for(timeout=20_000)
    assert "Traceback" not in toast.first.inner_text()
    # the app keeps serving: a dataset example still reconstructs
    page.locator("#rec_examples .grid-container button").nth(2).click()
    page.wait_for_function("document.querySelector('#rec_report').innerText.includes('dataset example')",
                           timeout=20_000)
    assert page.locator("#rec_example_index input").input_value() == "2"


def test_map_hover_click_point_and_empty_space(page):
    open_tab(page, "Reconstruct")  # an upload marker should appear on the map
    page.locator("#rec_example_btn").click()
    page.wait_for_function("document.querySelector('#rec_report').innerText.includes('MSE')", timeout=20_000)
    t0 = time.perf_counter()
    open_tab(page, "Latent map")
    page.wait_for_selector("#map_plot .cvae-plot[data-key] .scatterlayer .point", timeout=20_000)
    opened = time.perf_counter() - t0
    print(f"\nlatent map opened in {opened:.2f} s")
    assert opened < float(os.environ.get("CVAE_MAP_BOUND_S", "4"))
    names = page.evaluate("document.querySelector('#map_plot .cvae-plot').data.map(t => t.name)")
    assert any(n.startswith("your upload") for n in names) and "current Generate face" in names

    page.locator("#map_plot .cvae-plot").scroll_into_view_if_needed()
    points = page.locator("#map_plot .scatterlayer .trace:first-child .point")
    box = points.nth(3).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.wait_for_function("getComputedStyle(document.querySelector('#map_plot .cvae-tip')).display === 'block'")
    assert "atlas" in page.evaluate("document.querySelector('#map_plot .cvae-tip').style.backgroundImage")

    page.mouse.click(cx, cy)
    page.wait_for_function("document.querySelector('#map_info').innerText.includes('Dataset face')", timeout=20_000)
    page.wait_for_selector("#map_face img")
    first = img_src(page, "#map_face")

    ex, ey = page.evaluate(EMPTIEST_SPOT_JS)
    page.mouse.click(ex, ey)  # one jump from the point to the spot: plotly still holds the hovered point
    page.wait_for_function("document.querySelector('#map_info').innerText.includes('Empty spot')", timeout=20_000)
    page.wait_for_function(f"document.querySelector('#map_face img').src !== {json.dumps(first)}")

    page.locator("#map_send").click()
    page.wait_for_function("document.querySelector('#gen_image').innerText.includes('your latent')", timeout=20_000)
    assert page.get_by_role("tab", name="Generate").get_attribute("aria-selected") == "true"


#: Client coordinates of the plot-area spot farthest from every drawn point (an empty place to click).
EMPTIEST_SPOT_JS = """(() => {
  const gd = document.querySelector('#map_plot .cvae-plot'), fl = gd._fullLayout, bb = gd.getBoundingClientRect();
  const pts = [];
  for (const t of gd.data) for (let i = 0; i < t.x.length; i++) pts.push([fl.xaxis.l2p(t.x[i]), fl.yaxis.l2p(t.y[i])]);
  let best = null, bestD = -1;
  for (let px = 10; px < fl._size.w - 10; px += 8) for (let py = 10; py < fl._size.h - 10; py += 8) {
    let d = Infinity;
    for (const [x, y] of pts) d = Math.min(d, (x - px) ** 2 + (y - py) ** 2);
    if (d > bestD) { bestD = d; best = [px, py]; }
  }
  return [bb.left + fl._size.l + best[0], bb.top + fl._size.t + best[1]];
})()"""


TRAIN_POINTS_JS = """(() => {
  const gd = document.querySelector('#train_plot .js-plotly-plot');
  return gd && gd.data && gd.data[0] && gd.data[0].x ? gd.data[0].x.length : 0;  // the total-loss panel's train curve
})()"""


def fill_train_form(page, name: str, epochs: int, size: int) -> None:
    page.locator("#train_size input").fill(str(size))
    page.locator("#train_resolution input").fill("32")
    page.keyboard.press("Enter")
    page.locator("#train_latent input").fill("8")
    page.locator("#train_epochs input").fill(str(epochs))
    page.locator("#train_batch input").fill("8")
    page.locator("#train_name textarea").fill(name)


def test_training_curve_grows_then_cancel_another(page, app_url):
    runner = ui_harness.running_app()[1].cvae_context.runner
    ui_harness.wait_until(lambda: runner.snapshot() is None or runner.snapshot().exited, 120)
    open_tab(page, "Train")
    fill_train_form(page, "browser-one-epoch", epochs=1, size=3000)  # long enough for several 1 s polls
    page.locator("#train_start").click()
    # the view switches to the new run (an earlier run's curve may still be drawn until then)
    page.wait_for_function("document.querySelector('#train_status').innerText.includes('browser-one-epoch')",
                           timeout=30_000)
    page.wait_for_function(f"{TRAIN_POINTS_JS} >= 1", timeout=60_000)
    counts = []
    status = ""
    end = time.monotonic() + 180
    while "finished" not in status and time.monotonic() < end:
        counts.append(page.evaluate(TRAIN_POINTS_JS))
        status = page.locator("#train_status").inner_text()
        # progress without Gradio's "processing | 0.3/0.4s" tracker flickering over the status text
        assert "processing" not in status, status
        page.wait_for_timeout(150)
    counts.append(page.evaluate(TRAIN_POINTS_JS))
    assert "finished" in status, status
    assert len(set(counts)) >= 3 and counts == sorted(counts), f"the curve should grow while training: {counts}"
    page.wait_for_selector("#train_recon img")
    page.wait_for_function("document.querySelector('#train_status').innerText.includes('map is ready')",
                           timeout=60_000)
    page.locator("#checkpoint_picker input").click()
    assert page.get_by_role("option", name="browser-one-epoch").count() >= 1  # selectable everywhere
    page.keyboard.press("Escape")

    fill_train_form(page, "browser-cancelled", epochs=200, size=160)
    page.locator("#train_start").click()
    page.wait_for_function("document.querySelector('#train_status').innerText.includes('running')", timeout=60_000)
    page.wait_for_function(f"{TRAIN_POINTS_JS} >= 1", timeout=60_000)
    page.locator("#train_cancel").click()
    page.wait_for_function("document.querySelector('#train_status').innerText.includes('cancelled')",
                           timeout=120_000)
    ui_harness.wait_until(lambda: runner.snapshot().exited, 120)
    assert runner.snapshot().cancelled


#: Client coordinates of the centre of heatmap cell (row, column).
HEAT_CELL_JS = """([row, col]) => {
  const gd = document.querySelector('#analysis_heatmap .cvae-heat'), fl = gd._fullLayout;
  const bb = gd.getBoundingClientRect();
  return [bb.left + fl._size.l + fl.xaxis.l2p(col), bb.top + fl._size.t + fl.yaxis.l2p(row)];
}"""


def test_heatmap_click_focuses_the_dim_in_generate_and_attribute_moves_show_fidelity(page):
    open_tab(page, "Analysis")
    # (not just any text: a status tracker's "0.1s" shows there while the show event runs)
    page.wait_for_function("/analysis/i.test(document.querySelector('#analysis_status').innerText)", timeout=20_000)
    if "no analysis yet" in page.locator("#analysis_status").inner_text():  # else computed by an earlier test
        page.locator("#analysis_compute").click()  # waits until the show event has enabled it
    page.wait_for_function("document.querySelector('#analysis_status').innerText.includes('✓')", timeout=300_000)
    page.wait_for_selector("#analysis_heatmap .cvae-heat[data-key] .heatmaplayer", timeout=20_000)
    card = page.locator("#analysis_scorecard").text_content()  # the per-attribute table may start folded
    assert "MIG" in card and "hair_color" in card and "edit fidelity" in card
    compute = page.locator("#analysis_compute button, button#analysis_compute")
    assert compute.count() == 0 or not compute.first.is_visible() or compute.first.is_disabled()  # nothing to compute
    row = 2
    dims = page.evaluate("document.querySelector('#analysis_heatmap .cvae-heat').data[0].customdata.map(r => r[0])")
    col = page.evaluate("document.querySelector('#analysis_heatmap .cvae-heat').data[0].x.indexOf('hair_color')")
    assert col >= 0
    page.locator("#analysis_heatmap .cvae-heat").scroll_into_view_if_needed()
    x, y = page.evaluate(HEAT_CELL_JS, [row, col])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    # the heatmap's rows are its most important dims (not the slider order): the clicked dim's slider is focused
    page.wait_for_function("document.querySelector('[id^=gen_raw_].cvae-focus') !== null", timeout=20_000)
    assert page.get_by_role("tab", name="Generate").get_attribute("aria-selected") == "true"
    assert page.locator(".cvae-focus").count() == 1
    assert f"Focused on z[{dims[row]}]" in page.locator("#gen_note").inner_text()
    assert page.locator("[id^=gen_raw_].cvae-focus").is_visible()

    page.wait_for_selector("#gen_attr_strength_0 input[type=range]", state="visible", timeout=10_000)
    assert "move an attribute" in page.locator("#gen_fidelity").inner_text()  # the hint, before any edit
    # Gradio 6 mounts an accordion's sliders when it opens, and a move in the first moments after that
    # can be overwritten by the mount's own value (0): measured 2 of 12 and 2 of 20 moves made right
    # away lost, none of 44 made 0.1–0.5 s later. A person cannot move that fast; so the move is repeated
    # until the slider keeps it, and the check below is on the fidelity line, which only a kept move changes.
    for _ in range(5):
        kept = page.evaluate("""async () => {  // a drag to 1.8, released a moment later
          const r = document.querySelector('#gen_attr_strength_0 input[type=range]');
          r.value = '1.8';
          r.dispatchEvent(new Event('input', {bubbles: true}));
          await new Promise(done => setTimeout(done, 300));
          r.dispatchEvent(new Event('change', {bubbles: true}));
          return document.querySelector('#gen_attr_strength_0 input[type=number]').value;
        }""")
        if float(kept) == 1.8:
            break
    assert float(kept) == 1.8, f"the strength slider never kept the move (shows {kept})"
    try:
        page.wait_for_function("/[✓✗]/.test(document.querySelector('#gen_fidelity').innerText)", timeout=60_000)
    except sync_api.TimeoutError:
        toasts = page.locator(".toast-body").all_inner_texts()
        pytest.fail(f"no edit-fidelity verdict; the line says: {page.locator('#gen_fidelity').inner_text()!r}; "
                    f"messages: {toasts}")
    text = page.locator("#gen_fidelity").inner_text()
    assert "Edit fidelity" in text and "→" in text and "eakage" in text
    # A new face resets the strengths: the verdict of the old one gives way to the hint (page-only, no request).
    page.locator("#gen_random").click()
    page.wait_for_function("document.querySelector('#gen_fidelity').innerText.includes('move an attribute')",
                           timeout=30_000)
