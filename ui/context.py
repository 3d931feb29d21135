"""What every tab needs: settings, the shared explorers, the training runner and the checkpoints'
analyses (built once per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis.jobs import AnalysisJobs
from .common.registry import ExplorerRegistry
from .common.settings import AppSettings
from vae_core.direction_kinds import DEFAULT_DIRECTIONS, check_direction_kind

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

    def layout(self, explorer, kind: str | None = None) -> SliderLayout:
        """The slider layout; ``kind``: the attribute directions' (None: the default, see vae_core.direction_kinds)."""
        kind = None if kind in (None, "", DEFAULT_DIRECTIONS) else check_direction_kind(kind)
        return self.registry.derived(explorer, f"layout-{kind or DEFAULT_DIRECTIONS}",
                                     lambda: build_layout(explorer, kind))

    def page_assets(self, explorer, kind: str | None = None) -> PageAssets:
        """The checkpoint's page layout (per kind of attribute direction) and decoder, written once into the cache."""
        kind = kind or DEFAULT_DIRECTIONS
        return self.registry.derived(explorer, f"page_assets-{kind}",
                                     lambda: build_page_assets(self.settings.cache_dir, explorer,
                                                               self.layout(explorer, kind), kind))
