"""The README's in-process example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README lost its in-process example"
    for block in blocks:
        subprocess.run([sys.executable, "-c", block], check=True, timeout=60)
