"""Find the display equations of a Markdown or LaTeX document and split them into steps.

A display is $$...$$, \\[...\\], or an equation/align environment.  Its label is a
\\tag{..}, a trailing "\\quad (14)" or "(\\text{F1})".  Rows of aligned environments continue
one chain (a row starting with "&=" relates to the previous row's last expression), and a
chain that ends in "=" continues into the next display.  Each link of a chain a = b = c is
one step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(equation\*?|align\*?|gather\*?)\}(.+?)\\end\{\3\}", re.S)
LABEL_PATTERNS = (
    re.compile(r"\\tag\{([^{}]*)\}"),
    re.compile(r"\\quad\s*\(\s*\\text\{([^{}]*)\}\s*\)\s*$"),
    re.compile(r"\\quad\s*\(([0-9A-Za-z.]+)\)\s*$"),
    re.compile(r"\(\s*\\text\{([A-Z][0-9A-Za-z.]*)\}\s*\)\s*$"),
)
BEGIN, END = "\\begin{", "\\end{"
RELATIONS = re.compile(r":=|\\stackrel\{[^{}]*\}\{=\}|\\Rightarrow|\\approx|=")


@dataclass(frozen=True)
class Step:
    lhs: str
    rhs: str
    relation: str  # "=", ":=", "\\Rightarrow", ...


@dataclass(frozen=True)
class Display:
    label: str | None
    line: int  # 1-based line of the display's start
    column: int
    source: str  # the math, without delimiters and label
    steps: tuple[Step, ...]
    prose: bool  # a \text{...} sentence inside the math, or nothing to relate
    condition: tuple[str, str, str] | None = None  # ("i", "=", "j") stated in the prose just before


def _label(math: str) -> tuple[str | None, str]:
    for pattern in LABEL_PATTERNS:
        found = pattern.search(math)
        if found:
            return found.group(1).strip(), (math[:found.start()] + math[found.end():]).strip()
    return None, math.strip()


def _rows(math: str) -> list[str]:
    # a cases environment is one expression: its rows are not rows of the chain
    math = re.sub(r"\\begin\{cases\}.*?\\end\{cases\}", lambda m: m.group().replace("\\\\", "\\casesep "), math, flags=re.S)
    math = re.sub(r"\\begin\{(aligned|align\*?|split|gathered)\}|\\end\{(aligned|align\*?|split|gathered)\}", "", math)
    return [r.strip() for r in re.split(r"\\\\", math) if r.strip()]


def _split_top(text: str) -> list[tuple[str, str]]:
    """(relation, piece) pairs at brace, parenthesis and environment depth 0; the first relation is ''."""
    pieces, depth, start, relation, i = [], 0, 0, "", 0
    while i < len(text):
        ch = text[i]
        if text.startswith(BEGIN, i):
            depth += 1
        elif text.startswith(END, i):
            depth -= 1
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif depth == 0:
            found = RELATIONS.match(text, i)
            if found and not (found.group() == "=" and text[i - 1:i] in ("<", ">", "!")):
                pieces.append((relation, text[start:i]))
                relation, start = found.group(), found.end()
                i = found.end()
                continue
        i += 1
    pieces.append((relation, text[start:]))
    return pieces


def _balanced(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{}" and i and text[i - 1] == "\\":
            continue  # \{ and \} are literal braces
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


def _strip(piece: str) -> str:
    return piece.replace("&", " ").strip().rstrip(",.;").strip()


PROSE = re.compile(r"^\\text\{[^{}]*\}\s*")


def _chains(math: str) -> list[str]:
    """Rows of the display, with several equations on one line ("a = b; c = d") apart."""
    rows = []
    for row in _rows(math):
        rows += [r.strip() for r in _split_semicolons(row) if r.strip()]
    return rows


def _split_semicolons(row: str) -> list[str]:
    depth, start, out = 0, 0, []
    for i, ch in enumerate(row):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(row[start:i])
            start = i + 1
    return out + [row[start:]]


CONDITION = re.compile(r"\$\s*([a-z])\s*(=|\\neq|\\ne)\s*([a-z])\s*\$")


def _condition(before: str) -> tuple[str, str, str] | None:
    """A case stated in the prose right before a display: "for $i = j$", "if $i \\neq j$"."""
    found = list(CONDITION.finditer(before[-240:]))
    if not found:
        return None
    a, relation, b = found[-1].groups()
    return a, "=" if relation == "=" else "!=", b


def displays(text: str) -> list[Display]:
    out, carried, end = [], None, 0  # carried: the last expression of a chain that ended in "="
    for found in DISPLAY.finditer(text):
        condition = _condition(text[end:found.start()])
        end = found.end()
        body = next(g for g in (found.group(1), found.group(2), found.group(4)) if g is not None)
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        label, math = _label(body)
        steps: list[Step] = []
        previous = carried
        carried = None
        rows = _chains(math)
        separate = ";" in math  # "a = b; c = d" are separate chains, not one
        for number, raw in enumerate(rows):
            row = PROSE.sub("", raw)  # "Or equivalently:" before the math
            if separate and number > 0:
                previous = None
            if not _balanced(row):  # a stray brace would hide the relation: report the row as it is
                steps.append(Step(row, "", "unbalanced"))
                continue
            pieces = [p for _, p in _split_top(row) if p.replace("&", "").strip()]
            if previous is not None and number == 0 and len(pieces) == 1 and not row.lstrip().startswith(("&", "=")):
                row = "= " + row  # a lone expression goes on with the chain the previous display left open
            parts = _split_top(row)
            expressions = [(_strip(p), r) for r, p in parts]
            if not expressions[0][0] and previous is not None and len(parts) > 1:
                expressions[0] = (previous, "")  # "&= b" continues from the previous row
            for (left, _), (right, relation) in zip(expressions, expressions[1:]):
                if left and right:
                    steps.append(Step(left, right, relation))
            if expressions[-1][0]:
                previous = expressions[-1][0]
            elif len(expressions) > 1:  # the row ends in "=": the chain goes on in the next display
                carried = expressions[-2][0]
        prose = "\\text{" in math and not steps
        out.append(Display(label, line, column, math, tuple(steps), prose, condition))
    return out
