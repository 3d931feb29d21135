"""Pure functions behind the Analysis tab and the Generate tab's edit-fidelity line. No Gradio.

- :func:`status_markdown`, :func:`scorecard_markdown`: what the tab says about a checkpoint's analysis;
- :func:`attribute_edits`, :func:`edit_check_markdown`: whether the classifier sees the attribute sliders'
  edit on the current face (before → after, ✓/✗) and what else changed (leakage);
- :func:`focus_slot`, :func:`focus_note`: a heatmap click → the Generate slider of that dim;
- :func:`traversal_choices`, :func:`traversal_direction`, :func:`check_range`: the traversal export's inputs.

Errors are :class:`~ui.common.errors.UserInputError` with a message for the user.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vae_core.analysis import traversal as trav
from vae_core.analysis.classifier.network import AttributeClassifier
from vae_core.analysis.report import Analysis

from ..common import validate
from ..common.errors import UserInputError
from vae_core.slider_layout import AttrSlot, SliderLayout
from .jobs import JobStatus

#: Where to find the button, said wherever the analysis is missing.
HOW_TO_COMPUTE = "open the **Analysis** tab and press **Compute analysis**"
EDIT_HINT = ("*Edit fidelity: move an attribute strength slider to see whether the attribute classifier sees the "
             "edit on this face.*")
MAX_TRAVERSAL_STEPS = 32
MAX_TRAVERSAL_OFFSET = 10.0


def _f(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"




# -- the scorecard ---------------------------------------------------------------------------------------
def status_markdown(status: JobStatus) -> str:
    """One line on where the analysis stands (shown above the scorecard)."""
    if status.state == "running":
        return (f"**Computing the analysis…** {html.escape(status.message)} ({status.elapsed_s:.0f} s so far; "
                "this page updates by itself, and the other tabs keep working).")
    if status.state == "failed":
        return (f"✗ **The analysis could not be computed:** {html.escape(status.message)}. Press **Compute "
                "analysis** to try again.")
    if status.state == "missing":
        return ("This checkpoint has no analysis yet. **Compute analysis** scores how disentangled its latent "
                "space is (MIG, DCI, SAP against the attribute labels), trains a small attribute classifier on "
                "the dataset and measures how faithfully each attribute slider edits faces. It runs in the "
                "background: seconds for a small run, one to two minutes for the shipped 10k-face model on a 2-core CPU; "
                "the result is saved in the checkpoint's `analysis/` folder.")
    a = status.analysis
    if a is None:
        return ""
    took = f"{a.seconds['total']:.0f} s" if "total" in a.seconds else "?"
    return (f"✓ Analysis of this checkpoint on {html.escape(a.dataset_label)} (computed {html.escape(a.created)} in "
            f"{took} by `{html.escape(a.command)}`).")


#: Up to this many attributes the per-attribute table is shown open; more start folded (one click away).
OPEN_ATTRIBUTES = 6

#: One reading per overall metric: (label, its range and what good looks like). Definitions: disentanglement_lib.
METRIC_READINGS = (
    ("mig", "MIG", "0–1. Per attribute, the gap in mutual information between the dim that knows most about it "
                   "and the runner-up, over its entropy: 1 = each attribute lives in one dim alone; near 0 = "
                   "spread over many dims"),
    ("dci_disentanglement", "DCI disentanglement", "0–1. How much each dim serves one attribute only (from a "
                                                   "forest's importances): 1 = every dim predicts one attribute"),
    ("dci_completeness", "DCI completeness", "0–1. How much each attribute is predicted by one dim: 1 = one dim "
                                             "per attribute"),
    ("dci_informativeness", "DCI informativeness", "0–1, accuracy of predicting the attributes from all dims: "
                                                   "compare it with always guessing the most frequent value"),
    ("sap", "SAP", "0–1. Per attribute, the gap in predictability between the best and the second-best single "
                   "dim: high = one dim stands out"),
)


def _context(key: str, value: float, sweep: Any, a: Analysis) -> str:
    """This checkpoint's value against what it can be compared with: the shipped β-sweep's runs, a baseline."""
    parts = []
    if key == "dci_informativeness":
        base = [x.majority_baseline for x in a.classifier.per_attribute if x.majority_baseline is not None]
        if base:
            parts.append(f"always guessing the most frequent value: {float(np.mean(base)):.3f}")
    if sweep is not None and getattr(sweep, "points", None):
        vals = [(getattr(p, key), p.beta) for p in sweep.points]
        lo, hi = min(vals), max(vals)
        above = sum(v < value for v, _ in vals)
        parts.append(f"the β-sweep's short runs: {lo[0]:.3f} (β={lo[1]:g}) to {hi[0]:.3f} (β={hi[1]:g}); this model "
                     f"beats {above} of {len(vals)}")
    return "; ".join(parts)


def scorecard_markdown(a: Analysis, sweep: Any = None) -> str:
    """A reading per overall metric (its value, range, what good looks like and the value in context: the
    shipped β-sweep's runs, a baseline), then one row per attribute: MIG, SAP, DCI accuracy, edit fidelity
    (+ the classifier's accuracy, ⚠ on the rows where it barely beats guessing)."""
    card, fid = a.scorecard, a.fidelity
    lines = ["**How disentangled is this latent space?** Each score of the posterior means against the labels:"]
    for key, label, reading in METRIC_READINGS:
        value = float(getattr(card, key))
        context = _context(key, value, sweep, a)
        lines.append(f"- **{label} {value:.3f}** — {reading}." + (f" *In context:* {context}." if context else ""))
    befores = [e.before for e in fid.attributes if e.before is not None and math.isfinite(e.before)]
    lines.append(f"- **mean edit fidelity {_f(fid.mean_fidelity)}** — 0–1, the fraction of attribute-slider edits the "
                 "attribute classifier sees on the edited face. *In context:* "
                 + (f"the same faces before the edit: {float(np.mean(befores)):.3f}." if befores else "—."))
    rows = [
        "| attribute | values | MIG | SAP | DCI accuracy | top dim | edit fidelity | before edit | leakage | "
        "classifier accuracy (baseline) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    flagged = []
    for s in card.factors:
        e = fid.of(s.name)
        acc = next((x for x in a.classifier.per_attribute if x.attribute == s.name), None)
        judge = f"{_f(acc.accuracy)} ({_f(acc.majority_baseline)})" if acc is not None else "—"
        name = s.name
        if acc is not None and acc.accuracy is not None and not acc.learned:
            judge += " ⚠"
            name = f"⚠ {s.name}"
            flagged.append(s.name)
        edit = (f"{_f(e.fidelity)} | {_f(e.before)} | {_f(e.mean_leakage)}" if e is not None else "— | — | —")
        if s.skipped:
            rows.append(f"| {name} | {s.values} | skipped: {html.escape(s.skipped)} | | | | {edit} | {judge} |")
        else:
            rows.append(f"| {name} | {s.values} | {_f(s.mig)} | {_f(s.sap)} | {_f(s.accuracy)} | z{s.top_dim} | "
                        f"{edit} | {judge} |")
    # Many attributes (the synthetic model's 18) would make the tab several screens tall: their table starts folded.
    folded = len(card.factors) > OPEN_ATTRIBUTES
    summary = (f"<b>Per attribute</b> ({len(card.factors)}): MIG, SAP, DCI accuracy, edit fidelity"
               + (f"; ⚠ on {len(flagged)}" if flagged else ""))
    lines += [
        "",
        f"<details{'' if folded else ' open'}><summary>{summary}</summary>",
        "",
        *rows,
        "",
        f"MIG, DCI and SAP of the posterior means on {card.n_train} train / {card.n_test} test faces "
        f"(disentanglement_lib definitions; DCI trees: ExtraTrees). **Edit fidelity**: fraction of edited held-out "
        f"faces (attribute slider at strength {fid.strength:g} toward a value they do not have) that the attribute "
        "classifier sees with the target value; *before edit*: that fraction before the move; *leakage*: mean "
        "fraction of other attributes whose prediction changed.",
    ]
    if flagged:
        lines.append(f"⚠ ({', '.join(flagged)}): the classifier barely beats always guessing the most frequent value "
                     "for this attribute, so its fidelity numbers say little.")
    lines.extend(f"*Note: {html.escape(n)}*" for n in card.notes)
    lines += ["", "</details>"]
    return "\n".join(lines)


# -- edit fidelity on the Generate face --------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeEdit:
    """One attribute slot in use: push ``slot.name`` toward ``value`` (strength > 0) or away (< 0)."""

    slot: AttrSlot
    value: int
    strength: float

    @property
    def toward(self) -> bool:
        return self.strength > 0


def attribute_edits(layout: SliderLayout, values: Sequence[Any], strengths: Sequence[Any]) -> list[AttributeEdit]:
    """The attribute slots the sliders use now (non-zero strength, a value the slot offers)."""
    out = []
    for slot, value, strength in zip(layout.attrs, values, strengths):
        try:
            s, v = float(strength), int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(s) and s != 0.0 and v in slot.values:
            out.append(AttributeEdit(slot, v, s))
    return out


def predicted(probs: Mapping[str, np.ndarray], row: int) -> dict[str, tuple[int, float]]:
    """Per attribute: (predicted value, its probability) of face ``row`` from predict_proba's output."""
    return {a: (int(p[row].argmax()), float(p[row].max())) for a, p in probs.items()}


def edit_check_markdown(edits: Sequence[AttributeEdit], before: Mapping[str, tuple[int, float]],
                        after: Mapping[str, tuple[int, float]], classifier: AttributeClassifier,
                        value_names: Mapping[str, Mapping[int, str]] | None = None) -> str:
    """What the classifier sees on the face without the attribute edits (before) and with them (after).

    Per edit: before → after and ✓ when the edit did what it asks (toward v: v is predicted after; away
    from v: v is not), ✗ otherwise. Leakage: every other attribute whose predicted value changed.
    """
    def value_name(attribute: str, value: int) -> str:
        return (value_names or {}).get(attribute, {}).get(int(value), f"value {int(value)}")

    lines = ["**Edit fidelity** (what the attribute classifier sees on the face before → after the attribute "
             "sliders):"]
    edited = {e.slot.name for e in edits}
    for e in edits:
        name = e.slot.name
        if name not in before:
            lines.append(f"- {e.slot.title}: the classifier does not predict this attribute")
            continue
        (b, pb), (a, pa) = before[name], after[name]
        ok = (a == e.value) if e.toward else (a != e.value)
        goal = (f"toward {value_name(name, e.value)}" if e.toward else f"away from {value_name(name, e.value)}")
        acc = next((x for x in classifier.report.per_attribute if x.attribute == name), None)
        caveat = "" if acc is None or acc.learned else " (⚠ the classifier barely learned this attribute)"
        lines.append(f"- {'✓' if ok else '✗'} **{e.slot.title}** ({goal}, strength {e.strength:+.2f}): "
                     f"{value_name(name, b)} ({pb:.0%}) → **{value_name(name, a)}** ({pa:.0%}){caveat}")
    leaks = [f"{n.replace('_', ' ')}: {value_name(n, before[n][0])} → {value_name(n, after[n][0])}"
             for n in classifier.attributes if n not in edited and n in after and before[n][0] != after[n][0]]
    others = len([n for n in classifier.attributes if n not in edited])
    if leaks:
        lines.append(f"- Leakage — {len(leaks)} of {others} other attributes changed: " + "; ".join(leaks))
    else:
        lines.append(f"- No leakage: none of the {others} other attributes changed.")
    return "\n".join(lines)


def missing_classifier_markdown(status: JobStatus) -> str:
    if status.state == "running":
        return ("*Edit fidelity: the attribute classifier is being trained in the background (Analysis tab); move "
                "the slider again in a moment.*")
    return f"*Edit fidelity needs this checkpoint's attribute classifier: {HOW_TO_COMPUTE}.*"


# -- heatmap click → Generate slider -------------------------------------------------------------------------
def focus_slot(layout: SliderLayout, dim: Any) -> int:
    """The raw slider slot showing latent dim ``dim`` (UserInputError if it has none)."""
    d = validate.whole(dim, "the latent dim")
    if not 0 <= d < layout.latent_dim:
        raise UserInputError(f"the latent dim must be between 0 and {layout.latent_dim - 1}, got {d}")
    for i, slot in enumerate(layout.raw):
        if slot.dim == d:
            return i
    raise UserInputError(f"z[{d}] has no slider: only the {len(layout.raw)} most informative dims (by KL) have one")


def focus_note(layout: SliderLayout, slot_index: int, analysis: Analysis | None, base_note: str) -> str:
    """The Generate note with a line naming the focused dim and the attributes it matters most for."""
    slot = layout.raw[slot_index]
    line = (f"▶ **Focused on z[{slot.dim}]** (raw slider {slot_index + 1}, highlighted; KL {slot.kl:.2f} nats"
            + (", collapsed" if not slot.active else "") + ")")
    if analysis is not None and slot.dim < analysis.scorecard.importance.shape[0]:
        row = np.asarray(analysis.scorecard.importance[slot.dim], np.float64)
        top = [k for k in np.argsort(-row, kind="stable")[:3] if row[k] > 0]
        if top:
            line += ": DCI importance for " + ", ".join(
                f"{analysis.scorecard.factors[k].name} {row[k]:.2f}" for k in top)
    return f"{base_note}\n\n{line}."


# -- traversal export --------------------------------------------------------------------------------------
def traversal_choices(layout: SliderLayout) -> list[tuple[str, str]]:
    """Dropdown choices (label, value): raw dims (slider order), PCA directions, attribute values."""
    out = [(f"{slot.label} (raw dim)", f"raw:{slot.dim}") for slot in layout.raw]
    out += [(f"PC{j + 1} · {100 * float(layout.pca_ratio[j]):.1f}% of the variance (PCA)", f"pca:{j}")
            for j in range(layout.n_pca)]
    for slot in layout.attrs:
        out += [(f"{slot.title} → {slot.value_name(v)} (attribute)", f"attr:{slot.name}:{v}")
                for v in slot.values]
    return out


def traversal_direction(explorer, layout: SliderLayout, choice: Any) -> trav.Direction:
    """The direction a dropdown value names (see :func:`traversal_choices`)."""
    text = validate.text(choice, "the direction", max_len=200)
    kind, _, rest = text.partition(":")
    try:
        if kind == "raw":
            d = int(rest)
            if not any(s.dim == d for s in layout.raw):
                raise ValueError
            return trav.dim_direction(d, layout.latent_dim)
        if kind == "pca":
            j = int(rest)
            if not 0 <= j < layout.n_pca:
                raise ValueError
            return trav.pca_direction(explorer.pca, j)
        if kind == "attr":
            name, _, value = rest.rpartition(":")
            slot = next(s for s in layout.attrs if s.name == name)
            if int(value) not in slot.values:
                raise ValueError
            return trav.attribute_direction(explorer.attribute_directions(), name, int(value))
    except (ValueError, StopIteration):
        pass
    raise UserInputError(f"pick a direction from the list (got {text!r})")


def check_range(low: Any, high: Any, steps: Any) -> tuple[float, float, int]:
    """Validated (low, high, steps) of a traversal: finite offsets within ±10, low < high, 2..32 steps."""
    lo, hi = validate.number(low, "the start of the range"), validate.number(high, "the end of the range")
    n = validate.whole(steps, "steps")
    if not (math.isfinite(lo) and math.isfinite(hi)) or max(abs(lo), abs(hi)) > MAX_TRAVERSAL_OFFSET:
        raise UserInputError(f"the range must lie within ±{MAX_TRAVERSAL_OFFSET:g}, got {low!r} to {high!r}")
    if not lo < hi:
        raise UserInputError(f"the range must go from a lower to a higher offset, got {lo:g} to {hi:g}")
    if not 2 <= n <= MAX_TRAVERSAL_STEPS:
        raise UserInputError(f"steps must be between 2 and {MAX_TRAVERSAL_STEPS}, got {n}")
    return lo, hi, n
