"""The attribute classifier's network, and :class:`AttributeClassifier`: a trained one, frozen, ready to judge faces.

Why the two sit together: the handle is the network plus where it came from (the dataset it learned and its
held-out accuracy); everything that predicts (edit fidelity, the sample-quality feature space) goes through
the handle, which checks the images and runs the net in eval mode without gradients.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from ...config import DataSpec
from ...data.dataset import to_tensor
from ...data.schema import AttributeSchema
from ...errors import ConfigError, DatasetError
from ...inference import eval_mode
from .accuracy import ClassifierReport
from .config import ClassifierConfig


class AttributeClassifierNet(nn.Module):
    """float [B, 3, R, R] in [0, 1] → one logit tensor [B, cardinality] per attribute (config order)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        c0 = config.channels[0]
        layers: list[nn.Module] = [nn.Conv2d(3, c0, config.stem, stride=config.stem, bias=False),
                                   nn.BatchNorm2d(c0), nn.ReLU(inplace=True)]
        c_in = c0
        for c in config.channels[1:]:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        # Pooling to a small fixed grid (not global average) keeps *where* things are: hair colour sits at
        # the top, facial hair at the bottom, glasses in the middle.
        layers += [nn.AdaptiveAvgPool2d(config.pool), nn.Flatten(),
                   nn.Linear(c_in * config.pool ** 2, config.hidden), nn.ReLU(inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(config.hidden, k) for k in config.cardinalities)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        r = self.config.resolution
        if x.ndim != 4 or x.shape[1:] != (3, r, r):
            raise ValueError(f"expected images [B, 3, {r}, {r}], got {list(x.shape)}")
        h = self.trunk(x)
        return [head(h) for head in self.heads]



class AttributeClassifier:
    """A trained net in eval mode with no gradients, plus where it came from. Thread-safe to share:
    prediction methods are pure functions of their inputs."""

    def __init__(self, net: AttributeClassifierNet, data: DataSpec, report: ClassifierReport) -> None:
        self.net = net.cpu().eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.data = data
        self.report = report

    @property
    def config(self) -> ClassifierConfig:
        return self.net.config

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.config.attributes

    @property
    def schema(self) -> AttributeSchema:
        return self.config.schema

    @property
    def resolution(self) -> int:
        return self.config.resolution

    def index_of(self, attribute: str) -> int:
        """Position of ``attribute`` in :attr:`attributes` (:class:`DatasetError` if it is not predicted)."""
        try:
            return self.attributes.index(attribute)
        except ValueError:
            raise DatasetError(f"the attribute classifier does not predict {attribute!r}; "
                               f"it knows {', '.join(self.attributes)}") from None

    def _batches(self, images: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
        """Checked uint8 images [N, R, R, 3] → float [B, 3, R, R] batches (call inside eval/inference mode)."""
        imgs = np.asarray(images)
        r = self.resolution
        if imgs.dtype != np.uint8 or imgs.ndim != 4 or imgs.shape[1:] != (r, r, 3):
            raise ConfigError(
                f"the attribute classifier takes uint8 [N, {r}, {r}, 3] images, got {imgs.dtype} {list(imgs.shape)}; "
                "it must be trained on a dataset of the same resolution as the model it judges")
        for i in range(0, len(imgs), batch_size):
            yield to_tensor(np.ascontiguousarray(imgs[i:i + batch_size]))

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
        """uint8 images [N, R, R, 3] → per attribute the softmax probabilities float32 [N, cardinality]."""
        outs: list[list[np.ndarray]] = [[] for _ in self.attributes]
        with eval_mode(self.net), torch.inference_mode():
            for x in self._batches(images, batch_size):
                for j, logits in enumerate(self.net(x)):
                    outs[j].append(logits.softmax(dim=1).numpy())
        return {name: (np.concatenate(o) if o else np.zeros((0, k), np.float32))
                for name, k, o in zip(self.attributes, self.config.cardinalities, outs)}

    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images [N, R, R, 3] → the shared layer's activations float32 [N, hidden].

        Why: a feature space for comparing sets of faces (Fréchet distance, kNN precision/recall) that is
        trained on this project's own faces and needs no download, unlike an ImageNet Inception."""
        with eval_mode(self.net), torch.inference_mode():
            out = [self.net.trunk(x).numpy() for x in self._batches(images, batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.config.hidden), np.float32)

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images [N, R, R, 3] → predicted values int64 [N, A] in :attr:`attributes` order."""
        probs = self.predict_proba(images, batch_size)
        return np.stack([probs[a].argmax(axis=1) for a in self.attributes], axis=1).astype(np.int64)


__all__ = ["AttributeClassifier", "AttributeClassifierNet"]
