"""``mixlearn-course collect`` takes what it can (issue "The instructor's term").

A class download with broken submissions collects the valid ones and lists the others with their
reasons (exit 1); browser renames (``toy (1).ipynb``) and Canvas / Moodle bulk downloads map to
students (through ``--roster``); options are checked before anything is copied (exit 2); messages
name paths inside the download, never the tool's working folders.  No kernel runs here.
"""

from __future__ import annotations

import os
import sys
import zipfile

import nbformat
import pytest

pytest.importorskip("nbgrader")

from mixlearn.course.cli import main  # noqa: E402
from mixlearn.course.collect import CollectResult, collect  # noqa: E402
from mixlearn.course.common import CourseError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.course_support import synth  # noqa: E402

A = synth.ASSIGNMENT


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    (root / "source" / A).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(synth.CONFIG.format(timeout=5))
    nbformat.write(synth.source_notebook(), str(root / "source" / A / "toy.ipynb"))
    return root


def _nb(text="x = 1"):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]))


def _submitted(root, student, name="toy.ipynb"):
    return root / "submitted" / student / A / name


def _cli(course, *args, capsys):
    code = main(["collect", A, *map(str, args), "--course", str(course)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _class(inbox):
    """One fine student, one with invalid JSON, one without a notebook, one with a browser rename."""
    for name, text in {"fine/toy.ipynb": _nb("fine = 1"),
                       "broken/toy.ipynb": '{"cells": [ this is not json',
                       "empty/notes.txt": "I forgot to upload",
                       "renamed/toy.ipynb": _nb("first = 1"),
                       "renamed/toy (1).ipynb": _nb("second = 2"),
                       "renamed/data.csv": "1,2\n"}.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return inbox


# ----------------------------------------------------------------------- take what it can
def test_a_class_with_broken_submissions_collects_the_valid_ones(course, tmp_path, capsys):
    inbox = _class(tmp_path / "download")
    code, out, err = _cli(course, inbox, capsys=capsys)
    assert code == 1, err
    assert "collected 2 submission(s) for toy" in out
    assert sorted(os.listdir(course / "submitted")) == ["fine", "renamed"]
    assert "fine = 1" in _submitted(course, "fine").read_text()
    # the highest-numbered download is the latest: taken as toy.ipynb, the other left out
    assert "second = 2" in _submitted(course, "renamed").read_text()
    assert sorted(os.listdir(course / "submitted" / "renamed" / A)) == ["data.csv", "toy.ipynb"]
    assert "renamed: took renamed/toy (1).ipynb as toy.ipynb" in out and "left out renamed/toy.ipynb" in out
    assert "skipped 2 submission(s)" in err
    assert "broken: broken/toy.ipynb: not a notebook (invalid JSON" in err
    assert "empty: no notebook found (expected toy.ipynb)" in err
    assert "fine" not in err and ".mixlearn-course" not in out + err


def test_the_result_record_says_both(course, tmp_path):
    inbox = _class(tmp_path / "download")
    res = collect(str(course), A, str(inbox), partial=True)
    assert isinstance(res, CollectResult)
    assert res.collected == ["fine", "renamed"] and res == ["fine", "renamed"]
    assert set(res.skipped) == {"broken", "empty"} and res.exit_code == 1
    assert res.layout == "folders" and not res.warnings


def test_without_partial_nothing_is_collected_and_every_reason_is_named(course, tmp_path):
    inbox = _class(tmp_path / "download")
    with pytest.raises(CourseError) as exc:
        collect(str(course), A, str(inbox))
    assert "broken/toy.ipynb: not a notebook" in str(exc.value) and "no notebook found" in str(exc.value)
    assert not (course / "submitted").exists()


def test_an_error_inside_a_zip_names_the_path_in_the_zip(course, tmp_path, capsys):
    z = _zip(tmp_path / "class.zip", {
        "Assignment toy/fine/toy.ipynb": _nb(),
        "Assignment toy/broken/toy.ipynb": "{not json",
        "Assignment toy/stray.txt": "?",
    })
    code, out, err = _cli(course, z, capsys=capsys)
    assert code == 1
    assert "broken: Assignment toy/broken/toy.ipynb: not a notebook (invalid JSON" in err
    assert "Assignment toy/stray.txt: not a student folder or a .ipynb file" in err
    assert ".mixlearn-course" not in err and "/tmp" not in err.replace(str(z), "")
    assert _submitted(course, "fine").exists()


@pytest.mark.parametrize("names, taken, reason", [
    (("toy.ipynb", "toy (1).ipynb", "toy(2).ipynb"), "toy(2).ipynb", None),      # Chrome, then Firefox
    (("toy (1).ipynb",), "toy (1).ipynb", None),                                 # only the renamed one
    (("toy-1.ipynb", "toy.ipynb"), "toy-1.ipynb", None),                         # Canvas's rename
    (("toy (1).ipynb", "toy-1.ipynb"), None, "cannot tell which of"),            # same number
    (("toy - Copy.ipynb",), None, "unexpected notebook(s) s/toy - Copy.ipynb"),  # a copy is no download
    (("toy.ipynb", "sub/toy.ipynb"), None, "unexpected notebook(s) s/sub/toy.ipynb"),
])
def test_renamed_downloads(course, tmp_path, names, taken, reason):
    inbox = tmp_path / "download"
    for i, name in enumerate(names):
        (inbox / "s" / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / "s" / name).write_text(_nb(f"version = {i}"))
    (inbox / "other").mkdir()
    (inbox / "other" / "toy.ipynb").write_text(_nb())
    res = collect(str(course), A, str(inbox), partial=True)
    if taken:
        assert res.collected == ["other", "s"] and not res.skipped
        assert f"version = {names.index(taken)}" in _submitted(course, "s").read_text()
        assert os.listdir(course / "submitted" / "s" / A) == ["toy.ipynb"]
        assert any(n.startswith(f"s: took s/{taken} as toy.ipynb") for n in res.notes), res.notes
    else:
        assert res.collected == ["other"] and reason in res.skipped["s"], res.skipped


def test_bare_notebooks_and_their_renames(course, tmp_path):
    inbox = tmp_path / "download"
    inbox.mkdir()
    (inbox / "ada.ipynb").write_text(_nb("old = 1"))
    (inbox / "ada (1).ipynb").write_text(_nb("new = 2"))
    (inbox / "bob-1.ipynb").write_text(_nb())           # a student id that ends in -1, not a rename
    (inbox / "bad id!.ipynb").write_text(_nb())
    res = collect(str(course), A, str(inbox), partial=True)
    assert res.collected == ["ada", "bob-1"]
    assert "new = 2" in _submitted(course, "ada").read_text()
    assert "invalid student id" in res.skipped["bad id!.ipynb"]


def test_a_students_own_timestamp_is_left_out_and_times_come_from_the_csv(course, tmp_path):
    inbox = tmp_path / "download"
    (inbox / "ada").mkdir(parents=True)
    (inbox / "ada" / "toy.ipynb").write_text(_nb())
    (inbox / "ada" / "timestamp.txt").write_text("2020-01-01 00:00:00 UTC")
    times = tmp_path / "times.csv"
    times.write_text("student,time\nada,2026-11-28 15:00:00 UTC\n")
    res = collect(str(course), A, str(inbox), timestamps=str(times), partial=True)
    assert _submitted(course, "ada", "timestamp.txt").read_text() == "2026-11-28 15:00:00 UTC"
    assert any("left out ada/timestamp.txt" in n for n in res.notes)


def test_existing_submissions_still_need_force(course, tmp_path, capsys):
    inbox = _class(tmp_path / "download")
    assert _cli(course, inbox, capsys=capsys)[0] == 1
    (inbox / "fine" / "toy.ipynb").write_text(_nb("fine = 2"))
    code, _, err = _cli(course, inbox, capsys=capsys)
    assert code == 2 and "already exist" in err and "--force" in err
    assert "fine = 1" in _submitted(course, "fine").read_text()
    assert _cli(course, inbox, "--force", capsys=capsys)[0] == 1
    assert "fine = 2" in _submitted(course, "fine").read_text()


# ----------------------------------------------------------------------- Canvas and Moodle
ROSTER = ("student,name,email,canvas_id,moodle_id\n"
          "ada,Ada Lovelace,ada@uni.example,101,5001\n"
          "grace,Grace Hopper,grace@uni.example,102,\n"
          "cy,Cy Young,cy@uni.example,104,5004\n")


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def _canvas_zip(tmp_path):
    return _zip(tmp_path / "submissions.zip", {
        "lovelaceada_101_9001_toy.ipynb": _nb("ada = 1"),
        "hoppergrace_late_102_9002_toy (1).ipynb": _nb("grace = 2"),
        "hoppergrace_late_102_9003_data.csv": "1,2\n",
        "hoppergrace_late_102_9004_timestamp.txt": "2020-01-01 00:00:00 UTC",
        "turingalan_103_9005_toy.ipynb": _nb("alan = 3"),          # not in the roster
        "youngcy_LATE_104_9006_toy.zip": "PK",                     # a zip, no notebook
    })


def test_a_canvas_download_maps_through_the_roster(course, tmp_path, roster, capsys):
    z = _canvas_zip(tmp_path)
    code, out, err = _cli(course, z, "--roster", roster, capsys=capsys)
    assert code == 1, err
    assert "collected 2 submission(s) for toy (Canvas download)" in out
    assert "ada = 1" in _submitted(course, "ada").read_text()
    assert "grace = 2" in _submitted(course, "grace").read_text()
    assert sorted(os.listdir(course / "submitted" / "grace" / A)) == ["data.csv", "toy.ipynb"]
    assert "turingalan_103_9005_toy.ipynb: Canvas user 103 (turingalan) is not in the roster" in err
    assert "cy: no notebook found (expected toy.ipynb) (a zip inside a submission is not unpacked)" in err
    # late in Canvas's eyes, but no times: say that no late penalty follows
    assert "warning: Canvas marks 1 submission(s) late (grace)" in err and "--timestamps" in err


def test_a_late_canvas_submission_with_times(course, tmp_path, roster):
    times = tmp_path / "times.csv"
    times.write_text("ada,2026-11-28 15:00:00 UTC\ngrace,2026-11-29 15:00:00 UTC\n")
    res = collect(str(course), A, str(_canvas_zip(tmp_path)), roster=str(roster), timestamps=str(times),
                  partial=True)
    assert res.layout == "canvas" and res.collected == ["ada", "grace"]
    assert "grace: Canvas marks this submission late; its time in --timestamps decides the penalty" in res.notes
    assert _submitted(course, "grace", "timestamp.txt").read_text() == "2026-11-29 15:00:00 UTC"


def test_a_canvas_download_without_a_roster_is_refused(course, tmp_path, capsys):
    code, out, err = _cli(course, _canvas_zip(tmp_path), capsys=capsys)
    assert code == 2 and not (course / "submitted").exists()
    assert "is a Canvas download" in err and "--roster is needed" in err and "canvas_id" in err


def test_a_moodle_download_maps_by_participant_id_or_unique_name(course, tmp_path, roster, capsys):
    z = _zip(tmp_path / "moodle.zip", {
        "Ada Lovelace_5001_assignsubmission_file_/toy.ipynb": _nb("ada = 1"),
        "Ada Lovelace_5001_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>",
        "Grace Hopper_7002_assignsubmission_file_/toy (1).ipynb": _nb("grace = 2"),   # matched by name
        "Grace Hopper_7002_assignsubmission_file_/data/points.csv": "1,2\n",
        "Alan Turing_7003_assignsubmission_file_/toy.ipynb": _nb(),                   # not in the roster
    })
    code, out, err = _cli(course, z, "--roster", roster, capsys=capsys)
    assert code == 1, err
    assert "collected 2 submission(s) for toy (Moodle download)" in out
    assert "ada = 1" in _submitted(course, "ada").read_text()
    assert "grace = 2" in _submitted(course, "grace").read_text()
    assert (course / "submitted" / "grace" / A / "data" / "points.csv").exists()
    assert not (course / "submitted" / "ada" / A / "onlinetext.html").exists()
    assert "grace: matched Grace Hopper_7002_assignsubmission_file_ to grace by the name 'Grace Hopper'" in out
    assert ("Alan Turing_7003_assignsubmission_file_: Moodle participant 7003 (Alan Turing) is not in the roster"
            in err)


def test_a_flat_moodle_download(course, tmp_path, roster):
    inbox = tmp_path / "moodle"
    inbox.mkdir()
    (inbox / "Ada Lovelace_5001_assignsubmission_file_toy.ipynb").write_text(_nb("ada = 1"))
    (inbox / "Cy Young_5004_assignsubmission_file_toy.ipynb").write_text("{broken")
    res = collect(str(course), A, str(inbox), roster=str(roster), layout="moodle", partial=True)
    assert res.collected == ["ada"]
    assert res.skipped["cy"].startswith("Cy Young_5004_assignsubmission_file_toy.ipynb: not a notebook")


def test_folders_with_a_roster_skip_unknown_students(course, tmp_path, roster):
    inbox = tmp_path / "download"
    for s in ("ada", "mallory"):
        (inbox / s).mkdir(parents=True)
        (inbox / s / "toy.ipynb").write_text(_nb())
    res = collect(str(course), A, str(inbox), roster=str(roster), partial=True)
    assert res.collected == ["ada"] and "'mallory' is not in the roster" in res.skipped["mallory"]


# ----------------------------------------------------------------------- options checked first
@pytest.mark.parametrize("text, message", [
    (None, "no such file"),
    ("name,canvas_id\nAda,101\n", "has no 'student' column"),
    ("student,canvas_id\nada,101\nada,102\n", "student 'ada' appears twice"),
    ("student,canvas_id\nada,101\nbob,101\n", "canvas_id '101' is also on line 2"),
    ("student,canvas_id\nbad id,101\n", "is not a student id nbgrader can take"),
])
def test_roster_errors_name_the_option(course, tmp_path, capsys, text, message):
    path = tmp_path / "r.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CourseError, match="--roster") as exc:
        collect(str(course), A, str(_canvas_zip(tmp_path)), roster=str(path), partial=True)
    assert message in str(exc.value)
    code, _, err = _cli(course, _canvas_zip(tmp_path), "--roster", path, capsys=capsys)
    assert code == 2 and "--roster" in err and message in err
    assert not (course / "submitted").exists()


def test_a_roster_without_the_platforms_ids(course, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("student,email\nada,ada@uni.example\n")
    with pytest.raises(CourseError, match="--roster .* has no canvas_id values"):
        collect(str(course), A, str(_canvas_zip(tmp_path)), roster=str(path), partial=True)


def test_format_and_path_errors(course, tmp_path, capsys):
    with pytest.raises(CourseError, match="--format 'blackboard'"):
        collect(str(course), A, str(tmp_path), layout="blackboard")
    code, _, err = _cli(course, tmp_path / "nowhere.zip", capsys=capsys)
    assert code == 2 and "does not exist" in err
    (tmp_path / "not.zip").write_text("hello")
    code, _, err = _cli(course, tmp_path / "not.zip", capsys=capsys)
    assert code == 2 and "neither a folder nor a zip file" in err
    inbox = _class(tmp_path / "download")
    code, _, err = _cli(course, inbox, "--timestamps", tmp_path / "times.csv", capsys=capsys)
    assert code == 2 and "--timestamps" in err and "no such file" in err
    (tmp_path / "times.csv").write_text("fine,2026-11-28 15:00:00 UTC\n")     # no time for renamed
    code, _, err = _cli(course, inbox, "--timestamps", tmp_path / "times.csv", capsys=capsys)
    assert code == 2 and "has no time for 1 student(s): renamed" in err     # broken, empty need none
    assert not (course / "submitted").exists()


# ----------------------------------------------------------------------- the due date
def test_timestamps_without_a_due_date_warn(course, tmp_path, capsys):
    inbox = tmp_path / "download"
    (inbox / "ada").mkdir(parents=True)
    (inbox / "ada" / "toy.ipynb").write_text(_nb())
    times = tmp_path / "times.csv"
    times.write_text("ada,2026-11-28 15:00:00 UTC\n")
    code, out, err = _cli(course, inbox, "--timestamps", times, capsys=capsys)
    assert code == 0, err
    assert "warning: --timestamps: assignment toy has no due date in the gradebook, so no submission can be late" in err
    assert "nbgrader db assignment add toy --duedate=" in err
    assert not (course / "gradebook.db").exists()        # looking did not create a gradebook

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="synthetic") as gb:
        gb.update_or_create_assignment(A, duedate="2026-11-27 00:00:00 UTC")
    code, out, err = _cli(course, inbox, "--timestamps", times, "--force", capsys=capsys)
    assert code == 0 and "due date" not in err
