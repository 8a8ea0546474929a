"""LaTeX to a syntax tree, failing loudly: what the grammar does not cover is an error with
its position, never a truncated expression (SymPy's antlr backend truncates silently)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from lark import Lark, Tree, UnexpectedInput

from . import wild

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma", "tau", "phi", "psi",
         "omega", "pi")
DROP = re.compile(r"\\left|\\right|\\bigl|\\bigr|\\Bigl|\\Bigr|\\big|\\Big|\\displaystyle|\\limits|\\,|\\;|\\!|\\quad|\\qquad|\\ ")
TRANSPOSE = re.compile(r"\^\s*(\{\s*\\top\s*\}|\\top|\{\s*T\s*\}|T(?![A-Za-z]))")
WRAPPERS = re.compile(r"\\(mathbf|boldsymbol|vec|mathrm|operatorname|bm)\s*\{([^{}]*)\}")
FUNCTION_TEXT = re.compile(r"\\text\s*\{\s*(softmax|sigmoid|exp|log)\s*\}")
MACROS = {r"\cdot": "*", r"\times": "*", r"\otimes": "⊗", r"\exp": "exp", r"\log": "log", r"\ln": "log",
          r"\neq": "!=", r"\ne": "!="}


class ParseError(Exception):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Parsed:
    tree: Tree
    text: str  # the normalised text the tree was parsed from


@cache
def parser() -> Lark:
    grammar = (Path(__file__).with_name("latex.lark")).read_text()
    return Lark(grammar, parser="earley", ambiguity="resolve", propagate_positions=True)


def normalise(latex: str, names: frozenset[str], in_the_wild: bool = True) -> str:
    """Macros to tokens; multi-letter names only where the notation declares them (EH), so
    that 'xEH_i' reads as x EH_i and 'Vx' as V x.

    in_the_wild: a derivation's LaTeX as people write it is first rewritten by derive/wild.py
    (norms and indicators become calls there); a model file's LaTeX is read as written, its
    norms, indicators and vectors of ones becoming the model tokens of latex.lark."""
    if in_the_wild:
        tidied = wild.tidy(latex)  # LaTeX as written in the wild, into this grammar's dialect (derive/wild.py)
        names = names | tidied.names
        latex = tidied.text
    text = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", latex)
    text = re.sub(r"\\left\s*\[", "(", text)
    text = re.sub(r"\\right\s*\]", ")", text)
    text = re.sub(r"\^\s*\{\s*\|\s*([A-Za-z])\s*\|\s*\}", r"^{\1}", text)  # a sum up to |V|: the size V
    text = re.sub(r"\\in\s+([A-Za-z])", "", text)  # \sum_{w \in V}: w over the vocabulary
    text = DROP.sub(" ", text)
    text = model_tokens(text)
    text = re.sub(r"\\begin\{cases\}", " CASES { ", text)
    text = re.sub(r"\\end\{cases\}", " } ", text)
    text = text.replace("\\casesep", " ; ").replace("&", " ")
    text = re.sub(r"\\text\{\s*if\s*\}", " IF ", text)
    text = re.sub(r"\\text\{\s*otherwise\s*\}", " OTHERWISE ", text)
    text = TRANSPOSE.sub("'", text)
    text = FUNCTION_TEXT.sub(lambda m: f" {m.group(1)} ", text)
    for _ in range(3):
        text = WRAPPERS.sub(lambda m: m.group(2), text)
    text = re.sub(r"\\hat\s*\{\s*([A-Za-z])\s*\}", r" \1hat ", text)
    text = re.sub(r"\\hat\s*([A-Za-z])", r" \1hat ", text)
    for macro, token in sorted(MACROS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(re.escape(macro) + r"(?![A-Za-z])", f" {token} ", text)
    for greek in GREEK:
        if greek != "delta":
            text = re.sub(rf"\\{greek}(?![A-Za-z])", f" {greek} ", text)
    return _split_names(text, names)


# -- model files (derive) ----------------------------------------------------------------------
# The primitives model files use, as the tokens of latex.lark's last block; added by the
# model-file work (issue 11).  \tilde{W} reads as the name Wtilde, as \hat{y} reads as yhat.
MODEL_TOKENS = (
    (re.compile(r"\\(mathbf|boldsymbol|bm)\s*\{\s*1\s*\}"), " ▮ "),  # a vector of ones
    (re.compile(r"\\mathbb\s*\{\s*1\s*\}"), " ∎ "),  # an indicator
    (re.compile(r"\\(odot|circ)(?![A-Za-z])"), " ⊙ "),
    (re.compile(r"\\\||\\[lr]Vert(?![A-Za-z])"), " ‖ "),
    (re.compile(r"\\(geq|ge)(?![A-Za-z])"), " ≥ "),
    (re.compile(r"\\(leq|le)(?![A-Za-z])"), " ≤ "),
    (re.compile(r"\\(tanh|max|min)(?![A-Za-z])"), r" \1 "),
    (re.compile(r"\\(textstyle|scriptstyle)(?![A-Za-z])"), " "),
    # \log\mathrm{softmax}: a macro and a wrapped word stay two words once the wrapper is gone
    (re.compile(r"(\\[A-Za-z]+)(?=\\(mathrm|operatorname|mathbf|boldsymbol|bm|vec|text)\s*\{)"), r"\1 "),
    (re.compile(r"\\tilde\s*\{\s*\\(mathbf|boldsymbol|bm|vec)\s*\{\s*([A-Za-z])\s*\}\s*\}"), r" \2tilde "),
    (re.compile(r"\\tilde\s*\{\s*([A-Za-z])\s*\}"), r" \1tilde "),
    (re.compile(r"\\tilde\s*([A-Za-z])"), r" \1tilde "),
)


def model_tokens(text: str) -> str:
    for pattern, token in MODEL_TOKENS:
        text = pattern.sub(token, text)
    return text


def _split_names(text: str, names: frozenset[str]) -> str:
    """Break runs of letters into declared names and single letters (macros stay whole)."""
    out, i = [], 0
    known = sorted(names | {"exp", "log", "softmax", "sigma", "new", "old", "yhat", "shat", "phat", "CASES", "IF",
                            "OTHERWISE"} | set(GREEK),
                   key=len, reverse=True)
    while i < len(text):
        if text[i] == "\\":
            j = i + 1
            while j < len(text) and text[j].isalpha():
                j += 1
            out.append(" " + text[i:j] + " ")
            i = j
            continue
        if text[i].isalpha():
            j = i
            while j < len(text) and text[j].isalpha():
                j += 1
            run = text[i:j]
            out.append(" " + " ".join(_words(run, known)) + " ")
            i = j
            continue
        if text.startswith("!=", i):
            out.append(" ≠ ")
            i += 2
            continue
        out.append(text[i] if text[i] not in "{}()^_'+-*=,|;" else f" {text[i]} ")
        i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _words(run: str, known: list[str]) -> list[str]:
    words, i = [], 0
    while i < len(run):
        for name in known:
            if run.startswith(name, i):
                words.append(name)
                i += len(name)
                break
        else:
            words.append(run[i])
            i += 1
    return words


@lru_cache(maxsize=4096)
def parse(latex: str, names: frozenset[str] = frozenset(), in_the_wild: bool = True) -> Parsed:
    """Parsed once per text: definitions are looked up at every derivative and instantiation.
    The trees are never mutated, so sharing them is safe."""
    text = normalise(latex, names, in_the_wild)
    if not text:
        raise ParseError("empty expression", 0)
    try:
        return Parsed(parser().parse(text), text)
    except UnexpectedInput as e:
        at = e.pos_in_stream if e.pos_in_stream is not None and e.pos_in_stream >= 0 else len(text)
        near = text[max(0, at - 12): at + 12].strip() or "the end"
        expected = sorted(set(getattr(e, "expected", None) or getattr(e, "allowed", None) or []))[:6]
        what = f"; expected {', '.join(expected)}" if expected else ""
        raise ParseError(f"cannot parse near '{near}'{what}", _column_in(latex, text, at)) from None


def _column_in(latex: str, text: str, at: int) -> int:
    """The 1-based column in the LaTeX the user wrote: the offending token is looked up there
    (the parser saw a normalised form); at the end of input, the end of the LaTeX."""
    if at >= len(text):
        return len(latex.rstrip()) + 1
    token = text[at:].split(" ", 1)[0]
    found = latex.find(token) if token else -1
    return found + 1 if found >= 0 else max(1, round(at * len(latex) / max(len(text), 1)))
