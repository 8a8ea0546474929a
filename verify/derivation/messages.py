"""What could not be read, said in the author's terms: the column, the construct, and what to
write instead.  Never the grammar's token names (BIGOP, __ANON_2): those are ours."""
from __future__ import annotations

import re

from gradproof.derive.latex import ParseError

SUGGESTIONS = (
    (re.compile(r"^\\[A-Za-z]+"), lambda m: f"the command {m.group(0)}",
     "an unknown command: define it with \\newcommand (gradproof expands the document's own macros) or write "
     "it in standard LaTeX"),
    (re.compile(r"^\|"), lambda m: "a bare |",
     "write an absolute value as \\left| x \\right| and a norm as \\| x \\|; a | inside P( | ) is a conditional bar"),
    (re.compile(r"^\)"), lambda m: "a ) without its (",
     "a closing parenthesis too many: check the parentheses around this point"),
    (re.compile(r"^\("), lambda m: "a ( never closed",
     "an opening parenthesis without its closing one"),
    (re.compile(r"^\}"), lambda m: "a } without its {", "a closing brace too many"),
    (re.compile(r"^\{"), lambda m: "a { never closed", "an opening brace without its closing one"),
    (re.compile(r"^[,;]"), lambda m: f"'{m.group(0)}'",
     "a list or a range (1, ..., K) is not an expression; conditions go after \\quad or in \\text{if ...}"),
    (re.compile(r"^\^"), lambda m: "a superscript with nothing before it", "put the base before ^"),
    (re.compile(r"^_"), lambda m: "a subscript with nothing before it", "put the symbol before _"),
    (re.compile(r"^[=<>]"), lambda m: f"'{m.group(0)}'", "a relation inside an expression: split the chain there"),
    (re.compile(r"^[0-9.]+"), lambda m: f"the number {m.group(0)}", "a number where an operator was expected"),
    (re.compile(r"^\S"), lambda m: f"'{m.group(0)}'", ""),
)


def unparsed_reason(latex: str, error: ParseError) -> str:
    """'column 12: cannot read <construct>; <suggestion>' for a ParseError on latex."""
    column = max(1, getattr(error, "column", 1) or 1)
    text = str(error)
    if "empty expression" in text:
        return "column 1: an empty expression (nothing on this side of the relation)"
    at = latex[column - 1:] if column - 1 < len(latex) else ""
    if not at.strip():
        opened = latex.count("(") - latex.count(")")
        braces = latex.count("{") - latex.count("}")
        if opened > 0:
            return f"column {column}: the expression ends with a ( never closed; add the missing )"
        if braces > 0:
            return f"column {column}: the expression ends with a {{ never closed; add the missing }}"
        return f"column {column}: the expression ends too early (an operator or an argument is missing)"
    for pattern, construct, suggestion in SUGGESTIONS:
        m = pattern.match(at.lstrip())
        if m:
            what = construct(m)
            return f"column {column}: cannot read {what}" + (f"; {suggestion}" if suggestion else "")
    return f"column {column}: cannot read this expression here"
