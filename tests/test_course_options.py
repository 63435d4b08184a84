"""Every option of autograde checked before work starts, with a message naming the option, the value
and the fix; the limits' defaults in one place; report before any grading creates nothing."""

from __future__ import annotations

import dataclasses
import os

import pytest

pytest.importorskip("nbgrader")

from mixlearn.course import kernel, options  # noqa: E402
from mixlearn.course.cli import build_parser, main  # noqa: E402
from mixlearn.course.common import CourseError  # noqa: E402
from mixlearn.course.limits import CELL_TIMEOUT, Limits, format_size, parse_size  # noqa: E402
from tests.course_support import synth  # noqa: E402


@pytest.fixture
def course(tmp_path):
    return synth.course_folder(tmp_path / "course")


@pytest.mark.parametrize("args, words", [
    (["--memory", "lots"], ["--memory 'lots'", "2G"]),
    (["--disk", "0"], ["--disk", "above 0"]),
    (["--jobs", "0"], ["--jobs 0", "1 or more"]),
    (["--cpu", "-1"], ["--cpu -1.0", "CPU seconds"]),
    (["--cell-timeout", "0"], ["--cell-timeout 0", "above 0"]),
    (["--wall", "-5"], ["--wall -5.0"]),
    (["--max-procs", "-1"], ["--max-procs -1"]),
    (["--threads", "-2"], ["--threads -2"]),
    (["--scheduler", "nowhere"], ["--scheduler 'nowhere'", "tcp://"]),
    (["--student", "nobody*"], ["--student 'nobody*'", "matches no submission"]),
])
def test_bad_options_stop_before_any_work_with_the_fix(course, capsys, monkeypatch, args, words):
    from mixlearn.course import sandbox, worker

    def started(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(sandbox, "check_sandbox_works", started)
    monkeypatch.setattr(worker, "check_sandbox", started)
    if "--student" in args:   # a valid class, so that only the pattern is wrong
        synth.write_submission(str(course), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
        monkeypatch.setattr(worker, "check_sandbox", lambda *a, **k: None)
    code = main(["autograde", synth.ASSIGNMENT, "--course", str(course), "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    for w in words:
        assert w in err, err
    assert "Traceback" not in err and ".mixlearn-course" not in err
    assert not (course / "gradebook.db").exists() or "--student" in args


def test_limit_defaults_live_in_one_place():
    lim = Limits()
    args = build_parser().parse_args(["autograde", "a"])
    assert parse_size(args.memory) == lim.memory and parse_size(args.disk) == lim.disk
    assert (args.cpu, args.wall, args.max_procs, args.threads, args.cell_timeout) == (
        lim.cpu, lim.wall, lim.nproc, lim.threads, lim.cell_timeout)
    km = kernel.SandboxedKernelManager
    assert (km.memory.default_value, km.disk.default_value, km.cpu.default_value, km.nproc.default_value,
            km.threads.default_value) == (lim.memory, lim.disk, lim.cpu, lim.nproc, lim.threads)
    assert options.from_args(args).limits == lim
    config = open(os.path.join(os.path.dirname(__file__), "..", "nbgrader_config.py")).read()
    assert "c.Execute.timeout = CELL_TIMEOUT" in config and CELL_TIMEOUT > 0
    assert "SandboxedKernelManager.memory =" not in config.replace("#     c.SandboxedKernelManager.memory", "")
    assert format_size(lim.memory) == "2G" and parse_size(format_size(3 * 1024 ** 2 + 1)) == 3 * 1024 ** 2 + 1


def test_the_options_record_validates_itself():
    with pytest.raises(CourseError, match="--jobs"):
        options.AutogradeOptions(jobs=0)
    ok = options.AutogradeOptions(jobs=3)
    with pytest.raises(CourseError, match="--disk"):
        dataclasses.replace(ok, limits=dataclasses.replace(Limits(), disk=0))


def test_report_before_grading_says_what_to_do_and_creates_nothing(course, capsys):
    code = main(["report", synth.ASSIGNMENT, "--course", str(course)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"mixlearn-course autograde {synth.ASSIGNMENT}" in err and "generate_assignment" not in err
    assert not (course / "gradebook.db").exists()
