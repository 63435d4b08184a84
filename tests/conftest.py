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
