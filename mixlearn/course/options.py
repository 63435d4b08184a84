"""The options of one ``autograde`` run: a typed record, validated before any work starts.

``mixlearn-course autograde`` builds it from its command line (:func:`from_args`), a Python caller
builds it directly; :func:`mixlearn.course.coordinator.autograde` takes nothing else.  The limits'
defaults come from :class:`~mixlearn.course.limits.Limits` (also read by the kernel manager that
plain ``nbgrader autograde`` uses), the rest are defined here once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .common import CourseError
from .limits import Limits, parse_size


def default_jobs() -> int:
    """One grading process per CPU this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class AutogradeOptions:
    """How to autograde: which submissions, on what, under which limits."""

    jobs: int = field(default_factory=default_jobs)   # local grading processes
    student: str | None = None      # only students matching this glob
    force: bool = False             # regrade submissions that are graded and unchanged
    limits: Limits = field(default_factory=Limits)
    overrides: tuple = ()           # extra nbgrader command-line style options (--Class.trait=value)
    progress: bool = True           # progress bar on the stream
    sandbox: bool = True            # False: student code runs unconfined (loud warning)
    db_url: str | None = None       # gradebook URL instead of the course's SQLite file
    scheduler: str | None = None    # Dask scheduler address: grade on that cluster instead of `jobs`

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise :class:`CourseError` naming the option, the value and the fix."""
        def bad(option, value, fix):
            raise CourseError(f"{option} {value!r}: {fix}")

        if not isinstance(self.jobs, int) or self.jobs < 1:
            bad("--jobs", self.jobs, "give the number of grading processes, 1 or more")
        lim = self.limits
        if not isinstance(lim, Limits):
            raise CourseError(f"limits must be a mixlearn.course.limits.Limits, got {type(lim).__name__}")
        if lim.memory < 0:
            bad("--memory", lim.memory, "give a size such as 2G (0 = no limit)")
        if lim.disk <= 0:
            bad("--disk", lim.disk, "the sandbox's writable places need a size above 0, e.g. 256M")
        if lim.cpu < 0:
            bad("--cpu", lim.cpu, "give CPU seconds per kernel, e.g. 600 (0 = no limit)")
        if lim.cell_timeout is not None and lim.cell_timeout <= 0:
            bad("--cell-timeout", lim.cell_timeout, "give CPU seconds per cell above 0, e.g. 60 "
                "(leave it out to keep the course's Execute.timeout)")
        if lim.wall < 0:
            bad("--wall", lim.wall, "give wall-clock seconds per submission, e.g. 900 (0 = no limit)")
        if lim.nproc < 0:
            bad("--max-procs", lim.nproc, "give the number of processes a kernel may run at once, e.g. 64 (0 = no cap)")
        if lim.threads < 0:
            bad("--threads", lim.threads, "give BLAS threads per kernel, e.g. 1 (0 = leave as is)")
        if self.scheduler is not None:
            address = self.scheduler.strip()
            host = address.split("://", 1)[-1]
            if not address or (":" not in host) or not host.rsplit(":", 1)[-1].isdigit():
                bad("--scheduler", self.scheduler, "give the Dask scheduler's address, e.g. tcp://10.0.0.5:8786")
        if self.student is not None and not self.student.strip():
            bad("--student", self.student, "give a student id or a glob such as 'a*'")


def from_args(args) -> AutogradeOptions:
    """The options of ``mixlearn-course autograde``'s parsed command line."""
    lim = Limits(memory=parse_size(args.memory, "--memory"), disk=parse_size(args.disk, "--disk"), cpu=args.cpu,
                 cell_timeout=args.cell_timeout, wall=args.wall, nproc=args.max_procs, threads=args.threads)
    return AutogradeOptions(jobs=args.jobs, student=args.student, force=args.force, limits=lim,
                            progress=not args.no_progress, sandbox=not args.no_sandbox, db_url=args.db,
                            scheduler=args.scheduler)

