"""Resource limits for the kernels that run student code.

Three layers, from cheapest to most robust:

* ``rlimits`` set by a small launcher (``_launch.py``, code in ``_rlimits.py``) just before
  ``exec`` of the sandbox and the kernel: ``RLIMIT_AS``
  (address space, so a 50 GB allocation raises ``MemoryError`` at once), ``RLIMIT_CPU``
  (CPU seconds for the whole kernel; the kernel receives SIGXCPU and dies), ``RLIMIT_CORE``
  = 0, and ``RLIMIT_NPROC`` when we are not root (Linux ignores it for root).
* nbgrader's own per-cell execution timeout (``Execute.timeout``), which interrupts a
  cell that runs too long and lets the rest of the notebook grade.
* a watchdog thread in the grading worker.  The worker marks itself as a *child
  subreaper*, so every process the kernel starts stays in the worker's process tree
  even when it double-forks or calls ``setsid``.  The watchdog counts that tree and
  kills all of it when it grows beyond the process cap (fork bombs, also as root) or
  when the notebook's wall-time budget is used up.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass

GiB = 1024 ** 3


CELL_TIMEOUT = 60   # CPU seconds per cell: the course configuration's Execute.timeout (nbgrader_config.py)


@dataclass(frozen=True)
class Limits:
    """Limits applied to the grading of one submission.

    The one place their defaults live: the command line (``mixlearn-course autograde``), the Python
    API (:class:`~mixlearn.course.options.AutogradeOptions`) and the kernel manager's configuration
    (:class:`~mixlearn.course.kernel.SandboxedKernelManager`, used by plain ``nbgrader autograde``)
    all read them from here.
    """

    memory: int = 2 * GiB        # bytes of address space for the kernel (0 = unlimited)
    disk: int = GiB // 4         # bytes each writable place of the sandbox may hold (tmpfs: /tmp, /dev/shm, cwd)
    cpu: float = 600.0           # CPU seconds for the whole kernel process (0 = unlimited)
    cell_timeout: int | None = None  # CPU seconds per cell; None keeps the course's Execute.timeout
    wall: float = 900.0          # seconds of wall time for the whole submission (0 = unlimited)
    nproc: int = 64              # processes the kernel may have alive at once (0 = no cap)
    threads: int = 1             # BLAS/OpenMP threads inside the kernel (0 = leave as is)

    def describe_memory(self) -> str:
        return f"{self.memory / GiB:.3g} GiB"


def parse_size(text: str, option: str = "size") -> int:
    """Parse ``2G``, ``512M``, ``1.5GiB`` or a number of bytes (*option* names it in the error)."""
    from .common import CourseError

    t = str(text).strip().upper().replace("IB", "").replace("B", "")
    factors = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
    try:
        value = int(float(t[:-1]) * factors[t[-1]]) if t and t[-1] in factors else int(float(t))
    except (ValueError, OverflowError):
        value = -1
    if value < 0:
        raise CourseError(f"{option} {text!r} is not a size: write e.g. 2G, 512M or a number of bytes")
    return value


def format_size(n: int) -> str:
    """The shortest of ``2G``, ``256M``, ``64K`` or a number of bytes that :func:`parse_size` reads back."""
    for unit, factor in (("T", 1024 ** 4), ("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if n and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


# --------------------------------------------------------------------------- watchdog
def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies."""
    from ._rlimits import parent_death_signal

    parent_death_signal(signal.SIGKILL)


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rfind(b")") + 2:].split()[1])
    except OSError:
        return None


def set_child_subreaper() -> bool:
    """Make orphaned descendants of this process re-parent to it (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:  # pragma: no cover
        return False


def _process_table() -> dict[int, int]:
    """pid -> ppid for every process we can see."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # pragma: no cover
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        rest = data[data.rfind(b")") + 2:].split()
        if len(rest) < 2:
            continue
        state = rest[0]
        if state in (b"Z", b"X"):
            continue
        table[int(name)] = int(rest[1])
    return table


def _children(pid: int) -> list[int] | None:
    """Children of *pid* from ``/proc/<pid>/task/*/children`` (None when the kernel does not offer
    the file); reading a few small files instead of every process's ``stat``."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue            # the thread ended meanwhile
            return None             # no children files on this kernel
        except OSError:
            continue
    return out


def descendants(root: int) -> list[int]:
    """Every live descendant of *root* (walking the children lists; the whole process table
    when the kernel has no children files)."""
    out, stack, seen = [], [root], {root}
    while stack:
        kids = _children(stack.pop())
        if kids is None:
            return _descendants_by_table(root)
        for child in kids:
            if child not in seen:
                seen.add(child)
                out.append(child)
                stack.append(child)
    return out


def _descendants_by_table(root: int) -> list[int]:
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            out.append(child)
            stack.append(child)
    return out


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by *root* and every live descendant (with their reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])   # utime, stime, cutime, cstime
    return total / tick


def kill_tree(root: int, rounds: int = 50, spare=()) -> None:
    """Stop, then kill, every descendant of *root* (except *spare*) until none is left."""
    for _ in range(rounds):
        pids = [p for p in descendants(root) if p not in spare]
        if not pids:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        # reap what we can (we are the subreaper for orphans)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.02)


class Watchdog(threading.Thread):
    """Watches the process tree under this process while one submission is graded."""

    def __init__(self, limits: Limits, interval: float = 0.1, spare=()):
        super().__init__(daemon=True)
        self.spare = set(spare)
        self.limits = limits
        self.interval = interval
        self.reason: str | None = None
        self._halt = threading.Event()
        self._t0 = time.monotonic()
        self.max_seen = 0

    def run(self) -> None:
        me = os.getpid()
        while not self._halt.wait(self.interval):
            elapsed = time.monotonic() - self._t0
            if self.limits.wall and elapsed > self.limits.wall:
                self.reason = f"wall time limit exceeded ({self.limits.wall:g} s for the notebook)"
                kill_tree(me, spare=self.spare)
                return
            if self.limits.nproc:
                n = len([p for p in descendants(me) if p not in self.spare])
                self.max_seen = max(self.max_seen, n)
                # the kernel itself is one of the processes
                if n > self.limits.nproc + 1:
                    self.reason = (
                        f"process limit exceeded ({n} processes alive, at most "
                        f"{self.limits.nproc} allowed): the notebook forks without bound"
                    )
                    kill_tree(me, spare=self.spare)
                    return

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
