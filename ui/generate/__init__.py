"""The Generate tab: sliders that make faces live (:mod:`.tab`), what the sliders mean for a checkpoint
(:mod:`.sliders`), the page's packed copy of them (:mod:`.slider_mirror`) and where a latent comes from
(:mod:`.latents`)."""
