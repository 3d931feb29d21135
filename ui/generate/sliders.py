"""The API's slider values, checked: the layout itself lives in :mod:`vae_core.slider_layout`."""

from __future__ import annotations

from collections.abc import Sequence

from vae_core.slider_layout import ATTR_RANGE, N_ATTR, N_PCA, N_RAW, PCA_RANGE, RAW_RANGE, SliderLayout

from ..common import validate


def check_values(layout: "SliderLayout", values: Sequence[object], strict: bool = True) -> list:
    """The slider values of an API call ([raw…, PCA…, attribute targets…, attribute strengths…]), checked:
    numbers in each slider's range, targets one of the attribute's values (or empty). UserInputError names
    the first bad one. ``strict=False`` (the page's own events) lets a target the current attribute does not
    have through, to be ignored: the page may still hold the previous checkpoint's value for a moment."""
    want = N_RAW + N_PCA + 2 * N_ATTR
    if len(values) != want:
        raise validate.UserInputError(f"expected {want} slider values ({N_RAW} latent, {N_PCA} PCA, {N_ATTR} attribute "
                                      f"targets, {N_ATTR} strengths), got {len(values)}")
    out = list(values)
    for i in range(N_RAW):
        out[i] = validate.number(values[i], f"latent slider {i + 1}", -RAW_RANGE, RAW_RANGE)
    for j in range(N_PCA):
        out[N_RAW + j] = validate.number(values[N_RAW + j], f"PCA slider {j + 1}", -PCA_RANGE, PCA_RANGE)
    for k in range(N_ATTR):
        target = values[N_RAW + N_PCA + k]
        name = f"attribute slider {k + 1}" + (f" ({layout.attrs[k].title})" if k < len(layout.attrs) else "")
        if target is not None and target != "":
            target = validate.whole(target, f"the target value of {name}")
            if strict and (k >= len(layout.attrs) or target not in layout.attrs[k].values):
                known = layout.attrs[k].values if k < len(layout.attrs) else ()
                raise validate.UserInputError(f"the target value of {name} must be one of {list(known)} or empty, "
                                              f"got {target}")
        out[N_RAW + N_PCA + k] = target
        out[N_RAW + N_PCA + N_ATTR + k] = validate.number(values[N_RAW + N_PCA + N_ATTR + k], f"the strength of {name}",
                                                          -ATTR_RANGE, ATTR_RANGE)
    return out
