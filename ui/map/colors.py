"""What the latent map can be coloured by, named the way people read it, and each choice's value per face.

Why more than the labels: a map of a model trained on faces with three labels barely clusters by them (on the
shipped checkpoint 56 % of a face's neighbours share its "eyeglasses" value, 50 % by chance), so colouring by a
label shows noise. The code itself has structure to show: where faces lie along the dataset's principal axes,
how much one dim carries for each face (its KL), which faces the model reconstructs worst, and where faces lie
along a direction the visitor made. Those are continuous values: the map draws them with a colour scale.

A choice's *value* is what the dropdown sends (an attribute's own name, ``pc:1``, ``kl:17``, ``recon``,
``own:<name>``); its *label* is what a person reads, and for an attribute it is the same title Generate gives
it (:attr:`vae_core.slider_layout.AttrSlot.title`): one name per attribute everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

NO_COLOR = "none"
RECON = "recon"
#: How many principal axes and KL dims are offered (the top ones).
N_PC = 5
N_KL = 5

Kind = Literal["none", "category", "continuous"]


@dataclass(frozen=True)
class ColorChoice:
    """One entry of the map's "Colour by" dropdown."""

    value: str
    label: str
    kind: Kind

    @property
    def option(self) -> tuple[str, str]:
        """(label, value) as a ``gr.Dropdown`` choice."""
        return self.label, self.value


@dataclass(frozen=True)
class Continuous:
    """A continuous colouring: one value per map face [N] and how to name it (colour bar title, hover line)."""

    values: np.ndarray
    title: str
    #: a line under the map saying what the colours show and how they were measured
    note: str
    #: printf-style format of a value in the hover text (plotly's d3-format)
    fmt: str = ".2f"


def attribute_title(name: str) -> str:
    """An attribute as people read it: the words Generate's attribute sliders use."""
    return name.replace("_", " ")


def pc_value(j: int) -> str:
    return f"pc:{j + 1}"


def kl_value(dim: int) -> str:
    return f"kl:{dim}"


def own_value(name: str) -> str:
    return f"own:{name}"


def choices(attributes: Sequence[str], pca_ratio: Sequence[float], dims_by_kl: Sequence[int],
            own_names: Sequence[str], recon: bool = True) -> list[ColorChoice]:
    """Every colouring the map offers for a checkpoint and a session, in the dropdown's order.

    ``attributes``: the labelled attributes (the schema's names); ``pca_ratio``: each principal axis's share of
    the variance (Generate's PCA slider labels say the same); ``dims_by_kl``: dims, most informative first;
    ``own_names``: the session's own directions; ``recon``: whether per-face reconstruction errors can be had
    (they need the faces' thumbnails).
    """
    out = [ColorChoice(NO_COLOR, "none", "none")]
    out += [ColorChoice(a, attribute_title(a), "category") for a in attributes]
    out += [ColorChoice(pc_value(j), f"PC{j + 1} · {100 * float(r):.1f}% of the variance", "continuous")
            for j, r in enumerate(list(pca_ratio)[:N_PC])]
    out += [ColorChoice(kl_value(int(d)), f"KL of z[{int(d)}]", "continuous") for d in list(dims_by_kl)[:N_KL]]
    if recon:
        out.append(ColorChoice(RECON, "reconstruction error", "continuous"))
    out += [ColorChoice(own_value(n), f"along '{n}'", "continuous") for n in own_names]
    return out


def find(options: Sequence[ColorChoice], value: object) -> ColorChoice | None:
    return next((c for c in options if c.value == value), None)


# -- values per face ------------------------------------------------------------------------------------
def pc_projection(mu: np.ndarray, mean: np.ndarray, component: np.ndarray, std: float) -> np.ndarray:
    """Each face's position along one principal axis, in standard deviations of the data (the unit of
    Generate's PCA sliders): μ [N, Z] → [N]."""
    x = (np.asarray(mu, np.float64) - np.asarray(mean, np.float64)) @ np.asarray(component, np.float64)
    return x / max(float(std), 1e-12)


def kl_of_dim(mu: np.ndarray, std: np.ndarray, dim: int) -> np.ndarray:
    """Per face, KL(q(z_d|x) ‖ N(0, 1)) of one dim in nats: how much the code spends on that dim for that
    face (the mean over faces is the dim's KL that ranks Generate's raw sliders). μ, σ [N, Z] → [N]."""
    m = np.asarray(mu, np.float64)[:, dim]
    var = np.square(np.asarray(std, np.float64)[:, dim])
    return 0.5 * (np.square(m) + var - 1.0 - np.log(np.maximum(var, 1e-300)))


def along(mu: np.ndarray, mean: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Each face's position along a direction, in units of the direction's own length (the unit of its Generate
    slider: strength 1 adds the whole vector), measured from the dataset's mean code: μ [N, Z] → [N].
    A zero vector places every face at 0."""
    v = np.asarray(vector, np.float64)
    n2 = float(v @ v)
    if n2 <= 0.0:
        return np.zeros(len(mu))
    return ((np.asarray(mu, np.float64) - np.asarray(mean, np.float64)) @ v) / n2
