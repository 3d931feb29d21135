"""The README's commands stay true: every `python -m vae_core …` / `cartoon-vae …` line parses and runs at
tiny sizes (or is listed in SKIP with the reason), Quickstart has two commands that exist in the Makefile,
and CI runs the README's test command."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from helpers import run_cli
from vae_core.cli import build_parser, subcommands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLE = ROOT.parent / "shared" / "data" / "cartoonset-sample-256"

#: README lines that are not run here, by a part of the line, with the reason.
SKIP = {
    "vae_core download": "downloads from the internet (tests/test_download.py serves the archive locally)",
    "cartoon-vae download": "downloads from the internet (tests/test_download.py serves the archive locally)",
    "--path data/cartoonset10k": "needs the Cartoon Set downloaded by the line above",
    "--disentanglement": "trains an attribute classifier for minutes (tests/test_disentanglement_cli.py runs it)",
}

#: Flags appended to a README line of each subcommand so that it runs in seconds; later flags win in
#: argparse, so these replace the line's sizes and keep its recipe. {ck}: a checkpoint trained here; {tmp}: a
#: scratch folder.
TINY = {
    "train": ["--limit", "40", "--size", "40", "--resolution", "32", "--channels", "8,16,16", "--latent-dim", "4",
              "--batch-size", "8", "--max-steps", "2", "--out", "{tmp}/train"],
    "evaluate": ["--checkpoint", "{ck}"],
    "sample": ["--checkpoint", "{ck}", "--out", "{tmp}/samples.png"],
    "embed": ["--checkpoint", "{ck}", "--max-points", "40"],
    "info": ["--checkpoint", "{ck}"],
    "publish": ["--checkpoint", "{ck}", "--out", "{tmp}/published"],
    "beta-sweep": ["--size", "40", "--betas", "1", "--epochs", "1", "--num-train", "20", "--num-test", "10",
                   "--out", "{tmp}/sweep"],
    # the shipped default, into scratch (offline: the runtime `make setup` fetched; skipped below if absent)
    "export-web": ["--out", "{tmp}/site", "--offline"],
}


def _code_lines() -> list[str]:
    """Shell commands of the README's fenced blocks, one per command: a line ending in a backslash
    continues on the next, as in a shell."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)  # whole fenced blocks
    joined = [b.replace("\\\n", " ") for lang, b in blocks if lang in ("", "bash")]
    return [ln.split("#")[0].strip() for b in joined for ln in b.splitlines() if ln.strip()]


def _cli_args(line: str) -> list[str]:
    """The arguments after ``python -m vae_core`` or ``cartoon-vae``."""
    args = shlex.split(line)
    start = args.index("vae_core") + 1 if "vae_core" in args else args.index("cartoon-vae") + 1
    return args[start:]


CLI_LINES = [ln for ln in _code_lines() if "-m vae_core" in ln or ln.startswith("cartoon-vae ")]


def test_the_readme_has_cli_lines_and_tiny_sizes_name_real_subcommands():
    assert CLI_LINES and set(TINY) <= set(subcommands())


@pytest.mark.parametrize("line", CLI_LINES)
def test_cli_lines_in_readme_parse(line):
    build_parser().parse_args(_cli_args(line))  # SystemExit (a failure) on an unknown flag or subcommand


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("readme-ck")
    run_cli("train", "--size", "40", "--resolution", "32", "--channels", "8,16,16", "--latent-dim", "4",
            "--batch-size", "8", "--max-steps", "2", "--out", str(tmp / "ck"), cache=tmp / "cache")
    return tmp / "ck"


@pytest.mark.slow
@pytest.mark.parametrize("line", CLI_LINES)
def test_cli_lines_in_readme_run(line, tiny_checkpoint, tmp_path):
    skip = [reason for part, reason in SKIP.items() if part in line]
    if skip:
        pytest.skip(skip[0])
    if "cartoonset-sample-256" in line and not SAMPLE.is_dir():
        pytest.skip("../shared/data/cartoonset-sample-256 is not present")
    args = _cli_args(line)
    command = args[0]
    assert command in TINY, f"add tiny-size flags for `{command}` to TINY, or the line to SKIP with a reason"
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)  # embed and publish write next to it: never the shipped checkpoints
    tiny = [a.format(ck=ck, tmp=tmp_path) for a in TINY[command]]
    run_cli(*args, *tiny, cache=tmp_path / "cache")


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
