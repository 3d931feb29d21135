"""Every ```python block of the README runs as written, in a fresh interpreter, and writes the images it says
it saves (the shipped checkpoints are linked into its working folder, as beside a clone)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: the gradio_client example needs a live app: tests/test_app_client.py runs that one against a served app
BLOCKS = [b for b in re.findall(r"^```python\n(.*?)^```", README, flags=re.S | re.M) if "gradio_client" not in b]


def test_the_readme_has_a_short_python_example():
    assert BLOCKS, "the README shows the Python API"
    code = [ln for ln in BLOCKS[0].splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(code) <= 6, code


@pytest.mark.parametrize("code", BLOCKS)
def test_python_blocks_run(code, tmp_path):
    (tmp_path / "checkpoints").symlink_to(ROOT / "checkpoints")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = re.findall(r"\.save\(\"([^\"]+)\"\)", code)
    for name in saved:
        image = np.asarray(Image.open(tmp_path / name))
        assert image.ndim == 3 and image.shape[2] == 3 and image.std() > 10, name  # a face, not a blank
