"""Kernel fork server ("zygote") for ``mixlearn-course autograde --prefork``.

Starting a Python kernel costs CPU mostly for imports (ipykernel, and then numpy,
scipy, mixlearn in the notebook's first cell).  The zygote imports those once and
then, for every submission, forks a **new** process that becomes that submission's
kernel.  The zygote itself never runs student code, so each kernel starts from the
same pristine state, in its own process, session and address space (copy-on-write),
with the same resource limits as a normally started kernel.  Differences from a fresh
interpreter: the preloaded modules are already in ``sys.modules``, and numpy's global
random generator is re-seeded from the OS in every child (as a fresh import would).

Protocol on a Unix socket, one connection per kernel, JSON lines:
request ``{"argv": [...], "env": {...}, "cwd": ..., "as": bytes, "cpu": s, "log": path}``,
answers ``{"pid": pid}`` and later ``{"status": wait_status}`` when the kernel is gone.

With ``mixlearn-course autograde --prefork`` the zygote itself runs inside the worker's bubblewrap
sandbox, so it only ever imports the student edition of mixlearn; between two submissions the
worker kills every other process of that sandbox and empties its writable folders.

Run as a script: ``python _zygote.py SOCKET_PATH [module ...]``.
"""

import json
import os
import select
import signal
import socket
import sys

import _rlimits  # the script's own folder is first on sys.path


def _child(req, listener, conns):
    # this is the kernel now
    try:
        listener.close()
        for c in conns:
            c.close()
        os.setsid()
        _rlimits.parent_death_signal(signal.SIGKILL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _rlimits.apply(address_space=req.get("as"), cpu=req.get("cpu"), nproc=req.get("nproc"))
        os.environ.clear()
        os.environ.update(req["env"])
        if req.get("cwd"):
            os.chdir(req["cwd"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        if req.get("log"):
            fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *req["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


MAX_REQUEST = 4 * 1024 * 1024


def main(argv):
    path, modules = argv[0], argv[1:]
    _rlimits.parent_death_signal(signal.SIGKILL)
    # kernels are forked from here: none of them may ptrace this process or read its memory
    _rlimits.not_dumpable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import ipykernel.kernelapp  # noqa: F401  (the expensive part of starting a kernel)

    for name in modules:
        try:
            __import__(name)
        except Exception:  # a module that fails to import is simply not preloaded
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print("ready", flush=True)
    waiting = {}  # pid -> connection
    buffers = {}  # connection -> bytes received so far
    while True:
        conns = list(buffers)
        ready, _, _ = select.select([listener, *conns], [], [], 0.05)
        for s in ready:
            if s is listener:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.settimeout(2)  # a client that never reads cannot block the server
                buffers[conn] = b""
                continue
            try:
                data = s.recv(1 << 20)
            except OSError:
                data = b""
            if not data or len(buffers[s]) + len(data) > MAX_REQUEST:
                buffers.pop(s, None)
                s.close()
                continue
            buffers[s] += data
            if b"\n" in buffers[s]:
                line = buffers.pop(s).split(b"\n", 1)[0]
                try:
                    req = json.loads(line)
                    if req.get("ping"):
                        s.sendall(b'{"pong": true}\n')
                        s.close()
                        continue
                    if not (isinstance(req.get("argv"), list) and isinstance(req.get("env"), dict)):
                        raise ValueError("not a kernel request")
                except (ValueError, AttributeError, OSError):
                    s.close()   # garbage from a client: drop it, keep serving
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(req, listener, [s, *buffers])
                try:
                    s.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                except OSError:
                    pass
                waiting[pid] = s
        while waiting:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(json.dumps({"status": status}).encode() + b"\n")
                except OSError:
                    pass
                conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
