"""What every tab uses: settings, the shared explorers (:mod:`.registry`), per-session state, input checks,
image plumbing, the one place errors become messages, and the model info panel."""
