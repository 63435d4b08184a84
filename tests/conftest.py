"""Shared test configuration.

Hypothesis explores the same examples on every run (derandomize), so the suite is
deterministic: a property failure is reproducible, never a flaky CI run. Set
HYPOTHESIS_PROFILE=explore locally to search new random examples.
"""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def pytest_configure(config):
    config.addinivalue_line("markers", "redteam: cheating and hostile submissions graded by the real graders (slow; "
                                       "tests/test_redteam.py)")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_class(tmp_path_factory):
    """One synthetic class (36 ordinary + 2 hostile + 2 unsafe submissions) and its serial oracle.

    ``tests/test_course_class.py`` (local processes) and ``tests/test_course_cluster.py`` (Dask +
    PostgreSQL) compare their graders against the same reference: plain serial
    ``nbgrader autograde`` into SQLite. The class and that reference are deterministic, so they
    are made once per session; each module grades its own copy of ``base`` and only reads
    ``serial``.
    """
    import sys
    import time

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests.course_support import synth

    base = str(tmp_path_factory.mktemp("class") / "base")
    synth.make_course(base, timeout=3)
    kinds = synth.make_class(base, n=synth.N_ORDINARY)
    kinds.update(synth.add_unsafe(base))
    assert len(kinds) == 40
    serial = synth.copy_course(base, base + "-serial", exclude_students=tuple(synth.UNSAFE))
    t0 = time.monotonic()
    proc = synth.run_nbgrader(serial, "autograde", synth.ASSIGNMENT, check=False)
    t_serial = time.monotonic() - t0
    assert proc.returncode != 0  # nbgrader reports its two failures (exit code 1)
    return {"base": base, "serial": serial, "kinds": kinds, "t_serial": t_serial}
