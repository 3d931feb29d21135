"""The model info panel and the banner that labels synthetic-data models in every tab."""

from __future__ import annotations

import html
from typing import Any

SYNTHETIC_BANNER = (
    '<div class="cvae-banner cvae-synthetic" role="note">⚠ <b>SYNTHETIC DATA</b>: this model was trained on '
    "procedurally generated cartoon faces, <b>not</b> Google's Cartoon Set. Faces, maps and attribute sliders "
    "show what it learned from those synthetic faces.</div>")


def banner_html(info: dict[str, Any]) -> str:
    if info.get("synthetic"):
        return SYNTHETIC_BANNER
    card = info.get("card")
    if card and card.get("real"):
        return (f'<div class="cvae-banner cvae-real" role="note"><b>Real faces</b>: trained on '
                f'{html.escape(card["name"])}, {html.escape(card["preparation"].split(" (")[0])}; '
                f'{html.escape(card["labels"].split(" (")[0])}. <span class="cvae-attribution">'
                f'{html.escape(card["attribution"])}</span></div>')
    return (f'<div class="cvae-banner cvae-real" role="note">Real data: {html.escape(str(info.get("dataset", "")))}'
            "</div>")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


METRIC_NAMES = (("mse", "MSE (per pixel value)"), ("psnr", "PSNR (dB)"), ("ssim", "SSIM"),
                ("nelbo", "−ELBO (nats/image)"), ("bits_per_dim", "bits/dim"), ("kl", "KL (nats/image)"),
                ("active_units", "active latent dims"), ("n", "held-out images"), ("epochs", "epochs"),
                ("steps", "steps"))


def info_markdown(info: dict[str, Any]) -> str:
    """Markdown of Explorer.info(): data (synthetic or real, always said), architecture, metrics, command."""
    data = ("**SYNTHETIC** procedural faces (not the real Cartoon Set) — " if info.get("synthetic") else "**real** — ")
    lines = [
        f"**Checkpoint** `{info.get('checkpoint')}` · model id `{info.get('model_id')}`",
        f"**Dataset** {data}{html.escape(str(info.get('dataset', '')))}",
    ]
    card = info.get("card")
    if card:
        lines.append(f"**What the faces are** {html.escape(card['name'])}: {html.escape(card['preparation'])}; "
                     f"{html.escape(card['labels'])}. **Source** {html.escape(card['attribution'])}")
        if card.get("more"):
            lines.append(f"**More data** {card['more']}")
    lines += [
        f"**Resolution** {info.get('resolution')}×{info.get('resolution')} · **latent size** {info.get('latent_dim')} · "
        f"**channels** encoder {info.get('encoder_channels', info.get('channels'))}, decoder "
        f"{list(reversed(info.get('channels') or []))} · **parameters** {info.get('parameters', 0):,} · "
        f"**β** {_fmt(info.get('beta'))}",
    ]
    metrics = info.get("metrics") or {}
    shown = [(label, metrics[k]) for k, label in METRIC_NAMES if k in metrics]
    if metrics.get("partial") or metrics.get("cancelled"):
        lines.append("**Note** training of this checkpoint was stopped early (it can be resumed in the Train tab)")
    if shown:
        lines.append("**Metrics** (" + html.escape(str(metrics.get("split", "held-out"))) + "): "
                     + " · ".join(f"{label} {_fmt(v)}" for label, v in shown))
    if info.get("command"):
        lines.append(f"**Training command**\n```\n{info['command']}\n```")
    if info.get("created"):
        lines.append(f"**Created** {html.escape(str(info['created']))}")
    return "\n\n".join(lines)
