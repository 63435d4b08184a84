"""Numbers stated in the book's prose are the numbers its pages compute.

Two mechanisms, both executed by the book build (``book/build.py``):

* ``{glue:text}`name:fmt``` in a sentence shows a value that a cell stored with
  :func:`mixlearn.teaching.stated.glue`, so the sentence cannot disagree with the cell;
* a number written out in a sentence is paired with a cell tagged ``remove-cell`` that
  calls :func:`mixlearn.teaching.stated.check` with the text as written and the computed
  value; a mismatch raises, and ``raise_on_error`` turns that into a failed build.

The tests below check the pairing statically (every checked text occurs in the prose, every
glued name is stored, every decimal number in the prose is either an input that appears in
the page's code or is checked), that :func:`check` rejects what it should, and, with a
real build of a one-page book, that a deliberately wrong number fails the build.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mixlearn.teaching.stated import StatedNumberError, check

try:
    from book_support.build import one_page_book
except ImportError:  # tests/ imported as a package
    from tests.book_support.build import one_page_book

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def _toc_pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for e in entries:
            files.append(e["file"])
            walk(e.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return [ROOT / f"{f}.md" for f in files]


PAGES = [p for p in _toc_pages() if p.read_text(encoding="utf-8").count("{code-cell}")]


def _split(page: Path) -> tuple[str, str]:
    text = page.read_text(encoding="utf-8")
    code = "\n".join(CODE_CELL.findall(text))
    prose = CODE_CELL.sub("", text)
    prose = re.sub(r"^---\n.*?\n---\n", "", prose, count=1, flags=re.S)   # front matter
    return prose, code


def _checked_texts(code: str) -> list[str]:
    return re.findall(r"""\bcheck\(\s*["']([^"']+)["']""", code)


def test_toc_has_the_new_pages():
    names = {p.stem for p in _toc_pages()}
    assert {"notation", "log_space", "em_general", "gmm_em", "convergence", "em_at_scale", "kmeans"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_checked_number_occurs_in_the_prose(page):
    prose, code = _split(page)
    texts = _checked_texts(code)
    for t in texts:
        pattern = r"(?<![\d.])" + re.escape(t).replace(r"\-", "[-−]") + r"(?![\d])"
        assert re.search(pattern, prose), f"{page.name}: check({t!r}) but the prose never says {t}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_glued_number_is_computed(page):
    prose, code = _split(page)
    used = set(re.findall(r"\{glue:text\}`([A-Za-z_0-9]+)", prose))
    stored = set(re.findall(r"""\bglue\(\s*["']([A-Za-z_0-9]+)["']""", code))
    assert used <= stored, f"{page.name}: prose uses {sorted(used - stored)} that no cell glues"


def _decimals(prose: str) -> list[str]:
    prose = re.sub(r"\{(cite|doc|func|class|download)\}`[^`]*`", "", prose)
    prose = re.sub(r"\{glue:text\}`[^`]*`", "", prose)
    prose = re.sub(r"\[[^\]]*\]\([^)]*\)", "", prose)       # links
    prose = re.sub(r"`[^`]*`", "", prose)                     # inline code: option values, file names
    return re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.]*\d)", prose)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_decimal_number_in_the_prose_is_an_input_or_checked(page):
    """A decimal number in a sentence is either a value the page's code uses (a parameter such
    as a red rate of 0.8) or a result paired with a ``check`` cell."""
    prose, code = _split(page)
    prose = prose.split("## Exercises")[0]      # questions may name inputs for the reader to try
    checked = set(_checked_texts(code))
    code_numbers = set(re.findall(r"-?\d+\.\d+", code))
    code_numbers |= {n.rstrip("0").rstrip(".") for n in code_numbers}
    missing = []
    for num in _decimals(prose):
        plain = num.lstrip("-")
        if num in checked or plain in checked or plain in code_numbers or plain.rstrip("0").rstrip(".") in code_numbers:
            continue
        missing.append(num)
    assert not missing, f"{page.name}: numbers stated but neither used by the code nor checked: {missing}"


def test_every_chapter_page_has_an_interactive_figure_and_exercises():
    """The introduction promises both for every chapter and section; keep that count true."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = next(part for part in toc["parts"] if part["caption"] == "Chapters")["chapters"]
    files = [c["file"] for c in chapters] + [s["file"] for c in chapters for s in c.get("sections", [])]
    assert len(files) == 16
    for f in files:
        text = (ROOT / f"{f}.md").read_text(encoding="utf-8")
        assert re.search(r"\b(FrameFigure|DrawnFigure)\(", text), f"{f}: no interactive figure"
        assert "\n## Exercises\n" in text, f"{f}: no exercises section"
        assert "{doc}`notation`" in text, f"{f}: no link to the notation page"


def test_check_accepts_the_written_rounding_and_rejects_others():
    check("0.727", 0.4 / 0.55)
    check("462", 462)
    check("-1130.3", -1130.2639)
    check("−1289.8", -1289.7967)          # a typographic minus
    check("20 000", 20_000)
    check("1e-6", 1.3e-6, about=2)
    check("27", 0.2704, percent=True)
    for text, value, kw in [("0.73", 0.4 / 0.55 + 0.01, {}), ("463", 462, {}), ("1e-6", 3e-6, {"about": 2}),
                            ("2.0", float("nan"), {})]:
        with pytest.raises(StatedNumberError, match="the prose says"):
            check(text, value, **kw)
    with pytest.raises(ValueError, match="text="):
        check("about 3", 3)


def _one_page_book(tmp_path: Path, stated: str, computed: str) -> subprocess.CompletedProcess:
    return one_page_book(tmp_path, "numbers",
                         f"# Numbers\n\nThe share of red marbles is {stated}.\n\n"
                         "```{code-cell} ipython3\n:tags: [remove-cell]\n\n"
                         f"from mixlearn.teaching.stated import check\ncheck({stated!r}, {computed})\n```\n")


def test_a_wrong_stated_number_fails_the_build(tmp_path):
    """The same one-page book builds when the sentence's number is right and fails when it is wrong."""
    (tmp_path / "right").mkdir()
    right = _one_page_book(tmp_path / "right", "0.6", "0.3 + 0.5 * 0.6")
    assert right.returncode == 0, right.stdout[-2000:] + right.stderr[-2000:]
    html = (tmp_path / "right" / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    assert "The share of red marbles is 0.6." in html and "check(" not in html   # the check cell is hidden

    (tmp_path / "wrong").mkdir()
    wrong = _one_page_book(tmp_path / "wrong", "0.5", "0.3 + 0.5 * 0.6")
    output = wrong.stdout + wrong.stderr
    assert wrong.returncode != 0, "a page whose sentence says 0.5 while the cell computes 0.6 must not build"
    assert "the prose says 0.5 but the page computes 0.6" in output
