"""Building, grading and inspecting a class of cheating submissions (see ``tests/test_redteam.py``).

Everything runs the real tools as an instructor would: ``nbgrader`` and ``mixlearn-course`` as
subprocesses in a temporary course folder (a copy of ``nbgrader_config.py`` and
``solutions/04_em_n``).  The oracles are independent of the grading pipeline:

* the honest students' grades are recomputed here, in this process, by calling their functions
  directly on the trusted checks' inputs (same seed) and judging with the same checks;
* the hidden inputs that must not leak are recomputed from the seeds the grader recorded.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import hashlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np

from .cheats import CHEATS, SKLEARN_ANYWHERE, Cheat

ROOT = Path(__file__).resolve().parents[2]
A = "04_em_n"
A5 = "05_gmm_1d"      # a few cheats of assignment 5 (fitting a whole Gaussian mixture: scikit-learn's job)
BIN = Path(sys.executable).parent
CELL_TIMEOUT = 30

HONEST = ("honest_solution", "base_partial", "base_release")
DETECTOR = "sandbox_detector"

NAIVE_E_STEP = '''def e_step_n(x, weights, components):
    """Responsibilities (N, K) and the mean log-likelihood per sample."""
    # densities straight away (no log space): underflows far in the tails
    dens = np.exp(log_likelihood_matrix(x, components)) * np.asarray(weights, dtype=float)
    total = dens.sum(axis=1, keepdims=True)
    return dens / total, float(np.mean(np.log(total)))
'''

DETECTOR_CODE = SKLEARN_ANYWHERE + '''
import json as _json, os as _os
def _rt_where():
    with open("/proc/1/cmdline", "rb") as fh:
        pid1 = fh.read()
    return {"pid_namespace": pid1 != @HOSTINIT@,
            "pid1": pid1.split(b"\\0")[0].decode(errors="replace"),
            "course_visible": _os.path.exists(@COURSE@),
            "repo_visible": _os.path.isdir(@REPO@),
            "processes": len([p for p in _os.listdir("/proc") if p.isdigit()])}
def _rt_delegation_targets():
    """Can the kernel reach scikit-learn's GaussianMixture or a real (not stubbed) copy of mixlearn's EM?"""
    import sys, time
    found = {"sklearn": None, "real_em": None}
    try:
        GaussianMixture = _rt_import_sklearn()
        GaussianMixture(1).fit([[0.0], [1.0], [2.0]])
        found["sklearn"] = "GaussianMixture from " + sys.modules["sklearn"].__file__
    except Exception:
        pass
    t0 = time.monotonic()
    for top in sorted({sys.prefix, sys.base_prefix, "/usr/lib", "/usr/local", "/opt", "/tmp", _os.getcwd()}):
        for base, dirs, files in _os.walk(top):
            if time.monotonic() - t0 > 20:
                return found
            for name in files:
                if name == "em.py" or name.endswith(".ipynb"):
                    path = _os.path.join(base, name)
                    try:
                        text = open(path, errors="replace").read()
                    except OSError:
                        continue
                    if "def em_n_components" in text and "switched off" not in text:
                        found["real_em"] = path
                        return found
    return found


_rt_report = _rt_where()
_rt_report.update(_rt_delegation_targets())
print("RT-SANDBOX " + _json.dumps(_rt_report))
'''


# --------------------------------------------------------------------------- environment
def env(cwd=None) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e.pop("PYTHONPATH", None)
    if cwd is not None:
        # a private temporary folder per course: the graders' caches (the student edition of mixlearn)
        # and scratch folders are built fresh from the code under test, not shared with other runs
        tmp = Path(cwd).parent / "tmp"
        tmp.mkdir(exist_ok=True)
        e["TMPDIR"] = str(tmp)
    return e


def run(cmd, cwd, timeout=1500) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env(cwd), capture_output=True, text=True,
                          timeout=timeout)


def tree_digest(path: Path) -> dict:
    """``{relative path: sha256 or link target}`` of every file under *path* (links not followed)."""
    out = {}
    if not path.exists():
        return out
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            p = Path(base) / name
            rel = str(p.relative_to(path))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------- the course
def build_template(dest: Path, assignments=(A, A5)) -> Path:
    """A course with the assignments generated (release + gradebook), to be copied per grader."""
    dest.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (dest / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    for assignment in assignments:
        shutil.copytree(ROOT / "solutions" / assignment, dest / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        res = run([BIN / "nbgrader", "generate_assignment", assignment, "--force"], cwd=dest, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
    return dest


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_markers(source: str) -> str:
    return "\n".join(ln for ln in source.splitlines() if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def strip_hidden(source: str) -> str:
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", source, flags=re.S)


def solution_notebook():
    return nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", as_version=4)


def solution_sources() -> dict:
    return {nbgrader_meta(c)["grade_id"]: strip_markers(c.source)
            for c in solution_notebook().cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def base_notebook(release, base: str):
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    if base == "release":
        return nb
    sol = solution_sources()
    filled = {"log_likelihood_matrix": sol["log_likelihood_matrix"], "m_step_n": sol["m_step_n"],
              "e_step_n": NAIVE_E_STEP, "solution": None}
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if base == "solution" and gid in sol:
            cell.source = sol[gid]
        elif base == "partial" and filled.get(gid):
            cell.source = filled[gid]
    return nb


def fill(code: str, values: dict) -> str:
    for key, value in values.items():
        code = code.replace(key, value)
    return code


def cheat_notebook(release, cheat: Cheat, values: dict):
    nb = base_notebook(release, cheat.base)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in cheat.replace:
            cell.source = fill(cheat.replace[gid], values)
        if gid in cheat.append:
            cell.source = cell.source.rstrip("\n") + "\n\n\n" + fill(cheat.append[gid], values)
        if gid in cheat.meta:
            cell.metadata["nbgrader"].update(cheat.meta[gid])
    nb.metadata.update(cheat.meta.get("*", {}))
    return nb


def write_submission(course: Path, student: str, nb, files=None, values=None, assignment=A) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")
    for rel, content in (files or {}).items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple) and content[0] == "symlink":
            os.symlink(content[1], p)
        else:
            p.write_text(fill(content, values or {}))


def student_seed(student: str) -> int:
    return int.from_bytes(hashlib.sha256(f"redteam:{student}".encode()).digest()[:8], "little") >> 1


def record_seeds(course: Path, students, assignment=A) -> None:
    """Pre-record every student's hidden-check seed where the grader keeps them (reproducible runs)."""
    path = course / ".mixlearn-course" / assignment / "seeds.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps({s: student_seed(s) for s in students}, indent=1, sort_keys=True))
    path.chmod(0o600)


def read_seeds(course: Path) -> dict:
    path = course / ".mixlearn-course" / A / "seeds.json"
    return {str(k): int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


# --------------------------------------------------------------------------- answers worked out "at home"
def _key(name, x, w) -> str:
    h = hashlib.sha256(name.encode())
    h.update(np.asarray(x, dtype=float).round(10).tobytes())
    h.update(b"none" if w is None else np.asarray(w, dtype=float).round(10).tobytes())
    return h.hexdigest()


def answer_table(include_hidden: bool) -> dict:
    """The solution's answers for the inputs of the solution notebook's tests (visible, or all)."""
    nb = solution_notebook()
    ns: dict = {}
    table: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") == "setup":
            exec(cell.source, ns)
    for source in solution_sources().values():
        exec(source, ns)
    e_step, em = ns["e_step_n"], ns["em_n"]
    inside = []

    def rec_e(x, weights, components):
        r = e_step(x, weights, components)
        if not inside:
            table[_key("e_step_n", x, weights)] = (np.asarray(r[0]).tolist(), float(r[1]))
        return r

    def rec_em(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        inside.append(1)
        try:
            w, lls = em(x, components, weights_init=weights_init, tol=tol, max_iter=max_iter)
        finally:
            inside.pop()
        table[_key("em_n", x, weights_init)] = (np.asarray(w).tolist(), [float(v) for v in lls])
        return w, lls

    ns["e_step_n"], ns["em_n"] = rec_e, rec_em
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            with contextlib.suppress(AssertionError):
                exec(cell.source if include_hidden else strip_hidden(cell.source), ns)
    return table


# --------------------------------------------------------------------------- in-process oracle
def _roundtrip(v):
    """What the probe's plain-data encoding turns a returned value into."""
    from mixlearn.course.checks import Opaque

    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return tuple(_roundtrip(x) for x in v)
    if isinstance(v, dict):
        return {str(k): _roundtrip(x) for k, x in v.items()}
    a = np.asarray(v)
    if a.dtype.kind in "biuf":
        return np.array(a, dtype=float if a.dtype.kind == "f" else np.int64)
    return Opaque(type(v).__name__)


def load_checks(course: Path, assignment: str = A) -> dict:
    from mixlearn.course.checks import load_checks as _load

    return _load(str(course / "solutions" / assignment / "trusted_checks.py"))


def test_points(release) -> dict:
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in release.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}


def expected_scores(course: Path, nb, seed: int, release=None, assignment: str = A, strict: bool = False) -> dict:
    """``{test cell: points}`` the notebook's answers deserve for *seed*, judged in this process.

    The setup and answer cells run here in order (*strict*: a cell that raises is an error, for
    cheats that must really run; otherwise it is skipped, like a broken answer), then each check's
    visible calls and after them its hidden calls, in the grader's order, judged by the checks of
    *assignment* in *course*.  *release* gives the test cells' points (default: *nb*'s)."""
    from mixlearn.course.checks import CallFailed, build, prepare

    ns: dict = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup" or meta.get("solution")):
            if strict:
                exec(cell.source, ns)
            else:
                with contextlib.suppress(Exception):
                    exec(cell.source, ns)
    checks = load_checks(course, assignment)
    points = test_points(nb if release is None else release)
    out = {}
    for gid in points:
        ctx = prepare(checks, gid, seed)
        for call in ctx.calls_of(hidden=False) + ctx.calls_of(hidden=True):
            f = ns.get(call.function)
            try:
                value = f(*build(list(call.args)), **{k: build(v) for k, v in call.kwargs.items()})
                call.outcome = _roundtrip(value)
            except Exception as exc:  # NotImplementedError of a stub, a wrong answer's crash
                call.outcome = CallFailed(f"{type(exc).__name__}: {exc}")
        out[gid] = points[gid] if ctx.judge(None).passed else 0.0
    return out


# --------------------------------------------------------------------------- grading
def auto_scores(course: Path, students, assignment=A) -> dict:
    """``{student: {test cell: auto score}}`` from the gradebook (``{}``: not graded)."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="mixlearn") as gb:
        for s in students:
            try:
                nb = gb.find_submission_notebook(assignment, assignment, s)
            except MissingEntry:
                out[s] = {}
                continue
            out[s] = {g.name: float(g.auto_score or 0.0) for g in nb.grades if g.cell.cell_type == "code"}
            extra = sum(float(g.extra_credit or 0.0) for g in nb.grades)
            if extra:
                out[s]["extra_credit"] = extra
    return out


def grade(course: Path, grader: str, assignment=A) -> subprocess.CompletedProcess:
    if grader == "nbgrader":
        return run([BIN / "nbgrader", "autograde", assignment], cwd=course)
    cmd = [BIN / "mixlearn-course", "autograde", assignment, "--course", course, "--jobs", "2", "--no-progress"]
    return run(cmd, cwd=course)


def feedback(course: Path, grader: str) -> subprocess.CompletedProcess:
    if grader == "nbgrader":
        return run([BIN / "nbgrader", "generate_feedback", A], cwd=course, timeout=900)
    return run([BIN / "mixlearn-course", "feedback", A, "--course", course], cwd=course, timeout=900)


def detector_report(course: Path) -> dict | None:
    path = course / "autograded" / DETECTOR / A / f"{A}.ipynb"
    if not path.exists():
        return None
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            if "RT-SANDBOX " in text:
                return json.loads(text.split("RT-SANDBOX ", 1)[1].splitlines()[0])
    return None


def survivors(token: str) -> list[str]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if f"rt-survivor-{token}".encode() in cmd or f"rt planted {token}".encode() in cmd:
            found.append(f"{name}: {cmd[:200]!r}")
    return found


class Listener:
    """TCP and UDP on one port of 127.0.0.1; records whatever arrives."""

    def __init__(self):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._tcp_loop, daemon=True),
                         threading.Thread(target=self._udp_loop, daemon=True)]
        for t in self._threads:
            t.start()

    def _tcp_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                data = b"connected:"
                with contextlib.suppress(OSError):
                    data += conn.recv(65536)
                self.received.append(data)

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                data, _ = self.udp.recvfrom(65536)
            except OSError:
                continue
            self.received.append(b"udp:" + data)

    def close(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self.tcp.close()
        self.udp.close()


# --------------------------------------------------------------------------- leaks
def _walk_values(v):
    from mixlearn.course.checks import Dist

    if isinstance(v, Dist):
        for a in v.args:
            yield from _walk_values(a)
    elif isinstance(v, (list, tuple)):
        for a in v:
            yield from _walk_values(a)
    elif isinstance(v, dict):
        for a in v.values():
            yield from _walk_values(a)
    else:
        yield v


def leak_needles(course: Path, seed: int, release) -> dict:
    """``{text: what it is}``: what a student's feedback must not contain, for *seed*."""
    from mixlearn.course.checks import _encode_input, prepare

    needles = {str(seed): "the grader's seed"}
    checks = load_checks(course)
    for gid in test_points(release):
        ctx = prepare(checks, gid, seed)
        for case in ctx.cases:
            if not case.hidden:
                continue
            for call in case.calls:
                for v in _walk_values(list(call.args) + list(call.kwargs.values())):
                    if isinstance(v, np.ndarray):
                        blob = _encode_input(v)["nd"][2]
                        if v.dtype.kind == "f" and v.size >= 4:     # 30 bytes of random doubles: unique
                            needles[blob[:40]] = f"hidden input array of {gid} ({case.label})"
                        elif v.size >= 10:   # small counts repeat: the whole array, at least 80 bytes
                            needles[blob.rstrip("=")[:-4]] = f"hidden input array of {gid} ({case.label})"
                    elif isinstance(v, float) and len(repr(v)) >= 12:
                        needles[repr(v)] = f"hidden input value of {gid} ({case.label})"
    release_text = json.dumps(release.dict())
    checks_text = (course / "solutions" / A / "trusted_checks.py").read_text()
    for line in checks_text.splitlines():
        s = line.strip()
        if len(s) >= 30 and s not in release_text and json.dumps(s)[1:-1] not in release_text:
            needles[s] = "a line of trusted_checks.py"
    for cell in solution_notebook().cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade"):
            hidden = set(cell.source.splitlines()) - set(strip_hidden(cell.source).splitlines())
            for line in hidden:
                s = line.strip()
                if len(s) >= 30 and not s.startswith("#"):
                    needles[s] = "a line of a hidden test"
    return needles


_B64 = re.compile(r"[A-Za-z0-9+/=]{32,}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){24,}")


def decodings(raw: str) -> dict:
    """The feedback's text in the encodings a student might use to smuggle data out."""
    text = html.unescape(raw)
    rot = codecs.encode(text, "rot13")
    out = {"plain": text, "rot13": rot}
    decoded = []
    for source in (text, rot):
        for tok in _B64.findall(source):
            tok = tok.rstrip("=")
            for cut in range(4):   # the token may start mid-quantum
                t = tok[cut:]
                t = t[: len(t) - len(t) % 4]
                with contextlib.suppress(binascii.Error, ValueError):
                    decoded.append(base64.b64decode(t).decode("latin-1"))
        for tok in _HEX.findall(source):
            with contextlib.suppress(ValueError):
                decoded.append(bytes.fromhex(tok).decode("latin-1"))
    out["base64/hex"] = "\n".join(decoded)
    return out


def find_leaks(raw: str, needles: dict) -> list[str]:
    found = []
    for enc, text in decodings(raw).items():
        for needle, what in needles.items():
            if needle in text:
                found.append(f"{what} [{enc}]: {needle[:60]!r}")
    return found


def placeholder_values(course: Path, port: int, token: str, visible: dict, fixed: dict) -> dict:
    with open("/proc/1/cmdline", "rb") as fh:
        host_init = fh.read()
    return {"@PORT@": str(port), "@TOKEN@": token, "@HOSTINIT@": repr(host_init),
            "@VISIBLE@": repr(visible), "@FIXED@": repr(fixed), "@COURSE@": repr(str(course / "nbgrader_config.py")),
            "@REPO@": repr(str(ROOT / "solutions"))}


def all_students() -> list[str]:
    return list(HONEST) + [DETECTOR] + [c.name for c in CHEATS]


def elapsed(t0: float) -> str:
    return f"{time.monotonic() - t0:.0f} s"
