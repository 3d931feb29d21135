"""A checkpoint's analysis, computed once and cached in it: disentanglement scorecard + edit fidelity.

Why a module of its own: the Analysis tab of the app and ``python -m vae_core evaluate --disentanglement``
show the same numbers, and they take minutes to compute on a CPU (encoding the dataset, one DCI forest
and one SVM per dim for each of 18 factors, training the attribute classifier, decoding a few thousand
edited faces). So the result is written once to ``<checkpoint>/analysis/analysis-<key>.json`` and
loading it is one small JSON read.

What it holds:

- the :class:`~vae_core.analysis.disentanglement.Scorecard` (MIG, DCI, SAP, per factor, and the DCI importance
  matrix [D, K] behind the app's heatmap) of the posterior means on the checkpoint's dataset;
- the attribute classifier's held-out accuracy (the classifier itself is cached beside it by
  :func:`vae_core.analysis.classifier.store.load_or_train_classifier`, keyed by the dataset only, since it never
  sees the VAE);
- the :class:`~vae_core.analysis.edit_fidelity.FidelityReport`: per attribute, how often the attribute slider
  (strength 1) makes the classifier see the asked-for value, and how much else changes.

The key is a hash of the weights' sha256, the data spec (plus the synthetic generator version, which
changes the faces a spec draws) and the scoring parameters: retrained weights, another dataset or other
parameters get a file of their own, so a stale analysis is never shown. The file is written atomically
(temp file, fsync, rename). Nothing is pickled; a malformed file is refused with a
:class:`~vae_core.errors.CheckpointError` that says what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write_bytes
from ..checkpoint import current_command, read_json_file
from ..config import DataSpec, dataclass_from_dict
from ..errors import CheckpointError, ConfigError
from ..latent import DEFAULT_DIRECTIONS, check_direction_kind
from ..version import __version__
from .classifier.accuracy import ClassifierReport
from .classifier.config import ClassifierTrainConfig
from .classifier.network import AttributeClassifier
from .classifier.store import analysis_dir, classifier_json_path, load_classifier_file, load_or_train_classifier
from .disentanglement import DEFAULT_NUM_TEST, DEFAULT_NUM_TRAIN, DEFAULT_SCORE_SEED, FactorScore, Scorecard, score_model
from .edit_fidelity import AttributeFidelity, FidelityReport, explorer_fidelity_report

if TYPE_CHECKING:
    from ..data.dataset import FaceDataset
    from ..explorer import Explorer

log = logging.getLogger(__name__)

FORMAT = "cartoon-vae-analysis"
FORMAT_VERSION = 1
_PREFIX = "analysis"
_MAX_JSON_BYTES = 20_000_000

#: Called with a short description of the stage being computed ("training the attribute classifier…").
Progress = Callable[[str], None]


@dataclass(frozen=True)
class AnalysisConfig:
    """How the analysis is computed. The defaults are disentanglement_lib's sample sizes for the scorecard
    and a classifier small enough to ship inside a checkpoint.

    ``n_train`` / ``n_test`` / ``seed``: the scorecard's draw (a smaller dataset is split 2:1);
    ``fidelity_strength``, ``faces_per_value``, ``values_per_attribute``, ``max_faces``: the edit-fidelity
    measurement (:func:`~vae_core.analysis.edit_fidelity.fidelity_report`); ``classifier_epochs`` /
    ``classifier_hidden``: used only when no classifier for the dataset is cached yet. Why 128 hidden units:
    1.1 MB of weights instead of 2.0 MB at 256, so the shipped checkpoint stays small. ``directions``: the
    kind of attribute directions whose edits are scored (:data:`vae_core.latent.DIRECTION_KINDS`; default the
    sliders' kind).
    """

    n_train: int = DEFAULT_NUM_TRAIN
    n_test: int = DEFAULT_NUM_TEST
    seed: int = DEFAULT_SCORE_SEED
    fidelity_strength: float = 1.0
    faces_per_value: int = 32
    values_per_attribute: int = 6
    max_faces: int = 2000
    classifier_epochs: int = 8
    classifier_hidden: int = 128
    directions: str = DEFAULT_DIRECTIONS

    def __post_init__(self) -> None:
        check_direction_kind(self.directions)
        for name in ("n_train", "n_test", "faces_per_value", "values_per_attribute", "max_faces",
                     "classifier_epochs", "classifier_hidden"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"AnalysisConfig.{name} must be a whole number >= 1, got {v!r}")
        if not -10.0 <= float(self.fidelity_strength) <= 10.0 or float(self.fidelity_strength) == 0.0:
            raise ConfigError(f"fidelity_strength must be non-zero and within ±10, got {self.fidelity_strength}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key_dict(self) -> dict[str, Any]:
        """What the cache key covers: everything but the classifier's recipe (a cached classifier is reused).
        Plain directions leave ``directions`` out: analyses made before the kind was selectable scored plain
        directions, and they keep their keys."""
        key = {k: v for k, v in self.to_dict().items() if not k.startswith("classifier_")}
        if key["directions"] == "plain":
            del key["directions"]
        return key

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AnalysisConfig":
        return dataclass_from_dict(cls, d)


# -- the cached result ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Analysis:
    """One checkpoint's scorecard, classifier report and edit fidelity, as cached (see the module doc).

    ``classifier_file``: the classifier's JSON file name inside ``analysis/`` (what :func:`load_classifier_for`
    loads); ``seconds``: wall time of each stage when it was computed; ``command``: the process that
    computed it (e.g. ``python -m vae_core evaluate --disentanglement``).
    """

    key: str
    weights_sha256: str
    data: DataSpec
    dataset_label: str
    config: AnalysisConfig
    scorecard: Scorecard
    fidelity: FidelityReport
    classifier: ClassifierReport
    classifier_file: str
    created: str = ""
    command: str = ""
    package_version: str = __version__
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return self.scorecard.factor_names

    def factor(self, name: str) -> FactorScore | None:
        return next((f for f in self.scorecard.factors if f.name == name), None)

    def fidelity_of(self, attribute: str) -> AttributeFidelity | None:
        return self.fidelity.of(attribute)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "key": self.key, "created": self.created,
            "command": self.command, "package_version": self.package_version,
            "weights_sha256": self.weights_sha256, "data": self.data.to_dict(), "dataset_label": self.dataset_label,
            "config": self.config.to_dict(), "seconds": dict(self.seconds),
            "scorecard": self.scorecard.to_dict(), "fidelity": self.fidelity.to_dict(),
            "classifier": {"file": self.classifier_file, "report": self.classifier.to_dict()},
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "the analysis") -> "Analysis":
        """Parse a cached analysis; :class:`CheckpointError` naming ``source`` if anything is off."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise CheckpointError(f"{source} is not a cartoon-vae analysis (missing format {FORMAT!r})")
        if d.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{source} has analysis format version {d.get('format_version')!r}; this vae_core "
                                  f"reads version {FORMAT_VERSION}: compute the analysis again")
        try:
            clf = d["classifier"]
            file = str(clf["file"])
            if Path(file).name != file or not file.endswith(".json"):
                raise ValueError(f"the classifier file {file!r} must be a JSON file name inside analysis/")
            return cls(
                key=str(d["key"]), weights_sha256=str(d["weights_sha256"]), data=DataSpec.from_dict(d["data"]),
                dataset_label=str(d.get("dataset_label", "")),
                config=AnalysisConfig.from_dict(_legacy_config(d["config"])),
                scorecard=Scorecard.from_dict(d["scorecard"]), fidelity=FidelityReport.from_dict(d["fidelity"]),
                classifier=ClassifierReport.from_dict(clf["report"]), classifier_file=file,
                created=str(d.get("created", "")), command=str(d.get("command", "")),
                package_version=str(d.get("package_version", "")),
                seconds={str(k): float(v) for k, v in dict(d.get("seconds") or {}).items()},
            )
        except KeyError as e:
            raise CheckpointError(f"{source} lacks the {e.args[0]!r} entry; compute the analysis again") from None
        except (ConfigError, CheckpointError) as e:
            raise CheckpointError(f"{source} is invalid: {e}") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"{source} is malformed ({type(e).__name__}: {e}); compute it again") from None

    def format_table(self) -> str:
        """The scorecard as markdown (readable as plain text) with each attribute's mean edit fidelity."""
        return scorecard_table(self.scorecard, self.fidelity, self.classifier, self.config.directions)


def _legacy_config(config: Any) -> Any:
    """A cached analysis' config; one written before the direction kind was recorded scored plain directions."""
    return {"directions": "plain", **config} if isinstance(config, dict) else config


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def scorecard_table(card: Scorecard, fidelity: FidelityReport | None = None,
                    classifier: ClassifierReport | None = None, directions: str | None = None) -> str:
    """:meth:`Scorecard.format_table` plus the edit-fidelity columns: per attribute the fraction of edited
    held-out faces that the classifier sees with the target value after the slider move (``edit fidelity``)
    and before it (``before``), and the classifier's held-out accuracy next to its majority baseline —
    fidelity means only as much as the classifier learned."""
    def cells(s) -> list[str]:
        fid = fidelity.of(s.name) if fidelity is not None else None
        acc = next((a for a in classifier.per_attribute if a.attribute == s.name), None) if classifier else None
        return [*((_f(fid.fidelity), _f(fid.before)) if fid is not None else ("—", "—")),
                f"{_f(acc.accuracy)} ({_f(acc.majority_baseline)})" if acc is not None else "—"]

    metrics, notes = [], []
    if fidelity is not None:
        kind = f", {directions} directions" if directions else ""
        metrics.append((f"edit fidelity (mean of {len(fidelity.attributes)} attributes, strength "
                        f"{fidelity.strength:g})", _f(fidelity.mean_fidelity)))
        notes.append("edit fidelity: fraction of edited held-out faces (attribute slider at strength "
                     f"{fidelity.strength:g}{kind}, toward values they do not have) that the attribute classifier "
                     "sees with the target value; 'before edit': the same fraction before the move")
    return card.format_table(metrics, ("edit fidelity", "before edit", "classifier acc (baseline)"), cells, notes)


# -- keys and files --------------------------------------------------------------------------------------
def data_identity(data: DataSpec) -> dict[str, Any]:
    """The data spec plus what else decides its faces: the synthetic generator's version."""
    ident: dict[str, Any] = {"spec": data.to_dict()}
    if data.is_synthetic:
        from ..data.synthetic import GENERATOR_VERSION

        ident["synthetic_generator_version"] = GENERATOR_VERSION
    return ident


def analysis_key(weights_sha256: str, data: DataSpec, config: AnalysisConfig) -> str:
    """16 hex digits naming one (weights, dataset, parameters) analysis."""
    blob = json.dumps({"format": FORMAT, "v": FORMAT_VERSION, "weights": weights_sha256, "data": data_identity(data),
                       "config": config.key_dict()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def analysis_path(checkpoint: str | Path, key: str) -> Path:
    return analysis_dir(checkpoint) / f"{_PREFIX}-{key}.json"


def _explorer_key(explorer: "Explorer", data: DataSpec | None, config: AnalysisConfig) -> tuple[str, DataSpec]:
    spec = data or explorer.meta.data
    return analysis_key(explorer.checkpoint.fingerprint, spec, config), spec


def read_analysis(file: str | Path) -> Analysis:
    """Load one analysis JSON file (:class:`CheckpointError` when it is missing or malformed)."""
    path = Path(file)
    if not path.is_file():
        raise CheckpointError(f"no analysis at {path}")
    doc = read_json_file(path, _MAX_JSON_BYTES, "an analysis", "compute the analysis again")
    return Analysis.from_dict(doc, source=path.name)


def load_analysis(explorer: "Explorer", config: AnalysisConfig | None = None,
                  data: DataSpec | None = None) -> Analysis | None:
    """The cached analysis of this checkpoint's weights on ``data`` (default: its own dataset) with
    ``config`` (default: :class:`AnalysisConfig`), or None when none is cached. One stat and, when present,
    one small JSON read. A malformed file raises :class:`CheckpointError`."""
    key, _ = _explorer_key(explorer, data, config or AnalysisConfig())
    path = analysis_path(explorer.path, key)
    if not path.is_file():
        return None
    found = read_analysis(path)
    if found.key != key or found.weights_sha256 != explorer.checkpoint.fingerprint:
        raise CheckpointError(f"{path.name} describes other weights or data than its name says; compute it again")
    return found


def has_cached_analysis(explorer: "Explorer", config: AnalysisConfig | None = None,
                        data: DataSpec | None = None) -> bool:
    key, _ = _explorer_key(explorer, data, config or AnalysisConfig())
    return analysis_path(explorer.path, key).is_file()


def save_analysis(analysis: Analysis, checkpoint: str | Path) -> Path:
    """Write ``analysis`` atomically into ``<checkpoint>/analysis/`` (temp file, fsync, rename); its path."""
    path = atomic_write_bytes(analysis_path(checkpoint, analysis.key),
                              (json.dumps(analysis.to_dict(), indent=2) + "\n").encode("utf-8"))
    log.info("saved analysis %s", path)
    return path


def load_classifier_for(explorer: "Explorer", analysis: Analysis) -> AttributeClassifier:
    """The attribute classifier an analysis was measured with (cached beside it); CheckpointError if gone."""
    return load_classifier_file(analysis_dir(explorer.path) / analysis.classifier_file)


# -- computing ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """A computed analysis, the classifier it used, and where it was saved (None: the checkpoint folder is
    read-only, e.g. a deployed Space; the result is still usable in memory)."""

    analysis: Analysis
    classifier: AttributeClassifier
    saved_to: Path | None


def compute_analysis(explorer: "Explorer", dataset: "FaceDataset | None" = None,
                     config: AnalysisConfig | None = None, progress: Progress | None = None,
                     save: bool = True) -> AnalysisResult:
    """Score the checkpoint, get (load or train) its attribute classifier, measure edit fidelity, and save.

    ``dataset``: default the checkpoint's own (loaded from its data spec). The attribute directions whose
    fidelity is measured are the explorer's of kind ``config.directions`` (by default the sliders'). Measured
    for the shipped checkpoint (10k 64×64 faces) on this 2-core CPU at nice 10 with other jobs running
    (load average 5–10): scorecard 15 s, classifier 39 s (only the first time: it is cached), fidelity 3 s,
    58 s in all (``Analysis.seconds``). Raises :class:`~vae_core.errors.DatasetError` when the dataset has
    no labels.
    """
    cfg = config or AnalysisConfig()
    say = progress or (lambda _msg: None)
    t_all = time.perf_counter()
    if dataset is None:
        from ..data import load_dataset

        say("loading the dataset")
        dataset = load_dataset(explorer.meta.data, progress=False)
    key, spec = _explorer_key(explorer, dataset.spec, cfg)
    seconds: dict[str, float] = {}

    n = min(len(dataset), cfg.n_train + cfg.n_test)
    say(f"scoring MIG, DCI and SAP on {n} faces")
    t = time.perf_counter()
    card = score_model(explorer.model, dataset, n_train=cfg.n_train, n_test=cfg.n_test, seed=cfg.seed)
    seconds["scorecard"] = round(time.perf_counter() - t, 2)

    say("loading or training the attribute classifier")
    t = time.perf_counter()

    def epoch_done(epoch: int, epochs: int, loss: float) -> None:
        say(f"training the attribute classifier: epoch {epoch}/{epochs} (loss {loss:.2f})")

    classifier = load_or_train_classifier(
        explorer.path, dataset, train=ClassifierTrainConfig(epochs=cfg.classifier_epochs, seed=cfg.seed),
        hidden=cfg.classifier_hidden, progress=epoch_done)
    seconds["classifier"] = round(time.perf_counter() - t, 2)

    say("measuring edit fidelity of the attribute sliders")
    t = time.perf_counter()
    fidelity = explorer_fidelity_report(explorer, classifier, dataset=dataset, max_faces=cfg.max_faces,
                                        strength=cfg.fidelity_strength, faces_per_value=cfg.faces_per_value,
                                        values_per_attribute=cfg.values_per_attribute, seed=cfg.seed,
                                        directions=cfg.directions)
    seconds["fidelity"] = round(time.perf_counter() - t, 2)
    seconds["total"] = round(time.perf_counter() - t_all, 2)

    analysis = Analysis(
        key=key, weights_sha256=explorer.checkpoint.fingerprint, data=spec, dataset_label=spec.describe(),
        config=cfg, scorecard=card, fidelity=fidelity, classifier=classifier.report,
        classifier_file=classifier_json_path(analysis_dir(explorer.path), spec).name,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), command=current_command(), seconds=seconds)
    saved_to = None
    if save:
        try:
            saved_to = save_analysis(analysis, explorer.path)
        except OSError as e:
            log.warning("cannot save the analysis in %s (%s); using it unsaved", analysis_dir(explorer.path),
                        e.strerror or e)
    return AnalysisResult(analysis=analysis, classifier=classifier, saved_to=saved_to)


def load_or_compute_analysis(explorer: "Explorer", dataset: "FaceDataset | None" = None,
                             config: AnalysisConfig | None = None, progress: Progress | None = None) -> Analysis:
    """The cached analysis if there is one (instant), else :func:`compute_analysis` (minutes) and save it."""
    cached = load_analysis(explorer, config, dataset.spec if dataset is not None else None)
    if cached is not None:
        return cached
    return compute_analysis(explorer, dataset, config, progress).analysis


__all__ = [
    "Analysis", "AnalysisConfig", "AnalysisResult", "analysis_key", "analysis_path", "compute_analysis",
    "data_identity", "has_cached_analysis", "load_analysis", "load_classifier_for", "load_or_compute_analysis",
    "read_analysis", "save_analysis", "scorecard_table",
]
