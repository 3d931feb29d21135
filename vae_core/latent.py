"""The latent API: encode, decode, sample, interpolate, and the directions sliders move along.

Everything runs under ``torch.inference_mode`` on a model in eval mode and takes/returns numpy, because
its callers are UIs and scripts, not training code. Latents are float32 [B, Z].
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from .data.dataset import to_tensor, to_uint8
from .data.schema import UNKNOWN, AttributeSchema
from .errors import LatentFormatError

LATENT_PREFIX = "cvae1"


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def encode_images(model, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, R, R, 3] (or float [N, 3, R, R] in [0, 1]) → (μ [N, Z], σ [N, Z]) float32."""
    model.eval()
    mus, stds = [], []
    dev = _device(model)
    for i in range(0, len(images), batch_size):
        chunk = images[i:i + batch_size]
        x = to_tensor(np.ascontiguousarray(chunk)) if isinstance(chunk, np.ndarray) else chunk.float()
        post = model.encode(x.to(dev))
        mus.append(post.mean.float().cpu().numpy())
        stds.append(post.std.float().cpu().numpy())
    z = model.config.latent_dim
    if not mus:
        return np.zeros((0, z), np.float32), np.zeros((0, z), np.float32)
    return np.concatenate(mus), np.concatenate(stds)


@torch.inference_mode()
def decode_latents(model, z: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """z [B, Z] → uint8 images [B, R, R, 3]."""
    model.eval()
    zt = torch.as_tensor(np.asarray(z, dtype=np.float32) if not isinstance(z, torch.Tensor) else z).float()
    if zt.ndim == 1:
        zt = zt[None]
    dev = _device(model)
    return np.concatenate([to_uint8(model.decode(zt[i:i + batch_size].to(dev))) for i in range(0, len(zt), batch_size)])


def sample_prior(latent_dim: int, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """n draws from N(0, T²·I) [n, Z], reproducible from ``seed``; T < 1 trades variety for typical faces."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randn(n, latent_dim, generator=g) * float(temperature)).numpy()


def lerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Straight line z0 → z1 inclusive [steps, Z]."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return ((1 - t) * z0[None] + t * z1[None]).astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation [steps, Z]: keeps the norm typical of the Gaussian prior's shell (White 2016).

    The angle is taken between the directions and the norm interpolated linearly, so it is well-defined
    for unequal norms; parallel or zero vectors fall back to lerp.
    """
    n0, n1 = float(np.linalg.norm(z0)), float(np.linalg.norm(z1))
    if n0 < 1e-8 or n1 < 1e-8:
        return lerp(z0, z1, steps)
    u0, u1 = z0 / n0, z1 / n1
    omega = math.acos(float(np.clip(np.dot(u0, u1), -1.0, 1.0)))
    if omega < 1e-4 or math.pi - omega < 1e-4:
        return lerp(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    dirs = (np.sin((1 - t) * omega) * u0[None] + np.sin(t * omega) * u1[None]) / math.sin(omega)
    norms = (1 - t) * n0 + t * n1
    return (dirs * norms).astype(np.float32)


# -- statistics of the posterior over a dataset -----------------------------------------------------
def kl_per_dim_stats(mu: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Mean KL(q(z_i|x) ‖ N(0, 1)) over the data, nats per dim [Z]; ≈ 0 marks a collapsed dim."""
    var = np.square(std.astype(np.float64))
    kl = -0.5 * (1 + np.log(np.maximum(var, 1e-30)) - np.square(mu.astype(np.float64)) - var)
    return kl.mean(0).astype(np.float32)


def active_units(mu: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Active dims (Burda et al. 2016): Cov_x(E_q[z_i]) > threshold. bool [Z]."""
    if len(mu) < 2:
        return np.zeros(mu.shape[1], bool)
    return mu.astype(np.float64).var(0, ddof=1) > threshold


def dims_by_kl(kl: np.ndarray) -> np.ndarray:
    """Latent dims ordered by decreasing KL: the informative ones first."""
    return np.argsort(-np.asarray(kl), kind="stable")


@dataclass(frozen=True)
class PCADirections:
    """Principal axes of the dataset's μ cloud (GANSpace-style sliders): ``mean`` [Z], unit
    ``components`` [k, Z], their ``stds`` [k] and fraction of ``explained_variance`` [k]."""

    mean: np.ndarray
    components: np.ndarray
    stds: np.ndarray
    explained_variance: np.ndarray

    def point(self, coefficients: np.ndarray) -> np.ndarray:
        """Latent at ``mean + Σ c_i·std_i·component_i`` (coefficients in standard deviations) [Z]."""
        c = np.asarray(coefficients, dtype=np.float32)
        return (self.mean + (c * self.stds[: len(c)]) @ self.components[: len(c)]).astype(np.float32)


def pca_directions(mu: np.ndarray, k: int) -> PCADirections:
    x = mu.astype(np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(k, len(s))
    var = s**2 / max(1, len(x) - 1)
    total = var.sum() if var.sum() > 0 else 1.0
    return PCADirections(mean=mean.astype(np.float32), components=vt[:k].astype(np.float32),
                         stds=np.sqrt(var[:k]).astype(np.float32), explained_variance=(var[:k] / total).astype(np.float32))


@dataclass(frozen=True)
class AttributeDirections:
    """For one attribute: per value v (with enough examples) the class mean of μ and
    ``directions[v] = mean(μ | v) − mean(μ | other known values)`` (mean-difference, Z-dim)."""

    name: str
    values: np.ndarray  # [V] the values that have enough examples
    counts: np.ndarray  # [V]
    class_means: np.ndarray  # [V, Z]
    directions: np.ndarray  # [V, Z]


def attribute_directions(mu: np.ndarray, labels: np.ndarray, schema: AttributeSchema,
                         min_count: int = 5) -> dict[str, AttributeDirections]:
    """Mean-difference directions for every attribute with at least two well-populated values."""
    out: dict[str, AttributeDirections] = {}
    for j, name in enumerate(schema.names):
        col = labels[:, j]
        known = col != UNKNOWN
        values, counts = np.unique(col[known], return_counts=True)
        keep = counts >= min_count
        values, counts = values[keep], counts[keep]
        if len(values) < 2:
            continue
        means, dirs = [], []
        for v in values:
            inside = col == v
            other = known & ~inside
            m_in = mu[inside].mean(0)
            means.append(m_in)
            dirs.append(m_in - mu[other].mean(0))
        out[name] = AttributeDirections(name=name, values=values.astype(np.int64), counts=counts.astype(np.int64),
                                        class_means=np.stack(means).astype(np.float32),
                                        directions=np.stack(dirs).astype(np.float32))
    return out


def apply_attribute(z: np.ndarray, directions: AttributeDirections, value: int, strength: float) -> np.ndarray:
    """z + strength·direction(value): strength 1 moves by the full average gap between faces with that value
    and faces without it; negative strengths move away from it."""
    where = np.flatnonzero(directions.values == value)
    if len(where) == 0:
        raise ValueError(f"attribute {directions.name!r} has no direction for value {value}")
    return (np.asarray(z, np.float32) + float(strength) * directions.directions[where[0]]).astype(np.float32)


# -- shareable latent strings ----------------------------------------------------------------------
def format_latent(z: np.ndarray, model_id: str) -> str:
    """``cvae1:<model id>:<base64url float16>``: short enough to paste in a chat, tied to its model."""
    z = np.asarray(z, dtype=np.float32).reshape(-1)
    payload = base64.urlsafe_b64encode(z.astype("<f2").tobytes()).decode().rstrip("=")
    return f"{LATENT_PREFIX}:{model_id}:{payload}"


_FLOAT_LIST = re.compile(r"^[\s\[\(]*[-+0-9.eE,\s]*[\]\)\s]*$")


def parse_latent(text: str, latent_dim: int, model_id: str | None = None) -> np.ndarray:
    """Parse a latent string (or a comma-separated list of floats) into float32 [Z].

    Raises LatentFormatError with a message a user can act on; never anything else.
    """
    if not isinstance(text, str):
        raise LatentFormatError("a latent must be given as text")
    s = text.strip()
    if not s:
        raise LatentFormatError("the latent string is empty; copy one with 'copy latent' first")
    if len(s) > 100_000:
        raise LatentFormatError("the latent string is too long")
    if s.startswith(LATENT_PREFIX + ":"):
        parts = s.split(":")
        if len(parts) != 3:
            raise LatentFormatError(f"expected '{LATENT_PREFIX}:<model id>:<data>', got {len(parts)} ':'-separated parts")
        _, mid, payload = parts
        if model_id is not None and mid != model_id:
            raise LatentFormatError(
                f"this latent was copied from another model ({mid}); the current model is {model_id}. "
                "Switch to that checkpoint, or paste a latent copied from this one")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (ValueError, TypeError):
            raise LatentFormatError("the latent data is not valid base64") from None
        if len(raw) != 2 * latent_dim:
            raise LatentFormatError(
                f"the latent has {len(raw) // 2} dimensions but this model has {latent_dim}")
        z = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif _FLOAT_LIST.match(s):
        try:
            z = np.array([float(t) for t in s.strip("[]() \n\t").replace(",", " ").split()], dtype=np.float32)
        except ValueError:
            raise LatentFormatError("could not read the numbers in the latent list") from None
        if len(z) != latent_dim:
            raise LatentFormatError(f"the list has {len(z)} numbers but this model has {latent_dim} latent dims")
    else:
        raise LatentFormatError(
            f"not a latent string: expected '{LATENT_PREFIX}:<model id>:<data>' or {latent_dim} comma-separated numbers")
    if not np.isfinite(z).all():
        raise LatentFormatError("the latent contains NaN or infinite values")
    if np.abs(z).max(initial=0) > 1000:
        raise LatentFormatError("the latent has values beyond ±1000; it cannot come from this model")
    return z
