"""Fast tests of mixlearn-course pieces that need no kernel: collect, limits, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile

import nbformat
import pytest

pytest.importorskip("nbgrader")

from mixlearn.course import limits  # noqa: E402
from mixlearn.course.cli import main  # noqa: E402
from mixlearn.course.collect import collect  # noqa: E402
from mixlearn.course.common import CourseError  # noqa: E402
from mixlearn.course.kernel import LAUNCHER  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.course_support import synth  # noqa: E402


@pytest.fixture
def course(tmp_path):
    return synth.course_folder(tmp_path / "course")


def _nb(text="x = 1"):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]))


def _submitted(root, student):
    return root / "submitted" / student / synth.ASSIGNMENT / "toy.ipynb"


def test_collect_folder_layouts_and_overwrite(course, tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "alice").mkdir(parents=True)
    (inbox / "alice" / "toy.ipynb").write_text(_nb("a = 1"))
    (inbox / "alice" / "data.csv").write_text("1,2\n")
    (inbox / "alice" / ".ipynb_checkpoints").mkdir()
    (inbox / "alice" / ".ipynb_checkpoints" / "toy-checkpoint.ipynb").write_text("junk")
    (inbox / "bob.ipynb").write_text(_nb("b = 2"))
    assert collect(str(course), synth.ASSIGNMENT, str(inbox)) == ["alice", "bob"]
    assert "a = 1" in _submitted(course, "alice").read_text()
    assert (course / "submitted" / "alice" / synth.ASSIGNMENT / "data.csv").exists()
    assert not (course / "submitted" / "alice" / synth.ASSIGNMENT / ".ipynb_checkpoints").exists()
    assert "b = 2" in _submitted(course, "bob").read_text()

    (inbox / "bob.ipynb").write_text(_nb("b = 3"))
    with pytest.raises(CourseError, match="already exist.*--force"):
        collect(str(course), synth.ASSIGNMENT, str(inbox))
    assert "b = 2" in _submitted(course, "bob").read_text()  # untouched
    collect(str(course), synth.ASSIGNMENT, str(inbox), force=True)
    assert "b = 3" in _submitted(course, "bob").read_text()


def test_collect_zip_with_wrapper_folder(course, tmp_path):
    z = tmp_path / "subs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("export/carol/toy.ipynb", _nb("c = 3"))
        zf.writestr("export/dave.ipynb", _nb("d = 4"))
        zf.writestr("__MACOSX/export/._dave.ipynb", "junk")
    assert main(["collect", synth.ASSIGNMENT, str(z), "--course", str(course)]) == 0
    assert "c = 3" in _submitted(course, "carol").read_text()
    assert "d = 4" in _submitted(course, "dave").read_text()


@pytest.mark.parametrize("name, content, message", [
    ("bad id!.ipynb", None, "invalid student id"),
    ("-x.ipynb", None, "invalid student id"),
    ("erin/other.ipynb", None, "unexpected notebook"),
    ("frank/notes.txt", "hi", "no notebook found"),
    ("readme.txt", "hi", "not a student folder"),
])
def test_collect_rejects_bad_submissions(course, tmp_path, name, content, message):
    inbox = tmp_path / "inbox"
    (inbox / "ok").mkdir(parents=True)
    (inbox / "ok" / "toy.ipynb").write_text(_nb())
    path = inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if content is not None else _nb())
    with pytest.raises(CourseError, match=message):
        collect(str(course), synth.ASSIGNMENT, str(inbox))
    assert not (course / "submitted").exists()  # all or nothing


def test_collect_rejects_zip_slip(course, tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil/toy.ipynb", _nb())
    with pytest.raises(CourseError, match="unsafe path"):
        collect(str(course), synth.ASSIGNMENT, str(z))
    assert main(["collect", synth.ASSIGNMENT, str(z), "--course", str(course)]) == 2


def test_parse_size():
    assert limits.parse_size("2G") == 2 * 1024 ** 3
    assert limits.parse_size("512MiB") == 512 * 1024 ** 2
    assert limits.parse_size("1.5g") == int(1.5 * 1024 ** 3)
    assert limits.parse_size("1000") == 1000


def _launch(*opts, code):
    return subprocess.run([sys.executable, LAUNCHER, *opts, "--",
                           sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_launcher_memory_limit():
    code = ("import resource\n"
            "print(resource.getrlimit(resource.RLIMIT_AS)[0])\n"
            "try:\n    bytearray(50 * 1024 ** 3)\nexcept MemoryError:\n    print('MemoryError')\n"
            "x = bytearray(10 * 1024 ** 2)\nprint('small ok')")
    out = _launch("--as", str(1024 ** 3), code=code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(1024 ** 3), "MemoryError", "small ok"]


def test_launcher_limits_cannot_be_raised_again():
    code = ("import resource\n"
            "try:\n    resource.setrlimit(resource.RLIMIT_AS, (-1, -1))\n"
            "except (ValueError, OSError):\n    print('refused')")
    out = _launch("--as", str(1024 ** 3), code=code)
    assert out.stdout.strip() == "refused" or os.geteuid() == 0  # root may raise hard limits


def test_launcher_cpu_limit_kills_busy_loop():
    out = _launch("--cpu", "1", code="while True:\n    pass")
    assert out.returncode == -signal.SIGXCPU


def test_launcher_sets_env_and_pidfile(tmp_path):
    pidfile = tmp_path / "pid"
    out = _launch("--pidfile", str(pidfile), "--env", "OMP_NUM_THREADS=1",
                  code="import os; print(os.getpid(), os.environ['OMP_NUM_THREADS'])")
    pid, threads = out.stdout.split()
    assert pidfile.read_text() == pid and threads == "1"


def test_kill_tree_finds_detached_descendants():
    # a child that starts a grandchild in a new session, then exits: the grandchild is
    # re-parented to us (child subreaper) and kill_tree must still find and kill it
    code = ("import os, subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nprint(p.pid, flush=True)\n")
    script = (
        "import subprocess, sys, time, os\n"
        "from mixlearn.course import limits\n"
        "assert limits.set_child_subreaper()\n"
        f"out = subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, text=True)\n"
        "gc = int(out.stdout)\n"
        "time.sleep(0.2)\n"
        "assert gc in limits.descendants(os.getpid()), 'not re-parented'\n"
        "limits.kill_tree(os.getpid())\n"
        "time.sleep(0.1)\n"
        "assert gc not in limits.descendants(os.getpid())\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "ok", out.stderr


def test_core_does_not_import_course():
    out = subprocess.run([sys.executable, "-c", "import sys, mixlearn; "
                          "print([m for m in sys.modules if m.startswith(('mixlearn.course', 'nbgrader'))])"],
                         capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "[]", out.stderr


def test_cli_errors_are_clean(course):
    assert main(["autograde", synth.ASSIGNMENT, "--course", str(course), "--no-progress"]) == 2


def _env(path=None) -> dict:
    env = dict(os.environ)
    env["PATH"] = path if path is not None else os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return env


def _cli(course, *args, path=None):
    return subprocess.run([sys.executable, "-m", "mixlearn.course", *args], cwd=course, env=_env(path),
                          capture_output=True, text=True, timeout=300)


def test_autograde_fresh_course_one_job(course):
    """No gradebook yet: autograde records the assignment from the source folder first
    (without touching the release folder), then grades with a single worker."""
    synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--jobs", "1", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "recording assignment 'toy' in the gradebook" in run.stderr
    assert not (course / "release").exists()
    snap = synth.gradebook_snapshot(str(course))
    assert snap["alice"]["score"] == 6.0
    grades = snap["alice"]["notebooks"]["toy"]["grades"]
    assert grades["explain"][0] is None and grades["explain"][2] is True  # left for a human


def test_autograde_refuses_without_bubblewrap_and_says_how_to_install_it(course):
    synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress", path=os.path.dirname(sys.executable))
    assert run.returncode == 2
    assert "apt-get install bubblewrap" in run.stderr and "--no-sandbox" in run.stderr
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


def test_autograde_refuses_a_kernel_that_is_not_installed_before_grading(course):
    src = course / "source" / synth.ASSIGNMENT / "toy.ipynb"
    nb = nbformat.read(str(src), as_version=4)
    nb.metadata["kernelspec"]["name"] = "no-such-kernel"
    nbformat.write(nb, str(src))
    synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress")
    assert run.returncode == 2, run.stderr
    assert "'no-such-kernel'" in run.stderr and "jupyter kernelspec list" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (course / "autograded").exists()


def test_no_sandbox_says_what_it_gives_up_and_still_judges_outside(course):
    synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    synth.write_submission(str(course), "bob", synth.VARIANTS["wrong_int"](synth.source_notebook()))
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress", "--no-sandbox", "--jobs", "1")
    assert run.returncode == 0, run.stderr
    assert "WARNING: --no-sandbox" in run.stderr and "unconfined" in run.stderr
    snap = synth.gradebook_snapshot(str(course))
    assert snap["alice"]["score"] == 6.0 and snap["bob"]["score"] == 5.0


def test_hidden_seeds_are_the_graders_and_a_regrade_reuses_them(course):
    synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    synth.write_submission(str(course), "bob", synth.VARIANTS["wrong_abs"](synth.source_notebook()))
    assert _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress").returncode == 0
    seeds_file = course / ".mixlearn-course" / synth.ASSIGNMENT / "seeds.json"
    seeds = json.loads(seeds_file.read_text())
    assert set(seeds) == {"alice", "bob"} and seeds["alice"] != seeds["bob"]
    assert oct(seeds_file.stat().st_mode & 0o777) == "0o600"
    first = synth.gradebook_snapshot(str(course))
    assert _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress", "--force").returncode == 0
    assert json.loads(seeds_file.read_text()) == seeds
    assert synth.gradebook_snapshot(str(course)) == first
    # the seed never reaches the submission's outputs or the autograded notebook
    for s in ("alice", "bob"):
        text = (course / "autograded" / s / synth.ASSIGNMENT / "toy.ipynb").read_text()
        assert str(seeds[s]) not in text


PLANT = """import os, subprocess
open('/tmp/planted', 'w').write('from alice')
open('/dev/shm/planted', 'w').write('from alice')
open('planted.txt', 'w').write('from alice')
subprocess.Popen(['sleep', '300'], start_new_session=True)
""" + synth.GOOD_SQUARE

LOOK = """import os
seen = sorted(os.listdir('/tmp')) + sorted(os.listdir('/dev/shm')) + sorted(os.listdir('.'))
procs = sorted(open(f'/proc/{p}/comm').read().strip() for p in os.listdir('/proc') if p.isdigit())
print('SEEN', seen, 'PROCS', procs)
""" + synth.GOOD_SQUARE


def test_one_worker_leaves_nothing_for_the_next_submission(course):
    """With one worker, alice's files and processes are gone before bob's kernel starts."""
    rel = synth.source_notebook()
    synth.write_submission(str(course), "a_alice", synth._fill(rel, PLANT, synth.GOOD_MEAN))
    synth.write_submission(str(course), "b_bob", synth._fill(rel, LOOK, synth.GOOD_MEAN))
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--no-progress", "--jobs", "1")
    assert run.returncode == 0, run.stderr
    nb = nbformat.read(str(course / "autograded" / "b_bob" / synth.ASSIGNMENT / "toy.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    line = next(ln for ln in text.splitlines() if ln.startswith("SEEN"))
    assert "planted" not in line and "sleep" not in line, line
    assert synth.gradebook_snapshot(str(course))["a_alice"]["score"] == 6.0


DESCRIPTORS = """import os, stat
held = []
for fd in range(3, 4096):   # /proc/self/fd is not listable for the sandbox's user: ask each number
    try:
        st = os.fstat(fd)
    except OSError:
        continue
    kind = 'file' if stat.S_ISREG(st.st_mode) else 'socket' if stat.S_ISSOCK(st.st_mode) else 'other'
    held.append((fd, kind, st.st_dev, st.st_ino))
print('HELD', held)
""" + synth.GOOD_SQUARE


def test_kernels_of_forked_workers_hold_no_descriptor_of_the_grader(course, tmp_path):
    """The local workers are forked from the coordinator, which holds the gradebook and the workers'
    pipes open; no kernel holds a descriptor of the coordinator's: here a file and a socket it was
    started with (inheritable, as a pipe to it would be), the gradebook, or any file of the course."""
    import socket
    import time

    rel = synth.source_notebook()
    students = ("a_census", "b_census", "c_census")
    for student in students:
        synth.write_submission(str(course), student, synth._fill(rel, DESCRIPTORS, synth.GOOD_MEAN))
    held_file = open(tmp_path / "held-by-the-grader", "w")
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "mixlearn.course", "autograde", synth.ASSIGNMENT, "--no-progress",
                             "--jobs", "2"], cwd=course, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, pass_fds=(held_file.fileno(), theirs.fileno()))
    workers = set()
    while proc.poll() is None:   # the coordinator's children: forked workers run its own command line
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                if limits.parent_of(int(pid)) == proc.pid:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        workers.add(fh.read())
            except (OSError, ValueError):
                pass
        time.sleep(0.05)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    grader = {(os.fstat(f).st_dev, os.fstat(f).st_ino) for f in (held_file.fileno(), theirs.fileno())}
    held_file.close(), ours.close(), theirs.close()
    assert any(b"mixlearn.course\0autograde" in w for w in workers), workers   # forked, not spawned
    assert not any(b"spawn_main" in w for w in workers), workers
    course_files = {(os.stat(os.path.join(d, f)).st_dev, os.stat(os.path.join(d, f)).st_ino)
                    for d, _, names in os.walk(course) for f in names}
    for student in students:
        nb = nbformat.read(str(course / "autograded" / student / synth.ASSIGNMENT / "toy.ipynb"), as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        held = eval(next(ln for ln in text.splitlines() if ln.startswith("HELD"))[5:])
        assert any(kind == "socket" for _, kind, _, _ in held), held   # the census saw the kernel's own
        assert not [h for h in held if (h[2], h[3]) in course_files | grader], held
        assert synth.gradebook_snapshot(str(course))[student]["score"] == 6.0


def test_local_workers_fork_only_from_a_single_threaded_coordinator(monkeypatch):
    """Forked workers start with the coordinator's imports, configuration and sandbox check; when another
    thread runs (a progress bar's monitor), a lock it holds would stay held in the child, so a new worker
    is spawned afresh instead."""
    from types import SimpleNamespace

    from mixlearn.course import pool
    from mixlearn.course.limits import Limits

    made = []
    monkeypatch.setattr(pool, "_Worker", lambda settings, ctx, warm=None: made.append((ctx.get_start_method(), warm)))
    monkeypatch.setattr(pool, "Warm", lambda settings, assignment: f"warm for {assignment}")
    monkeypatch.setattr(pool._limits, "set_child_subreaper", lambda: None)
    run = SimpleNamespace(settings=SimpleNamespace(limits=Limits()), assignment="toy",
                          summary=SimpleNamespace(total=5, skipped=[], workers=0))
    monkeypatch.setattr(pool.threading, "active_count", lambda: 1)
    local = pool.LocalPool(2)
    local.start(run)
    assert made == [("fork", "warm for toy")] * 2 and run.summary.workers == 2
    monkeypatch.setattr(pool.threading, "active_count", lambda: 2)
    local._add_worker()
    assert made[-1] == ("spawn", None)
    other = pool.LocalPool(1)
    other.start(run)   # a coordinator already running threads loads nothing for its workers
    assert made[-1] == ("spawn", None) and other.warm is None


def test_private_gradebooks_skip_fsync_only_below_the_work_root(tmp_path):
    """A worker's throwaway gradebooks stop waiting for the disk; any other database keeps SQLite's default."""
    from sqlalchemy import create_engine, text

    from mixlearn.course.gradebook import skip_fsync_below

    work = tmp_path / "work"
    work.mkdir()
    skip_fsync_below(str(work))

    def synchronous(path):
        engine = create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA synchronous")).scalar()
            journal = conn.execute(text("PRAGMA journal_mode")).scalar()
        engine.dispose()
        return mode, journal

    assert synchronous(work / "gradebook.db") == (0, "memory")
    assert synchronous(tmp_path / "gradebook.db") == (2, "delete")   # the real gradebook: FULL, rollback journal
