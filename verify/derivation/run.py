"""Check a whole document: read it, check every display, collect the results."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .document import displays
from gradproof.derive.notation import Notation, NotationError, from_dict, load
from .steps import EquationResult, check_display


class DocumentError(Exception):
    """The document cannot be read: missing, binary, empty of display math, bad front matter."""


@dataclass(frozen=True)
class DocumentResult:
    document: str
    equations: tuple[EquationResult, ...]
    seconds: float

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.equations)


def read(path: str) -> str:
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as e:
        raise DocumentError(f"{path}: {e.strerror or e}") from None
    if b"\0" in data[:4096]:
        raise DocumentError(f"{path}:1:1: a binary file, not a Markdown or LaTeX document")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DocumentError(f"{path}:{line}: not UTF-8 text ({e.reason})") from None


def front_matter(text: str, path: str) -> tuple[Notation | None, str]:
    """A TOML notation between --- lines at the top of the document, if there is one."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end < 0:
        raise DocumentError(f"{path}:1:1: front matter opened with --- is never closed")
    from gradproof.derive import toml as tomllib

    try:
        data = tomllib.loads(text[4:end])
    except tomllib.TOMLDecodeError as e:
        raise DocumentError(f"{path}: front matter: {e}") from None
    try:
        return from_dict(data, f"{path} front matter"), "\n" * text[:end + 4].count("\n") + text[end + 4:]
    except NotationError as e:
        raise DocumentError(str(e)) from None


def check_document(path: str, notation_path: str | None = None, trials: int = 3) -> DocumentResult:
    start = time.perf_counter()
    text = read(path)
    notation, body = front_matter(text, path)
    if notation is None:
        try:
            notation = load(notation_path)
        except NotationError as e:
            raise DocumentError(str(e)) from None
    found = displays(body)
    if not found:
        raise DocumentError(f"{path}: no display equations ($$...$$, \\[...\\] or an equation environment)")
    results = tuple(check_display(d, notation, trials) for d in found)
    return DocumentResult(path, results, time.perf_counter() - start)
