"""Tiny kernel launcher: apply resource limits to this process, then exec the kernel.

It is run as a plain script (``python _launch.py ...``) so that starting it does not
import the mixlearn package (numpy, scipy) a second time for every kernel.  Only the
standard library is used here.

Usage::

    python _launch.py --as BYTES --cpu SECONDS --nproc N --pidfile PATH --parent PID \
        [--clearenv] --env KEY=VALUE ... -- KERNEL COMMAND ...
"""

import os
import signal
import sys

import _rlimits  # the script's own folder is first on sys.path


def main(argv):
    opts = {"as": None, "cpu": None, "nproc": None, "pidfile": None, "log": None, "parent": None}
    env = {}
    clearenv = False
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i].lstrip("-")
        if key == "clearenv":   # the sandbox: bwrap and its init get no variable of the grader's
            clearenv = True
            i += 1
            continue
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
    _rlimits.parent_death_signal(signal.SIGKILL)
    if opts["parent"] and os.getppid() != int(opts["parent"]):
        # the grader died before the parent-death signal was armed: nobody will ever read
        # this kernel, and nobody would kill it
        return 3
    _rlimits.apply(address_space=opts["as"], cpu=opts["cpu"], nproc=opts["nproc"])
    if opts["pidfile"]:
        with open(opts["pidfile"], "w") as fh:
            fh.write(str(os.getpid()))
    if opts["log"]:
        # the kernel's own stdout/stderr (not the notebook's outputs) go to a log file
        fd = os.open(opts["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.execve(cmd[0], cmd, env if clearenv else os.environ)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
