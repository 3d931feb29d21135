"""One checkpoint, everything an explorer UI needs about it, computed once and shared read-only.

Why this exists: the app must open instantly and serve many users from one model. Expensive things
(encoding the dataset, the 2-D map, thumbnails for hovering) are computed once per (checkpoint, dataset)
and cached as plain ``.npz`` files inside the checkpoint's ``projections/`` folder, so a shipped
checkpoint carries its own map. After construction an ``Explorer`` is never mutated except for lazy,
lock-protected fills of those caches; every request-level method is a pure function of its inputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import latent as latent_ops
from . import projection as proj_ops
from .projection import DEFAULT_MAX_POINTS, UMAP_MIN_DIST, UMAP_NEIGHBORS
from .atomic import atomic_write
from .attribute_values import ValueSwatch
from .checkpoint import LoadedCheckpoint
from .model import load_checkpoint
from .data.schema import AttributeSchema
from .errors import CheckpointError, DatasetError
from .hub import resolve_checkpoint
from .metrics import psnr as psnr_metric
from .metrics import ssim as ssim_metric
from .sampling import LatentSampler, fit_checkpoint_sampler, sampler_path, sample_prior

log = logging.getLogger(__name__)

EMBED_VERSION = 1
THUMB = 32
NUM_EXAMPLES = 48


def make_thumbnails(images: np.ndarray, size: int = THUMB) -> np.ndarray:
    """uint8 [B, R, R, 3] → uint8 [B, size, size, 3], box-filtered: the map's hover faces, and what a decoded face
    is shrunk with to be compared with them (the map's reconstruction-error colouring)."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BOX)) for im in images])


@dataclass(frozen=True)
class EmbeddingBundle:
    """A sample of the checkpoint's dataset, encoded: μ/σ [N, Z], labels [N, A] (or None), 32×32 thumbnails
    for hover previews and a few full-resolution ``examples`` [K, R, R, 3] to pick as inputs."""

    mu: np.ndarray
    std: np.ndarray
    ids: np.ndarray
    labels: np.ndarray | None
    schema: AttributeSchema | None
    thumbnails: np.ndarray
    examples: np.ndarray
    example_ids: np.ndarray
    dataset_label: str


@dataclass(frozen=True)
class MapData:
    """The bundle plus 2-D coordinates [N, 2] of one projection method."""

    bundle: EmbeddingBundle
    projection: "proj_ops.Projection"
    method: str

    @property
    def coords(self) -> np.ndarray:
        return self.projection.coords


@dataclass(frozen=True)
class EncodedImage:
    """An input image as the model sees it ([R, R, 3] uint8), its posterior and its reconstruction."""

    input_u8: np.ndarray
    mu: np.ndarray
    std: np.ndarray
    reconstruction_u8: np.ndarray
    mse: float
    psnr: float
    ssim: float


class Explorer:
    """Read-only view of one checkpoint for interactive use. Build with :meth:`open`."""

    def __init__(self, checkpoint: LoadedCheckpoint, max_points: int = DEFAULT_MAX_POINTS) -> None:
        self.checkpoint = checkpoint
        self.max_points = max_points
        self._lock = threading.Lock()
        self._bundle: EmbeddingBundle | None = None
        self._maps: dict[str, MapData] = {}
        self._derived: dict[str, Any] = {}

    @classmethod
    def open(cls, path_or_repo_id: str | Path, max_points: int = DEFAULT_MAX_POINTS,
             revision: str | None = None) -> "Explorer":
        """A checkpoint folder or a Hugging Face Hub repo id, as :meth:`ConvVAE.from_pretrained` takes. Caches
        computed later (a map, a sampler) are written into that folder, the Hub cache's snapshot included."""
        return cls(load_checkpoint(resolve_checkpoint(path_or_repo_id, revision=revision)), max_points=max_points)

    # -- identity and metadata ----------------------------------------------------------------------
    @property
    def model(self) -> torch.nn.Module:
        return self.checkpoint.model

    @property
    def meta(self):
        return self.checkpoint.meta

    @property
    def path(self) -> Path:
        return self.checkpoint.path

    @property
    def model_id(self) -> str:
        """Short id of the weights; latent strings carry it so they are not pasted into the wrong model."""
        return self.checkpoint.fingerprint[:8]

    @property
    def latent_dim(self) -> int:
        return self.meta.model.latent_dim

    @property
    def resolution(self) -> int:
        return self.meta.model.resolution

    @property
    def is_synthetic(self) -> bool:
        return self.meta.data.is_synthetic

    def info(self) -> dict[str, Any]:
        """What the app shows about the model. No absolute path: the checkpoint is named by its folder,
        which is all a visitor needs (and all a public Space may reveal)."""
        from .data.cards import card_for

        m = self.meta
        card = card_for(m.data)
        return {
            "checkpoint": f"{self.path.parent.name}/{self.path.name}",
            "card": dataclasses.asdict(card) if card is not None else None,
            "model_id": self.model_id,
            "dataset": m.data.describe(),
            "synthetic": m.data.is_synthetic,
            "resolution": m.model.resolution,
            "latent_dim": m.model.latent_dim,
            "channels": list(m.model.channels),
            "encoder_channels": list(m.model.encoder_channels),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "beta": m.train.beta if m.train else None,
            "metrics": {k: v for k, v in m.metrics.items() if k != "kl_per_dim"},
            "command": m.command,
            "created": m.created,
        }

    # -- the cached dataset embedding ---------------------------------------------------------------
    def _cache_dir(self) -> Path:
        return self.path / "projections"

    def _embedding_key(self) -> str:
        spec = json.dumps({"data": self.meta.data.to_dict(), "max_points": self.max_points, "v": EMBED_VERSION},
                          sort_keys=True)
        return hashlib.sha256((self.checkpoint.fingerprint + spec).encode()).hexdigest()[:16]

    def has_cached_embedding(self) -> bool:
        return (self._cache_dir() / f"embedding-{self._embedding_key()}.npz").is_file()

    def embedding(self, progress: bool = False) -> EmbeddingBundle:
        """The encoded dataset sample; from the cache, else computed (loads the dataset) and cached."""
        if self._bundle is not None:
            return self._bundle
        with self._lock:
            if self._bundle is None:
                file = self._cache_dir() / f"embedding-{self._embedding_key()}.npz"
                if file.is_file():
                    try:
                        self._bundle = self._read_bundle(file)
                    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
                        # truncated, not a zip, or pickled object arrays (refused by allow_pickle=False)
                        log.warning("cached embedding %s is unreadable (%s: %s); recomputing it",
                                    file, type(e).__name__, e)
                if self._bundle is None:
                    self._bundle = self._compute_bundle(file, progress)
        return self._bundle

    def _read_bundle(self, file: Path) -> EmbeddingBundle:
        with np.load(file, allow_pickle=False) as z:
            schema_json = str(z["schema"])
            schema = AttributeSchema.from_dict(json.loads(schema_json)) if schema_json else None
            labels = z["labels"] if schema is not None else None
            return EmbeddingBundle(mu=z["mu"].astype(np.float32), std=z["std"].astype(np.float32), ids=z["ids"],
                                   labels=labels, schema=schema,
                                   thumbnails=z["thumbnails"], examples=z["examples"], example_ids=z["example_ids"],
                                   dataset_label=str(z["dataset_label"]))

    def _compute_bundle(self, file: Path, progress: bool) -> EmbeddingBundle:
        from .data import load_dataset

        try:
            ds = load_dataset(self.meta.data, progress=progress)
        except DatasetError as e:
            raise DatasetError(f"the dataset of this checkpoint is not available here ({e}); "
                               "the map and data-derived sliders need it") from None
        n = len(ds)
        take = np.sort(np.random.default_rng(0).permutation(n)[: self.max_points]) if n > self.max_points else np.arange(n)
        images = np.ascontiguousarray(ds.images[take])
        mu, std = latent_ops.encode_images(self.model, images)
        thumbs = make_thumbnails(images)
        _, val = ds.split()
        ex_idx = (val if len(val) else np.arange(n))[:NUM_EXAMPLES]
        bundle = EmbeddingBundle(
            # rounded as the cache stores them, so a fresh bundle and a reloaded one give the same map and sliders
            mu=mu.astype(np.float16).astype(np.float32), std=std.astype(np.float16).astype(np.float32),
            ids=np.array([ds.ids[i] for i in take]),
            labels=ds.labels[take] if ds.labels is not None else None, schema=ds.schema, thumbnails=thumbs,
            examples=np.ascontiguousarray(ds.images[ex_idx]), example_ids=np.array([ds.ids[i] for i in ex_idx]),
            dataset_label=ds.spec.describe(),
        )
        # μ and σ as float16 on disk (a shipped checkpoint's cache must fit a Space; ~1e-3 rounding), float32 in use
        arrays = dict(mu=bundle.mu.astype(np.float16), std=bundle.std.astype(np.float16), ids=bundle.ids,
                      labels=bundle.labels if bundle.labels is not None else np.zeros((len(take), 0), np.int64),
                      schema=np.array(json.dumps(ds.schema.to_dict()) if ds.schema else ""),
                      thumbnails=thumbs, examples=bundle.examples, example_ids=bundle.example_ids,
                      dataset_label=np.array(bundle.dataset_label))
        atomic_write(file, lambda f: np.savez_compressed(f, **arrays))
        return bundle

    # -- statistics derived from the embedding (cheap, memoised) -------------------------------------
    def _memo(self, key: str, fn):
        if key not in self._derived:
            value = fn()
            with self._lock:
                self._derived.setdefault(key, value)
        return self._derived[key]

    @property
    def kl_per_dim(self) -> np.ndarray:
        """Mean KL(q(z_i|x) ‖ N(0,1)) over the dataset sample, nats per dim [Z]."""
        b = self.embedding()
        return self._memo("kl", lambda: latent_ops.kl_per_dim_stats(b.mu, b.std))

    @property
    def dims_by_kl(self) -> np.ndarray:
        return self._memo("order", lambda: latent_ops.dims_by_kl(self.kl_per_dim))

    @property
    def active(self) -> np.ndarray:
        """Active units (Burda et al.: Cov_x E_q[z_i] > 0.01) [Z] bool; inactive dims are collapsed."""
        return self._memo("active", lambda: latent_ops.active_units(self.embedding().mu))

    @property
    def pca(self) -> "latent_ops.PCADirections":
        k = min(10, self.latent_dim)
        return self._memo("pca", lambda: latent_ops.pca_directions(self.embedding().mu, k))

    def attribute_directions(self, kind: str = latent_ops.DEFAULT_DIRECTIONS) -> dict[str, Any]:
        """Per labelled attribute its value directions (:class:`~vae_core.latent.AttributeDirections`) of
        ``kind`` (one of :data:`~vae_core.latent.DIRECTION_KINDS`; ConfigError otherwise), from the dataset
        sample; {} without labels. Memoised per kind; conditional ones are made from the plain ones."""
        latent_ops.check_direction_kind(kind)
        b = self.embedding()
        if b.labels is None or b.schema is None:
            return {}
        if kind == "plain":
            return self._memo("attr:plain", lambda: latent_ops.attribute_directions(b.mu, b.labels, b.schema))
        return self._memo(f"attr:{kind}", lambda: latent_ops.conditional_directions(
            self.attribute_directions("plain"), b.mu, b.labels, b.schema))

    def value_swatches(self) -> dict[str, list[ValueSwatch]]:
        """Per labelled attribute, each value's readable name, average face and (colour attributes) measured
        colour; decoded once per checkpoint (one batch) and kept."""
        from .attribute_values import value_swatches

        b = self.embedding()
        return self._memo("swatches", lambda: value_swatches(self.meta.data, self.attribute_directions(), self.decode,
                                                             b.thumbnails, b.labels, b.schema))

    # -- random faces ------------------------------------------------------------------------------
    @property
    def sampler(self) -> LatentSampler | None:
        """The checkpoint's fitted latent sampler, or None where it has none (written before samplers
        existed, or fitted for other weights): ``python -m vae_core embed`` fits one."""
        def load() -> LatentSampler | None:
            file = sampler_path(self.path)
            if not file.is_file():
                return None
            try:
                return LatentSampler.load(file, weights_sha256=self.checkpoint.fingerprint)
            except CheckpointError as e:
                log.warning("%s; random faces come from the N(0, I) prior", e)
                return None
        return self._memo("sampler", load)

    def sample(self, n: int, seed: int, temperature: float = 1.0, prior: bool = False) -> np.ndarray:
        """n random codes [n, Z], reproducible from ``seed``: from the fitted sampler (temperature scales
        the spread around the chosen mixture component, 0 = its mean) or, with ``prior`` or when the
        checkpoint has no sampler, from N(0, T²I)."""
        sampler = None if prior else self.sampler
        if sampler is None:
            return sample_prior(self.latent_dim, n, seed=seed, temperature=temperature)
        return sampler.sample(n, seed=seed, temperature=temperature)

    def fit_sampler(self, progress: bool = False, seed: int = 0) -> LatentSampler:
        """Fit and save the sampler on the training split of the checkpoint's dataset (CLI ``embed``)."""
        from .data import load_dataset

        try:
            ds = load_dataset(self.meta.data, progress=progress)
        except DatasetError as e:
            raise DatasetError(f"the dataset of this checkpoint is not available here ({e}); "
                               "fitting the sampler needs its training images") from None
        train, _ = ds.split()
        idx = np.sort(train) if len(train) else np.arange(len(ds))
        sampler = fit_checkpoint_sampler(self.model, ds.images[idx], self.path, self.checkpoint.fingerprint, seed=seed)
        with self._lock:
            self._derived["sampler"] = sampler
        return sampler

    # -- per-request operations (pure) -------------------------------------------------------------
    def decode(self, z: np.ndarray) -> np.ndarray:
        """z [Z] or [B, Z] → uint8 [B, R, R, 3]."""
        z = np.asarray(z, dtype=np.float32)
        return latent_ops.decode_latents(self.model, z[None] if z.ndim == 1 else z)

    def preprocess(self, source: Any) -> np.ndarray:
        """Any image source → the model's input, cropped and resized exactly like the training data."""
        from .data import center_crop_resize, load_image

        return center_crop_resize(load_image(source), self.resolution, self.meta.data.crop_fraction)

    def encode_image(self, source: Any) -> EncodedImage:
        x = source if isinstance(source, np.ndarray) and source.shape == (self.resolution, self.resolution, 3) \
            and source.dtype == np.uint8 else self.preprocess(source)
        mu, std = latent_ops.encode_images(self.model, x[None])
        recon = self.decode(mu)[0]
        xt = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
        rt = torch.from_numpy(recon).permute(2, 0, 1)[None].float() / 255
        mse = float((xt - rt).pow(2).mean())
        return EncodedImage(input_u8=x, mu=mu[0], std=std[0], reconstruction_u8=recon, mse=mse,
                            psnr=float(psnr_metric(xt, rt)[0]), ssim=float(ssim_metric(xt, rt)[0]))

    # -- the 2-D map ----------------------------------------------------------------------------------
    @staticmethod
    def _map_params(method: str, n_neighbors: int = UMAP_NEIGHBORS, min_dist: float = UMAP_MIN_DIST, seed: int = 0) -> dict[str, Any]:
        """The parameters a map's cache key holds: one place, so a lookup and a fit agree on the file."""
        return {"n_neighbors": n_neighbors, "min_dist": min_dist, "seed": seed} if method == "umap" else {}

    def has_cached_map(self, method: str = "umap", **params: Any) -> bool:
        """True when :meth:`map` with the same arguments would read its coordinates from disk."""
        return self.has_cached_embedding() and self._map_file(method, self._map_params(method, **params)).is_file()

    def _map_file(self, method: str, params: dict[str, Any]) -> Path:
        key = proj_ops.projection_cache_key(self.checkpoint.fingerprint, self._embedding_key(), method, params)
        return self._cache_dir() / f"map-{method}-{key}.npz"

    def map(self, method: str = "umap", n_neighbors: int = UMAP_NEIGHBORS, min_dist: float = UMAP_MIN_DIST,
            seed: int = 0) -> MapData:
        """The dataset sample mapped to 2-D, from the cache or fitted now (UMAP: slow on first fit)."""
        params = self._map_params(method, n_neighbors, min_dist, seed)
        cache_key = f"{method}:{json.dumps(params, sort_keys=True)}"
        if cache_key in self._maps:
            return self._maps[cache_key]
        bundle = self.embedding()
        file = self._map_file(method, params)

        def compute() -> "proj_ops.Projection":
            if method == "umap":
                coords = proj_ops.fit_umap(bundle.mu, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed)
            elif method == "pca":
                coords = proj_ops.fit_pca2(bundle.mu)
            else:
                raise ValueError(f"unknown projection method {method!r}")
            return proj_ops.Projection(coords=coords.astype(np.float32), mu=bundle.mu, ids=list(bundle.ids),
                                       labels=bundle.labels, params={"method": method, **params})

        projection = proj_ops.get_or_compute_projection(file, compute)
        data = MapData(bundle=bundle, projection=projection, method=method)
        with self._lock:
            self._maps.setdefault(cache_key, data)
        return self._maps[cache_key]

    def place(self, mu: np.ndarray, method: str = "umap") -> np.ndarray:
        """New latents [M, Z] → map coordinates [M, 2] without refitting."""
        return proj_ops.place_points(self.map(method).projection, np.atleast_2d(mu))

    def invert(self, xy: np.ndarray, method: str = "umap") -> np.ndarray:
        """A map position [2] → a latent [Z] (inverse-distance blend of the nearest points' μ)."""
        return proj_ops.invert_point(self.map(method).projection, np.asarray(xy, dtype=np.float32))
