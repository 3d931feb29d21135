"""What every tab needs: settings, the shared explorers and the training runner (built once per app)."""

from __future__ import annotations

from dataclasses import dataclass

from .registry import ExplorerRegistry
from .settings import AppSettings
from .sliders import SliderLayout, build_layout
from .state import SessionState
from .training_runner import TrainingRunner


@dataclass(frozen=True)
class AppContext:
    settings: AppSettings
    registry: ExplorerRegistry
    runner: TrainingRunner

    def explorer(self, state: SessionState | None):
        return self.registry.get(state.checkpoint if state is not None else None)

    def layout(self, explorer) -> SliderLayout:
        return self.registry.derived(explorer, "layout", lambda: build_layout(explorer))
