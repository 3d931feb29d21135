"""64×64 against 128×128 models on the same real faces, judged at 128×128.

    python -m bench.resolution --low runs/real-split64 --high runs/real-split128 [--png docs/img/resolution.png]

Both checkpoints must share a dataset folder and split (train them with the same --val-fraction). Each
held-out face is reconstructed by both; the 64×64 output is upscaled bicubically to 128×128, and both are
scored by SSIM and PSNR against the 128×128 ground truth. The PNG shows, at the app's display size (256 px,
smooth scaling), a row of ground truths, a row of 64×64 reconstructions and a row of 128×128 ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import machine
from vae_core.data import load_dataset
from vae_core.data.dataset import to_tensor
from vae_core.latent import decode_latents, encode_images
from vae_core.metrics import psnr, ssim
from vae_core.model import load_checkpoint


def reconstruct(model, images: np.ndarray) -> np.ndarray:
    return decode_latents(model, encode_images(model, images)[0])


def resize(images: np.ndarray, size: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC)) for im in images])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--low", required=True, help="the 64×64 checkpoint")
    p.add_argument("--high", required=True, help="the 128×128 checkpoint")
    p.add_argument("--png", default=None, help="write the side-by-side comparison here")
    p.add_argument("--faces", type=int, default=8, help="faces in the PNG")
    a = p.parse_args()
    print(f"machine: {machine()}")
    low, high = load_checkpoint(a.low), load_checkpoint(a.high)
    ds_low, ds_high = load_dataset(low.meta.data, progress=False), load_dataset(high.meta.data, progress=False)
    val_low, val_high = ds_low.split()[1], ds_high.split()[1]
    if [ds_low.ids[i] for i in val_low] != [ds_high.ids[i] for i in val_high]:
        sys.exit("the two checkpoints do not share a held-out split: train them on one folder with one --val-fraction")
    truth = ds_high.images[val_high]
    rec_low = resize(reconstruct(low.model, ds_low.images[val_low]), high.meta.model.resolution)
    rec_high = reconstruct(high.model, truth)
    print(f"{len(val_high)} held-out faces of {high.meta.data.describe()}; scored at "
          f"{high.meta.model.resolution}×{high.meta.model.resolution}")
    for name, ck, rec in (("64×64, bicubic ×2", low, rec_low), ("128×128", high, rec_high)):
        m = ck.meta.metrics
        rec_t, truth_t = to_tensor(np.ascontiguousarray(rec)), to_tensor(np.ascontiguousarray(truth))
        s = float(ssim(rec_t, truth_t).mean())
        q = float(psnr(rec_t, truth_t).mean())
        print(f"  {name:<18} SSIM {s:.3f}  PSNR {q:.2f} dB   ({m.get('steps')} steps in {m.get('seconds', 0) / 60:.1f} "
              f"min of training)")
    if a.png:
        k = min(a.faces, len(truth))
        rows = [resize(x[:k], 256) for x in (truth, rec_low, rec_high)]
        grid = np.full((3 * 256 + 2 * 4, k * 256 + (k - 1) * 4, 3), 255, np.uint8)
        for r, row in enumerate(rows):
            for c, im in enumerate(row):
                grid[r * 260:r * 260 + 256, c * 260:c * 260 + 256] = im
        Path(a.png).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(a.png)
        print(f"wrote {a.png}: rows = ground truth, 64×64 model, 128×128 model (all shown at 256 px, smooth)")


if __name__ == "__main__":
    main()
