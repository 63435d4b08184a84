"""`pytest --nbval` on the solution notebooks: they run against the current mixlearn and reproduce
their stored outputs (printed floats compared to three decimals, tests/nbval_sanitize.cfg).

Run in a subprocess so that nbval's collection of notebooks stays out of the main test run (the
plain `pytest` never collects notebooks, in particular not the exercises/ release). A copy of one
notebook with a changed stored output is run alongside, to show that a difference is noticed.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import nbformat
from exercise_support import ASSIGNMENTS, ROOT, solution_path


def test_solutions_reproduce_their_outputs(tmp_path):
    nb = nbformat.read(solution_path("03_em_two"), as_version=4)
    changed = False
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "closed form" in out["text"]:
                out["text"] = out["text"].replace("closed form", "closed  form")
                changed = True
    assert changed
    tampered = tmp_path / "changed_output.ipynb"
    nbformat.write(nb, tampered)

    report = tmp_path / "nbval.xml"
    env = dict(os.environ, MPLBACKEND="Agg",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-o", "addopts=", "-p", "no:cacheprovider", "-q",
           "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), f"--junitxml={report}",
           "solutions", str(tampered)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    cases = ET.parse(report).getroot().iter("testcase")
    failed = {}
    counts = {}
    for case in cases:
        where = case.get("classname", "") + case.get("file", "")
        # junit names notebooks inside the repo by their path; the copy outside it gets an empty name
        key = next((a for a in ASSIGNMENTS if a in where), "tampered" if where in ("", "changed_output.ipynb") else where)
        counts[key] = counts.get(key, 0) + 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed.setdefault(key, []).append(case.get("name"))
    assert set(counts) == set(ASSIGNMENTS) | {"tampered"}, (counts, proc.stdout[-3000:])
    assert set(failed) == {"tampered"}, proc.stdout[-5000:]
    assert len(failed["tampered"]) == 1
