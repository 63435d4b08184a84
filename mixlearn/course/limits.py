"""Resource limits for the kernels that run student code.

Three layers, from cheapest to most robust:

* ``rlimits`` set by a small launcher (``_launch.py``) in the kernel process just before
  ``exec`` of ipykernel: ``RLIMIT_AS`` (address space, so a 50 GB allocation raises
  ``MemoryError`` at once), ``RLIMIT_CPU`` (CPU seconds for the whole kernel; the kernel
  receives SIGXCPU and dies), ``RLIMIT_CORE`` = 0, and ``RLIMIT_NPROC`` when we are not
  root (Linux ignores ``RLIMIT_NPROC`` for root).
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
import sys
import threading
import time
from dataclasses import dataclass

from jupyter_client.manager import AsyncKernelManager

GiB = 1024 ** 3
LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_launch.py")


@dataclass(frozen=True)
class Limits:
    """Limits applied to the grading of one submission."""

    memory: int = 2 * GiB        # bytes of address space for the kernel (0 = unlimited)
    cpu: float = 600.0           # CPU seconds for the whole kernel process (0 = unlimited)
    cell_timeout: int | None = None  # seconds per cell; None keeps the course's Execute.timeout
    wall: float = 600.0          # seconds of wall time for the whole submission
    nproc: int = 64              # processes the kernel may have alive at once
    threads: int = 1             # BLAS/OpenMP threads inside the kernel
    prefork: tuple = ()          # modules a kernel fork server preloads (empty: no fork server)

    def describe_memory(self) -> str:
        return f"{self.memory / GiB:.3g} GiB"


def parse_size(text: str) -> int:
    """Parse ``2G``, ``512M``, ``1.5GiB`` or a number of bytes."""
    t = str(text).strip().upper().replace("IB", "").replace("B", "")
    factors = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
    if t and t[-1] in factors:
        return int(float(t[:-1]) * factors[t[-1]])
    return int(float(t))


# --------------------------------------------------------------------------- kernel
# The worker sets these before each submission (one submission at a time per worker).
_current: dict = {"limits": Limits(), "pidfile": None, "zygote": None}
_exit_codes: list = []


def configure(limits: Limits, pidfile: str | None, zygote: Zygote | None = None) -> None:
    _current["limits"] = limits
    _current["pidfile"] = pidfile
    _current["zygote"] = zygote
    _exit_codes.clear()


ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_zygote.py")


class Zygote:
    """A kernel fork server (see ``_zygote.py``), one per grading worker."""

    def __init__(self, directory: str, modules=()):
        import subprocess
        import tempfile

        # a short path: Unix socket names are limited to about 100 bytes
        if len(os.path.abspath(directory)) > 70:
            directory = None
        self._dir = tempfile.mkdtemp(prefix="mlc-", dir=directory)
        self.path = os.path.join(self._dir, "zygote.sock")
        self.proc = subprocess.Popen([sys.executable, ZYGOTE, self.path, *modules],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            line = self.proc.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError("the kernel fork server did not start")
            self._ready = True

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        self.wait_ready()
        return self.proc.poll() is None

    def close(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


class ZygoteKernelProcess:
    """The part of ``subprocess.Popen`` that jupyter_client uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, argv, env, cwd, limits: Limits, log):
        import json
        import socket

        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(zygote.path)
        req = {"argv": list(argv), "env": dict(env), "cwd": cwd, "log": log,
               "as": int(limits.memory or 0), "cpu": int(limits.cpu or 0),
               "nproc": int(limits.nproc or 0)}
        self._sock.sendall(json.dumps(req).encode() + b"\n")
        self._buf = b""
        self.pid = self._read()["pid"]
        self.returncode = None

    def _read(self, block=True):
        import json

        self._sock.setblocking(block)
        try:
            while b"\n" not in self._buf:
                data = self._sock.recv(4096)
                if not data:
                    return None
                self._buf += data
        except BlockingIOError:
            return None
        finally:
            self._sock.setblocking(True)
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def poll(self):
        if self.returncode is None:
            msg = self._read(block=False)
            if msg is not None and "status" in msg:
                self.returncode = os.waitstatus_to_exitcode(msg["status"])
                self._sock.close()
        return self.returncode

    def wait(self, timeout=None):
        while self.poll() is None:
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def kernel_exit_codes() -> list:
    """Return codes of kernels that were seen dead since the last :func:`configure`."""
    return list(_exit_codes)


class LimitedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel is started through ``_launch.py``."""

    def _zygote_argv(self, cmd):
        z = _current["zygote"]
        if z is not None and z.alive() and cmd[1:3] == ["-m", "ipykernel_launcher"]:
            return cmd[3:]
        return None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        argv = self._zygote_argv(kernel_cmd)
        if argv is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        lim: Limits = _current["limits"]
        env = dict(kw.get("env") or os.environ)
        if lim.threads:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(lim.threads)
        pidfile = _current["pidfile"]
        log = os.path.join(os.path.dirname(pidfile), "kernel.log") if pidfile else None
        cwd = str(kw.get("cwd") or os.getcwd())
        proc = ZygoteKernelProcess(_current["zygote"], argv, env, cwd, lim, log)
        if pidfile:
            with open(pidfile, "w") as fh:
                fh.write(str(proc.pid))
        prov = self.provisioner
        prov.process = proc
        prov.pid = proc.pid
        prov.pgid = proc.pid  # the child called setsid()
        prov.cwd = cwd
        self._reconcile_connection_info(prov.connection_info)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self._zygote_argv(cmd) is not None:
            return cmd
        lim: Limits = _current["limits"]
        prefix = [sys.executable, LAUNCHER]
        if lim.memory:
            prefix += ["--as", str(int(lim.memory))]
        if lim.cpu:
            prefix += ["--cpu", str(int(lim.cpu))]
        if lim.nproc:
            prefix += ["--nproc", str(int(lim.nproc))]
        if _current["pidfile"]:
            prefix += ["--pidfile", _current["pidfile"]]
            prefix += ["--log", os.path.join(os.path.dirname(_current["pidfile"]), "kernel.log")]
        if lim.threads:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                prefix += ["--env", f"{var}={lim.threads}"]
        return prefix + ["--"] + cmd

    def _record_exit(self) -> None:
        proc = getattr(self.provisioner, "process", None) if self.provisioner else None
        if proc is not None:
            rc = proc.poll()
            if rc is not None:
                _exit_codes.append(rc)

    async def is_alive(self) -> bool:  # type: ignore[override]
        alive = await super()._async_is_alive()
        if not alive:
            self._record_exit()
        return alive

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        self._record_exit()
        await super()._async_shutdown_kernel(now=now, restart=restart)


# --------------------------------------------------------------------------- watchdog
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


def descendants(root: int) -> list[int]:
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
