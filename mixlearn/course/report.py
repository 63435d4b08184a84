"""``report``: how the class did on one assignment, as HTML (with plots) and CSV.

All numbers are read from the course's gradebook through nbgrader's API; the list of
failed submissions comes from the autograde runs (``.mixlearn-course/<a>/failures.json``).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os

from .common import CourseError, load_nbgrader_config, read_failures, submitted_students

EPS = 1e-9


def collect_stats(root: str, assignment: str, db_url: str | None = None) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import check_gradebook
    from .grades import final_grades, refresh_late_penalties

    config, coursedir = load_nbgrader_config(root, db_url=db_url)
    url = coursedir.db_url
    nothing_yet = (f"nothing of {assignment!r} is graded yet: run `mixlearn-course autograde {assignment}` first "
                   "(it records the assignment in the gradebook itself)")
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        raise CourseError(nothing_yet)   # and no empty gradebook.db is left behind
    try:
        check_gradebook(coursedir, assignment)
    except CourseError as exc:
        if url.startswith("sqlite") and "is not in the gradebook" in str(exc):
            raise CourseError(nothing_yet) from None
        raise
    failures = read_failures(coursedir, assignment)
    on_disk = set(submitted_students(coursedir, assignment))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(nothing_yet) from None
        tests = []  # autograded test cells, in notebook order
        for nb in a.notebooks:
            cells = sorted(nb.grade_cells, key=lambda c: _cell_order(nb, c.name))
            for c in cells:
                if c.cell_type == "code":
                    tests.append({"notebook": nb.name, "cell": c.name, "max": float(c.max_score)})
        max_total = float(a.max_score)
        refresh_late_penalties(config, gb, assignment)   # due dates, extensions, manual grades since autograding
        finals = final_grades(gb, assignment, sorted(on_disk))
        manual = {}   # student -> [cells still to grade by hand]
        cells_of = {}
        for sub in gb.assignment_submissions(assignment):
            grades = {(g.notebook.name, g.name): g for nb in sub.notebooks for g in nb.grades}
            cells_of[sub.student_id] = {(t["notebook"], t["cell"]): float(grades[(t["notebook"], t["cell"])].score)
                                        for t in tests if (t["notebook"], t["cell"]) in grades}
            left = [f"{nb}/{name}" for (nb, name), g in sorted(grades.items()) if g.needs_manual_grade]
            if left:
                manual[sub.student_id] = left
    rows = {}
    for s, fg in finals.items():
        rows[s] = {"student": s, "status": fg.status, "score": fg.final, "raw_score": fg.raw,
                   "late_penalty": fg.late_penalty, "seconds_late": fg.seconds_late, "max_score": max_total,
                   "needs_manual_grade": fg.needs_manual_grade, "manual_left": manual.get(s, []),
                   "cells": cells_of.get(s, {}) if fg.status == "graded" else {},
                   "reason": {"not autograded": "submitted, not autograded yet",
                              "missing": "no submission"}.get(fg.status, "")}
    for s, info in failures.items():
        row = rows.setdefault(s, {"student": s, "score": None, "raw_score": None, "late_penalty": 0.0,
                                  "seconds_late": 0.0, "max_score": max_total, "needs_manual_grade": False,
                                  "manual_left": [], "cells": {}, "reason": ""})
        if not row.get("status", "").startswith("graded"):
            row["status"] = "failed"
        else:
            row["status"] = "graded (last regrade failed)"
        row["reason"] = info.get("reason", "")
    graded = [r for r in rows.values() if r["status"].startswith("graded")]
    for t in tests:
        key = (t["notebook"], t["cell"])
        scores = [r["cells"][key] for r in graded if key in r["cells"]]
        t["n"] = len(scores)
        t["mean"] = sum(scores) / len(scores) if scores else float("nan")
        t["pass_rate"] = (sum(1 for x in scores if x >= t["max"] - EPS) / len(scores)
                          if scores else float("nan"))
    totals = [r["score"] for r in graded]
    return {
        "assignment": assignment,
        "max_score": max_total,
        "tests": tests,
        "rows": [rows[s] for s in sorted(rows)],
        "n_graded": len(graded),
        "mean_score": sum(totals) / len(totals) if totals else float("nan"),
        "manual": manual,
        "coursedir": coursedir,
    }


def _cell_order(nb, name):
    for i, c in enumerate(nb.source_cells):
        if c.name == name:
            return i
    return 10 ** 6


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(stats) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    totals = [r["score"] for r in stats["rows"] if r["status"].startswith("graded")]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if totals:
        mx = stats["max_score"] or 1.0
        if mx <= 40:  # one bar per point, centred on whole scores
            edges = [i - 0.5 for i in range(int(mx) + 2)]
            ax.hist(totals, bins=edges, color="#4c72b0", edgecolor="white")
            ax.set_xticks(range(int(mx) + 1))
        else:
            ax.hist(totals, bins=20, range=(0, mx), color="#4c72b0", edgecolor="white")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # students come in whole numbers
    ax.set_xlabel("final score (after late penalties)")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution ({len(totals)} graded)")
    out["distribution"] = _png(fig)
    plt.close(fig)

    tests = stats["tests"]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(tests) + 2), 4))
    names = [t["cell"] for t in tests]
    x = range(len(tests))
    mean_frac = [t["mean"] / t["max"] if t["max"] else 0 for t in tests]
    ax.bar([i - 0.2 for i in x], mean_frac, width=0.4, label="mean score / points")
    ax.bar([i + 0.2 for i in x], [t["pass_rate"] for t in tests], width=0.4, label="pass rate")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.set_title("Test cells")
    ax.legend()
    out["tests"] = _png(fig)
    plt.close(fig)
    return out


def _fmt(x, digits=3):
    if x is None:
        return ""
    if isinstance(x, float):
        if x != x:
            return ""
        return f"{x:.{digits}g}" if abs(x) < 1e6 else f"{x:.6g}"
    return str(x)


def write_csv(stats, path: str) -> None:
    keys = [(t["notebook"], t["cell"]) for t in stats["tests"]]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "status", "score", "max_score", "raw_score", "late_penalty", "seconds_late",
                    "needs_manual_grade", "cells_to_grade_by_hand"] + [f"{nb}/{cell}" for nb, cell in keys] + ["reason"])
        for r in stats["rows"]:
            w.writerow([r["student"], r["status"],
                        "" if r["score"] is None else repr(r["score"]), repr(r["max_score"]),
                        "" if r["raw_score"] is None else repr(r["raw_score"]), repr(r["late_penalty"]),
                        repr(r["seconds_late"]), int(r["needs_manual_grade"]), len(r["manual_left"])]
                       + [repr(r["cells"][k]) if k in r["cells"] else "" for k in keys]
                       + [r["reason"]])


def write_tests_csv(stats, path: str) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["notebook", "cell", "points", "n", "mean", "pass_rate"])
        for t in stats["tests"]:
            w.writerow([t["notebook"], t["cell"], repr(t["max"]), t["n"], repr(t["mean"]),
                        repr(t["pass_rate"])])


def render_html(stats, plots) -> str:
    e = html.escape
    tests = stats["tests"]
    hardest = sorted((t for t in tests if t["n"]), key=lambda t: (t["pass_rate"], t["mean"] / (t["max"] or 1)))[:5]
    problems = [r for r in stats["rows"] if not r["status"].startswith("graded") or r["reason"]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Report: {e(stats['assignment'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>",
        f"<h1>Assignment {e(stats['assignment'])}</h1>",
        f"<p><span id='n-graded'>{stats['n_graded']}</span> graded submissions; "
        f"mean score <span id='mean-score'>{_fmt(stats['mean_score'], 4)}</span> of "
        f"<span id='max-score'>{_fmt(stats['max_score'], 4)}</span>.</p>",
        "<h2>Score distribution</h2>",
        f"<img alt='score distribution' src='data:image/png;base64,{plots['distribution']}'>",
        "<h2>Test cells</h2>",
        f"<img alt='mean and pass rate per test cell' src='data:image/png;base64,{plots['tests']}'>",
        "<table id='tests'><tr><th>test cell</th><th>notebook</th><th>points</th><th>n</th>"
        "<th>mean</th><th>pass rate</th></tr>",
    ]
    for t in tests:
        parts.append(
            f"<tr data-cell='{e(t['cell'])}' data-mean='{t['mean']!r}' data-pass-rate='{t['pass_rate']!r}'>"
            f"<td>{e(t['cell'])}</td><td>{e(t['notebook'])}</td><td>{_fmt(t['max'])}</td>"
            f"<td>{t['n']}</td><td>{_fmt(t['mean'])}</td><td>{_fmt(100 * t['pass_rate'])}%</td></tr>")
    parts.append("</table><h2>Hardest tests</h2><ol id='hardest'>")
    for t in hardest:
        parts.append(f"<li>{e(t['cell'])} ({e(t['notebook'])}): passed by "
                     f"{_fmt(100 * t['pass_rate'])}%, mean {_fmt(t['mean'])} of {_fmt(t['max'])}</li>")
    parts.append("</ol><h2>Left to grade by hand</h2>")
    if stats["manual"]:
        parts.append("<p>Written answers (and other cells graded by hand) that have no grade yet; their points "
                     "are not in the totals below. Grade them in formgrader (<code>jupyter lab</code>, "
                     "Nbgrader &rarr; Manage Assignments &rarr; Manual Grading), then run the report again.</p>"
                     "<table id='manual'><tr><th>student</th><th>cells</th></tr>")
        for s, cells in sorted(stats["manual"].items()):
            parts.append(f"<tr data-student='{e(s)}'><td>{e(s)}</td><td style='text-align:left'>"
                         f"{e(', '.join(cells))}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p id='manual-none'>Nothing: every cell has a grade.</p>")
    parts.append("<h2>Failed or missing submissions</h2>")
    if problems:
        parts.append("<table id='problems'><tr><th>student</th><th>status</th><th>reason</th></tr>")
        for r in problems:
            parts.append(f"<tr data-student='{e(r['student'])}'><td>{e(r['student'])}</td>"
                         f"<td>{e(r['status'])}</td><td style='text-align:left'>{e(r['reason'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>All students</h2><p>The score is the final number, as <code>nbgrader export</code> "
                 "writes it: the cells' points minus the late penalty, never below 0.</p>"
                 "<table id='students'><tr><th>student</th><th>status</th><th>score</th><th>before penalty</th>"
                 "<th>late penalty</th></tr>")
    for r in stats["rows"]:
        score = "" if r["score"] is None else repr(r["score"])
        parts.append(f"<tr data-student='{e(r['student'])}' data-score='{score}'>"
                     f"<td>{e(r['student'])}</td><td>{e(r['status'])}</td><td>{_fmt(r['score'], 4)}</td>"
                     f"<td>{_fmt(r['raw_score'], 4)}</td><td>{_fmt(r['late_penalty'] or None, 4)}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(root: str, assignment: str, output: str | None = None, db_url: str | None = None) -> dict:
    stats = collect_stats(root, assignment, db_url)
    out_dir = output or os.path.join(stats["coursedir"].root, "reports", assignment)
    os.makedirs(out_dir, exist_ok=True)
    paths = {"html": os.path.join(out_dir, "report.html"),
             "csv": os.path.join(out_dir, "scores.csv"),
             "tests_csv": os.path.join(out_dir, "tests.csv")}
    write_csv(stats, paths["csv"])
    write_tests_csv(stats, paths["tests_csv"])
    with open(paths["html"], "w") as fh:
        fh.write(render_html(stats, _plots(stats)))
    return paths
