"""Parse a side of a step, fast: the Earley parser's time grows much faster than an
expression's length, so a long sum is parsed term by term and the terms joined as the grammar
would join them (a + b - c is (a + b) - c).  What does not parse is parsed whole again, so the
error (its column) is the grammar's own.

Trees are also kept on disk ($GRADPROOF_CACHE_DIR, default ~/.cache/gradproof), keyed by the
grammar and the normalised text: checking a document again after an edit parses only what
changed.  A cache that cannot be opened is simply not used.
"""
from __future__ import annotations

import hashlib
import pickle
import sqlite3
from functools import lru_cache
from pathlib import Path

from lark import Token, Tree, UnexpectedInput

from gradproof.derive import macros as user_macros
from gradproof.derive.latex import ParseError, normalise, parse, parser

OPENERS, CLOSERS = {"(", "{", "⟦"}, {")", "}", "⟧"}
OPERAND_END = CLOSERS | {"'"}


def _terms(tokens: list[str]) -> list[tuple[str, list[str]]]:
    """(operator, tokens) of the top-level terms: the first operator is ''."""
    out, depth, current, operator = [], 0, [], ""
    for i, token in enumerate(tokens):
        if token in OPENERS:
            depth += 1
        elif token in CLOSERS:
            depth -= 1
        previous = tokens[i - 1] if i else ""
        binary = previous and (previous in OPERAND_END or previous[0].isalnum() or previous[0] in "\\") and \
            previous not in ("\\frac", "\\sum", "\\prod", "CASES", "IF", "\\partial", "\\delta")
        if depth == 0 and token in ("+", "-") and binary and current:
            out.append((operator, current))
            operator, current = token, []
            continue
        current.append(token)
    out.append((operator, current))
    return out


class _Store:
    """Trees by normalised text, in one SQLite file per grammar version."""

    def __init__(self):
        self.db = None
        try:
            from gradproof.derive import latex, wild
            from gradproof.derive.cache import cache_dir

            digest = hashlib.sha256()
            for module in (latex, wild):
                digest.update(Path(module.__file__).read_bytes())
            digest.update(Path(latex.__file__).with_name("latex.lark").read_bytes())
            folder = cache_dir()
            folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(folder / f"check-parses-{digest.hexdigest()[:16]}.sqlite", timeout=2)
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("CREATE TABLE IF NOT EXISTS trees (key TEXT PRIMARY KEY, tree BLOB)")
        except (OSError, sqlite3.Error):
            self.db = None

    def get(self, text: str):
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT tree FROM trees WHERE key = ?", (text,)).fetchone()
            return pickle.loads(row[0]) if row else None
        except (sqlite3.Error, pickle.PickleError, EOFError, AttributeError, ValueError):
            return None

    def put(self, text: str, tree) -> None:
        if self.db is None:
            return
        try:
            self.db.execute("INSERT OR REPLACE INTO trees VALUES (?, ?)", (text, pickle.dumps(tree)))
            self.db.commit()
        except (sqlite3.Error, pickle.PickleError):
            pass


_store: _Store | None = None


def _cached(normalised: str, compute):
    global _store
    if _store is None:
        _store = _Store()
    tree = _store.get(normalised)
    if tree is None:
        tree = compute()
        _store.put(normalised, tree)
    return tree


@lru_cache(maxsize=8192)
def parse_tree(latex: str, names: frozenset[str], macros_key: tuple = ()) -> Tree:
    """The tree of latex (the document's macros expanded), term by term when it is a long sum."""
    macros = dict(macros_key)
    text = user_macros.expand(latex, macros) if macros else latex
    normalised = normalise(text, names)
    return _cached(normalised, lambda: _parse(text, names, normalised))


def _parse(text: str, names: frozenset[str], normalised: str) -> Tree:
    tokens = normalised.split(" ")
    if len(tokens) < 40:
        return parse(text, names).tree
    terms = _terms(tokens)
    if len(terms) < 2:
        return parse(text, names).tree
    try:
        trees = [(op, parser().parse(" ".join(t))) for op, t in terms]
    except UnexpectedInput:
        return parse(text, names).tree  # raises the grammar's error, with its column
    tree = trees[0][1]
    for op, t in trees[1:]:
        tree = Tree("add" if op == "+" else "sub", [tree, t])
    return tree


def macros_key(macros: dict) -> tuple:
    return tuple(sorted(macros.items()))


__all__ = ["ParseError", "parse_tree", "macros_key", "Token"]
