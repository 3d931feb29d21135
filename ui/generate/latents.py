"""Where a Generate latent comes from (a seed and a sampler, or a pasted string) and how it becomes a face.

Pure functions of (explorer, inputs): no Gradio, no globals. The Explorer is shared and read-only;
errors are :class:`~vae_core.errors.VaeCoreError` subclasses with messages for the user, shown by
:mod:`ui.common.errors`. The Interpolate and Latent map tabs use them too (random ends, decoding a point).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vae_core.errors import LatentFormatError
from vae_core.latent_string import format_latent, parse_latent
from vae_core.sampling import MAX_TEMPERATURE

from ..common import validate
from ..common.errors import UserInputError

MAX_SEED = 2**31 - 1


def decode_one(explorer, z: np.ndarray) -> np.ndarray:
    """Latent [Z] → uint8 [R, R, 3]."""
    return explorer.decode(np.asarray(z, np.float32)[None])[0]


def check_seed(seed: Any) -> int:
    return validate.whole(seed, "the seed", 0, MAX_SEED)


def check_temperature(t: Any) -> float:
    """The UI slider and the API accept the same range (vae_core.sampling.MAX_TEMPERATURE); outside it: refused."""
    return validate.number(t, "the temperature", 0.0, MAX_TEMPERATURE)


#: Where random faces come from: the density fitted to the training codes (the default: faces where the
#: decoder has seen codes) or the N(0, I) prior the VAE was trained towards (for comparison).
SAMPLERS = ("fitted density", "N(0, I) prior")


def check_sampler(sampler: Any) -> str:
    if sampler is None or sampler == "":
        return SAMPLERS[0]
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise UserInputError(f"the sampler must be one of: {', '.join(SAMPLERS)}; got {sampler!r}")
    return sampler


def face_from_seed(explorer, seed: Any, temperature: Any = 1.0, sampler: Any = SAMPLERS[0]) -> np.ndarray:
    """A random code [Z], reproducible from the seed (the same seed gives the same face): from the fitted
    density (temperature scales the spread around its component, 0 = the component's mean) or the prior."""
    prior = check_sampler(sampler) == SAMPLERS[1]
    return explorer.sample(1, seed=check_seed(seed), temperature=check_temperature(temperature), prior=prior)[0]


#: How many seeds the first face is chosen from.
FIRST_FACE_CANDIDATES = 64


def good_seed(explorer) -> tuple[int, np.ndarray]:
    """(seed, code) of the face a new page opens on: of the first 64 seeds at temperature 1, the draw the fitted
    density finds most typical (highest log-likelihood), so the first face is a clear one, not a smear from the
    tails, and still an honest draw that "Face from seed" reproduces. Without a fitted density: seed 0 of the prior."""
    if explorer.sampler is None:
        return 0, explorer.sample(1, seed=0)[0]
    codes = np.stack([explorer.sample(1, seed=s)[0] for s in range(FIRST_FACE_CANDIDATES)])
    best = int(np.argmax(explorer.sampler.log_likelihood(codes)))
    return best, codes[best]


def sampler_note(explorer, sampler: Any = SAMPLERS[0]) -> str:
    """One line saying what the random faces are drawn from (shown under the temperature slider)."""
    if check_sampler(sampler) == SAMPLERS[1]:
        return "Random faces: N(0, I) prior, temperature = its standard deviation (0 = the all-zero code)."
    fitted = explorer.sampler
    if fitted is None:
        return ("Random faces: N(0, I) prior: this checkpoint has no fitted density "
                "(`python -m vae_core embed` fits one).")
    centre = ("its centre: a training face's own code for a kernel, a typical face for a mixture component"
              if fitted.covariance_type in ("tied", "grouped") else "its mean, a typical face")
    return (f"Random faces: a {fitted.describe()} fitted to the training faces' codes; temperature scales the "
            f"spread around the chosen component (0 = {centre}).")


def copy_latent(explorer, z: np.ndarray) -> str:
    """The shareable ``cvae1:<model id>:<data>`` string of z."""
    return format_latent(z, explorer.model_id)


def paste_latent(explorer, text: Any) -> np.ndarray:
    """Parse a pasted latent (a cvae1 string of this model, or Z numbers); LatentFormatError if unusable."""
    if text is None or text == "":
        raise LatentFormatError("paste a latent string first")
    return parse_latent(validate.text(text, "the latent string"), explorer.latent_dim, explorer.model_id)
