"""Read a derivation by its structure: a Markdown page (with YAML or TOML front matter), a
LaTeX file (with its preamble), or a Jupyter notebook (its Markdown cells, through nbformat).

What is not the author's mathematics is blanked out (replaced by spaces, newlines kept, so
every offset still points at the same line): comments (% in LaTeX, <!-- --> in Markdown), code
(fenced blocks, code spans, verbatim environments, HTML script blocks), the preamble, and
macro definitions (whose uses are expanded).  A notebook's Markdown cells are joined, each
line remembering its cell and the line of the .ipynb file that holds it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from gradproof.derive import macros as user_macros

KINDS = {".md": "markdown", ".markdown": "markdown", ".mkd": "markdown", ".tex": "latex", ".ltx": "latex",
         ".ipynb": "notebook", ".txt": "markdown", ".rmd": "markdown", ".qmd": "markdown"}


class DocumentError(Exception):
    """The document cannot be read: missing, binary, not a document of a known kind, bad front matter."""


@dataclass(frozen=True)
class Source:
    path: str
    kind: str  # markdown, latex, notebook
    text: str  # what the checker reads; blanked parts are spaces, newlines kept
    file_lines: tuple[int, ...]  # the file's line for each line of text (1-based)
    cells: tuple[int | None, ...] = ()  # a notebook: the cell (1-based) of each line of text
    macros: dict = field(default_factory=dict)
    front: dict | None = None  # a TOML notation in the front matter
    notes: tuple[str, ...] = ()  # what was skipped, said once (YAML front matter, a preamble)

    def where(self, offset: int) -> tuple[int, int, str]:
        """(file line, column, a place in the user's terms) of an offset into text."""
        line = self.text.count("\n", 0, offset)
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        file_line = self.file_lines[min(line, len(self.file_lines) - 1)] if self.file_lines else line + 1
        if self.cells and self.cells[min(line, len(self.cells) - 1)] is not None:
            cell = self.cells[min(line, len(self.cells) - 1)]
            first = next(i for i, c in enumerate(self.cells) if c == cell)
            return file_line, column, f"cell {cell}, line {line - first + 1}"
        return file_line, column, f"line {file_line}"


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + "".join(ch if ch == "\n" else " " for ch in text[start:end]) + text[end:]


def _blank_all(text: str, pattern: re.Pattern) -> str:
    for m in reversed(list(pattern.finditer(text))):
        text = _blank(text, m.start(), m.end())
    return text


def read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DocumentError(f"{path}: a directory, not a document") from None
    except OSError as e:
        raise DocumentError(f"{path}: {e.strerror or e}") from None


def _decode(path: str, data: bytes) -> str:
    if b"\0" in data[:4096]:
        raise DocumentError(f"{path}:1:1: a binary file, not a Markdown, LaTeX or notebook document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DocumentError(f"{path}:{line}: not UTF-8 text ({e.reason})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# -- front matter ------------------------------------------------------------------------------

YAML_LINE = re.compile(r"^\s*(#.*|-\s.*|-|[A-Za-z_][\w .-]*\s*:.*|\s+\S.*)?$")
TOML_HINT = re.compile(r"^\s*(\[[^\]]+\]|[A-Za-z_][\w.-]*\s*=)", re.M)


def front_matter(text: str, path: str) -> tuple[dict | None, str, str | None]:
    """(TOML notation data or None, the text with the block blanked, a note).  A block between ---
    (or +++) lines at the top is a TOML notation when it reads as TOML, metadata when it reads
    as YAML (a blog post's title and layout), and an error otherwise."""
    m = re.match(r"(---|\+\+\+)[ \t]*\n", text)
    if not m:
        return None, text, None
    fence = m.group(1)
    end = re.search(rf"\n{re.escape(fence)}[ \t]*(\n|$)", text[m.end() - 1:])
    if not end:
        if fence == "---" and not TOML_HINT.search(text[m.end():m.end() + 400]):
            return None, text, None  # a horizontal rule, not front matter
        raise DocumentError(f"{path}:1:1: front matter opened with {fence} is never closed")
    block = text[m.end():m.end() - 1 + end.start()]
    stop = m.end() - 1 + end.end()
    blanked = _blank(text, 0, stop)
    from gradproof.derive import toml as tomllib

    looks_toml = fence == "+++" or bool(TOML_HINT.search(block))
    if looks_toml:
        try:
            return tomllib.loads(block), blanked, None
        except tomllib.TOMLDecodeError as e:
            if all(YAML_LINE.match(line) for line in block.splitlines()) and not re.search(r"^\s*\[", block, re.M):
                return None, blanked, "YAML front matter skipped (metadata, not a notation)"
            raise DocumentError(f"{path}: front matter: {e}") from None
    if all(YAML_LINE.match(line) for line in block.splitlines()):
        return None, blanked, "YAML front matter skipped (metadata, not a notation)"
    first = next((i for i, line in enumerate(block.splitlines()) if not YAML_LINE.match(line)), 0)
    raise DocumentError(f"{path}:{first + 2}:1: front matter is neither a TOML notation nor YAML metadata")


# -- Markdown ----------------------------------------------------------------------------------

FENCE = re.compile(r"^([ \t]*)(```+|~~~+)[^\n]*\n.*?^\1?\2[ \t]*$", re.M | re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
HTML_BLOCK = re.compile(r"<(script|style|pre|code)\b[^>]*>.*?</\1\s*>", re.S | re.I)
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>$]*)?/?>")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)


def _markdown(text: str) -> str:
    text = _blank_all(text, FENCE)
    text = _blank_all(text, HTML_COMMENT)
    text = _blank_all(text, HTML_BLOCK)
    text = _blank_all(text, HTML_TAG)
    # a code span never holds the author's mathematics, but $...$ may hold backticks: only spans
    # outside math are code
    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        before = text[:m.start()]
        if before.count("$") % 2 == 0 and "\n\n" not in m.group(2):
            out.append(text[last:m.start()])
            out.append("".join(ch if ch == "\n" else " " for ch in m.group(0)))
            last = m.end()
    return "".join(out) + text[last:]


# -- LaTeX -------------------------------------------------------------------------------------

VERBATIM = re.compile(r"\\begin\{(verbatim\*?|lstlisting|minted|comment|Verbatim|filecontents\*?)\}.*?\\end\{\1\}",
                      re.S)
INLINE_CODE = re.compile(r"\\(?:verb|lstinline)\*?([^A-Za-z\s])(.*?)\1")


def _latex_comments(text: str) -> str:
    out = []
    for line in text.split("\n"):
        m = re.search(r"(?<!\\)%", line)
        while m and _escaped(line, m.start()):
            m = re.compile(r"(?<!\\)%").search(line, m.start() + 1)
        out.append(line if not m else line[:m.start()] + " " * (len(line) - m.start()))
    return "\n".join(out)


def _escaped(line: str, at: int) -> bool:
    count, i = 0, at - 1
    while i >= 0 and line[i] == "\\":
        count, i = count + 1, i - 1
    return count % 2 == 1


def _latex(text: str) -> tuple[str, list[str], dict]:
    notes = []
    text = _latex_comments(text)
    macros = user_macros.collect(text)  # the preamble's and the body's, comments excluded
    text = _blank_all(text, VERBATIM)
    text = _blank_all(text, INLINE_CODE)
    begin = re.search(r"\\begin\{document\}", text)
    if begin:
        text = _blank(text, 0, begin.end())
        notes.append("the preamble was read for macros only")
    end = re.search(r"\\end\{document\}", text)
    if end:
        text = _blank(text, end.start(), len(text))
    return text, notes, macros


# -- notebooks ---------------------------------------------------------------------------------

def _notebook(path: str, raw: str) -> tuple[str, list[int], list[int | None]]:
    try:
        import nbformat
    except ImportError:  # pragma: no cover - a declared dependency
        raise DocumentError(f"{path}: reading a notebook needs nbformat (pip install nbformat)") from None
    try:
        notebook = nbformat.reads(raw, as_version=4)
    except Exception as e:  # nbformat raises several kinds (JSON, validation, version)
        where = ""
        if isinstance(e, json.JSONDecodeError):
            where = f":{e.lineno}:{e.colno}"
        raise DocumentError(f"{path}{where}: not a readable notebook ({str(e).splitlines()[0][:120]})") from None
    raw_lines = raw.split("\n")
    texts, file_lines, cells = [], [], []
    cursor = 0
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for line in lines:
            # the .ipynb line holding this cell line: its JSON encoding, searched forward
            encoded = json.dumps(line + "\n")[1:-1] if line else None
            found = None
            if encoded:
                # the whole encoded line first (two lines may begin alike), then its beginning
                for probe in (encoded, json.dumps(line)[1:-1], encoded[:60]):
                    found = next((k for k in range(cursor, len(raw_lines)) if probe in raw_lines[k]), None)
                    if found is not None:
                        break
            if found is not None:
                cursor = found + 1  # the next line of the cell is further down
            texts.append(line)
            file_lines.append(found + 1 if found is not None else max(cursor, 1))
            cells.append(number)
        texts.append("")  # cells are paragraphs apart
        file_lines.append(max(cursor, 1))
        cells.append(None)
    return "\n".join(texts), file_lines, cells


def read(path: str) -> Source:
    data = read_bytes(path)
    suffix = Path(path).suffix.lower()
    kind = KINDS.get(suffix)
    raw = _decode(path, data)
    if kind is None:
        stripped = raw.lstrip()
        kind = ("notebook" if stripped.startswith("{") and '"cells"' in raw[:20000] else
                "latex" if re.search(r"\\documentclass|\\begin\{document\}", raw) else "markdown")
    notes: list[str] = []
    if kind == "notebook":
        text, file_lines, cells = _notebook(path, raw)
        text = _markdown(text)
        macros = user_macros.collect(text)
        text = user_macros.definitions_removed(text)
        return Source(path, kind, text, tuple(file_lines), tuple(cells), macros, None, ())
    front, text, note = front_matter(raw, path)
    if note:
        notes.append(note)
    if kind == "latex":
        text, more, macros = _latex(text)
        notes += more
    else:
        text = _markdown(text)
        macros = user_macros.collect(text)
    text = user_macros.definitions_removed(text)
    lines = tuple(range(1, text.count("\n") + 2))
    return Source(path, kind, text, lines, (), macros, front, tuple(notes))
