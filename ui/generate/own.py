"""The visitor's own directions in Generate: made from example faces (the Latent map's selection, the API), imported
from a file or saved in the checkpoint, each a slider.

They live in the session (``SessionState.own_directions``), never in the shared model: one visitor's directions are
invisible to every other. The page composes them like every other slider (ui/static/generate_page.js adds
strength · vector); the server learns their strengths from the page's slider mirror when it needs the face.
"""

from __future__ import annotations

import tempfile

import numpy as np

from vae_core import directions as dirs
from vae_core.slider_layout import N_OWN

from ..common.errors import UserInputError
from ..common.images import prune_old_files
from ..common.state import OwnDirection, SessionState, as_latent
from ..context import AppContext


def own_from(direction: dirs.CustomDirection, imported: bool = False) -> OwnDirection:
    if imported:  # its examples are not here to check it against
        made = (f", made from {direction.n_selected} faces against {direction.n_rest}" if direction.n_selected else "")
        return OwnDirection(name=direction.name, vector=as_latent(direction.vector), check=f"imported{made}")
    return OwnDirection(name=direction.name, vector=as_latent(direction.vector),
                        check=direction.check.sentence() if direction.check is not None else (
                            f"not checked: select at least {dirs.MIN_CHECK_FACES} faces (and leave as many out) "
                            "to see whether it works" if direction.n_selected else ""))


def with_direction(st: SessionState, own: OwnDirection) -> SessionState:
    """The session with ``own`` added (replacing one of the same name); refused when every slot is taken."""
    kept = [d for d in st.own_directions if d.name != own.name]
    if len(kept) >= N_OWN:
        raise UserInputError(f"Generate has {N_OWN} sliders for your directions and all are taken: clear them "
                             "(\"Clear my directions\") or reuse a name to replace one")
    return st.replace(own_directions=(*kept, own))


def make_direction(ctx: AppContext, st: SessionState, name, indices) -> tuple[SessionState, dirs.CustomDirection]:
    """A direction from faces of the checkpoint's map (indices into its embedding), added to the session."""
    explorer = ctx.explorer(st)
    mu = explorer.embedding().mu
    try:
        direction = dirs.direction_from_examples(mu, indices, name, explorer.model_id)
    except dirs.DirectionError as e:
        raise UserInputError(str(e)) from None
    return with_direction(st, own_from(direction)), direction


def import_directions(ctx: AppContext, st: SessionState, path) -> SessionState:
    """Directions from an uploaded file (checked by vae_core.directions.read_directions), added to the session."""
    if not path:
        raise UserInputError("choose a directions file (.json) exported from this app")
    explorer = ctx.explorer(st)
    try:
        with open(path, "rb") as f:  # no more than the largest file accepted (and one byte to tell)
            data = f.read(dirs.MAX_FILE_BYTES + 1)
        found = dirs.read_directions(data, explorer.model_id, explorer.latent_dim)
    except OSError:
        raise UserInputError("the uploaded file could not be read; upload it again") from None
    except dirs.DirectionError as e:
        raise UserInputError(str(e)) from None
    for d in found:
        st = with_direction(st, own_from(d, imported=True))
    return st


def export_directions(ctx: AppContext, st: SessionState) -> str:
    """The session's directions as a file to download (in the UI cache, a fresh name per export)."""
    if not st.own_directions:
        raise UserInputError("make a direction first (select faces on the Latent map)")
    explorer = ctx.explorer(st)
    items = [dirs.CustomDirection(name=d.name, model_id=explorer.model_id, vector=np.asarray(d.vector, np.float32))
             for d in st.own_directions]
    folder = ctx.settings.cache_dir / "directions"
    folder.mkdir(parents=True, exist_ok=True)
    prune_old_files(folder)  # earlier visitors' downloads: an hour is long enough to save one
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix=f"directions-{explorer.model_id}-", dir=folder,
                                     delete=False, encoding="utf-8") as f:
        f.write(dirs.dumps(items, explorer.model_id, explorer.latent_dim))
    return f.name


def saved_directions(explorer) -> tuple[OwnDirection, ...]:
    """The directions saved in the checkpoint folder (CLI ``direction``), offered to every new session."""
    return tuple(own_from(d, imported=True) for d in dirs.load_from_checkpoint(explorer.path, explorer.model_id,
                                                               explorer.latent_dim)[:N_OWN])


def own_vectors(st: SessionState) -> list[list[float]]:
    return [list(d.vector) for d in st.own_directions]


def add_own(z: np.ndarray, st: SessionState, strengths) -> np.ndarray:
    """z plus strength · vector of each of the session's directions (the page does the same)."""
    out = np.array(z, np.float32, copy=True)
    for d, s in zip(st.own_directions, list(strengths)[:len(st.own_directions)]):
        s = float(s) if isinstance(s, (int, float)) and np.isfinite(s) else 0.0
        if s:
            out += np.float32(s) * np.asarray(d.vector, np.float32)
    return out
