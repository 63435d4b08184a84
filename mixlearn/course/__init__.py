"""Instructor tools for the mixlearn nbgrader course (``mixlearn-course``).

Needs the ``course`` extra (nbgrader, tqdm, matplotlib).  The core ``mixlearn``
library never imports this subpackage.
"""

__all__ = ["main"]


def main(argv=None):
    from .cli import main as _main

    return _main(argv)
