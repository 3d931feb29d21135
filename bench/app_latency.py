"""The running app, measured from outside: cold start, slider round trip in a real browser, concurrency.

    python -m bench.app_latency [--clients 8] [--calls 50] [--moves 60]

Starts ``python app.py`` on the shipped default checkpoint in a fresh process and prints:

- cold start: process start → first page served (HTTP 200 on ``/``);
- slider round trip in headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright): the
  ``input`` event on a latent slider → the new face decoded and painted, p50/p95 over ``--moves`` moves;
  then the same for an attribute strength slider (whose moves also update the edit-fidelity line);
- the latent map tab: click → points painted; a checkpoint switch (to the synthetic model and back):
  pick in the picker → the new model's face shown;
- ``--clients`` concurrent gradio_client sessions, each making ``--calls`` decode requests on
  ``/generate``: p50/p95 latency per request, throughput and the error count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import machine, pct, run_concurrently
from bench.harness import ARGS, CHROMIUM, SLIDER_ROUND_TRIP_JS, free_port, wait_for_first_face

ROOT = Path(__file__).resolve().parents[1]


def start_app(port: int) -> tuple[subprocess.Popen, float, str]:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    while True:
        if proc.poll() is not None:
            sys.exit(f"app.py exited with {proc.returncode}:\n{proc.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, time.perf_counter() - t0, url
        except OSError:
            time.sleep(0.05)
        if time.perf_counter() - t0 > 120:
            proc.kill()
            sys.exit("app.py did not serve its page within 120 s")


def browser_round_trip(url: str, moves: int) -> dict[str, list[float]]:
    """Round trips (ms; -1: no new face within 5 s) of latent sliders and of an attribute strength slider
    (which also updates the edit-fidelity line, a second event on each move)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        wait_for_first_face(page, 60_000)
        for kind, sliders in (("latent", ["gen_raw_0", "gen_raw_1", "gen_raw_2"]), ("attribute", ["gen_attr_strength_0"])):
            if kind == "attribute":
                page.get_by_text("Attributes (mean-difference").click()
                page.wait_for_selector("#gen_attr_strength_0 input[type=range]")
            lo, hi = (-2.5, 2.5) if kind == "latent" else (-1.5, 1.5)
            for _ in range(3):  # warm-up: first requests set up the queue connection
                page.evaluate(SLIDER_ROUND_TRIP_JS, [sliders[0], "0.5"])
            times = []
            for i in range(moves):
                value = f"{lo + (hi - lo) * i / max(1, moves - 1) + 0.013:.3f}"
                times.append(page.evaluate(SLIDER_ROUND_TRIP_JS, [sliders[i % len(sliders)], value]))
                page.wait_for_timeout(40)  # a human drag sends ~20 events/s at most
            out[kind] = times
        # The latent map: the tab's click → its points painted (the shipped map is cached: no fit).
        t0 = time.perf_counter()
        page.get_by_role("tab", name="Latent map").click()
        page.wait_for_selector("#map_plot .cvae-plot[data-key] .scatterlayer .point", timeout=60_000)
        out["map"] = [1000 * (time.perf_counter() - t0)]
        # A checkpoint switch to the other shipped model and back: pick → banner and Generate face updated.
        page.get_by_role("tab", name="Generate").click()
        switches = []
        for want in ("checkpoints/synthetic", "checkpoints/default"):
            old_face = page.locator("#gen_image img").get_attribute("src")
            page.locator("#checkpoint_picker input").click()
            t0 = time.perf_counter()
            page.get_by_role("option", name=want).first.click()
            page.wait_for_function("(old) => { const im = document.querySelector('#gen_image img');"
                                   " return im && im.src !== old; }", arg=old_face, timeout=60_000)
            switches.append(1000 * (time.perf_counter() - t0))
        out["switch"] = switches
        browser.close()
    return out


def concurrent_decodes(url: str, clients: int, calls: int) -> tuple[list[float], int, float]:
    import numpy as np
    from gradio_client import Client

    from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW

    sessions = [Client(url, verbose=False) for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def work(k: int) -> None:
        rng = np.random.default_rng(k)
        barrier.wait()
        for _ in range(calls):
            raw = [float(v) for v in np.clip(rng.normal(size=N_RAW), -3.9, 3.9)]
            args = [*raw, *([0.0] * N_PCA), *([None] * N_ATTR), *([0.0] * N_ATTR)]
            t = time.perf_counter()
            try:
                out = sessions[k].predict(*args, api_name="/generate")
                ok = "data:image/png;base64," in out
            except Exception as e:  # noqa: BLE001 - counted and reported
                ok, out = False, repr(e)
            dt = 1000 * (time.perf_counter() - t)
            with lock:
                latencies.append(dt)
                if not ok:
                    errors.append(str(out)[:200])

    wall = run_concurrently(work, clients)
    if errors:
        print(f"  first error: {errors[0]}")
    return latencies, len(errors), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--moves", type=int, default=60)
    a = p.parse_args()
    print(f"machine: {machine()}")
    proc, cold, url = start_app(free_port())
    try:
        print(f"app cold start (python app.py → first page served): {cold:.1f} s")
        figures = browser_round_trip(url, a.moves)
        print(f"latent map tab painted (click → points drawn): {figures.pop('map')[0]:.0f} ms")
        switch = figures.pop("switch")
        print(f"checkpoint switch (pick → new face shown): to the synthetic model {switch[0]:.0f} ms, "
              f"back to the default {switch[1]:.0f} ms")
        for kind, times in figures.items():
            lost = sum(t < 0 for t in times)
            good = [t for t in times if t >= 0]
            print(f"{kind} slider round trip in Chromium (input event → new face painted, n={len(good)}): "
                  f"p50 {pct(good, 50):.0f} ms, p95 {pct(good, 95):.0f} ms, max {max(good):.0f} ms, lost {lost}")
        lat, errors, wall = concurrent_decodes(url, a.clients, a.calls)
        print(f"{a.clients} concurrent gradio_client sessions x {a.calls} decodes: p50 {pct(lat, 50):.0f} ms, "
              f"p95 {pct(lat, 95):.0f} ms, {len(lat) / wall:.0f} requests/s, errors {errors}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
