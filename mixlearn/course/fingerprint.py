"""Fingerprints of Python code that survive what copiers change: winnowing on syntax-tree tokens.

The method is the one MOSS and Dolos use (Schleimer, Wilkerson & Aiken, "Winnowing: local
algorithms for document fingerprinting", SIGMOD 2003), on Python's own syntax tree:

1. **Tokens.** The code is parsed with :mod:`ast` and walked in pre-order; each node gives one
   token: its type, with the operator of an operation, the attribute of an attribute access, the
   keyword of a keyword argument and the value of a number. Names a student chooses (variables,
   functions, arguments) all become one token, ``V``; names the code did not define (``np``,
   ``len``, ``logsumexp``) stay as written, because a copier cannot rename them without breaking
   the code. Comments, docstrings, blank lines, line breaks and brackets never reach the tree.
2. **k-grams.** Each run of *k* consecutive tokens is hashed (a stable 64-bit hash, the same in
   every process and every run).
3. **Winnowing.** Of every window of *w* consecutive k-gram hashes the smallest is kept (the
   rightmost when tied), so any match of at least ``k + w - 1`` tokens shares a fingerprint,
   and no match shorter than *k* tokens does.

Renaming, reordering functions, comments, docstrings, blank lines and re-wrapped expressions
leave the set of fingerprints as it was; inserted dead code only adds fingerprints. Each
fingerprint remembers the source lines its k-gram spans, for highlighting.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

K = 12          # tokens per k-gram
WINDOW = 8      # k-grams per winnowing window: every match of K + WINDOW - 1 = 19 tokens is seen

_BUILTINS = frozenset(dir(builtins))
_MAGIC = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Token:
    text: str
    line: int           # 1-based line in the source it came from


@dataclass(frozen=True)
class Fingerprint:
    hash: int
    first_line: int     # the lines its k-gram spans, in the fingerprinted source
    last_line: int
    index: int          # position of its k-gram in the token sequence
    lines: tuple[int, ...] = ()   # the lines holding its tokens (a docstring in between is not one)


def _strip_magics(source: str) -> str:
    """IPython line magics and shell escapes become blank lines (they are not Python)."""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())


def _defined_names(tree: ast.AST) -> set[str]:
    """Names the code binds itself: assignments, loop targets, functions, classes, arguments."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out


def _is_docstring(node: ast.AST, parent: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return (isinstance(parent, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and isinstance(body, list) and body and body[0] is node
            and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


class _Tokenizer(ast.NodeVisitor):
    def __init__(self, own: set[str], imported: set[str]):
        self.own = own
        self.imported = imported
        self.out: list[Token] = []
        self.line = 1

    def emit(self, text: str, node: ast.AST | None = None) -> None:
        line = getattr(node, "lineno", None)
        if line is not None:
            self.line = line
        self.out.append(Token(text, self.line))

    def generic_visit(self, node: ast.AST) -> None:
        for _name, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.AST) and not _is_docstring(item, node):
                    self.visit(item)

    def visit(self, node: ast.AST) -> None:
        kind = type(node).__name__
        if isinstance(node, (ast.expr_context, ast.Import, ast.ImportFrom, ast.Pass)):
            return                      # imports and `pass` carry no authorship
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return                      # a bare string or number statement: a comment in disguise
        if isinstance(node, ast.Name):
            name = node.id
            self.emit(name if (name not in self.own and (name in _BUILTINS or name in self.imported)) else "V",
                      node)
            return
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or value is None:
                text = repr(value)
            elif isinstance(value, (int, float, complex)):
                text = f"#{value!r}"
            else:
                text = "S"              # strings (messages, labels) are free text
            self.emit(text, node)
            return
        if isinstance(node, ast.Attribute):
            self.emit(f".{node.attr}", node)
        elif isinstance(node, (ast.BinOp, ast.AugAssign)):
            self.emit(f"{kind}{type(node.op).__name__}", node)
            self.generic_visit(node)
            return
        elif isinstance(node, ast.UnaryOp):
            self.emit(f"U{type(node.op).__name__}", node)
        elif isinstance(node, ast.BoolOp):
            self.emit(f"B{type(node.op).__name__}", node)
        elif isinstance(node, ast.Compare):
            self.emit("Cmp" + "".join(type(op).__name__ for op in node.ops), node)
        elif isinstance(node, ast.keyword):
            self.emit(f"kw={node.arg}" if node.arg not in self.own else "kw=V", node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.emit("Def", node)
        elif isinstance(node, ast.arg):
            self.emit("Arg", node)
            return                      # annotations are style
        else:
            self.emit(kind, node)
        self.generic_visit(node)


def _imported_names(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out.add((alias.asname or alias.name).split(".")[0])
    return out


def parse(source: str) -> ast.Module | None:
    """The syntax tree of an answer cell (IPython magics blanked), or ``None`` if it is not Python."""
    try:
        return ast.parse(_strip_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def loaded_names(trees) -> set[str]:
    """Every name read anywhere in *trees* (calls, expressions; not assignments)."""
    return {n.id for t in trees if t is not None for n in ast.walk(t)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


_ENDS_BLOCK = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def _prune(body: list, used: set[str], keep: set[str]) -> tuple[list, bool]:
    """One pass of dead-code removal over a statement list; returns (new list, changed)."""
    out, changed = [], False
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                stmt.name not in used and stmt.name not in keep:
            changed = True                                  # a function nothing calls
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [n for t in targets for n in ast.walk(t) if not isinstance(n, ast.expr_context)]
            if names and all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred)) for n in names) and \
                    not any(isinstance(n, ast.Name) and n.id in used | keep for n in names):
                changed = True                              # a value nobody reads
                continue
        if isinstance(stmt, (ast.If, ast.While)) and isinstance(stmt.test, ast.Constant) and \
                (isinstance(stmt, ast.If) or not stmt.test.value):
            changed = True                                  # `if False:`, `if 0:`, `while False:` ...
            if isinstance(stmt, ast.If):
                out.extend(stmt.body if stmt.test.value else stmt.orelse)
            continue
        if isinstance(stmt, ast.Expr) and not any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom))
                                                  for n in ast.walk(stmt)):
            changed = changed or not isinstance(stmt.value, ast.Constant)
            continue                                        # an expression computed and dropped
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                new, ch = _prune(inner, used, keep)
                setattr(stmt, field, new)
                changed |= ch
        for handler in getattr(stmt, "handlers", []) or []:
            new, ch = _prune(handler.body, used, keep)
            handler.body = new
            changed |= ch
        out.append(stmt)
        if isinstance(stmt, _ENDS_BLOCK):
            changed |= len(out) < len(body) and stmt is not body[-1]
            break                                           # nothing after return/raise/break runs
    return out, changed


def remove_dead_code(trees: list, keep: set[str]) -> None:
    """Remove, in place and until nothing changes, what cannot affect the answers: functions and
    classes no cell uses, assignments to names no cell reads, ``if``/``while`` on a constant,
    expressions whose value is dropped (without a call), and statements after ``return``,
    ``raise``, ``break`` or ``continue``. *keep* are the names the notebook's tests call."""
    for _ in range(20):
        used = loaded_names(trees)
        changed = False
        for t in trees:
            if t is not None:
                t.body, ch = _prune(t.body, used, keep)
                changed |= ch
        if not changed:
            return


def lexical_tokens(source: str) -> list[Token]:
    """Fallback for code that does not parse: Python's tokenizer, names as ``V``, no comments."""
    out: list[Token] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            text = tok.string
            if tok.type == tokenize.NAME:
                text = text if keyword.iskeyword(text) or text in _BUILTINS else "V"
            elif tok.type == tokenize.STRING:
                text = "S"
            out.append(Token(text, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _hash(texts: list[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(texts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1     # fits a signed 64-bit integer


def winnow(toks: list[Token], k: int = K, window: int = WINDOW) -> list[Fingerprint]:
    """The winnowed fingerprints of a token sequence (a sequence shorter than *k*: one
    fingerprint of the whole, so that a short but non-empty answer still counts)."""
    if not toks:
        return []
    if len(toks) < k:
        lines = tuple(sorted({t.line for t in toks}))
        return [Fingerprint(_hash([t.text for t in toks]), lines[0], lines[-1], 0, lines)]
    texts = [t.text for t in toks]
    hashes = [_hash(texts[i:i + k]) for i in range(len(toks) - k + 1)]
    picked: dict[int, Fingerprint] = {}
    n = len(hashes)
    w = min(window, n)
    for start in range(n - w + 1):
        block = hashes[start:start + w]
        low = min(block)
        idx = start + max(i for i, h in enumerate(block) if h == low)   # rightmost minimum
        if idx not in picked:
            span = toks[idx:idx + k]
            lines = tuple(sorted({t.line for t in span}))
            picked[idx] = Fingerprint(hashes[idx], lines[0], lines[-1], idx, lines)
    return [picked[i] for i in sorted(picked)]


def fingerprint(source: str, context_imports: set[str] | frozenset = frozenset(),
                k: int = K, window: int = WINDOW) -> tuple[list[Fingerprint], bool]:
    """Fingerprints of one piece of code as it is (no dead code removed); the flag says whether
    it parsed as Python."""
    return fingerprint_cells([source], context_imports, k=k, window=window, prune=False)[0], \
        parse(source) is not None


def fingerprint_cells(sources: list[str], context_imports: set[str] | frozenset = frozenset(),
                      keep: set[str] | frozenset = frozenset(), k: int = K,
                      window: int = WINDOW, prune: bool = True) -> list[list[Fingerprint]]:
    """Fingerprints of each answer cell of one submission, after :func:`remove_dead_code` across
    all of them when *prune* (a helper defined in one cell and called in another is used). A cell
    that is not Python is fingerprinted from its lexical tokens."""
    trees = [parse(s) for s in sources]
    try:
        if prune:
            remove_dead_code(trees, set(keep))
        return _fingerprint_trees(sources, trees, context_imports, k, window)
    except RecursionError:       # a syntax tree too deep to walk (e.g. x+x+...+x 50,000 times)
        return [winnow(lexical_tokens(src), k, window) for src in sources]


def _fingerprint_trees(sources, trees, context_imports, k, window) -> list[list[Fingerprint]]:
    parsed = [t for t in trees if t is not None]
    imported = set(context_imports).union(*(_imported_names(t) for t in parsed))
    own = set().union(*(_defined_names(t) for t in parsed)) - imported
    out = []
    for src, tree in zip(sources, trees, strict=False):
        if tree is None:
            out.append(winnow(lexical_tokens(src), k, window))
            continue
        fps = []
        for chunk in _chunks(tree):
            t = _Tokenizer(own, imported)
            for stmt in chunk:
                if not _is_docstring(stmt, tree):
                    t.visit(stmt)
            fps.extend(winnow(t.out, k, window))
        out.append(fps)
    return out


def _chunks(tree: ast.Module) -> list[list[ast.stmt]]:
    """Each top-level function or class alone, and each run of other statements: k-grams never
    span two of them, so reordering functions changes no fingerprint."""
    chunks: list[list[ast.stmt]] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            chunks.append([stmt])
        elif chunks and not isinstance(chunks[-1][0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            chunks[-1].append(stmt)
        else:
            chunks.append([stmt])
    return chunks
