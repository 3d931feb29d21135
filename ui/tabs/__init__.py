"""One module per tab: build its components, wire its events to pure functions."""
