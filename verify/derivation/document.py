"""Find the equations of a document and split them into steps.

Displays are $$...$$, \\[...\\] and the equation, align, gather, multline and eqnarray
environments (starred or not).  Inline math ($...$, \\(...\\)) that states an equation is read
too and reported apart; inline math that only names a case ($i = j$) is a condition for the
equations after it.

A display's label is a \\tag{..}, a trailing "\\quad (14)" or "(\\text{F1})".  Rows of aligned
environments continue one chain (a row starting with "&=" relates to the previous row's last
expression); a display that ends in "=" continues into the next, and one that starts with "="
continues the previous one.  Each link of a chain a = b = c is one step; each step also knows
the chain's subject a, so a checker can say where a chain went wrong and where it recovered.

Conditions come from the prose before an equation ("for $i = j$"), from the end of a row
("\\quad i \\neq j", "\\text{for all } w \\neq o"), and from rows that name a case ("w=o:&").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gradproof.derive import wild

ENVIRONMENTS = r"equation\*?|align\*?|gather\*?|multline\*?|eqnarray\*?|displaymath|flalign\*?|alignat\*?"
DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(" + ENVIRONMENTS + r")\}(?:\{\d+\})?(.+?)\\end\{\3\}", re.S)
INLINE = re.compile(r"(?<![\\$])\$(?!\$)((?:\\\$|[^$])+?)(?<!\\)\$(?!\$)|\\\((.+?)\\\)", re.S)
ALIGNMENT = {"aligned", "align", "align*", "split", "gathered", "gather", "gather*", "equation", "equation*",
             "multline", "multline*", "eqnarray", "eqnarray*", "flalign", "flalign*", "alignat", "alignat*",
             "alignedat"}
LABEL_PATTERNS = (
    re.compile(r"\\tag\*?\{([^{}]*)\}"),
    re.compile(r"\\quad\s*\(\s*\\text\{([^{}]*)\}\s*\)\s*$"),
    re.compile(r"\\quad\s*\(([0-9A-Za-z.]+)\)\s*$"),
    re.compile(r"\(\s*\\text\{([A-Z][0-9A-Za-z.]*)\}\s*\)\s*$"),
    re.compile(r"\\label\{([^{}]*)\}"),  # LaTeX's own name for an equation, when it has no \tag
)
BEGIN, END = "\\begin{", "\\end{"
RELATIONS = re.compile(r":=|=:|\\coloneqq|\\stackrel\{[^{}]*\}\{=\}|\\overset\{[^{}]*\}\{=\}|\\Rightarrow|\\implies|"
                       r"\\approx|\\equiv|\\propto|\\leq|\\geq|\\le(?![A-Za-z])|\\ge(?![A-Za-z])|\\neq|\\ne(?![A-Za-z])|"
                       r"(?<![<>!\\])=|<|>")


@dataclass(frozen=True)
class Step:
    lhs: str
    rhs: str
    relation: str  # "=", ":=", "\\Rightarrow", ...
    line: int = 0  # the line of the right-hand side in the file (a notebook: the .ipynb line)
    column: int = 0
    where: str = ""  # the place in the user's terms: "line 12", "cell 3, line 4"
    subject: str | None = None  # the first expression of this step's chain, when it is not lhs
    condition: tuple[tuple[str, str, str], ...] | None = None  # the case(s) stated for this row, all to hold
    position: int = 0
    note: str = ""  # something read differently from how it is written (a surplus parenthesis)
    inline: bool = False  # offset in the document: definitions apply to what comes after them


@dataclass(frozen=True)
class Display:
    label: str | None
    line: int  # 1-based line of the display's start
    column: int
    source: str  # the math, without delimiters and label
    steps: tuple[Step, ...]
    prose: bool  # a \text{...} sentence inside the math, or nothing to relate
    condition: tuple[tuple[str, str, str], ...] | None = None  # (("i", "=", "j"),) stated in the prose before
    inline: bool = False
    position: int = 0
    where: str = ""


@dataclass
class _Chain:
    """The chain being read: its subject and its last expression."""
    subject: str | None = None
    last: str | None = None
    condition: tuple | None = None
    open_end: bool = False  # the last row ended in "="


def _label(math: str) -> tuple[str | None, str]:
    for pattern in LABEL_PATTERNS:
        found = pattern.search(math)
        if found:
            return found.group(1).strip(), (math[:found.start()] + " " * (found.end() - found.start()) + math[found.end():])
    return None, math


ROW_MARK = "¶¶"  # a row break inside a nested environment; as long as the \\\\ it replaces
PIECEWISE = re.compile(r"\\left\s*\\\{\s*\\begin\{(aligned|array|matrix)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}\s*\\right\s*\.", re.S)


def _padded(text: str, length: int) -> str:
    return text + " " * max(0, length - len(text))


def _protect(math: str) -> str:
    """Row breaks inside a nested environment (cases, matrices, a piecewise brace, \\substack) are
    not rows of the display: they become \\casesep, same length kept where possible."""
    math = PIECEWISE.sub(lambda m: _padded(wild._piecewise(m.group(0)), len(m.group(0))), math)
    out, i, stack = [], 0, []
    while i < len(math):
        m = re.compile(r"\\begin\{([^{}]+)\}|\\end\{([^{}]+)\}|\\substack\s*\{|\\\\").match(math, i)
        if not m:
            out.append(math[i])
            i += 1
            continue
        token = m.group(0)
        if m.group(1):
            stack.append(m.group(1))
        elif m.group(2):
            if stack:
                stack.pop()
        elif token.startswith("\\substack"):
            stack.append("substack")
            end = wild._close(math, m.end() - 1)
            if end > 0:
                out.append(math[i:end + 1].replace("\\\\", ", "))
                stack.pop()
                i = end + 1
                continue
        elif token == "\\\\" and any(env not in ALIGNMENT for env in stack):
            out.append(ROW_MARK)
            i = m.end()
            continue
        out.append(token)
        i = m.end()
    return "".join(out)


ROW_BREAK = re.compile(r"\\\\\*?(\s*\[[^\]]*\])?")
WRAPPER = re.compile(r"\\(?:begin|end)\{(?:aligned|align\*?|split|gathered|gather\*?|equation\*?|multline\*?|eqnarray\*?|"
                     r"flalign\*?|alignat\*?|alignedat)\}(\{\d+\})?")


def _rows(math: str) -> list[tuple[int, str]]:
    """(offset, row) pairs: the display's rows, wrappers blanked."""
    math = _protect(math)
    math = WRAPPER.sub(lambda m: " " * len(m.group(0)), math)
    rows, start = [], 0
    for m in ROW_BREAK.finditer(math):
        rows.append((start, math[start:m.start()]))
        start = m.end()
    rows.append((start, math[start:]))
    return [(o, r) for o, r in rows if r.strip()]


def _split_top(text: str) -> list[tuple[str, str, int]]:
    """(relation, piece, offset) triples at brace, parenthesis and environment depth 0; the first
    relation is ''."""
    pieces, depth, start, relation, i = [], 0, 0, "", 0
    while i < len(text):
        ch = text[i]
        if text.startswith(BEGIN, i):
            depth += 1
        elif text.startswith(END, i):
            depth -= 1
        if ch == "\\" and text[i + 1:i + 2] in ("{", "}", "|", "(", ")"):
            i += 2
            continue
        if ch in "{(":
            depth += 1
        elif ch == ")" and depth == 0:
            pass  # a stray ), a typo: the relations after it still split the chain (its side is unparsed)
        elif ch in "})":
            depth -= 1
        elif depth == 0:
            found = RELATIONS.match(text, i)
            if found and not (found.group() == "=" and text[i - 1:i] in ("<", ">", "!", ":")):
                pieces.append((relation, text[start:i], start))
                relation, start = found.group(), found.end()
                i = found.end()
                continue
        i += 1
    pieces.append((relation, text[start:], start))
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
    piece = _alignment_removed(piece).strip()
    piece = re.sub(r"^\\(?:therefore|because|implies|Rightarrow|to|hence)(?![A-Za-z])", "", piece).strip()
    piece = re.sub(r"(\\(?:quad|qquad|,|;|:|!|\s)|\s)*$", "", piece)
    return piece.rstrip(",.;").strip()


def _alignment_removed(piece: str) -> str:
    """The alignment marks (&) of the display; those inside cases or a matrix stay theirs."""
    out, depth = [], 0
    for i, ch in enumerate(piece):
        if piece.startswith(BEGIN, i):
            depth += 1
        elif piece.startswith(END, i):
            depth -= 1
        out.append(" " if ch == "&" and depth == 0 else ch)
    return "".join(out)


PROSE = re.compile(r"^\s*\\text\s*\{[^{}]*[\s:,.][^{}]*\}\s*")  # words, not a function's name (\text{softmax})
NAMED_ROW = re.compile(r"^\s*\(\s*[ivx]+\s*\)\s*&")  # (i)&, (ii)&: an item's number
CASE_ROW = re.compile(r"^\s*([A-Za-z])\s*(=|\\neq|\\ne|\\not=)\s*([A-Za-z](?:\^\*)?)\s*:\s*&?\s*$")
PROSE_ROW = re.compile(r"^[\sA-Za-z\\:&.,]*$")
INDEX = r"[A-Za-z](?:'|\^\{?\*\}?|_\{?\d\}?)?"
CONDITION_TAIL = re.compile(
    r"(?:,|\\quad|\\qquad|\\;|\\,|\\ )\s*(?:\\quad|\\qquad|\\;|\\,|\\ |\s)*(?:\\text\s*\{\s*(?:for all|for|if|when|where)?\s*\}"
    r"(?:\\;|\\,|\\ |\s)*)?(?:\\forall\s*)?"
    r"(" + INDEX + r")\s*(=|\\neq|\\ne(?![A-Za-z])|\\not=|\\in)\s*(" + INDEX + r"|\[[^\]]*\]|\\\{[^}]*\\\}|[0-9][0-9A-Za-z,\s\\.]*?)"
    r"\s*[,.]?\s*$")
PAREN_CONDITION = re.compile(r"\(\s*(" + INDEX + r")\s*(=|\\neq|\\ne(?![A-Za-z])|\\not=)\s*(" + INDEX + r")\s*\)")


def _tail_condition(row: str) -> tuple[str, tuple | None, bool]:
    """A row's trailing case ("\\quad i = j", ", \\forall k \\in [1, K]"): the row without it, the
    condition (None for a range, which needs no restriction), whether one was found."""
    m = CONDITION_TAIL.search(row)
    if not m or _depth(row, m.start()) != 0:
        return row, None, False
    a, relation, b = m.group(1), m.group(2), m.group(3).strip()
    before = row[:m.start()]
    if not re.search(r"=", before.replace("\\neq", "").replace("\\ne", "")):
        return row, None, False  # the whole row is the condition's own equation
    if relation == "\\in" or not re.fullmatch(INDEX, b):
        return before, None, True
    return before, (_index(a), "=" if relation == "=" else "!=", _index(b)), True


def _index(text: str) -> str:
    return re.sub(r"\s", "", text).replace("^{*}", "^*").replace("{", "").replace("}", "")


def _paren_condition(piece: str) -> tuple[str, tuple | None]:
    """\\partial w_c (w \\neq c): the case written in parentheses after a left-hand side."""
    m = PAREN_CONDITION.search(piece)
    if m and m.end() >= len(piece.rstrip()) - 1:
        return piece[:m.start()], (_index(m.group(1)), "=" if m.group(2) == "=" else "!=", _index(m.group(3)))
    return piece, None


WHERE = re.compile(r",?\s*(?:\\quad|\\qquad|\\;|\\,|\s)*\\text\s*\{\s*where\s*\}|,?\s*\\text\s*\{\s*,?\s*where\s*\}")
SEPARATORS = re.compile(r"(?:\\ ){2,}|(?:\\quad\s*){2,}|\\qquad|(?<!\\);")


def _equations_of_row(row: str) -> list[tuple[int, str]]:
    """A row holding several equations ("a = b \\qquad c = d", "a = b, \\text{ where } c = d")."""
    out, start = [], 0
    parts = []
    for m in list(WHERE.finditer(row)) + list(SEPARATORS.finditer(row)):
        parts.append((m.start(), m.end()))
    parts.sort()
    pieces, cursor = [], 0
    for s, e in parts:
        if s < cursor or _depth(row, s) != 0:
            continue
        pieces.append((cursor, row[cursor:s]))
        cursor = e
    pieces.append((cursor, row[cursor:]))
    # a separator only splits where both pieces state an equation
    merged: list[tuple[int, str]] = []
    for offset, piece in pieces:
        if merged and (not _has_relation(piece) or not _has_relation(merged[-1][1])):
            previous_offset, previous = merged[-1]
            merged[-1] = (previous_offset, row[previous_offset:offset + len(piece)])
        else:
            merged.append((offset, piece))
    return [(o, p) for o, p in merged if p.strip()]


def _depth(text: str, at: int) -> int:
    depth = 0
    for ch in text[:at]:
        depth += (ch in "{(") - (ch in "})")
    return depth


def _has_relation(text: str) -> bool:
    return len(_split_top(text)) > 1


CONDITION = re.compile(r"(?:\b(?:[Ii]f|[Ff]or|[Ww]hen|[Cc]ase|[Ww]here|[Oo]therwise)\b[^$\n]{0,20})?\$\s*(" + INDEX +
                       r")\s*(=|==|\\neq|\\ne(?![A-Za-z])|\\not=)\s*(" + INDEX + r")\s*\$")


AFTER = re.compile(r"\s*,?\s*(?:when|if|for|where|whenever)\s+\$\s*(" + INDEX + r")\s*(=|==|\\neq|\\ne(?![A-Za-z])|\\not=)\s*(" +
                   INDEX + r")\s*\$")


def _condition(before: str) -> tuple[str, str, str] | None:
    """A case stated in the prose right before an equation: "for $i = j$", "if $i \\neq j$"."""
    found = list(CONDITION.finditer(before[-240:]))
    if not found:
        return None
    a, relation, b = found[-1].groups()
    return _index(a), "=" if relation in ("=", "==") else "!=", _index(b)


def _is_condition_math(math: str) -> bool:
    """Inline math that only names a case or a value: $i = j$, $w \\neq o$, $y_w = 1$ is not (it says
    something about y), $k = 1$ neither."""
    bare = re.sub(r"[{}]", "", math)
    if re.fullmatch(r"\s*" + INDEX + r"\s*(=|==|\\neq|\\ne|\\not=)\s*" + INDEX + r"\s*", bare):
        return True
    # a range: $i = 1, \cdots, N$, $k = 1, 2, \dots, K$
    return bool(re.fullmatch(r"\s*" + INDEX + r"\s*=\s*[0-9A-Za-z]+\s*,.*\\(?:c|l)?dots.*", math, re.S))


@dataclass
class _Reader:
    source: object  # verify.derivation.source.Source
    out: list = field(default_factory=list)
    chain: _Chain = field(default_factory=_Chain)
    inline: bool = False

    def place(self, offset: int) -> tuple[int, int, str]:
        return self.source.where(offset)

    def display(self, body: str, body_offset: int, start: int, inline: bool, condition) -> None:
        self.inline = inline
        label, math = _label(body)
        steps: list[Step] = []
        chain = self.chain if not inline else _Chain()
        first = True
        row_condition = None
        for row_offset, raw in _rows(math):
            offset = body_offset + row_offset
            row = raw
            named = NAMED_ROW.match(row)
            if named:
                row = " " * named.end() + row[named.end():]
            case = CASE_ROW.match(row.replace("\\ ", " "))
            if case:  # "w=o:&" names the case of the rows below it
                row_condition = (case.group(1), "=" if case.group(2) == "=" else "!=", _index(case.group(3)))
                continue
            prose = PROSE.match(row)
            if prose:  # "\text{Or equivalently: } h_i = ...": the words are not part of the equation
                row = " " * prose.end() + row[prose.end():]
            if not row.strip() or (PROSE_ROW.match(row) and not re.search(r"=|\\frac|[_^]", row)
                                   and re.search(r"[A-Za-z]{3,}", row)):
                continue  # a prose row ("forward\ &calculation:", "\text{Or equivalently:}")
            origin = re.match(r"^\s*(origin|LHS|lhs)\s*&\s*=", row)
            if origin:  # "origin&= ...": the chain's subject again
                row = " " * (origin.end() - 1) + row[origin.end() - 1:]
                chain.last = chain.subject
            for piece_offset, piece in _equations_of_row(row):
                self.equation(piece, offset + piece_offset, chain, steps, first and not inline,
                              row_condition or condition)
                first = False
        prose = "\\text{" in math and not steps
        line, column, where = self.place(start)
        self.out.append(Display(label, line, column, math.strip(), tuple(steps), prose, _conjoin(condition), inline,
                                start, where))

    def equation(self, row: str, offset: int, chain: _Chain, steps: list, first_row: bool, condition) -> None:
        if not _balanced(row):
            line, column, where = self.place(offset)
            steps.append(Step(row.strip(), "", "unbalanced", line, column, where, None, _conjoin(condition), offset))
            return
        row, tail, found = _tail_condition(row)
        if tail is not None:
            condition = _conjoin(condition, tail)
        pieces = _split_top(row)
        expressions = []
        notes = {}
        for relation, piece, at in pieces:
            text = _strip(piece)
            text, parenthesised = _paren_condition(text)
            if parenthesised:
                condition = _conjoin(condition, parenthesised)
            surplus = text.count(")") - text.count("(")
            if surplus > 0 and text.rstrip().endswith(")" * surplus):
                text = text.rstrip()[:-surplus].rstrip()  # -\log(\sigma(x))) : the last ) closes nothing
                notes[text] = f"the {surplus} ')' too many at the end of {'this side' if surplus == 1 else 'it'} " \
                              "ignored"
            expressions.append((text, relation, offset + at))
        if len(expressions) == 2 and expressions[0][0] and self.cases_with_steps(expressions, chain, steps, condition):
            return
        if len(expressions) == 1 and self.cases_with_steps([(None, "", offset)] + expressions, chain, steps, condition):
            return  # \begin{cases} a = b \\ c = d, & w \neq o \end{cases}: one equation per row
        starts_open = not expressions[0][0] and len(expressions) > 1
        if starts_open:
            if chain.last is None:
                expressions = expressions[1:]  # "= b" with nothing before it: b starts a chain
                chain.subject = None
            else:
                expressions[0] = (chain.last, "", offset)
        elif first_row and chain.open_end and chain.last is not None and expressions[0][0] and \
                (len(expressions) == 1 or not expressions[-1][0]):
            # the previous display ended in "=": this one goes on with its chain ("a = \quad (20)", "b = ...")
            expressions = [(chain.last, "", offset), (expressions[0][0], "=", expressions[0][2])] + expressions[1:]
        else:
            chain.subject = None
        if chain.subject is None and expressions and expressions[0][0]:
            chain.subject = expressions[0][0]
        for (left, _, _), (right, relation, at) in zip(expressions, expressions[1:]):
            if left and right:
                line, column, where = self.place(at)
                subject = chain.subject if chain.subject not in (None, left) else None
                note = notes.get(left, "") or notes.get(right, "")
                steps.append(Step(left, right, relation, line, column, where, subject, _conjoin(condition), at, note,
                                  self.inline))
        chain.open_end = bool(expressions) and not expressions[-1][0] and len(expressions) > 1
        if expressions and expressions[-1][0]:
            chain.last = expressions[-1][0]
        elif len(expressions) > 1:
            chain.last = expressions[-2][0]
        chain.condition = condition


    def cases_with_steps(self, expressions, chain: _Chain, steps: list, condition) -> bool:
        """f = \begin{cases} a = b & \text{if } c \\ ... \\end{cases}: each row is a chain of its own
        under its case, whose subject is f (or, with no f, an equation of its own)."""
        (subject, _, _), (cases, _, at) = expressions
        m = re.fullmatch(r"\s*\\begin\{cases\}(.*)\\end\{cases\}\s*", cases, re.S)
        if not m:
            return False
        body_offset = at + cases.index("\\begin{cases}") + len("\\begin{cases}")
        rows, start = [], 0
        for sep in re.finditer(r"\\casesep|¶¶|\\\\", m.group(1)):
            rows.append((start, m.group(1)[start:sep.start()]))
            start = sep.end()
        rows.append((start, m.group(1)[start:]))
        parsed = []
        for offset, row in rows:
            if not row.strip():
                continue
            value, _, case = row.partition("&")
            parsed.append((offset, value, case))
        if not any(_has_relation(value) for _, value, _ in parsed):
            return False
        seen: list[tuple] = []
        for offset, value, case in parsed:
            stated = _case_condition(case)
            if stated == "otherwise":
                stated = tuple((a, "!=", b) for (a, r, b) in seen) if seen and all(r == "=" for _, r, _ in seen) \
                    else None
            elif stated:
                seen.append(stated)
                stated = (stated,)
            opened = stated is not None and subject is not None
            row_chain = _Chain(subject=subject, last=subject if opened else None)
            text = ("= " if opened else "") + value
            shift = -2 if opened else 0
            self.equation(text, body_offset + offset + shift, row_chain, steps, False,
                          _conjoin(condition, stated) if stated is not None else condition)
        chain.subject, chain.last = None, None
        return True


def _case_condition(case: str):
    """A case's condition: (a, rel, b), "otherwise", or None when it cannot be read."""
    text = re.sub(r"\\text\s*\{\s*(?:if|for|when)?\s*\$([^$]*)\$\s*[,.]?\s*\}", r" \1 ", case)
    text = re.sub(r"\\text\s*\{\s*(if|for|when|for all)\s*\}", " ", text)
    text = re.sub(r"\\[,;:! ]|\\quad|\\qquad", " ", text).strip().strip(",.").strip()
    if re.fullmatch(r"(\\text\s*\{\s*)?(otherwise|else)\s*[.,]?\s*\}?", text) or not text:
        return "otherwise"
    m = re.fullmatch(r"(" + INDEX + r")\s*(=|\\neq|\\ne|\\not=)\s*(" + INDEX + r")", text)
    if m:
        return _index(m.group(1)), "=" if m.group(2) == "=" else "!=", _index(m.group(3))
    return None


def _conjoin(*conditions):
    """Conditions as one conjunction: a tuple of (a, rel, b) triples, or None."""
    out = []
    for c in conditions:
        if not c:
            continue
        if isinstance(c[0], str):
            out.append(c)
        else:
            out.extend(c)
    return tuple(dict.fromkeys(out)) or None


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + "".join(ch if ch == "\n" else " " for ch in text[start:end]) + text[end:]


def displays(source) -> list[Display]:
    """Every equation of the document, displays and inline equations, in document order."""
    if isinstance(source, str):  # plain text: read as Markdown
        from .source import Source

        source = Source("<text>", "markdown", source, tuple(range(1, source.count("\n") + 2)))
    text = source.text
    reader = _Reader(source)
    found = []
    for m in DISPLAY.finditer(text):
        body_group = next(g for g in (1, 2, 4) if m.group(g) is not None)
        found.append((m.start(), m.end(), m.start(body_group), m.group(body_group), False))
    rest = text
    for start, end, *_ in found:
        rest = _blank(rest, start, end)
    inline = []
    for m in INLINE.finditer(rest):
        group = 1 if m.group(1) is not None else 2
        body = m.group(group)
        if "\n\n" in body:
            continue
        inline.append((m.start(), m.end(), m.start(group), body, True))
    inline = _merge_split_inline(rest, inline)
    events = sorted(found + inline)
    previous_end = 0
    pending = None  # a condition stated in prose, and where it was stated
    for start, end, body_start, body, is_inline in events:
        before = text[previous_end:start]
        stated = _condition(before)
        if stated:
            pending = stated
        elif pending and (len(re.sub(r"\s", "", before)) > 40 or re.search(r"^#|\\(sub)*section|\\item", before, re.M)):
            pending = None  # prose moved on: the case no longer applies
        if is_inline and re.search(r"\\begin\{(aligned|align\*?|gathered|split|array)\}", body):
            is_inline = False  # $\begin{aligned} ... \end{aligned}$: a display written with single dollars
        if is_inline:
            if _is_condition_math(body):
                stated = _condition(text[max(previous_end, start - 40):end])
                if stated:  # "If $i = j$, this gives": the case of the equations that follow
                    pending = stated
                previous_end = end
                continue
            if not _has_relation(body) or not re.search(r"[A-Za-z\\]", body):
                previous_end = end
                continue
            after = AFTER.match(text, end)  # "$y_w = 1$ when $w = o$": the case follows the equation
            own = (_index(after.group(1)), "=" if after.group(2) in ("=", "==") else "!=", _index(after.group(3))) \
                if after else None
            reader.display(body, body_start, start, True, own or pending)
        else:
            # a display after prose starts a new chain unless it opens with "="
            if re.search(r"\S", re.sub(r"\$[^$]*\$", "", before)) and not re.match(r"\s*(\\begin\{[^}]*\}\s*)*&?\s*=",
                                                                                 body) and not reader.chain.open_end:
                reader.chain = _Chain()  # prose between: a new chain, unless the last display ended in "="
            reader.display(body, body_start, start, False, pending)
        previous_end = end
    return [d for d in reader.out]


def _merge_split_inline(text: str, inline: list) -> list:
    """"Let $\\theta$ = $U^Tv_c$": an equation split across two inline maths is one equation; and
    "b = $-u_k^T v_c$", its left side outside the math, too."""
    out, skip = [], set()
    for i, item in enumerate(inline):
        if i in skip:
            continue
        start, end, body_start, body, flag = item
        if i + 1 < len(inline):
            nxt = inline[i + 1]
            between = text[end:nxt[0]]
            if re.fullmatch(r"\s*=\s*", between) and not _has_relation(body) and not _has_relation(nxt[3]):
                out.append((start, nxt[1], body_start, body + " = " + nxt[3], flag))
                skip.add(i + 1)
                continue
        before = re.search(r"(?<![A-Za-z])([A-Za-z])\s*=\s*$", text[max(0, start - 8):start])
        if before and not _has_relation(body):
            out.append((start, end, body_start, f"{before.group(1)} = {body}", flag))
            continue
        out.append(item)
    return out
