"""The Reconstruct tab: an upload or a dataset example, encoded and decoded (:mod:`.encode`, :mod:`.tab`)."""
