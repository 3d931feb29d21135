"""Interpolate: between two faces (random, dataset example, upload or pasted latent), by slerp or lerp,
as a strip and an animated GIF to download."""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from . import interpolation
from ..common import validate
from ..common.errors import user_errors
from ..common.images import image_file, prune_old_files, strip, upscale, write_gif
from ..common.state import SessionState, as_array
from ..context import AppContext
from ..generate.latents import SAMPLERS, decode_one


@dataclass
class InterpolateTab:
    preview_a: gr.Image
    preview_b: gr.Image
    strip: gr.Image
    gif: gr.HTML
    gif_file: gr.File

    @property
    def reset_outputs(self) -> list:
        return [self.preview_a, self.preview_b, self.strip, self.gif, self.gif_file]


#: Frames of the strip per row, each shown this many pixels high (readable at a glance).
STRIP_COLUMNS = 6
FRAME_PX = 128


def source_inputs(source: str) -> list:
    """Visibility of an end's inputs (seed, example number, upload, latent string): only the chosen source's."""
    return [gr.update(visible=source == s) for s in interpolation.SOURCES]


def frames_grid(frames_u8):
    """The interpolation frames in rows of :data:`STRIP_COLUMNS`, each smoothly scaled to :data:`FRAME_PX`."""
    tiles = [upscale(f, FRAME_PX) for f in frames_u8]
    rows = [strip(np.stack(tiles[i:i + STRIP_COLUMNS]), gap=4) for i in range(0, len(tiles), STRIP_COLUMNS)]
    width = max(r.shape[1] for r in rows)
    out = np.full((len(rows) * FRAME_PX + (len(rows) - 1) * 4, width, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        out[i * (FRAME_PX + 4): i * (FRAME_PX + 4) + FRAME_PX, : r.shape[1]] = r
    return out


def _end_panel(side: str):
    with gr.Column(min_width=260):
        gr.Markdown(f"**Face {side}**")
        first = "random" if side == "A" else "dataset example"
        shown = dict(zip(interpolation.SOURCES, (u["visible"] for u in source_inputs(first))))
        source = gr.Radio(list(interpolation.SOURCES), value=first, label="Source", elem_id=f"int_source_{side.lower()}")
        seed = gr.Number(label="Seed", value=1 if side == "A" else 2, precision=0, minimum=0,
                         elem_id=f"int_seed_{side.lower()}", visible=shown["random"])
        example = gr.Number(label="Example #", value=0 if side == "A" else 1, precision=0, minimum=0,
                            elem_id=f"int_example_{side.lower()}", visible=shown["dataset example"])
        upload = gr.Image(label="Upload", type="filepath", sources=["upload", "clipboard"], height=160,
                          elem_id=f"int_upload_{side.lower()}", visible=shown["upload"])
        text = gr.Textbox(label="Latent string", lines=1, elem_id=f"int_latent_{side.lower()}",
                          visible=shown["latent string"])
        source.change(source_inputs, [source], [seed, example, upload, text], api_visibility="private",
                      queue=False, show_progress="hidden")
        btn = gr.Button(f"Set {side}", elem_id=f"int_set_{side.lower()}")
        preview = gr.Image(label=f"{side}", interactive=False, height=160, elem_id=f"int_preview_{side.lower()}",
                           format="png")
    return source, seed, example, upload, text, btn, preview


def build(ctx: AppContext, state: gr.State, temperature: gr.Slider, sampler: gr.Radio) -> InterpolateTab:
    with gr.Row(equal_height=False):
        a = _end_panel("A")
        b = _end_panel("B")
        with gr.Column(scale=2):
            method = gr.Radio(["slerp", "lerp"], value="slerp", label="Path",
                              info="slerp follows the prior's shell (no washed-out middle); lerp is a straight line",
                              elem_id="int_method")
            steps = gr.Slider(2, interpolation.MAX_STEPS, value=10, step=1, label="Steps (both ends included)",
                              elem_id="int_steps")
            fps = gr.Slider(1, 30, value=8, step=1, label="GIF frames per second", elem_id="int_fps")
            go_btn = gr.Button("Interpolate", variant="primary", elem_id="int_go")
            strip_img = gr.Image(label="Frames", show_label=False, interactive=False, elem_id="int_strip",
                                 format="png", buttons=["download"])
            gif = gr.HTML(elem_id="int_gif")
            gif_file = gr.File(label="Animated GIF", interactive=False, elem_id="int_gif_file")
    tab = InterpolateTab(preview_a=a[6], preview_b=b[6], strip=strip_img, gif=gif, gif_file=gif_file)

    def make_setter(side: str):
        @user_errors
        def set_end(st: SessionState, source, seed, example, upload, text, temp, sampler=SAMPLERS[0]):
            explorer = ctx.explorer(st)
            end = interpolation.endpoint(explorer, source, seed, example, upload, text, temp, sampler)
            st = st.replace(**{f"endpoint_{side}": end})
            face = decode_one(explorer, as_array(end.latent))
            preview = image_file(upscale(face, 160), ctx.image_dir)
            return gr.update(value=preview, label=f"{side.upper()}: {end.source}"), st
        set_end.__name__ = f"set_{side}"
        return set_end

    for side, (source, seed, example, upload, text, btn, preview) in (("a", a), ("b", b)):
        # preprocess=False: uploads go to vae_core's loader (see the Reconstruct tab); numbers arrive raw.
        btn.click(make_setter(side), [state, source, seed, example, upload, text, temperature, sampler],
                  [preview, state], api_name=f"set_endpoint_{side}", preprocess=False,
                  concurrency_id="encode")

    gif_dir = ctx.settings.cache_dir / "gifs"

    @user_errors
    def interpolate(st: SessionState, how, n, frames_per_second):
        explorer = ctx.explorer(st)
        frames_per_second = validate.number(frames_per_second, "GIF frames per second", 1, 30)
        result = interpolation.interpolate(explorer, st.endpoint_a, st.endpoint_b, how, n)
        prune_old_files(gif_dir)
        gif_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=gif_dir, prefix=f"interpolation-{how}-", suffix=".gif",
                                         delete=False) as f:
            path = write_gif(result.frames, Path(f.name), fps=frames_per_second)
        gif_html = (f'<img src="data:image/gif;base64,{base64.b64encode(path.read_bytes()).decode()}" '
                    f'alt="interpolation" class="cvae-smooth" style="width:192px">')
        return image_file(frames_grid(result.frames), ctx.image_dir), gif_html, str(path)

    go_btn.click(interpolate, [state, method, steps, fps], [strip_img, gif, gif_file], api_name="interpolate",
                 concurrency_id="encode", preprocess=False)
    return tab
