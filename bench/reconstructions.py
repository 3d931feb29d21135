"""Held-out faces and their reconstructions, side by side at the app's display size, with per-face SSIM.

    python -m bench.reconstructions --checkpoint checkpoints/default --png docs/img/reconstructions.png

Shows what "recognisably the same face" means for a checkpoint: the first ``--faces`` held-out faces of its
dataset (the split it was trained with), each above its reconstruction from the posterior mean, both scaled
smoothly to 160 px. Prints the SSIM of each and their mean.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from vae_core.data import load_dataset
from vae_core.data.dataset import to_tensor
from vae_core.latent import decode_latents, encode_images
from vae_core.metrics import ssim
from vae_core.model import load_checkpoint

SIZE = 160


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--faces", type=int, default=12)
    p.add_argument("--png", required=True)
    a = p.parse_args()
    ck = load_checkpoint(a.checkpoint)
    ds = load_dataset(ck.meta.data, progress=False)
    val = np.sort(ds.split()[1])[: a.faces]
    truth = ds.images[val]
    recon = decode_latents(ck.model, encode_images(ck.model, truth)[0])
    scores = ssim(to_tensor(np.ascontiguousarray(recon)), to_tensor(np.ascontiguousarray(truth))).numpy()
    print(f"{a.checkpoint}: {len(val)} held-out faces of {ck.meta.data.describe()}")
    print("  SSIM per face: " + " ".join(f"{s:.3f}" for s in scores) + f"  (mean {scores.mean():.3f})")
    k = len(val)
    grid = np.full((2 * SIZE + 4, k * SIZE + (k - 1) * 4, 3), 255, np.uint8)
    for i in range(k):
        for r, im in enumerate((truth[i], recon[i])):
            big = np.asarray(Image.fromarray(im).resize((SIZE, SIZE), Image.LANCZOS))
            grid[r * (SIZE + 4): r * (SIZE + 4) + SIZE, i * (SIZE + 4): i * (SIZE + 4) + SIZE] = big
    Path(a.png).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(a.png)
    print(f"wrote {a.png}: top = held-out faces, bottom = reconstructions")


if __name__ == "__main__":
    main()
