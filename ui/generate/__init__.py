"""The Generate tab: sliders that make faces live, decoded in the visitor's browser (:mod:`.tab`,
ui/static/generate_page.js), the checkpoint's files the page needs (:mod:`.page_assets`), the API's checks of
slider values (:mod:`.sliders`; the layout itself is vae_core.slider_layout), the page's slider mirror as the server
reads it (:mod:`.slider_mirror`) and where a latent comes from (:mod:`.latents`)."""
