"""A checkpoint's decoder as one ONNX file, which the page runs with onnxruntime-web.

Why ONNX, with the weights inside the file: the page fetches one static file and decodes every slider move
itself, with no request to the server. The file is exported from the model that :func:`load_checkpoint` gives
(float16 weights up-cast to float32), so the page decodes exactly what the server decodes.

Why keyed by the weights' sha256 (``<checkpoint>/web/decoder-<sha16>.onnx``), like the ``projections/`` caches:
a checkpoint retrained or republished in place gets new weights and so a new name; a file of older weights is
never served for them (and is removed when the new one is written).

The graph: input ``z`` float32 [batch, Z], output ``image`` float32 [batch, 3, R, R] in [0, 1] (= ``model.decode``),
opset 18, the batch dimension dynamic.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_write_bytes
from ..checkpoint import WEIGHTS, file_sha256, read_meta
from ..model import load_checkpoint
from ..errors import CheckpointError
from ..model import ConvVAE

log = logging.getLogger(__name__)

WEB_DIR = "web"
INPUT_NAME = "z"
OUTPUT_NAME = "image"
OPSET = 18
#: The dynamic batch dimension's name in the graph (the page may decode several faces in one run).
BATCH_DIM = "batch"
#: Hex digits of the weights' sha256 in the file name: 64 bits, like the projection cache keys.
KEY_CHARS = 16


def decoder_path(checkpoint_dir: str | Path, fingerprint: str) -> Path:
    """Where the decoder of the weights with sha256 ``fingerprint`` lives in ``checkpoint_dir``."""
    if len(fingerprint) < KEY_CHARS or any(c not in "0123456789abcdef" for c in fingerprint):
        raise ValueError(f"fingerprint must be a lower-case hex sha256, got {fingerprint!r}")
    return Path(checkpoint_dir) / WEB_DIR / f"decoder-{fingerprint[:KEY_CHARS]}.onnx"


class _DecodeImage(nn.Module):
    """``model.decode`` as a module of its own: the exported graph holds the decoder only, not the encoder."""

    def __init__(self, decoder: nn.Module) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def export_bytes(model: ConvVAE) -> bytes:
    """The serialized ONNX model of ``model``'s decoder (in eval mode, float32, on the CPU).

    A copy of the decoder is exported, so the caller's model keeps its mode, device and layout (a model in
    training, on a GPU, channels_last). The example batch is 2: torch.export specialises sizes 0 and 1.
    The exporter's failures (onnxscript missing, an operator it cannot convert) are a :class:`CheckpointError`."""
    decoder = copy.deepcopy(model.decoder).to("cpu", torch.float32, memory_format=torch.contiguous_format)
    decoder.eval().requires_grad_(False)
    z = torch.zeros(2, model.config.latent_dim)
    try:
        # verbose=False: the exporter's progress lines would land in the CLI's output and the training log.
        program = torch.onnx.export(
            _DecodeImage(decoder).eval(), (z,), dynamo=True, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes={INPUT_NAME: {0: torch.export.Dim(BATCH_DIM)}}, opset_version=OPSET,
            external_data=False, verbose=False)
        if program is None:  # only the legacy exporter returns None
            raise RuntimeError("torch.onnx.export returned no program")
        return program.model_proto.SerializeToString()
    except (ImportError, RuntimeError, TypeError) as e:  # OnnxExporterError is a RuntimeError; TypeError: old torch
        log.debug("ONNX export failed", exc_info=True)
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(f"exporting the decoder to ONNX failed ({type(e).__name__}: {first[:300]}); "
                              f"onnx and onnxscript must be installed (pip install -r requirements.txt)") from None


def export_decoder(model: ConvVAE, path: str | Path) -> Path:
    """Write ``model``'s decoder to ``path`` as ONNX, atomically (readers see the old file or the whole new one),
    after checking the bytes as :func:`check_decoder` would. Returns ``path``."""
    path = Path(path)
    data = export_bytes(model)
    _check_proto(_parse(data, str(path)), str(path), model.config.latent_dim, model.config.resolution)
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise CheckpointError(f"cannot write the ONNX decoder {path}: {e}") from None
    log.info("wrote ONNX decoder %s (%.1f MB)", path, len(data) / 1e6)
    return path


def ensure_decoder(checkpoint_dir: str | Path, *, force: bool = False) -> Path:
    """The ONNX decoder of the checkpoint's current weights: the existing file if it is sound (and not
    ``force``), else exported now (from the checkpoint as :func:`load_checkpoint` loads it, replacing the file
    atomically) and the decoders of other weights removed."""
    checkpoint_dir = Path(checkpoint_dir)
    meta = read_meta(checkpoint_dir)
    fingerprint = meta.weights_sha256
    if not fingerprint:  # a config written without the hash: key the file by the weights themselves
        weights = checkpoint_dir / WEIGHTS
        if not weights.is_file():
            raise CheckpointError(f"checkpoint file {weights} is missing")
        fingerprint = file_sha256(weights)
    try:
        path = decoder_path(checkpoint_dir, fingerprint)
    except ValueError:
        raise CheckpointError(f"{checkpoint_dir}/config.json records no valid weights sha256 "
                              f"({fingerprint[:80]!r}); the checkpoint is corrupt") from None
    if path.is_file() and not force:
        try:
            check_decoder(path, meta.model.latent_dim, meta.model.resolution)
            return path
        except CheckpointError as e:
            log.warning("%s; exporting it again", e)
    loaded = load_checkpoint(checkpoint_dir)
    if loaded.fingerprint and loaded.fingerprint != fingerprint:
        raise CheckpointError(f"{checkpoint_dir} changed while its decoder was exported; try again")
    export_decoder(loaded.model, path)
    remove_stale_decoders(checkpoint_dir, keep=path)
    return path


def remove_stale_decoders(checkpoint_dir: str | Path, keep: Path) -> list[Path]:
    """Delete the ``web/decoder-*.onnx`` files other than ``keep`` (decoders of earlier weights); returns them."""
    removed = []
    for old in (Path(checkpoint_dir) / WEB_DIR).glob("decoder-*.onnx"):
        if old.name != keep.name:
            try:
                old.unlink()
                removed.append(old)
            except OSError as e:  # a read-only folder: the stale file is never used anyway (other name)
                log.warning("cannot remove the stale decoder %s: %s", old, e)
    return removed


# -- checking -------------------------------------------------------------------------------------
def check_decoder(path: str | Path, latent_dim: int, resolution: int) -> None:
    """Raise :class:`CheckpointError` unless ``path`` is a sound ONNX decoder for latents of ``latent_dim``
    and images of side ``resolution``: a complete, valid model (the ONNX checker), weights inside the file,
    input ``z`` float32 [batch, latent_dim], output ``image`` float32 [batch, 3, resolution, resolution]."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise CheckpointError(f"no ONNX decoder at {where}; write it with "
                              f"`python -m vae_core export-decoder --checkpoint <checkpoint folder>`")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read the ONNX decoder {where}: {e}") from None
    _check_proto(_parse(data, where), where, latent_dim, resolution)


def _broken(where: str, why: str) -> CheckpointError:
    return CheckpointError(f"{where} is not a usable ONNX decoder ({why}); it is corrupt or truncated: delete it "
                           f"and export it again (`python -m vae_core export-decoder --checkpoint <checkpoint folder>`)")


def _parse(data: bytes, where: str):
    """The ModelProto of ``data``; any parse failure (protobuf's own errors included) as a CheckpointError."""
    import onnx
    from google.protobuf.message import DecodeError

    if not data:
        raise _broken(where, "the file is empty")
    try:
        return onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError) as e:
        raise _broken(where, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'cannot parse'}") from None


def _tensor_shape(value_info) -> tuple[int, list[int | str]]:
    """(element type, dims) of a graph input/output; a symbolic dim is its name, an unknown one ''."""
    t = value_info.type.tensor_type
    return t.elem_type, [d.dim_param if not d.HasField("dim_value") else d.dim_value for d in t.shape.dim]


def _check_proto(model, where: str, latent_dim: int, resolution: int) -> None:
    import onnx
    from onnx.external_data_helper import uses_external_data

    if any(uses_external_data(t) for t in model.graph.initializer):
        raise CheckpointError(f"{where} keeps its weights in a separate file, but the page fetches one file: "
                              f"export it again (`python -m vae_core export-decoder --checkpoint <checkpoint folder>`)")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _broken(where, f"the ONNX checker rejects it: {first[:300]}") from None
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    names_in, names_out = [i.name for i in inputs], [o.name for o in graph.output]
    if names_in != [INPUT_NAME] or names_out != [OUTPUT_NAME]:
        raise CheckpointError(f"{where} has inputs {names_in} and outputs {names_out}; a decoder has input "
                              f"{INPUT_NAME!r} and output {OUTPUT_NAME!r}: export it again")
    float32 = onnx.TensorProto.FLOAT
    (in_type, in_dims), (out_type, out_dims) = _tensor_shape(inputs[0]), _tensor_shape(graph.output[0])
    want_in, want_out = [BATCH_DIM, latent_dim], [BATCH_DIM, 3, resolution, resolution]
    if in_type != float32 or out_type != float32 or in_dims != want_in or out_dims != want_out:
        raise CheckpointError(
            f"{where} decodes {_describe(in_type, in_dims)} into {_describe(out_type, out_dims)}, but this checkpoint "
            f"needs {_describe(float32, want_in)} into {_describe(float32, want_out)}; it belongs to another model: "
            f"export it again")


def _describe(elem_type: int, dims: list[int | str]) -> str:
    import onnx

    if elem_type == onnx.TensorProto.FLOAT:
        name = "float32"
    elif elem_type in onnx.TensorProto.DataType.values():
        name = onnx.TensorProto.DataType.Name(elem_type).lower()
    else:
        name = f"type {elem_type}"
    return f"{name} [{', '.join(str(d) if d != '' else '?' for d in dims)}]"


# -- comparing with torch -------------------------------------------------------------------------
#: Latents the onnx package's pure-numpy reference evaluator decodes when onnxruntime is not installed (it takes
#: ~0.7 s a face for the shipped decoder, against milliseconds in onnxruntime).
REFERENCE_LATENTS = 4


@dataclass(frozen=True)
class Agreement:
    """How closely an ONNX decoder reproduces ``model.decode``: the largest absolute difference of a pixel value
    in [0, 1] (``max_abs``) and of a 0-255 pixel (``max_levels``) over ``count`` latents, run by ``runtime``."""

    max_abs: float
    max_levels: int
    count: int
    runtime: str


def compare_with_torch(path: str | Path, model: ConvVAE, z: np.ndarray) -> Agreement:
    """Decode the latents ``z`` [N, Z] with the ONNX file and with ``model``; onnxruntime runs the file where it
    is installed (a dev dependency), else the onnx package's reference evaluator on the first
    :data:`REFERENCE_LATENTS` latents."""
    import onnx

    from ..data.dataset import to_uint8

    z = np.ascontiguousarray(z, dtype=np.float32)
    try:
        import onnxruntime
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        z = z[:REFERENCE_LATENTS]
        got = ReferenceEvaluator(onnx.load(str(path))).run(None, {INPUT_NAME: z})[0]
        runtime = "the onnx reference evaluator (install onnxruntime to compare more latents)"
    else:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run([OUTPUT_NAME], {INPUT_NAME: z})[0]
        runtime = f"onnxruntime {onnxruntime.__version__}"
    training = model.training
    try:
        with torch.inference_mode():
            want = model.eval().decode(torch.from_numpy(z).to(next(model.parameters()).device)).float().cpu().numpy()
    finally:
        model.train(training)
    levels = np.abs(to_uint8(torch.from_numpy(got)).astype(np.int16) - to_uint8(torch.from_numpy(want)).astype(np.int16))
    return Agreement(max_abs=float(np.abs(got - want).max()), max_levels=int(levels.max()), count=len(z),
                     runtime=runtime)
