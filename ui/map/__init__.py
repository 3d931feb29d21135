"""The Latent map tab: the dataset's embeddings in 2-D, drawn by plotly.js (:mod:`.plotmap`), and the tab
that colours, marks and decodes them (:mod:`.tab`)."""
