"""What the page needs to decode faces itself, per checkpoint: its layout document and decoder file, served from
the UI cache, and where onnxruntime-web is.

Why copies in the UI cache, not links into the checkpoint folder: the cache is already a Gradio static path, and
serving checkpoint folders (the Train tab's runs among them) would let anyone who guesses a path download
another visitor's run. Files are named by the model id and the weights' fingerprint, so a page never mixes a
layout with another model's decoder, and a new checkpoint gets new URLs (no stale browser cache).

Everything here is computed once per checkpoint (``ExplorerRegistry.derived``) and is read-only afterwards.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vae_core.atomic import atomic_write_bytes, temp_path
from vae_core.errors import VaeCoreError
from vae_core.web import page_layout as page_layout_doc

from ..common.page_code import file_url, shared_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageAssets:
    """URLs the page fetches (relative to the page), or why the page must leave decoding to the server."""

    layout_url: str | None
    decoder_url: str | None
    #: why the decoder cannot run in the page ("" when it can, as far as the server knows)
    problem: str = ""


def web_dir(cache_dir: Path, explorer) -> Path:
    return Path(cache_dir) / "web" / f"{explorer.model_id}-{explorer.checkpoint.fingerprint[:16]}"


def build_page_assets(cache_dir: Path, explorer, layout, kind: str) -> PageAssets:
    """Write (once) the layout document (one per kind of attribute direction) and a copy of the decoder into the UI
    cache; never raises (the page falls back to server decoding and says why)."""
    folder = web_dir(cache_dir, explorer)
    # named by the document's format version too: a cache written by an older app is never served to a newer page
    layout_file = folder / f"layout-{kind}-v{page_layout_doc.VERSION}.json"
    try:
        if not layout_file.is_file():
            doc = page_layout_doc.page_layout(layout, None, resolution=explorer.resolution,
                                              synthetic=explorer.is_synthetic)
            atomic_write_bytes(layout_file, page_layout_doc.dumps(doc).encode())
    except (OSError, ValueError) as e:
        log.warning("page layout for %s not written: %s", explorer.path, e)
        return PageAssets(None, None, f"the page layout could not be written ({e})")
    try:
        decoder = decoder_copy(folder, explorer)
    except (VaeCoreError, OSError) as e:
        log.warning("no in-page decoder for %s: %s", explorer.path, e)
        return PageAssets(file_url(layout_file), None, f"this checkpoint has no usable decoder file ({e})")
    return PageAssets(file_url(layout_file), file_url(decoder))


def decoder_copy(folder: Path, explorer) -> Path:
    """The checkpoint's ONNX decoder (exported now if it has none; ``ensure_decoder`` checks the file either way),
    copied into ``folder``."""
    from vae_core.web.decoder_export import ensure_decoder

    target = folder / "decoder.onnx"
    if target.is_file():
        return target
    source = ensure_decoder(explorer.path)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def serve_folder(folder: Path) -> None:
    """Let Gradio serve ``folder`` (process-wide static path)."""
    import gradio as gr

    gr.set_static_paths([folder])


class RuntimeLocator:
    """Where onnxruntime-web is, found once; on a Space the first start downloads it in the background
    (:meth:`fetch_in_background`) while the page decodes on the server. A folder is handed to ``serve`` (made a
    static path) the moment it is found, before any page is told its URL, however it was found."""

    def __init__(self, serve: Callable[[Path], None] = serve_folder) -> None:
        self._lock = threading.Lock()
        self._serve = serve
        self._folder: Path | None = None
        self._problem = "onnxruntime-web is not installed here (`python -m vae_core fetch-web-runtime`)"

    def _adopt(self, folder: Path) -> None:
        """Serve ``folder`` and from then on name it (called with the lock held)."""
        self._serve(folder)
        self._folder = folder

    def find(self) -> Path | None:
        from vae_core.web import ort_runtime

        with self._lock:
            if self._folder is None:
                try:
                    folder = ort_runtime.find_runtime()
                except VaeCoreError as e:
                    self._problem = str(e)
                else:
                    if folder is not None:
                        self._adopt(folder)
            return self._folder

    def fetch_in_background(self) -> None:
        """Download and check the runtime unless it is here already."""
        if self.find() is not None:
            return

        def fetch():
            from vae_core.web import ort_runtime

            try:
                folder = ort_runtime.ensure_runtime()
            except VaeCoreError as e:
                with self._lock:
                    self._problem = f"onnxruntime-web could not be fetched ({e})"
                log.warning("%s; faces are decoded on the server", self._problem)
                return
            with self._lock:
                if self._folder is None:
                    self._adopt(folder)
            log.info("onnxruntime-web ready in %s", folder)

        threading.Thread(target=fetch, name="fetch-web-runtime", daemon=True).start()

    @property
    def problem(self) -> str:
        return "" if self.find() is not None else self._problem

    def url(self) -> str | None:
        folder = self.find()
        return None if folder is None else file_url(folder) + "/"


def shared_modules_url() -> str:
    """The folder URL of the shared page modules (vae_core/web/static), ending in a slash."""
    return shared_url("").rstrip("/") + "/"
