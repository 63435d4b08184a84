"""What copiers do to a classmate's answer, as functions of a cell's source.

Each function takes the source of one answer cell and the names the notebook's tests call (which a
copier must keep), and returns the disguised source. They work on Python's tokens, so comments and
layout are kept unless the disguise is to change them.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize


def _defined(src: str, keep: set[str]) -> list[str]:
    tree = ast.parse(src)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
    out = []
    for n in names:
        if n not in keep and n not in out and n != "_":
            out.append(n)
    return out


def _untokenize(toks) -> str:
    return tokenize.untokenize(toks)


def rename(src: str, keep: set[str], prefix: str = "q") -> str:
    """Every name the cell defines (variables, helpers, arguments) renamed, layout kept; the names
    the tests call are kept. Keyword arguments of the cell's own functions follow their parameter."""
    mapping = {n: f"{prefix}{i}_{n[::-1].strip('_') or 'v'}x" for i, n in enumerate(_defined(src, keep))}
    out = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NAME and tok.string in mapping and not (prev and prev.string == "."):
            tok = tok._replace(string=mapping[tok.string])
        out.append(tok)
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev = tok
    return _untokenize(out)


def recomment(src: str, keep: set[str] = frozenset()) -> str:
    """Comments and docstrings removed, new comments written on other lines."""
    toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type != tokenize.COMMENT]
    text = _untokenize(toks)
    tree = ast.parse(text)
    lines = text.splitlines()
    drop = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                drop.update(range(first.lineno - 1, first.end_lineno))
    out = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        if re.match(r"\s*(def|for|while|return)\b", line):
            indent = re.match(r"\s*", line).group(0)
            out.append(f"{indent}# my own working, step {i}")
        out.append(line.rstrip())
    return "\n".join(out) + "\n"


def blank_lines(src: str, keep: set[str] = frozenset()) -> str:
    """Two blank lines after every line that ends a statement (inside brackets nothing changes)."""
    out = []
    for line in src.splitlines():
        out.append(line)
        if line.strip() and not line.rstrip().endswith((",", "(", "[", "{", "\\")):
            out.extend(["", ""])
    return "\n".join(out) + "\n"


def rewrap(src: str, keep: set[str] = frozenset()) -> str:
    """Every argument list and collection re-wrapped one item per line (Python's own untokenizer
    re-spaces the rest)."""
    pairs = []
    depth = 0
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        pairs.append((tok.type, tok.string))
        if tok.type == tokenize.OP and tok.string == "," and depth > 0:
            pairs.append((tokenize.NL, "\n"))
    return tokenize.untokenize(pairs)


def reorder(src: str, keep: set[str] = frozenset()) -> str:
    """Top-level functions of the cell in reverse order (other statements keep their place)."""
    tree = ast.parse(src)
    lines = src.splitlines()
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    if len(defs) < 2:
        return src
    chunks = ["\n".join(lines[d.lineno - 1 - len(d.decorator_list):d.end_lineno]) for d in defs]
    start = defs[0].lineno - 1 - len(defs[0].decorator_list)
    end = defs[-1].end_lineno
    return "\n".join(lines[:start] + ["\n\n".join(reversed(chunks))] + lines[end:]) + "\n"


_DEAD_HELPER = '''
def _tidy_up(values, scale=1.0):
    """Not used anywhere."""
    total = 0.0
    for v in values:
        total += abs(v) * scale
    return total / max(len(values), 1)
'''


def dead_code(src: str, keep: set[str] = frozenset()) -> str:
    """An unused helper before the cell's code, and at the top of every function body a value
    nobody reads, a debugging block that never runs and a value only that block reads."""
    tree = ast.parse(src)
    lines = src.splitlines()
    inserts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body:
            first = node.body[0]
            indent = " " * first.col_offset
            at = first.end_lineno if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                                      and len(node.body) > 1) else first.lineno - 1
            inserts[at] = [f"{indent}_checked = [i * i for i in range(3)]",
                           f"{indent}if False:",
                           f"{indent}    print('debugging', _checked)",
                           f"{indent}_scale = float(len(_checked)) / 3.0"]
    out = []
    for i, line in enumerate(lines):
        out.extend(inserts.get(i, []))
        out.append(line)
    return textwrap.dedent(_DEAD_HELPER).lstrip() + "\n\n" + "\n".join(out) + "\n"


def everything(src: str, keep: set[str]) -> str:
    """All of the above at once."""
    for f in (reorder, dead_code, recomment):
        src = f(src, keep)
    src = rename(src, keep, prefix="z")
    return blank_lines(rewrap(src, keep), keep)


DISGUISES = {"renamed": rename, "comments": recomment, "blank lines": blank_lines, "re-wrapped": rewrap,
             "reordered": reorder, "dead code": dead_code, "all at once": everything}


def strip_solution_markers(src: str) -> str:
    return "\n".join(ln for ln in src.splitlines() if "### BEGIN SOLUTION" not in ln
                     and "### END SOLUTION" not in ln) + "\n"
