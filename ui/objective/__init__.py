"""The Objective tab: the β-ELBO's two terms for any face (:mod:`.view` writes them next to the seed's formulas,
:mod:`.plots` draws the per-dim charts), the prior hole and the β-sweep (:mod:`.tab` builds and wires it)."""
