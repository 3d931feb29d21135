"""Exception types of vae_core.

The core raises only these (plus plain ValueError for programming mistakes), so the UI layer can turn
them into friendly messages without ever showing a stack trace, and the CLI can exit with a clear line.
Every message says what went wrong *and* how to fix it.
"""

from __future__ import annotations


class VaeCoreError(Exception):
    """Base class: anything a user can cause and fix."""


class ConfigError(VaeCoreError):
    """A configuration value is out of range or inconsistent."""


class CheckpointError(VaeCoreError):
    """A checkpoint is missing, corrupt, of an unknown version or does not match its config."""


class DatasetError(VaeCoreError):
    """A dataset folder, archive, CSV or image cannot be used."""


class DownloadError(VaeCoreError):
    """Downloading or verifying a dataset archive failed."""


class ImageInputError(VaeCoreError):
    """An uploaded or given image cannot be turned into a model input."""


class TrainingError(VaeCoreError):
    """Training stopped because of a fault (e.g. non-finite loss)."""


class LatentFormatError(VaeCoreError):
    """A latent string cannot be parsed or does not fit the model."""


class WebRuntimeError(VaeCoreError):
    """onnxruntime-web (the page's ONNX runtime) cannot be had: no network, integrity mismatch, a missing or
    corrupt file. Callers fall back to decoding on the server."""
