"""User macros: \\newcommand, \\renewcommand, \\providecommand, \\def and \\DeclareMathOperator,
collected from a document (its preamble or body) and expanded in its mathematics.

What the grammar sees is always the expansion, so a derivation written with its author's own
shorthand (\\newcommand{\\R}{\\mathbb{R}}, \\def\\vv#1{\\mathbf{#1}}) reads like one written without.
Expansion is bounded: a macro that expands to itself stops after a fixed depth instead of
looping.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DEPTH = 12  # nested expansions; a recursive definition stops here


@dataclass(frozen=True)
class Macro:
    name: str  # without the backslash
    arguments: int
    body: str
    default: str | None = None  # the optional first argument's default ([...] after [n])


def _group(text: str, at: int) -> tuple[str, int] | None:
    """The brace group starting at ``at`` (after spaces): (its content, the index after it)."""
    i = at
    while i < len(text) and text[i] in " \t\n":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "\\":
            continue
        if text[j] == "{" and text[j - 1:j] != "\\":
            depth += 1
        elif text[j] == "}" and text[j - 1:j] != "\\":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
    return None


def _token(text: str, at: int) -> tuple[str, int] | None:
    """One argument: a brace group's content, a control sequence, or one character."""
    found = _group(text, at)
    if found:
        return found
    i = at
    while i < len(text) and text[i] in " \t\n":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "\\":
        j = i + 1
        while j < len(text) and text[j].isalpha():
            j += 1
        return text[i:max(j, i + 2)], max(j, i + 2)
    return text[i], i + 1


NEWCOMMAND = re.compile(r"\\(?:re)?newcommand\*?|\\providecommand\*?")
DEF = re.compile(r"\\def\s*\\([A-Za-z]+)((?:#\d)*)")
OPERATOR = re.compile(r"\\DeclareMathOperator\*?")


def collect(text: str) -> dict[str, Macro]:
    """Every macro the text defines, in order (a later definition replaces an earlier one)."""
    found: list[tuple[int, Macro]] = []
    for m in NEWCOMMAND.finditer(text):
        i = m.end()
        name = _group(text, i)
        if name:
            title, i = name[0].strip(), name[1]
        else:
            single = re.match(r"\s*\\([A-Za-z]+)", text[i:])
            if not single:
                continue
            title, i = "\\" + single.group(1), i + single.end()
        if not title.startswith("\\"):
            continue
        arguments, default = 0, None
        count = re.match(r"\s*\[(\d)\]", text[i:])
        if count:
            arguments, i = int(count.group(1)), i + count.end()
            optional = re.match(r"\s*\[([^\]]*)\]", text[i:])
            if optional:
                default, i = optional.group(1), i + optional.end()
        body = _group(text, i)
        if body:
            found.append((m.start(), Macro(title[1:], arguments, body[0], default)))
    for m in DEF.finditer(text):
        body = _group(text, m.end())
        if body:
            found.append((m.start(), Macro(m.group(1), len(m.group(2)) // 2, body[0])))
    for m in OPERATOR.finditer(text):
        name = _group(text, m.end())
        if not name:
            continue
        body = _group(text, name[1])
        if body and name[0].strip().startswith("\\"):
            # an operator prints its name upright: \operatorname keeps it one word for the grammar
            found.append((m.start(), Macro(name[0].strip()[1:], 0, "\\operatorname{" + body[0] + "}")))
    return {macro.name: macro for _, macro in sorted(found, key=lambda f: f[0])}


def expand(latex: str, macros: dict[str, Macro]) -> str:
    """The LaTeX with every use of a macro replaced by its body, arguments substituted."""
    if not macros:
        return latex
    pattern = re.compile(r"\\(" + "|".join(sorted(map(re.escape, macros), key=len, reverse=True)) + r")(?![A-Za-z])")
    for _ in range(MAX_DEPTH):
        out, last, changed = [], 0, False
        for m in pattern.finditer(latex):
            if m.start() < last:
                continue
            macro = macros[m.group(1)]
            i, args = m.end(), []
            if macro.default is not None:
                optional = re.match(r"\s*\[([^\]]*)\]", latex[i:])
                if optional:
                    args.append(optional.group(1))
                    i += optional.end()
                else:
                    args.append(macro.default)
            while len(args) < macro.arguments:
                token = _token(latex, i)
                if token is None:
                    break
                args.append(token[0])
                i = token[1]
            if len(args) < macro.arguments:
                continue  # used without its arguments: left as written (the grammar will say where)
            body = macro.body
            for n, arg in enumerate(args, 1):
                body = body.replace(f"#{n}", arg)
            out.append(latex[last:m.start()])
            # a body ending in a letter command must not run into the letters that follow
            out.append(body + (" " if re.search(r"\\[A-Za-z]+$", body) else ""))
            last, changed = i, True
        if not changed:
            return latex
        latex = "".join(out) + latex[last:]
    return latex


def definitions_removed(text: str) -> str:
    """The text with its macro definitions blanked out (same length, newlines kept), so that a
    definition's body is never read as mathematics of the document."""
    spans = []
    for pattern in (NEWCOMMAND, OPERATOR):
        for m in pattern.finditer(text):
            i = m.end()
            for _ in range(2):
                group = _group(text, i)
                if group is None:
                    single = re.match(r"\s*\\[A-Za-z]+", text[i:])
                    if single and _ == 0:
                        i += single.end()
                        continue
                    break
                i = group[1]
                options = re.match(r"(\s*\[[^\]]*\])+", text[i:])
                if options:
                    i += options.end()
            spans.append((m.start(), i))
    for m in DEF.finditer(text):
        body = _group(text, m.end())
        spans.append((m.start(), body[1] if body else m.end()))
    out = list(text)
    for start, end in spans:
        for k in range(start, min(end, len(text))):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)
