"""Driving the running app from outside: a free port, Debian's Chromium and its flags, the slider round trip in
the page, the wait for the first face.

Shared by the benches, the UI tests (``tests/ui_harness.py`` re-exports these names) and the screenshot script:
the one home of ``free_port``. Light on purpose (standard library only): importing it starts no torch.
"""

from __future__ import annotations

import socket

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM = "/usr/bin/chromium"

#: In the page: set slider ``#<id>`` to a value, fire ``input``, and return the ms until the new face is painted
#: (-1 if none came within 5 s). The page that decodes itself paints into a canvas and says so ("cvae:painted");
#: where the server decodes, the new <img> is the signal. Either way the time includes the frame that shows it,
#: and the call returns once the <img> holds the new face too (untimed), so callers can read it.
#: Used by the browser tests and the benches.
SLIDER_ROUND_TRIP_JS = """async ([slider, value]) => {
  const range = document.querySelector(`#${slider} input[type=range]`);
  const root = document.querySelector('#gen_image');
  const old = root.querySelector('img') ? root.querySelector('img').src : null;
  const changed = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      const im = root.querySelector('img');
      if (im && im.src !== old) { obs.disconnect(); resolve(im); }
    });
    obs.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    setTimeout(() => { obs.disconnect(); resolve(null); }, 5000);
  });
  const t0 = performance.now();
  range.value = value;
  range.dispatchEvent(new Event('input', {bubbles: true}));
  const first = await Promise.race([changed, new Promise(r => document.addEventListener('cvae:painted', () => r('painted'), {once: true}))]);
  if (first === null) return -1;
  if (first !== 'painted') await first.decode().catch(() => {});
  await new Promise(r => requestAnimationFrame(() => r()));  // the frame that shows it
  const elapsed = performance.now() - t0;
  // the <img> follows the canvas (untimed; at most 1 s: a move can round to the very same pixels)
  const im = await Promise.race([changed, new Promise(r => setTimeout(() => r(null), 1000))]);
  if (im) await im.decode().catch(() => {});
  return elapsed;
}"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_first_face(page, timeout: float = 30_000) -> None:
    """Until the Generate tab's first face is in the page. Attached, not "visible": once the page decodes a face
    itself it shows it in a canvas over the server's <img>, which is then hidden."""
    page.wait_for_selector("#gen_image img", state="attached", timeout=timeout)
