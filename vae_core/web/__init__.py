"""The explorer in the visitor's browser: what the page needs to compose latents and decode faces itself.

- :mod:`.page_layout`: a checkpoint's slider layout and random-face sampler as one JSON document, sent to the
  page once per checkpoint (the Gradio app) or written beside it (the static page);
- :mod:`.decoder_export`: the decoder as an ONNX file the page runs with onnxruntime-web;
- :mod:`.ort_runtime`: onnxruntime-web itself, fetched from npm at the pinned version and checked;
- :mod:`.static_site`: ``export-web``, the explorer as a folder any static host serves;
- ``static/``: the page code (ES modules and CSS), loaded by the app and reused by the static page.

Why in the page: every slider move used to be a server request, and a Space's two shared vCPUs queue every
visitor's moves behind everyone else's; the 1.7 M-parameter decoder runs in a few milliseconds in the page.
"""
