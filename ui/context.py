"""What every tab needs: settings, the shared explorers, the training runner and the checkpoints'
analyses (built once per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis.jobs import AnalysisJobs
from .common.registry import ExplorerRegistry
from .common.settings import AppSettings
from .common.state import SessionState
from vae_core.slider_layout import SliderLayout, build_layout
from .train.runner import TrainingRunner


@dataclass(frozen=True)
class AppContext:
    settings: AppSettings
    registry: ExplorerRegistry
    runner: TrainingRunner
    #: scorecards and attribute classifiers per checkpoint, computed in the background (ui.analysis.jobs)
    analyses: AnalysisJobs = field(default_factory=AnalysisJobs)

    @property
    def image_dir(self):
        """Where image outputs are written (see ui.common.images.image_file)."""
        return self.settings.cache_dir / "images"

    def explorer(self, state: SessionState | None):
        return self.registry.get(state.checkpoint if state is not None else None)

    def layout(self, explorer) -> SliderLayout:
        return self.registry.derived(explorer, "layout", lambda: build_layout(explorer))
