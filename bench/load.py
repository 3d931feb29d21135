"""Load test of the running app: many concurrent sessions, no errors, bounded latency, stable memory.

    python -m bench.load [--clients 20] [--calls 50] [--rounds 4] [--checkpoint checkpoints/default]

Starts ``python app.py`` (the shipped default checkpoint unless ``--checkpoint``) on a free port and
runs ``--rounds`` rounds. In each round ``--clients`` fresh gradio_client sessions start together; each
makes ``--calls`` slider decodes on ``/generate`` (random latent sliders) and one upload to
``/reconstruct``. Prints per round: requests, errors (must be 0), p50/p95 latency per endpoint,
throughput, and the server's resident memory (VmRSS of the app process) after the round; then the
memory growth between the first and the last round (stable memory: growth near 0 once warm).
Exits with status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.common import machine, pct, run_concurrently
from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_app(port: int, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str, float]:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", **env_extra}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain: a full pipe would block it
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - t0 < 180:
        if proc.poll() is not None:
            sys.exit(f"app.py exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("app.py did not serve its page within 180 s")


def upload_file(folder: Path) -> Path:
    """A face-sized RGBA PNG to upload (a real Cartoon Set sample when ../shared has one)."""
    sample = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"
    found = sorted(sample.glob("*.png"))[:1] if sample.is_dir() else []
    if found:
        return found[0]
    from PIL import Image

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (500, 500, 4), dtype=np.uint8), "RGBA")
    path = folder / "face.png"
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def one_round(url: str, clients: int, calls: int, upload: Path, seed: int) -> dict:
    from gradio_client import Client, handle_file

    from vae_core.slider_layout import N_ATTR, N_PCA, N_RAW

    lat: dict[str, list[float]] = {"generate": [], "reconstruct": []}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def timed(endpoint: str, fn) -> None:
        t = time.perf_counter()
        try:
            fn()
            ok = None
        except Exception as e:  # noqa: BLE001 - counted and reported
            ok = f"{endpoint}: {type(e).__name__}: {e}"[:300]
        with lock:
            lat[endpoint].append(1000 * (time.perf_counter() - t))
            if ok is not None:
                errors.append(ok)

    def check_face(out) -> None:
        if "data:image/png;base64," not in out:
            raise RuntimeError(f"no face in the answer: {str(out)[:100]}")

    def session(k: int) -> None:
        rng = np.random.default_rng([seed, k])
        try:
            client = Client(url, verbose=False)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"connect: {type(e).__name__}: {e}"[:300])
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # another session could not connect (counted); this one still works
        for i in range(calls):
            raw = np.clip(rng.normal(size=N_RAW), -3.5, 3.5)  # the sliders span ±4
            args = [*(float(v) for v in raw), *([0.0] * N_PCA), *([None] * N_ATTR),
                    *([0.0] * N_ATTR)]
            timed("generate", lambda: check_face(client.predict(*args, api_name="/generate")))
            if i == calls // 2:
                timed("reconstruct", lambda: client.predict(handle_file(str(upload)), api_name="/reconstruct"))

    wall = run_concurrently(session, clients)
    return {"lat": lat, "errors": errors, "wall": wall}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--calls", type=int, default=50, help="/generate decodes per client and round")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--checkpoint", default="", help="checkpoint directory (default: the app's, checkpoints/default)")
    a = p.parse_args()

    from ui.common.settings import AppSettings

    env_extra = {"CVAE_CHECKPOINT": str(Path(a.checkpoint).resolve())} if a.checkpoint else {}
    s = AppSettings.from_env({**os.environ, **env_extra})
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"app settings: checkpoint {s.default_checkpoint}, queue max_size {s.queue_size}, "
          f"{s.concurrency} workers per event, upload limit {s.max_file_size}")
    with tempfile.TemporaryDirectory() as tmp:
        upload = upload_file(Path(tmp))
        proc, url, cold = start_app(free_port(), env_extra)
        failed = 0
        try:
            base = rss_mb(proc.pid)
            print(f"app started in {cold:.1f} s; server RSS {base:.0f} MB")
            rss = []
            for r in range(a.rounds):
                res = one_round(url, a.clients, a.calls, upload, seed=r)
                rss.append(rss_mb(proc.pid))
                g, u = res["lat"]["generate"], res["lat"]["reconstruct"]
                n = len(g) + len(u)
                failed += len(res["errors"])
                print(f"round {r + 1}: {a.clients} sessions, {n} requests in {res['wall']:.1f} s "
                      f"({n / res['wall']:.0f}/s), errors {len(res['errors'])}; "
                      f"/generate p50 {pct(g, 50):.0f} ms p95 {pct(g, 95):.0f} ms; "
                      f"/reconstruct p50 {pct(u, 50):.0f} ms p95 {pct(u, 95):.0f} ms; server RSS {rss[-1]:.0f} MB")
                for e in res["errors"][:3]:
                    print(f"  error: {e}")
            alive = proc.poll() is None
            print(f"summary: errors {failed}; server RSS {base:.0f} MB at start → {rss[0]:.0f} MB after round 1 → "
                  f"{rss[-1]:.0f} MB after round {a.rounds} (growth after warm-up {rss[-1] - rss[0]:+.0f} MB); "
                  f"server {'still serving' if alive else 'DIED'}")
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 1 if failed or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
