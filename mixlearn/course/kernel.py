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

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_launch.py")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class SandboxedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel runs under limits inside a bubblewrap sandbox."""

    sandbox = Bool(True, help="Run the kernel in a bubblewrap sandbox (False: unconfined, "
                              "for machines without bubblewrap; never the default).").tag(config=True)
    student_edition = Bool(True, help="Replace mixlearn by its student edition (EM switched off) "
                                      "and hide scikit-learn inside the sandbox.").tag(config=True)
    switched_off = List(Unicode(), help="More library functions emptied in the student edition for this "
                                        "assignment ('<file under mixlearn/>:<function>'; set from the "
                                        "SWITCHED_OFF of its trusted checks).").tag(config=True)
    memory = Integer(2 * 1024 ** 3, help="Address-space limit of the kernel in bytes (0: none).").tag(config=True)
    cpu = Float(600.0, help="CPU seconds for the kernel (0: none).").tag(config=True)
    nproc = Integer(64, help="Processes the kernel may start (RLIMIT_NPROC; ignored for root).").tag(config=True)
    threads = Integer(1, help="BLAS/OpenMP threads inside the kernel (0: leave as is).").tag(config=True)
    pid_file = Unicode("", help="Write the kernel's pid here (for the grader's watchdog).").tag(config=True)
    log_file = Unicode("", help="The kernel's own stdout/stderr go here (not the notebook's outputs).").tag(config=True)
    status_file = Unicode("", help="Append the kernel's exit status here when it is seen dead.").tag(config=True)
    stats_file = Unicode("", help="Append the time spent building and removing the sandbox (JSON lines).").tag(config=True)
    prefork_slot = Unicode("", help="Fork the kernel from the prefork server of this slot folder "
                                    "(mixlearn.course.prefork) instead of starting a new interpreter.").tag(config=True)

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
        if self.prefork_slot:
            from .prefork import MOUNT

            slot = self.prefork_slot
            self._copy_submission(cwd, os.path.join(slot, "work"))
            run = os.path.join(slot, "run")
            self._mountpoint = MOUNT if self.sandbox else os.path.join(slot, "work")
            self.transport = "ipc"
            self.ip = os.path.join(run, "k")
            self.connection_file = os.path.join(run, "kernel.json")
            kw["cwd"] = os.path.join(slot, "work")
            self._stat("sandbox", time.perf_counter() - t0)
            return await super()._async_start_kernel(**kw)
        self._base = tempfile.mkdtemp(prefix="mlsbx-")
        os.chmod(self._base, 0o700)
        work = os.path.join(self._base, "work")
        run = os.path.join(self._base, "run")
        # the private writable copy of the submission
        self._copy_submission(cwd, work)
        os.makedirs(run)
        self._mountpoint = cwd
        if self.sandbox:
            self.transport = "ipc"
            self.ip = os.path.join(run, "k")
            self.connection_file = os.path.join(run, "kernel.json")
        kw["cwd"] = work
        self._stat("sandbox", time.perf_counter() - t0)
        return await super()._async_start_kernel(**kw)

    start_kernel = _async_start_kernel

    def _stat(self, key: str, seconds: float) -> None:
        if self.stats_file:
            with open(self.stats_file, "a") as fh:
                fh.write(json.dumps({key: seconds}) + "\n")

    async def _async_launch_kernel(self, kernel_cmd, **kw):  # type: ignore[override]
        if not self.prefork_slot:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        from .prefork import ForkedKernelProcess, PreforkServer

        if kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
            raise RuntimeError(f"--prefork can only start ipykernel, not {kernel_cmd!r}")
        slot = self.prefork_slot
        with open(os.path.join(slot, "pidns")) as fh:
            ns = fh.read().strip()
        env = PreforkServer.env_for(self.sandbox, self.threads)
        proc = ForkedKernelProcess(os.path.join(slot, "run", "zygote.sock"), kernel_cmd[3:], env, self._mountpoint,
                                   memory=self.memory, cpu=self.cpu, nproc=self.nproc,
                                   log=None if self.sandbox else (self.log_file or None), ns=ns)
        if self.pid_file:
            with open(self.pid_file, "w") as fh:
                fh.write(str(proc.pid))
        prov = self.provisioner
        prov.process = proc
        prov.pid = proc.pid
        prov.pgid = proc.pid  # the child called setsid()
        prov.cwd = self._mountpoint
        self._reconcile_connection_info(prov.connection_info)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.prefork_slot:
            return cmd
        env = {v: str(self.threads) for v in THREAD_VARS} if self.threads else {}
        if self.sandbox:
            spec = _sandbox.SandboxSpec(
                workdir=os.path.join(self._base, "work"), mountpoint=self._mountpoint,
                rundir=os.path.join(self._base, "run"),
                student_edition=(_sandbox.student_edition(switched_off=tuple(self.switched_off))
                                 if self.student_edition else None), env=env)
            cmd = spec.argv(cmd)
            env = {}
        prefix = [sys.executable, LAUNCHER]
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
                shutil.rmtree(self._base, ignore_errors=True)
                self._base = None
            self._stat("sandbox", time.perf_counter() - t0)

    shutdown_kernel = _async_shutdown_kernel


def read_exit_codes(status_file: str) -> list[int]:
    if not status_file or not os.path.exists(status_file):
        return []
    with open(status_file) as fh:
        return [int(line) for line in fh if line.strip().lstrip("-").isdigit()]
