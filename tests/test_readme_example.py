"""The README's own-strategy example runs as written and trades."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import REPO, need_sample
from tools.readme import block_file


def readme_block(name: str) -> str:
    """The code of the ``name`` block, read from the file that holds it (``tools.readme.BLOCK_FILES``)."""
    text = block_file(name).read_text()
    block = text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return block.split("```python", 1)[1].rsplit("```", 1)[0]


def test_readme_strategy_example_runs_as_written(tmp_path):
    need_sample()
    script = tmp_path / "example.py"
    script.write_text(readme_block("example"))
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's packages, not an installed copy
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    match = re.fullmatch(r"final value ([\d,]+\.\d\d), trades (\d+)\n", done.stdout)
    assert match, done.stdout
    assert int(match.group(2)) > 0
