"""Small pieces of page-side JavaScript shared by the tabs' page-only events."""

from __future__ import annotations


def click_button_js(elem_id: str) -> str:
    """A JS statement that clicks the Gradio button ``elem_id`` (its element, or the ``<button>`` inside it)."""
    return (f"const el = document.getElementById({elem_id!r});"
            " const button = el && (el.tagName === 'BUTTON' ? el : el.querySelector('button'));"
            " if (button) button.click();")
