"""The kernel manager that grading uses: resource limits plus the per-submission sandbox.

Every limit is a configurable trait, so it reaches the kernel through the nbgrader
configuration (``c.SandboxedKernelManager.memory = ...``), for plain ``nbgrader autograde``
as for ``mixlearn-course``.  The kernel process is started as::

    python _launch.py --as BYTES --cpu SECONDS ... -- bwrap ...sandbox... -- python -m ipykernel_launcher -f CONN

``_launch.py`` applies the rlimits (inherited through ``exec`` by bwrap and the kernel) and
``bwrap`` builds the sandbox (see :mod:`mixlearn.course.sandbox`).  The kernel's channels are
Unix sockets in a private run folder that is bind-mounted into the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode

from . import sandbox as _sandbox
from .limits import Limits

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_launch.py")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


_DEFAULT = Limits()   # the limits' defaults live in one place


class SandboxedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel runs under limits inside a bubblewrap sandbox."""

    sandbox = Bool(True, help="Run the kernel in a bubblewrap sandbox (False: unconfined, "
                              "for machines without bubblewrap; never the default).").tag(config=True)
    student_edition = Bool(True, help="Replace mixlearn by its student edition (EM switched off) "
                                      "and hide scikit-learn inside the sandbox.").tag(config=True)
    switched_off = List(Unicode(), help="More library functions emptied in the student edition for this "
                                        "assignment ('<file under mixlearn/>:<function>'; set from the "
                                        "SWITCHED_OFF of its trusted checks).").tag(config=True)
    memory = Integer(_DEFAULT.memory, help="Address-space limit of the kernel in bytes (0: none).").tag(config=True)
    disk = Integer(_DEFAULT.disk, help="Bytes each writable place of the sandbox (/tmp, /dev/shm, the working "
                                         "folder beyond the submission) may hold.").tag(config=True)
    protected = List(Unicode(), help="Host folders never mounted into the sandbox, however the kernel's Python "
                                     "is installed (the course folder is added by TrustedExecute).").tag(config=True)
    cpu = Float(_DEFAULT.cpu, help="CPU seconds for the kernel (0: none).").tag(config=True)
    nproc = Integer(_DEFAULT.nproc, help="Processes the kernel may start (RLIMIT_NPROC; ignored for root).").tag(config=True)
    threads = Integer(_DEFAULT.threads, help="BLAS/OpenMP threads inside the kernel (0: leave as is).").tag(config=True)
    pid_file = Unicode("", help="Write the kernel's pid here (for the grader's watchdog).").tag(config=True)
    log_file = Unicode("", help="The kernel's own stdout/stderr go here (not the notebook's outputs).").tag(config=True)
    status_file = Unicode("", help="Append the kernel's exit status here when it is seen dead.").tag(config=True)
    stats_file = Unicode("", help="Append the time spent building and removing the sandbox (JSON lines).").tag(config=True)

    _base: str | None = None
    _mountpoint: str | None = None
    exclude_files: list = []   # paths (relative to the submission) not copied into the sandbox

    def _copy_submission(self, src: str, dest: str) -> None:
        """The private copy: links are copied as links (never followed), excluded paths are left out."""
        exclude = {os.path.normpath(p) for p in self.exclude_files}

        def ignore(folder, names):
            rel = os.path.relpath(folder, src)
            return [n for n in names if os.path.normpath(os.path.join(rel, n)) in exclude
                    or os.path.normpath(n) in exclude and rel == "."]

        shutil.copytree(src, dest, symlinks=True, ignore=ignore, dirs_exist_ok=True)

    # -- start -----------------------------------------------------------------------
    async def _async_start_kernel(self, **kw):  # type: ignore[override]
        t0 = time.perf_counter()
        cwd = os.path.abspath(str(kw.get("cwd") or os.getcwd()))
        self._base = tempfile.mkdtemp(prefix="mlsbx-")
        os.chmod(self._base, 0o700)
        work = os.path.join(self._base, "work")
        run = os.path.join(self._base, "run")
        # the private copy of the submission (the sandbox copies it once more, into its own tmpfs)
        self._copy_submission(cwd, work)
        os.makedirs(run)
        self._mountpoint = cwd
        dropped = self.sandbox and os.geteuid() == 0
        if self.sandbox:
            self.transport = "ipc"
            self.ip = os.path.join(run, "k")
            self.connection_file = os.path.join(run, "kernel.json")
            if dropped:   # the kernel's unprivileged user makes its sockets in the run folder
                os.chown(run, _sandbox.SANDBOX_UID, _sandbox.SANDBOX_UID)
        kw["cwd"] = work
        self._stat("sandbox", time.perf_counter() - t0)
        out = await super()._async_start_kernel(**kw)
        if dropped:
            await self._close_run_folder(run)
        return out

    async def _async_launch_kernel(self, kernel_cmd, **kw):  # type: ignore[override]
        if self.sandbox and os.geteuid() == 0:   # the kernel's unprivileged user reads it (0600 stays)
            os.chown(self.connection_file, _sandbox.SANDBOX_UID, _sandbox.SANDBOX_UID)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _close_run_folder(self, run: str, timeout: float = 60.0) -> None:
        """Once the kernel has made its five sockets, its run folder is no longer writable for it (the
        one writable place of the sandbox on the host's disk)."""
        import asyncio

        deadline = time.monotonic() + timeout
        proc = getattr(self.provisioner, "process", None) if self.provisioner else None
        while time.monotonic() < deadline:
            if len([n for n in os.listdir(run) if n.startswith("k-")]) >= 5:
                break
            if proc is not None and proc.poll() is not None:
                break
            await asyncio.sleep(0.01)
        os.chown(run, 0, 0)
        os.chmod(run, 0o755)

    start_kernel = _async_start_kernel

    def _stat(self, key: str, seconds: float) -> None:
        if self.stats_file:
            with open(self.stats_file, "a") as fh:
                fh.write(json.dumps({key: seconds}) + "\n")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        env = {v: str(self.threads) for v in THREAD_VARS} if self.threads else {}
        prefix = [sys.executable, LAUNCHER]
        if self.sandbox:
            spec = self._sandbox_spec(cmd[0], workdir=os.path.join(self._base, "work"), mountpoint=self._mountpoint,
                                      rundir=os.path.join(self._base, "run"), env=env)
            _sandbox.verify(spec)   # once per process: refuses a deployment it cannot make safe
            cmd = spec.argv(cmd)
            env = {}
            prefix += ["--clearenv"]   # bwrap itself (and its init, pid 1) get an empty environment
        if self.memory:
            prefix += ["--as", str(int(self.memory))]
        if self.cpu:
            prefix += ["--cpu", str(int(self.cpu))]
        if self.nproc:
            prefix += ["--nproc", str(int(self.nproc))]
        if self.pid_file:
            prefix += ["--pidfile", self.pid_file]
        prefix += ["--log", self.log_file or os.devnull]
        prefix += ["--parent", str(os.getpid())]  # the launcher exits if this process is already gone
        for k, v in env.items():
            prefix += ["--env", f"{k}={v}"]
        return prefix + ["--"] + cmd

    def _sandbox_spec(self, python: str, workdir: str = "", mountpoint: str = "", rundir: str = "",
                      env=None) -> _sandbox.SandboxSpec:
        # where the kernel's own interpreter imports mixlearn from (not where this process does)
        kernel = _sandbox.locate(python)
        edition = (_sandbox.student_edition(switched_off=tuple(self.switched_off), package_dir=kernel.mixlearn,
                                            python=kernel.python)
                   if self.student_edition else None)
        return _sandbox.SandboxSpec(workdir=workdir, mountpoint=mountpoint, rundir=rundir, student_edition=edition,
                                    env=dict(env or {}), kernel=kernel, disk=self.disk,
                                    protected=tuple(self.protected))

    def kernel_python(self) -> str:
        """The interpreter the kernel will run (its kernelspec's first word, as jupyter_client reads it)."""
        argv = list(self.kernel_spec.argv)
        if argv and argv[0] in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
            return sys.executable
        return argv[0]

    def check_sandbox(self) -> None:
        """The checks that starting the first kernel makes (where the kernel's interpreter imports from,
        the student edition, :func:`~mixlearn.course.sandbox.verify`), without starting a kernel.  They
        are cached for this process, and for worker processes forked from it afterwards."""
        if self.sandbox:
            _sandbox.verify(self._sandbox_spec(self.kernel_python()))

    async def _async_interrupt_kernel(self) -> None:  # type: ignore[override]
        """Interrupt by message: a signal would reach bwrap, not the kernel inside the sandbox."""
        if not self.sandbox:
            return await super()._async_interrupt_kernel()
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    # -- stop ------------------------------------------------------------------------
    def _record_exit(self) -> None:
        proc = getattr(self.provisioner, "process", None) if self.provisioner else None
        if proc is not None and self.status_file:
            rc = proc.poll()
            if rc is not None:
                with open(self.status_file, "a") as fh:
                    fh.write(f"{rc}\n")

    async def is_alive(self) -> bool:  # type: ignore[override]
        alive = await super()._async_is_alive()
        if not alive:
            self._record_exit()
        return alive

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        self._record_exit()
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            proc = getattr(self.provisioner, "process", None) if self.provisioner else None
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except Exception:  # pragma: no cover
                    pass
            t0 = time.perf_counter()
            if self._base:
                _sandbox.remove_tree(self._base)
                self._base = None
            self._stat("sandbox", time.perf_counter() - t0)

    shutdown_kernel = _async_shutdown_kernel


def read_exit_codes(status_file: str) -> list[int]:
    if not status_file or not os.path.exists(status_file):
        return []
    with open(status_file) as fh:
        return [int(line) for line in fh if line.strip().lstrip("-").isdigit()]
