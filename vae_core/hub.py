"""Where a checkpoint lives: a local folder, or a Hugging Face Hub repo id fetched into the Hub cache.

Why one resolver: :meth:`ConvVAE.from_pretrained`, :meth:`Explorer.open` and the CLI accept the same names
and must fail the same way. A name is a folder if one exists there; otherwise, if it reads as ``owner/name``,
it is a Hub repo fetched with ``huggingface_hub.snapshot_download`` (which honours ``HF_HUB_OFFLINE``,
``HF_HUB_CACHE`` and tokens as every Hub library does). Only the files a checkpoint is made of are fetched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import CheckpointError
from .version import __version__

#: What a checkpoint folder holds (see :mod:`.checkpoint`); a Hub repo may hold more (a README, a Space).
CHECKPOINT_FILES = ["config.json", "model.safetensors", "projections/*", "analysis/*"]
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_repo_id(text: str) -> bool:
    """``owner/name`` as the Hub spells repo ids (no leading ``.``/``/``, exactly one slash)."""
    return bool(_REPO_ID.match(text)) and ".." not in text


def resolve_checkpoint(path_or_repo_id: str | os.PathLike[str], revision: str | None = None) -> Path:
    """The local folder of a checkpoint: ``path_or_repo_id`` itself if it names a local path, else the Hub
    cache's snapshot of that repo (downloaded if needed and allowed).

    A name is local if it exists, does not read as ``owner/name``, or its first part is a local folder
    (``runs/x`` while ``runs/`` exists): a mistyped run name gets the loader's "no checkpoint at" message, not
    a network request. Hub failures raise :class:`CheckpointError` saying what to do.
    """
    path = Path(path_or_repo_id).expanduser()
    text = str(path_or_repo_id)
    if path.exists() or not is_repo_id(text) or Path(text.split("/", 1)[0]).is_dir():
        return path
    from huggingface_hub import snapshot_download  # imported here: it costs a second, local loads skip it
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(text, revision=revision, allow_patterns=CHECKPOINT_FILES,
                                   library_name="cartoon-vae", library_version=__version__)
    except LocalEntryNotFoundError:
        raise CheckpointError(f"no checkpoint folder at {text}, and the Hub repo {text!r} is not in the local "
                              "Hub cache while downloads are off (HF_HUB_OFFLINE=1 or no network)") from None
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise CheckpointError(f"no checkpoint folder at {text}, and the Hub repo {text!r} could not be fetched: "
                              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    return Path(folder)
