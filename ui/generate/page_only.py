"""Components for the page's own bookkeeping, left out of the API.

In a module of its own because Gradio writes a ``.pyi`` stub of the whole module beside any file that
subclasses a component (ignored by git: ``*.pyi``); here that stub stays this small.
"""

from __future__ import annotations

import gradio as gr


class PageOnlyTextbox(gr.Textbox):
    """A textbox for the page's own bookkeeping (the packed slider values): gradio_client leaves it out
    of the values an endpoint returns, so the API stays "sliders and face"."""

    is_template = True  # rendered by the frontend as a plain textbox

    @property
    def skip_api(self) -> bool:
        return True
