"""The package map of docs/architecture.md, enforced: the core never imports the UI toolkit, the checkpoint
format never imports the model it stores, and each moved idea has one home."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import vae_core

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "vae_core"


def _imports(path: Path) -> set[str]:
    """Every module name a file imports, at any depth (lazy imports inside functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # resolve a relative import against the file's package
                pkg = path.relative_to(ROOT).with_suffix("").parts[:-node.level]
                base = ".".join(pkg + ((base,) if base else ()))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def test_no_core_file_imports_gradio() -> None:
    offenders = sorted(str(p.relative_to(ROOT)) for p in CORE.rglob("*.py")
                       if any(n == "gradio" or n.startswith("gradio.") for n in _imports(p)))
    assert offenders == [], f"vae_core must not import gradio: {offenders}"


def test_importing_every_core_module_loads_no_gradio() -> None:
    """The static check misses an import hidden behind a dependency; importing every module catches it."""
    code = (
        "import importlib, json, pkgutil, sys, vae_core\n"
        "mods = [m.name for m in pkgutil.walk_packages(vae_core.__path__, 'vae_core.') if m.name != 'vae_core.__main__']\n"
        "for m in mods: importlib.import_module(m)\n"
        "print(json.dumps({'n': len(mods), 'gradio': sorted(k for k in sys.modules if k.split('.')[0] == 'gradio')}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["n"] > 40 and report["gradio"] == []


def test_checkpoint_format_does_not_import_the_model() -> None:
    assert not any(n.startswith("vae_core.model") for n in _imports(CORE / "checkpoint.py"))
    code = "import sys, vae_core.checkpoint; print('vae_core.model' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_each_idea_has_one_home() -> None:
    mods = {m.name for m in pkgutil.walk_packages(vae_core.__path__, "vae_core.")}
    for gone in ("vae_core.sampler", "vae_core.sample_quality"):
        assert gone not in mods, f"{gone} moved into vae_core.sampling"
    defs: dict[str, list[str]] = {}
    for p in CORE.rglob("*.py"):
        for node in ast.parse(p.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs.setdefault(node.name, []).append(str(p.relative_to(ROOT)))
    for name, home in [("sample_prior", "vae_core/sampling/prior.py"), ("LatentSampler", "vae_core/sampling/mixture.py"),
                       ("fit_latent_sampler", "vae_core/sampling/fit.py"), ("sample_quality", "vae_core/sampling/quality.py"),
                       ("format_latent", "vae_core/latent_string.py"), ("parse_latent", "vae_core/latent_string.py"),
                       ("eval_mode", "vae_core/inference.py"), ("model_device", "vae_core/inference.py"),
                       ("load_checkpoint", "vae_core/model.py"), ("read_checkpoint", "vae_core/checkpoint.py")]:
        assert defs.get(name) == [home], f"{name} is defined in {defs.get(name)}, expected only {home}"
