"""Random-face quality of a checkpoint: the fitted latent sampler against the N(0, I) prior.

    python -m bench.samples --checkpoint runs/real-split64 --checkpoint checkpoints/synthetic

For each checkpoint (its dataset must be readable here) and each sampler, 1,000 random faces at
temperature 1 are compared with the checkpoint's held-out faces in the feature space of the project's
attribute classifier (its shared hidden layer; trained on the training faces of the same split, saved in
the checkpoint's analysis/ folder): Fréchet distance, kNN precision/recall (k = 3), and a memorisation
check, the SSIM of each face to its nearest training face (nearest in pixel L2), for samples and for
held-out faces. A reference row compares 1,000 training faces with the held-out faces: the floor.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.common import machine
from vae_core.analysis.classifier.store import load_or_train_classifier
from vae_core.data import load_dataset
from vae_core.explorer import Explorer
from vae_core.sampling.quality import frechet_distance, knn_precision_recall, sample_quality


def bench(path: Path, n: int, seed: int) -> None:
    ex = Explorer.open(path)
    ds = load_dataset(ex.meta.data, progress=False)
    train_idx, val_idx = ds.split()
    t0 = time.perf_counter()
    clf = load_or_train_classifier(path, ds)
    heldout, train = ds.images[np.sort(val_idx)], ds.images[np.sort(train_idx)]
    real_f = clf.features(heldout)
    print(f"\n{path} — {ex.meta.data.describe()}: {len(train_idx)} train / {len(val_idx)} held-out faces; "
          f"features: attribute classifier ({clf.report.mean_accuracy:.2f} mean held-out accuracy), "
          f"{real_f.shape[1]} dims")
    print(f"  {'sampler':<58} {'FD':>8} {'precision':>9} {'recall':>7} {'SSIM to nearest train':>22}")
    ref = train[np.random.default_rng(seed).permutation(len(train))[:n]]
    ref_f = clf.features(ref)
    p, r = knn_precision_recall(real_f, ref_f)
    print(f"  {'(training faces, the floor)':<58} {frechet_distance(ref_f, real_f):8.2f} {p:9.3f} {r:7.3f} "
          f"{'—':>22}")
    rows = [("N(0, I) prior", True)]
    if ex.sampler is not None:
        rows.insert(0, (f"fitted: {ex.sampler.describe()}", False))
    for name, prior in rows:
        faces = ex.decode(ex.sample(n, seed=seed, temperature=1.0, prior=prior))
        q = sample_quality(clf.features(faces), real_f, faces, heldout, train)
        print(f"  {name:<58} {q.frechet:8.2f} {q.precision:9.3f} {q.recall:7.3f} "
              f"{q.nearest_train_ssim:10.3f} (held-out {q.heldout_nearest_train_ssim:.3f})")
    print(f"  ({n} samples per sampler, seed {seed}; {time.perf_counter() - t0:.0f} s)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", required=True, help="a checkpoint folder (repeatable)")
    p.add_argument("-n", type=int, default=1000, help="samples per sampler")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(f"machine: {machine()}")
    for c in a.checkpoint:
        bench(Path(c), a.n, a.seed)


if __name__ == "__main__":
    main()
