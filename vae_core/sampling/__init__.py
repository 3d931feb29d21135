"""Random faces, in one place: the fitted latent density (:mod:`.mixture`, chosen by :mod:`.fit`), the N(0, I)
prior it replaces (:mod:`.prior`), and how good the faces of either are (:mod:`.quality`).

Why a fitted density: a VAE's aggregate posterior (the cloud of μ over the training set) does not match the
N(0, I) prior it was pulled towards; prior draws land between the clumps and decode to ghosts and smears
(the "prior hole"). Fitting a density to the training codes after training and sampling from it (ex-post
density estimation, Ghosh et al., ICLR 2020) gives faces where the decoder has seen codes.
"""

from __future__ import annotations

from .fit import CANDIDATES, fit_checkpoint_sampler, fit_latent_sampler, quick_sampler, sampler_path
from .mixture import MAX_TEMPERATURE, SAMPLER_FILE, LatentSampler
from .prior import sample_prior

__all__ = ["CANDIDATES", "MAX_TEMPERATURE", "SAMPLER_FILE", "LatentSampler", "fit_checkpoint_sampler",
           "fit_latent_sampler", "quick_sampler", "sample_prior", "sampler_path"]
