"""The README's promises: its Python example runs, and its Quick start has exactly two commands."""

import re
import warnings
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_quick_start_is_two_commands_in_one_block():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Quick start section must hold exactly one code block"
    commands = [line for line in blocks[0].splitlines() if line.strip()]
    assert commands == ['pip install -e ".[all]" && python book/build.py', "pytest -n 2 --dist loadfile"]


def test_library_example_runs(capsys):
    code = re.search(r"```python\n(import numpy as np\nimport mixlearn as ml.*?)```", README, flags=re.S).group(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the example must run without warnings
        namespace = {}
        exec(compile(code, "README.md", "exec"), namespace)
    assert abs(namespace["gm"].score(namespace["X"]) * 272 - (-1130.26)) < 0.01
    assert namespace["resp"].shape == (5000, 3)
    assert "(2, 8)" in capsys.readouterr().out
