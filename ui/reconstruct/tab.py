"""Reconstruct: upload any image (or pick a dataset example), see the model input and its reconstruction.

Uploads are decoded by vae_core's defensive loader, not by Gradio (``preprocess=False``): a corrupt,
huge, tiny or exotic file then gets vae_core's explanation as a message instead of a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import encode
from ..common.errors import user_errors
from ..common.images import image_file, upscale
from ..common.state import SessionState, as_latent
from ..context import AppContext
from ..objective.tab import typicality_line


@dataclass
class ReconstructTab:
    upload: gr.Image
    examples: gr.Gallery
    example_index: gr.Number
    model_input: gr.Image
    reconstruction: gr.Image
    report: gr.Markdown
    edit_btn: gr.Button

    @property
    def result_outputs(self) -> list:
        return [self.model_input, self.reconstruction, self.report]


def example_gallery(ctx: AppContext, explorer) -> list:
    if explorer is None:
        return []
    b = explorer.embedding()
    return [(image_file(upscale(img, 96), ctx.image_dir), f"#{i} · {name}")
            for i, (img, name) in enumerate(zip(b.examples, b.example_ids))]


def results(ctx: AppContext, explorer, enc, name: str, notes: list[str] | None = None) -> list:
    """Model input, reconstruction (PNG paths: see ui.common.images.image_file) and the report, with how typical the
    image is for the model (its −ELBO against the held-out faces': ui.objective)."""
    report = encode.recon_report(enc, name) + "\n\n" + typicality_line(ctx, explorer, enc.input_u8)
    if notes:
        report += "\n\n" + " · ".join(f"ℹ {n}" for n in notes)
    return [image_file(upscale(enc.input_u8), ctx.image_dir), image_file(upscale(enc.reconstruction_u8), ctx.image_dir),
            report]


def build(ctx: AppContext, state: gr.State, explorer) -> ReconstructTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            upload = gr.Image(label="Upload any image (PNG, JPEG, WebP, GIF, BMP)", type="filepath",
                              sources=["upload", "clipboard"], elem_id="rec_upload", height=280)
            gr.Markdown("…or pick a held-out face of the checkpoint's dataset:")
            examples = gr.Gallery(value=example_gallery(ctx, explorer), columns=4, height=300, allow_preview=False,
                                  object_fit="contain", show_label=False, elem_id="rec_examples")
            with gr.Row():
                example_index = gr.Number(label="Example #", value=0, precision=0, minimum=0, elem_id="rec_example_index")
                example_btn = gr.Button("Reconstruct example", elem_id="rec_example_btn")
        with gr.Column(scale=2):
            with gr.Row():
                model_input = gr.Image(label="Model input (centre crop, resized)", interactive=False,
                                       elem_id="rec_input", height=280, buttons=["download"])
                reconstruction = gr.Image(label="Reconstruction", interactive=False, elem_id="rec_output",
                                          height=280, buttons=["download"])
            report = gr.Markdown(elem_id="rec_report")
            edit_btn = gr.Button("Edit in Generate →", elem_id="rec_edit", variant="primary")
    tab = ReconstructTab(upload=upload, examples=examples, example_index=example_index, model_input=model_input,
                         reconstruction=reconstruction, report=report, edit_btn=edit_btn)

    @user_errors
    def reconstruct(st: SessionState, payload):
        explorer = ctx.explorer(st)
        enc, name, notes = encode.encode_upload(explorer, payload)
        st = st.replace(upload_mu=as_latent(enc.mu), upload_name=name)
        return [*results(ctx, explorer, enc, name, notes), st]

    # preprocess=False: the file reaches vae_core's loader untouched (Gradio still checks that the path
    # is an upload of this server).
    def clear_failed(st: SessionState):
        # A failed upload leaves nothing of itself or of the previous image behind: an empty upload box (not
        # a broken-image sliver) and no report that would describe another image under the error.
        return [None, None, None, "", st.replace(upload_mu=None, upload_name="")]

    upload.upload(reconstruct, [state, upload], [*tab.result_outputs, state], api_name="reconstruct",
                  preprocess=False, concurrency_id="encode"
                  ).failure(clear_failed, [state], [upload, *tab.result_outputs, state], api_visibility="private",
                            queue=False, show_progress="hidden")

    @user_errors
    def reconstruct_example(st: SessionState, index):
        explorer = ctx.explorer(st)
        img, name = encode.example(explorer, index)
        enc = encode.reconstruct(explorer, img)
        st = st.replace(upload_mu=as_latent(enc.mu), upload_name=f"example {name}")
        return [*results(ctx, explorer, enc, f"dataset example {name}"), st]

    example_btn.click(reconstruct_example, [state, example_index], [*tab.result_outputs, state],
                      api_name="reconstruct_example", concurrency_id="encode", preprocess=False)

    def picked(evt: gr.SelectData):
        return evt.index

    examples.select(picked, None, example_index, api_visibility="private", queue=False).then(
        reconstruct_example, [state, example_index], [*tab.result_outputs, state], api_visibility="private",
        concurrency_id="encode")
    return tab
