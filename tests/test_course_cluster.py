"""Grading on a Dask cluster into a PostgreSQL gradebook, against nbgrader's serial autograde.

Real components, started here: a PostgreSQL server from Debian's ``postgresql`` package on a
unix socket in a private folder (no TCP), and ``dask scheduler`` with two ``dask worker``
processes on 127.0.0.1, each in its own folder outside the course.  The synthetic class of
``test_course_class`` (40 submissions: correct, wrong, stubs, hostile) is graded once by plain
``nbgrader autograde`` into SQLite (the oracle; the two submissions unsafe without limits are
left out) and once by ``mixlearn-course autograde --scheduler ... --db postgresql://...``.

Outside CI the module is skipped when PostgreSQL, Dask, psycopg or bubblewrap are missing; in CI
(``CI=true``) it fails instead.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mixlearn.course.limits import descendants  # noqa: E402
from tests.course_support import services, synth  # noqa: E402


def _missing() -> str | None:
    for mod, extra in (("nbgrader", "course"), ("tqdm", "course"), ("distributed", "distributed"),
                       ("psycopg", "distributed")):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install mixlearn[{extra}])"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    return services.postgres_missing()


MISSING = _missing()
if MISSING:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the cluster tests cannot run in CI: {MISSING}", pytrace=False)
    pytest.skip(MISSING, allow_module_level=True)

N_ORDINARY, UNSAFE = synth.N_ORDINARY, set(synth.UNSAFE)
NBGRADER_FAILS = {"x_invalid_json", "x_kernel_killer"}
TABLES = ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")


def course_cli(root, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "mixlearn.course", *args], cwd=root, env=services._env(),
                          capture_output=True, text=True, timeout=timeout)


def course_popen(root, *args):
    return subprocess.Popen([sys.executable, "-m", "mixlearn.course", *args], cwd=root, env=services._env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def row_counts(url):
    """Rows of the student-data tables, counted with SQLAlchemy (not nbgrader)."""
    from sqlalchemy import create_engine, inspect, text

    from mixlearn.course.common import normalize_db_url

    engine = create_engine(normalize_db_url(url))
    try:
        with engine.connect() as con:
            if "student" not in inspect(con).get_table_names():
                return None
            return {t: con.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
    finally:
        engine.dispose()


def snapshot(url):
    from mixlearn.course.common import normalize_db_url

    return synth.gradebook_snapshot(None, url=normalize_db_url(url))


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def expected_counts(n):
    return {"student": n, "submitted_assignment": n, "submitted_notebook": n, "grade": n * 4, "comment": n * 3}


def record_assignment(root, url):
    """The instructor's step: record the assignment in the PostgreSQL gradebook with nbgrader."""
    proc = synth.run_nbgrader(root, "generate_assignment", synth.ASSIGNMENT, "--force",
                              f"--CourseDirectory.db_url={url}", check=False)
    assert proc.returncode == 0, proc.stderr


def failure_lines(stderr):
    summary = stderr[stderr.index("Failed submissions"):]
    return {m.group(1): m.group(2) for m in re.finditer(r"^  (\S+): (.*)$", summary, re.M)}


@pytest.fixture(scope="module")
def pg():
    server = services.PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster():
    c = services.DaskCluster().start(2)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def courses(synthetic_class, pg, cluster):
    base, kinds = synthetic_class["base"], synthetic_class["kinds"]
    dist = synth.copy_course(base, base + "-cluster")
    url = pg.createdb("course_main")
    record_assignment(dist, url)
    t0 = time.monotonic()
    run = course_cli(dist, "autograde", synth.ASSIGNMENT, "--db", url, "--scheduler", cluster.address,
                     "--no-progress")
    t_cluster = time.monotonic() - t0
    print(f"\nserial nbgrader: {synthetic_class['t_serial']:.1f} s for {len(kinds) - 2}; "
          f"mixlearn-course on 2 Dask workers: {t_cluster:.1f} s for {len(kinds)}\n{run.stderr[-600:]}")
    return {"base": base, "serial": synthetic_class["serial"], "cluster": dist, "url": url, "kinds": kinds,
            "run": run}


def test_cluster_grades_into_postgres_equal_serial_nbgrader(courses):
    run = courses["run"]
    assert run.returncode == 1, run.stderr  # the four hostile submissions fail, alone
    ordinary = {s for s, k in courses["kinds"].items() if s.startswith("s")}
    serial = synth.gradebook_snapshot(courses["serial"])
    graded = snapshot(courses["url"])
    assert set(graded) == ordinary
    for s in sorted(ordinary):
        assert graded[s] == serial[s], s  # every cell: auto score, needs-manual flag, comments, late penalty
    scores = {graded[s]["score"] for s in ordinary}
    assert 0.0 in scores and 6.0 in scores and len(scores) >= 4
    assert row_counts(courses["url"]) == expected_counts(len(ordinary))
    # the limits hold on the Dask workers too, and failures reach neither gradebook nor autograded/
    lines = failure_lines(run.stderr)
    assert set(lines) == UNSAFE | NBGRADER_FAILS
    assert "memory limit exceeded" in lines["z_memory_hog"]
    assert "process limit exceeded" in lines["z_fork_bomb"]
    assert lines["x_invalid_json"].startswith("invalid notebook")
    assert "kernel" in lines["x_kernel_killer"]
    root = courses["cluster"]
    assert sorted(os.listdir(os.path.join(root, "autograded"))) == sorted(ordinary)
    # the course's own SQLite gradebook was not written: the grades went to PostgreSQL only
    assert row_counts("sqlite:///" + os.path.join(root, "gradebook.db")) == dict.fromkeys(TABLES, 0)
    assert re.search(r"coordinator per submission: shipping [\d.]+ ms, storing [\d.]+ ms \(2 worker", run.stderr)


def test_autograded_notebooks_came_back_from_the_workers(courses):
    import nbformat

    from mixlearn.course.trusted import is_test_cell

    for s in sorted(s for s in courses["kinds"] if s.startswith("s"))[:8]:
        a, b = (nbformat.read(os.path.join(root, "autograded", s, synth.ASSIGNMENT, synth.NOTEBOOK + ".ipynb"),
                              as_version=4) for root in (courses["serial"], courses["cluster"]))
        assert [c.source for c in a.cells] == [c.source for c in b.cells]
        assert [any(o["output_type"] == "error" for o in c.outputs) for c in a.cells if is_test_cell(c)] == \
            [any(o["output_type"] == "error" for o in c.outputs) for c in b.cells if is_test_cell(c)], s
        assert all(len(c.outputs) == 1 for c in b.cells if is_test_cell(c))  # the trusted verdict only


def test_second_run_grades_nothing_new(courses, cluster):
    url = courses["url"]
    before, snap = row_counts(url), snapshot(url)
    run = course_cli(courses["cluster"], "autograde", synth.ASSIGNMENT, "--db", url, "--scheduler", cluster.address,
                     "--student", "s*", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"{N_ORDINARY} submission(s) already autograded" in run.stderr
    assert row_counts(url) == before and snapshot(url) == snap


def test_nbgrader_export_reads_postgres(courses):
    root, url = courses["cluster"], courses["url"]
    proc = synth.run_nbgrader(root, "export", "--to", "grades.csv", f"--CourseDirectory.db_url={url}", check=False)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(root, "grades.csv")) as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == synth.ASSIGNMENT}
    snap = snapshot(url)
    assert set(rows) == set(snap)
    for s, rec in snap.items():
        assert float(rows[s]["raw_score"]) == rec["score"]


def test_report_reads_postgres(courses):
    root, url = courses["cluster"], courses["url"]
    run = course_cli(root, "report", synth.ASSIGNMENT, "--db", url)
    assert run.returncode == 0, run.stderr
    with open(os.path.join(root, "reports", synth.ASSIGNMENT, "scores.csv")) as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    snap = snapshot(url)
    assert set(rows) == set(courses["kinds"])
    for s, rec in snap.items():
        assert rows[s]["status"] == "graded" and float(rows[s]["score"]) == rec["score"]
    for s in UNSAFE | NBGRADER_FAILS:
        assert rows[s]["status"] == "failed" and rows[s]["reason"]


def test_killed_worker_and_interrupted_coordinator_lose_and_duplicate_nothing(courses, pg, cluster, tmp_path):
    """SIGINT the coordinator, re-run, SIGKILL a Dask worker mid-task and start a replacement."""
    students = sorted(s for s in courses["kinds"] if s.startswith("s"))[:10]
    root = synth.copy_course(courses["base"], str(tmp_path / "killed"),
                             exclude_students=tuple(s for s in courses["kinds"] if s not in students))
    url = pg.createdb("course_killed")
    record_assignment(root, url)

    def graded():
        counts = row_counts(url)
        return counts["submitted_assignment"] if counts else 0

    # 1. the coordinator is interrupted once two submissions are stored
    proc = course_popen(root, "autograde", synth.ASSIGNMENT, "--db", url, "--scheduler", cluster.address)
    deadline = time.monotonic() + 300
    while graded() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Interrupted by SIGINT" in err
    first = graded()
    assert 2 <= first < len(students)

    # 2. the re-run grades only what is missing; one worker dies with SIGKILL while grading
    proc = course_popen(root, "autograde", synth.ASSIGNMENT, "--db", url, "--scheduler", cluster.address,
                        "--no-progress")
    victim = cluster.workers[0]
    deadline = time.monotonic() + 300
    while not (graded() >= first + 2 and services.has_descendant(victim.pid, r"^\S*python\S* -m ipykernel_launcher")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a worker could be killed"
        time.sleep(0.05)
    doomed = descendants(victim.pid)
    cluster.kill_worker(victim)  # mid-task: a kernel of that worker was running
    cluster.add_worker()
    # every process of the dead worker dies with it: its grading process, sandbox and kernel
    deadline = time.monotonic() + 30
    while any(alive(p) for p in doomed) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [p for p in doomed if alive(p)] == []
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    m = re.search(r"(\d+) submission\(s\) already autograded", err)
    assert m and int(m.group(1)) == first
    assert row_counts(url) == expected_counts(len(students))
    serial = synth.gradebook_snapshot(courses["serial"])
    assert snapshot(url) == {s: serial[s] for s in students}
    assert sorted(os.listdir(os.path.join(root, "autograded"))) == students
    assert [d for d in os.listdir(os.path.join(root, ".mixlearn-course")) if d.startswith("run-")] == []


def test_bad_input_fails_at_once_naming_the_fix(courses, pg, cluster, tmp_path):
    root = synth.copy_course(courses["base"], str(tmp_path / "bad"),
                             exclude_students=tuple(s for s in courses["kinds"] if s != "s000_correct"))
    url = pg.createdb("course_bad")
    record_assignment(root, url)

    def nothing_graded():
        assert not os.path.exists(os.path.join(root, "autograded"))
        assert row_counts(url) == dict.fromkeys(TABLES, 0)

    # an unreachable scheduler
    t0 = time.monotonic()
    run = course_cli(root, "autograde", synth.ASSIGNMENT, "--db", url, "--scheduler",
                     f"tcp://127.0.0.1:{services.free_port()}", "--no-progress")
    assert run.returncode == 2, run.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in run.stderr and "--scheduler" in run.stderr
    assert time.monotonic() - t0 < 120
    nothing_graded()

    # a wrong database URL: a database that does not exist on that server
    run = course_cli(root, "autograde", synth.ASSIGNMENT, "--db", pg.url("no_such_db"), "--scheduler", cluster.address,
                     "--no-progress")
    assert run.returncode == 2, run.stderr
    assert "cannot open the gradebook" in run.stderr and "no_such_db" in run.stderr and "--db" in run.stderr
    nothing_graded()

    # a database without the course: refused, and left as it was (no tables created)
    empty = pg.createdb("not_the_course")
    run = course_cli(root, "autograde", synth.ASSIGNMENT, "--scheduler", cluster.address, "--db", empty)
    assert run.returncode == 2, run.stderr
    assert "holds no nbgrader gradebook" in run.stderr and "generate_assignment" in run.stderr
    assert pg.psql("not_the_course", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").strip() == "0"
    nothing_graded()

    # a gradebook without the assignment (report and feedback need it)
    run = course_cli(root, "report", "no_such_assignment", "--db", url)
    assert run.returncode == 2 and "'no_such_assignment' is not in the gradebook" in run.stderr, run.stderr


def test_seed_gradebook_is_the_same_from_sqlite_and_postgres(courses, tmp_path):
    """make_seed copies the definitions (no student data) of any gradebook into SQLite."""
    from sqlalchemy import create_engine, text

    from mixlearn.course.common import normalize_db_url
    from mixlearn.course.gradebook import make_seed

    def definitions(path):
        engine = create_engine("sqlite:///" + path)
        with engine.connect() as con:
            out = {
                "cells": sorted(con.execute(text(
                    "SELECT bc.name, bc.type, n.name, a.name, a.course_id FROM base_cell bc "
                    "JOIN notebook n ON bc.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id"))),
                "grade_cells": sorted(con.execute(text(
                    "SELECT bc.name, g.max_score, g.cell_type FROM grade_cells g JOIN base_cell bc ON bc.id = g.id"))),
                "source_cells": sorted(con.execute(text("SELECT name, cell_type, locked, source, checksum FROM source_cell"))),
                "students": {t: con.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES},
                "alembic": con.execute(text("SELECT version_num FROM alembic_version")).scalar(),
            }
        engine.dispose()
        return out

    a, b = str(tmp_path / "from_sqlite.db"), str(tmp_path / "from_postgres.db")
    make_seed("sqlite:///" + os.path.join(courses["serial"], "gradebook.db"), a)  # holds 38 graded students
    make_seed(normalize_db_url(courses["url"]), b)                                  # holds 36
    da, db = definitions(a), definitions(b)
    assert da == db
    assert da["students"] == dict.fromkeys(TABLES, 0)
    assert {c[0] for c in da["cells"]} >= {"square", "test_square", "test_square_hidden", "test_mean", "explain"}


def test_db_url_normalisation():
    from mixlearn.course.common import CourseError, normalize_db_url

    has_psycopg2 = importlib.util.find_spec("psycopg2") is not None
    for plain in ("postgresql://u@/c?host=/run/postgresql", "postgres://u@/c?host=/run/postgresql"):
        expected = "postgresql://" if has_psycopg2 else "postgresql+psycopg://"
        assert normalize_db_url(plain) == expected + "u@/c?host=/run/postgresql"
    for kept in ("sqlite:////tmp/g.db", "postgresql+psycopg://u@/c", "mysql+pymysql://u@h/c"):
        assert normalize_db_url(kept) == kept
    with pytest.raises(CourseError, match="--db must be a database URL"):
        normalize_db_url("gradebook.db")


def test_task_archives_stay_inside_their_folder(tmp_path):
    import io
    import tarfile

    from mixlearn.course.cluster import pack, unpack

    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a.ipynb").write_text("{}")
    data = pack({"submitted/s1/toy": str(tmp_path / "src")})
    unpack(data, str(tmp_path / "out"))
    assert (tmp_path / "out" / "submitted" / "s1" / "toy" / "sub" / "a.ipynb").read_text() == "{}"

    def archive(member, payload=b"x"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            member.size = len(payload) if member.isfile() else 0
            tar.addfile(member, io.BytesIO(payload) if member.isfile() else None)
        return buf.getvalue()

    escape = tarfile.TarInfo("../escaped.txt")
    link = tarfile.TarInfo("submitted/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    for bad in (archive(escape), archive(link)):
        with pytest.raises(ValueError):
            unpack(bad, str(tmp_path / "out2"))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out2" / "submitted" / "link").exists()
