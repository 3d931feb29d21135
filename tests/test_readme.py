"""The README's commands stay true: every `python -m vae_core …` line parses, Quickstart has two commands
that exist in the Makefile, and CI runs the README's test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from vae_core.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _code_lines() -> list[str]:
    """Shell commands of the README's fenced blocks, one per command: a line ending in a backslash
    continues on the next, as in a shell."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)  # whole fenced blocks
    joined = [b.replace("\\\n", " ") for lang, b in blocks if lang in ("", "bash")]
    return [ln.split("#")[0].strip() for b in joined for ln in b.splitlines() if ln.strip()]


@pytest.mark.parametrize("line", [ln for ln in _code_lines() if "-m vae_core" in ln])
def test_cli_lines_in_readme_parse(line):
    args = shlex.split(line)
    args = args[args.index("vae_core") + 1:]
    build_parser().parse_args(args)  # SystemExit (a failure) on an unknown flag or subcommand


def test_quickstart_has_exactly_two_commands_backed_by_make_targets():
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.splitlines() if ln.split("#")[0].strip()]
    assert commands == ["make app", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^app:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_space_front_matter_matches_requirements():
    front = README.split("---", 2)[1]
    version = re.search(r"sdk_version:\s*([\d.]+)", front).group(1)
    assert "sdk: gradio" in front and "app_file: app.py" in front
    req = (ROOT / "requirements.txt").read_text()
    assert re.search(rf"gradio>={re.escape(version)}\b", req), "README sdk_version must equal requirements' gradio floor"
