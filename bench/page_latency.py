"""The Generate tab decoded in the visitor's browser, measured from outside: slider latency, first load, server CPU.

    python -m bench.page_latency [--moves 200] [--load 20] [--skip-load] [--port 0]

Starts ``python app.py`` on the shipped default checkpoint under ``nice -n 19`` (a visitor's browser runs on
the visitor's own machine: the server's work must not be mistaken for the browser's), drives headless Chromium
(Debian's ``/usr/bin/chromium`` via Playwright, at normal priority) and prints:

1. slider move → new face painted (ui/static/generate_page.js decodes with onnxruntime-web): p50/p95/max over
   ``--moves`` moves of each of the raw, PCA and attribute sliders, with the app idle, then while ``--load``
   gradio_client sessions call ``/random_face`` in a loop; the HTTP requests the page sends during the moves
   (there should be none); "no move lost": 40 ``input`` events fired back-to-back, then the page's composed
   latent must hold the last value and the face shown must be that latent's (decoded here with torch, max
   difference ≤ 2 levels);
2. first load (fresh browser profile, cold cache): navigation start → ``cvae:decoder-ready``, and the bytes the
   page downloads for in-page decoding, per file;
3. the server's CPU per visitor: the app's utime+stime over 20 s of one browser sliding (a move every 16 ms)
   against 20 s of the same page idle;
4. the size of the static page (``python -m vae_core export-web``).

Ends with a markdown table for docs/performance.md. The load sessions run in a child process, also under
``nice -n 19``: they stand for other visitors on other machines, so their own client work must not take the
CPU from the browser being measured either.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import ARGS, CHROMIUM, SLIDER_ROUND_TRIP_JS, free_port, wait_for_first_face

ROOT = Path(__file__).resolve().parents[1]

#: The whole run gives up (and cleans up) after this long, rather than hang.
RUN_TIMEOUT_S = 45 * 60
#: Pause between measured moves: a person dragging a slider sends ~20-60 events/s.
MOVE_PAUSE_MS = 40
SLIDER_KINDS = (("raw", "gen_raw_"), ("PCA", "gen_pca_"), ("attribute", "gen_attr_strength_"))
#: Where the accordion of each kind's sliders is (Gradio 6 mounts an accordion's content when it opens).
ACCORDIONS = {"raw": "Advanced: every latent dimension",
              "PCA": "Main PCA directions of the dataset",
              "attribute": "Attributes: push the face towards"}
#: Requests that are not slider moves: the edit-fidelity line's one check once the attribute sliders rest
#: (ui/analysis/tab.py, 250 ms after the last move: a slow round trip in a sequence can leave such a gap), and
#: Gradio's reconnect probe.
EXPLAINED = ("edit-fidelity check (queue/join)", "Gradio reconnect probe (/app_id)")
#: URL parts of the files the page fetches for decoding in the page (relative to the app's working folder).
DECODER_FILES = ("vae_core/web/static/", "ui/static/generate_page.js", ".cache/ui/web/", ".cache/web-runtime/")

# -- page code (run by page.evaluate / add_init_script) --------------------------------------------------
#: Records the page's decoder events from the very start of a navigation (performance.now() = ms since it).
EVENTS_INIT_JS = """
window.__cvaeBench = {ready: null, painted: 0, lastPaint: 0, paintMs: []};
document.addEventListener('cvae:decoder-ready', (e) => {
  window.__cvaeBench.ready = {at: performance.now(), ms: e.detail && e.detail.ms};
});
document.addEventListener('cvae:painted', (e) => {
  const b = window.__cvaeBench;
  b.painted += 1; b.lastPaint = performance.now(); b.paintMs.push(e.detail && e.detail.ms);
});
"""

FIND_SLIDERS_JS = """(prefix) => Array.from(document.querySelectorAll(`[id^="${prefix}"]`))
  .filter((el) => /^gen_(raw|pca|attr_strength)_[0-9]+$/.test(el.id) && el.offsetParent !== null
                  && el.querySelector('input[type=range]'))
  .map((el) => { const r = el.querySelector('input[type=range]');
                 return {id: el.id, min: Number(r.min), max: Number(r.max), step: Number(r.step) || 0.01,
                         value: Number(r.value)}; })"""

#: Runs the moves [[slider, value], ...] one after another in the page (the round trip of
#: bench.harness.SLIDER_ROUND_TRIP_JS each, a pause between): no Python round trip per move to add noise.
#: Gives up after 3 moves in a row that showed no new face (each waits at most 5 s).
MOVES_JS = """async ([moves, pause]) => {
  const roundTrip = %s;
  const out = [];
  let lostInRow = 0;
  for (const [slider, value] of moves) {
    const ms = await roundTrip([slider, value]);
    out.push(ms);
    lostInRow = ms < 0 ? lostInRow + 1 : 0;
    if (lostInRow >= 3) break;
    await new Promise((r) => setTimeout(r, pause));
  }
  return out;
}"""

#: Fires one input event per value on one slider, back to back (no await): what a fast drag can do.
BURST_JS = """([slider, values]) => {
  const range = document.querySelector(`#${slider} input[type=range]`);
  for (const v of values) {
    range.value = String(v);
    range.dispatchEvent(new Event('input', {bubbles: true}));
  }
  return Number(range.value);
}"""

SETTLED_JS = """([before, quietMs]) => { const b = window.__cvaeBench;
  return b.painted > before && performance.now() - b.lastPaint > quietMs; }"""

#: The latent the page composed (generate_page.js currentLatent) and the face it shows.
SHOWN_JS = """async () => {
  const mod = await import(new URL('gradio_api/file=ui/static/generate_page.js', document.baseURI).href);
  const z = mod.currentLatent();
  const img = document.querySelector('#gen_image img');
  return {z: z ? Array.from(z) : null, src: img ? img.src : null};
}"""

#: Slides one slider for `seconds`, a move every `every` ms; returns the moves sent and faces painted.
SLIDE_JS = """async ([slider, seconds, every]) => {
  const range = document.querySelector(`#${slider} input[type=range]`);
  const lo = Number(range.min), hi = Number(range.max);
  const b = window.__cvaeBench, painted0 = b.painted;
  const end = performance.now() + 1000 * seconds;
  let n = 0;
  while (performance.now() < end) {
    range.value = (lo + (hi - lo) * ((n * 0.6180339887) % 1)).toFixed(2);
    range.dispatchEvent(new Event('input', {bubbles: true}));
    n += 1;
    await new Promise((r) => setTimeout(r, every));
  }
  return {moves: n, painted: b.painted - painted0};
}"""


# -- the app -------------------------------------------------------------------------------------------
def fidelity_fn_index(url: str) -> int | None:
    """The fn_index of the click on #gen_fidelity_go, from the app's Gradio config (None if not found)."""
    try:
        with urllib.request.urlopen(url + "config", timeout=30) as r:
            cfg = json.load(r)
        ids = {c["id"] for c in cfg["components"] if c.get("props", {}).get("elem_id") == "gen_fidelity_go"}
        return next(d.get("id", i) for i, d in enumerate(cfg["dependencies"])
                    if any(t[0] in ids and t[1] == "click" for t in d["targets"]))
    except (OSError, ValueError, KeyError, StopIteration):
        return None


@dataclass
class App:
    proc: subprocess.Popen
    url: str
    log: Path
    started_s: float

    def cpu_seconds(self) -> float:
        """utime + stime of the app process (all its threads), from /proc/<pid>/stat."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def start_app(port: int, log: Path) -> App:
    """``nice -n 19 python app.py`` (nice execs python: the pid is the app's) until it serves its page."""
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(["nice", "-n", "19", sys.executable, "app.py"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    app = App(proc, f"http://127.0.0.1:{port}/", log, 0.0)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(app.url, timeout=2) as r:
                if r.status == 200:
                    app.started_s = time.perf_counter() - t0
                    return app
        except OSError:
            time.sleep(0.1)
        if time.perf_counter() - t0 > 180:
            app.stop()
            raise RuntimeError("app.py did not serve its page within 180 s")


# -- the load: gradio_client sessions in a child process -----------------------------------------------
def load_worker(url: str, sessions: int) -> None:
    """(Child process) ``sessions`` gradio_client sessions each calling /random_face in a loop until stdin
    closes; prints "ready" once all are connected and a JSON line of counts at the end."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(sessions)]
    stop = threading.Event()
    lock = threading.Lock()
    counts: dict = {"calls": 0, "errors": 0, "first_error": "", "error_kinds": {}}

    def work(k: int) -> None:
        while not stop.is_set():
            try:
                clients[k].predict(1.0, api_name="/random_face")
                with lock:
                    counts["calls"] += 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    counts["errors"] += 1
                    counts["first_error"] = counts["first_error"] or repr(e)[:300]
                    kind = type(e).__name__
                    counts["error_kinds"][kind] = counts["error_kinds"].get(kind, 0) + 1
                time.sleep(0.2)

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(sessions)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    with lock:
        print(json.dumps({**counts, "seconds": time.perf_counter() - t0}), flush=True)
    os._exit(0)  # a call stuck in a client thread must not keep the process alive


class Load:
    """The load child process: started, waited for, stopped (its counts read back), or killed."""

    def __init__(self, url: str, sessions: int) -> None:
        self.sessions = sessions
        self.proc = subprocess.Popen(["nice", "-n", "19", sys.executable, "-m", "bench.page_latency",
                                      "--load-worker", url, str(sessions)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def wait_ready(self, timeout: float = 180) -> None:
        end = time.monotonic() + timeout
        while "ready" not in self.lines:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the load process exited with {self.proc.returncode} before it was ready")
            if time.monotonic() > end:
                raise TimeoutError(f"the {self.sessions} load sessions did not connect within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> dict:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(60)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._reader.join(timeout=5)
        for line in reversed(self.lines):
            if line.startswith("{"):
                return json.loads(line)
        return {}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# -- the browser ---------------------------------------------------------------------------------------
@dataclass
class Requests:
    """HTTP requests the page sends while `phase` is set (ones started before are not seen), each as
    "<what it is>: <method> <url>" (see :meth:`classify`)."""

    #: fn_index of the edit-fidelity check (clicked by the page once the attribute sliders rest)
    fidelity_fn: int | None = None
    phase: str | None = None
    seen: dict[str, list[str]] = field(default_factory=dict)

    def on_request(self, request) -> None:
        if self.phase is not None and request.url.startswith("http"):
            what = self.classify(request.url, request.post_data)
            self.seen.setdefault(self.phase, []).append(f"{what}: {request.method} {request.url}")

    def classify(self, url: str, body: str | None) -> str:
        if "/gradio_api/app_id" in url:
            return EXPLAINED[1]  # Gradio's client asks whether the server restarted after a stream broke
        if "/gradio_api/queue/join" in url:
            try:
                fn = json.loads(body or "{}").get("fn_index")
            except ValueError:
                fn = None
            return EXPLAINED[0] if fn is not None and fn == self.fidelity_fn else f"queue/join of fn {fn}"
        if "/gradio_api/queue/data" in url:
            return "queue/data (a queued event's result stream)"
        return "other"

    def during(self, phase: str):
        self.phase = phase
        self.seen.setdefault(phase, [])
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.phase = None


def launch_browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def new_page(browser, requests: Requests | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.add_init_script(EVENTS_INIT_JS)
    page = context.new_page()
    page.set_default_timeout(60_000)
    if requests is not None:
        page.on("request", requests.on_request)
    return page


def wait_decoder(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function("() => (window.__cvaeBench && window.__cvaeBench.ready)"
                           " || document.body.dataset.cvaeDecoder === 'server'", timeout=timeout_ms)
    mode = page.evaluate("() => document.body.dataset.cvaeDecoder")
    if mode != "page":
        status = page.evaluate("() => (document.getElementById('gen_decoder_status') || {}).textContent")
        raise RuntimeError(f"the page decodes on the server, not in the page: {status!r}")


def first_load(browser, url: str) -> dict:
    """A fresh profile (cold cache): navigation start → decoder ready, and the decoder files downloaded."""
    page = new_page(browser)
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.goto(url)
    wait_decoder(page)
    ready = page.evaluate("() => window.__cvaeBench.ready")
    files: dict[str, tuple[int, int]] = {}
    for r in responses:
        name = r.url.split("file=", 1)[-1].split("?", 1)[0]
        if any(part in name for part in DECODER_FILES):
            try:
                body = len(r.body())
            except Exception:  # noqa: BLE001 - a redirect or aborted response has no body
                body = 0
            wire = r.request.sizes().get("responseBodySize", 0)
            files[name] = (body, wire)
    page.context.close()
    return {"nav_to_ready_ms": ready["at"], "sync_to_ready_ms": ready["ms"], "files": files}


def open_generate(browser, url: str, requests: Requests):
    """The app's page with the decoder ready and every kind's accordion open; (page, sliders by kind)."""
    page = new_page(browser, requests)
    page.goto(url)
    wait_for_first_face(page, 60_000)
    wait_decoder(page)
    sliders = {}
    for kind, prefix in SLIDER_KINDS:
        found = page.evaluate(FIND_SLIDERS_JS, prefix)
        if not found:
            page.get_by_text(ACCORDIONS[kind]).first.click()
            try:
                page.wait_for_selector(f"[id^={prefix}] input[type=range]", timeout=20_000)
            except Exception:  # noqa: BLE001 - reported below as "no sliders"
                pass
            page.wait_for_timeout(300)
            found = page.evaluate(FIND_SLIDERS_JS, prefix)
        sliders[kind] = found[:3]
    return page, sliders


def move_plan(sliders: list[dict], moves: int, phase: float) -> list[list]:
    """`moves` positions round-robin over the sliders, spread over each one's range (golden-ratio steps, so
    that consecutive values of a slider are far apart and the face changes)."""
    plan = []
    for i in range(moves):
        s = sliders[i % len(sliders)]
        frac = ((i // len(sliders)) * 0.6180339887 + phase + 0.17 * (i % len(sliders))) % 1
        value = s["min"] + (s["max"] - s["min"]) * (0.05 + 0.9 * frac)
        plan.append([s["id"], f"{value:.2f}"])
    return plan


def run_moves(page, requests: Requests, sliders: dict, moves: int, tag: str, phase: float) -> dict:
    """Round trips (ms) per kind, and the HTTP requests during the moves and in the second after them."""
    js = MOVES_JS % SLIDER_ROUND_TRIP_JS
    out = {}
    for kind, found in sliders.items():
        if not found:
            continue
        page.evaluate(js, [move_plan(found, 10, phase + 0.5), MOVE_PAUSE_MS])  # warm-up (WebAssembly tiers up)
        page.wait_for_timeout(500)
        with requests.during(f"{tag} {kind}"):
            times = page.evaluate(js, [move_plan(found, moves, phase), MOVE_PAUSE_MS])
        with requests.during(f"{tag} {kind} (1 s after)"):
            page.wait_for_timeout(1000)
        out[kind] = times
    return out


def burst(page, slider: dict, n: int = 40) -> dict:
    """n input events back to back on one slider; then what the page composed and shows once painting settles."""
    lo, hi = slider["min"], slider["max"]
    values = [round(lo + (hi - lo) * (0.1 + 0.8 * k / (n - 1)), 2) for k in range(n)]
    values[-1] = round(values[-1] - 0.37, 2)  # the last one: not on the even spread, so it cannot be a neighbour's
    before = page.evaluate("() => window.__cvaeBench.painted")
    last = page.evaluate(BURST_JS, [slider["id"], values])
    page.wait_for_function(SETTLED_JS, arg=[before, 500], timeout=30_000)
    shown = page.evaluate(SHOWN_JS)
    painted = page.evaluate("() => window.__cvaeBench.painted") - before
    return {"slider": slider["id"], "sent": values[-1], "slider_value": last, "painted": painted, **shown}


def server_cpu(app: App, page, slider: dict, requests: Requests, seconds: float = 20.0) -> dict:
    """CPU-seconds per wall-second of the app: the page idle, then one visitor sliding (a move every 16 ms)."""
    out = {}
    page.wait_for_timeout(2000)
    c0, t0 = app.cpu_seconds(), time.perf_counter()
    page.wait_for_timeout(int(seconds * 1000))
    out["idle"] = (app.cpu_seconds() - c0) / (time.perf_counter() - t0)
    with requests.during("cpu sliding"):
        c0, t0 = app.cpu_seconds(), time.perf_counter()
        slid = page.evaluate(SLIDE_JS, [slider["id"], seconds, 16])
        out["sliding"] = (app.cpu_seconds() - c0) / (time.perf_counter() - t0)
    out.update(slid)
    return out


# -- the static page ---------------------------------------------------------------------------------------
def static_export() -> dict:
    help_text = subprocess.run([sys.executable, "-m", "vae_core", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120).stdout
    if "export-web" not in help_text:
        return {"skipped": "`python -m vae_core export-web` does not exist yet"}
    with tempfile.TemporaryDirectory(prefix="cvae-bench-site-") as tmp:
        out = Path(tmp) / "site"
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "vae_core", "export-web", "--checkpoint", "checkpoints/default",
                            "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            return {"skipped": f"export-web failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-500:]}"}
        sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*") if p.is_file()}
    return {"seconds": seconds, "total": sum(sizes.values()), "count": len(sizes),
            "biggest": sorted(sizes.items(), key=lambda kv: -kv[1])[:6], "said": r.stdout.strip()}


# -- checks in this process ------------------------------------------------------------------------------
def check_burst(result: dict) -> str:
    """The page's latent holds the last value at the slider's dim, and the face shown is that latent's."""
    import numpy as np
    from PIL import Image

    from vae_core.explorer import Explorer
    from vae_core.slider_layout import build_layout

    if result["z"] is None or not result["src"] or not result["src"].startswith("data:image/png;base64,"):
        return f"FAILED: the page showed no composed latent / painted face ({str(result['src'])[:60]!r})"
    explorer = Explorer.open(ROOT / "checkpoints" / "default")
    layout = build_layout(explorer)
    index = int(result["slider"].rsplit("_", 1)[1])
    dim = layout.raw[index].dim
    z = np.asarray(result["z"], np.float32)
    want = np.float32(result["sent"])
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(result["src"].split(",", 1)[1]))).convert("RGB"))
    face = explorer.decode(z)[0]
    if shown.shape != face.shape:
        return f"FAILED: the face shown is {shown.shape}, the decode {face.shape}"
    diff = int(np.abs(shown.astype(np.int16) - face.astype(np.int16)).max())
    value_ok = abs(float(z[dim]) - float(want)) <= 1e-6 and abs(result["slider_value"] - float(want)) <= 1e-6
    verdict = "ok" if value_ok and diff <= 2 else "FAILED"
    return (f"{verdict}: 40 input events on {result['slider']} (z[{dim}]) → {result['painted']} faces painted; "
            f"page latent z[{dim}] = {float(z[dim]):.4f} (last value sent {float(want):.2f}); face shown vs torch "
            f"decode of that latent: max difference {diff} levels (≤ 2 required)")


# -- output --------------------------------------------------------------------------------------------------
def summary(times: list[float]) -> tuple[str, int]:
    from bench.common import pct

    good = [t for t in times if t >= 0]
    lost = len(times) - len(good)
    if not good:
        return "no face painted", lost
    return f"{pct(good, 50):.0f} / {pct(good, 95):.0f} / {max(good):.0f} ms", lost


def breakdown(seen: list[str]) -> str:
    """" (2 edit-fidelity check …, 1 queue/data …)": how many of each kind of request."""
    kinds: dict[str, int] = {}
    for line in seen:
        what = line.split(": ", 1)[0]
        kinds[what] = kinds.get(what, 0) + 1
    return f" ({', '.join(f'{n} {k}' for k, n in kinds.items())})" if kinds else ""


def unexplained(seen: list[str]) -> int:
    """Requests that are neither the edit-fidelity check (its join and result stream) nor Gradio's probe."""
    joins = sum(line.startswith(EXPLAINED[0]) for line in seen)
    streams = sum(line.startswith("queue/data") for line in seen)
    return sum(not line.startswith(EXPLAINED) and not line.startswith("queue/data") for line in seen) \
        + max(0, streams - joins)


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load-worker":
        load_worker(sys.argv[2], int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moves", type=int, default=200, help="measured moves per kind of slider")
    p.add_argument("--load", type=int, default=20, help="gradio_client sessions calling /random_face in a loop")
    p.add_argument("--skip-load", action="store_true", help="skip the measurement under load")
    p.add_argument("--port", type=int, default=0, help="the app's port (0: a free one)")
    a = p.parse_args()

    from playwright.sync_api import sync_playwright

    from bench.common import machine

    started = time.perf_counter()
    print(f"machine: {machine()}")
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    print(f"command: {shlex.join([python, '-m', 'bench.page_latency', *sys.argv[1:]])}")

    def on_alarm(*_):
        raise TimeoutError(f"bench/page_latency.py gave up after {RUN_TIMEOUT_S} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(RUN_TIMEOUT_S)
    log = Path(tempfile.mkstemp(prefix="cvae-bench-app-", suffix=".log")[1])
    app: App | None = None
    load: Load | None = None
    requests = Requests()
    res: dict = {}
    try:
        app = start_app(a.port or free_port(), log)
        print(f"app: nice -n 19 python app.py (pid {app.proc.pid}) served its page in {app.started_s:.1f} s")
        requests.fidelity_fn = fidelity_fn_index(app.url)
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                # 2. first load, cold cache each time (the first right after the app started).
                loads = [first_load(browser, app.url) for _ in range(3)]
                res["loads"] = loads
                print("first load (fresh profile), navigation start → decoder ready: "
                      + ", ".join(f"{ld['nav_to_ready_ms']:.0f} ms (sync → ready {ld['sync_to_ready_ms']} ms)"
                                  for ld in loads))
                files = loads[0]["files"]
                print(f"bytes downloaded for in-page decoding: {mb(sum(b for b, _ in files.values()))} in "
                      f"{len(files)} files ({mb(sum(w for _, w in files.values()))} on the wire)")
                for name, (body, wire) in sorted(files.items(), key=lambda kv: -kv[1][0]):
                    print(f"  {body:>10,d} B  (on the wire {wire:,d} B)  {name}")

                # 1. slider round trips, the app idle.
                page, sliders = open_generate(browser, app.url, requests)
                print("sliders: " + "; ".join(f"{k}: {', '.join(s['id'] for s in v) or 'none'}"
                                              for k, v in sliders.items()))
                # no move lost: first, while every PCA and attribute offset is 0 (the raw slider's value is then
                # the latent's value at its dim).
                res["burst"] = burst(page, sliders["raw"][0])
                res["idle"] = run_moves(page, requests, sliders, a.moves, "idle", 0.0)
                for kind, times in res["idle"].items():
                    text, lost = summary(times)
                    print(f"idle: {kind} slider → face painted (n={len(times)}): p50/p95/max {text}, lost {lost}")

                # 3. the server's CPU per visitor.
                res["cpu"] = server_cpu(app, page, sliders["raw"][0], requests)
                cpu = res["cpu"]
                print(f"server CPU: idle page {cpu['idle']:.4f} CPU-s/s; sliding {cpu['sliding']:.4f} CPU-s/s "
                      f"({cpu['moves']} moves in 20 s, {cpu['painted']} faces painted)")

                # 1 again, under load.
                if not a.skip_load and a.load > 0:
                    load = Load(app.url, a.load)
                    load.wait_ready()
                    time.sleep(3)  # into steady state
                    res["load"] = run_moves(page, requests, sliders, a.moves, "load", 0.31)
                    res["load_counts"] = load.stop()
                    load = None
                    lc = res["load_counts"]
                    print(f"load: {a.load} sessions made {lc.get('calls', 0)} /random_face calls in "
                          f"{lc.get('seconds', 0):.0f} s ({lc.get('calls', 0) / max(lc.get('seconds', 1), 1e-9):.1f}/s), "
                          f"errors {lc.get('errors', 0)} {lc.get('error_kinds', {}) or ''}")
                    for kind, times in res["load"].items():
                        text, lost = summary(times)
                        print(f"under load: {kind} slider → face painted (n={len(times)}): p50/p95/max {text}, "
                              f"lost {lost}")
            finally:
                browser.close()
        res["requests"] = requests.seen
        for phase, seen in requests.seen.items():
            print(f"HTTP requests from the page, {phase}: {len(seen)}{breakdown(seen)}")
    finally:
        if load is not None:
            load.kill()
        if app is not None:
            app.stop()
        log.unlink(missing_ok=True)
        signal.alarm(0)

    # The checks and the static export, with the app stopped (no noise for the measurements above).
    res["burst_check"] = check_burst(res["burst"])
    print(f"no move lost: {res['burst_check']}")
    st = static_export()
    res["static"] = st
    if "skipped" in st:
        print(f"static page: skipped — {st['skipped']}")
    else:
        print(f"static page (export-web, {st['seconds']:.1f} s): {mb(st['total'])} in {st['count']} files; biggest: "
              + ", ".join(f"{n} {mb(s)}" for n, s in st["biggest"]))
    print()
    print(table(res, a))
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")
    stray = sum(unexplained(lines) for ph, lines in res.get("requests", {}).items() if "after" not in ph)
    if not res["burst_check"].startswith("ok") or stray:
        sys.exit("page_latency: a check failed (a move lost, or requests sent per move): see above")


def table(res: dict, a: argparse.Namespace) -> str:
    def during(tag: str) -> str:
        seen = [line for ph, lines in res.get("requests", {}).items() if ph.startswith(tag + " ") and "after" not in ph
                for line in lines]
        if tag not in ("idle", "load") or (tag == "load" and "load" not in res):
            return "—"
        return f"**{unexplained(seen)}** per move; {len(seen)} in all{breakdown(seen)}"

    rows = ["| measure | app idle | " + (f"{a.load} sessions on `/random_face`" if "load" in res else "under load: skipped")
            + " |", "|---|---|---|"]
    for kind in ("raw", "PCA", "attribute"):
        idle = res.get("idle", {}).get(kind)
        load = res.get("load", {}).get(kind)
        cell = lambda t: "—" if t is None else "{} (lost {})".format(*summary(t))  # noqa: E731
        rows.append(f"| {kind} slider → new face painted, p50 / p95 / max | {cell(idle)} | {cell(load)} |")
    rows.append(f"| HTTP requests the page sent during the moves | {during('idle')} | {during('load')} |")
    loads = res.get("loads", [])
    if loads:
        first = ", ".join(f"{ld['nav_to_ready_ms']:.0f}" for ld in loads)
        rows.append(f"| first load (cold cache): navigation → decoder ready | {first} ms "
                    f"(sync → ready {', '.join(str(ld['sync_to_ready_ms']) for ld in loads)} ms) | |")
        files = loads[0]["files"]
        parts = ", ".join(f"{Path(n).name} {mb(b)}" for n, (b, _) in sorted(files.items(), key=lambda kv: -kv[1][0])[:4])
        rows.append(f"| bytes downloaded for in-page decoding | {mb(sum(b for b, _ in files.values()))} in {len(files)} "
                    f"files, {mb(sum(w for _, w in files.values()))} on the wire ({parts}, …) | |")
    if "cpu" in res:
        c = res["cpu"]
        rows.append(f"| server CPU, one visitor sliding (move / 16 ms) vs idle page | {c['sliding']:.3f} vs "
                    f"{c['idle']:.3f} CPU-s per s | |")
    rows.append(f"| no move lost (40 input events back to back) | {res.get('burst_check', '—')} | |")
    st = res.get("static", {})
    rows.append("| static page (`export-web`) | " + (f"skipped: {st['skipped']}" if "skipped" in st else
                f"{mb(st['total'])}, {st['count']} files") + " | |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
