"""Run by torchrun in test_distributed.py: trains the blob set with DDP and records what each rank saw."""

import json
import os
import sys

from helpers import TINY_MODEL, blob_dataset, tiny_train
from vae_core.training import Trainer

out = sys.argv[1]
rank = int(os.environ["RANK"])
trainer = Trainer(blob_dataset(n=64), TINY_MODEL, tiny_train(epochs=2), out + "/ck", device="cpu", log_every=1)
events = [ev.to_dict() for ev in trainer.run()]
with open(f"{out}/rank{rank}.json", "w") as f:
    json.dump({"kinds": [e["kind"] for e in events],
               "world_size": [e["world_size"] for e in events if e["kind"] == "start"]}, f)
