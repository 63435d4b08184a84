"""Real servers for the cluster tests: a PostgreSQL server and a Dask cluster on this machine.

* :class:`PostgresServer`: Debian's ``postgresql`` package (``initdb``, ``pg_ctl``), listening on a
  unix socket in a private folder only (no TCP).  PostgreSQL refuses to run as root, so as root the
  server runs as the ``postgres`` user (or ``nobody``) through ``runuser``.
* :class:`DaskCluster`: ``dask scheduler`` on 127.0.0.1 and ``dask worker`` processes, each with
  its own ``--local-directory`` (never the course's folder), each in its own process group so a
  test can kill one with SIGKILL.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def find_pg_bin(name: str) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def postgres_missing() -> str | None:
    """Why a PostgreSQL server cannot be started here (None: it can)."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if find_pg_bin(name) is None:
            return f"{name} not found (apt-get install postgresql)"
    if os.geteuid() == 0 and _server_user() is None:
        return "running as root and no unprivileged user (postgres, nobody) to run the server"
    if not shutil.which("runuser") and os.geteuid() == 0:
        return "running as root without runuser"
    return None


def _server_user() -> str | None:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


class PostgresServer:
    """A throw-away PostgreSQL server on a unix socket in a private folder."""

    def __init__(self, user: str = "course"):
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="mlpg-")
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.runas = _server_user() if os.geteuid() == 0 else None
        if self.runas:
            pw = pwd.getpwnam(self.runas)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _cmd(self, *argv):
        prefix = ["runuser", "-u", self.runas, "--"] if self.runas else []
        return subprocess.run(prefix + list(argv), capture_output=True, text=True, check=False)

    def start(self) -> PostgresServer:
        r = self._cmd(find_pg_bin("initdb"), "-D", self.data, "-U", self.user, "--auth=trust",
                      "-E", "UTF8", "--no-sync", "--no-instructions")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr}")
        r = self._cmd(find_pg_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                      "-o", f"-k {self.dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off", "start")
        if r.returncode != 0:
            log = open(self.log).read() if os.path.exists(self.log) else ""
            raise RuntimeError(f"pg_ctl start failed: {r.stderr}\n{log}")
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@/{database}?host={self.dir}"

    def psql(self, database: str, sql: str) -> str:
        r = subprocess.run(["psql", "-h", self.dir, "-U", self.user, "-d", database, "-At", "-v",
                            "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout

    def createdb(self, name: str) -> str:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._cmd(find_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return env


class DaskCluster:
    """``dask scheduler`` + ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, python: str | None = None, env: dict | None = None):
        """*python*: the interpreter of the scheduler and workers (default: this one), with *env*
        (default: this environment, the checkout first on PYTHONPATH)."""
        self.python = str(python or sys.executable)
        self.env = env if env is not None else _env()
        self.dir = tempfile.mkdtemp(prefix="mldask-")
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self._n = 0

    def start(self, n_workers: int = 2) -> DaskCluster:
        log = open(os.path.join(self.dir, "scheduler.log"), "w")
        self.scheduler = subprocess.Popen(
            [self.python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
             str(self.port), "--no-dashboard", "--no-show"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("dask scheduler did not start: " + open(log.name).read())
        for _ in range(n_workers):
            self.add_worker()
        self.wait_for_workers(n_workers)
        return self

    def add_worker(self) -> subprocess.Popen:
        self._n += 1
        local = os.path.join(self.dir, f"worker{self._n}")
        os.makedirs(local)
        log = open(os.path.join(self.dir, f"worker{self._n}.log"), "w")
        proc = subprocess.Popen(
            [self.python, "-m", "distributed.cli.dask_worker", self.address, "--nworkers", "1",
             "--nthreads", "1", "--local-directory", local, "--no-dashboard", "--name", f"w{self._n}",
             "--memory-limit", "0"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=local, start_new_session=True)
        proc.local_directory = local
        proc.log_path = log.name
        self.workers.append(proc)
        return proc

    def n_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10) as c:
            return len(c.scheduler_info()["workers"])

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout=10) as c:
            c.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """SIGKILL the whole process group of one ``dask worker`` (nanny, worker, grading, kernels)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        self.workers.remove(proc)

    def stop(self) -> None:
        for proc in list(self.workers) + ([self.scheduler] if self.scheduler else []):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in list(self.workers) + ([self.scheduler] if self.scheduler else []):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


def has_descendant(pid: int, pattern: str) -> bool:
    """Is a process whose command line matches *pattern* among the descendants of *pid*?"""
    from mixlearn.course.limits import descendants

    rx = re.compile(pattern)
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if rx.search(cmd):
            return True
    return False
