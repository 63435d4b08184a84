"""Run a notebook's cells with the trusted checks' probes in place of its test cells (a subprocess).

``python probe_worker.py JOB.json RESULT.json`` is started by :mod:`exercise_support.trusted`
with the *student edition* of mixlearn first on ``PYTHONPATH`` and scikit-learn hidden, which is
what a submission sees in the grading sandbox. For every run of the job (the solution, a kept
mistake, ...) the code cells are executed in a fresh namespace, solution cells replaced as the
run says, every autograder test cell replaced by the probe of its visible calls, and the probes
of the hidden calls run after the last cell (as ``TrustedExecute`` appends them); what the probes ``display`` is
collected as notebook outputs and written to RESULT.json, together with the errors of the
other cells (a solution or demo cell that fails under the student edition shows up there). The judging happens in the pytest
process, exactly as :class:`mixlearn.course.trusted.TrustedExecute` does it.

Only the standard library, IPython and what the notebooks import are used here: this file must
not import mixlearn before the check that the student edition is the one found.
"""

import builtins
import contextlib
import io
import json
import os
import signal
import sys
import warnings


class _HideSklearn:
    """A meta-path finder that makes scikit-learn look uninstalled (the sandbox hides it too)."""

    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class CellTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CellTimeout("this cell ran longer than the time limit and was interrupted")


def main(job_path, result_path):
    with open(job_path) as fh:
        job = json.load(fh)
    sys.meta_path.insert(0, _HideSklearn())
    import mixlearn

    if not os.path.realpath(mixlearn.__file__).startswith(os.path.realpath(job["edition"]) + os.sep):
        raise SystemExit(f"expected the student edition of mixlearn in {job['edition']}, got {mixlearn.__file__}")

    import IPython.core.display_functions
    import IPython.display

    captured = []

    def display(*objs, raw=False, **kwargs):
        for obj in objs:
            data = obj if raw and isinstance(obj, dict) else {"text/plain": repr(obj)}
            captured.append({"output_type": "display_data", "data": data, "metadata": {}})

    IPython.display.display = display
    IPython.core.display_functions.display = display
    os.environ["MPLBACKEND"] = "Agg"
    signal.signal(signal.SIGALRM, _alarm)

    def run_cell(namespace, gid, source):
        """Execute one cell; return (what it displayed, its error output or None)."""
        captured.clear()
        error = None
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            signal.setitimer(signal.ITIMER_REAL, job["cell_timeout"])
            try:
                exec(compile(source, f"<cell {gid}>", "exec"), namespace)
            except Exception as exc:  # noqa: BLE001 - a failing cell is a result here
                error = {"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc)[:500],
                         "traceback": []}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        return list(captured), error

    results = {}
    for run in job["runs"]:
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        outputs, hidden_outputs, errors = {}, {}, {}
        for cell in job["cells"]:
            gid = cell["id"]
            source = run["probes"][gid] if cell["test"] else run["replace"].get(gid, cell["source"])
            shown, error = run_cell(namespace, gid, source)
            if cell["test"]:
                outputs[gid] = shown + ([error] if error else [])
            elif error:
                errors[gid] = error
        # the hidden calls run after the notebook's last cell, one probe per test cell
        for gid, source in run["hidden_probes"]:
            shown, error = run_cell(namespace, gid, source)
            hidden_outputs[gid] = shown + ([error] if error else [])
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        results[run["name"]] = {"outputs": outputs, "hidden_outputs": hidden_outputs, "errors": errors}
    with open(result_path, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
