"""The Train tab's Cartoon Set download: one at a time, in a background thread, with its progress.

Why in the app: a fresh clone has no ``data/``, and a visitor who picks "Cartoon Set" should not have to find
the download command in the docs. The download itself is :func:`vae_core.data.download_cartoonset` (resumed,
verified, extracted whole or not at all) into the first data root, so the run that follows may read it. A
public Space does not download (``CVAE_DOWNLOAD``): the archive is hundreds of MB of a shared disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from vae_core.data.download import CARTOONSET_ARCHIVES
from vae_core.errors import VaeCoreError

from ..common.errors import UserInputError
from ..common.settings import AppSettings, display_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadState:
    name: str = ""
    done_bytes: int = 0
    total_bytes: int | None = None
    running: bool = False
    folder: str = ""  # set when complete: the name to type in the folder box
    error: str = ""
    started: float = 0.0

    def describe(self) -> str:
        """One line for the Train tab."""
        if not self.name:
            return ""
        if self.error:
            return f"Download of {self.name} failed: {self.error}"
        if self.folder:
            return f"✓ {self.name} is ready: train on the folder `{self.folder}`."
        mb = self.done_bytes / (1 << 20)
        if self.total_bytes:
            pct = 100.0 * self.done_bytes / self.total_bytes
            return f"Downloading {self.name}: {mb:,.0f} of {self.total_bytes / (1 << 20):,.0f} MB ({pct:.0f}%)"
        return f"Downloading {self.name}: {mb:,.0f} MB" + (" (then verifying and extracting)" if mb else "")


class CartoonsetDownload:
    """At most one download per app; every session can watch it (:meth:`state`)."""

    def __init__(self, settings: AppSettings,
                 fetch: Callable[..., Path] | None = None, url: str | None = None) -> None:
        self.settings = settings
        self._fetch = fetch
        self._url = url  # tests and mirrors
        self._lock = threading.Lock()
        self._state = DownloadState()
        self.version = 0

    def state(self) -> DownloadState:
        with self._lock:
            return self._state

    def _set(self, **kw) -> None:
        with self._lock:
            self._state = replace(self._state, **kw)
            self.version += 1

    def start(self, name: str) -> DownloadState:
        """Start downloading ``name`` (UserInputError when not allowed here or already downloading)."""
        if not self.settings.train.allow_download:
            from .form import download_command

            raise UserInputError("this server does not download datasets (CVAE_DOWNLOAD=off). On your own "
                                 f"machine: `{download_command(name if name in CARTOONSET_ARCHIVES else 'cartoonset10k', self.settings)}`")
        if name not in CARTOONSET_ARCHIVES:
            raise UserInputError(f"choose one of {', '.join(CARTOONSET_ARCHIVES)}")
        with self._lock:
            if self._state.running:
                raise UserInputError(f"{self._state.name} is already downloading; its progress is shown below")
            self._state = DownloadState(name=name, running=True, started=time.time())
            self.version += 1
        threading.Thread(target=self._run, args=(name,), daemon=True, name="cvae-download").start()
        return self.state()

    def _run(self, name: str) -> None:
        from vae_core.data import download_cartoonset

        fetch = self._fetch or download_cartoonset
        dest = self.settings.download_dir
        try:
            path = fetch(name, dest, url=self._url, progress=lambda done, total: self._set(done_bytes=done,
                                                                                          total_bytes=total))
        except VaeCoreError as e:
            msg = str(e).replace(str(dest), display_path(dest))
            self._set(running=False, error=f"{msg}. Without internet on this server, run `python -m vae_core download "
                                           f"--name {name}` where there is, and copy the folder into "
                                           f"{display_path(dest)}")
            return
        except OSError as e:  # a full disk, a read-only data folder
            self._set(running=False, error=f"the server could not write the dataset ({e.strerror or e}); nothing "
                                           "half-extracted is left (the download extracts into a temporary folder)")
            return
        except Exception as e:  # noqa: BLE001 - a thread's failure must reach the page, not vanish
            log.exception("the Cartoon Set download failed")
            self._set(running=False, error=f"unexpected {type(e).__name__}; see the server log")
            return
        self._set(running=False, folder=Path(path).name)
