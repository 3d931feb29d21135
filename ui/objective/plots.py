"""The Objective tab's charts as plotly figures (drawn by ``gr.Plot``, whose plotly ships inside Gradio: offline).

Pure functions of core results (:mod:`vae_core.objective`, :mod:`vae_core.analysis.objective_reference`): no
Gradio, no state. Each figure says its units on its axes, so a screenshot of one still reads on its own.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vae_core.analysis.objective_reference import Aggregate, Sweep
from vae_core.objective import FaceObjective, sorted_dims

#: How many dims the μ/σ chart shows (those of largest KL for the face): more do not fit a readable axis.
MU_SIGMA_DIMS = 32
_BLUE, _ORANGE, _GREY, _RED, _GREEN = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728", "#2ca02c"


def _base(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=height,
                      margin={"l": 60, "r": 10, "t": 40, "b": 45}, paper_bgcolor="rgba(0,0,0,0)",
                      legend={"orientation": "h", "y": -0.25, "x": 0}, template="plotly_white")
    return fig


def kl_bars(obj: FaceObjective) -> go.Figure:
    """KL(q(z_j|x) ‖ N(0, 1)) of every dim, sorted from the largest: the bars add up to the KL term."""
    order = sorted_dims(obj.kl_per_dim)
    kl = obj.kl_per_dim[order]
    fig = go.Figure(go.Bar(x=list(range(1, len(order) + 1)), y=kl, marker_color=_BLUE,
                           customdata=[[int(d), float(obj.mu[d]), float(obj.sigma[d])] for d in order],
                           hovertemplate="z%{customdata[0]}: KL %{y:.2f} nats<br>μ %{customdata[1]:.2f}, "
                                         "σ %{customdata[2]:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="latent dims, sorted by KL (rank)")
    fig.update_yaxes(title_text="KL (nats)")
    return _base(fig, f"KL per latent dim, sorted: they add up to KL = {obj.kl:.1f} nats", 280)


def mu_sigma(obj: FaceObjective, n: int = MU_SIGMA_DIMS) -> go.Figure:
    """μ_j ± 2σ_j of the face's posterior for its ``n`` dims of largest KL, over the prior's N(0, 1) (±1, ±2 bands)."""
    order = sorted_dims(obj.kl_per_dim)[:n]
    labels = [f"z{int(d)}" for d in order]
    fig = go.Figure()
    fig.add_hrect(y0=-2, y1=2, fillcolor=_GREY, opacity=0.10, line_width=0)
    fig.add_hrect(y0=-1, y1=1, fillcolor=_GREY, opacity=0.15, line_width=0)
    fig.add_trace(go.Scatter(x=labels, y=obj.mu[order], mode="markers", marker={"color": _ORANGE, "size": 7},
                             error_y={"type": "data", "array": 2 * obj.sigma[order], "color": _ORANGE},
                             name="this face: μ ± 2σ of q(z|x)",
                             customdata=np.stack([obj.sigma[order], obj.kl_per_dim[order]], axis=1),
                             hovertemplate="%{x}: μ %{y:.2f}, σ %{customdata[0]:.3f}, KL %{customdata[1]:.2f} nats"
                                           "<extra></extra>"))
    fig.add_trace(go.Scatter(x=[labels[0], labels[-1]], y=[0, 0], mode="lines", line={"color": _GREY, "dash": "dot"},
                             name="prior N(0, 1): mean 0, grey bands ±1 and ±2", hoverinfo="skip"))
    fig.update_xaxes(type="category", tickangle=-60)
    fig.update_yaxes(title_text="z")
    _base(fig, f"q(z|x) of this face on its {len(order)} dims of largest KL, against the prior N(0, 1)", 300)
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0}, margin={"t": 70})
    return fig


def _chi_density(r: np.ndarray, k: int) -> np.ndarray:
    """Density of ‖z‖ for z ~ N(0, I_k) (the chi distribution), computed in logs (k = 256 overflows Γ)."""
    r = np.maximum(r, 1e-12)
    logp = (k - 1) * np.log(r) - r ** 2 / 2 - (k / 2 - 1) * math.log(2) - math.lgamma(k / 2)
    return np.exp(logp)


def norms(agg: Aggregate) -> go.Figure:
    """Where codes lie by their length: ‖μ‖ of the dataset's faces, ‖z‖ of z ~ q(z) (the aggregate posterior)
    and of z ~ N(0, I), as fractions per bin, with the prior's exact density (chi with Z degrees of freedom)."""
    e = agg.norm_edges
    mid, width = (e[:-1] + e[1:]) / 2, np.diff(e)
    fig = go.Figure()
    names = {"mu": ("‖μ‖ of the dataset's faces", _ORANGE), "posterior": ("‖z‖, z ~ q(z) (aggregate posterior)", _BLUE),
             "prior": ("‖z‖, z ~ N(0, I) (prior: what 'Random face' from the prior draws)", _GREY)}
    for key, (name, colour) in names.items():
        h = agg.norm_hist.get(key)
        if h is None:
            continue
        fig.add_trace(go.Bar(x=mid, y=h / max(1.0, h.sum()), width=width, name=name, marker_color=colour, opacity=0.55,
                             hovertemplate="‖·‖ %{x:.1f}: %{y:.1%}<extra></extra>"))
    k = len(agg.mean)
    r = np.linspace(e[0], e[-1], 200)
    fig.add_trace(go.Scatter(x=r, y=_chi_density(r, k) * float(np.mean(width)), mode="lines",
                             line={"color": "black", "dash": "dot"}, name=f"prior's exact density (χ, {k} dof)",
                             hoverinfo="skip"))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="length of the code")
    fig.update_yaxes(title_text="fraction of codes", tickformat=".0%")
    return _base(fig, "The prior hole: prior samples lie where the encoder puts no face", 320)


def marginals(agg: Aggregate) -> go.Figure:
    """Per dim (sorted by KL): the aggregate posterior's standard deviation, split into the spread of the faces'
    means and the mean posterior σ, against the prior's 1; and its mean against the prior's 0."""
    order = sorted_dims(agg.kl_per_dim)
    x = list(range(1, len(order) + 1))
    hover = [f"z{int(d)}" for d in order]
    fig = go.Figure()
    for y, name, colour in ((agg.std[order], "std of q(z_j) (aggregate posterior)", _BLUE),
                            (agg.mu_std[order], "spread of the faces' μ_j", _ORANGE),
                            (agg.mean_sigma[order], "mean posterior σ_j", _GREEN),
                            (agg.mean[order], "mean of q(z_j)", _RED)):
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line={"color": colour, "width": 1.5},
                                 text=hover, hovertemplate="%{text}: %{y:.3f}<extra>" + name + "</extra>"))
    fig.add_hline(y=1.0, line={"color": "black", "dash": "dot"})
    fig.add_hline(y=0.0, line={"color": _GREY, "dash": "dot"})
    fig.update_xaxes(title_text="latent dims, sorted by mean KL (rank)")
    fig.update_yaxes(title_text="value (prior: mean 0, std 1, dotted)")
    return _base(fig, "Per-dim marginals of q(z) against the prior N(0, 1)", 320)


def top_marginals(agg: Aggregate) -> go.Figure:
    """Histograms of q(z_j), one draw z ~ q(z|x) per face, for the dims of largest mean KL, each over the prior's
    N(0, 1) density: where a marginal is narrower, shifted or lopsided, prior draws land where faces are not."""
    dims = agg.marginal_dims
    cols = max(1, len(dims))
    fig = make_subplots(rows=1, cols=cols, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"z{d} (KL {agg.kl_per_dim[d]:.1f} nats)" for d in dims])
    e = agg.marginal_edges
    mid, width = (e[:-1] + e[1:]) / 2, np.diff(e)
    r = np.linspace(e[0], e[-1], 161)
    prior = np.exp(-r ** 2 / 2) / math.sqrt(2 * math.pi)
    for i, d in enumerate(dims):
        fig.add_trace(go.Bar(x=mid, y=agg.marginal_density[i], width=width, marker_color=_BLUE, opacity=0.7,
                             name="q(z_j) of the dataset's faces", showlegend=i == 0,
                             hovertemplate=f"z{d} = %{{x:.1f}}: density %{{y:.2f}}<extra></extra>"), row=1, col=i + 1)
        fig.add_trace(go.Scatter(x=r, y=prior, mode="lines", line={"color": "black", "dash": "dot"},
                                 name="prior N(0, 1)", showlegend=i == 0, hoverinfo="skip"), row=1, col=i + 1)
    fig.update_yaxes(title_text="density", row=1, col=1)
    fig.update_annotations(font_size=11)
    return _base(fig, "Marginals of the most informative dims against the prior", 300)


def sweep(sw: Sweep, shipped: dict[str, float] | None, shipped_label: str) -> go.Figure:
    """Three panels over the sweep's βs: rate against distortion (the reconstruction term Σ(x−x̂)²/(2σ²)), active
    units, and MIG / DCI disentanglement / SAP; the shipped checkpoint is the star where its figures are known."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09,
                        subplot_titles=("rate against distortion", "active units against β",
                                        "disentanglement against β"))
    betas = [p.beta for p in sw.points]
    labels = [f"β={b:g}" for b in betas]
    fig.add_trace(go.Scatter(x=[p.rate for p in sw.points], y=[p.distortion_term for p in sw.points],
                             mode="lines+markers+text", text=labels, textposition="top center", name="β-sweep run",
                             cliponaxis=False,
                             marker={"color": _BLUE, "size": 8}, line={"color": _GREY},
                             hovertemplate="%{text}: rate %{x:.0f} nats, distortion %{y:.0f} nats<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=betas, y=[p.active_units for p in sw.points], mode="lines+markers", showlegend=False,
                             marker={"color": _BLUE, "size": 8}, line={"color": _GREY},
                             hovertemplate="β=%{x:g}: %{y} active dims<extra></extra>"), row=1, col=2)
    for key, name, colour in (("mig", "MIG", _RED), ("dci_disentanglement", "DCI disentanglement", _BLUE),
                              ("sap", "SAP", _GREEN)):
        fig.add_trace(go.Scatter(x=betas, y=[getattr(p, key) for p in sw.points], mode="lines+markers", name=name,
                                 marker={"color": colour, "size": 7}, line={"color": colour},
                                 hovertemplate=f"β=%{{x:g}}: {name} %{{y:.3f}}<extra></extra>"), row=1, col=3)
    if shipped:
        star = {"symbol": "star", "size": 15, "color": "gold", "line": {"color": "black", "width": 1}}
        if "rate" in shipped and "distortion_term" in shipped:
            fig.add_trace(go.Scatter(x=[shipped["rate"]], y=[shipped["distortion_term"]], mode="markers", marker=star,
                                     name=shipped_label, hovertemplate=shipped_label + ": rate %{x:.0f}, distortion "
                                     "%{y:.0f} nats<extra></extra>"), row=1, col=1)
        if "active_units" in shipped:
            fig.add_trace(go.Scatter(x=[shipped["beta"]], y=[shipped["active_units"]], mode="markers", marker=star,
                                     showlegend=False, hovertemplate=shipped_label + ": %{y} active dims<extra></extra>"),
                          row=1, col=2)
        for key in ("mig", "dci_disentanglement", "sap"):
            if key in shipped:
                fig.add_trace(go.Scatter(x=[shipped["beta"]], y=[shipped[key]], mode="markers", marker=star,
                                         showlegend=False, hovertemplate=shipped_label + f": {key} %{{y:.3f}}"
                                         "<extra></extra>"), row=1, col=3)
    fig.update_xaxes(title_text="rate: KL (nats/image)", row=1, col=1)
    fig.update_yaxes(title_text="distortion: Σ(x−x̂)²/(2σ²) (nats/image)", row=1, col=1)
    for col in (2, 3):
        fig.update_xaxes(title_text="β (log scale)", type="log", row=1, col=col)
    fig.update_yaxes(title_text=f"active dims (of {sw.latent_dim})", range=[0, sw.latent_dim * 1.05], row=1, col=2)
    fig.update_yaxes(title_text="score (0–1)", range=[0, max(0.3, *(p.dci_disentanglement for p in sw.points))],
                     row=1, col=3)
    fig.update_annotations(font_size=12)
    return _base(fig, "", 360)
