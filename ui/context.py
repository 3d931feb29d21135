"""What every tab needs: settings, the shared explorers, the training runner and the checkpoints'
analyses (built once per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis.jobs import AnalysisJobs
from .common.registry import ExplorerRegistry
from .common.settings import AppSettings
from .common.state import SessionState
from .generate.page_assets import PageAssets, RuntimeLocator, build_page_assets
from vae_core.slider_layout import SliderLayout, build_layout
from .train.runner import TrainingRunner


@dataclass(frozen=True)
class AppContext:
    settings: AppSettings
    registry: ExplorerRegistry
    runner: TrainingRunner
    #: scorecards and attribute classifiers per checkpoint, computed in the background (ui.analysis.jobs)
    analyses: AnalysisJobs = field(default_factory=AnalysisJobs)
    #: where onnxruntime-web is, for the pages that decode faces themselves (ui.generate.page_assets)
    runtime: RuntimeLocator = field(default_factory=RuntimeLocator)

    @property
    def image_dir(self):
        """Where image outputs are written (see ui.common.images.image_file)."""
        return self.settings.cache_dir / "images"

    def explorer(self, state: SessionState | None):
        return self.registry.get(state.checkpoint if state is not None else None)

    def layout(self, explorer) -> SliderLayout:
        return self.registry.derived(explorer, "layout", lambda: build_layout(explorer))

    def page_assets(self, explorer) -> PageAssets:
        """The checkpoint's page layout and decoder, written once into the UI cache."""
        return self.registry.derived(explorer, "page_assets",
                                     lambda: build_page_assets(self.settings.cache_dir, explorer, self.layout(explorer)))
