"""The latent API the explorer app and the CLI use: encode, decode, interpolate, and the directions sliders move
along (random codes: :mod:`vae_core.sampling`; the copy/paste string: :mod:`vae_core.latent_string`).

Why numpy in and out: the callers are UIs and scripts, not training code. Model calls run batched under
``torch.inference_mode`` with the model in eval mode (batch norm on running statistics); the model's
train/eval mode is restored afterwards, so a training loop can call in safely. Latents are float32 [B, Z]
in the units of the prior N(0, I).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .data.dataset import to_tensor, to_uint8
from .data.schema import UNKNOWN, AttributeSchema
from .direction_kinds import DEFAULT_DIRECTIONS, DIRECTION_KINDS, check_direction_kind
from .errors import DatasetError
from .inference import eval_mode, model_device
from .model import ConvVAE



# -- model calls ------------------------------------------------------------------------------------
def _as_model_input(chunk: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [B, R, R, 3] (numpy or tensor) → float [B, 3, R, R] in [0, 1]; float tensors pass through."""
    if isinstance(chunk, np.ndarray):
        if chunk.dtype != np.uint8:
            raise ValueError(f"numpy images must be uint8 [N, R, R, 3], got {chunk.dtype} {list(chunk.shape)}")
        return to_tensor(np.ascontiguousarray(chunk))
    if chunk.dtype == torch.uint8:
        return chunk.permute(0, 3, 1, 2).float().div(255.0)
    return chunk.float()


def encode_images(model: ConvVAE, images: np.ndarray | torch.Tensor,
                  batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Posterior q(z|x) of each image: (μ [N, Z], σ [N, Z]) float32 numpy.

    ``images``: uint8 [N, R, R, 3] (numpy or tensor; a single [R, R, 3] image counts as N = 1) or a
    float tensor [N, 3, R, R] in [0, 1]. Encoded ``batch_size`` at a time, so N can be the whole dataset
    (even a memory map) without holding it as float.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    is_hwc = isinstance(images, np.ndarray) or images.dtype == torch.uint8
    if is_hwc and images.ndim == 3:
        images = images[None]
    z_dim = model.config.latent_dim
    mus: list[np.ndarray] = []
    stds: list[np.ndarray] = []
    device = model_device(model)
    with eval_mode(model), torch.inference_mode():
        for i in range(0, len(images), batch_size):
            post = model.encode(_as_model_input(images[i:i + batch_size]).to(device))
            mus.append(post.mean.float().cpu().numpy())
            stds.append(post.std.float().cpu().numpy())
    if not mus:
        return np.zeros((0, z_dim), np.float32), np.zeros((0, z_dim), np.float32)
    return np.concatenate(mus), np.concatenate(stds)


def decode_latents(model: ConvVAE, z: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Decode latents [B, Z] (or one [Z]) to uint8 images [B, R, R, 3] (the decoder mean, no pixel noise)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    zt = z.detach().float().cpu() if isinstance(z, torch.Tensor) else torch.from_numpy(np.asarray(z, np.float32))
    if zt.ndim == 1:
        zt = zt[None]
    if not torch.isfinite(zt).all():
        raise ValueError("latents must be finite")
    r = model.config.resolution
    if len(zt) == 0:
        return np.zeros((0, r, r, 3), np.uint8)
    device = model_device(model)
    with eval_mode(model), torch.inference_mode():
        out = [to_uint8(model.decode(zt[i:i + batch_size].to(device))) for i in range(0, len(zt), batch_size)]
    return np.concatenate(out)


# -- interpolation ----------------------------------------------------------------------------------
def _pair(z0: np.ndarray, z1: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(z0, np.float64).reshape(-1)
    b = np.asarray(z1, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"endpoints must have the same size, got {a.size} and {b.size}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return a, b


def lerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Straight line from z0 to z1, both endpoints included: float32 [steps, Z] (steps = 1 gives [z0])."""
    a, b = _pair(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    out = (1 - t) * a[None] + t * b[None]
    out[0] = a
    if steps > 1:
        out[-1] = b
    return out.astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation z0 → z1, endpoints included: float32 [steps, Z] (White 2016).

    Why: under a Gaussian prior almost all mass lies near the shell |z| ≈ √Z, and a straight line between
    two samples cuts through the low-norm interior, giving washed-out faces. Here the *direction* moves
    along the great circle and the *norm* is interpolated linearly, so equal-norm endpoints keep their
    norm all the way, and unequal norms change monotonically.

    Degenerate cases are well defined: a zero endpoint or (nearly) parallel directions → lerp;
    antiparallel directions → rotate through a fixed perpendicular direction (Z = 1: lerp).
    """
    a, b = _pair(z0, z1, steps)
    n0, n1 = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if n0 < 1e-12 or n1 < 1e-12:
        return lerp(a, b, steps)
    u0, u1 = a / n0, b / n1
    cos = float(np.clip(u0 @ u1, -1.0, 1.0))
    omega = math.acos(cos)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    norms = (1 - t) * n0 + t * n1
    if omega < 1e-6:
        return lerp(a, b, steps)
    if math.pi - omega < 1e-6:
        if a.size == 1:
            return lerp(a, b, steps)
        # The great circle through u0 and -u0 is not unique: use the basis axis least aligned with u0,
        # made orthogonal to it (deterministic for given endpoints).
        e = np.zeros_like(u0)
        e[int(np.argmin(np.abs(u0)))] = 1.0
        p = e - (e @ u0) * u0
        p /= np.linalg.norm(p)
        dirs = np.cos(t * math.pi) * u0[None] + np.sin(t * math.pi) * p[None]
    else:
        dirs = (np.sin((1 - t) * omega) * u0[None] + np.sin(t * omega) * u1[None]) / math.sin(omega)
    out = dirs * norms
    out[0] = a
    if steps > 1:
        out[-1] = b
    return out.astype(np.float32)


# -- statistics of the posterior over a dataset -----------------------------------------------------
def kl_per_dim_stats(mu: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Mean over images of KL(q(z_i|x) ‖ N(0, 1)) in nats, per dim: μ, σ [N, Z] → float64 [Z].

    A dim with mean KL ≈ 0 carries no information about x (posterior collapse).
    """
    m = np.asarray(mu, np.float64)
    s = np.asarray(std, np.float64)
    if m.shape != s.shape or m.ndim != 2:
        raise ValueError(f"mu and std must both be [N, Z], got {list(m.shape)} and {list(s.shape)}")
    if len(m) == 0:
        return np.zeros(m.shape[1])
    var = np.square(s)
    kl = 0.5 * (np.square(m) + var - 1.0 - np.log(np.maximum(var, 1e-300)))
    return kl.mean(axis=0)


def active_units(mu: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Active dims (Burda et al. 2016): Cov_x(E_q[z_i]) = Var over images of μ_i > threshold. bool [Z].

    Uses the population variance (ddof = 0), like the evaluation report; fewer than 2 images → none active.
    """
    m = np.asarray(mu, np.float64)
    if m.ndim != 2:
        raise ValueError(f"mu must be [N, Z], got {list(m.shape)}")
    if len(m) < 2:
        return np.zeros(m.shape[1], bool)
    return m.var(axis=0) > threshold


def dims_by_kl(kl: np.ndarray) -> np.ndarray:
    """Dim indices by decreasing KL (most informative first; ties keep index order): int64 [Z]."""
    return np.argsort(-np.asarray(kl, np.float64), kind="stable").astype(np.int64)


# -- PCA directions (GANSpace-style) --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PCADirections:
    """Principal axes of the dataset's μ cloud, for sliders that move along the data's main variations.

    ``mean`` [Z]; ``components`` [k, Z] unit vectors, by decreasing variance, each signed so that its
    largest-magnitude entry is positive (deterministic); ``explained_variance`` [k] the variance of μ
    along each (sample variance, ddof = 1); ``stds`` [k] its square root; ``explained_variance_ratio``
    [k] the fraction of the total variance of μ.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    stds: np.ndarray
    explained_variance_ratio: np.ndarray

    def point(self, coefficients: np.ndarray) -> np.ndarray:
        """Latent ``mean + Σ_i c_i·stds_i·components_i`` for coefficients in standard deviations [≤ k] → [Z]."""
        c = np.asarray(coefficients, np.float32).reshape(-1)
        if len(c) > len(self.stds):
            raise ValueError(f"{len(c)} coefficients for {len(self.stds)} components")
        return (self.mean + (c * self.stds[: len(c)]) @ self.components[: len(c)]).astype(np.float32)

    def move(self, z: np.ndarray, component: int, sigmas: float) -> np.ndarray:
        """z [Z] or [B, Z] moved ``sigmas`` standard deviations of the data along one component."""
        step = float(sigmas) * self.stds[component] * self.components[component]
        return (np.asarray(z, np.float32) + step).astype(np.float32)


def pca_directions(mu: np.ndarray, k: int) -> PCADirections:
    """Top-k principal directions of μ [N, Z] by SVD of the centred data (k is capped at min(N, Z))."""
    x = np.asarray(mu, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"pca_directions needs mu [N >= 2, Z], got {list(x.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(k, len(s))
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    var = s**2 / (len(x) - 1)
    total = float(var.sum())
    ratio = var[:k] / total if total > 0 else np.zeros(k)
    return PCADirections(mean=mean.astype(np.float32), components=comps.astype(np.float32),
                         explained_variance=var[:k].astype(np.float32), stds=np.sqrt(var[:k]).astype(np.float32),
                         explained_variance_ratio=ratio.astype(np.float32))


# -- attribute directions ---------------------------------------------------------------------------
#: A conditional direction that keeps less than this fraction of the plain one's length falls back to it.
CONDITIONAL_MIN_KEPT = 0.5
#: Shuffles of the faces against their labels that set the noise floor of the subspace a conditional direction
#: is made orthogonal to (:func:`conditional_directions`).
NULL_PERMUTATIONS = 5


@dataclass(frozen=True, eq=False)
class AttributeDirections:
    """Directions of one labelled attribute, one per value.

    For each value v in ``values`` [V] (those with ≥ min_count labelled examples, and ≥ min_count
    examples of other known values): ``class_means[i]`` = mean(μ | a = v) [Z]; ``counts[i]`` the examples
    of v. Unknown labels (-1) are left out of every mean.

    ``kind`` says what ``directions`` [V, Z] hold (see :data:`DIRECTION_KINDS`):

    - ``"plain"``: the mean difference mean(μ | a = v) − mean(μ | a known, a ≠ v);
    - ``"conditional"``: that difference with the other attributes' directions projected out
      (:func:`conditional_directions`). Then ``kept[i]`` is the fraction of the plain direction's length
      that survived the projection, ``fallback[i]`` is True where too little survived and the plain
      direction was kept instead, and ``projected_rank`` is the dimension of the subspace projected out.
      For plain directions ``kept`` and ``fallback`` are None and ``projected_rank`` is 0.
    """

    name: str
    values: np.ndarray
    counts: np.ndarray
    class_means: np.ndarray
    directions: np.ndarray
    kind: str = "plain"
    kept: np.ndarray | None = None
    fallback: np.ndarray | None = None
    projected_rank: int = 0

    def index_of(self, value: int) -> int:
        where = np.flatnonzero(self.values == int(value))
        if len(where) == 0:
            raise DatasetError(
                f"attribute {self.name!r} has no direction for value {value}: too few labelled examples; "
                f"available values: {', '.join(str(int(v)) for v in self.values)}")
        return int(where[0])


def attribute_directions(mu: np.ndarray, labels: np.ndarray, schema: AttributeSchema,
                         min_count: int = 5, kind: str = "plain") -> dict[str, AttributeDirections]:
    """Per attribute of ``schema`` the directions of its values (see :class:`AttributeDirections`).
    μ [N, Z], labels int [N, A] with -1 = unknown. Attributes with no usable value are left out of the
    result. ``kind``: ``"plain"`` mean differences, or ``"conditional"`` ones
    (:func:`conditional_directions` of the plain ones, with its defaults).
    """
    check_direction_kind(kind)
    m = np.asarray(mu, np.float64)
    lab = np.asarray(labels)
    if m.ndim != 2 or lab.ndim != 2 or len(m) != len(lab) or lab.shape[1] != len(schema):
        raise ValueError(f"need mu [N, Z] and labels [N, {len(schema)}], got {list(m.shape)} and {list(lab.shape)}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    plain = _plain_directions(m, lab, schema, min_count)
    return plain if kind == "plain" else conditional_directions(plain, m, lab, schema)


def _plain_directions(m: np.ndarray, lab: np.ndarray, schema: AttributeSchema,
                      min_count: int) -> dict[str, AttributeDirections]:
    out: dict[str, AttributeDirections] = {}
    for j, name in enumerate(schema.names):
        col = lab[:, j]
        known = col != UNKNOWN
        n_known = int(known.sum())
        if n_known == 0:
            continue
        values, counts = np.unique(col[known], return_counts=True)
        keep = (counts >= min_count) & (n_known - counts >= min_count)
        if not keep.any():
            continue
        sum_known = m[known].sum(axis=0)
        means, dirs = [], []
        for v, c in zip(values[keep], counts[keep]):
            s_in = m[col == v].sum(axis=0)
            m_in = s_in / c
            means.append(m_in)
            dirs.append(m_in - (sum_known - s_in) / (n_known - c))
        out[name] = AttributeDirections(
            name=name, values=values[keep].astype(np.int64), counts=counts[keep].astype(np.int64),
            class_means=np.stack(means).astype(np.float32), directions=np.stack(dirs).astype(np.float32))
    return out


def _noise_scaled_rows(m: np.ndarray, lab: np.ndarray, schema: AttributeSchema,
                       dirs: Mapping[str, AttributeDirections]) -> dict[str, np.ndarray]:
    """Per attribute of ``dirs``, the mean differences of its values [V, Z] recomputed from μ ``m`` [N, Z] and
    ``lab``, divided by their standard-error factor √(1/n_v + 1/n_rest): in these units a direction estimated
    from labels unrelated to the faces has the same spread whatever its value's count, so a rare value's
    noisy direction does not outweigh a common one's. One matrix product for all values."""
    names = list(dirs)
    cols = [lab[:, schema.index(n)] for n in names]
    indicator = np.concatenate([(c[:, None] == dirs[n].values[None, :]) for n, c in zip(names, cols)], axis=1)
    known = np.stack([c != UNKNOWN for c in cols], axis=1)
    sums = np.concatenate([indicator, known], axis=1).astype(np.float64).T @ m  # [ΣV + A, Z]
    counts = indicator.sum(axis=0).astype(np.float64)
    out, i = {}, 0
    for a, n in enumerate(names):
        v = len(dirs[n].values)
        s_in, c = sums[i:i + v], counts[i:i + v]
        n_known = float(known[:, a].sum())
        if not ((c > 0) & (c < n_known)).all():
            raise ValueError(f"the directions of {n!r} do not come from these labels (a value has no faces)")
        diff = s_in / c[:, None] - (sums[len(counts) + a][None] - s_in) / (n_known - c)[:, None]
        out[n] = diff / np.sqrt(1.0 / c + 1.0 / (n_known - c))[:, None]
        i += v
    return out


def _row_space_basis(rows: np.ndarray, floor: float, rtol: float = 1e-5) -> np.ndarray:
    """Orthonormal basis [k, Z] of the right singular vectors of ``rows`` [M, Z] whose singular value exceeds
    ``floor`` and ``rtol`` × the largest. From the eigen-decomposition of the M × M Gram matrix (the SVD's
    answer, 3–4× faster for M ≈ Z: with conditional sliders an app's checkpoint switch computes this)."""
    lam, u = np.linalg.eigh(rows @ rows.T)
    sv = np.sqrt(np.clip(lam, 0.0, None))
    keep = sv > max(floor, rtol * (sv[-1] if len(sv) else 0.0))
    return ((rows.T @ u[:, keep]) / sv[keep]).T[::-1]


def conditional_directions(plain: Mapping[str, AttributeDirections], mu: np.ndarray, labels: np.ndarray,
                           schema: AttributeSchema, *, min_kept: float = CONDITIONAL_MIN_KEPT,
                           permutations: int = NULL_PERMUTATIONS, seed: int = 0) -> dict[str, AttributeDirections]:
    """Each attribute value's direction with the other attributes' directions projected out (InterFaceGAN's
    conditional manipulation, Shen et al. 2020), from the ``plain`` directions of μ [N, Z] / ``labels`` [N, A].

    Why: a plain mean difference carries whatever goes with the value in the data. When labels are
    correlated, the direction of one also moves the other (on the shipped real-face sample "brown hair"
    moves age, since "young" there means "hair neither white nor colour 0"). Removing the part of
    ``d = plain[a][v]`` that lies in the span of every *other* attribute's directions leaves the part that
    only ``a`` explains. Whether that edits better is measured, not assumed: docs/latent-space.md
    ("Plain or conditional directions") has the numbers behind :data:`DEFAULT_DIRECTIONS`.

    How, for attribute a:

    1. The other attributes' directions (all their values) are stacked, each row in standard-error units
       (``_noise_scaled_rows``), and an orthonormal basis B of their span comes from an eigen-decomposition
       (``_row_space_basis``). Only singular values above a noise floor count: the largest singular value
       of the stack of *all* attributes' directions computed with the faces shuffled against their labels
       (the most of ``permutations`` seeded shuffles; Horn's parallel analysis, with the whole stack's top
       value as one conservative floor), and above 1e-5 of the largest (the numerical rank: a binary
       attribute's two directions are one line, a categorical one's V directions span V − 1 dims).
       Why a noise floor: the synthetic model's 18 attributes have 217 value directions in 256 dims, whose
       numerical span is nearly everything; projecting all of it out left 1–3 % of the length of every
       direction but the hair styles' (the floor keeps about 30 dims, 15 for the hair styles, and 45–95 %
       of each direction). ``permutations = 0``: the full numerical span.
    2. ``d' = d − B Bᵀ d``.
    3. Scaled so that ``d''ᵀ d = dᵀ d``: ``d'' = d' · (dᵀd / d'ᵀd')``. Why this scale: the move along the
       attribute's own mean difference is the plain one, so "strength 1 ≈ the average gap between faces
       with and without v" keeps its meaning and the slider reaches the target about as often as the plain
       one. Leaving ``d'`` unscaled makes every edit shorter, and a shorter edit both reaches the target
       less and leaks less, which says nothing about the direction. The price is length:
       ``|d''| = |d| / kept`` with ``kept = |d'| / |d|``. (Keeping ``|d''| = |d|`` instead was measured too:
       less reach at each strength, and at equal reach the same leakage within ±0.005.)
    4. Where ``kept < min_kept`` the value's direction lies (almost) in the others' span: the data cannot
       tell it apart from them (and ``d''`` would be more than 1/min_kept times as long as ``d``), so the
       plain direction is kept and ``fallback`` says so. With the default 0.5 a conditional direction is
       at most twice as long as the plain one.

    An attribute alone (no other attribute has directions) is returned unchanged (``kept`` = 1).
    """
    if not 0.0 <= float(min_kept) <= 1.0:
        raise ValueError(f"min_kept must be within 0..1, got {min_kept}")
    if permutations < 0:
        raise ValueError(f"permutations must be >= 0, got {permutations}")
    m = np.asarray(mu, np.float64)
    lab = np.asarray(labels)
    if m.ndim != 2 or lab.ndim != 2 or len(m) != len(lab) or lab.shape[1] != len(schema):
        raise ValueError(f"need mu [N, Z] and labels [N, {len(schema)}], got {list(m.shape)} and {list(lab.shape)}")
    names = list(plain)
    rows = _noise_scaled_rows(m, lab, schema, plain) if len(names) > 1 else {}
    rng = np.random.default_rng(seed)
    noise_floor = 0.0
    for _ in range(permutations if len(names) > 1 else 0):
        null = _noise_scaled_rows(m[rng.permutation(len(m))], lab, schema, plain)
        stack = np.concatenate(list(null.values()))
        noise_floor = max(noise_floor, float(np.sqrt(max(np.linalg.eigvalsh(stack @ stack.T)[-1], 0.0))))
    out: dict[str, AttributeDirections] = {}
    for name in names:
        d = plain[name]
        plain_dirs = np.asarray(d.directions, np.float64)
        others = [n for n in names if n != name]
        if not others:
            out[name] = dataclasses.replace(d, kind="conditional", kept=np.ones(len(d.values), np.float32),
                                            fallback=np.zeros(len(d.values), bool), projected_rank=0)
            continue
        basis = _row_space_basis(np.concatenate([rows[n] for n in others]), noise_floor)
        resid = plain_dirs - (plain_dirs @ basis.T) @ basis
        norm_d = np.linalg.norm(plain_dirs, axis=1)
        norm_r = np.linalg.norm(resid, axis=1)
        kept = np.divide(norm_r, norm_d, out=np.zeros_like(norm_d), where=norm_d > 0)
        fallback = kept < float(min_kept)
        scale = np.divide(norm_d**2, norm_r**2, out=np.zeros_like(norm_d), where=~fallback)
        dirs = np.where(fallback[:, None], plain_dirs, resid * scale[:, None])
        out[name] = dataclasses.replace(d, directions=dirs.astype(np.float32), kind="conditional",
                                        kept=kept.astype(np.float32), fallback=fallback,
                                        projected_rank=int(len(basis)))
    return out


def apply_attribute(z: np.ndarray, directions: Mapping[str, AttributeDirections], attribute: str, value: int,
                    strength: float) -> np.ndarray:
    """Edit latent(s) z [Z] or [B, Z] toward attribute value v: ``z + strength · directions_v``.

    Semantics: strength 1 adds the full average gap between faces with value v and faces with other
    values (for a typical face of another value, roughly "becomes v"); 0 leaves z unchanged; negative
    strengths push away from v. Sliders use strength ∈ [-2, 2]. Additive (not "set to the class mean")
    so the rest of the face is kept.
    """
    if attribute not in directions:
        raise DatasetError(f"no directions for attribute {attribute!r}; available: {', '.join(directions) or 'none'}")
    d = directions[attribute]
    if not math.isfinite(float(strength)):
        raise ValueError(f"strength must be finite, got {strength}")
    zz = np.asarray(z, np.float32)
    if zz.shape[-1] != d.directions.shape[1]:
        raise ValueError(f"z has {zz.shape[-1]} dims, the directions {d.directions.shape[1]}")
    return (zz + float(strength) * d.directions[d.index_of(value)]).astype(np.float32)


__all__ = [
    "CONDITIONAL_MIN_KEPT", "DEFAULT_DIRECTIONS", "DIRECTION_KINDS", "NULL_PERMUTATIONS",
    "AttributeDirections", "PCADirections", "active_units", "apply_attribute", "attribute_directions",
    "check_direction_kind", "conditional_directions", "decode_latents", "dims_by_kl", "encode_images", 
    "kl_per_dim_stats", "lerp", "pca_directions", "slerp",
]
