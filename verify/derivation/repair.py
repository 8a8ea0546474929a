"""A definition with one parenthesis never closed (or never opened), read the one way the
document's own next claim allows.

`J = -\\log(\\sigma(a) - \\sum_k \\log\\sigma(b_k)`: the `(` after \\log is closed nowhere, and the
places a `)` could close it give different losses.  Each place where the `)` closes that very
parenthesis and the definition parses is one reading; the first claim after the definition that
uses it (its first derivative, say) is checked under each.  When it holds under exactly one, that
is the reading of the definition for the rest of the document, said on the definition and on
every step that uses it; the claim that chose it stays uncheckable (it is no evidence for the
reading it chose).  A function the document never defines (\\delta typed for \\sigma) is read
jointly, as steps.py reads one in a step: each known function in turn, in the definition and in
the claim alike.  Nothing is read when no place, or several, fit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lark import Tree

from .document import Display, Step
from .infer import _try_parse, definable, infer
from .steps import IDENTIFIABLE, Checker, check_step, read_as

__all__ = ["Repair", "repair_parentheses"]

OPEN, CLOSE = "(", ")"


@dataclass(frozen=True)
class Repair:
    """The one reading found: the displays to check, read with it; where it was made; what to say."""
    displays: tuple[Display, ...]
    repaired: int  # position of the repaired definition
    where: str  # its place, in the user's terms
    original: str  # its right side as written
    evidence: int  # position of the claim that chose the reading
    said: str  # "read with ) inserted after ..., ..."
    evidence_reason: str  # what the claim that chose it says instead of a verdict
    users: tuple[int, ...]  # positions of the later steps that use the repaired definition
    reading: str  # what those steps say about it


def unmatched(text: str) -> tuple[str, int] | None:
    """("(", i): the one parenthesis at i that nothing closes (")": that nothing opens); None when
    the parentheses balance, or more than one is unmatched, or a \\left( or \\right) is (its
    partner is not a plain parenthesis)."""
    stack, lonely = [], []
    for i, ch in enumerate(text):
        if ch not in "()" or (i and text[i - 1] == "\\"):
            continue
        if ch == OPEN:
            stack.append(i)
        elif stack:
            stack.pop()
        else:
            lonely.append((CLOSE, i))
    lonely += [(OPEN, i) for i in stack]
    if len(lonely) != 1:
        return None
    kind, at = lonely[0]
    if re.search(r"\\(left|right|big|Big|bigg|Bigg)[lr]?\s*$", text[:at]):
        return None
    return lonely[0]


def places(text: str, kind: str, at: int) -> list[int]:
    """Offsets where the partner of the lonely parenthesis at `at` may go: on its side of it, at
    the same brace depth, with every parenthesis between them matched (so that the one inserted
    closes, or opens, that very one), never inside a command's name or right after \\, _ or ^."""
    out = []
    span = range(at + 1, len(text) + 1) if kind == OPEN else range(at, -1, -1)
    braces = parens = 0
    for i in span:
        if kind == OPEN and i > at + 1:  # what lies between the lonely ( and offset i
            braces += _nesting(text, i - 1, "{}")
            parens += _nesting(text, i - 1, OPEN + CLOSE)
        elif kind == CLOSE and i < at:  # what lies between offset i and the lonely )
            braces -= _nesting(text, i, "{}")
            parens -= _nesting(text, i, OPEN + CLOSE)
        if braces < 0 or parens < 0:
            break  # out of the group the lonely parenthesis is in
        if braces or parens:
            continue
        if i < len(text) and text[i].isalpha() and re.search(r"\\[A-Za-z]*$", text[:i]):
            continue  # inside \log
        if i and text[i - 1] in "\\_^":
            continue
        out.append(i)
    return out


def _nesting(text: str, i: int, pair: str) -> int:
    """+1 where text[i] opens the pair ("{}", "()"), -1 where it closes it, else 0 (\\{ is a character)."""
    if i and text[i - 1] == "\\":
        return 0
    return (text[i] == pair[0]) - (text[i] == pair[1])


def readings(text: str, macros: dict, names: frozenset) -> list[tuple[str, int]]:
    """(the text repaired, the offset of the partner inserted), one per distinct parse."""
    lonely = unmatched(text)
    if lonely is None:
        return []
    kind, at = lonely
    partner = CLOSE if kind == OPEN else OPEN
    out, trees = [], []
    for i in places(text, kind, at):
        candidate = text[:i] + partner + text[i:]
        tree = _try_parse(candidate, macros, names)
        if tree is None or any(tree == t for t in trees):
            continue
        trees.append(tree)
        out.append((candidate, i))
    return out


def _described(text: str, kind: str, at: int, i: int) -> str:
    """') inserted after \\sigma(a)': where the partner goes, in the author's text."""
    if kind == OPEN:
        opened = " ".join(text[max(0, at - 12):at + 1].split())
        before = " ".join(text[at + 1:i].split())
        shown = before if len(before) <= 40 else "…" + before[-39:]
        return f"a ) inserted after {shown} to close {opened}" if i < len(text) else \
            f"a ) inserted at the end to close {opened}"
    closed = " ".join(text[at:at + 12].split())
    after = " ".join(text[i:at].split())
    shown = after if len(after) <= 40 else after[:39] + "…"
    return f"a ( inserted before {shown} to open {closed}"


def _names(tree) -> set[str]:
    if not isinstance(tree, Tree):
        return set()
    return {n.children[0].value for n in tree.iter_subtrees() if n.data in ("symbol", "call")
            and n.children and hasattr(n.children[0], "value")}


def _uses(ctx, parsed_step, definition) -> bool:
    names = _names(parsed_step.lhs) | _names(parsed_step.rhs)
    return any(ctx.definition(n, parsed_step.step.position) == definition for n in names)


def _with(found: list[Display], edits: dict[int, Step]) -> list[Display]:
    """The displays with the steps whose identity is a key replaced."""
    return [replace(d, steps=tuple(edits.get(id(s), s) for s in d.steps)) if any(id(s) in edits for s in d.steps)
            else d for d in found]


def repair_parentheses(fresh, source, found: list[Display], authoritative: bool, names: frozenset,
                       trials: int = 3) -> Repair | None:
    """The one repair of a definition's lonely parenthesis that the document's first claim using the
    definition fits, or None.  fresh() gives the starting context (infer completes it in place)."""
    for display in found:
        for step in display.steps:
            if step.relation != "=" or not step.rhs or unmatched(step.rhs) is None or \
                    _try_parse(step.rhs, source.macros, names) is not None:
                continue
            left = _try_parse(step.lhs, source.macros, names)
            if left is None or definable(left, step.lhs) is None:
                continue  # a claim, not a definition: nothing after it could choose its reading
            found_here = _repair_step(step, fresh, source, found, authoritative, names, trials)
            if found_here is not None:
                return found_here
    return None


def _repair_step(step: Step, fresh, source, found: list[Display], authoritative: bool, names: frozenset,
                 trials: int) -> Repair | None:
    kind, at = unmatched(step.rhs)
    fits, tried = [], []
    for text, i in readings(step.rhs, source.macros, names):
        swaps = [None]
        k = 0
        while k < len(swaps):
            swap = swaps[k]
            k += 1
            outcome = _trial(step, text, swap, fresh, source, found, authoritative, trials)
            if outcome is None:
                break  # not read as a definition, or no claim uses it
            evidence, result = outcome
            tried.append(i)
            if result.status == "holds":
                fits.append((text, i, swap, evidence))
                if len(fits) > 1:
                    return None
            undefined = re.match(r"undefined function (\w+)\(", result.reason) \
                if result.status == "cannot_check" and swap is None else None
            if undefined and re.search(rf"\\{undefined.group(1)}(?![A-Za-z])", text + evidence.lhs + evidence.rhs):
                swaps += [(undefined.group(1), g) for g in IDENTIFIABLE]
    if len(fits) != 1:
        return None
    text, i, swap, evidence = fits[0]
    read = _swapped(text, swap)
    how = _described(step.rhs, kind, at, i)
    function = f" and {_macro(swap[0])} read as {_macro(swap[1])}" if swap else ""
    where = evidence.where or f"line {evidence.line}"
    said = (f"read with {how}{function}: the one place with which the step at "
            f"{where} holds (of {len(set(tried))} places where it parses); that step is no evidence for itself")
    repaired = replace(step, rhs=read, note=f"{step.note}; {said}" if step.note else said)
    edits = {id(step): repaired}
    displays = _with(found, edits)
    ctx, roles, parsed = infer(fresh(), source, displays, authoritative)
    definition = next((d for defs in ctx.definitions.values() for d in defs
                       if d.position == step.position and d.origin == "document"), None)
    users = tuple(p.step.position for p in parsed.values()
                  if p.step.position > evidence.position and not roles.get(id(p.step))
                  and definition is not None and _uses(ctx, p, definition))
    defined_at = step.where or f"line {step.line}"
    reading = f"the definition at {defined_at} read with {how}{function} (the one reading with which the step " \
              f"at {where} holds)"
    because = f"this step holds with the definition at {defined_at} read with {how}{function}, and with no " \
              "other place the ) could close; it chose that reading, so it is no evidence for itself"
    if kind == CLOSE:
        because = because.replace("the ) could close", "the ( could open")
    return Repair(tuple(displays), step.position, defined_at, step.rhs, evidence.position, said, because, users, reading)


def _macro(name: str) -> str:
    return "\\" + name


def _swapped(text: str, swap) -> str:
    return text if swap is None else read_as(text, *swap)


def _trial(step: Step, text: str, swap, fresh, source, found: list[Display], authoritative: bool, trials: int):
    """(the first claim after the definition that uses it, its result) with the definition read as
    text (and the function swap[0] read as swap[1] in both); None when the text defines nothing or
    nothing uses it."""
    edits = {id(step): replace(step, rhs=_swapped(text, swap))}
    displays = _with(found, edits)
    ctx, roles, parsed = infer(fresh(), source, displays, authoritative)
    repaired = edits[id(step)]
    if not roles.get(id(repaired)):
        return None
    definition = next((d for defs in ctx.definitions.values() for d in defs
                       if d.position == step.position and d.origin == "document"), None)
    if definition is None:
        return None
    for display in displays:
        for s in display.steps:
            if s.position <= step.position or roles.get(id(s)) or s.relation != "=":
                continue
            p = parsed.get(id(s))
            if p is None or not _uses(ctx, p, definition):
                continue
            claim = replace(s, lhs=_swapped(s.lhs, swap), rhs=_swapped(s.rhs, swap),
                            subject=_swapped(s.subject, swap))
            checker = Checker(ctx, trials)
            checker.identifying = True  # no other reading chosen inside this trial
            return s, check_step(claim, ctx, trials, condition=display.condition, role="", checker=checker)
    return None
