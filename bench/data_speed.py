"""Data pipeline figures.

    python -m bench.data_speed

Prints: synthetic generation of 10k faces at 64×64; the real-format cache build per 1k images (500×500
RGBA `cs*.png` + CSV files fabricated in the official layout, cropped 0.7 and resized to 64); and the peak
RSS of training steps that read a 100k-image memory-mapped cache.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine

ROOT = Path(__file__).resolve().parents[1]

RSS_SNIPPET = """
import resource, sys, numpy as np, tempfile
from pathlib import Path
from vae_core.config import DataSpec, ModelConfig, TrainConfig
from vae_core.data.dataset import FaceDataset
from vae_core.training import Trainer
images = np.load(sys.argv[1], mmap_mode="r")
ds = FaceDataset(images=images, labels=None, schema=None, spec=DataSpec(kind="folder", path=sys.argv[1]),
                 ids=[str(i) for i in range(len(images))])
with tempfile.TemporaryDirectory() as tmp:
    for _ in Trainer(ds, ModelConfig(), TrainConfig(epochs=1, max_steps=300, batch_size=64), Path(tmp) / "ck",
                     device="cpu", command="bench").run():
        pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    from PIL import Image

    from vae_core.data.cache import cached_images
    from vae_core.data.cartoonset import list_cartoonset_files
    from vae_core.data.schema import CARTOONSET_SCHEMA
    from vae_core.data.synthetic import generate_faces

    print(f"machine: {machine()}")
    t = time.perf_counter()
    images, _ = generate_faces(10_000, 64, seed=0)
    print(f"synthetic: 10,000 faces at 64x64 in {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cartoonset"
        root.mkdir()
        n = 1000
        for i in range(n):  # real layout: 500×500 RGBA on transparent background + 18-line CSV
            face = Image.fromarray(images[i]).resize((350, 350), Image.LANCZOS).convert("RGBA")
            canvas = Image.new("RGBA", (500, 500), (0, 0, 0, 0))
            canvas.paste(face, (75, 75))
            canvas.save(root / f"cs{i:05d}.png")
            (root / f"cs{i:05d}.csv").write_text(
                "".join(f'"{a}", 0, {c}\n' for a, c in zip(CARTOONSET_SCHEMA.names, CARTOONSET_SCHEMA.cardinalities)))
        pngs = [p for p, _ in list_cartoonset_files(root)]
        t = time.perf_counter()
        cached_images("cartoonset", root, pngs, resolution=64, crop_fraction=0.7, cache_dir=Path(tmp) / "cache",
                      progress=False)
        print(f"real-format cache build: {time.perf_counter() - t:.2f} s per 1,000 500x500 RGBA images")

        big = Path(tmp) / "100k.npy"
        arr = np.lib.format.open_memmap(big, mode="w+", dtype=np.uint8, shape=(100_000, 64, 64, 3))
        for s in range(0, 100_000, 10_000):
            arr[s:s + 10_000] = images
        arr.flush()
        del arr
        out = subprocess.run([sys.executable, "-c", RSS_SNIPPET, str(big)], capture_output=True, text=True,
                             cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
        print(f"peak RSS training 300 steps on a 100k-image memory-mapped cache (1.2 GB): {float(out.stdout):.0f} MiB")
    print(f"(this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
