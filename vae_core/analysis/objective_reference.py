"""What one face's objective is compared with, computed once per checkpoint and cached in it.

Why cached: the app's Objective view and Reconstruct report place a face against the checkpoint's held-out faces
(their −ELBO in bits/dim) and show how the aggregate posterior q(z) = mean_x q(z|x) differs from the N(0, I)
prior (the "prior hole" that makes faces drawn from the prior look like ghosts). Neither depends on the visitor,
so neither belongs on a request path that strangers share. Both come from what a shipped checkpoint already
carries (its held-out example faces and the encoded dataset sample of ``projections/``), so no dataset is
needed, and they take seconds.

Files (JSON, written atomically; nothing is pickled):

- ``analysis/objective-<weights sha256[:16]>.json``: keyed by the weights, so a retrained checkpoint recomputes
  it; holds the held-out faces' per-face terms and the aggregate-posterior statistics;
- ``analysis/beta-sweep.json``: the β-sweep the app plots (short runs of ``python -m vae_core beta-sweep``,
  imported with ``--sweep``). Not keyed by the weights: its runs are separate models; the checkpoint's own
  point is computed from the first file.

Rebuild both for a checkpoint (e.g. after retraining it)::

    python -m vae_core.analysis.objective_reference --checkpoint checkpoints/default \\
        [--sweep sweep.json --sweep-command "python -m vae_core beta-sweep …"]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..checkpoint import current_command, read_json_file
from ..errors import CheckpointError, VaeCoreError
from ..objective import DEFAULT_SAMPLES, faces_bits_per_dim

if TYPE_CHECKING:
    from ..explorer import Explorer

log = logging.getLogger(__name__)

FORMAT = "cartoon-vae-objective-reference"
SWEEP_FORMAT = "cartoon-vae-beta-sweep"
FORMAT_VERSION = 1
SWEEP_FILE = "beta-sweep.json"
_MAX_BYTES = 5_000_000
#: Bins of the ‖z‖ histograms, and how many dims get a marginal histogram (the most informative by KL).
NORM_BINS = 40
MARGINAL_DIMS = 4
MARGINAL_BINS = 48
#: The marginal histograms cover ±this (the prior's 6σ); draws beyond it (rare) are left out, not piled into
#: the edge bins.
MARGINAL_RANGE = 6.0
#: "Far outside" the held-out faces: this many held-out standard deviations beyond their range's edge.
FAR_SDS = 3.0


@dataclass(frozen=True, eq=False)
class HeldOut:
    """Per held-out face (the checkpoint's example faces): ids and −ELBO terms [N] (β = 1)."""

    ids: list[str]
    bits_per_dim: np.ndarray
    nelbo_8bit: np.ndarray
    recon_nll: np.ndarray
    kl: np.ndarray

    def placement(self, bits: float) -> "Placement":
        """Where a face's bits/dim lies against these faces (see :class:`Placement`)."""
        v = self.bits_per_dim
        lo, hi, mean, sd = float(v.min()), float(v.max()), float(v.mean()), float(v.std())
        rank = float((v < bits).mean())
        if lo <= bits <= hi:
            verdict = "within"
        elif bits > hi + FAR_SDS * sd or bits < lo - FAR_SDS * sd:
            verdict = "far_above" if bits > hi else "far_below"
        else:
            verdict = "above" if bits > hi else "below"
        return Placement(bits=float(bits), low=lo, high=hi, mean=mean, sd=sd, n=len(v), fraction_below=rank,
                         verdict=verdict)


@dataclass(frozen=True)
class Placement:
    """A face's −ELBO (bits/dim) against ``n`` held-out faces: their range [low, high], mean and standard
    deviation, the fraction of them that score lower (better), and a ``verdict``: ``within`` the range,
    ``above``/``below`` it, or ``far_above``/``far_below`` (more than :data:`FAR_SDS` standard deviations
    beyond its edge)."""

    bits: float
    low: float
    high: float
    mean: float
    sd: float
    n: int
    fraction_below: float
    verdict: str


@dataclass(frozen=True, eq=False)
class Aggregate:
    """The aggregate posterior q(z) of the encoded dataset sample (``n`` faces), per dim [Z]: its mean and
    standard deviation (√(Var_x μ + E_x σ²)), the spread of the means (std of μ) and the mean posterior σ, the
    mean KL (nats) and whether the dim is active (Var_x μ > 0.01). ``norms``: histograms of ‖μ‖, of ‖z‖ for
    z ~ q(z) (one draw per face) and of ‖z‖ for z ~ N(0, I) (as many draws), on shared ``norm_edges``.
    ``marginals``: for the :data:`MARGINAL_DIMS` dims of largest KL, the histogram density of z_j ~ q(z_j)
    on ``marginal_edges`` (the prior's is N(0, 1))."""

    n: int
    mean: np.ndarray
    std: np.ndarray
    mu_std: np.ndarray
    mean_sigma: np.ndarray
    kl_per_dim: np.ndarray
    active: np.ndarray
    norm_edges: np.ndarray
    norm_hist: dict[str, np.ndarray]
    marginal_dims: list[int]
    marginal_edges: np.ndarray
    marginal_density: np.ndarray

    @property
    def active_units(self) -> int:
        return int(self.active.sum())


@dataclass(frozen=True, eq=False)
class ObjectiveReference:
    weights_sha256: str
    heldout: HeldOut
    aggregate: Aggregate
    n_samples: int
    seed: int
    created: str = ""
    command: str = ""


# -- computing -------------------------------------------------------------------------------------------------
def _aggregate(mu: np.ndarray, std: np.ndarray, seed: int) -> Aggregate:
    mu = np.asarray(mu, np.float64)
    std = np.asarray(std, np.float64)
    n, zdim = mu.shape
    rng = np.random.default_rng(seed)
    z_post = mu + std * rng.standard_normal(mu.shape)
    z_prior = rng.standard_normal(mu.shape)
    norms = {"mu": np.linalg.norm(mu, axis=1), "posterior": np.linalg.norm(z_post, axis=1),
             "prior": np.linalg.norm(z_prior, axis=1)}
    hi = max(float(v.max()) for v in norms.values())
    lo = min(float(v.min()) for v in norms.values())
    edges = np.linspace(math.floor(lo), math.ceil(hi), NORM_BINS + 1)
    kl = (-0.5 * (1 + 2 * np.log(np.maximum(std, 1e-12)) - mu ** 2 - std ** 2)).mean(axis=0)
    var_mu = mu.var(axis=0)
    order = np.argsort(-kl, kind="stable")[:MARGINAL_DIMS]
    m_edges = np.linspace(-MARGINAL_RANGE, MARGINAL_RANGE, MARGINAL_BINS + 1)
    dens = np.stack([np.histogram(z_post[:, j], bins=m_edges, density=True)[0] for j in order])
    return Aggregate(
        n=n, mean=mu.mean(axis=0), std=np.sqrt(var_mu + (std ** 2).mean(axis=0)), mu_std=np.sqrt(var_mu),
        mean_sigma=std.mean(axis=0), kl_per_dim=kl, active=var_mu > 0.01, norm_edges=edges,
        norm_hist={k: np.histogram(v, bins=edges)[0].astype(np.float64) for k, v in norms.items()},
        marginal_dims=[int(j) for j in order], marginal_edges=m_edges, marginal_density=dens)


def compute_reference(explorer: "Explorer", n_samples: int = DEFAULT_SAMPLES, seed: int = 0) -> ObjectiveReference:
    """Held-out terms of the checkpoint's example faces and the aggregate posterior of its encoded sample."""
    b = explorer.embedding()
    if len(b.examples) == 0:
        raise CheckpointError("this checkpoint has no held-out example faces to compare a face's ELBO with")
    terms = faces_bits_per_dim(explorer.model, b.examples, n_samples=n_samples, seed=seed)
    held = HeldOut(ids=[str(i) for i in b.example_ids], **terms)
    return ObjectiveReference(weights_sha256=explorer.checkpoint.fingerprint, heldout=held,
                              aggregate=_aggregate(b.mu, b.std, seed), n_samples=n_samples, seed=seed,
                              created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), command=current_command())


# -- the cache files -------------------------------------------------------------------------------------------
def reference_path(explorer: "Explorer") -> Path:
    return explorer.path / "analysis" / f"objective-{explorer.checkpoint.fingerprint[:16]}.json"


def _floats(a: np.ndarray, digits: int = 6) -> list:
    return np.round(np.asarray(a, np.float64), digits).tolist()


def to_dict(ref: ObjectiveReference) -> dict[str, Any]:
    h, a = ref.heldout, ref.aggregate
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "weights_sha256": ref.weights_sha256,
        "created": ref.created, "command": ref.command, "n_samples": ref.n_samples, "seed": ref.seed,
        "heldout": {"ids": h.ids, "bits_per_dim": _floats(h.bits_per_dim), "nelbo_8bit": _floats(h.nelbo_8bit, 3),
                    "recon_nll": _floats(h.recon_nll, 3), "kl": _floats(h.kl, 4)},
        "aggregate": {"n": a.n, "mean": _floats(a.mean), "std": _floats(a.std), "mu_std": _floats(a.mu_std),
                      "mean_sigma": _floats(a.mean_sigma), "kl_per_dim": _floats(a.kl_per_dim),
                      "active": [bool(v) for v in a.active], "norm_edges": _floats(a.norm_edges),
                      "norm_hist": {k: _floats(v, 1) for k, v in a.norm_hist.items()},
                      "marginal_dims": a.marginal_dims, "marginal_edges": _floats(a.marginal_edges),
                      "marginal_density": _floats(a.marginal_density)},
    }


def from_dict(d: Any, source: str = "the objective reference") -> ObjectiveReference:
    """Parse a cached reference; :class:`CheckpointError` naming ``source`` when anything is off."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{source} is not a cartoon-vae objective reference")
    if d.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{source} has format version {d.get('format_version')!r}, this vae_core reads "
                              f"{FORMAT_VERSION}: rebuild it (python -m vae_core.analysis.objective_reference)")
    try:
        h, a = d["heldout"], d["aggregate"]
        arr = lambda v: np.asarray(v, np.float64)  # noqa: E731
        held = HeldOut(ids=[str(i) for i in h["ids"]], bits_per_dim=arr(h["bits_per_dim"]),
                       nelbo_8bit=arr(h["nelbo_8bit"]), recon_nll=arr(h["recon_nll"]), kl=arr(h["kl"]))
        if len(held.bits_per_dim) == 0 or not np.isfinite(held.bits_per_dim).all():
            raise ValueError("no finite held-out values")
        agg = Aggregate(n=int(a["n"]), mean=arr(a["mean"]), std=arr(a["std"]), mu_std=arr(a["mu_std"]),
                        mean_sigma=arr(a["mean_sigma"]), kl_per_dim=arr(a["kl_per_dim"]),
                        active=np.asarray(a["active"], bool), norm_edges=arr(a["norm_edges"]),
                        norm_hist={str(k): arr(v) for k, v in dict(a["norm_hist"]).items()},
                        marginal_dims=[int(j) for j in a["marginal_dims"]], marginal_edges=arr(a["marginal_edges"]),
                        marginal_density=arr(a["marginal_density"]))
        return ObjectiveReference(weights_sha256=str(d["weights_sha256"]), heldout=held, aggregate=agg,
                                  n_samples=int(d["n_samples"]), seed=int(d["seed"]), created=str(d.get("created", "")),
                                  command=str(d.get("command", "")))
    except KeyError as e:
        raise CheckpointError(f"{source} lacks the {e.args[0]!r} entry; rebuild it") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{source} is malformed ({type(e).__name__}: {e}); rebuild it") from None


def save_reference(explorer: "Explorer", ref: ObjectiveReference) -> Path:
    return atomic_write_bytes(reference_path(explorer), json.dumps(to_dict(ref), separators=(",", ":")).encode())


def load_reference(explorer: "Explorer") -> ObjectiveReference | None:
    """The cached reference of these weights, or None when there is none (a stale or broken file is refused)."""
    path = reference_path(explorer)
    if not path.is_file():
        return None
    ref = from_dict(read_json_file(path, _MAX_BYTES, "an objective reference", "rebuild it"), source=str(path.name))
    if ref.weights_sha256 != explorer.checkpoint.fingerprint:
        raise CheckpointError(f"{path.name} was computed for other weights; rebuild it")
    return ref


def reference(explorer: "Explorer") -> ObjectiveReference:
    """The cached reference, else computed now and cached (seconds; a read-only folder keeps it in memory)."""
    try:
        found = load_reference(explorer)
    except CheckpointError as e:
        log.warning("%s; recomputing the objective reference", e)
        found = None
    if found is not None:
        return found
    ref = compute_reference(explorer)
    try:
        save_reference(explorer, ref)
    except OSError as e:
        log.warning("cannot cache the objective reference in %s (%s)", explorer.path, e)
    return ref


# -- the β-sweep -----------------------------------------------------------------------------------------------
SWEEP_FIELDS = ("beta", "rate", "distortion", "distortion_term", "nelbo", "mse", "psnr", "ssim", "active_units",
                "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap")


@dataclass(frozen=True)
class SweepPoint:
    """One short run of the sweep: β, rate = KL and distortion = E_q[−log p(x|z)] (nats/image, [0, 1] pixels,
    held-out; ``distortion_term``: the same without the Gaussian's constant, Σ(x − x̂)²/(2σ²), the reconstruction
    term of the loss), −ELBO, MSE/PSNR/SSIM, active units and the disentanglement scores."""

    beta: float
    rate: float
    distortion: float
    distortion_term: float
    nelbo: float
    mse: float
    psnr: float
    ssim: float
    active_units: int
    mig: float
    dci_disentanglement: float
    dci_completeness: float
    dci_informativeness: float
    sap: float


@dataclass(frozen=True)
class Sweep:
    """A shipped β-sweep: its points (by β), the data and recipe they were trained on and the command."""

    points: list[SweepPoint]
    dataset: str
    command: str
    latent_dim: int
    note: str = ""


def sweep_from_cli_json(d: Any, command: str, note: str = "") -> Sweep:
    """``python -m vae_core beta-sweep --json``'s output → a :class:`Sweep` (the scorecards' matrices dropped).
    The runs' checkpoints must still exist: their configs give the Gaussian's constant (resolution, σ)."""
    from ..checkpoint import read_meta
    from ..model import gaussian_log_norm_const

    try:
        pts = []
        for p in d["points"]:
            const = gaussian_log_norm_const(read_meta(Path(p["checkpoint"])).model)
            values = {**p, "distortion_term": float(p["distortion"]) - const}
            pts.append(SweepPoint(**{k: (int(values[k]) if k == "active_units" else float(values[k]))
                                     for k in SWEEP_FIELDS}))
        latent = len(d["points"][0]["scorecard"]["importance"]) if d["points"] else 0
        return Sweep(points=sorted(pts, key=lambda p: p.beta), dataset=str(d["dataset"]), command=command,
                     latent_dim=int(latent), note=note)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CheckpointError(f"not the JSON of `python -m vae_core beta-sweep --json` ({type(e).__name__}: {e})") \
            from None


def sweep_to_dict(s: Sweep) -> dict[str, Any]:
    return {"format": SWEEP_FORMAT, "format_version": FORMAT_VERSION, "dataset": s.dataset, "command": s.command,
            "latent_dim": s.latent_dim, "note": s.note,
            "points": [{k: getattr(p, k) for k in SWEEP_FIELDS} for p in s.points]}


def sweep_from_dict(d: Any, source: str = "the β-sweep") -> Sweep:
    if not isinstance(d, dict) or d.get("format") != SWEEP_FORMAT or d.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{source} is not a cartoon-vae β-sweep of format version {FORMAT_VERSION}")
    try:
        pts = [SweepPoint(**{k: (int(p[k]) if k == "active_units" else float(p[k])) for k in SWEEP_FIELDS})
               for p in d["points"]]
        return Sweep(points=sorted(pts, key=lambda p: p.beta), dataset=str(d["dataset"]), command=str(d["command"]),
                     latent_dim=int(d["latent_dim"]), note=str(d.get("note", "")))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{source} is malformed ({type(e).__name__}: {e})") from None


def sweep_path(checkpoint: str | Path) -> Path:
    return Path(checkpoint) / "analysis" / SWEEP_FILE


def load_sweep(checkpoint: str | Path) -> Sweep | None:
    """The checkpoint's shipped β-sweep, or None."""
    path = sweep_path(checkpoint)
    if not path.is_file():
        return None
    return sweep_from_dict(read_json_file(path, _MAX_BYTES, "a β-sweep", "import it again"), source=path.name)


def save_sweep(checkpoint: str | Path, sweep: Sweep) -> Path:
    return atomic_write_bytes(sweep_path(checkpoint), json.dumps(sweep_to_dict(sweep), indent=1).encode())


# -- the entry point -------------------------------------------------------------------------------------------
def build(checkpoint: str | Path, sweep_json: str | Path | None = None, sweep_command: str = "",
          sweep_note: str = "") -> tuple[ObjectiveReference, Path, Path | None]:
    """(Re)build the objective reference of ``checkpoint`` and, given the JSON of a β-sweep, import it:
    (the reference, its file, the sweep's file or None)."""
    from ..explorer import Explorer

    explorer = Explorer.open(checkpoint)
    ref = compute_reference(explorer)
    path = save_reference(explorer, ref)
    for stale in path.parent.glob("objective-*.json"):
        if stale != path:
            stale.unlink()
    swept = None
    if sweep_json is not None:
        data = json.loads(Path(sweep_json).read_text(encoding="utf-8"))
        swept = save_sweep(explorer.path, sweep_from_cli_json(data, sweep_command, sweep_note))
    return ref, path, swept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_core.analysis.objective_reference",
                                     description="(Re)build a checkpoint's objective reference (held-out −ELBO range, "
                                                 "aggregate posterior) and optionally import a β-sweep for the app.")
    parser.add_argument("--checkpoint", default="checkpoints/default")
    parser.add_argument("--sweep", default=None, help="the JSON output of `python -m vae_core beta-sweep --json`")
    parser.add_argument("--sweep-command", default="", help="the beta-sweep command that produced --sweep")
    parser.add_argument("--sweep-note", default="", help="a sentence the app shows under the sweep")
    args = parser.parse_args(argv)
    try:
        ref, path, swept = build(args.checkpoint, args.sweep, args.sweep_command, args.sweep_note)
    except (VaeCoreError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    v = ref.heldout.bits_per_dim
    print(f"wrote {path}: {len(v)} held-out faces, −ELBO {v.min():.3f}–{v.max():.3f} bits/dim (mean {v.mean():.3f}); "
          f"aggregate posterior of {ref.aggregate.n} faces, {ref.aggregate.active_units} active dims")
    if swept is not None:
        print(f"wrote {swept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Aggregate", "HeldOut", "ObjectiveReference", "Placement", "Sweep", "SweepPoint", "build",
           "compute_reference", "load_reference", "load_sweep", "reference", "reference_path", "save_sweep",
           "sweep_from_cli_json", "sweep_path"]
