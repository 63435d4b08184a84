"""One bubblewrap sandbox per submission: the kernel sees its own files and nothing of the course.

The kernel that runs a student's notebook is started inside ``bwrap`` (Debian package
``bubblewrap``) with new user, PID, network, IPC, UTS and mount namespaces:

* the file system is a **whitelist**, read-only: ``/usr``, ``/etc``, the Python installation
  and the directories on ``sys.path``.  The course (source with hidden tests, release,
  ``gradebook.db``, other students' ``submitted/`` and ``autograded/``), the grader's run
  folders, ``HOME`` and everything else on the machine are simply absent;
* the submission's folder is a **private writable copy** (the submitted files are never
  written), mounted at the path the notebook expects; ``/tmp`` and ``HOME`` are empty tmpfs;
* **no network**: the kernel's channels are Unix sockets (ZeroMQ ``ipc``) in a folder that
  is bind-mounted into the sandbox;
* **no signals out**: in its own PID namespace the kernel can see and signal only its own
  processes, and when the sandbox's first process dies the kernel kills all of them;
* **the student edition of mixlearn**: the package is replaced by a copy in which the
  library's EM (``e_step``, ``m_step``, ``em_*``, ``posterior``, the estimators, the log-space
  normaliser) is a stub that raises, and scikit-learn is hidden.  Code that delegates to them
  fails however it reaches them (an alias, a saved reference, a re-import, reading the source
  from disk), because the real code is not in the sandbox at all.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

SWITCHED_OFF = ("{name} is switched off while grading: this exercise is about writing that step "
                "yourself, so your code must not call the library's version (numpy and scipy are fine).")

# What the student edition of mixlearn leaves out.  Whole modules (EM and the estimators with all
# their numerical kernels) are replaced by stubs of every top-level function and class they define;
# single functions are emptied in place.
# An allow-list: the modules the exercises use are kept (some with functions emptied below); every
# other module of the package is replaced, so a module added to mixlearn later (a new estimator, a
# MAP or variational EM, ...) is switched off in the edition until it is listed here.
KEPT_MODULES = ("__init__.py", "distributions.py", "mixture.py", "_logsumexp.py", "_validation.py",
                "exceptions.py", "datasets/__init__.py")
def stub_modules(package_dir: str) -> tuple[str, ...]:
    """Every Python file of the package at *package_dir* the edition replaces by stubs (paths
    relative to it, with ``/``): all but :data:`KEPT_MODULES` and the folders left out."""
    out = []
    for base, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in LEFT_OUT)
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(base, name), package_dir).replace(os.sep, "/")
            if name.endswith(".py") and rel not in KEPT_MODULES:
                out.append(rel)
    return tuple(sorted(out))
STUB_FUNCTIONS = {
    "mixture.py": ("posterior", "component_log_likelihood", "_weighted_log_prob"),
    "_logsumexp.py": ("normalize_components", "logsumexp_components"),
}
# mixture_logpdf stays available (P(x) is what the exercises compare against), written without
# the library's internal E-step helpers, which are switched off above
STUDENT_MIXTURE_LOGPDF = '''

def mixture_logpdf(x, weights, components):
    """Log of the mixture's probability at each sample (student edition of mixlearn)."""
    from scipy.special import logsumexp

    x = check_data(x, "x")
    components = as_components(components)
    w = check_weights(weights, len(components), "weights")
    log_f = np.stack([np.broadcast_to(c.logpdf(x), (x.shape[0],)) for c in components])
    with np.errstate(divide="ignore"):
        return logsumexp(log_f + np.log(w)[:, None], axis=0)
'''
LEFT_OUT = ("course", "teaching", "__pycache__")
# the last line of the edition's __init__.py: how the sandbox's own check tells it from the real package
EDITION_MARK = "\n__student_edition__ = True  # mixlearn.course.sandbox: EM switched off while grading\n"
HIDDEN_PACKAGES = ("sklearn",)

INSTALL_HINT = ("bubblewrap is needed to grade student code in a sandbox: install it with "
                "`apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`, or pass "
                "--no-sandbox to run student code unconfined (not recommended: see the README's "
                "threat model)")


SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1"}


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(INSTALL_HINT)
    return path


# ------------------------------------------------------------------ student edition
def _stub_function(name: str, qualname: str) -> str:
    msg = SWITCHED_OFF.format(name=qualname)
    return f"def {name}(*args, **kwargs):\n    raise RuntimeError({msg!r})\n"


def _stub_class(name: str, qualname: str) -> str:
    msg = SWITCHED_OFF.format(name=qualname)
    return (f"class {name}:\n"
            f"    def __init__(self, *args, **kwargs):\n        raise RuntimeError({msg!r})\n")


def _top_level_names(source: str) -> list[str]:
    tree = ast.parse(source)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _stub_module(module: str, names) -> str:
    parts = [f'"""mixlearn.{module} is not available while grading."""\n']
    for name in names:
        qual = f"mixlearn.{name}"
        parts.append(_stub_class(name, qual) if name[:1].isupper() else _stub_function(name, qual))
    return "\n\n".join(parts)


def _empty_functions(source: str, module: str, names) -> str:
    """The module's source with the bodies (and docstrings) of *names* replaced by a raise."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            spans.append((start, node.end_lineno, node.name))
    missing = set(names) - {s[2] for s in spans}
    if missing:
        raise RuntimeError(f"student edition: mixlearn/{module} has no function {sorted(missing)}")
    for start, end, name in sorted(spans, reverse=True):
        lines[start:end] = [_stub_function(name, f"mixlearn.{name}")]
    return "".join(lines)


def stub_rules(switched_off=()) -> dict:
    """``{module file: function names}`` emptied in the edition: STUB_FUNCTIONS plus an
    assignment's own *switched_off* items, each ``"<file under mixlearn/>:<function>"`` (for
    instance ``"datasets/__init__.py:make_marbles"`` for the assignment that asks for a sampler)."""
    rules = {k: tuple(v) for k, v in STUB_FUNCTIONS.items()}
    for item in switched_off:
        module, _, name = str(item).partition(":")
        if not (module.endswith(".py") and name.isidentifier()) or module not in KEPT_MODULES:
            raise ValueError(f"switched_off: {item!r} should read '<file under mixlearn/>:<function>', e.g. "
                             "'datasets/__init__.py:make_marbles' (a file not already replaced as a whole)")
        rules[module] = tuple(sorted(set(rules.get(module, ())) | {name}))
    return rules


def build_student_edition(package_dir: str, dest: str, switched_off=(), python: str | None = None) -> str:
    """Write the student edition of the mixlearn package found in *package_dir* into *dest*,
    byte-compiled by *python* when given (the sandbox is read-only: every kernel would compile it
    again)."""
    shutil.copytree(package_dir, dest, ignore=lambda d, names: [
        n for n in names if n in LEFT_OUT and os.path.samefile(d, package_dir) or n == "__pycache__"])
    for module in stub_modules(dest):
        path = os.path.join(dest, module)
        with open(path) as fh:
            names = _top_level_names(fh.read())
        with open(path, "w") as fh:
            fh.write(_stub_module(module[:-3].replace("/", "."), names))
    for module, names in stub_rules(switched_off).items():
        path = os.path.join(dest, module)
        with open(path) as fh:
            source = fh.read()
        with open(path, "w") as fh:
            fh.write(_empty_functions(source, module, names))
            if module == "mixture.py" and "mixture_logpdf" not in names:   # unless the assignment switches it off
                fh.write(STUDENT_MIXTURE_LOGPDF)
    with open(os.path.join(dest, "__init__.py"), "a") as fh:
        fh.write(EDITION_MARK)
    if python:
        subprocess.run([python, "-s", "-m", "compileall", "-q", dest], capture_output=True,
                       env={"PATH": SANDBOX_ENV["PATH"]}, cwd="/", timeout=300)
    # readable by the kernel's unprivileged user, writable by nobody but its owner
    for base, _dirs, files in os.walk(dest):
        os.chmod(base, 0o755)
        for name in files:
            os.chmod(os.path.join(base, name), 0o644)
    return dest


def _write_switched_off_package(folder: str) -> None:
    """A package that replaces the hidden libraries (scikit-learn) and says why it cannot be used."""
    os.makedirs(folder, exist_ok=True)
    msg = ("scikit-learn is switched off while grading: this exercise is about writing EM yourself "
           "(numpy and scipy are fine)")
    with open(os.path.join(folder, "__init__.py"), "w") as fh:
        fh.write(f"raise ImportError({msg!r})\n")


def mixlearn_package_dir() -> str:
    spec = importlib.util.find_spec("mixlearn")
    return os.path.realpath(list(spec.submodule_search_locations)[0])


def _package_fingerprint(package_dir: str, switched_off=()) -> str:
    """Changes with mixlearn's files and with the rules that make the edition (this module)."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as fh:
        h.update(fh.read())
    h.update(repr((KEPT_MODULES, stub_modules(package_dir), sorted(stub_rules(switched_off).items()), STUDENT_MIXTURE_LOGPDF,
                   LEFT_OUT, EDITION_MARK, package_dir)).encode())
    for base, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in LEFT_OUT)
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(base, name))
                h.update(f"{os.path.relpath(os.path.join(base, name), package_dir)}:{st.st_size}:"
                         f"{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def student_edition(cache_root: str | None = None, switched_off=(), package_dir: str | None = None,
                    python: str | None = None) -> str:
    """Path of an up-to-date student edition of mixlearn (built once, then cached) made from
    *package_dir* (default: the copy this process imports; the sandbox passes the copy the kernel's
    own interpreter imports), with the assignment's own *switched_off* functions emptied too (see
    :func:`stub_rules`)."""
    switched_off = tuple(sorted(set(switched_off)))
    package_dir = os.path.realpath(package_dir or mixlearn_package_dir())
    cache_root = cache_root or os.path.join(tempfile.gettempdir(), f"mixlearn-student-edition-{os.getuid()}")
    os.makedirs(cache_root, mode=0o700, exist_ok=True)
    dest = os.path.join(cache_root, _package_fingerprint(package_dir, switched_off), "mixlearn")
    if not os.path.isdir(os.path.join(cache_root, "switched-off")):
        _write_switched_off_package(os.path.join(cache_root, "switched-off"))
    if not os.path.isdir(dest):
        tmp = tempfile.mkdtemp(dir=cache_root)
        build_student_edition(package_dir, os.path.join(tmp, "mixlearn"), switched_off, python)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            os.rename(os.path.join(tmp, "mixlearn"), dest)
        except OSError:  # built concurrently by another worker
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ------------------------------------------------------------------ the kernel's interpreter
EDITION_HOME = "/opt/mixlearn-student"   # inside the sandbox: the edition's folder, first on PYTHONPATH
SUBMISSION_SRC = "/.submission"           # inside: the read-only copy that the sandbox's first step copies
SANDBOX_UID = 65534                       # the kernel's user when grading runs as root ("nobody")
REPLACED = ("mixlearn",)                  # packages replaced by the student edition wherever they are

# Run by the kernel's own interpreter, as the sandbox runs it (clean environment, no user site):
# where it would import each package from.  Every entry of sys.path is scanned, and every finder
# on sys.meta_path is asked (an editable install's finder maps a package to a source tree that is
# on no path).  Inside the sandbox the same script tells which copies are the student edition.
_LOCATE = r'''
import importlib.util, json, os, sys
names, mark = json.loads(sys.argv[1]), sys.argv[2]
def copies(name):
    found = set()
    for entry in sys.path:
        cand = os.path.join(entry or os.getcwd(), name)
        if os.path.isfile(os.path.join(cand, "__init__.py")) or os.path.isfile(cand + ".py"):
            found.add(cand if os.path.isdir(cand) else cand + ".py")
    for finder in list(sys.meta_path):
        try:
            spec = finder.find_spec(name, None)
        except Exception:
            spec = None
        if spec is not None and spec.submodule_search_locations:
            found.update(spec.submodule_search_locations)
        elif spec is not None and spec.origin and os.path.isfile(spec.origin):
            found.add(spec.origin)
    out = {}
    for p in sorted(os.path.realpath(p) for p in found):
        init = os.path.join(p, "__init__.py") if os.path.isdir(p) else p
        try:
            with open(init, errors="replace") as fh:
                text = fh.read()
        except OSError:
            text = ""
        out[p] = text.endswith(mark) if mark else False
    return out
def imported(name):
    try:
        mod = __import__(name)
    except BaseException as exc:
        return "not importable: %s: %s" % (type(exc).__name__, str(exc)[:200])
    return os.path.realpath(getattr(mod, "__file__", "") or "")
def caps():
    try:
        with open("/proc/self/status") as fh:
            return [l.split()[1] for l in fh if l.startswith("CapEff")][0]
    except Exception:
        return "?"
def readable(path):
    try:
        open(path, "rb").close()
        return True
    except OSError:
        return False
print(json.dumps({
    "sys_path": [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)],
    "prefixes": sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}),
    "copies": {n: copies(n) for n in names},
    "imports": {n: imported(n) for n in names} if sys.argv[3:] == ["import"] else {},
    "uid": os.getuid(), "caps": caps(), "shadow": readable("/etc/shadow"),
}))
'''


@dataclass(frozen=True)
class KernelPython:
    """What the kernel's interpreter imports, asked of that interpreter itself (see :func:`locate`)."""

    python: str
    sys_path: tuple
    prefixes: tuple
    copies: dict            # package -> real paths of every copy the interpreter could import

    @property
    def mixlearn(self) -> str | None:
        """The mixlearn package the kernel would import (the source of its student edition)."""
        found = [p for p in self.copies.get("mixlearn", ()) if os.path.isdir(p)]
        return found[0] if found else None


_LOCATED: dict = {}


def _run_locate(argv: list[str], names, mark: str = "", imports: bool = False, **kw) -> dict:
    """Run the locating script with the interpreter *argv*; with *imports* it also imports each of
    *names* (inside the sandbox: which copy ``import`` gives; outside it would only cost time)."""
    import json
    import subprocess

    proc = subprocess.run(argv + ["-s", "-c", _LOCATE, json.dumps(list(names)), mark] + (["import"] if imports else []),
                          capture_output=True, text=True, timeout=120, **kw)
    if proc.returncode != 0:
        raise SandboxUnavailable(f"the kernel's interpreter {argv[-1]} could not be asked what it imports: "
                                 f"{proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def locate(python: str | None = None) -> KernelPython:
    """Ask the kernel's interpreter (*python*, default this one), in the environment the sandbox
    gives it, where it would import mixlearn and the hidden packages from, and what its path is.
    Not this process's ``sys.path``: nbgrader puts the course folder first on it, and the course
    folder (or an editable source tree) is not where the kernel imports from."""
    python = python or sys.executable
    if python not in _LOCATED:
        info = _run_locate([python], REPLACED + HIDDEN_PACKAGES, env=dict(SANDBOX_ENV), cwd="/")
        _LOCATED[python] = KernelPython(python, tuple(info["sys_path"]), tuple(info["prefixes"]),
                                        {k: tuple(v) for k, v in info["copies"].items()})
    return _LOCATED[python]


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _python_paths(kernel: KernelPython, protected=()) -> list[str]:
    """Directories the kernel's Python needs, read-only: its prefixes and its ``sys.path``.  A path
    entry outside the prefixes that holds a copy of mixlearn (an editable install's source tree on a
    ``.pth`` line) is left out, and so is any entry that holds a protected folder (the course)."""
    protected = [os.path.realpath(p) for p in protected if p]
    paths = set(kernel.prefixes)
    for entry in kernel.sys_path:
        if any(_inside(entry, pre) for pre in kernel.prefixes):
            continue
        if any(os.path.isdir(os.path.join(entry, name)) for name in REPLACED):
            continue
        paths.add(entry)
    kept = []
    for p in sorted(paths):
        if not any(_inside(p, q) for q in kept):
            kept.append(p)
    for p in kept + ["/usr", "/etc"]:
        for q in protected:
            if _inside(q, p):
                raise SandboxUnavailable(
                    f"the course folder {q} lies inside {p}, which the sandbox must show the kernel (the Python "
                    f"installation of {kernel.python} or the system): move the course folder elsewhere")
    return [p for p in kept if not any(_inside(p, q) for q in protected)]


def _foreign_site_dirs(kernel: KernelPython) -> list[str]:
    """site-/dist-packages under the mounted prefixes and /usr that the kernel's Python does not use."""
    import glob

    roots = set(kernel.prefixes) | {"/usr", "/usr/local"}
    found = set()
    for root in roots:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                        "local/lib/python3*/site-packages", "local/lib/python3*/dist-packages"):
            found.update(os.path.realpath(p) for p in glob.glob(os.path.join(root, pattern)))
    return sorted(p for p in found if p not in set(kernel.sys_path) and os.path.isdir(p))


@dataclass
class SandboxSpec:
    """Where a sandboxed process runs: its writable folders and what it sees.

    The submission's host copy (*workdir*) is mounted read-only; the sandbox's first step copies it
    into a tmpfs of bounded size at *mountpoint* (the kernel's working folder), so nothing the kernel
    writes reaches the host's disk, except the kernel's sockets in *rundir*.  When grading runs as
    root the kernel then drops to an unprivileged user (uid 65534) without capabilities.
    """

    workdir: str                    # host folder: the private copy of the submission
    mountpoint: str                 # where the notebook expects it (its cwd inside)
    rundir: str                     # host folder for the connection file and sockets
    student_edition: str | None     # replaces the mixlearn package (None: real mixlearn)
    env: dict = field(default_factory=dict)
    kernel: KernelPython | None = None   # the interpreter that runs inside (default: this one's)
    disk: int = 256 * 1024 ** 2     # bytes each writable place (/tmp, /dev/shm, the working folder) may hold
    protected: tuple = ()           # host folders never shown, however the kernel's Python is installed

    def mounts(self) -> list[str]:
        """bwrap's arguments up to (not including) the command."""
        kernel = self.kernel or locate()
        root = os.geteuid() == 0
        a = ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv",
             "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        # as root: no user namespace; the first step inside drops to an unprivileged user instead
        # (in a user namespace made by root, the kernel would still be root to the host's files)
        a += [] if root else ["--unshare-user", "--cap-drop", "ALL"]
        for top in ("usr", "etc"):
            if os.path.isdir("/" + top) and not os.path.islink("/" + top):
                a += ["--ro-bind", "/" + top, "/" + top]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            p = "/" + top
            if os.path.islink(p):
                a += ["--symlink", os.readlink(p), p]
            elif os.path.isdir(p):
                a += ["--ro-bind", p, p]
        a += ["--proc", "/proc", "--dev", "/dev"]
        size = str(int(self.disk))
        a += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp",
              "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
        for p in _python_paths(kernel, self.protected):
            if not p.startswith(("/usr/", "/etc/")):
                a += ["--ro-bind", p, p]
        # site-packages folders that are mounted (with a prefix, or /usr) but not on the kernel's
        # own path: a student could put them on sys.path and find other copies of libraries there
        for p in _foreign_site_dirs(kernel):
            a += ["--tmpfs", p]
        if self.student_edition:
            # the edition first on the path, and over every other copy the kernel's Python could find
            a += ["--ro-bind", self.student_edition, f"{EDITION_HOME}/mixlearn"]
            for p in kernel.copies.get("mixlearn", ()):
                a += ["--ro-bind", self.student_edition, p] if os.path.isdir(p) else ["--ro-bind", "/dev/null", p]
            stub = os.path.join(os.path.dirname(os.path.dirname(self.student_edition)), "switched-off")
            for name in HIDDEN_PACKAGES:
                for p in kernel.copies.get(name, ()):
                    a += ["--ro-bind", stub, p] if os.path.isdir(p) else ["--ro-bind", "/dev/null", p]
        work_size = int(self.disk) + _tree_size(self.workdir)
        a += ["--ro-bind", self.workdir, SUBMISSION_SRC,
              "--perms", "0755", "--size", str(work_size), "--tmpfs", self.mountpoint,
              "--bind", self.rundir, self.rundir, "--chdir", self.mountpoint]
        env = dict(SANDBOX_ENV, **self.env)
        if self.student_edition:
            env["PYTHONPATH"] = EDITION_HOME
        for k, v in env.items():
            a += ["--setenv", k, str(v)]
        # everything not mounted writable above (the tmpfs folders and the run folder) is read-only
        return _with_parents(a) + ["--remount-ro", "/"]

    def argv(self, cmd: list[str], bwrap: str | None = None) -> list[str]:
        bwrap = bwrap or find_bwrap()
        return [bwrap, *self.mounts(), "--", *first_step(), *cmd]


_DEST_AT = {"--ro-bind": 2, "--bind": 2, "--symlink": 2, "--tmpfs": 1, "--dir": 1, "--proc": 1, "--dev": 1}


def _with_parents(args: list[str]) -> list[str]:
    """*args* with ``--perms 0755 --dir`` for every folder that a mount needs and that no earlier mount
    provides: bwrap would create them readable by root only, and the kernel's user could not reach
    the Python installation or the student edition below them."""
    out, bound, made, pending, i = [], [], set(), [], 0
    while i < len(args):
        opt = args[i]
        if opt in ("--perms", "--size"):   # they apply to the next mount: keep them next to it
            pending += args[i:i + 2]
            i += 2
            continue
        n = _DEST_AT.get(opt, 0)
        if n:
            dest = args[i + n]
            parts = dest.strip("/").split("/")[:-1]
            for k in range(1, len(parts) + 1):
                parent = "/" + "/".join(parts[:k])
                if parent not in made and not any(_inside(parent, b) for b in bound):
                    out += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            if opt in ("--ro-bind", "--bind", "--symlink"):   # what lies below comes from the host
                bound.append(dest)
        width = n + 1 if n else (2 if opt in ("--hostname", "--chdir") else 3 if opt == "--setenv" else 1)
        out += pending + args[i:i + width]
        pending = []
        i += width
    return out + pending


def first_step() -> list[str]:
    """The sandbox's first process: copy the submission into the working folder, then (as root)
    become an unprivileged user with no capabilities and exec the kernel."""
    if os.geteuid() != 0:
        return ["/bin/sh", "-c", f'cp -R {SUBMISSION_SRC}/. . && exec "$@"', "sh"]
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    if setpriv is None:
        raise SandboxUnavailable("grading as root needs setpriv to run the kernel as an unprivileged user: "
                                 "apt-get install util-linux")
    u = SANDBOX_UID
    return ["/bin/sh", "-c",
            f'cp -R {SUBMISSION_SRC}/. . && chown -R {u}:{u} . && exec {setpriv} --reuid={u} --regid={u} '
            '--clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"', "sh"]


def _tree_size(folder: str) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def remove_tree(path: str) -> None:
    """Remove a folder however deep it is (``shutil.rmtree`` recurses and stops ~1,000 levels down)."""
    import subprocess

    if not os.path.lexists(path):
        return
    try:
        shutil.rmtree(path)
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], capture_output=True, check=False)


_VERIFIED: set = set()


def verify(spec: SandboxSpec, bwrap: str | None = None) -> None:
    """Start the sandbox of *spec* once (with an empty submission) and check from inside, with the
    kernel's interpreter, what the kernel will find: the student edition wherever mixlearn could be
    imported from, the hidden packages switched off, an unprivileged user without capabilities.
    Raise :class:`SandboxUnavailable` naming what is wrong before any student code runs."""
    kernel = spec.kernel or locate()
    # what the check depends on: the interpreter, the edition and the folders mounted for it (not
    # the protected folders themselves: each submission's private course folder is one of them)
    key = (kernel.python, spec.student_edition, tuple(_python_paths(kernel, spec.protected)), spec.disk,
           os.geteuid())
    if key in _VERIFIED:
        return
    with tempfile.TemporaryDirectory(prefix="mlsbx-check-") as tmp:
        os.makedirs(os.path.join(tmp, "work"))
        os.makedirs(os.path.join(tmp, "run"))
        probe = SandboxSpec(workdir=os.path.join(tmp, "work"), mountpoint="/sandbox-check",
                            rundir=os.path.join(tmp, "run"), student_edition=spec.student_edition,
                            env=dict(spec.env), kernel=kernel, disk=spec.disk, protected=tuple(spec.protected))
        cmd = [bwrap or find_bwrap(), *probe.mounts(), "--", *first_step(), kernel.python]
        info = _run_locate(cmd, REPLACED + HIDDEN_PACKAGES, EDITION_MARK.strip("\n") + "\n" if spec.student_edition
                           else "", imports=True, env={})
    problems = []
    if info["uid"] == 0 or info["caps"] not in ("0000000000000000", "?"):
        problems.append(f"the kernel would run as uid {info['uid']} with capabilities {info['caps']}")
    if info["shadow"]:
        problems.append("the kernel could read /etc/shadow")
    if spec.student_edition:
        real = [p for p, is_edition in info["copies"].get("mixlearn", {}).items() if not is_edition]
        if real:
            problems.append("a copy of mixlearn other than the student edition is importable inside: " + ", ".join(real))
        where = info["imports"].get("mixlearn", "")
        if where.startswith("not importable") or not info["copies"].get("mixlearn", {}).get(os.path.dirname(where)):
            problems.append(f"`import mixlearn` inside does not give the student edition ({where})")
        for name in HIDDEN_PACKAGES:
            if not info["imports"].get(name, "").startswith("not importable"):
                problems.append(f"{name} is importable inside ({info['imports'][name]})")
    if problems:
        raise SandboxUnavailable(
            f"the grading sandbox cannot be made safe for the kernel's Python {kernel.python}: "
            + "; ".join(problems) + ". Install mixlearn into that Python's own site-packages (pip install "
            "'mixlearn[course]') and grade with it, or report this as a bug.")
    _VERIFIED.add(key)


def check_bwrap() -> None:
    """Raise :class:`SandboxUnavailable` unless bubblewrap is installed and can create a sandbox here."""
    import subprocess

    proc = subprocess.run([find_bwrap(), "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap is installed but cannot create a sandbox here ({proc.stderr.strip()[:300]}); "
            "it needs unprivileged user namespaces or root. " + INSTALL_HINT)


def check_sandbox_works(python: str | None = None, student_edition_too: bool = True) -> None:
    """Raise :class:`SandboxUnavailable` unless bwrap can start the kernel's interpreter in the full
    sandbox and the student edition is what it finds there (see :func:`verify`)."""
    check_bwrap()
    kernel = locate(python)
    edition = student_edition(package_dir=kernel.mixlearn) if student_edition_too else None
    verify(SandboxSpec(workdir="", mountpoint="", rundir="", student_edition=edition, kernel=kernel))
