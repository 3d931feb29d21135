"""The benches are a package run as ``python -m bench.<name>`` from the repository root: none edits ``sys.path``
or imports from tests/ (tests may import bench, not the other way round), the repository has one ``free_port``
(bench/harness.py), and every bench with a command line answers ``--help``."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name != "__init__.py")
#: Modules only tests/ holds (helpers, fixtures, harness): a bench importing one would need tests/ on sys.path.
TEST_MODULES = {"tests"} | {p.stem for p in (ROOT / "tests").glob("*.py")}
#: Folders of the checkout that hold no source of ours (environments, caches, outputs, node packages).
NOT_SOURCE = {"node_modules", "__pycache__", "runs", "checkpoints", "cartoon_vae.egg-info"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _sys_path_uses(tree: ast.Module) -> list[int]:
    """Lines that touch ``sys.path`` (or add a site folder): a bench needs neither, read or written."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name) \
                and node.value.id == "sys":
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "addsitedir":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "path" for a in node.names):
            lines.append(node.lineno)
    return lines


def _imported_modules(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", BENCHES, ids=lambda p: p.stem)
def test_bench_does_not_edit_sys_path(path):
    assert not _sys_path_uses(_tree(path)), f"{path.name} touches sys.path at lines {_sys_path_uses(_tree(path))}: " \
        "run it as `python -m bench.<name>` from the repository root instead"


@pytest.mark.parametrize("path", BENCHES, ids=lambda p: p.stem)
def test_bench_imports_nothing_from_tests(path):
    found = [m for m in _imported_modules(_tree(path)) if m.split(".")[0] in TEST_MODULES]
    assert not found, f"{path.name} imports {found} from tests/: move what it needs to bench/ (tests may import it)"
    assert '"tests"' not in path.read_text(encoding="utf-8"), f"{path.name} builds a path into tests/"


def _python_sources() -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in NOT_SOURCE]
        files += [Path(folder) / n for n in names if n.endswith(".py")]
    return files


def test_one_free_port_in_the_repository():
    pattern = re.compile(r"^\s*def _?free_port\b", re.M)
    found = [f"{p.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}"
             for p in _python_sources() for text in [p.read_text(encoding="utf-8", errors="replace")]
             for m in pattern.finditer(text)]
    assert len(found) == 1 and found[0].startswith("bench/harness.py:"), \
        f"one free_port (bench/harness.py; tests reach it as ui_harness.free_port), found: {found}"


def test_usage_lines_run_the_benches_as_modules():
    """Running a bench by its file name no longer works (the scripts import ``bench.…``): every command shown
    is ``python -m bench.<name>``."""
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs").glob("*.json"), *BENCHES,
             *(ROOT / "tests").glob("*.py")]
    old = re.compile(r"python3?\s+(?:\S*/)?bench/\w+\.py")
    found = [f"{p.relative_to(ROOT)}: {m.group(0)!r}" for p in texts
             for m in old.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found


def _has_cli(path: Path) -> bool:
    return "argparse" in _imported_modules(_tree(path)) and 'if __name__ == "__main__":' in path.read_text("utf-8")


#: Benches whose ``--help`` would do real work instead: none today. (data_speed has no command line at all: any
#: call of it, ``--help`` included, runs the whole benchmark, so it is not in CLI_BENCHES.)
HEAVY_HELP: set[str] = set()
CLI_BENCHES = [p.stem for p in BENCHES if _has_cli(p) and p.stem not in HEAVY_HELP]


@pytest.fixture(scope="module")
def help_runs() -> dict[str, subprocess.Popen]:
    """``python -m bench.<name> --help`` for every bench at once (most import torch: a few seconds each)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the repository root as cwd is enough
    procs = {name: subprocess.Popen([sys.executable, "-m", f"bench.{name}", "--help"], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in CLI_BENCHES}
    yield procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()


def test_the_command_line_benches_are_found():
    assert {"app_latency", "page_latency", "quality", "recipe_sweep", "ssim_curve", "static_page",
            "train_speed"} <= set(CLI_BENCHES)


@pytest.mark.parametrize("name", CLI_BENCHES)
def test_bench_help_runs_as_a_module(help_runs, name):
    try:
        out, err = help_runs[name].communicate(timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m bench.{name} --help did not answer within 180 s")
    assert help_runs[name].returncode == 0, err[-2000:]
    assert out.startswith("usage:"), out[:300]
