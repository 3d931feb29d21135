"""Take the README's screenshots of every tab from the real app in headless Chromium (never by hand): the first
screen at 1280×720 (generate-1280x720.png), every tab at 1400×900.

    .venv/bin/python assets/make_screenshots.py [--out assets/screenshots]

Launches ``python app.py`` on the shipped default checkpoint (runs go to a temporary folder), drives it
with Playwright and Debian's ``/usr/bin/chromium``: moves sliders in Generate, reconstructs a dataset
example, opens the latent map and clicks a point, interpolates two random faces, shows the shipped
analysis (scorecard and heatmap), and trains a tiny model
in the Train tab so its live curves are drawn. Writes one PNG per tab.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file: the repository's bench.harness (Chromium, the free port, the waits)

from bench import harness  # noqa: E402


def launch(runs: Path) -> tuple[subprocess.Popen, str]:
    port = harness.free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "CVAE_RUNS_DIR": str(runs), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"app.py exited with {proc.returncode}")
            time.sleep(0.2)
    proc.kill()
    sys.exit("app.py did not start within 120 s")


def shoot(page, out: Path, name: str) -> None:
    page.wait_for_timeout(800)  # let plots and images settle
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = launch(Path(tmp) / "runs")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=harness.CHROMIUM, args=harness.ARGS)
                # The first screen as a visitor meets it, at a laptop's size: the random face it opens on.
                first = browser.new_page(viewport={"width": 1280, "height": 720})
                first.goto(url)
                harness.wait_for_first_face(first, 60_000)
                first.wait_for_function("['page', 'server'].includes(document.body.dataset.cvaeDecoder)",
                                        timeout=60_000)
                shoot(first, out, "generate-1280x720")
                first.close()

                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                harness.wait_for_first_face(page, 60_000)
                page.wait_for_function("['page', 'server'].includes(document.body.dataset.cvaeDecoder)",
                                       timeout=60_000)
                # named controls, decoded in the page: glasses on, then the first PCA direction
                page.evaluate(harness.SLIDER_ROUND_TRIP_JS, ["gen_attr_strength_1", "1.2"])
                page.evaluate(harness.SLIDER_ROUND_TRIP_JS, ["gen_pca_0", "0.8"])
                shoot(page, out, "generate")

                page.get_by_role("tab", name="Reconstruct").click()
                page.locator("#rec_examples .grid-container button").nth(1).click()
                page.wait_for_function("document.querySelector('#rec_report').innerText.includes('MSE')",
                                       timeout=30_000)
                shoot(page, out, "reconstruct")

                page.get_by_role("tab", name="Latent map").click()
                page.wait_for_selector("#map_plot .cvae-plot[data-key] .scatterlayer .point", timeout=60_000)
                pt = page.locator("#map_plot .scatterlayer .trace:first-child .point").nth(25).bounding_box()
                page.mouse.move(pt["x"] + pt["width"] / 2, pt["y"] + pt["height"] / 2)
                page.mouse.click(pt["x"] + pt["width"] / 2, pt["y"] + pt["height"] / 2)
                page.wait_for_selector("#map_face img", timeout=30_000)
                page.mouse.move(pt["x"] + pt["width"] / 2, pt["y"] + pt["height"] / 2)
                shoot(page, out, "latent_map")

                page.get_by_role("tab", name="Interpolate").click()
                page.locator("#int_set_a").click()
                page.locator("#int_set_b").click()
                page.wait_for_selector("#int_preview_b img", timeout=30_000)
                page.locator("#int_go").click()
                page.wait_for_selector("#int_strip img", timeout=30_000)
                shoot(page, out, "interpolate")

                page.get_by_role("tab", name="Analysis").click()
                page.wait_for_function("document.querySelector('#analysis_status').innerText.includes('✓')",
                                       timeout=60_000)
                page.wait_for_selector("#analysis_heatmap .cvae-heat[data-key] .heatmaplayer", timeout=30_000)
                shoot(page, out, "analysis")
                page.wait_for_timeout(500)
                print(f"the Analysis tab is {page.evaluate('document.documentElement.scrollHeight')} px tall at 1400×900")

                page.get_by_role("tab", name="Objective").click()
                page.wait_for_function("document.querySelector('#obj_terms').innerText.includes('bits/dim')",
                                       timeout=60_000)
                page.wait_for_selector("#obj_kl_plot .main-svg", timeout=30_000)
                shoot(page, out, "objective")
                # the prior hole and β below the face's terms
                page.locator("#obj_hole").scroll_into_view_if_needed()
                page.wait_for_selector("#obj_norms_plot .main-svg", timeout=30_000)
                shoot(page, out, "objective-prior-hole")
                page.evaluate("window.scrollTo(0, 0)")

                page.get_by_role("tab", name="Train").click()
                page.locator("#train_size input").fill("1200")
                page.locator("#train_resolution input").fill("32")
                page.keyboard.press("Enter")
                page.locator("#train_latent input").fill("16")
                page.locator("#train_epochs input").fill("3")
                page.locator("#train_batch input").fill("32")
                page.locator("#train_name textarea").fill("screenshot-run")
                page.locator("#train_start").click()
                page.wait_for_function("document.querySelector('#train_status').innerText.includes('finished')",
                                       timeout=300_000)
                page.wait_for_selector("#train_recon img", timeout=30_000)
                shoot(page, out, "train")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
