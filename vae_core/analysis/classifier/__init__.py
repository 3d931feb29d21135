"""A small attribute classifier trained on dataset images: the judge of "edit fidelity".

Why it exists: an attribute slider moves a latent along a mean-difference direction
(:func:`vae_core.latent.apply_attribute`), and whether the decoded face *really* took the asked-for value
— and what else changed with it — cannot be read off the latent. So we train an independent
classifier on the dataset's own labelled images (never on decoded faces, so it has no stake in the VAE)
and let it look at the decoded faces before and after an edit (:mod:`vae_core.analysis.edit_fidelity`).

- :mod:`.config`: its architecture and training recipe (frozen, validated dataclasses);
- :mod:`.network`: the network — deliberately small, a shared convolutional trunk and one linear head per
  attribute — and :class:`~.network.AttributeClassifier`, a trained one ready to predict;
- :mod:`.accuracy`: its held-out accuracy per attribute next to the majority-class baseline (always
  guessing the most frequent training value), so a user sees at once which attributes it learned and
  therefore which fidelity numbers mean something;
- :mod:`.training`: cross-entropy training where unknown labels (-1) are ignored. It trains on 4.5k
  synthetic 64×64 faces in 25 s on one thread of a busy 2-core CPU (8 epochs; mean held-out accuracy over
  the 18 attributes 0.65 vs 0.30 for the majority baseline; 9k faces: 53 s, 0.75), so it can be rebuilt
  on demand for any dataset;
- :mod:`.store`: saved like a checkpoint (safetensors weights + a JSON config, never pickle) in the VAE
  checkpoint's ``analysis/`` folder, keyed by the dataset it was trained on.
"""
