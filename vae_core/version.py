"""Package and checkpoint-format versions recorded in every checkpoint."""

__version__ = "0.1.0"
#: Bumped when the checkpoint layout or a config's schema or defaults change; vae_core.migrations upgrades each
#: older version, and loaders reject newer ones.
CHECKPOINT_FORMAT = 2
