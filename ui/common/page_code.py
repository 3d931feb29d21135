"""Where the page's own code lives and how Python points the page at it.

Page JavaScript and CSS are real files (``ui/static/`` for the app's glue to Gradio's components,
``vae_core/web/static/`` for the modules the app shares with the static page), checked by ``node --check`` in
the tests. Python only names them: a component's ``js_on_load`` body is read from a file, and a Gradio event's
``js=`` is a one-line call into an ES module (:func:`call_js`), imported on first use. Both folders are Gradio
static paths (:func:`static_dirs`, registered by ``ui.app.build_app``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import vae_core.web

#: The app's page code (Gradio glue): one module per feature.
UI_STATIC = Path(__file__).resolve().parents[1] / "static"
#: The page modules shared with the static page (latent composition, latent strings, the decoder…).
SHARED_STATIC = Path(vae_core.web.__file__).resolve().parent / "static"


def static_dirs() -> list[Path]:
    return [UI_STATIC, SHARED_STATIC]


def file_url(path: Path) -> str:
    """URL of a file Gradio serves (its folder must be a static path). Relative, so it also works when the app
    is mounted under a sub-path; named relative to the server's working folder where it lies inside it, so the
    page does not reveal where the app is installed."""
    p = Path(path).resolve()
    try:
        shown = p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # outside the working folder (tests, an operator's choice)
        shown = str(p)
    return f"gradio_api/file={shown}"


def ui_url(name: str) -> str:
    return file_url(UI_STATIC / name)


def shared_url(name: str) -> str:
    return file_url(SHARED_STATIC / name)


@lru_cache(maxsize=None)
def read_ui(name: str) -> str:
    """The text of ``ui/static/<name>`` (a component's ``js_on_load`` body, its CSS or HTML template)."""
    return (UI_STATIC / name).read_text(encoding="utf-8")


def call_js(module: str, function: str, *args: object, inputs: str = "") -> str:
    """A Gradio ``js=`` that calls ``function`` of ``ui/static/<module>`` with the event's inputs (named in
    ``inputs``, e.g. ``"st, text"``) followed by ``args`` (JSON literals). The module is imported on first use,
    relative to the page (``document.baseURI``: right under a Space's sub-path too); what the function returns
    is what the event returns (the values of its outputs, or of its inputs for a Python function)."""
    params = ", ".join(p for p in (inputs,) if p)
    literal = ", ".join(json.dumps(a) for a in args)
    call_args = ", ".join(p for p in (inputs, literal) if p)
    url = json.dumps(ui_url(module))
    return (f"async ({params}) => (await import(new URL({url}, document.baseURI).href))"
            f".{function}({call_args})")
