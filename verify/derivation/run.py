"""Check a whole document: read it, settle its notation, check every equation, collect the results.

The notation is never a silent default.  It comes from the document's front matter, from a
notation or model file the user names (--notation FILE), from a shipped notation the user
names (--notation skipgram) or that gradproof detects (a shipped notation says, in its
[detect] table, which words and symbols identify a document written in it; the report says
which it found), and in every case from the document's own definitions and use.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from gradproof.derive import toml as tomllib
from gradproof.derive import wild
from gradproof.derive.notation import SHIPPED, Notation, NotationError, from_dict, load

from .context import Context, from_notation
from .document import ROW_MARK, displays
from .infer import infer
from .source import DocumentError, read
from .repair import Repair, repair_parentheses
from .steps import Checker, EquationResult, LossFallback, check_display

__all__ = ["DocumentError", "DocumentResult", "check_document"]


@dataclass(frozen=True)
class DocumentResult:
    document: str
    equations: tuple[EquationResult, ...]
    seconds: float
    notation: tuple[str, ...] = ()  # where the notation came from, and what was inferred
    notes: tuple[str, ...] = ()

    def count(self, status: str, inline: bool | None = None) -> int:
        return sum(e.status == status for e in self.equations if inline is None or e.inline == inline)

    def steps(self, status: str) -> int:
        return sum(s.status == status for e in self.equations for s in e.steps)

    @property
    def checked(self) -> int:
        """Steps that got a verdict (holds or fails)."""
        return self.steps("holds") + self.steps("fails")


def shipped_names() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def _shipped(name: str) -> Path | None:
    path = SHIPPED / f"{name}.toml"
    return path if path.exists() else None


def detect(text: str, loss: bool = False) -> tuple[str, str] | None:
    """(shipped notation, why) when a shipped notation's [detect] words and symbols all occur.
    loss: among the notations that only supply a loss (their [detect] table names it)."""
    found = detect_all(text, loss)
    return found[0] if found else None


def detect_all(text: str, loss: bool = False) -> list[tuple[str, str]]:
    """Every shipped notation detect() would name, in name order."""
    out = []
    for name in shipped_names():
        try:
            data = tomllib.loads(_shipped(name).read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        rule = data.get("detect")
        if not rule or bool(rule.get("loss")) != loss:
            continue
        words = [w for w in rule.get("words", []) if re.search(rf"(?i)\b{re.escape(w)}\b", text)]
        symbols = [s for s in rule.get("symbols", []) if re.search(rule["symbols"][s], text)] \
            if isinstance(rule.get("symbols"), dict) else []
        signature = rule.get("signature") if isinstance(rule.get("signature"), dict) else {}
        signed = [s for s in signature if re.search(signature[s], text)]
        if len(symbols) != len(rule.get("symbols", {})):
            continue
        if words:
            shown = ", ".join(f"'{w}'" for w in words[:2])
            out.append((name, f"it mentions {shown} and uses {', '.join(symbols)}"))
        elif signature and len(signed) == len(signature):
            out.append((name, f"it writes {', '.join(signed)} and uses {', '.join(symbols)}"))
    return out


def notation_context(source, notation_path: str | None) -> tuple[Context, bool, list[str]]:
    """The starting context: (context, whether its definitions are authoritative, what to say)."""
    said = []
    if source.front:
        try:
            notation = from_dict(source.front, f"{source.path} front matter")
        except NotationError as e:
            raise DocumentError(str(e)) from None
        said.append("notation: the document's front matter")
        return from_notation(notation, "front matter"), True, said
    if notation_path:
        shipped = _shipped(notation_path) if re.fullmatch(r"[A-Za-z0-9_-]+", notation_path) and \
            not Path(notation_path).exists() else None
        try:
            notation = load(shipped or notation_path)
        except NotationError as e:
            raise DocumentError(str(e)) from None
        except (IsADirectoryError, UnicodeDecodeError) as e:
            raise DocumentError(f"{notation_path}: not a notation file ({e})") from None
        what = f"the shipped notation '{notation_path}'" if shipped else notation_path
        said.append(f"notation: {what}, as named by --notation")
        return from_notation(notation, "named"), True, said
    said.append("notation: none named; everything below is read from the document")
    return Context(source="the document"), False, said


def describe(ctx: Context) -> list[str]:
    """What the check runs under, one line each, in the author's symbols."""
    lines = []
    sizes = ", ".join(f"{k} = {v}" for k, v in ctx.sizes.items() if v)
    if sizes:
        lines.append(f"sizes (small, each different, so shapes are checked): {sizes}")
    for name, a in sorted(ctx.arrays.items()):
        if name.endswith("#"):
            continue
        kind = "row vector" if a.rows == "1" else "vector" if a.cols == "1" else "matrix"
        shape = f"{a.rows}x{a.cols}"
        extra = ""
        if name in ctx.onehots:
            at = ctx.onehots[name]
            extra = f", one-hot at {wild.shown(at)}" if at else ", one-hot (the target of a cross-entropy)"
        lines.append(f"{wild.shown(name)}: {kind} {shape}{extra} ({a.why or 'given'})")
    for letter, family in sorted(ctx.families.items()):
        matrix = family.matrix if not family.matrix.endswith("#") else f"a matrix of {letter}'s"
        lines.append(f"{letter}_w: {family.axis} w of {matrix}")
    scalars = [s for s in ctx.scalars if ctx.definition(s, 10 ** 12) is None]  # J with J_{naive-softmax}: defined
    if scalars:
        lines.append("scalar variables: " + ", ".join(sorted(wild.shown(s) for s in scalars)))
    particular = [wild.shown(k) for k in ctx.particular if not k.startswith("#")]
    if particular:
        lines.append("fixed indices (random values, different from each other): " + ", ".join(sorted(particular)))
    for name, defs in ctx.definitions.items():
        for d in defs:
            where = f"line {d.line}" if d.line else ("the notation" if d.origin != "document" else "the document")
            params = f"({', '.join(d.params)})" if d.kind == "function" else \
                (f"_{''.join(d.params)}" if d.kind == "component" else "")
            lines.append(f"{wild.shown(name)}{params} = {d.latex.strip()[:60]} ({where})")
    for key, defs in ctx.calls.items():
        for d in defs:
            if d.origin != "borrowed":  # a borrowed call has its own line, saying where it comes from
                lines.append(f"{d.name} = {d.latex.strip()[:60]}")
    for name in sorted(ctx.totals):
        lines.append(f"{wild.shown(name)} written bare: the sum of its entries {wild.shown(name)}_i (the prose calls it "
                     "a sum or total)")
    if ctx.einstein:
        lines.append("Einstein summation: a repeated index is summed (the document says so)")
    if ctx.dependent:
        lines.append("differentiated but never defined: " + ", ".join(sorted(wild.shown(d) for d in ctx.dependent)))
    return lines


def check_document(path: str, notation_path: str | None = None, trials: int = 3,
                   proof_budget: int | None = None, progress=None) -> DocumentResult:
    """Every equation of the document at path, checked.  proof_budget bounds the work spent on
    symbolic proofs of the steps that hold numerically, in operations (default:
    Checker.DOCUMENT_PROOF_BUDGET); a count, not seconds, so that a report is the same everywhere.
    progress(done, total, what), if given, is called as each equation starts."""
    start = time.perf_counter()
    source = read(path)
    found = displays(source)
    if not found:
        raise DocumentError(f"{path}: no equations (display math $$...$$, \\[...\\], an equation environment, "
                            "or inline math stating an equation)")
    ctx, authoritative, said = notation_context(source, notation_path)
    base = ctx
    ctx, roles, parsed = infer(ctx, source, found, authoritative)
    repair = repair_parentheses(lambda: notation_context(source, notation_path)[0], source, found, authoritative,
                                ctx.token_names(), trials)
    if repair is not None:  # a definition's lonely parenthesis, read the one way its first use allows
        found = list(repair.displays)
        ctx, roles, parsed = infer(notation_context(source, notation_path)[0], source, found, authoritative)
    if not (source.front or notation_path):
        detected = detect(source.text)
        gap = _gap(detected[0], ctx, parsed) if detected else []
        if detected and gap:
            # the document leans on a shipped notation it does not restate: check it under that one
            name, why = detected
            shown = ", ".join(wild.shown(g) for g in gap[:3])
            said = [f"notation: the shipped notation '{name}', detected because {why}, and the document uses "
                    f"{shown} without defining {'it' if len(gap) == 1 else 'them'} (name another with --notation FILE)"]
            ctx, roles, parsed = infer(from_notation(load(_shipped(name)), "shipped"), source, found, True)
        elif detected:
            said += _borrow_calls(detected, ctx, parsed)
    checker = Checker(ctx, trials, proof_budget=proof_budget)
    losses = _loss_fallbacks(source.text, ctx, parsed) if not (source.front or notation_path) else []
    checker.losses = tuple(losses)
    # the plain J is the loss of the one notation that may stand for it (not one named only by its tag)
    checker.loss = next((f for f in losses if not f.tagged_only), None)
    tell = progress or (lambda done, total, what: None)
    results = []
    for d in found:
        tell(len(results), len(found), f"line {d.line}")
        results.append(check_display(d, ctx, trials, roles, checker))
    tell(len(found), len(found), "")
    if repair is not None:
        results = [_repaired(d, r, repair) for d, r in zip(found, results)]
        said.append(f"the definition at {repair.where}: {repair.said}")
    return DocumentResult(path, tuple(_as_written(r) for r in results), time.perf_counter() - start,
                          tuple(_written(line) for line in said + describe(ctx)), source.notes)


def _written(text: str) -> str:
    """Text as the author wrote it: the reader marks a row break inside a nested environment with
    ROW_MARK (so the outer environment's split keeps the matrix whole); a user sees their \\\\."""
    return text.replace(ROW_MARK, "\\\\") if text else text


def _as_written(result: EquationResult) -> EquationResult:
    """An equation's results in the author's text, for every reader of them (report, JSON, Markdown)."""
    fields = ("lhs", "rhs", "reason", "counterexample", "correct", "reading", "subject", "chain")
    return replace(result, steps=tuple(replace(s, **{f: _written(getattr(s, f)) for f in fields}) for s in result.steps))


def _repaired(display, result: EquationResult, repair: Repair) -> EquationResult:
    """The steps of a repaired definition: the definition shown as written, the claim that chose its
    reading uncheckable (no evidence for itself), the later steps that use it saying so."""
    if len(result.steps) != len(display.steps):
        return result
    steps = []
    for step, r in zip(display.steps, result.steps):
        if step.position == repair.repaired:
            r = replace(r, rhs=repair.original)
        elif step.position == repair.evidence:
            r = replace(r, status="cannot_check", reason=repair.evidence_reason, counterexample="", reading="",
                        correct="")
        elif step.position in repair.users and r.status in ("holds", "fails"):
            r = replace(r, reading=f"{repair.reading}, {r.reading}" if r.reading else repair.reading)
        steps.append(r)
    return replace(result, steps=tuple(steps), status=_status(steps))


def _loss_fallbacks(text: str, ctx: Context, parsed: dict) -> list[LossFallback]:
    """The shipped losses for the steps whose J the document defines as another quantity, or names
    with a tag (J_{neg-sample}, J_{naive-softmax}) it never defines: one per detected notation."""
    out = []
    for name, why in detect_all(text, loss=True):
        found = _loss_fallback(name, why, ctx, parsed)
        if found is not None:
            out.append(found)
    return out


def _loss_fallback(name: str, why: str, ctx: Context, parsed: dict) -> LossFallback | None:
    data = tomllib.loads(_shipped(name).read_text())
    loss = data["detect"]["loss"]
    latex = data.get("definitions", {}).get(loss)
    if not latex:
        return None
    tags = tuple(data["detect"].get("tags", ()))
    tagged_only = bool(data["detect"].get("tagged_only", False))
    used = set()
    for p in parsed.values():
        for tree in (p.lhs, p.rhs):
            if tree is not None and hasattr(tree, "iter_subtrees"):
                used |= {n.children[0].value for n in tree.iter_subtrees() if n.data in ("symbol", "call")}
    tagged = tuple(sorted(n for n in used if n.startswith(loss + "tag") and ctx.definition(n, 10 ** 12) is None
                          and any(t in n[len(loss) + 3:] for t in tags)))
    indices = tuple(k for k in data.get("indices", {}) if isinstance(k, str) and len(k) == 1)
    if tagged_only and not tagged:
        return None
    return LossFallback(loss, latex, name, f"detected because {why}; the document does not define this {loss}",
                        tags, tagged, indices, tagged_only)


def _borrow_calls(detected: tuple[str, str], ctx: Context, parsed: dict) -> list[str]:
    """P(O=o|C=c), used and never defined by a document that the shipped notation's [detect] words
    and symbols describe: the notation's [detect.calls] meaning of it, over the document's own
    columns u_w and v_w (nothing else of the notation is taken), and said."""
    from .context import Definition

    name, why = detected
    data = tomllib.loads(_shipped(name).read_text())
    borrowable = data.get("detect", {}).get("calls", {})
    if not isinstance(borrowable, dict) or not borrowable:
        return []
    used = set()
    for p in parsed.values():
        for tree in (p.lhs, p.rhs):
            if tree is None or not hasattr(tree, "iter_subtrees"):
                continue
            for node in tree.iter_subtrees():
                if node.data == "call":
                    lefts = [c.children[0] for c in node.children[1].children
                             if hasattr(c, "data") and c.data == "condition"]
                    used.add(f"{node.children[0].value}({','.join(''.join(_words(x)) for x in lefts)})")
    said = []
    for spelled, latex in borrowable.items():
        pairs = re.findall(r"([A-Za-z]+)\s*=\s*([a-z])", spelled)
        key = f"{spelled.split('(')[0].strip()}({','.join(a for a, _ in pairs)})"
        needs = set(re.findall(r"\b([a-z])_\{?\\?[a-z]", latex))  # u_w, v_c: the columns it is written in
        if key not in used or key in ctx.calls or not pairs or not needs <= set(ctx.families):
            continue
        ctx.calls[key] = [Definition(spelled, latex, "call", tuple(b for _, b in pairs), origin="borrowed")]
        family = ctx.families["u"]
        matrix = ctx.arrays.get(family.matrix)
        count = (matrix.cols if family.axis == "column" else matrix.rows) if matrix is not None else ""
        for _, letter in pairs:
            if letter not in ctx.particular and letter not in ctx.sizes:
                ctx.particular[letter] = count  # o, c: one word each, as in the notation
        said.append(f"{spelled} = {latex} (the shipped notation '{name}', detected because {why}; the document "
                    f"uses {spelled.split('(')[0].strip()}(...) without defining it)")
    return said


def _words(node) -> list[str]:
    if hasattr(node, "children"):
        return [w for c in node.children for w in _words(c)]
    return [str(node)]


def _gap(name: str, ctx: Context, parsed: dict) -> list[str]:
    """Names the shipped notation defines by a formula that the document uses but never defines."""
    notation = load(_shipped(name))
    used = set()
    for p in parsed.values():
        for tree in (p.lhs, p.rhs):
            if tree is None or not hasattr(tree, "iter_subtrees"):
                continue
            for node in tree.iter_subtrees():
                if node.data != "symbol":
                    continue  # h(x), J(o, v_c, U): a call names a function of the document's own
                name = node.children[0].value
                if name == "e" and len(node.children) == 1:
                    continue  # e^{x}: Euler's number
                used.add(name)
    return sorted(n for n in notation.definitions if n in used and ctx.definition(n, 10 ** 12) is None)


def _status(steps) -> str:
    order = ("fails", "unparsed", "cannot_check", "holds", "defines")
    status = next(s for s in order if any(x.status == s for x in steps))
    if status == "defines" or (status == "holds" and all(x.status in ("holds", "defines") for x in steps)):
        status = "holds" if any(x.status == "holds" for x in steps) else "defines"
    return status
