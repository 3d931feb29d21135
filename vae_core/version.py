"""Package and checkpoint-format versions recorded in every checkpoint."""

__version__ = "0.1.0"
#: Bumped when the checkpoint layout changes incompatibly; loaders reject versions they do not know.
CHECKPOINT_FORMAT = 1
