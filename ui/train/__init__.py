"""The Train tab: form inputs → a run request (:mod:`.form`), the training process (:mod:`.worker`) and the
app's handle on it (:mod:`.runner`), what the tab shows of a run (:mod:`.view`) and the tab (:mod:`.tab`)."""
