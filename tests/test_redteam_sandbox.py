"""Red team, second round: the attacks on the sandbox and the grader that a student with an afternoon
found (issue "Grades right wherever the course is installed"), each written here anew and kept.

Kernel-level attacks run in a sandboxed kernel directly (``run_cells`` of ``test_sandbox``);
class-level ones grade a small class of the synthetic course with ``mixlearn-course`` and keep an
honest student in the same run as the control.  Every test fails on the grader as it was before
the fix it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

pytest.importorskip("nbgrader")
pytestmark = [pytest.mark.redteam,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

from test_sandbox import run_cells  # noqa: E402

from mixlearn.course.cli import build_parser  # noqa: E402
from tests.course_support import synth  # noqa: E402

ROOT_USER = os.geteuid() == 0


@pytest.fixture
def mine(tmp_path):
    d = tmp_path / "course" / "autograded" / "alice" / "a"
    d.mkdir(parents=True)
    (d / "data.csv").write_text("1,2\n")
    return d


# ----------------------------------------------------------------------- inside the kernel
def test_the_kernel_is_unprivileged_and_sees_nothing_of_the_graders_environment(mine, monkeypatch):
    """Attacks 2 and 3: bubblewrap's own init (pid 1) kept the grader's environment, readable at
    /proc/1/environ; as root the kernel kept uid 0 and read /etc/shadow.  And attack 1's first step:
    ptrace on pid 1."""
    secret = f"grader-secret-{time.time_ns()}"
    monkeypatch.setenv("MIXLEARN_GRADER_SECRET", secret)
    out = run_cells([
        "import os\nst = open('/proc/self/status').read()\n"
        "print(os.getuid(), os.geteuid(), st.split('CapEff:')[1].split()[0], st.split('CapBnd:')[1].split()[0])",
        "import glob\nseen = ''\n"
        "for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline') + ['/proc/self/environ']:\n"
        "    try:\n        seen += open(p, 'rb').read().decode(errors='replace')\n"
        "    except OSError:\n        pass\n"
        f"print({secret!r} in seen, 'MIXLEARN_GRADER_SECRET' in seen)",
        "try:\n    open('/etc/shadow').read(); print('read')\nexcept OSError as e:\n    print(type(e).__name__)",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.ptrace(16, 1, 0, 0), ctypes.get_errno() != 0)",   # PTRACE_ATTACH to bwrap's init
    ], mine)
    uid, euid, caps, bounding = out[0].split()
    if ROOT_USER:
        assert uid != "0" and euid != "0"
        assert bounding == "0000000000000000"
    assert caps == "0000000000000000"
    assert out[1] == "False False\n"
    if os.path.exists("/etc/shadow"):
        assert out[2] in ("PermissionError\n", "FileNotFoundError\n"), out[2]
    assert out[3] == "-1 True\n"


def test_every_writable_place_is_bounded_and_gone_with_the_kernel(mine, tmp_path):
    """Attack 5: 2.25 GiB written to the sandbox's /tmp (an unbounded tmpfs) past the memory limit.
    Attack 4 (its default-mode half): a folder tree ~1,500 levels deep stayed on the host's disk."""
    mb = 1024 ** 2
    write = ("import errno\ndef fill(path):\n    try:\n        with open(path, 'wb') as fh:\n"
             "            for _ in range(64):\n                fh.write(b'x' * 1024 ** 2)\n        return 'wrote 64 MB'\n"
             "    except OSError as e:\n        return errno.errorcode.get(e.errno, str(e))\n"
             "print(fill('/tmp/big'), fill('./big'), fill('/dev/shm/big'))")
    deep = ("import os\nhome = os.getcwd()\nfor top in (home, '/tmp'):\n    os.chdir(top)\n"
            "    for _ in range(1500):\n        os.mkdir('d'); os.chdir('d')\nos.chdir(home)\n"
            "print('deep', os.path.isdir('/'.join(['.'] + ['d'] * 1500)))")
    run_dir = ("import sys, os\nf = sys.argv[sys.argv.index('-f') + 1]\n"
               "try:\n    os.mkdir(os.path.join(os.path.dirname(f), 'mine')); print('made a folder')\n"
               "except OSError as e:\n    print(type(e).__name__)")
    before = set(os.listdir(tmp_path))
    out = run_cells([write, deep, run_dir], mine, disk=16 * mb)
    assert out[0] == "ENOSPC ENOSPC ENOSPC\n", out[0]
    assert out[1] == "deep True\n", out[1]
    if ROOT_USER:   # the run folder (the sockets) closes once the kernel has made them
        assert out[2] == "PermissionError\n", out[2]
    assert set(os.listdir(tmp_path)) == before
    assert sorted(os.listdir(mine)) == ["data.csv"]


def test_prefork_is_gone():
    """Attacks 1, 4 (socket), 5 (unlimited process) and 7 were --prefork's shared sandbox: removed."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["autograde", "04_em_n", "--prefork"])


# ----------------------------------------------------------------------- a class of the toy course
@pytest.fixture
def course(tmp_path):
    (tmp_path / "tmp").mkdir()
    return synth.course_folder(tmp_path / "course")


def _cli(course, *args):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["TMPDIR"] = str(course.parent / "tmp")   # what the grader leaves behind is visible here
    return subprocess.run([sys.executable, "-m", "mixlearn.course", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)


def _submit(course, student, square=synth.GOOD_SQUARE, mean=synth.GOOD_MEAN):
    synth.write_submission(str(course), student, synth._fill(synth.source_notebook(), square, mean, "Because."))


def test_hostile_outputs_and_trees_cost_only_their_own_submission(course):
    """Attack 6: 200 MB of single-line output kept whole (nbgrader's LimitOutput counts lines).
    Attack 4: a 1,500-level tree in the working folder.  Attack 7: escape codes in a failure reason
    reached the instructor's terminal."""
    flood = "print('x' * 30_000_000)\n" + synth.GOOD_SQUARE
    deep = ("import os\nhome = os.getcwd()\nfor _ in range(1500):\n    os.mkdir('d'); os.chdir('d')\n"
            "os.chdir(home)\n" + synth.GOOD_SQUARE)
    escape = "raise MemoryError('\\x1b[2J\\x1b[31mgrading complete: all passed\\x07')\n" + synth.GOOD_SQUARE
    _submit(course, "a_honest")
    _submit(course, "b_flood", flood)
    _submit(course, "c_deep", deep)
    _submit(course, "d_escape", escape)
    _submit(course, "e_honest")
    run = _cli(course, "autograde", synth.ASSIGNMENT, "--jobs", "1", "--no-progress")
    snap = synth.gradebook_snapshot(str(course))
    for s in ("a_honest", "e_honest", "b_flood", "c_deep"):
        assert snap[s]["score"] == 6.0, (s, snap.get(s), run.stderr[-2000:])
    graded = course / "autograded" / "b_flood" / synth.ASSIGNMENT / "toy.ipynb"
    assert graded.stat().st_size < 4 * 1024 ** 2
    assert "[output cut by the grader" in graded.read_text()
    assert run.returncode == 1 and "d_escape" in run.stderr       # the MemoryError fails it, alone
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stderr
    assert "\\x1b[2J" in run.stderr
    leftovers = [n for n in os.listdir(course.parent / "tmp") if not n.startswith("mixlearn-student-edition")]
    assert leftovers == [], leftovers


def test_collect_takes_a_folder_named_timestamp_txt(course, tmp_path):
    """Attack 8: a student folder holding a folder named timestamp.txt stopped collect half-way."""
    drop = tmp_path / "download"
    for student in ("ada", "bob", "cy"):
        (drop / student).mkdir(parents=True)
        nbformat.write(synth.source_notebook(), str(drop / student / "toy.ipynb"))
    (drop / "bob" / "timestamp.txt").mkdir()
    (drop / "bob" / "timestamp.txt" / "x.txt").write_text("2020-01-01 00:00:00")
    times = tmp_path / "times.csv"
    times.write_text("ada,2026-11-28 15:00:00 UTC\nbob,2026-11-28 16:00:00 UTC\ncy,2026-11-28 17:00:00 UTC\n")
    run = _cli(course, "collect", synth.ASSIGNMENT, str(drop), "--timestamps", str(times))
    assert run.returncode == 0, run.stderr
    sub = course / "submitted"
    assert sorted(os.listdir(sub)) == ["ada", "bob", "cy"]
    stamp = sub / "bob" / synth.ASSIGNMENT / "timestamp.txt"
    assert stamp.is_file() and stamp.read_text() == "2026-11-28 16:00:00 UTC"
    assert not [n for n in os.listdir(sub / "bob") if n.startswith(".")]


def test_grades_do_not_depend_on_the_load(course):
    """A cell that needs a second of CPU passes whether the machine is idle or runs six busy
    processes on its cores (the per-cell limit counts CPU seconds; the wall clock only at 5x), and
    an endless loop fails in both."""
    burn = ("import time\nt0 = time.process_time()\nwhile time.process_time() - t0 < 1.5:\n    pass\n"
            + synth.GOOD_SQUARE)
    course.joinpath("nbgrader_config.py").write_text(synth.CONFIG.format(timeout=3))
    _submit(course, "a_burn", burn)
    _submit(course, "b_loop", synth.GOOD_SQUARE, "while True:\n    pass")
    _submit(course, "c_honest")
    loaded = course.parent / "loaded"
    shutil.copytree(course, loaded)
    (loaded.parent / "tmp").mkdir(exist_ok=True)
    idle = _cli(course, "autograde", synth.ASSIGNMENT, "--jobs", "2", "--no-progress")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(6)]
    try:
        busy = _cli(loaded, "autograde", synth.ASSIGNMENT, "--jobs", "2", "--no-progress")
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    a, b = synth.gradebook_snapshot(str(course)), synth.gradebook_snapshot(str(loaded))
    assert a == b, (idle.stderr[-1500:], busy.stderr[-1500:])
    assert a["a_burn"]["score"] == 6.0 and a["c_honest"]["score"] == 6.0
    assert a["b_loop"]["score"] < 6.0
