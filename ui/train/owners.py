"""Who owns which training run: a visitor's random token, and a book of run → owner kept beside the runs.

Why a token and not Gradio's session: a session ends when the page reloads, a run does not. The server
issues a random 128-bit token with the first run a visitor starts; the page keeps it (localStorage, see
``ui/static/train_token.js``) and API clients get it in ``/train_start``'s result. Only a hash of the token
is stored (``<runs>/.owners.json``), so the file does not hand out the right to cancel or resume, and
tokens are compared by their hashes in constant time (:func:`hmac.compare_digest`). A guessed token is one of
2**128; a malformed one is refused with a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from pathlib import Path
from typing import Any

from vae_core.atomic import atomic_write_bytes

from ..common.errors import UserInputError

log = logging.getLogger(__name__)

OWNERS_FILE = ".owners.json"
TOKEN_BYTES = 16
_TOKEN = re.compile(r"[0-9a-f]{32}")


def new_token() -> str:
    """A fresh visitor token: 128 random bits as 32 lowercase hex characters."""
    return secrets.token_hex(TOKEN_BYTES)


def check_token(value: Any) -> str:
    """A well-formed token, ``""`` for none (a visitor who never trained); UserInputError otherwise."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserInputError("the training token must be text: the token /train_start returned, or empty")
    value = value.strip().lower()
    if value and not _TOKEN.fullmatch(value):
        raise UserInputError("the training token is not one this app issues (32 hex characters, as /train_start "
                             "returned it); leave it empty if you have not started a run")
    return value


def owner_id(token: str) -> str:
    """What is stored for a token: its SHA-256 (the token itself never reaches the disk or the page)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def same_owner(a: str | None, b: str | None) -> bool:
    """Two owner ids are the same owner (constant time; None owns nothing)."""
    return bool(a) and bool(b) and hmac.compare_digest(a, b)


class OwnerBook:
    """Run folder name → owner id, persisted atomically in ``runs_dir/.owners.json`` (thread-safe)."""

    def __init__(self, runs_dir: Path) -> None:
        self.path = Path(runs_dir) / OWNERS_FILE
        self._lock = threading.Lock()
        self._owners: dict[str, str] = self._read()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable %s (%s): its runs have no owner now", self.path, e)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def _write(self) -> None:
        atomic_write_bytes(self.path, json.dumps(self._owners, indent=1, sort_keys=True).encode("utf-8"))

    def claim(self, run: str, owner: str) -> None:
        with self._lock:
            self._owners[run] = owner
            self._write()

    def forget(self, run: str) -> None:
        with self._lock:
            if self._owners.pop(run, None) is not None:
                self._write()

    def owner_of(self, run: str) -> str | None:
        with self._lock:
            return self._owners.get(run)

    def owns(self, owner: str | None, run: str) -> bool:
        return same_owner(owner, self.owner_of(run))

    def runs(self) -> dict[str, str]:
        """A copy of the whole book."""
        with self._lock:
            return dict(self._owners)
