"""Random-face quality of a checkpoint: the kernel density, the best Gaussian mixture and the N(0, I) prior.

    python -m bench.samples --checkpoint checkpoints/default [--unseen ../shared/data/cartoonset-more-256]

For each checkpoint (its dataset must be readable here) both fitted densities are fitted afresh on the same
training codes (``vae_core.sampling.fit_latent_sampler`` with ``density="kde"`` and ``"gmm"``: the app's
sampler before and since 2026-12-06), and 1,000 random faces per sampler at temperature 1 are compared with
the checkpoint's held-out faces (plus ``--unseen`` folders of faces the model never trained on) in the
feature space of the project's attribute classifier (its shared hidden layer; trained on the training faces
of the same split, saved in the checkpoint's analysis/ folder): Fréchet distance, kNN precision/recall
(k = 3), and a memorisation check, the SSIM of each face to its nearest training face (nearest in pixel L2),
for samples and for the reference faces. A first row compares 1,000 training faces with the reference
faces: what a perfect sampler would score. ``--grid PNG`` saves 24 faces of each sampler, one row each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.common import machine
from vae_core.analysis.classifier.store import load_or_train_classifier
from vae_core.config import DataSpec
from vae_core.data import load_dataset
from vae_core.explorer import Explorer
from vae_core.latent import encode_images
from vae_core.sampling import fit_latent_sampler, sample_prior
from vae_core.sampling.quality import frechet_distance, knn_precision_recall, sample_quality


def bench(path: Path, n: int, seed: int, unseen: list[str], grid: Path | None) -> None:
    ex = Explorer.open(path)
    ds = load_dataset(ex.meta.data, progress=False)
    train_idx, val_idx = ds.split()
    t0 = time.perf_counter()
    clf = load_or_train_classifier(path, ds)
    train = ds.images[np.sort(train_idx)]
    refs = [ds.images[np.sort(val_idx)]]
    for folder in unseen:
        refs.append(load_dataset(DataSpec(kind="folder", path=folder, resolution=ex.resolution), progress=False).images)
    ref = np.concatenate(refs)
    real_f = clf.features(ref)
    print(f"\n{path} — {ex.meta.data.describe()}: {len(train_idx)} train / {len(val_idx)} held-out faces"
          f"{f' + {len(ref) - len(val_idx)} unseen' if unseen else ''}; features: attribute classifier "
          f"({clf.report.mean_accuracy:.2f} mean held-out accuracy), {real_f.shape[1]} dims")
    print(f"  {'sampler':<72} {'FD':>8} {'precision':>9} {'recall':>7} {'SSIM to nearest train':>22}")
    sub = train[np.random.default_rng(seed).permutation(len(train))[:n]]
    p, r = knn_precision_recall(real_f, clf.features(sub))
    print(f"  {'(training faces, the floor)':<72} {frechet_distance(clf.features(sub), real_f):8.2f} {p:9.3f} "
          f"{r:7.3f} {'—':>22}")
    mu, _ = encode_images(ex.model, ds.images[np.sort(train_idx)])
    samplers = {"kde": fit_latent_sampler(mu, seed=0, density="kde"),
                "gmm": fit_latent_sampler(mu, seed=0, density="gmm")}
    rows = [(f"fitted: {s.describe()}", s.sample(n, seed=seed)) for s in samplers.values()]
    rows.append(("N(0, I) prior", sample_prior(ex.latent_dim, n, seed=seed)))
    strips = []
    for name, z in rows:
        faces = ex.decode(z)
        q = sample_quality(clf.features(faces), real_f, faces, ref, train)
        print(f"  {name:<72} {q.frechet:8.2f} {q.precision:9.3f} {q.recall:7.3f} "
              f"{q.nearest_train_ssim:10.3f} (reference {q.heldout_nearest_train_ssim:.3f})")
        strips.append(faces[:24])
    print(f"  ({n} samples per sampler, seed {seed}; {time.perf_counter() - t0:.0f} s)")
    if grid is not None:
        from PIL import Image

        from vae_core.grid import make_grid

        image = make_grid(np.concatenate(strips), cols=24)
        Image.fromarray(np.asarray(image)).save(grid)
        print(f"  rows of 24 faces (kernel density, mixture, prior) → {grid}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", required=True, help="a checkpoint folder (repeatable)")
    p.add_argument("-n", type=int, default=1000, help="samples per sampler")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unseen", action="append", default=[], help="a folder of faces no checkpoint trained on, added "
                                                                   "to the reference faces (repeatable)")
    p.add_argument("--grid", type=Path, help="save 24 faces per sampler as one PNG (one checkpoint only)")
    a = p.parse_args()
    print(f"machine: {machine()}")
    for c in a.checkpoint:
        bench(Path(c), a.n, a.seed, a.unseen, a.grid)


if __name__ == "__main__":
    main()
