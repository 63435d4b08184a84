"""Tiny kernel launcher: apply resource limits to this process, then exec the kernel.

It is run as a plain script (``python _launch.py ...``) so that starting it does not
import the mixlearn package (numpy, scipy) a second time for every kernel.  Only the
standard library is used here.

Usage::

    python _launch.py --as BYTES --cpu SECONDS --nproc N --pidfile PATH \
        --env KEY=VALUE ... -- KERNEL COMMAND ...
"""

import os
import resource
import signal
import sys


def _set_limit(which, value, slack=0):
    if value is None or value <= 0:
        return
    soft, hard = resource.getrlimit(which)
    new_hard = value + slack
    if hard != resource.RLIM_INFINITY:
        value, new_hard = min(value, hard), min(new_hard, hard)
    # the hard limit is lowered as well so that student code cannot raise it again
    resource.setrlimit(which, (value, new_hard))


def _parent_death_signal(sig):
    """Ask Linux to send *sig* to us when the process that started us dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except Exception:  # pragma: no cover - not Linux
        pass


def _count_user_processes(uid):
    count = 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        if name.isdigit():
            try:
                if os.stat("/proc/" + name).st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def main(argv):
    opts = {"as": None, "cpu": None, "nproc": None, "pidfile": None, "log": None}
    env = {}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i].lstrip("-")
        value = argv[i + 1]
        if key == "env":
            k, _, v = value.partition("=")
            env[k] = v
        else:
            opts[key] = value
        i += 2
    cmd = argv[i + 1:]
    if not cmd:
        sys.stderr.write("_launch.py: no kernel command given\n")
        return 2

    os.environ.update(env)
    _parent_death_signal(signal.SIGKILL)
    if opts["as"]:
        _set_limit(resource.RLIMIT_AS, int(opts["as"]))
    if opts["cpu"]:
        # SIGXCPU at the soft limit (fatal unless caught), SIGKILL two seconds later
        _set_limit(resource.RLIMIT_CPU, int(float(opts["cpu"])), slack=2)
    if hasattr(resource, "RLIMIT_CORE"):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps of student code
    if opts["nproc"] and os.geteuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
        # RLIMIT_NPROC counts every process of the user, so leave room for the ones
        # that already exist.  (Root ignores this limit; the grader's watchdog is the
        # backstop there.)
        current = _count_user_processes(os.geteuid())
        _set_limit(resource.RLIMIT_NPROC, current + int(opts["nproc"]))
    if opts["pidfile"]:
        with open(opts["pidfile"], "w") as fh:
            fh.write(str(os.getpid()))
    if opts["log"]:
        # the kernel's own stdout/stderr (not the notebook's outputs) go to a log file
        fd = os.open(opts["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
