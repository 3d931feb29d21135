"""Random-face quality of a checkpoint: the kernel density, the best Gaussian mixture, their blend and the prior.

    python -m bench.samples --checkpoint checkpoints/default [--seeds 8] [--unseen ../shared/data/cartoonset-more-256]

For each checkpoint (its dataset must be readable here) the three fitted densities are fitted afresh on the same
training codes (``vae_core.sampling.fit_latent_sampler`` with ``density="kde"``, ``"gmm"`` and ``"blend"``), and
1,000 random faces per sampler and seed at temperature 1 are compared with
the checkpoint's held-out faces (plus ``--unseen`` folders of faces the model never trained on) in the
feature space of the project's attribute classifier (its shared hidden layer; trained on the training faces
of the same split, saved in the checkpoint's analysis/ folder): Fréchet distance, kNN precision/recall
(k = 3), and a memorisation check, the SSIM of each face to its nearest training face (nearest in pixel L2),
for samples and for the reference faces. A first row compares 1,000 training faces with the reference
faces: what a perfect sampler would score. With ``--seeds N`` each sampler draws N sets of faces (seeds 0..N-1) and
the table shows the mean ± standard deviation over them: with ~100 reference faces one set's precision moves by
±0.015 from seed to seed, more than some differences between samplers. ``--grid PNG`` saves 24 faces of each
sampler (seed 0), one row each.
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
from vae_core.sampling.fit import fit_blend
from vae_core.sampling.quality import frechet_distance, knn_precision_recall, sample_quality


def bench(path: Path, n: int, seeds: int, unseen: list[str], grid: Path | None) -> None:
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
    print(f"  {'sampler':<104} {'FD':>12} {'precision':>13} {'recall':>13} {'SSIM to nearest train':>22}")
    sub = train[np.random.default_rng(0).permutation(len(train))[:n]]
    p, r = knn_precision_recall(real_f, clf.features(sub))
    print(f"  {'(training faces, the floor)':<104} {frechet_distance(clf.features(sub), real_f):12.1f} {p:13.3f} "
          f"{r:13.3f} {'—':>22}")
    mu, _ = encode_images(ex.model, ds.images[np.sort(train_idx)])
    kde, gmm = (fit_latent_sampler(mu, seed=0, density=d) for d in ("kde", "gmm"))
    rows = [(f"fitted: {s.describe()}", s.sample) for s in (kde, gmm, fit_blend(mu, gmm, kde, seed=0))]
    rows.append(("N(0, I) prior", lambda count, seed: sample_prior(ex.latent_dim, count, seed=seed)))
    strips = []
    for name, draw in rows:
        scores = []
        for seed in range(seeds):
            faces = ex.decode(draw(n, seed=seed))
            scores.append(sample_quality(clf.features(faces), real_f, faces, ref, train))
            if seed == 0:
                strips.append(faces[:24])
        cols = [np.array([getattr(q, f) for q in scores]) for f in ("frechet", "precision", "recall")]
        shown = [f"{c.mean():.{d}f}" + (f"±{c.std():.{d}f}" if seeds > 1 else "") for c, d in zip(cols, (1, 3, 3))]
        copy = np.mean([q.nearest_train_ssim for q in scores])
        print(f"  {name:<104} {shown[0]:>12} {shown[1]:>13} {shown[2]:>13} "
              f"{copy:10.3f} (reference {scores[0].heldout_nearest_train_ssim:.3f})")
    print(f"  ({n} samples per sampler and seed, {seeds} seed{'s' if seeds > 1 else ''}; "
          f"{time.perf_counter() - t0:.0f} s)")
    if grid is not None:
        from PIL import Image

        from vae_core.grid import make_grid

        image = make_grid(np.concatenate(strips), cols=24)
        Image.fromarray(np.asarray(image)).save(grid)
        print(f"  rows of 24 faces (kernel density, mixture, blend, prior) → {grid}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", required=True, help="a checkpoint folder (repeatable)")
    p.add_argument("-n", type=int, default=1000, help="samples per sampler")
    p.add_argument("--seeds", type=int, default=1, help="sets of samples per sampler (seeds 0..N-1): mean ± sd")
    p.add_argument("--unseen", action="append", default=[], help="a folder of faces no checkpoint trained on, added "
                                                                   "to the reference faces (repeatable)")
    p.add_argument("--grid", type=Path, help="save 24 faces per sampler as one PNG (one checkpoint only)")
    a = p.parse_args()
    if a.seeds < 1 or a.n < 10:
        p.error("--seeds must be at least 1 and -n at least 10")
    print(f"machine: {machine()}")
    for c in a.checkpoint:
        bench(Path(c), a.n, a.seeds, a.unseen, a.grid)


if __name__ == "__main__":
    main()
