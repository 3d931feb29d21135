"""A training :class:`RunLog` → what the Train tab shows (status text, loss curves). Pure functions."""

from __future__ import annotations

import html
import time

import plotly.graph_objects as go
from plotly.subplots import make_subplots

PANELS = (("loss", "total loss (recon + β·KL)"), ("mse", "reconstruction MSE"), ("kl", "KL (nats/image)"))


def _eta(sec: float) -> str:
    from .runner import format_duration

    return format_duration(sec)


def phase_line(run, now: float | None = None) -> str:
    """What the run is doing between steps, named, with how far along it is: a finishing run counts its
    phases ("3 of 5"); every phase says its seconds so far (nothing else measures them)."""
    from .runner import FINISH_PHASES

    if not run.phase or not run.active:
        return ""
    keys = [k for k, _ in FINISH_PHASES]
    name = dict(FINISH_PHASES).get(run.phase, run.phase)
    secs = max(0, int((now or time.time()) - run.phase_started))
    finishing = run.done or run.cancel_requested or (run.total_steps and run.step >= run.total_steps)
    if finishing and run.phase in keys:
        return (f"Finishing: **{name}** (step {keys.index(run.phase) + 1} of {len(keys)} after training, "
                f"{secs} s so far)")
    return f"Now: **{name}** ({secs} s so far), then training goes on"


def status_markdown(run, settings=None) -> str:
    """The run's status lines; with ``settings``, server paths are written relative to the app's folders."""
    text = _status_markdown(run)
    if settings is None:
        return text
    from ..common.settings import redact_paths

    return redact_paths(text, (settings.runs_dir, *settings.data_roots, settings.cache_dir,
                               settings.default_checkpoint.parent))


def _status_markdown(run) -> str:
    if run is None:
        return "No training run yet. Pick a dataset and settings, then **Start training**."
    state = ("✗ failed" if run.error else "■ cancelled" if run.cancelled else "✓ finished" if run.done
             else "cancelling…" if run.cancel_requested and run.active
             else "running…" if run.active else "stopped")
    if run.active and run.done and not run.error:
        state += " · finishing"
    lines = [f"**{state}** · {html.escape(run.request.label or run.request.out_dir)} · {html.escape(run.status)}"]
    if phase := phase_line(run):
        lines.append(phase)
    if run.dataset:
        lines.append(f"Data: {html.escape(run.dataset)}")
    if run.total_steps:
        pct = 100.0 * run.step / max(1, run.total_steps)
        lines.append(f"Step **{run.step}/{run.total_steps}** ({pct:.0f}%) · epoch {run.epoch} · "
                     f"**{run.images_per_sec:.0f} images/s** · ETA **{_eta(run.eta_sec)}**")
    if run.error:
        lines.append(f"**Error:** {html.escape(run.error)}")
    if run.checkpoint:
        ready = "its map is ready" if run.projection_ready else "its map is being computed"
        lines.append(f"Checkpoint: `{run.checkpoint}` ({ready}; pick it in the checkpoint list at the top)")
    if run.done and run.metrics:
        m = run.metrics
        parts = [f"{k} {m[k]:.4g}" for k in ("mse", "psnr", "ssim", "nelbo") if isinstance(m.get(k), (int, float))]
        if parts:
            lines.append("Held-out metrics: " + " · ".join(parts))
    lines.append(f"Command: `{run.request.command()}`")
    return "\n\n".join(lines)


def loss_figure(run) -> go.Figure:
    """Three panels (total loss, MSE, KL), train as lines and validation as markers, x = step."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in PANELS])
    hist = run.history if run is not None else []
    train = [h for h in hist if h.get("kind") == "train"]
    val = [h for h in hist if h.get("kind") == "val"]
    for col, (key, _) in enumerate(PANELS, start=1):
        fig.add_trace(go.Scatter(x=[h["step"] for h in train], y=[h.get(key) for h in train], mode="lines",
                                 name="train", legendgroup="train", showlegend=col == 1,
                                 line={"color": "#1f77b4"}), row=1, col=col)
        fig.add_trace(go.Scatter(x=[h["step"] for h in val], y=[h.get(key) for h in val], mode="lines+markers",
                                 name="validation", legendgroup="val", showlegend=col == 1,
                                 line={"color": "#d62728"}), row=1, col=col)
        fig.update_xaxes(title_text="step", row=1, col=col)
    fig.update_layout(height=300, margin={"l": 40, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def others_markdown(runs, mine: bool, slots: int) -> str:
    """The runs of other visitors in progress (their progress and ETA) and when this visitor can start one.
    ``mine``: this visitor has a run in progress."""
    if not runs:
        return ""
    lines = []
    for run in runs:
        pct = f" ({100.0 * run.step / run.total_steps:.0f}%)" if run.total_steps else ""
        what = (f"step {run.step}/{run.total_steps or '?'}{pct}, ETA {_eta(run.eta_sec)}" if not run.done
                else "finishing (checkpoint, sampler, map)")
        lines.append(f"Another visitor's run is in progress: {what}. Only that visitor can cancel it.")
    if not mine and len(runs) >= slots:
        soonest = min((r.eta_sec for r in runs if r.eta_sec > 0 and not r.done), default=0.0)
        when = f"in about {_eta(soonest)}" if soonest else "in a moment"
        lines.append(f"**You can start your run {when}**, when a slot frees ({slots} run"
                     f"{'s' if slots > 1 else ''} at a time on this server).")
    return "\n\n".join(lines)
