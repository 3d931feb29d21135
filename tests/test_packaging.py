"""The package as installed: pyproject.toml is the one list of dependencies (requirements files agree with
it), the ``cartoon-vae`` command is ``python -m vae_core``, and no module reaches into another's privates."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from helpers import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(file: Path) -> list[str]:
    lines = [ln.split("#")[0].strip() for ln in file.read_text().splitlines()]
    return [ln for ln in lines if ln]


def test_requirements_txt_is_pyprojects_dependencies_plus_the_app_extra():
    assert _requirements(ROOT / "requirements.txt") == PROJECT["dependencies"] + PROJECT["optional-dependencies"]["app"]


def test_requirements_dev_is_requirements_plus_the_dev_extra():
    assert _requirements(ROOT / "requirements-dev.txt") == ["-r requirements.txt",
                                                           *PROJECT["optional-dependencies"]["dev"]]


def test_the_version_is_read_from_the_package():
    from vae_core import __version__

    assert "version" in PROJECT["dynamic"] and re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def _console_script() -> Path:
    script = Path(sys.executable).parent / "cartoon-vae"
    if not script.is_file():
        pytest.skip("the package is not installed in this interpreter's environment (make setup installs it)")
    return script


@pytest.mark.slow
def test_the_console_script_is_the_cli():
    assert PROJECT["scripts"]["cartoon-vae"] == "vae_core.cli:main"
    args = ["info", "--checkpoint", str(ROOT / "checkpoints" / "default")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    via_script = subprocess.run([str(_console_script()), *args], capture_output=True, text=True, env=env, timeout=120)
    via_module = subprocess.run([sys.executable, "-m", "vae_core", *args], capture_output=True, text=True, env=env,
                                timeout=120)
    assert via_script.returncode == via_module.returncode == 0, via_script.stderr[-2000:]
    assert via_script.stdout == via_module.stdout and "hair_color" in via_script.stdout


OUR_PACKAGES = ("vae_core", "ui", "bench", "tests", "app")
SOURCES = [p for d in ("vae_core", "ui", "bench", "tests", "assets") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]


def _module_name(file: Path) -> str:
    parts = file.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_imports(file: Path) -> list[str]:
    """``from X import _name`` (and ``import X._name``) where X is another module of this project."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    here = _module_name(file)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                base = here.split(".")[: len(here.split(".")) - node.level + (file.name == "__init__.py")]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] not in OUR_PACKAGES or module == here:
                continue
            found += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.split(".")[0] in OUR_PACKAGES and any(p.startswith("_") and not p.startswith("__")
                                                                     for p in a.name.split("."))]
    return found


def test_no_module_imports_another_modules_private_names():
    offenders = {str(f.relative_to(ROOT)): names for f in SOURCES if (names := _private_imports(f))}
    assert not offenders, f"make these public where they belong, or test through the public API: {offenders}"
