"""Cartoon VAE latent-space explorer: `python app.py` (also the Hugging Face Space entry point).

Opens the shipped checkpoint (checkpoints/default, or $CVAE_CHECKPOINT) and serves the Gradio app; all
logic lives in the `ui` package (see ui/app.py). Settings come from CVAE_* environment variables
(ui/common/settings.py).
"""

import logging

from ui.app import build_app, launch

demo = build_app()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    launch(demo)
