"""The Objective tab's text: each ELBO term as the seed's formula next to the number it gives for this face, where
the face lies among the held-out faces, and the readings of the prior-hole and β sections.

Pure functions of core results: no Gradio. Formulas are LaTeX between ``$$`` (display) or ``$`` (inline), the
delimiters :data:`LATEX` gives the Markdown components; ``|`` is never used inside a formula, since Markdown
tables split on it (``\\mid`` instead).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from vae_core.analysis.objective_reference import FAR_SDS, ObjectiveReference, Placement, Sweep
from vae_core.objective import INFORMATIVE_KL, FaceObjective

#: The Markdown components' math delimiters (KaTeX, bundled with Gradio: offline).
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]

#: Sample quality of both samplers as measured in docs/performance.md ("Random faces"), quoted with the model it
#: was measured on. Not this checkpoint's figures: the app does not measure them (1,000 decoded faces and a
#: classifier's features per sampler, about a minute of CPU).
SAMPLE_QUALITY_SOURCE = (
    "Measured in the project's docs/performance.md (\"Random faces\") on the shipped real-face default (16 × 1,000 faces "
    "per sampler against its 105 held-out faces; features of the project's attribute classifier): the fitted density "
    "(a blend of a kernel density on the training codes and a Gaussian mixture) scored Fréchet distance **61.2**, "
    "precision **0.701**, recall **0.883**; the N(0, I) prior **335.3**, **0.470**, **0.465** (training faces "
    "themselves, the floor: 33.4, 0.941, 0.914). Lower distance and higher precision/recall are better.")

EMPTY_FACE = ("Pick a held-out face, upload an image or take the current Generate face: its two ELBO terms appear "
              "here, each next to the formula that produces it.")


def _n(v: float, digits: int = 1) -> str:
    """A figure with thousands separators and a real minus sign."""
    return f"{v:,.{digits}f}".replace("-", "−")


def placement_sentence(p: Placement) -> str:
    """Where a face's −ELBO lies among the held-out faces, in plain words (why it matters included)."""
    base = (f"−ELBO **{p.bits:.3f} bits/dim**; the {p.n} held-out faces: {p.low:.3f}–{p.high:.3f} "
            f"(mean {p.mean:.3f})")
    if p.verdict == "within":
        return (f"{base}: within their range ({p.fraction_below:.0%} of them score lower, i.e. are more typical). "
                "Typical by this measure, which simple images (a flat colour) pass too: it flags images the model "
                "cannot explain, it does not prove a face.")
    if p.verdict == "below":
        return f"{base}: below their range — the model finds this image easier to explain than any of them."
    if p.verdict == "above":
        return (f"{base}: above their range — less typical than every held-out face, though not by much "
                f"(within {FAR_SDS:g} of their standard deviations).")
    if p.verdict == "far_above":
        sds = (p.bits - p.high) / p.sd if p.sd > 0 else math.inf
        return (f"{base}: **far outside** ({sds:.0f} of their standard deviations above the worst). ⚠ The ELBO bounds "
                "how likely the model finds an image, so this one is most probably **not a face like those it was "
                "trained on**: its reconstruction is the nearest face the model knows, not a copy of the image.")
    return f"{base}: far below their range — an unusually simple image for this model (a flat colour, say)."


def terms_markdown(obj: FaceObjective, source: str, placement: Placement | None, active_units: int,
                   latent_dim: int) -> str:
    """The two terms, their sum and the training loss as formula | value rows, the units, and the face's place."""
    d, s, beta = obj.data_dim, obj.obs_std, obj.beta
    rows = [
        "| term | formula (the seed's) | this face | unit |",
        "|---|---|---|---|",
        f"| reconstruction, as trained | $\\frac{{1}}{{2\\sigma^2}}\\,\\mathbb{{E}}_{{q}}\\left[\\sum_{{i=1}}^{{D}}"
        f"(x_i-\\hat x_i(z))^2\\right] = \\frac{{D\\cdot\\mathrm{{MSE}}}}{{2\\sigma^2}}$ | "
        f"**{_n(obj.recon_sse_term)}** = {d:,} × {obj.recon_mse:.5f} / (2 × {s:g}²) | nats/image |",
        f"| Gaussian's constant | $D\\log(\\sigma\\sqrt{{2\\pi}})$ | {_n(obj.log_norm_const)} | nats/image |",
        f"| reconstruction NLL | $\\mathbb{{E}}_{{q(z\\mid x)}}[-\\log p(x\\mid z)]$ = the two rows above | "
        f"**{_n(obj.recon_nll)}** | nats/image |",
        f"| KL | $-\\frac{{1}}{{2}}\\sum_{{j=1}}^{{{latent_dim}}}(1+\\log\\sigma_j^2-\\mu_j^2-\\sigma_j^2)$ | "
        f"**{_n(obj.kl)}** | nats/image |",
        f"| −ELBO (β = 1) | reconstruction NLL + KL | **{_n(obj.nelbo)}** | nats/image, [0, 1] pixels |",
        f"| −ELBO, 8-bit pixels | $-\\mathrm{{ELBO}} + D\\ln 256$ | **{_n(obj.nelbo_8bit)}** | nats/image |",
        f"| bits per dim | $\\dfrac{{-\\mathrm{{ELBO}} + D\\ln 256}}{{D\\ln 2}}$ | **{obj.bits_per_dim:.3f}** | "
        "bits per pixel value (8 = no better than uniform) |",
        f"| training loss (β = {beta:g}) | reconstruction NLL + β·KL | **{_n(obj.loss)}** | nats/image |",
    ]
    lines = [
        f"### The objective for {html.escape(source)}",
        *rows,
        "",
        f"$D$ = 3 × {int(round(math.sqrt(d / 3)))}² = {d:,} pixel values in [0, 1]; decoder $p(x\\mid z)="
        f"\\mathcal{{N}}(\\hat x(z), \\sigma^2 I)$ with σ = {s:g}; $\\mathbb{{E}}_q$ estimated from {obj.n_samples} "
        f"samples $z=\\mu+\\sigma\\odot\\varepsilon$ (seed {obj.seed}). The decode of the mean alone has MSE "
        f"{obj.mean_mse:.5f}. The −ELBO of [0, 1] pixels is a density's, so it can be negative; adding $\\ln 256$ per "
        "value makes it a code length of the 8-bit image, which is positive. Training drops the constant (it has no "
        "gradient).",
        "",
        f"**Active dims**: {active_units} of {latent_dim} over the dataset (Burda et al.: the faces' μ_j vary by more "
        f"than 0.01); for this face, {obj.informative_dims} dims carry more than {INFORMATIVE_KL:g} nats of KL.",
    ]
    if placement is not None:
        lines += ["", "**How typical is this face?** " + placement_sentence(placement)]
    return "\n".join(lines)


def _mean_length(edges: np.ndarray, hist: np.ndarray) -> float:
    mid = (edges[:-1] + edges[1:]) / 2
    return float((mid * hist).sum() / max(1.0, hist.sum()))


def prior_hole_markdown(ref: ObjectiveReference, has_sampler: bool, sampler_text: str) -> str:
    """Why faces drawn from N(0, I) look like ghosts, with this checkpoint's figures, and why the app samples from
    the fitted density."""
    a = ref.aggregate
    e, h = a.norm_edges, a.norm_hist
    prior_len = _mean_length(e, h["prior"])
    mu_len = _mean_length(e, h["mu"])
    post_len = _mean_length(e, h["posterior"])
    lines = [
        "### The prior hole: why random faces from N(0, I) look wrong",
        "The KL term pulls each face's $q(z\\mid x)$ towards N(0, I), but only on average: the **aggregate "
        "posterior** $q(z)=\\frac{1}{N}\\sum_n q(z\\mid x_n)$, where the decoder learned to draw faces, is not "
        f"N(0, I). On this checkpoint's {a.n:,} encoded faces: a prior draw is about **{prior_len:.1f}** long, the "
        f"faces' means μ about **{mu_len:.1f}** and draws $z\\sim q(z)$ about **{post_len:.1f}**. The decoder has "
        "seldom seen a code where the prior puts most of its mass, and decodes it as a ghost of a face: smudges, odd "
        "colours, features of several faces at once (compare the two rows of faces below).",
    ]
    if has_sampler:
        lines.append(f"**Why the app draws from the fitted density**: {sampler_text} It is fitted to the training "
                     "faces' codes after training (ex-post density estimation, Ghosh et al. 2020), so its draws land "
                     "where the decoder learned faces. " + SAMPLE_QUALITY_SOURCE)
    else:
        lines.append("This checkpoint has no fitted density (`python -m vae_core embed` fits one), so its random faces "
                     "come from the prior. " + SAMPLE_QUALITY_SOURCE)
    return "\n\n".join(lines)


def shipped_point(ref: ObjectiveReference, beta: float | None, const: float, scores: dict[str, float]) -> dict[str, Any]:
    """The checkpoint's own point for the β plot: held-out rate and distortion (nats/image), active units, scores."""
    point: dict[str, Any] = {"beta": float(beta if beta else 1.0), "rate": float(ref.heldout.kl.mean()),
                             "distortion_term": float(ref.heldout.recon_nll.mean()) - const,
                             "active_units": ref.aggregate.active_units}
    point.update(scores)
    return point


def sweep_markdown(sw: Sweep | None, shipped: dict[str, Any] | None, shipped_data: str) -> str:
    """The sweep as a table with the checkpoint's row, what to read in it and the command that reproduces it."""
    if sw is None:
        return ("### β: rate against distortion\nThis checkpoint ships no β-sweep. `python -m vae_core beta-sweep "
                "--betas 0.25,1,4,16 --json > sweep.json` trains one; `python -m vae_core.analysis.objective_reference "
                "--checkpoint <folder> --sweep sweep.json` adds it here.")
    rows = ["| β | rate: KL | distortion: Σ(x−x̂)²/(2σ²) | −ELBO ([0, 1] pixels) | MSE | active dims | MIG | DCI dis. "
            "| SAP |", "|---|---|---|---|---|---|---|---|---|"]
    for p in sw.points:
        rows.append(f"| {p.beta:g} | {_n(p.rate)} | {_n(p.distortion_term)} | {_n(p.nelbo)} | {p.mse:.4f} | "
                    f"{p.active_units} | {p.mig:.3f} | {p.dci_disentanglement:.3f} | {p.sap:.3f} |")
    if shipped:
        def get(k: str, fmt: str) -> str:
            return format(shipped[k], fmt) if k in shipped else "—"
        rows.append(f"| ★ {shipped['beta']:g} (this checkpoint) | {_n(shipped['rate'])} | "
                    f"{_n(shipped['distortion_term'])} | — | — | {shipped['active_units']} | {get('mig', '.3f')} | "
                    f"{get('dci_disentanglement', '.3f')} | {get('sap', '.3f')} |")
    return "\n".join([
        "### β: rate against distortion",
        "The training loss is distortion + β·rate. A larger β buys a shorter code (lower rate: less KL) with "
        "worse reconstructions (higher distortion); β = 1 is the ELBO itself. Each blue point is "
        "a short run at one β; the ★ is this checkpoint (rate and distortion on its held-out faces).",
        *rows, "",
        f"Runs on {html.escape(sw.dataset)}; nats/image on held-out faces; MIG, DCI and SAP against the labels. "
        + (html.escape(sw.note) + " " if sw.note else "")
        + f"This checkpoint was trained on {html.escape(shipped_data)}. Reproduce the sweep with:",
        f"```\n{sw.command}\n```",
    ])
