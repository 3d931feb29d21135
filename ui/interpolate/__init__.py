"""The Interpolate tab: two ends from any source and the path between them (:mod:`.interpolation`, :mod:`.tab`)."""
