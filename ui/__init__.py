"""The Gradio explorer around :mod:`vae_core`.

Layering: pure functions of (explorer, inputs) live in :mod:`ui.callbacks`, :mod:`ui.sliders`,
:mod:`ui.plotmap` and :mod:`ui.train_view`; :mod:`ui.tabs` only builds components and wires events to
them; :mod:`ui.app` assembles the tabs. ``vae_core`` never imports gradio, and only this package turns
its errors into UI messages.
"""
