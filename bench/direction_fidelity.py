"""Plain vs conditional attribute directions, judged by edit fidelity on the shipped checkpoints.

    python bench/direction_fidelity.py [--checkpoints checkpoints/default checkpoints/synthetic]
        [--strengths 1 2] [--faces-per-value 128] [--json docs/direction-fidelity.json]    # ~3 min on 2 cores

For each checkpoint and strength, the attribute sliders' edits are made with both kinds of directions
(:data:`vae_core.latent.DIRECTION_KINDS`) on the same faces and values (same seed) and judged by the
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
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import machine  # noqa: E402
from vae_core.analysis.classifier.store import analysis_dir, load_classifier  # noqa: E402
from vae_core.analysis.edit_fidelity import FidelityReport, fidelity_report  # noqa: E402
from vae_core.atomic import atomic_write_bytes  # noqa: E402
from vae_core.errors import VaeCoreError  # noqa: E402
from vae_core.explorer import Explorer  # noqa: E402
from vae_core.latent import DIRECTION_KINDS  # noqa: E402

CHECKPOINTS = ("checkpoints/default", "checkpoints/synthetic")
COMMAND = "python bench/direction_fidelity.py --json docs/direction-fidelity.json"


def measure(checkpoint: str, strengths: list[float], faces_per_value: int, seed: int = 0) -> dict[str, Any]:
    """{"weights_sha256", "faces", "runs": {strength: {kind: FidelityReport}}} for one checkpoint."""
    ex = Explorer.open(ROOT / checkpoint)
    b = ex.embedding()
    if b.labels is None or b.schema is None:
        raise VaeCoreError(f"{checkpoint} has no labelled faces; edit fidelity needs labels")
    clf = load_classifier(analysis_dir(ex.path), ex.meta.data)
    runs: dict[float, dict[str, FidelityReport]] = {}
    for s in strengths:
        runs[s] = {kind: fidelity_report(ex.decode, clf, b.mu, b.labels, b.schema, ex.attribute_directions(kind),
                                         strength=s, faces_per_value=faces_per_value, seed=seed)
                   for kind in DIRECTION_KINDS}
    return {"weights_sha256": ex.checkpoint.fingerprint, "faces": len(b.mu), "runs": runs}


def _mean_dp(r: FidelityReport) -> float:
    return float(np.mean([a.delta_target_prob for a in r.attributes]))


def table(checkpoint: str, result: dict[str, Any]) -> str:
    """Markdown: per attribute (and the mean) Δp and leakage of each kind, for each strength."""
    strengths = list(result["runs"])
    head = ["attribute"] + [f"{what} {kind} s={s:g}" for s in strengths for what in ("Δp", "leak")
                            for kind in DIRECTION_KINDS]
    lines = [f"**{checkpoint}** ({result['faces']} faces of the cached embedding sample)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = result["runs"][strengths[0]][DIRECTION_KINDS[0]]
    for a in first.attributes:
        cells = [a.attribute]
        for s in strengths:
            ofs = {k: result["runs"][s][k].of(a.attribute) for k in DIRECTION_KINDS}
            cells += [f"{ofs[k].delta_target_prob:+.3f}" for k in DIRECTION_KINDS]
            cells += [f"{ofs[k].mean_leakage:.3f}" for k in DIRECTION_KINDS]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**"]
    for s in strengths:
        cells += [f"**{_mean_dp(result['runs'][s][k]):+.3f}**" for k in DIRECTION_KINDS]
        cells += [f"**{result['runs'][s][k].mean_leakage:.3f}**" for k in DIRECTION_KINDS]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The means the verdict reads, as JSON: per checkpoint, strength and kind: Δp, leakage, fidelity."""
    return {
        "command": COMMAND, "kinds": list(DIRECTION_KINDS),
        "checkpoints": {
            ck: {"weights_sha256": r["weights_sha256"], "faces": r["faces"],
                 "strengths": {f"{s:g}": {k: {"delta_target_prob": round(_mean_dp(rep), 4),
                                              "mean_leakage": round(float(rep.mean_leakage), 4),
                                              "mean_fidelity": round(float(rep.mean_fidelity), 4)}
                                          for k, rep in by_kind.items()}
                               for s, by_kind in r["runs"].items()}}
            for ck, r in results.items()},
    }


def better_kind(doc: dict[str, Any]) -> tuple[str, str]:
    """The kind with more target reached at lower leakage, and why, from :func:`summary`'s JSON.

    Each (checkpoint, strength) is a case. A kind that, in every case, reaches at least as much (mean Δp)
    with at most as much leakage as the other wins outright. Otherwise (the kinds trade one for the other)
    the winner is the kind with less leakage per unit of target reached (mean leakage / mean Δp), averaged
    over the cases: a slider that leaks less for the same visible change is the better slider, whatever its
    step length.
    """
    kinds = list(doc["kinds"])
    cases = [by_kind for ck in doc["checkpoints"].values() for by_kind in ck["strengths"].values()]

    def dominates(a: str, b: str) -> bool:
        return all(c[a]["delta_target_prob"] >= c[b]["delta_target_prob"] and
                   c[a]["mean_leakage"] <= c[b]["mean_leakage"] for c in cases)

    for a in kinds:
        if all(dominates(a, b) for b in kinds if b != a):
            return a, f"{a} reaches at least as much at no more leakage in all {len(cases)} cases"
    ratio = {k: float(np.mean([c[k]["mean_leakage"] / max(c[k]["delta_target_prob"], 1e-6) for c in cases]))
             for k in kinds}
    best = min(kinds, key=lambda k: ratio[k])
    return best, ("no kind is better in every case; leakage per unit of target reached, averaged over "
                  f"{len(cases)} cases: " + ", ".join(f"{k} {ratio[k]:.3f}" for k in kinds))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoints", nargs="+", default=list(CHECKPOINTS))
    p.add_argument("--strengths", nargs="+", type=float, default=[1.0, 2.0])
    p.add_argument("--faces-per-value", type=int, default=128)
    p.add_argument("--json", default=None, help="write the means and the verdict's inputs here")
    args = p.parse_args(argv)
    print(f"# {machine()}\n")
    results = {}
    for ck in args.checkpoints:
        t = time.perf_counter()
        results[ck] = measure(ck, args.strengths, args.faces_per_value)
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
