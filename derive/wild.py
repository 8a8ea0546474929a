"""LaTeX as people write it, rewritten into the dialect the grammar reads.

Derivations in the wild use MathJax shorthands (\\part, \\pmb), old font switches ({\\bf x}),
decorations over subscripted symbols (\\hat{y_k}), text subscripts (J_{neg-sample}),
superscripts before subscripts (u^T_k), braces left out (U^Tv_c, \\frac 1{y}), ordinary
derivatives (\\frac{d\\sigma}{dx}), primes (\\sigma'(x)), norms, indicators and matrices.  Each
rewrite here turns one such idiom into the form latex.normalise already reads; none of them
changes what an expression means.

Decorated and tagged names become single words the tokenizer keeps whole (\\hat{y} -> yhat,
J_{neg-sample} -> Jtagnegsample, v' -> vprime, W^{(1)} -> Wsup1); ``tidy`` returns them with
the rest, and ``shown`` writes such a word back the way its author wrote it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega")
# words a derivation uses as functions: kept whole by the tokenizer, read as calls
FUNCTIONS = ("tanh", "sinh", "cosh", "sin", "cos", "max", "min", "relu", "ReLU", "softplus", "sigmoid", "softmax",
             "tr", "Tr", "trace", "diag", "norm", "abs", "sqrt", "indicator", "primeof", "CE", "CrossEntropy", "ln",
             "nabla", "cdots", "exp", "log")
UNICODE = {"−": "-", "∣": "|", "×": r"\times ", "·": r"\cdot ", "⋅": r"\cdot ", "∑": r"\sum ", "∂": r"\partial ",
           "σ": r"\sigma ", "θ": r"\theta ", "≠": r"\neq ", "⊤": r"\top ", "∘": r"\circ ", "⊙": r"\odot ",
           "…": r"\ldots ", "⋯": r"\cdots ", "∇": r"\nabla ", "≤": r"\leq ", "≥": r"\geq ", "′": "'", "∈": r"\in ",
           "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\xa0": " "}
WRAPPERS = ("mathbf", "boldsymbol", "bm", "pmb", "vec", "mathrm", "mathit", "mathsf", "mathcal", "mathscr",
            "textbf", "textit", "textrm", "mathnormal", "operatorname", "bf", "it", "rm", "mathbfit", "boldsymbol")
DECORATIONS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar",
               "overline": "bar"}
SPACING = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|mathstrut|nonumber|notag|quad|qquad|"
                     r"enspace|thinspace|medspace|thickspace|negthinspace|middle|bigg?[lrm]?|Bigg?[lrm]?|[,;:! ])"
                     r"(?![A-Za-z])")
SIZED = re.compile(r"\\(?:left|right)(?![A-Za-z])\s*")


@dataclass(frozen=True)
class Tidied:
    text: str
    names: frozenset[str]  # words made here that the tokenizer must keep whole


def _close(text: str, i: int, open_: str = "{", close: str = "}") -> int:
    """The index of the bracket that closes the one at ``i`` (escaped brackets do not count), or -1."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text) and text[j + 1] in "{}":
            j += 2
            continue
        if ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _open_before(text: str, j: int, open_: str = "(", close: str = ")") -> int:
    """The index of the bracket that opens the one closing at ``j``, or -1."""
    depth = 0
    for i in range(j, -1, -1):
        if text[i] == close:
            depth += 1
        elif text[i] == open_:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _argument(text: str, i: int) -> tuple[str, int] | None:
    """A macro's argument at ``i`` (after spaces): a brace group's content, a control word, or
    one character.  (content, index after it, whether it was braced)."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "{":
        j = _close(text, i)
        return (text[i + 1:j], j + 1) if j > 0 else None
    if text[i] == "\\":
        j = i + 1
        while j < len(text) and text[j].isalpha():
            j += 1
        return text[i:max(j, i + 2)], max(j, i + 2)
    return text[i], i + 1


SYMBOLISH = re.compile(r"^\s*(\\[A-Za-z]+|[A-Za-z][A-Za-z0-9]*)\s*((_|\^)\s*(\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|\\?[A-Za-z0-9]+)\s*)*$")


def _unwrap(text: str) -> str:
    """Font switches dropped: \\mathbf{u}_o -> u_o, \\pmb U -> U, {\\bf x} -> x, \\mathbf{U^T} -> U^T.
    A compound argument keeps its braces as a group ({U^T v_c}), so nothing regroups."""
    text = re.sub(r"\{\s*\\(?:bf|it|rm|boldsymbol|bm)\s+([^{}]*)\}", r"{\1}", text)
    pattern = re.compile(r"\\(" + "|".join(sorted(set(WRAPPERS), key=len, reverse=True)) + r")(?![A-Za-z])")
    for _ in range(400):
        m = pattern.search(text)
        if not m:
            break
        arg = _argument(text, m.end())
        if arg is None:
            text = text[:m.start()] + text[m.end():]
            continue
        content, end = arg
        braced = text[m.end():end].lstrip().startswith("{")
        if m.group(1) in ("mathrm", "operatorname", "textrm") and re.fullmatch(r"\s*[A-Za-z][A-Za-z ]*[A-Za-z]\s*",
                                                                             content):
            content = content.replace(" ", "")  # \operatorname{Vocab}, \mathrm{softmax}: one word
        if not braced or SYMBOLISH.match(content) or re.fullmatch(r"\s*\\?[A-Za-z]+\s*", content):
            replacement = f" {content.strip()} " if not content.strip().startswith("\\") else content.strip()
            if re.fullmatch(r"[A-Za-z]", content.strip()) or SYMBOLISH.match(content):
                replacement = content.strip()
        elif "," in content:
            replacement = content  # \bf{y,\hat{y}}: two arguments, not one group
        else:
            replacement = "{" + content + "}"
        # a symbol's name must not run into a letter written right after the switch's argument
        after = text[end:end + 1]
        if replacement and replacement[-1].isalpha() and after.isalpha():
            replacement += " "
        text = text[:m.start()] + replacement + text[end:]
    return text


def _decorations(text: str, names: set[str]) -> str:
    """\\hat{y_k} -> \\hat{y}_{k}; then \\hat{y} -> yhat (any letter or Greek name)."""
    keys = "|".join(sorted(DECORATIONS, key=len, reverse=True))
    # \hat(y), a typo for \hat{y}
    text = re.sub(rf"\\({keys})\s*\(\s*([A-Za-z])\s*\)", r"\\\1{\2}", text)
    for _ in range(6):
        m = re.search(rf"\\({keys})(?![A-Za-z])", text)
        if not m:
            break
        arg = _argument(text, m.end())
        if arg is None:
            text = text[:m.start()] + text[m.end():]
            continue
        content, end = arg
        content = content.strip()
        sub = ""
        inner = re.match(r"^(\\[A-Za-z]+|[A-Za-z])\s*((?:[_^]\s*(?:\{.*\}|\\?[A-Za-z0-9]+)\s*)+)$", content, re.S)
        if inner:  # \hat{y_k}: the hat is over y, the subscript belongs to yhat
            content, sub = inner.group(1), inner.group(2)
        base = content.lstrip("\\")
        if not re.fullmatch(r"[A-Za-z]+", base) or (content.startswith("\\") and base not in GREEK):
            text = text[:m.start()] + content + sub + text[end:]  # a hat over an expression: read without it
            continue
        word = base + DECORATIONS[m.group(1)]
        names.add(word)
        text = text[:m.start()] + " " + word + sub + text[end:]
    return text


def _layers(text: str, names: set[str]) -> str:
    """W^{(1)} -> Wsup1 (a layer's superscript is part of the name); W_{cb}^{(2)} -> Wsup2_{cb};
    W^{(2)T} -> Wsup2^T."""
    def name(m):
        word = f"{m.group(1)}sup{''.join(DIGITS.get(ch, ch) for ch in m.group(3))}"
        names.add(word)
        transpose = "^{\\top}" if m.group(4) else ""
        return f" {word}{m.group(2) or ''}{transpose}"

    return re.sub(r"(?<![\\A-Za-z])([A-Za-z])\s*(_\s*\{[^{}]*\}|_\s*[A-Za-z0-9])?\s*\^\s*\{\s*\(\s*([A-Za-z0-9]+)\s*\)"
                  r"\s*(T|\\top|\\intercal)?\s*\}", name, text)


def _tags(text: str, names: set[str]) -> str:
    """J_{neg-sample}, J_\\text{skip-gram}, J_{n a i v e-s o f t m a x} -> one name, Jtagnegsample."""
    def tag(m):
        raw = m.group(2) if m.group(2) is not None else m.group(3)
        clean = re.sub(r"\\(text|mathrm|textrm|operatorname|mathit)\s*", "", raw)
        clean = re.sub(r"[{}\s]", "", clean)
        hyphenated = re.fullmatch(r"[A-Za-z]+(-[A-Za-z]+)+", clean)
        if not (hyphenated or (re.fullmatch(r"[A-Za-z]{4,}", clean) and "\\text" in raw)
                or (re.fullmatch(r"[A-Za-z]{5,}", clean))):
            return m.group(0)
        word = f"{m.group(1)}tag{clean.replace('-', '').lower()}"
        names.add(word)
        return " " + word + " "

    text = re.sub(r"(?<![\\A-Za-z])([A-Za-z])\s*_\s*\\text\s*\{([^{}]*)\}()", tag, text)
    return re.sub(r"(?<![\\A-Za-z])([A-Za-z])\s*_\s*\{((?:[^{}]|\{[^{}]*\})*)\}()", tag, text)


def _primes(text: str, names: set[str]) -> str:
    """f'(x) -> fprime(x); \\sigma'(x) -> sigmaprime(x); v'_{w} -> vprime_{w}; v_{w}^{'} -> vprime_{w};
    (expr)' -> primeof(expr)."""
    text = re.sub(r"\^\s*\{\s*(?:\\prime|')+\s*\}", lambda m: "'" * max(1, m.group(0).count("prime") + m.group(0).count("'")), text)
    text = re.sub(r"\^\s*\\prime", "'", text)
    text = re.sub(r"\\prime", "'", text)
    # a prime after a subscript belongs to the name: v_{w_j}' -> v'_{w_j}
    text = re.sub(r"(?<![\\A-Za-z])((?:\\[A-Za-z]+|[A-Za-z][A-Za-z]*))\s*(_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))\s*('+)",
                  r"\1\3\2", text)
    # (expr)' -> primeof(expr): the derivative of a parenthesised expression
    for _ in range(4):
        m = re.search(r"\)\s*'", text)
        if not m:
            break
        start = _open_before(text, m.start())
        if start < 0:
            break
        call = re.search(r"(\\?[A-Za-z]+)\s*$", text[:start])  # f(x)': the prime is on the call
        if call and call.group(1) not in ("\\left", "\\big", "\\Big", "\\bigg", "\\Bigg"):
            start = call.start()
            inner = text[start:m.start() + 1]
        else:
            inner = text[start + 1:m.start()]
        text = text[:start] + " primeof(" + inner + ")" + text[m.end():]
        names.add("primeof")

    def prime(m):
        base, count = m.group(1).lstrip("\\"), len(m.group(2))
        if re.match(r"(exp|log|softmax|sigma)", base) and count == 1:
            word = "D" + base  # sigmaprime would lex as sigma + prime: the grammar's sigma is a function word
        else:
            word = base + "prime" * count
        names.add(word)
        return f" {word} "

    return re.sub(r"(?<![A-Za-z])(\\[A-Za-z]+|[A-Za-z]+hat|[A-Za-z]+tilde|[A-Za-z])\s*('+)", prime, text)


def _transposes(text: str) -> str:
    """Every transpose spelling to ^{\\top}; a transpose written before a subscript moves after it
    (u^T_k -> u_{k}^{\\top}); U^Tv_c is U^{\\top} v_c, since ^T takes one character."""
    text = re.sub(r"\{\s*\}\s*\^", "^", text)  # { }^{T}: an empty group before a superscript
    text = re.sub(r"\^\s*\{\s*(?:\\top|\\intercal|\\mathsf\s*\{\s*T\s*\}|\\mathrm\s*\{\s*T\s*\}|T|\\mathsf\s*T|"
                  r"\\mathrm\s*T)\s*\}", r"^{\\top}", text)
    text = re.sub(r"\^\s*(?:\\intercal|\\top|\\mathsf\s*\{\s*T\s*\}|\\mathrm\s*\{\s*T\s*\}|T)(?![A-Za-z{])",
                  r"^{\\top}", text)
    text = re.sub(r"\^\s*T(?=[A-Za-z\\])", r"^{\\top} ", text)
    text = re.sub(r"\^\{\\top\}\s*(_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))", r"\1^{\\top}", text)
    return text


def _sums(text: str, names: set[str]) -> str:
    """\\sum_{w \\in Vocab} -> \\sum_{w=1}^{Vocab}: a sum over a named set runs over its size."""
    def over(m):
        letter, raw = m.group(1), m.group(2)
        name = re.sub(r"\\(text|mathrm|operatorname|mathit|mathcal)\s*", "", raw)
        name = re.sub(r"[{}\s]", "", name)
        if re.fullmatch(r"\|?[A-Za-z]+\|?", name):
            if len(name.strip("|")) > 1:
                names.add(name.strip("|"))
            return f"\\sum_{{{letter}=1}}^{{{name.strip('|')}}}"
        return f"\\sum_{{{letter}}}"

    text = re.sub(r"\\sum\s*_\s*\{\s*([A-Za-z])\s*\\in\s*((?:[^{}]|\{[^{}]*\})*)\}(\s*\^\s*\{\s*\})?", over, text)
    # windows of skip-gram: \sum_{\substack{-m \leq j \leq m \\ j \neq 0}} and \sum_{-m\leq j\leq m, j\neq 0}
    # with their bounds and the excluded offset kept: \sum_{j=-m, j \neq 0}^{m}
    low, high = r"(-?\s*[A-Za-z0-9]+)", r"([A-Za-z0-9]+)"
    excluded = r"([A-Za-z])\s*\\neq?(?![A-Za-z])\s*([A-Za-z0-9]+)"

    def window(m):
        letter = m.group(2)
        if m.group(4) and m.group(4) != letter:
            return m.group(0)
        bounds = f"\\sum_{{{letter}={m.group(1).replace(' ', '')}"
        rest = f", {letter} \\neq {m.group(5)}}}" if m.group(4) else "}"
        return f"{bounds}{rest}^{{{m.group(3)}}}"

    text = re.sub(rf"\\sum\s*_\s*\{{\s*\\substack\s*\{{\s*{low}\s*\\leq?\s*([A-Za-z])\s*\\leq?\s*{high}\s*"
                  rf"(?:(?:\\\\|,)\s*{excluded}\s*)?\}}\s*\}}", window, text)
    text = re.sub(rf"\\sum\s*_\s*\{{\s*{low}\s*\\leq?\s*([A-Za-z])\s*\\leq?\s*{high}\s*(?:,\s*{excluded}\s*)?\}}",
                  window, text)
    text = re.sub(r"\\sum\s*_\s*\{\s*\\substack\s*\{[^{}]*?\\leq?\s*([A-Za-z])\s*\\leq?[^{}]*\}\s*\}", r"\\sum_{\1}", text)
    text = re.sub(r"\\sum\s*_\s*\{[^{}]*?\\leq?\s*([A-Za-z])\s*\\leq?[^{}]*\}", r"\\sum_{\1}", text)
    text = re.sub(r"\^\s*\{\s*\}", "", text)
    return text


def _derivatives(text: str) -> str:
    """\\frac{d}{dx} and \\frac{dA}{dB} -> partials; \\frac{J}{\\partial U} (numerator's \\partial left
    out) -> \\frac{\\partial J}{\\partial U}; \\partial{J} -> \\partial J; \\nabla_x f -> d/dx f."""
    d = r"(?:\\mathrm\s*\{\s*d\s*\}|\\operatorname\s*\{\s*d\s*\}|d)"
    text = re.sub(r"\\frac\s*\{\s*" + d + r"\s*\}\s*\{\s*" + d + r"(?![a-z]{2})\s*", r"\\frac{\\partial}{\\partial ",
                  text)
    text = re.sub(r"\\frac\s*\{\s*" + d + r"(?=\s*(?:\\[A-Za-z]|[A-Za-z]|\{|\())((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}"
                  r"\s*\{\s*" + d + r"(?=\s*(?:\\[A-Za-z]|[A-Za-z]|\{))", r"\\frac{\\partial \1}{\\partial ", text)
    text = re.sub(r"\\partial\s*\{\s*(\\?[A-Za-z]+(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?)\s*\}", r"\\partial \1 ", text)
    out, i = [], 0
    while True:
        m = re.compile(r"\\frac\s*\{").search(text, i)
        if not m:
            break
        top_end = _close(text, m.end() - 1)
        if top_end < 0:
            break
        bottom = re.match(r"\s*\{\s*\\partial", text[top_end + 1:])
        top = text[m.end():top_end]
        if bottom and top.strip() and not top.strip().startswith("\\partial"):
            text = text[:m.end()] + "\\partial " + text[m.end():]
        i = m.end()
    # \nabla_{x} f -> \frac{\partial}{\partial x} f
    text = re.sub(r"\\nabla\s*_\s*\{([^{}]*)\}", r"\\frac{\\partial}{\\partial \1}", text)
    text = re.sub(r"\\nabla\s*_\s*(\\?[A-Za-z]+)", r"\\frac{\\partial}{\\partial \1}", text)
    text = re.sub(r"\\nabla(?![A-Za-z])", " nabla ", text)
    return text


def _starred(text: str, names: set[str]) -> str:
    """j^* and j^{*} (a distinguished index) -> jstar; j' was made jprime with the other primes."""
    def star(m):
        names.add(m.group(1) + "star")
        return f" {m.group(1)}star"

    return re.sub(r"(?<![\\A-Za-z])([A-Za-z])\s*\^\s*(?:\{\s*(?:\*|\\ast)\s*\}|\*|\\ast)", star, text)


def _by_expression(text: str) -> str:
    """\frac{\\partial A}{\\partial v_cU}: a derivative with respect to an expression, marked ⟨v_cU⟩ so
    the grammar reads it (and the checker says it cannot take it) instead of failing."""
    out, i = [], 0
    pattern = re.compile(r"\\frac\s*\{")
    while True:
        m = pattern.search(text, i)
        if not m:
            break
        top_end = _close(text, m.end() - 1)
        if top_end < 0:
            break
        bottom = re.match(r"\s*\{\s*\\partial\s*", text[top_end + 1:])
        if bottom:
            b_start = top_end + 1 + bottom.start()
            b_end = _close(text, b_start + text[b_start:].index("{"))
            variable = text[top_end + 1 + bottom.end():b_end]
            if b_end > 0 and variable.strip() and not SYMBOLISH.match(variable) and "⟨" not in variable:
                text = text[:top_end + 1 + bottom.end()] + "⟨" + variable + "⟩" + text[b_end:]
            # \frac{\partial \sigma}{\partial x}: the function's derivative at x
            top = text[m.end():top_end]
            fn = re.fullmatch(r"\s*\\partial\s*(\\sigma|\\tanh|sigma|tanh|sigmoid|f|g|h)\s*", top)
            if fn and b_end > 0 and SYMBOLISH.match(variable):
                text = text[:m.end()] + f"\\partial {fn.group(1)}({variable.strip()})" + text[top_end:]
        i = m.end()
    return text


def _slash_derivative(text: str) -> str:
    """\\partial A / \\partial B, a whole side written inline, -> \\frac{\\partial A}{\\partial B}."""
    m = re.match(r"^\s*\\partial\s*(.+?)\s*/\s*\\partial\s*(\\?[A-Za-z]+(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?)(.*)$",
                 text, re.S)
    if m and "/" not in m.group(1):
        return f"\\frac{{\\partial {m.group(1)}}}{{\\partial {m.group(2)}}}{m.group(3)}"
    return text


def _frac_arguments(text: str) -> str:
    """\\frac 1{y} and \\frac12: arguments without braces get them."""
    for _ in range(6):
        m = re.search(r"\\frac\s*(?!\s*\{)(\\[A-Za-z]+|[A-Za-z0-9])", text)
        if m:
            text = text[:m.start()] + "\\frac{" + m.group(1) + "}" + text[m.end():]
            continue
        m = re.search(r"\\frac\s*\{", text)
        found = False
        while m:
            end = _close(text, m.end() - 1)
            if end < 0:
                break
            second = re.match(r"\s*(?!\{)(\\[A-Za-z]+|[A-Za-z0-9])", text[end + 1:])
            if second:
                s = end + 1 + second.start(1)
                text = text[:s] + "{" + second.group(1) + "}" + text[s + len(second.group(1)):]
                found = True
                break
            m = re.compile(r"\\frac\s*\{").search(text, m.end())
        if not found:
            break
    return text


def _delimited(text: str, opener: str, closer: str, word: str) -> str:
    """Pairs like \\|x\\| -> word(x)."""
    for _ in range(6):
        i = text.find(opener)
        if i < 0:
            break
        j = text.find(closer, i + len(opener))
        if j < 0:
            break
        text = text[:i] + f" {word}(" + text[i + len(opener):j] + ")" + text[j + len(closer):]
    return text


def _norms(text: str) -> str:
    text = re.sub(r"\\left\s*\\\|", r"\\|", text)
    text = re.sub(r"\\right\s*\\\|", r"\\|", text)
    text = re.sub(r"\\[lr]?Vert(?![A-Za-z])", r"\\|", text)
    text = re.sub(r"\\left\s*\\[lr]?vert|\\left\s*\|", r"\\lvert ", text)
    text = re.sub(r"\\right\s*\\[lr]?vert|\\right\s*\|", r"\\rvert ", text)
    if text.count("\\|") >= 2:
        text = _delimited(text, "\\|", "\\|", "norm")
    text = text.replace("\\|", "|")  # a single one: the bar of a conditional probability
    text = _delimited(text, "\\lvert", "\\rvert", "abs")
    # \|x\|_2^2: the norm's subscript names it; a squared norm keeps its power
    text = re.sub(r"(norm\((?:[^()]|\([^()]*\))*\))\s*_\s*(\{[^{}]*\}|[0-9A-Za-z])", r"\1", text)
    return text


def _indicators(text: str) -> str:
    one = r"(?:\\mathbb\s*\{\s*(?:1|I)\s*\}|\\mathbf\s*\{\s*1\s*\}|\\mathds\s*\{\s*1\s*\}|\\mathbb\s*1|\\mathbb\s*I|\\one)"
    text = re.sub(one + r"\s*_\s*\{([^{}]*)\}", r" indicator(\1)", text)
    text = re.sub(one + r"\s*\\left\s*\\\{", r" indicator\\{", text)
    text = re.sub(one + r"\s*\\\{", r" indicator\\{", text)
    text = re.sub(r"(?<![0-9A-Za-z.])1\s*\\\{", r" indicator\\{", text)
    text = re.sub(one, " indicator", text)
    for _ in range(4):
        m = re.search(r"indicator\\\{", text)
        if not m:
            break
        j = text.find("\\}", m.end())
        if j < 0:
            break
        text = text[:m.start()] + "indicator(" + text[m.end():j] + ")" + text[j + 2:]
    return text


def _function_powers(text: str) -> str:
    """exp^2(x) and \\log^{2}(x) -> (exp(x))^{2}."""
    for _ in range(4):
        m = re.search(r"(\\?(?:exp|log|sigma|tanh|sin|cos)|(?<![A-Za-z\\])[fgh])\s*\^\s*(\{[^{}]*\}|[0-9])\s*\(", text)
        if not m:
            break
        end = _close(text, m.end() - 1, "(", ")")
        if end < 0:
            break
        power = m.group(2)
        text = text[:m.start()] + "(" + m.group(1) + text[m.end() - 1:end + 1] + ")^" + power + text[end + 1:]
    return text


def _function_arguments(text: str) -> str:
    """\\log e^{x} is log(e^x): a function written without parentheses takes its argument with the
    argument's sub- and superscripts."""
    out, i = [], 0
    pattern = re.compile(r"(\\log|\\ln|\\exp|\\tanh|(?<![A-Za-z\\])(?:log|ln|exp))\s+(?=[A-Za-z\\])")
    while True:
        m = pattern.search(text, i)
        if not m:
            break
        j = m.end()
        word = re.match(r"\\?[A-Za-z]+", text[j:])
        if not word or word.group(0) in ("\\sum", "\\prod", "\\frac", "\\left", "\\sigma") or \
                word.group(0).lstrip("\\") in ("log", "exp", "sum"):
            i = m.end()
            continue
        k = j + word.end()
        scripts = False
        while True:
            s2 = re.match(r"\s*[_^]\s*", text[k:])
            if not s2:
                break
            k2 = k + s2.end()
            if text[k2:k2 + 1] == "{":
                end = _close(text, k2)
                if end < 0:
                    break
                k = end + 1
            else:
                arg = re.match(r"\\?[A-Za-z0-9]+|.", text[k2:])
                k = k2 + arg.end()
            scripts = True
        if scripts:
            text = text[:j] + "{" + text[j:k] + "}" + text[k:]
        i = m.end()
    return text


def _products_before_transpose(text: str) -> str:
    """U(\\hat{y} - y)^T is U times the transposed difference, not the transpose of a call U(...)."""
    for _ in range(4):
        changed = False
        for m in re.finditer(r"(?<![A-Za-z\\])([A-Z])\s*\(", text):
            end = _close(text, m.end() - 1, "(", ")")
            if end > 0 and re.match(r"\s*\^\s*\{\\top\}", text[end + 1:]):
                text = text[:m.start(1) + 1] + " \\cdot " + text[m.start(1) + 1:]
                changed = True
                break
        if not changed:
            break
    return text


def _call_entries(text: str) -> str:
    """softmax(x)_i -> {softmax(x)}_i: the subscript takes an entry of the call's value."""
    for _ in range(4):
        changed = False
        for m in re.finditer(r"(?<![A-Za-z\\])(\\?(?:softmax|sigma|sigmoid|tanh|exp|log|relu|ReLU|softplus)|"
                             r"\\(?:phi|varphi|psi|Phi|Psi))\s*\(", text):  # \psi(v)_a: a function named by a letter
            end = _close(text, m.end() - 1, "(", ")")
            if end > 0 and re.match(r"\s*_", text[end + 1:]):
                text = text[:m.start()] + "{" + text[m.start():end + 1] + "}" + text[end + 1:]
                changed = True
                break
        if not changed:
            break
    return text


def _interleaved(text: str) -> str:
    """\\exp{(u_o^T v_c}) -> \\exp(u_o^T v_c): a brace opened before a parenthesis and closed
    inside it."""
    for _ in range(4):
        m = re.search(r"\{\s*\(", text)
        if not m:
            break
        close_brace = _close(text, m.start())
        if close_brace < 0 or text[close_brace + 1:close_brace + 2] != ")":
            # only the interleaved form {( ... }) is rewritten; {( ... )} is a group
            if close_brace > 0 and text[close_brace - 1:close_brace] == ")":
                break
            break
        text = text[:m.start()] + text[m.start() + 1:close_brace] + text[close_brace + 1:]
    return text


def _cases(text: str) -> str:
    """Rows of cases read as "value, \\text{if} condition": the & and the words between them vary
    in the wild (& i=j, & \\text{if }\\; i=k, , & \\text{for $j=j^*$,})."""
    def rows(m):
        body = m.group(1)
        out = []
        for row in re.split(r"\\\\|\\casesep|¶¶", body):
            if not row.strip():
                continue
            parts = row.split("&", 1)
            value = parts[0].strip().rstrip(",")
            condition = parts[1].replace("&", " ").strip().lstrip(",").strip() if len(parts) > 1 else ""
            condition = re.sub(r"\\text\s*\{\s*(if|for|when|for all)\s*\}", " ", condition)
            condition = re.sub(r"\\text\s*\{\s*(?:if|for|when)?\s*\$([^$]*)\$\s*[,.]?\s*\}", r" \1 ", condition)
            condition = re.sub(r"^\s*(if|for|when)\b", " ", condition.strip())
            condition = condition.strip().rstrip(",.").strip()
            if not condition or re.fullmatch(r"\\text\s*\{\s*(otherwise|else)\s*[.,]?\s*\}|otherwise|else", condition):
                out.append(f"{value}, \\text{{otherwise}}")
            else:
                out.append(f"{value}, \\text{{if}} {condition}")
        return "\\begin{cases} " + " \\casesep ".join(out) + " \\end{cases}"

    return re.sub(r"\\begin\{cases\}(.*?)\\end\{cases\}", rows, text, flags=re.S)


def _piecewise(text: str) -> str:
    """\\left\\{ \\begin{aligned} ... \\end{aligned} \\right. -> cases."""
    return re.sub(r"\\left\s*\\\{\s*\\begin\{(aligned|array|matrix)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}\s*\\right\s*\.",
                  r"\\begin{cases}\2\\end{cases}", text, flags=re.S)


def _matrices(text: str) -> str:
    """bmatrix, pmatrix, matrix, array -> ⟦ a ¦ b ⁏ c ¦ d ⟧."""
    def grid(m):
        body = m.group(3)
        rows = [r for r in re.split(r"\\\\|\\casesep|¶¶", body) if r.strip()]
        return " ⟦ " + " ⁏ ".join(" ¦ ".join(cell.strip() or "0" for cell in r.split("&")) for r in rows) + " ⟧ "

    text = re.sub(r"\\begin\{(bmatrix|pmatrix|matrix|Bmatrix|vmatrix|array)\}(\{[^{}]*\})?(.*?)\\end\{\1\}", grid, text,
                  flags=re.S)
    # the brackets around a plain matrix environment belong to it
    text = re.sub(r"(\\left\s*)?[\[(]\s*⟦", "⟦", text)
    text = re.sub(r"⟧\s*(\\right\s*)?[\])]", "⟧", text)
    return text


def _dots(text: str) -> str:
    """A dot between two symbols is their dot product (v'.u); dots that elide terms are a word."""
    text = re.sub(r"\\(?:cdots|ldots|dots|vdots|ddots|dotsb|dotsc|dotsm)(?![A-Za-z])|\.\.\.+", " cdots ", text)
    return re.sub(r"(?<=[A-Za-z}\)])\s*\.\s*(?=[A-Za-z\\{(])", r" \\cdot ", text)


def tidy(latex: str) -> Tidied:
    names: set[str] = set()
    text = latex
    for a, b in UNICODE.items():
        text = text.replace(a, b)
    text = re.sub(r"\\label\s*\{[^{}]*\}", " ", text)
    text = re.sub(r"\\(?:hspace|vspace|phantom|hphantom|vphantom)\*?\s*\{[^{}]*\}", " ", text)
    text = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", text)
    text = re.sub(r"\\part(?![A-Za-z])", r"\\partial", text)
    text = re.sub(r"\\(?:because|therefore|implies|Rightarrow|Longrightarrow|to)(?![A-Za-z])\s*$", " ", text)
    text = re.sub(r"^\s*\\(?:because|therefore|implies|Rightarrow|Longrightarrow|to|hence)(?![A-Za-z])", " ", text)
    text = re.sub(r"\\(?:mid|vert)(?![A-Za-z])", "|", text)
    text = _piecewise(text)
    text = _cases(text)
    text = _matrices(text)
    text = _norms(text)
    text = _indicators(text)
    text = re.sub(r"\\left\s*\.|\\right\s*\.", " ", text)
    text = SIZED.sub("", text)
    text = SPACING.sub(" ", text)
    text = text.replace("~", " ")
    text = re.sub(r"\\(?:Big|big|bigg|Bigg)(?![A-Za-z])", " ", text)
    text = re.sub(r"\\text\s*\{\s*(softmax|sigmoid|exp|log|tanh|relu|ReLU|CE|max|tr|diag|softplus)\s*\}", r" \1 ", text)
    text = re.sub(r"\\text\s*\{\s*(softmax|sigmoid)\s*\(([^{}]*)\)\s*\}", r"{\1(\2)}", text)
    text = re.sub(r"\\text\s*\{\s*([A-Za-z][A-Za-z]+)\s*\}(?=\s*[(_{])", lambda m: " " + m.group(1) + " ", text)
    text = _unwrap(text)
    text = re.sub(r"\\operatorname\s*\{\s*([A-Za-z]+)\s*\}", r" \1 ", text)
    text = re.sub(r"(\\?[A-Za-z]+)\s*\{\s*_\s*([A-Za-z0-9]+)\s*\}", r"\1_{\2}", text)  # \theta{_k}
    text = _derivatives(text)
    text = _slash_derivative(text)
    text = _frac_arguments(text)
    text = _layers(text, names)
    text = _decorations(text, names)
    text = _tags(text, names)
    text = _primes(text, names)
    text = _by_expression(text)
    text = _transposes(text)
    text = _sums(text, names)
    text = _starred(text, names)
    text = re.sub(r"_\s*\{\s*\|\s*([A-Za-z]+)\s*\|\s*\}", r"_{\1}", text)  # y_{|V|}: the last entry
    text = re.sub(r"\\delta\s*\(", " delta(", text)  # \delta(x): a function, not Kronecker's delta
    if "delta(" in text:
        names.add("delta")
    text = re.sub(r"\\delta\s*\{\s*([A-Za-z])\s*([A-Za-z])\s*\}", r"\\delta_{\1\2}", text)  # \delta{ik}
    # what is left of \leq, \geq compares values, in an indicator or a case (x \geq 0); the windows of
    # sums (-m \leq j \leq m) were read above
    text = re.sub(r"\\(?:geq|geqslant|ge)(?![A-Za-z])", " ≥ ", text)
    text = re.sub(r"\\(?:leq|leqslant|le)(?![A-Za-z])", " ≤ ", text)
    text = re.sub(r"\\gt(?![A-Za-z])", " > ", text)
    text = re.sub(r"\\lt(?![A-Za-z])", " < ", text)
    text = re.sub(r"\\(?:odot|circ)(?![A-Za-z])", " ⊙ ", text)
    text = re.sub(r"\\ast(?![A-Za-z])", " * ", text)
    text = re.sub(r"\\(tanh|sinh|cosh|sin|cos|max|min|sqrt|Tr|tr|ln)(?![A-Za-z])", r" \1 ", text)
    text = re.sub(r"sqrt\s*\{", "sqrt{", text)
    text = re.sub(r"sqrt\{((?:[^{}]|\{[^{}]*\})*)\}", r"sqrt(\1)", text)
    text = _function_powers(text)
    text = _function_arguments(text)
    text = _call_entries(text)
    text = _products_before_transpose(text)
    text = _interleaved(text)
    text = _dots(text)
    text = text.replace("\\{", "(").replace("\\}", ")")
    text = re.sub(r"(?<!\\)\[", "(", text)
    text = re.sub(r"(?<!\\)\]", ")", text)
    for greek in GREEK:
        if greek not in ("delta", "sigma", "partial") and re.search(rf"\\{greek}(?![A-Za-z])", text):
            text = re.sub(rf"\\{greek}(?![A-Za-z])", f" {greek} ", text)
            names.add(greek)
    for m in re.finditer(r"(?<![A-Za-z\\])d[A-Z][A-Za-z]*", text):  # dW, dF: a gradient's name, as in code
        names.add(m.group(0))
    for word in FUNCTIONS:
        if re.search(rf"(?<![A-Za-z\\]){word}(?![A-Za-z])", text):
            names.add(word)
    return Tidied(re.sub(r"[ \t\n]+", " ", text).strip(), frozenset(names))


DIGITS = dict(zip("0123456789", ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")))
SUFFIXES = (("hat", "\\hat{%s}"), ("tilde", "\\tilde{%s}"), ("bar", "\\bar{%s}"), ("prime", "%s'"))


def shown(name: str) -> str:
    """A word made by tidy, written back as LaTeX: yhat -> \\hat{y}, Jtagnegsample -> J_{negsample},
    Wsup1 -> W^{(1)}, vprime -> v'."""
    m = re.fullmatch(r"([A-Za-z])tag([a-z]+)", name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    m = re.fullmatch(r"([A-Za-z])sup([A-Za-z]+)", name)
    if m:
        layer = m.group(2)
        for digit, word in DIGITS.items():
            layer = layer.replace(word, digit)
        return f"{m.group(1)}^{{({layer})}}"
    if re.fullmatch(r"D(exp|log|softmax|sigma)", name):
        return f"\\{name[1:]}'"
    for suffix, form in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[:-len(suffix)]
            inner = shown(base)
            inner = "\\" + inner if inner in GREEK else inner
            return form % inner
    return name
