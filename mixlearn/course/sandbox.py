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
import sys
import tempfile
from dataclasses import dataclass, field

SWITCHED_OFF = ("{name} is switched off while grading: this exercise is about writing that step "
                "yourself, so your code must not call the library's version (numpy and scipy are fine).")

# What the student edition of mixlearn leaves out.  Whole modules (EM and the estimators with all
# their numerical kernels) are replaced by stubs of every top-level function and class they define;
# single functions are emptied in place.
STUB_MODULES = ("em.py", "_base.py", "gaussian_mixture.py", "bernoulli_mixture.py",
                "_gaussian_kernels.py", "_gaussian_missing.py", "_missing.py")
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
        if not (module.endswith(".py") and name.isidentifier()) or module in STUB_MODULES:
            raise ValueError(f"switched_off: {item!r} should read '<file under mixlearn/>:<function>', e.g. "
                             "'datasets/__init__.py:make_marbles' (a file not already replaced as a whole)")
        rules[module] = tuple(sorted(set(rules.get(module, ())) | {name}))
    return rules


def build_student_edition(package_dir: str, dest: str, switched_off=()) -> str:
    """Write the student edition of the mixlearn package found in *package_dir* into *dest*."""
    shutil.copytree(package_dir, dest, ignore=lambda d, names: [
        n for n in names if n in LEFT_OUT and os.path.samefile(d, package_dir) or n == "__pycache__"])
    for module in STUB_MODULES:
        path = os.path.join(dest, module)
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            names = _top_level_names(fh.read())
        with open(path, "w") as fh:
            fh.write(_stub_module(module[:-3], names))
    for module, names in stub_rules(switched_off).items():
        path = os.path.join(dest, module)
        with open(path) as fh:
            source = fh.read()
        with open(path, "w") as fh:
            fh.write(_empty_functions(source, module, names))
            if module == "mixture.py":
                fh.write(STUDENT_MIXTURE_LOGPDF)
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
    h.update(repr((sorted(STUB_MODULES), sorted(stub_rules(switched_off).items()), STUDENT_MIXTURE_LOGPDF,
                   LEFT_OUT)).encode())
    for base, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in LEFT_OUT)
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(base, name))
                h.update(f"{os.path.relpath(os.path.join(base, name), package_dir)}:{st.st_size}:"
                         f"{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def student_edition(cache_root: str | None = None, switched_off=()) -> str:
    """Path of an up-to-date student edition of the installed mixlearn (built once, then cached),
    with the assignment's own *switched_off* functions emptied too (see :func:`stub_rules`)."""
    switched_off = tuple(sorted(set(switched_off)))
    package_dir = mixlearn_package_dir()
    cache_root = cache_root or os.path.join(tempfile.gettempdir(), f"mixlearn-student-edition-{os.getuid()}")
    os.makedirs(cache_root, mode=0o700, exist_ok=True)
    dest = os.path.join(cache_root, _package_fingerprint(package_dir, switched_off), "mixlearn")
    if not os.path.isdir(os.path.join(cache_root, "switched-off")):
        _write_switched_off_package(os.path.join(cache_root, "switched-off"))
    if not os.path.isdir(dest):
        tmp = tempfile.mkdtemp(dir=cache_root)
        build_student_edition(package_dir, os.path.join(tmp, "mixlearn"), switched_off)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            os.rename(os.path.join(tmp, "mixlearn"), dest)
        except OSError:  # built concurrently by another worker
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ------------------------------------------------------------------ the bwrap command
_PYTHON_PATHS: list[str] | None = None
_KERNEL_SYS_PATH: list[str] = []


def _python_paths() -> list[str]:
    """Directories the kernel's Python needs, read-only: its prefixes and the ``sys.path`` of a
    fresh isolated interpreter (``python -I``).  Not this process's ``sys.path``: nbgrader puts the
    course folder on it, and the course must stay out of the sandbox."""
    global _PYTHON_PATHS
    if _PYTHON_PATHS is not None:
        return _PYTHON_PATHS
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
                         capture_output=True, text=True, check=True, cwd="/").stdout
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for entry in json.loads(out):
        if entry and os.path.isdir(entry):
            paths.add(os.path.realpath(entry))
            _KERNEL_SYS_PATH.append(os.path.realpath(entry))
    # keep only the outermost of nested paths
    kept = []
    for p in sorted(paths):
        if not any(p == q or p.startswith(q + os.sep) for q in kept):
            kept.append(p)
    _PYTHON_PATHS = kept
    return kept


def _foreign_site_dirs() -> list[str]:
    """site-/dist-packages under the mounted prefixes and /usr that the kernel's Python does not use."""
    import glob

    _python_paths()
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | {"/usr", "/usr/local"}
    found = set()
    for root in roots:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                        "local/lib/python3*/site-packages", "local/lib/python3*/dist-packages"):
            found.update(os.path.realpath(p) for p in glob.glob(os.path.join(root, pattern)))
    used = set(_KERNEL_SYS_PATH)
    return sorted(p for p in found if p not in used and os.path.isdir(p))


def _hidden_package_dirs() -> list[str]:
    """Every copy of the hidden packages on the kernel's own path (not only the one imported here)."""
    _python_paths()
    out = set()
    for name in HIDDEN_PACKAGES:
        for entry in _KERNEL_SYS_PATH:
            candidate = os.path.join(entry, name)
            if os.path.isdir(candidate):
                out.add(os.path.realpath(candidate))
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            out.update(os.path.realpath(p) for p in spec.submodule_search_locations)
    return sorted(out)


@dataclass
class SandboxSpec:
    """Where a sandboxed process runs: its writable folders and what it sees."""

    workdir: str                    # host folder: the private copy of the submission
    mountpoint: str                 # where the notebook expects it (its cwd inside)
    rundir: str                     # host folder for the connection file and sockets
    student_edition: str | None     # replaces the mixlearn package (None: real mixlearn)
    env: dict = field(default_factory=dict)
    tmpdir: str | None = None       # host folder to use as /tmp (default: a fresh tmpfs)
    shmdir: str | None = None       # host folder to use as /dev/shm (default: bwrap's own)
    extra_ro: tuple = ()            # more (host path, sandbox path) pairs, read-only

    def argv(self, cmd: list[str], bwrap: str | None = None) -> list[str]:
        bwrap = bwrap or find_bwrap()
        a = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--hostname", "sandbox", "--clearenv"]
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
        a += ["--bind", self.tmpdir, "/tmp"] if self.tmpdir else ["--tmpfs", "/tmp"]
        if self.shmdir:
            a += ["--bind", self.shmdir, "/dev/shm"]
        for p in _python_paths():
            if not p.startswith(("/usr/", "/etc/")):
                a += ["--ro-bind", p, p]
        # site-packages folders that are mounted (with a prefix, or /usr) but not on the kernel's
        # own path: a student could put them on sys.path and find other copies of libraries there
        for p in _foreign_site_dirs():
            a += ["--tmpfs", p]
        if self.student_edition:
            a += ["--ro-bind", self.student_edition, mixlearn_package_dir()]
            stub = os.path.join(os.path.dirname(os.path.dirname(self.student_edition)), "switched-off")
            for p in _hidden_package_dirs():
                a += ["--ro-bind", stub, p] if os.path.isdir(stub) else ["--tmpfs", p]
        for src, dst in self.extra_ro:
            a += ["--ro-bind", src, dst]
        a += ["--bind", self.workdir, self.mountpoint, "--bind", self.rundir, self.rundir,
              "--chdir", self.mountpoint]
        env = dict(SANDBOX_ENV, **self.env)
        for k, v in env.items():
            a += ["--setenv", k, str(v)]
        # everything not mounted writable above (the bound folders and /tmp) is read-only
        return a + ["--remount-ro", "/", "--"] + list(cmd)


def check_sandbox_works() -> None:
    """Raise :class:`SandboxUnavailable` unless bwrap can start a process with all namespaces."""
    import subprocess

    bwrap = find_bwrap()
    with tempfile.TemporaryDirectory() as tmp:
        spec = SandboxSpec(workdir=tmp, mountpoint="/work", rundir=tmp, student_edition=None)
        proc = subprocess.run(spec.argv(["/bin/true"], bwrap), capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap is installed but cannot create a sandbox here ({proc.stderr.strip()[:300]}); "
            "it needs unprivileged user namespaces or root. " + INSTALL_HINT)
