"""The one place where failures become UI messages.

Every event handler is wrapped in :func:`user_errors`: a :class:`~vae_core.errors.VaeCoreError` (bad
upload, corrupt checkpoint, malformed latent string, busy trainer…) becomes a ``gr.Error`` with the
core's message, which says what went wrong and how to fix it; anything else is logged with its stack
trace on the server and reported as a short generic message, so the browser never sees a traceback
and the app keeps serving.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from vae_core.errors import VaeCoreError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class UserInputError(VaeCoreError):
    """A UI-level input problem (empty upload, path outside the allowed roots…)."""


def _translate(fn_name: str, e: BaseException) -> BaseException:
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, VaeCoreError):
        # gr.Error renders HTML: escape, or "cvae1:<model id>:<data>" would lose its placeholders.
        return gr.Error(html.escape(str(e), quote=False), print_exception=False)
    log.exception("unexpected error in %s", fn_name)
    return gr.Error(f"Something went wrong ({type(e).__name__}); the error was logged on the server. "
                    "Try again, or reload the page.", print_exception=False)


def user_errors(fn: F) -> F:
    """Wrap an event handler (function or generator) so it only ever fails with a ``gr.Error``."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - this is the boundary
                raise _translate(fn.__name__, e) from None
        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - this is the boundary
            raise _translate(fn.__name__, e) from None
    return wrapper  # type: ignore[return-value]
