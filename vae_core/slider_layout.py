"""What the explorer's sliders mean for one checkpoint, and how their values become a latent.

Shared by the Gradio app's Generate tab and the static page (:mod:`vae_core.web`): both compose the same latent
from the same slider values (the page in JavaScript, checked against :meth:`SliderLayout.compose` by the Node
tests). The explorer has a fixed number of slider *slots* (Gradio components are created once); a
:class:`SliderLayout` says what each slot controls for the current checkpoint:

- ``raw`` slots: single latent dims, most informative first (mean KL over the dataset, nats).
  Collapsed dims (inactive units, KL ≈ 0) are flagged and hidden unless asked for. A latent with more
  dims than slots keeps the rest at the base latent's values.
- ``pca`` slots: GANSpace-style moves along the principal axes of the dataset's μ cloud, in standard
  deviations of the data along each axis.
- ``attr`` slots: mean-difference directions of a labelled attribute (hair colour, glasses…): pick a
  target value, then a strength (1 ≈ "the average gap between faces with and without that value").

The latent shown is always ``compose(base, sliders)``: raw slots *set* their dim (only where moved
away from the base value, so a pasted latent survives the sliders' range and rounding exactly), and
PCA and attribute slots *add* offsets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

N_RAW = 32
N_PCA = 10
N_ATTR = 6
#: Slots for directions a visitor makes (vae_core.directions); the app's sliders only, not part of a layout.
N_OWN = 4
RAW_RANGE = 4.0
PCA_RANGE = 3.0
ATTR_RANGE = 2.0
STEP = 0.01

#: Attributes offered first, when the dataset labels them (the Cartoon Set's most visible ones).
PREFERRED_ATTRIBUTES = ("hair_color", "glasses", "facial_hair", "face_shape", "face_color", "eye_color",
                        "hair", "chin_length", "eyebrow_shape", "eyeglasses", "smiling", "young")


@dataclass(frozen=True)
class RawSlot:
    dim: int
    kl: float
    active: bool

    @property
    def label(self) -> str:
        flag = " · collapsed" if not self.active else ""
        return f"z[{self.dim}] · KL {self.kl:.2f} nats{flag}"


@dataclass(frozen=True)
class AttrSlot:
    name: str
    values: tuple[int, ...]
    counts: tuple[int, ...]
    #: readable name per value (the data set's, a measured colour, or "value k"), aligned with ``values``
    names: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")

    def value_name(self, value: int) -> str:
        return dict(zip(self.values, self.names)).get(int(value), f"value {int(value)}")

    def choices(self) -> list[tuple[str, int]]:
        return [(f"{self.value_name(v)} ({c} faces)", v) for v, c in zip(self.values, self.counts)]


@dataclass(frozen=True, eq=False)
class SliderLayout:
    """Per checkpoint: what the slots control. ``pca_*``: [k, Z] unit components, [k] stds, [k] variance
    ratios; ``attr_dirs[name]``: [V, Z] directions aligned with ``AttrSlot.values``; ``mean`` [Z] the
    dataset's mean latent (the "average face")."""

    model_id: str
    latent_dim: int
    raw: tuple[RawSlot, ...]
    mean: np.ndarray
    pca_components: np.ndarray
    pca_stds: np.ndarray
    pca_ratio: np.ndarray
    attrs: tuple[AttrSlot, ...] = ()
    attr_dirs: dict[str, np.ndarray] = field(default_factory=dict)
    #: {attribute: {value: readable name}} for every labelled attribute (not only those with a slider)
    value_names: dict[str, dict[int, str]] = field(default_factory=dict)

    def value_name(self, attribute: str, value: int) -> str:
        return self.value_names.get(attribute, {}).get(int(value), f"value {int(value)}")

    @property
    def n_pca(self) -> int:
        return len(self.pca_stds)

    # -- values <-> latent ------------------------------------------------------------------------------
    def raw_values(self, z: np.ndarray) -> list[float]:
        """Slider positions showing latent z: its raw dims, clipped to the range and rounded to the step."""
        vals = [slider_value(float(z[s.dim]), RAW_RANGE) for s in self.raw]
        return vals + [0.0] * (N_RAW - len(vals))

    def compose(self, base: np.ndarray, raw: Sequence[float], pca: Sequence[float],
                attr_values: Sequence[object], attr_strengths: Sequence[float]) -> np.ndarray:
        """The latent [Z] the sliders show on top of ``base`` [Z]."""
        z = np.array(base, dtype=np.float32, copy=True).reshape(-1)
        if z.shape != (self.latent_dim,):
            raise ValueError(f"base latent has {z.size} dims, the model {self.latent_dim}")
        for slot, v in zip(self.raw, raw):
            v = _finite(v)
            if abs(v - slider_value(float(z[slot.dim]), RAW_RANGE)) > STEP / 4:
                z[slot.dim] = v
        coeffs = np.array([_finite(c) for c in list(pca)[: self.n_pca]], np.float32)
        if coeffs.size and np.any(coeffs):
            z += (coeffs * self.pca_stds[: coeffs.size]) @ self.pca_components[: coeffs.size]
        for slot, value, strength in zip(self.attrs, attr_values, attr_strengths):
            s = _finite(strength)
            if s == 0.0 or value is None or value == "":
                continue
            try:
                i = slot.values.index(int(value))  # type: ignore[arg-type]
            except (ValueError, TypeError):
                continue
            z += s * self.attr_dirs[slot.name][i]
        return z.astype(np.float32)


def _finite(v: object) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0


def slider_value(v: float, limit: float) -> float:
    """A slider position showing v: clipped to the slider's range and rounded to its step (the page does the same)."""
    return round(min(limit, max(-limit, v)), 2)


def build_layout(explorer, kind: str | None = None) -> SliderLayout:
    """The slider layout of an :class:`~vae_core.explorer.Explorer` (uses its cached dataset embedding); the
    attribute slots move along its directions of ``kind`` (:data:`vae_core.latent.DIRECTION_KINDS`; None:
    the explorer's default)."""
    kl = np.asarray(explorer.kl_per_dim, np.float64)
    active = np.asarray(explorer.active, bool)
    order = np.asarray(explorer.dims_by_kl)[:N_RAW]
    raw = tuple(RawSlot(dim=int(d), kl=float(kl[d]), active=bool(active[d])) for d in order)
    pca = explorer.pca
    dirs = explorer.attribute_directions() if kind is None else explorer.attribute_directions(kind)
    names = [n for n in PREFERRED_ATTRIBUTES if n in dirs] + sorted(
        (n for n in dirs if n not in PREFERRED_ATTRIBUTES), key=lambda n: (len(dirs[n].values), n))
    swatches = explorer.value_swatches()
    value_names = {n: {sw.value: sw.name for sw in row} for n, row in swatches.items()}
    attrs = tuple(AttrSlot(name=n, values=tuple(int(v) for v in dirs[n].values),
                           counts=tuple(int(c) for c in dirs[n].counts),
                           names=tuple(value_names[n].get(int(v), f"value {int(v)}") for v in dirs[n].values))
                  for n in names[:N_ATTR])
    return SliderLayout(
        model_id=explorer.model_id, latent_dim=explorer.latent_dim, raw=raw,
        mean=np.asarray(pca.mean, np.float32),
        pca_components=np.asarray(pca.components[:N_PCA], np.float32),
        pca_stds=np.asarray(pca.stds[:N_PCA], np.float32),
        pca_ratio=np.asarray(pca.explained_variance_ratio[:N_PCA], np.float32),
        attrs=attrs, attr_dirs={a.name: np.asarray(dirs[a.name].directions, np.float32) for a in attrs},
        value_names=value_names,
    )
