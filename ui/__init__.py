"""The Gradio explorer around :mod:`vae_core`, one folder per tab.

``generate/``, ``reconstruct/``, ``map/``, ``interpolate/``, ``analysis/`` and ``train/`` each hold a tab:
its pure functions of (explorer, inputs) next to the ``tab.py`` that builds its components and wires its
events to them. ``common/`` is what every tab uses (settings, the explorer registry, session state, input
checks, images, errors); :mod:`ui.context` bundles the services a tab receives; :mod:`ui.app` assembles
the tabs and the events that cross them. ``vae_core`` never imports gradio, and only this package turns
its errors into UI messages (:mod:`ui.common.errors`).
"""
