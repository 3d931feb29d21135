"""The static explorer (``export-web``) measured in headless Chromium: its size, load time and slider latency.

    python -m bench.static_page [--checkpoint checkpoints/default] [--loads 5] [--moves 40]

Exports the checkpoint into a temporary folder, serves it from a local ``http.server`` (so the network is not
what is measured) and prints:

- the site's size (every file of its manifest, and the decoder and runtime alone);
- load → decoder ready and → first face painted, per fresh browser context (empty cache), from the page's own
  ``performance.now()`` (navigation start = 0);
- a raw slider move → the new face painted, as Playwright sees it (fill, then the renderer idle), p50/p95.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.harness import ARGS, CHROMIUM
from vae_core.web.static_site import export_web

ROOT = Path(__file__).resolve().parents[1]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the bench prints its own lines only
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--moves", type=int, default=40)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        manifest = export_web(args.checkpoint, out)
        sizes = {f.path: f.size for f in manifest.files}
        runtime = sum(v for k, v in sizes.items() if k.startswith("ort/"))
        print(f"site: {len(sizes) + 1} files, {manifest.total_bytes / 1e6:.1f} MB (decoder.onnx "
              f"{sizes['decoder.onnx'] / 1e6:.1f} MB, layout.json {sizes['layout.json'] / 1e6:.1f} MB, "
              f"onnxruntime-web {runtime / 1e6:.1f} MB)")
        server, url = serve(out)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                ready, first = [], []
                for _ in range(args.loads):
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    page.goto(url)
                    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=120_000)
                    page.wait_for_function("window.cvaeStatic.timings.firstFaceMs !== null")
                    t = page.evaluate("window.cvaeStatic.timings")
                    ready.append(t["decoderReadyMs"])
                    first.append(t["firstFaceMs"])
                    ctx.close()
                print(f"load → decoder ready: median {np.median(ready):.0f} ms (min {min(ready):.0f}, max "
                      f"{max(ready):.0f}) over {args.loads} cold loads; → first face painted: median "
                      f"{np.median(first):.0f} ms")
                ctx = browser.new_context()
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_function("document.body.dataset.state === 'ready'", timeout=120_000)
                moves = []
                for i in range(args.moves):
                    t0 = time.perf_counter()
                    page.fill("#raw_0", f"{(-1) ** i * (1 + (i % 7) / 4):.2f}")
                    page.evaluate("() => window.cvaeStatic.idle()")
                    moves.append(1e3 * (time.perf_counter() - t0))
                print(f"slider move → face painted: p50 {pct(moves, 50):.0f} ms, p95 {pct(moves, 95):.0f} ms over "
                      f"{args.moves} moves")
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
