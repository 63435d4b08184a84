"""The similarity report: ``reports/<assignment>/similarity.html`` and ``similarity.csv``.

The HTML page is self-contained (no script or stylesheet from elsewhere): a histogram of the
pair scores with the threshold, a threshold slider that hides what falls below it, the clusters,
matches with the model solution, the library and the archive, every pair ranked, and each flagged
pair side by side with the matching lines highlighted. Student code and names are escaped.
"""

from __future__ import annotations

import csv
import html
import os

from .similarity import Document, Match, SimilarityResult, fragments

SIDE_BY_SIDE = 150       # at most this many pairs are shown side by side (the highest first)
TABLE_ROWS = 1000        # at most this many rows per table (the CSV has every pair)
SHOWN_BELOW = 0.6        # pairs down to this fraction of the threshold are listed, for context
COLORS = ("#ffe08a", "#b8e0ff", "#ffc2c2", "#c9f2c0", "#e5ccff", "#ffd9b3")

_SCRIPT = """
(function () {
  var slider = document.getElementById('threshold');
  var shown = document.getElementById('threshold-value');
  function apply() {
    var t = parseFloat(slider.value);
    shown.textContent = t.toFixed(2);
    var n = 0;
    document.querySelectorAll('[data-score]').forEach(function (el) {
      var on = parseFloat(el.getAttribute('data-score')) >= t;
      el.hidden = !on;
      if (on && el.tagName === 'TR' && el.closest('#pairs')) { n += 1; }
    });
    document.getElementById('n-flagged').textContent = n;
  }
  slider.addEventListener('input', apply);
  apply();
})();
"""

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:76em;margin:2em auto;padding:0 1em;color:#1a1a1a}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:2px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em}
pre{background:#f6f6f6;padding:.4em;overflow-x:auto;font-size:.85em;margin:.2em 0}
pre span{display:block;white-space:pre}
.cellname{font-weight:600;font-size:.85em;margin-top:.6em}
.note{color:#444}
details{border-top:1px solid #ccc;padding:.4em 0}
summary{cursor:pointer}
label{font-weight:600}
"""


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _code(doc: Document, spans: dict[tuple[int, int], int], other: str) -> str:
    """A document's answer cells as <pre>, each line a span; matched lines coloured by fragment."""
    e = html.escape
    out = []
    for ci, (name, text) in enumerate(doc.cells):
        out.append(f"<div class='cellname'>{e(name)}</div><pre>")
        for n, line in enumerate(text.splitlines() or [""], start=1):
            frag = spans.get((ci, n))
            if frag is None:
                out.append(f"<span>{e(line) or ' '}</span>")
            else:
                out.append(f"<span class='m' style='background:{COLORS[frag % len(COLORS)]}' "
                           f"title='fragment {frag + 1}, also in {e(other)}'>{e(line) or ' '}</span>")
        out.append("</pre>")
    return "".join(out)


def _side_by_side(result: SimilarityResult, m: Match) -> str:
    e = html.escape
    a, b = result.documents[m.a], result.documents[m.b]
    lines_a: dict[tuple[int, int], int] = {}
    lines_b: dict[tuple[int, int], int] = {}
    for i, (sa, sb) in enumerate(fragments(a, b)):
        for n in sa.lines or range(sa.first, sa.last + 1):
            lines_a.setdefault((sa.cell, n), i)
        for n in sb.lines or range(sb.first, sb.last + 1):
            lines_b.setdefault((sb.cell, n), i)
    return (f"<details data-score='{m.score!r}' id='pair-{e(_anchor(m))}'><summary>{e(a.label)} &harr; {e(b.label)}: "
            f"score {_fmt(m.score)} ({m.shared} shared fingerprints; {_fmt(m.cover_a)} of {e(a.label)}, "
            f"{_fmt(m.cover_b)} of {e(b.label)})</summary><div class='pair'>"
            f"<div><h4>{e(a.label)}</h4>{_code(a, lines_a, b.label)}</div>"
            f"<div><h4>{e(b.label)}</h4>{_code(b, lines_b, a.label)}</div></div></details>")


def _anchor(m: Match) -> str:
    import hashlib

    return hashlib.blake2b(f"{m.a}\0{m.b}".encode(), digest_size=6).hexdigest()


def _histogram(result: SimilarityResult) -> str:
    """Inline SVG histogram of student-pair scores (log count), with the threshold marked."""
    scores = [m.score for m in result.matches if m.kind == "student"]
    n_pairs = len(result.students) * (len(result.students) - 1) // 2
    zeros = max(n_pairs - len(scores), 0)
    bins = [0] * 20
    for s in scores:
        bins[min(int(s * 20), 19)] += 1
    bins[0] += zeros
    import math

    w, h, pad = 600, 180, 30
    top = max((math.log10(c + 1) for c in bins), default=1) or 1
    bars = []
    for i, c in enumerate(bins):
        bh = (h - pad) * math.log10(c + 1) / top
        x = pad + i * (w - 2 * pad) / 20
        colour = "#c0392b" if (i + 1) / 20 > result.threshold else "#5b7aa6"
        bars.append(f"<rect x='{x:.1f}' y='{h - pad - bh:.1f}' width='{(w - 2 * pad) / 20 - 2:.1f}' "
                    f"height='{bh:.1f}' fill='{colour}'><title>{i / 20:.2f}-{(i + 1) / 20:.2f}: {c} pairs</title>"
                    "</rect>")
    tx = pad + result.threshold * (w - 2 * pad)
    ticks = "".join(f"<text x='{pad + t * (w - 2 * pad):.1f}' y='{h - 8}' font-size='11' text-anchor='middle'>"
                    f"{t:.1f}</text>" for t in (0, .2, .4, .6, .8, 1))
    return (f"<svg role='img' aria-label='histogram of pair scores, log scale; {len(result.flagged('student'))} "
            f"pairs at or above the threshold {result.threshold:.2f}' width='{w}' height='{h}' "
            f"viewBox='0 0 {w} {h}'>{''.join(bars)}"
            f"<line x1='{tx:.1f}' x2='{tx:.1f}' y1='0' y2='{h - pad}' stroke='#000' stroke-dasharray='4 3'/>"
            f"<text x='{tx + 4:.1f}' y='12' font-size='11'>threshold {result.threshold:.2f}</text>{ticks}</svg>")


def render_html(result: SimilarityResult) -> str:
    e = html.escape
    lab = result.label
    flagged = result.flagged()
    shown_from = result.threshold * SHOWN_BELOW
    n = len(result.students)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Similarity: {e(result.assignment)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>Similarity of submissions: {e(result.assignment)}</h1>",
        "<p class='note'>Evidence for a person to weigh, not a verdict: a high score says two answers share "
        "long runs of the same code structure after names, comments, docstrings, layout and the starter code are "
        "set aside. Look at the code side by side and talk to the students before deciding. Nothing here changes "
        "a grade.</p>",
        f"<p>{n} submission(s) compared with each other (<span id='n-pairs'>{n * (n - 1) // 2}</span> pairs), "
        "with the model solution" + (", with mixlearn's own functions" if any(
            d.kind == "library" for d in result.documents.values()) else "")
        + (f", with {sum(d.kind == 'archive' for d in result.documents.values())} archived submission(s)"
           if any(d.kind == "archive" for d in result.documents.values()) else "")
        + f", in {result.seconds:.1f} s.</p>",
        f"<p>Score of two students (or a student and the model solution or an archived submission): the mean "
        "over the answer cells of the share of each cell's code found anywhere in the other's answers (the larger "
        "of the two directions), so one cell of four written alike scores about 0.25 and a full copy 1. Score of "
        f"a library function: the share of it found in the answers (at least {result.floor} fingerprints). "
        f"Fingerprints: winnowing of {result.k}-token runs of the syntax tree, window {result.window} (every "
        f"shared run of {result.k + result.window - 1} tokens or more is seen), after names, comments, docstrings, "
        f"layout and dead code are set aside; {result.ignored_starter} fingerprints of given code are ignored.</p>",
        f"<p id='threshold-line'>Threshold: <strong id='threshold-cli'>{result.threshold:.2f}</strong> "
        f"(<code>--threshold</code>): <strong>{len(result.flagged('student'))}</strong> student pair(s), "
        f"<strong>{len(result.flagged()) - len(result.flagged('student'))}</strong> match(es) with the model "
        "solution, the library or the archive at or above it.</p>",
        f"<p><label for='threshold'>Show from score</label> <input type='range' id='threshold' min='0' max='1' "
        f"step='0.01' value='{result.threshold:.2f}'> <output id='threshold-value' for='threshold'>"
        f"{result.threshold:.2f}</output>: <span id='n-flagged'>{len(result.flagged('student'))}</span> student "
        "pair(s) shown.</p>",
        "<h2>Scores of all student pairs</h2><p class='note'>Number of pairs per score bin, on a log scale "
        "(hover a bar for its count); red bins lie above the threshold.</p>", _histogram(result),
        "<h2>Clusters</h2>",
    ]
    if result.clusters:
        parts.append("<p>Students linked by pairs at or above the threshold (directly or through one another).</p>"
                     "<table id='clusters'><thead><tr><th>cluster</th><th>size</th><th>students</th>"
                     "<th>highest pair</th></tr></thead><tbody>")
        for i, group in enumerate(result.clusters, start=1):
            keys = set(group)
            best = max((m.score for m in flagged if m.a in keys and m.b in keys), default=0.0)
            parts.append(f"<tr data-cluster='{i}'><td class='num'>{i}</td><td class='num'>{len(group)}</td>"
                         f"<td>{e(', '.join(lab(k) for k in group))}</td><td class='num'>{_fmt(best)}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append("<p id='clusters-none'>None at this threshold.</p>")

    parts.append("<h2>Matches with the model solution, the library and the archive</h2>"
                 "<p>The model solution is public; a match with it or with mixlearn's own code is shown apart "
                 "from copying between students.</p>")
    refs = [m for m in result.matches if m.kind != "student" and m.score >= shown_from]
    refs, more_refs = refs[:TABLE_ROWS], len(refs) - TABLE_ROWS
    if refs:
        parts.append("<table id='references'><thead><tr><th>student</th><th>matches</th><th>what</th>"
                     "<th>score</th><th>shared</th></tr></thead><tbody>")
        for m in refs:
            parts.append(f"<tr data-score='{m.score!r}' data-kind='{m.kind}' data-student='{e(lab(m.a))}'>"
                         f"<td>{e(lab(m.a))}</td><td><a href='#pair-{_anchor(m)}'>{e(lab(m.b))}</a></td>"
                         f"<td>{m.kind}</td><td class='num'>{_fmt(m.score)}</td><td class='num'>{m.shared}</td></tr>")
        parts.append("</tbody></table>")
        if more_refs > 0:
            parts.append(f"<p>{more_refs} more in similarity.csv.</p>")
    else:
        parts.append("<p id='references-none'>None.</p>")

    parts.append("<h2>Student pairs, highest first</h2>")
    pairs = [m for m in result.matches if m.kind == "student" and m.score >= shown_from]
    pairs, more_pairs = pairs[:TABLE_ROWS], len(pairs) - TABLE_ROWS
    if pairs:
        parts.append("<table id='pairs'><thead><tr><th>rank</th><th>student</th><th>student</th><th>score</th>"
                     "<th>shared</th><th>share of each</th></tr></thead><tbody>")
        for rank, m in enumerate(pairs, start=1):
            parts.append(f"<tr data-score='{m.score!r}' data-a='{e(lab(m.a))}' data-b='{e(lab(m.b))}'>"
                         f"<td class='num'>{rank}</td><td>{e(lab(m.a))}</td><td>{e(lab(m.b))}</td>"
                         f"<td class='num'><a href='#pair-{_anchor(m)}'>{_fmt(m.score)}</a></td>"
                         f"<td class='num'>{m.shared}</td><td>{_fmt(m.cover_a)} / {_fmt(m.cover_b)}</td></tr>")
        parts.append("</tbody></table>")
        if more_pairs > 0:
            parts.append(f"<p>{more_pairs} more pairs, with lower scores, in similarity.csv.</p>")
    else:
        parts.append("<p id='pairs-none'>No pair shares enough code to list.</p>")

    parts.append("<h2>Side by side</h2><p>Lines of the same colour hold the same run of code structure "
                 "(names may differ). Starter code is never highlighted.</p>")
    for m in [m for m in result.matches if m.score >= shown_from][:SIDE_BY_SIDE]:
        parts.append(_side_by_side(result, m))

    parts.append("<h2>Not compared, or compared in part</h2>")
    if result.problems:
        parts.append("<table id='problems'><thead><tr><th>student</th><th>why</th></tr></thead><tbody>")
        for p in result.problems:
            parts.append(f"<tr data-student='{e(p.student)}'><td>{e(p.student)}</td><td>{e(p.reason)}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append("<p id='problems-none'>Every submission was compared.</p>")
    parts.append(f"</main><script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_csv(result: SimilarityResult, path: str) -> None:
    """Every pair sharing at least one fingerprint (student pairs and reference matches)."""
    lab = result.label
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "other", "other_kind", "score", "shared", "share_of_student", "share_of_other",
                    "flagged"])
        for m in result.matches:
            w.writerow([lab(m.a), lab(m.b), m.kind, f"{m.score:.4f}", m.shared, f"{m.cover_a:.4f}",
                        f"{m.cover_b:.4f}", int(m.score >= result.threshold)])
        for p in result.problems:
            w.writerow([p.student, "", "not compared: " + p.reason, "", "", "", "", ""])


def write_report(result: SimilarityResult, out_dir: str) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    paths = {"html": os.path.join(out_dir, "similarity.html"), "csv": os.path.join(out_dir, "similarity.csv")}
    write_csv(result, paths["csv"])
    with open(paths["html"], "w", encoding="utf-8") as fh:
        fh.write(render_html(result))
    return paths
