"""The kinds of attribute directions a slider can move along, apart from the numpy code that makes them
(:mod:`vae_core.latent`), so the command line can offer them without importing torch.

- ``"conditional"``: each value's mean difference with the other attributes' directions projected out
  (:func:`vae_core.latent.conditional_directions`, InterFaceGAN's conditional manipulation);
- ``"plain"``: the mean difference of the faces with the value and those without.
"""

from __future__ import annotations

from .errors import ConfigError

DIRECTION_KINDS = ("conditional", "plain")
#: The kind the sliders and the cached analysis use: the one with more target reached at lower leakage on the
#: shipped checkpoints (bench/direction_fidelity.py; table in docs/latent-space.md). Measured: at equal target
#: reached, conditional directions leak slightly less on the real-face model and more on the synthetic one,
#: 0.0011 more on average (standard error 0.0004), so plain stays.
DEFAULT_DIRECTIONS = "plain"


def check_direction_kind(kind: object) -> str:
    """``kind`` if it is one of :data:`DIRECTION_KINDS`, else a :class:`ConfigError` that lists them."""
    if not isinstance(kind, str) or kind not in DIRECTION_KINDS:
        raise ConfigError(f"unknown attribute direction kind {kind!r}; choose one of {', '.join(DIRECTION_KINDS)}")
    return kind


__all__ = ["DEFAULT_DIRECTIONS", "DIRECTION_KINDS", "check_direction_kind"]
