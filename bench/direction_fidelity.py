"""Plain vs conditional attribute directions, judged by edit fidelity on the shipped checkpoints.

    python -m bench.direction_fidelity [--checkpoints checkpoints/default checkpoints/synthetic]
        [--strengths 1 2] [--seeds 0 1 2] [--faces-per-value 128] [--json docs/direction-fidelity.json]
    # ~12 min on 2 cores

For each checkpoint and strength, the attribute sliders' edits are made with both kinds of directions
(:data:`vae_core.latent.DIRECTION_KINDS`) on the same faces and values (per seed) and judged by the
checkpoint's cached attribute classifier, exactly as the Analysis tab's edit fidelity
(:func:`vae_core.analysis.edit_fidelity.fidelity_report`): **target reached** = mean change of the target
value's predicted probability (Δp), **leakage** = mean fraction of edited faces whose predicted value of
another attribute changed. The faces are the checkpoint's cached embedding sample (1,500 faces on the real
default, 5,000 synthetic), so the run needs only the checkpoint folder, and 128 faces per value give four
times the edits of the held-out split the Analysis tab uses (48 faces on the real default).

Prints one markdown table per checkpoint and the verdict of :func:`better_kind`; ``--json`` writes the means
that the verdict reads (tests/test_conditional_directions.py checks that the default is the better kind).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine
from vae_core.analysis.classifier.store import analysis_dir, load_classifier
from vae_core.analysis.edit_fidelity import FidelityReport, fidelity_report
from vae_core.atomic import atomic_write_bytes
from vae_core.errors import VaeCoreError
from vae_core.explorer import Explorer
from vae_core.latent import DIRECTION_KINDS

ROOT = Path(__file__).resolve().parents[1]

CHECKPOINTS = ("checkpoints/default", "checkpoints/synthetic")
COMMAND = "python -m bench.direction_fidelity --json docs/direction-fidelity.json"
#: The kind that stays the default unless the other is measurably better: the simpler one, already shipped.
INCUMBENT = "plain"


def measure(checkpoint: str, strengths: list[float], seeds: list[int], faces_per_value: int) -> dict[str, Any]:
    """{"weights_sha256", "faces", "runs": {(seed, strength): {kind: FidelityReport}}} for one checkpoint; each
    seed draws other faces and values, the same for every kind."""
    ex = Explorer.open(ROOT / checkpoint)
    b = ex.embedding()
    if b.labels is None or b.schema is None:
        raise VaeCoreError(f"{checkpoint} has no labelled faces; edit fidelity needs labels")
    clf = load_classifier(analysis_dir(ex.path), ex.meta.data)
    runs: dict[tuple[int, float], dict[str, FidelityReport]] = {}
    for seed in seeds:
        for s in strengths:
            runs[seed, s] = {kind: fidelity_report(ex.decode, clf, b.mu, b.labels, b.schema,
                                                   ex.attribute_directions(kind), strength=s,
                                                   faces_per_value=faces_per_value, seed=seed)
                             for kind in DIRECTION_KINDS}
    return {"weights_sha256": ex.checkpoint.fingerprint, "faces": len(b.mu), "runs": runs}


def _mean_dp(r: FidelityReport) -> float:
    return float(np.mean([a.delta_target_prob for a in r.attributes]))


def table(checkpoint: str, result: dict[str, Any]) -> str:
    """Markdown: per attribute (and the mean) Δp and leakage of each kind for each strength, averaged over the
    seeds."""
    runs = result["runs"]
    seeds = sorted({k[0] for k in runs})
    strengths = sorted({k[1] for k in runs})

    def avg(s: float, kind: str, attribute: str | None, what: str) -> float:
        vals = []
        for seed in seeds:
            rep = runs[seed, s][kind]
            if attribute is None:
                vals.append(_mean_dp(rep) if what == "dp" else rep.mean_leakage)
            else:
                a = rep.of(attribute)
                vals.append(a.delta_target_prob if what == "dp" else a.mean_leakage)
        return float(np.mean(vals))

    head = ["attribute"] + [f"{'Δp' if what == 'dp' else 'leak'} {kind} s={s:g}" for s in strengths
                            for what in ("dp", "leak") for kind in DIRECTION_KINDS]
    lines = [f"**{checkpoint}** ({result['faces']} faces of the cached embedding sample; mean of seeds "
             f"{', '.join(map(str, seeds))})", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names = [a.attribute for a in runs[seeds[0], strengths[0]][DIRECTION_KINDS[0]].attributes]
    for name in [*names, None]:
        cells = [name or "**mean**"]
        for s in strengths:
            for what in ("dp", "leak"):
                for kind in DIRECTION_KINDS:
                    v = avg(s, kind, name, what)
                    text = f"{v:+.3f}" if what == "dp" else f"{v:.3f}"
                    cells.append(text if name else f"**{text}**")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The means the verdict reads, as JSON: per checkpoint, strength, kind and seed: mean Δp, leakage and
    fidelity over the attributes."""
    def entry(rep: FidelityReport) -> dict[str, float]:
        return {"delta_target_prob": round(_mean_dp(rep), 5), "mean_leakage": round(float(rep.mean_leakage), 5),
                "mean_fidelity": round(float(rep.mean_fidelity), 5)}

    out: dict[str, Any] = {"command": COMMAND, "kinds": list(DIRECTION_KINDS), "incumbent": INCUMBENT,
                           "checkpoints": {}}
    for ck, r in results.items():
        strengths: dict[str, Any] = {}
        for (seed, s), by_kind in r["runs"].items():
            for kind, rep in by_kind.items():
                strengths.setdefault(f"{s:g}", {}).setdefault(kind, {})[str(seed)] = entry(rep)
        out["checkpoints"][ck] = {"weights_sha256": r["weights_sha256"], "faces": r["faces"], "strengths": strengths}
    return out


def _leak_at(points: list[tuple[float, float]], reach: float) -> float:
    """Leakage of a kind at target reached ``reach``, on its curve through (0, 0) and its measured strengths
    (piecewise linear; past the last point, the last segment's slope)."""
    xs, ys = zip(*sorted([(0.0, 0.0), *points]))
    if reach <= xs[-1]:
        return float(np.interp(reach, xs, ys))
    slope = (ys[-1] - ys[-2]) / max(xs[-1] - xs[-2], 1e-9)
    return float(ys[-1] + slope * (reach - xs[-1]))


def better_kind(doc: dict[str, Any]) -> tuple[str, str]:
    """The kind with more target reached at lower leakage, and why, from :func:`summary`'s JSON.

    A case is one checkpoint at one strength (seed means). A kind that in every case reaches at least as
    much (mean Δp) with at most as much leakage as the other wins outright. Otherwise the kinds trade reach
    for leakage (a longer move does more of both), so they are compared at equal reach: per seed and case,
    the incumbent's leakage at the challenger's Δp (read off the incumbent's curve through (0, 0) and its
    strengths) minus the challenger's leakage. The challenger wins if that margin, averaged over cases, is
    positive by more than two standard errors over the seeds; the incumbent wins if it is negative by as
    much; in between the measurement cannot tell them apart and the incumbent (simpler, already shipped)
    stays.
    """
    incumbent = doc["incumbent"]
    challenger = next(k for k in doc["kinds"] if k != incumbent)
    by_case = [by_kind for ck in doc["checkpoints"].values() for by_kind in ck["strengths"].values()]

    def seed_mean(case: dict[str, Any], kind: str, what: str) -> float:
        return float(np.mean([v[what] for v in case[kind].values()]))

    def dominates(a: str, b: str) -> bool:
        return all(seed_mean(c, a, "delta_target_prob") >= seed_mean(c, b, "delta_target_prob") and
                   seed_mean(c, a, "mean_leakage") <= seed_mean(c, b, "mean_leakage") for c in by_case)

    for a, b in ((challenger, incumbent), (incumbent, challenger)):
        if dominates(a, b):
            return a, f"{a} reaches at least as much at no more leakage in all {len(by_case)} cases"
    seeds = sorted(next(iter(by_case))[incumbent])
    per_seed = []
    for seed in seeds:
        margins = []
        for ck in doc["checkpoints"].values():
            curve = [(v[incumbent][seed]["delta_target_prob"], v[incumbent][seed]["mean_leakage"])
                     for v in ck["strengths"].values()]
            for v in ck["strengths"].values():
                c = v[challenger][seed]
                margins.append(_leak_at(curve, c["delta_target_prob"]) - c["mean_leakage"])
        per_seed.append(float(np.mean(margins)))
    mean = float(np.mean(per_seed))
    se = float(np.std(per_seed, ddof=1) / np.sqrt(len(per_seed))) if len(per_seed) > 1 else float("inf")
    told = (f"neither kind dominates; at equal target reached, {incumbent}'s leakage minus {challenger}'s is "
            f"{mean:+.4f} (mean of {len(by_case)} cases, standard error {se:.4f} over {len(seeds)} seeds)")
    if mean > 2 * se:
        return challenger, told
    if mean < -2 * se:
        return incumbent, told
    return incumbent, told + f": not measurably different, so {incumbent} (the incumbent) stays"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoints", nargs="+", default=list(CHECKPOINTS))
    p.add_argument("--strengths", nargs="+", type=float, default=[1.0, 2.0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--faces-per-value", type=int, default=128)
    p.add_argument("--json", default=None, help="write the means and the verdict's inputs here")
    args = p.parse_args(argv)
    print(f"# {machine()}\n")
    results = {}
    for ck in args.checkpoints:
        t = time.perf_counter()
        results[ck] = measure(ck, args.strengths, args.seeds, args.faces_per_value)
        print(table(ck, results[ck]))
        print(f"\n({time.perf_counter() - t:.0f} s)\n", flush=True)
    doc = summary(results)
    kind, why = better_kind(doc)
    doc["better"] = kind
    doc["why"] = why
    print(f"better: {kind} ({why})")
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
