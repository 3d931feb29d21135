"""The model info panel and the banner that labels synthetic-data models in every tab."""

from __future__ import annotations

import html
from typing import Any

from vae_core.objective import bits_per_dim_8bit, nelbo_8bit

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


def metric_texts(metrics: dict[str, Any], resolution: Any, latent_dim: Any) -> list[str]:
    """Each held-out figure with its name and unit. −ELBO is given on the 8-bit scale (nats/image, positive, and
    bits/dim): the checkpoint stores it for the density of [0, 1] pixels, which is negative for σ = 0.1 (a density
    may exceed 1) and reads as a double negative ("−ELBO −1.4e4"); see :mod:`vae_core.objective`."""
    out: list[str] = []

    def num(key: str) -> float | None:
        v = metrics.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    if (v := num("mse")) is not None:
        out.append(f"MSE {v:.4g} per pixel value (pixels in [0, 1])")
    if (v := num("psnr")) is not None:
        out.append(f"PSNR {v:.1f} dB")
    if (v := num("ssim")) is not None:
        out.append(f"SSIM {v:.3f} (1 = identical)")
    nelbo = num("nelbo")
    if nelbo is not None and isinstance(resolution, int) and resolution > 0:
        d = 3 * resolution * resolution
        out.append(f"−ELBO {nelbo_8bit(nelbo, d):,.0f} nats/image on 8-bit pixels = "
                   f"{bits_per_dim_8bit(nelbo, d):.3f} bits/dim")
    elif (v := num("bits_per_dim")) is not None:
        out.append(f"−ELBO {v:.3f} bits/dim")
    if (v := num("kl")) is not None:
        out.append(f"KL {v:,.1f} nats/image")
    if (v := num("active_units")) is not None:
        out.append(f"active latent dims {int(v)}" + (f" of {latent_dim}" if latent_dim else ""))
    if (v := num("n")) is not None:
        out.append(f"on {int(v)} held-out images")
    for key, unit in (("epochs", "epochs"), ("steps", "steps")):
        if (v := num(key)) is not None:
            out.append(f"{int(v):,} {unit}")
    return out


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
    shown = metric_texts(metrics, info.get("resolution"), info.get("latent_dim"))
    if metrics.get("partial") or metrics.get("cancelled"):
        lines.append("**Note** training of this checkpoint was stopped early (it can be resumed in the Train tab)")
    if shown:
        lines.append("**Metrics** (" + html.escape(str(metrics.get("split", "held-out"))) + "): "
                     + " · ".join(shown))
    if info.get("command"):
        lines.append(f"**Training command**\n```\n{info['command']}\n```")
    if info.get("created"):
        lines.append(f"**Created** {html.escape(str(info['created']))}")
    return "\n\n".join(lines)
