"""The Analysis tab: each checkpoint's scorecard and classifier computed in the background (:mod:`.jobs`),
what the tab says about them (:mod:`.view`), the DCI heatmap (:mod:`.heatmap`) and the tab (:mod:`.tab`)."""
