"""Procedural cartoon avatar faces labelled with the 18 Cartoon Set attributes.

Why it exists: the app must work (train, explore, colour the latent map by attribute) without
downloading Google's Cartoon Set. These faces imitate its look - a floating head on white, flat
colours, dark outlines - and use exactly its attribute schema
(:data:`~vae_core.data.schema.CARTOONSET_SCHEMA`), so every latent tool behaves the same on real and
synthetic data. They are clearly labelled as synthetic (:data:`SYNTHETIC_LABEL`) and must never be
passed off as the real set.

The package reads in the order a face is made:

- :mod:`.attributes` - attribute rows sampled from ``(seed, i)`` (counter based, so prefix-stable);
- drawing - :mod:`.canvas` (unit coordinates, 4x supersampling), :mod:`.palette`, :mod:`.face`
  (head geometry), :mod:`.hair` (111 values = 11 families x variations), :mod:`.features` (eyes,
  brows, mouth, facial hair, glasses);
- :mod:`.render` - one face from one row, or ``n`` faces of a seed in a process pool;
- :mod:`.dataset` - the FaceDataset, backed by a memory-mapped ``.npy`` cache.
"""

from .attributes import render_seeds, sample_attributes
from .dataset import SYNTHETIC_LABEL, cached_synthetic, synthetic_dataset
from .hair import hair_family
from .render import GENERATOR_VERSION, generate_faces, render_face

__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_LABEL",
    "cached_synthetic",
    "generate_faces",
    "hair_family",
    "render_face",
    "render_seeds",
    "sample_attributes",
    "synthetic_dataset",
]
