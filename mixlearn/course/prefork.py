"""``--prefork``: kernels forked from a per-worker kernel server that has done the imports.

Starting a kernel costs CPU mostly for imports (ipykernel, numpy, scipy, mixlearn).  A
*zygote* (``_zygote.py``) imports them once and forks a **new** process for every submission;
it never runs student code itself.  With the sandbox on, the zygote runs inside one bubblewrap
sandbox per worker (so it only ever imports the student edition of mixlearn), with host folders
as the sandbox's writable places (the submission at ``/submission``, ``/tmp``, ``/dev/shm``
and the socket folder).  Before each submission the worker

* kills every process of that sandbox except the zygote and the sandbox's init
  (found on the host through their PID namespace), and
* empties the writable folders, then copies in the next submission,

so a kernel finds nothing of the previous one.  The zygote is not dumpable: a kernel cannot
ptrace it or read its memory.  Kernels signal and see only processes of this sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import limits as _limits
from . import sandbox as _sandbox

COURSE_DIR = os.path.dirname(os.path.abspath(__file__))
ZYGOTE = os.path.join(COURSE_DIR, "_zygote.py")
TOOLS = "/mixlearn-course"        # where the zygote's script is mounted inside the sandbox
MOUNT = "/submission"             # where the submission is mounted inside the sandbox
SLOT_DIRS = ("work", "run", "tmp", "shm")


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def pids_in_namespace(ns: str) -> dict[int, int]:
    """{host pid: pid inside the namespace} of every live process in the PID namespace *ns*."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid_namespace(pid) != ns:
            continue
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("NSpid:"):
                        out[pid] = int(line.split()[-1])
                        break
        except OSError:
            continue
    return out


def _mount_points_under(argv: list[str], top: str) -> set[str]:
    """Relative paths under *top* that are mount points of a bwrap command line, with their parents."""
    keep = set()
    for i, arg in enumerate(argv[:-1]):
        if arg == "--":
            break
        if arg in ("--bind", "--ro-bind", "--dev-bind", "--symlink"):
            dst = argv[i + 2] if i + 2 < len(argv) else ""
        elif arg in ("--tmpfs", "--dir"):
            dst = argv[i + 1]
        else:
            continue
        if dst.startswith(top.rstrip("/") + "/"):
            rel = os.path.relpath(dst, top)
            parts = rel.split(os.sep)
            keep.update(os.sep.join(parts[:k]) for k in range(1, len(parts) + 1))
    return keep


def _empty(folder: str, keep: set[str], rel: str = "") -> None:
    """Remove everything in *folder* except the paths in *keep* (relative to the top folder)
    and their ancestors, which are emptied in turn (mount points themselves stay untouched)."""
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        r = os.path.join(rel, name) if rel else name
        if r in keep:
            is_parent = any(k.startswith(r + os.sep) for k in keep)
            if is_parent and os.path.isdir(full) and not os.path.islink(full) and not os.path.ismount(full):
                _empty(full, keep, r)
            continue
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        else:
            try:
                os.unlink(full)
            except OSError:
                pass


class PreforkServer:
    """One zygote per grading worker (in its own sandbox unless ``sandbox=False``)."""

    def __init__(self, work_root: str, modules=(), sandbox: bool = True, threads: int = 1, switched_off=()):
        self.modules = tuple(modules)
        self.switched_off = tuple(sorted(set(switched_off)))  # the assignment's own emptied functions
        self.sandbox = sandbox
        self.threads = threads
        # A short path (Unix socket names are limited to about 100 bytes) that is not under /tmp:
        # the slot's folders are bind-mounted into the sandbox at their own paths, and the sandbox's
        # /tmp is itself a slot folder that is emptied between submissions.
        base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else (None if len(work_root) > 60 else work_root)
        self.slot = tempfile.mkdtemp(prefix="mlp-", dir=base)
        for d in SLOT_DIRS:
            os.makedirs(os.path.join(self.slot, d), exist_ok=True)
        self.proc = None
        self._keep_in_tmp: set[str] = set()
        self._spare: set[int] = set()
        self._ns = None
        self._start()

    # -- the zygote ------------------------------------------------------------------
    @property
    def socket_path(self) -> str:
        return os.path.join(self.slot, "run", "zygote.sock")

    @property
    def mountpoint(self) -> str:
        return MOUNT if self.sandbox else os.path.join(self.slot, "work")

    @staticmethod
    def env_for(sandbox: bool, threads: int) -> dict:
        """The environment of the zygote and of every kernel it forks."""
        env = dict(_sandbox.SANDBOX_ENV) if sandbox else dict(os.environ, MPLBACKEND="Agg")
        if threads:
            env.update({v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        return env

    def env(self) -> dict:
        return self.env_for(self.sandbox, self.threads)

    def _start(self) -> None:
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        if self.sandbox:
            spec = _sandbox.SandboxSpec(
                workdir=os.path.join(self.slot, "work"), mountpoint=MOUNT, rundir=os.path.join(self.slot, "run"),
                student_edition=_sandbox.student_edition(switched_off=self.switched_off), env=self.env(),
                tmpdir=os.path.join(self.slot, "tmp"), shmdir=os.path.join(self.slot, "shm"),
                extra_ro=((COURSE_DIR, TOOLS),))
            argv = spec.argv([sys.executable, f"{TOOLS}/_zygote.py", self.socket_path, *self.modules])
            # Mount points the sandbox creates inside its /tmp (which is the slot's tmp folder), e.g.
            # a Python environment that lives under /tmp: emptying /tmp must keep their folders, or
            # Linux would unmount them in the sandbox.
            self._keep_in_tmp = _mount_points_under(argv, "/tmp")
        else:
            argv = [sys.executable, ZYGOTE, self.socket_path, *self.modules]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self._ready = False

    def _wait_ready(self) -> None:
        if self._ready:
            return
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("the kernel fork server did not start")
        self._ready = True
        # the sandbox's own processes (bwrap, its init, the zygote) are never swept
        self._spare = {self.proc.pid, *_limits.descendants(self.proc.pid)}
        self._ns = pid_namespace(max(self._spare))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> set[int]:
        return set(self._spare)

    # -- between submissions ---------------------------------------------------------
    def sweep(self) -> None:
        """Kill every process of the sandbox that is not the zygote (or bwrap and its init)."""
        if self._ns is None:
            return
        for _ in range(100):
            victims = [p for p in pids_in_namespace(self._ns) if p not in self._spare]
            if not victims:
                return
            for p in victims:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def _answers(self, timeout: float = 5.0) -> bool:
        """Does the zygote answer a ping?  (A kernel of the last submission may have stopped it.)"""
        for pid in self._spare:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(self.socket_path)
                s.sendall(b'{"ping": true}\n')
                return s.recv(64).startswith(b'{"pong"')
        except OSError:
            return False

    def prepare(self, switched_off=None) -> str:
        """Make the slot ready for the next submission; return the slot folder.

        *switched_off*: the assignment's own emptied library functions (``None``: as before); a
        zygote started with another student edition is replaced."""
        if switched_off is not None and tuple(sorted(set(switched_off))) != self.switched_off:
            self.switched_off = tuple(sorted(set(switched_off)))
            self.close(keep_slot=True)
            self._start()
        if self.alive():
            self._wait_ready()
            self.sweep()
        if not self.alive() or not self._answers():
            self.close(keep_slot=True)
            self._start()
        self._wait_ready()
        self.sweep()
        with open(os.path.join(self.slot, "pidns"), "w") as fh:
            fh.write(self._ns if self.sandbox and self._ns else "")
        for d in SLOT_DIRS:
            keep = self._keep_in_tmp if d == "tmp" else set()
            _empty(os.path.join(self.slot, d), keep | {os.path.relpath(self.socket_path, os.path.join(self.slot, d))})
        return self.slot

    def close(self, keep_slot: bool = False) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
        self._ready = False
        if not keep_slot:
            shutil.rmtree(self.slot, ignore_errors=True)


class ForkedKernelProcess:
    """The part of ``subprocess.Popen`` that jupyter_client uses, for a kernel forked by a zygote."""

    stdin = stdout = stderr = None

    def __init__(self, socket_path: str, argv, env, cwd, memory=0, cpu=0, nproc=0, log=None, ns=None):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(socket_path)
        req = {"argv": list(argv), "env": dict(env), "cwd": cwd, "log": log,
               "as": int(memory or 0), "cpu": int(cpu or 0), "nproc": int(nproc or 0)}
        self._sock.sendall(json.dumps(req).encode() + b"\n")
        self._buf = b""
        self.ns_pid = self._read()["pid"]
        self.pid = self._host_pid(ns)
        self.returncode = None

    def _host_pid(self, ns: str | None) -> int:
        """The zygote reports the pid inside its namespace; signals need the host's."""
        if not ns:
            return self.ns_pid
        for _ in range(400):
            for host, inner in pids_in_namespace(ns).items():
                if inner == self.ns_pid:
                    return host
            time.sleep(0.005)
        raise RuntimeError("the forked kernel could not be found on the host")

    def _read(self, block=True):
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
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)
