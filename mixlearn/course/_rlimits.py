"""Resource limits and parent-death signal for a process about to run student code.

Standard library only: it is imported by the kernel launcher (``_launch.py``), which runs as a
plain script without importing the mixlearn package.
"""

import os
import resource


def parent_death_signal(sig):
    """Ask Linux to send *sig* to this process when the process that started it dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - not Linux
        pass


def set_limit(which, value, slack=0):
    """Lower soft and hard limit, so that student code cannot raise them again."""
    if value is None or value <= 0:
        return
    soft, hard = resource.getrlimit(which)
    new_hard = value + slack
    if hard != resource.RLIM_INFINITY:
        value, new_hard = min(value, hard), min(new_hard, hard)
    resource.setrlimit(which, (value, new_hard))


def _user_processes(uid):
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat("/proc/" + name).st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def apply(address_space=None, cpu=None, nproc=None):
    """RLIMIT_AS (bytes), RLIMIT_CPU (seconds; SIGXCPU, then SIGKILL 2 s later), no core dumps,
    and RLIMIT_NPROC on top of the user's current processes (Linux ignores it for root; the
    grader's watchdog is the backstop there)."""
    if address_space:
        set_limit(resource.RLIMIT_AS, int(address_space))
    if cpu:
        set_limit(resource.RLIMIT_CPU, int(float(cpu)), slack=2)
    if hasattr(resource, "RLIMIT_CORE"):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc and os.geteuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
        set_limit(resource.RLIMIT_NPROC, _user_processes(os.geteuid()) + int(nproc))
