"""What a trained checkpoint's latent space does, measured: one module per question.

- :mod:`.disentanglement`: MIG, DCI and SAP of the posterior means against the labelled factors;
- :mod:`.classifier`: an attribute classifier trained on the dataset's own images, the independent judge
  of what a decoded face shows;
- :mod:`.edit_fidelity`: whether an attribute slider's edit makes that judge see the asked-for value, and
  what else changes with it;
- :mod:`.report`: the scorecard, the classifier's accuracy and the edit fidelity of one checkpoint,
  computed once and cached in its ``analysis/`` folder (what the app's Analysis tab and
  ``python -m vae_core evaluate --disentanglement`` show);
- :mod:`.sweep`: rate, distortion and disentanglement of short runs across β;
- :mod:`.traversal`: faces decoded along a direction, exported as a PNG grid or a looping GIF.

Each module is imported by its own path (``from vae_core.analysis.report import compute_analysis``): the
package itself imports nothing, so reading one result does not load scikit-learn or the training code.
"""
