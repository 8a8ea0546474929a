"""The notation a document implies: its definitions, and the shapes its expressions use.

Definitions are read in document order: an equation whose left side is a name nothing has
defined yet ("J = ...", "\\hat{y}_o = ...", "\\sigma(x) = ...", "P(O=o|C=c) = ...") defines it,
and the rest of its chain is checked against that definition.  A name defined again later is
a claim about the first definition, except that a loss given a new name (J_{neg-sample})
takes over the plain J from where it is defined.

Symbols nobody defines get a kind and a shape from their use: a letter written with a
transpose, in bold, or as the argument of softmax is a vector; an upper-case letter in a
product is a matrix; u_o, u_w, u_k with no bare u are columns of a matrix (U, if the document
has one); y_w beside a bare y is an entry of y.  Dimensions are unified through products,
sums and definitions (U^T v_c makes U's rows v_c's length); what stays unknown gets a small
size of its own, each different, so that a shape error shows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Tree

from gradproof.derive import macros as user_macros
from gradproof.derive import wild
from gradproof.derive.latex import ParseError, parse

from .parsing import macros_key, parse_tree
from .context import Array, Context, Definition, Family, IndexArray
from .document import Display, Step
from .evaluate import KNOWN_CALLS, _letters

FUNCTION_HEADS = re.compile(r"^([a-z]|sigma|psi|phi|varphi|delta|rho|[a-z]prime)$")
LOSS_HEADS = re.compile(r"^[A-Z]")


@dataclass
class Parsed:
    step: Step
    lhs: object  # a lark tree, or None when the side does not parse
    rhs: object
    display: Display


# -- definitions ---------------------------------------------------------------------------------

def _symbol_parts(tree):
    """(name, [subscript letters]) of a bare or subscripted symbol, else None."""
    if isinstance(tree, Tree) and tree.data == "symbol":
        name = tree.children[0].value
        if any(isinstance(c, Token) and c.type == "DECOR" for c in tree.children[1:]):
            return None
        letters = []
        for g in (c for c in tree.children[1:] if isinstance(c, Tree)):
            letters += _letters(g)
        return name, letters
    if isinstance(tree, Token) and tree.type == "NAME":
        return tree.value, []
    return None


# known losses whose convention varies (a sum or a mean over examples): a document that states one
# defines it in its own convention, which the built-in meaning then gives way to
OWN_CONVENTION = ("CE", "CrossEntropy")


def _bare_losses(ctx: Context, parsed: list[Parsed]) -> None:
    r"""\frac{\partial CE}{\partial \theta} in a document that writes the loss as CE(y, \hat{y}), always
    with those arguments: the bare name is that call (a name for the document's quantity)."""
    for head in OWN_CONVENTION:
        if ctx.definitions.get(head):
            continue
        calls, bare = set(), None
        for p, tree in _walk(parsed):
            for node in tree.iter_subtrees():
                if node.data == "call" and node.children[0].value == head:
                    calls.add(_relatex(node))
                elif node.data == "symbol" and len(node.children) == 1 and node.children[0].value == head:
                    bare = bare if bare is not None else p.step.position
        calls.discard(None)
        if bare is not None and len(calls) == 1:
            ctx.definitions[head] = [Definition(head, calls.pop(), "value", (), -1, 0, origin="document")]


def _a_mean(following) -> bool:
    """The expression a known loss is stated equal to is a mean over examples (-\\frac{1}{N} \\sum ...):
    the document's own convention, not the built-in sum."""
    if not following:
        return False
    text = re.sub(r"\s+", "", following[0][0] or "")
    return bool(re.match(r"^-?\\[dt]?frac\{1\}\{[A-Za-z]\}|^-?1/[A-Za-z]", text))


def _named_entry(tree):
    """y_j - t_j := e_j: after a :=, a subscripted e is a name being introduced (an error's entry,
    a basis vector), never Euler's number, which takes no index."""
    parts = _symbol_parts(tree)
    if parts and parts[0] == "e" and parts[1] and all(isinstance(x, str) and x != "?" for x in parts[1]):
        return "component", "e", tuple(parts[1]), None
    return None


def definable(tree, text: str):
    """How an expression could define a name: (kind, name, params, extra) or None.
    kind: value (J), component (a_j, y_w), function (f(x)), call (P(O=o|C=c))."""
    parts = _symbol_parts(tree)
    if parts:
        name, letters = parts
        if name in ("e", "cdots") or name in KNOWN_CALLS:
            return None
        if not letters:
            return "value", name, (), None
        if len(letters) == 1 and isinstance(letters[0], int):
            return "value", f"{name}_{letters[0] + 1}", (), "named"
        if all(isinstance(x, str) and x != "?" for x in letters):
            return "component", name, tuple(letters), None
        if len(letters) == 1 and isinstance(letters[0], tuple) and len(letters[0][1]) == 1 and \
                isinstance(letters[0][1][0], str):
            return "component", name, ("#",), letters[0]  # p_{y_i} = e^{f_{y_i}} / ...: the entry at y_i
        return None
    if isinstance(tree, Tree) and tree.data == "call":
        head = tree.children[0].value
        args = tree.children[1].children
        if (head in KNOWN_CALLS and head not in OWN_CONVENTION) or head == "indicator":
            return None
        conditions = [a for a in args if isinstance(a, Tree) and a.data == "condition"]
        if conditions and len(conditions) == len(args):
            lefts, params = [], []
            for c in conditions:
                left = "".join(_tokens(c.children[0]))
                right = _letters(c.children[1])
                if len(right) != 1 or not isinstance(right[0], str):
                    return None
                lefts.append(left)
                params.append(right[0])
            return "call", f"{head}({','.join(lefts)})", tuple(params), None
        bare = [_symbol_parts(a) for a in args]
        if "|" in text and all(b and not b[1] and len(b[0]) == 1 for b in bare):  # p(o|c): index parameters
            return "call", f"{head}({','.join('?' for _ in args)})", tuple(b[0] for b in bare), None
        if FUNCTION_HEADS.match(head) and all(b and not b[1] for b in bare) and args:
            if head.endswith("prime") or head.startswith("D"):
                return None  # f'(x): the derivative of f, a claim about f, never a definition
            return "function", head, tuple(b[0] for b in bare), "check-params"
        if re.fullmatch(r"D(exp|log|softmax|sigma)", head):
            return None  # \sigma'(x): a derivative, not a name being defined
        if LOSS_HEADS.match(head) or len(head) > 1:
            return "value", head, (), "call"
    if isinstance(tree, Tree) and tree.data == "neg":
        inner = definable(tree.children[0], text)
        if inner and inner[0] == "value":
            return "negated", inner[1], (), None
    return None


def _tokens(tree) -> list[str]:
    if isinstance(tree, Token):
        return [tree.value]
    out = []
    for c in tree.children:
        out += _tokens(c)
    return out


def _undefined_calls(tree, ctx: Context) -> bool:
    """The expression calls a function nothing defines (P(O=o, C=c) before any definition)."""
    if not isinstance(tree, Tree):
        return False
    for node in tree.iter_subtrees():
        if node.data == "call":
            head = node.children[0].value
            if head in KNOWN_CALLS or head == "indicator" or head in ctx.definitions:
                continue
            if any(k.startswith(head + "(") for k in ctx.calls):
                continue
            if head.endswith("prime"):
                continue
            if head in ctx.arrays:
                continue
            return True
        if node.data == "symbol" and node.children[0].value == "cdots":
            return True
    return False


def read_definitions(ctx: Context, parsed: list[Parsed], authoritative: bool) -> dict[int, str]:
    """Definitions in document order; returns, for steps that define, what they define."""
    roles: dict[int, str] = {}
    chains: dict[int, list[Parsed]] = {}
    order: list[int] = []
    # steps of one chain share a subject; a chain's links are consecutive
    current = None
    for p in parsed:
        if p.step.subject is None or current is None:
            current = id(p)
            order.append(current)
            chains[current] = []
        chains[current].append(p)
    for key in order:
        links = chains[key]
        _define_in_chain(ctx, links, roles, authoritative)
    return roles


def _defined(ctx: Context, name: str, authoritative: bool, tree=None) -> bool:
    """Whether name already has a meaning, so that "name = ..." is a claim about it, not its
    definition.  A detected notation's definition gives way to the document's when the document's
    uses functions the notation's does not (a negative-sampling J beside the shipped softmax J)."""
    if name in ctx.arrays or name in ctx.families or name in ctx.scalars:
        return True  # a symbol the notation declares
    if "(" in name and any(key.split("(")[0] == name.split("(")[0] for key in ctx.calls):
        return True  # P(O|C): a call the notation spells out
    found = ctx.definitions.get(name) or ctx.calls.get(name)
    if not found:
        return False
    if authoritative or any(d.origin == "document" for d in found):
        return True
    if tree is None:
        return True
    from .steps import TELLING

    theirs = {f for f in _functions_through(ctx, found[-1].latex, set()) if f in TELLING}
    mine = {f for f in _tree_functions(tree) if f in TELLING}
    return not (mine - theirs)


def _define_literal_call(ctx: Context, link: Parsed, roles: dict[int, str]) -> None:
    """p(w_{j^*}|w_I) = \\sigma(u_{j^*}) \\prod_k ...: a probability of particular words, stated once,
    defines that call as written (the same words, the same meaning wherever it is written)."""
    from .evaluate import _bare, _text

    head, args = link.lhs.children[0].value, link.lhs.children[1].children
    if any(isinstance(a, Tree) and a.data != "symbol" for a in args) or head in KNOWN_CALLS:
        return
    key = _bare(f"{head}({', '.join(''.join(_text(a)) for a in args)})")
    if key in ctx.calls or _undefined_calls(link.rhs, ctx) or ctx.definition(head, link.step.position) is not None \
            or any(k.split("(")[0] == head for k in ctx.calls) or _defined(ctx, head, False):
        return  # J(\theta|y_i, X) with J defined, P(O|C) of a notation: a claim about a known quantity
    _add(ctx, Definition(key, link.step.rhs, "call", (), link.step.position, link.step.line))
    written = re.sub(r"\\(?:left|right)\b", "", link.step.lhs).strip()
    roles[id(link.step)] = f"defines {written}"


def _redefined_by_the_document(ctx: Context, name: str, authoritative: bool) -> bool:
    """... := E again, for an E the document defined before (the softmax loss, then the negative-
    sampling one): a := is a definition in the author's own words, never a claim, so it takes over
    from where it stands.  Not over a notation the user named."""
    found = ctx.definitions.get(name)
    return bool(found) and not authoritative and all(d.origin == "document" for d in found) and \
        name not in ctx.arrays and name not in ctx.families and name not in ctx.scalars


def _bare_call(key: str) -> str:
    return re.sub(r"[^A-Za-z(]", "", key.split("(")[0]) + "(" + str(key.count(",") + key.count("|") + 1)


def _tree_functions(tree) -> set[str]:
    out = set()
    if isinstance(tree, Tree):
        for node in tree.iter_subtrees():
            if node.data in ("func", "call"):
                out.add(node.children[0].value)
    return out


def _functions_through(ctx: Context, latex: str, seen: set) -> set[str]:
    """The functions a definition uses, through the definitions it refers to."""
    try:
        tree = parse_tree(latex, ctx.token_names(), macros_key(ctx.macros))
    except ParseError:
        return set()
    out = _tree_functions(tree)
    for node in tree.iter_subtrees():
        if node.data == "symbol":
            name = node.children[0].value
            if name not in seen and ctx.definitions.get(name):
                seen.add(name)
                out |= _functions_through(ctx, ctx.definitions[name][-1].latex, seen)
    return out


def _define_in_chain(ctx: Context, links: list[Parsed], roles: dict[int, str], authoritative: bool) -> None:
    if not links:
        return
    first = links[0]
    if first.step.relation not in ("=", ":=", "=:") and "stackrel" not in first.step.relation:
        return
    expressions = [(first.step.lhs, first.lhs)] + [(p.step.rhs, p.rhs) for p in links]
    # a := b where b is a bare name: b is what is defined (log y = u - log sum := -E)
    for i, p in enumerate(links):
        if p.step.relation in (":=", "\\coloneqq") and p.rhs is not None:
            what = definable(p.rhs, p.step.rhs) or _named_entry(p.rhs)
            if what and what[0] in ("value", "negated", "component") and (
                    not _defined(ctx, what[1], authoritative) or _redefined_by_the_document(ctx, what[1], authoritative)):
                kind, name, params, _ = what
                latex = p.step.lhs if kind != "negated" else f"-({p.step.lhs})"
                _add(ctx, Definition(name, latex, "component" if kind == "component" else "value", params,
                                     p.step.position, p.step.line))
                roles[id(p.step)] = f"defines {wild.shown(name)}"
            elif what is None and p.lhs is not None:
                other = definable(p.lhs, p.step.lhs)
                if other and other[0] in ("value", "component") and not _defined(ctx, other[1], authoritative):
                    _add(ctx, Definition(other[1], p.step.rhs, other[0], other[2], p.step.position, p.step.line))
                    roles[id(p.step)] = f"defines {wild.shown(other[1])}"
    if id(first.step) in roles:
        return
    prefix = []
    for text, tree in expressions:
        if tree is None:
            break
        what = definable(tree, text)
        if what is None or what[0] == "negated":
            break
        if what[1] in OWN_CONVENTION and not _a_mean(expressions[len(prefix) + 1:]):
            break  # CE(y, \hat{y}) = -\sum_i y_i \log \hat{y}_i: the built-in meaning, a claim about it
        if _defined(ctx, _key(what), authoritative, _target_tree(expressions, len(prefix))) and not (
                what[0] == "component" and _piece_condition(first.step.condition, what[2]) and all(
                    d.condition for d in ctx.definitions.get(_key(what), ()))):
            break
        prefix.append((text, what))
    if not prefix:
        _reverse_definitions(ctx, links, roles, authoritative)
        if len(links) > 1 and links[1].step.relation == "=" and first.lhs is not None and \
                first.lhs.data == "call" and definable(first.lhs, first.step.lhs) is None and \
                not any(id(p.step) in roles for p in links):
            # p(w_j|w_I) = y_j = \frac{...}{...}: a probability named in a notation of its own, then the
            # quantity the chain defines
            _define_in_chain(ctx, links[1:], roles, authoritative)
        elif len(links) == 1 and first.lhs is not None and first.lhs.data == "call" and "|" in first.step.lhs \
                and first.rhs is not None and not any(id(p.step) in roles for p in links):
            _define_literal_call(ctx, first, roles)
        return
    k = len(prefix)
    if k >= len(expressions):
        return
    target = expressions[k][1]
    if prefix[0][1][0] == "function" and target is not None and not all(
            _mentions(target, param) for param in prefix[0][1][2]):
        return  # g(x) = \sum_w \exp(u_w^T v_c): x is not used, so g is no function of x
    target_index = k
    target_text, target_tree = expressions[k]
    if target_tree is None:
        return
    if _undefined_calls(target_tree, ctx) and k + 1 < len(expressions) and expressions[k + 1][1] is not None \
            and not _undefined_calls(expressions[k + 1][1], ctx):
        target_index = k + 1
        target_text = expressions[k + 1][0]
    seen = set()
    condition = _piece_condition(links[0].step.condition, prefix[0][1][2])
    for j, (text, (kind, name, params, extra)) in enumerate(prefix):
        if name in seen:  # y_w = y_o = 1: one definition of y, the first
            roles[id(links[j].step)] = f"defines {wild.shown(name)}"
            continue
        seen.add(name)
        if kind == "value" and extra == "named":
            ctx.named_entries.add(name)
        latex = target_text
        if kind == "component" and isinstance(extra, tuple):
            params, latex = _generalise_nested(extra, target_text)
        definition = Definition(_key((kind, name, params, extra)), latex, kind, params,
                                links[0].step.position, links[0].step.line,
                                condition=condition if kind == "component" else None)
        _add(ctx, definition)
        roles[id(links[j].step)] = f"defines {wild.shown(name)}" + (" where " + " and ".join(
            f"{wild.shown(a)} {'=' if r == '=' else '≠'} {wild.shown(b)}" for a, r, b in condition)
            if condition and kind == "component" else "")
    # \hat{y} = softmax(v) = \psi(v): a function named further along the chain is defined by its neighbour
    _reverse_definitions(ctx, links[max(k, target_index):], roles, authoritative)


def _generalise_nested(nested: tuple, latex: str) -> tuple[tuple[str, ...], str]:
    """p_{y_i} = e^{f_{y_i}} / \\sum_j e^{f_j}: the entry at any index k, p_k = e^{f_k} / ..."""
    array, (inner,) = nested
    used = set(re.findall(r"(?<![A-Za-z\\])[a-z](?![A-Za-z])", latex))
    letter = next(x for x in "kmlqrstuvabcdefgh" if x not in used and x not in (array, inner))
    pattern = rf"_\s*\{{\s*{re.escape(array)}\s*_\s*(\{{\s*{re.escape(inner)}\s*\}}|{re.escape(inner)})\s*\}}"
    return (letter,), re.sub(pattern, "_{" + letter + "}", latex)


def _piece_condition(condition, params) -> tuple | None:
    """A case stated for a component definition (y_w = 1 for w = o) makes it one piece; a case
    about other letters is no part of it."""
    if not condition:
        return None
    own = tuple(c for c in condition if c[0] in params or c[2] in params)
    return own or None


def _target_tree(expressions, start: int):
    """The first expression after the names being defined: what they would be defined as."""
    for text, tree in expressions[start + 1:]:
        if tree is not None:
            return tree
    return None


def _key(what) -> str:
    return what[1]


def _add(ctx: Context, definition: Definition) -> None:
    if definition.kind == "call":
        ctx.calls.setdefault(definition.name, []).append(definition)
    else:
        ctx.definitions.setdefault(definition.name, []).append(definition)


def _reverse_definitions(ctx: Context, links: list[Parsed], roles: dict[int, str], authoritative: bool) -> None:
    """softmax(v) = \\psi(v): a function named on the right, defined by the left."""
    for p in links:
        if p.rhs is None or p.lhs is None or p.step.relation != "=":
            continue
        what = definable(p.rhs, p.step.rhs)
        if what and what[0] == "function" and not _defined(ctx, what[1], authoritative) and \
                what[1] not in ctx.definitions:
            _add(ctx, Definition(what[1], p.step.lhs, "function", what[2], p.step.position, p.step.line))
            roles[id(p.step)] = f"defines {wild.shown(what[1])}"


def _sites(a, b, out: list, numerators: list | None = None) -> None:
    """The places where two trees differ (pairs of subtrees); numerators collects those that are
    the numerators of derivatives by one variable (\\partial\\theta/\\partial v_c against
    \\partial U^T v_c/\\partial v_c)."""
    if a == b:
        return
    if isinstance(a, Tree) and isinstance(b, Tree) and a.data == b.data and len(a.children) == len(b.children) \
            and a.data not in ("symbol",):
        if a.data == "derivative" and numerators is not None and a.children[1] == b.children[1] and \
                a.children[0] != b.children[0]:
            numerators.append((a.children[0], b.children[0]))
        for x, y in zip(a.children, b.children):
            _sites(x, y, out, numerators)
        return
    out.append((a, b))


def _mentions(tree, name: str) -> bool:
    if isinstance(tree, Token):
        return tree.value == name
    return any(n.data in ("symbol", "call") and n.children[0].value == name for n in tree.iter_subtrees())


def read_substitutions(ctx: Context, parsed: list[Parsed], roles: dict[int, str]) -> None:
    r"""A step that only replaces an undefined symbol by an expression ("\partial \theta / \partial v_c
    = \partial (U^T v_c) / \partial v_c", "\hat{y}_i = e^{\theta_i} / e^{\theta_m}" inside a chain)
    defines that symbol, as its author uses it from there on."""
    for p in parsed:
        if p.lhs is None or p.rhs is None or id(p.step) in roles or p.step.relation != "=":
            continue
        sites: list = []
        numerators: list = []
        _sites(p.lhs, p.rhs, sites, numerators)
        if not sites:
            continue
        # (\\hat{y} - y) \\partial U^T v_c / \\partial v_c for \\partial J/\\partial\\theta \\partial\\theta/\\partial v_c: the
        # derivative's numerator is substituted, whatever else the step does
        named = [pair for pair in numerators if any(_symbol_parts(x) and not _symbol_parts(x)[1] for x in pair)]
        more = bool(named) and len(sites) > 1  # the step does more than substitute: still a claim to check
        if named:
            sites = named[:1]
        found = None
        for side in (0, 1):
            names = set()
            ok = True
            for pair in sites:
                x, e = pair[side], pair[1 - side]
                parts = _symbol_parts(x)
                if not parts or not isinstance(e, Tree) or _mentions(e, parts[0]):
                    ok = False
                    break
                names.add((parts[0], len(parts[1])))
            if ok and len(names) == 1:
                found = side
                break
        if found is None:
            continue
        x, e = sites[0][found], sites[0][1 - found]
        if x is (p.lhs, p.rhs)[found]:
            continue  # the whole side: a claim about the symbol, not a substitution inside an expression
        name, letters = _symbol_parts(x)
        opened = min((s.position for s in p.display.steps), default=p.step.position)
        if not named and any(d.position < opened and _mentions(tree, name) for d, tree in _definition_trees(ctx)):
            continue  # used by an earlier definition: a variable of the model, not a name being introduced
            # (a definition made in this same display, y_j = e^{u_j} / ... = e^{v^T w} / ..., introduces it)
        if name in KNOWN_CALLS or name in ("e", "cdots") or ctx.definition(name, p.step.position) is not None \
                or name in ctx.arrays or name in ctx.families or name in ctx.scalars:
            continue
        if letters and not all(isinstance(l, str) and l != "?" for l in letters):
            continue
        latex = _latex_of(e, p.step.rhs if found == 0 else p.step.lhs)
        if latex is None:
            continue
        kind = "component" if letters else "value"
        # in force for the whole chain it is made in: one chain, one meaning of the symbol
        start = min((s.position for s in p.display.steps if s.position <= p.step.position), default=p.step.position)
        if any(d.position < p.step.position and d.position >= start for defs in ctx.definitions.values()
               for d in defs if d.name == name):
            start = p.step.position
        _add(ctx, Definition(name, latex, kind, tuple(letters), start, p.step.line))
        if not more:
            roles[id(p.step)] = f"defines {wild.shown(name)} by substituting it"


def _latex_of(tree, side_text: str) -> str | None:
    """LaTeX that parses to tree: the tokens the grammar read, re-joined (names are single words)."""
    from .evaluate import _text

    tokens = _text(tree)
    text = " ".join(tokens)
    return _relatex(tree)


def _relatex(tree) -> str | None:
    """A tree written back as the grammar's own dialect of LaTeX."""
    if isinstance(tree, Token):
        if tree.type == "NUMBER":
            return tree.value
        return _word(tree.value)
    d, c = tree.data, tree.children
    r = [_relatex(x) if isinstance(x, (Tree, Token)) else None for x in c]
    if d == "symbol":
        out = _word(c[0].value)
        for g in c[1:]:
            if isinstance(g, Tree):
                out += "_{" + (_relatex(g.children[0]) or "") + "}"
            elif isinstance(g, Token) and g.type == "DECOR":
                out += "^{" + g.value + "}"
        return out
    if d == "group":
        return r[0]
    ops = {"add": "{} + {}", "sub": "{} - ({})", "mul": "({}) ({})", "frac": "\\frac{{{}}}{{{}}}", "neg": "-({})",
           "transpose": "({})^{{\\top}}", "power": "({})^{{{}}}", "hadamard": "({}) ⊙ ({})", "outer": "({}) ⊗ ({})"}
    if d in ops and None not in r:
        return ops[d].format(*r)
    if d == "number":
        return c[0].value
    if d == "func":
        name = c[0].value
        return f"\\{name}({r[1]})" if name in ("exp", "log", "sigma") else f"{name}({r[1]})"
    if d == "call":
        args = [_relatex(a) for a in c[1].children]
        if None in args:
            return None
        return f"{_word(c[0].value)}({', '.join(args)})"
    if d == "bigop":
        rest = c[1:]
        body = _relatex(rest[-1])
        sub = _relatex(rest[0].children[0]) if len(rest) >= 2 and isinstance(rest[0], Tree) and \
            rest[0].data == "group" else (_relatex(rest[0]) if len(rest) >= 2 and isinstance(rest[0], Token) else None)
        if len(rest) >= 2 and isinstance(rest[0], Tree) and rest[0].data == "from_value":
            sub = f"{rest[0].children[0].value}={_relatex(rest[0].children[1])}"
        sup = _relatex(rest[1].children[0]) if len(rest) == 3 and isinstance(rest[1], Tree) else \
            (_relatex(rest[1]) if len(rest) == 3 else None)
        if body is None:
            return None
        return f"{c[0].value}" + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup}}}" if sup else "") + f" ({body})"
    if d in ("derivative",):
        return f"\\frac{{\\partial {r[0]}}}{{\\partial {r[1]}}}" if None not in r else None
    if d in ("derivop",):
        return f"\\frac{{\\partial}}{{\\partial {r[0]}}} ({r[1]})" if None not in r else None
    if d == "delta":
        inner = _relatex(c[0].children[0]) if isinstance(c[0], Tree) else None
        return f"\\delta_{{{inner}}}" if inner else None
    if d == "component":
        return f"({r[0]})_{{{_relatex(c[1].children[0]) if isinstance(c[1], Tree) else r[1]}}}" if r[0] else None
    return None


def _word(name: str) -> str:
    """A name as LaTeX the tokenizer reads back to the same name."""
    if name in ("exp", "log"):
        return "\\" + name
    return wild.shown(name) if name != wild.shown(name) else (f"\\{name}" if name in wild.GREEK else name)


# -- kinds and shapes ----------------------------------------------------------------------------

@dataclass
class Evidence:
    bare: int = 0
    letter_subs: int = 0
    numeric_subs: int = 0
    two_subs: int = 0
    transposed: int = 0
    vector: int = 0  # bold, softmax argument, a dot product
    matrix: int = 0
    scalar: int = 0  # inside sigma(x) with x a bare variable, in exponents
    variable: int = 0  # differentiated with respect to
    nested: int = 0  # used as an index (y_i in p_{y_i})
    numbered: int = 0  # W_1: the name of a numbered entry
    first_line: int = 0
    member_transposed: int = 0  # u_k^T: an indexed symbol that is itself a vector
    cell: int = 0  # an entry of a matrix written out: a number


class _Dims:
    """Union-find over dimensions; a class may carry a size name."""

    def __init__(self):
        self.parent: dict[int, int] = {}
        self.name: dict[int, str] = {}
        self.counter = ONE  # dimension ids start above the unit dimension's
        self.defining = False  # unifying a definition (trusted) rather than a claim
        self.settled: set[int] = set()  # classes a definition constrained

    def new(self, name: str | None = None) -> int:
        self.counter += 1
        self.parent[self.counter] = self.counter
        if name:
            self.name[self.counter] = name
        return self.counter

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def union(self, a, b) -> bool:
        if a == 1 or b == 1:  # the unit dimension is a constant: never merged with a real one
            return a == b
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if not self.defining and ra in self.settled and rb in self.settled:
            return False  # a claim cannot merge two sizes the definitions keep apart: it may be wrong
        na, nb = self.name.get(ra), self.name.get(rb)
        if na and nb and na != nb:
            return False  # two different named sizes: a conflict, not a merge
        self.parent[rb] = ra
        if nb and not na:
            self.name[ra] = nb
        if self.defining or ra in self.settled or rb in self.settled:
            self.settled.add(ra)
        return True

    def settle(self, d) -> None:
        if d != 1:
            self.settled.add(self.find(d))


ONE = 1  # the unit dimension


@dataclass
class _Shapes:
    """Abstract evaluation: the shape of every expression, dimensions unified."""
    ctx: Context
    kinds: dict[str, str]
    dims: _Dims
    entity: dict[str, tuple] = field(default_factory=dict)  # name -> (rows, cols)
    family_members: dict[str, tuple] = field(default_factory=dict)  # letter -> (member length, count)
    letters: dict[str, int] = field(default_factory=dict)  # index letter -> its range (per equation)
    particular: dict[str, int] = field(default_factory=dict)
    definition_shapes: dict[str, object] = field(default_factory=dict)
    busy: set = field(default_factory=set)
    in_definition: bool = False
    covers: list = field(default_factory=list)  # (an axis a sum ran over, the sum's bound)
    index_values: dict[str, int] = field(default_factory=dict)  # y in p_{y_i}: the axis its values index
    index_lengths: dict[str, int] = field(default_factory=dict)  # ... and the range of i
    placeholders: frozenset = frozenset()  # a function definition's parameters, while reading its body

    def letter(self, name: str, local: dict) -> int:
        if name in local:
            return local[name]
        if name in self.particular:
            return self.particular[name]
        d = self.dims.new()
        local[name] = d
        return d

    def of(self, name: str):
        if name in self.entity:
            return self.entity[name]
        kind = self.kinds.get(name)
        size = self.ctx.size
        if name in self.ctx.arrays:
            a = self.ctx.arrays[name]
            shape = (self._named(a.rows), self._named(a.cols))
        elif kind == "matrix":
            shape = (self.dims.new(), self.dims.new())
        elif kind == "vector" and self.ctx.orientation.get(name) == "row":
            shape = (ONE, self.dims.new())
        elif kind == "vector":
            shape = (self.dims.new(), ONE)
        elif kind == "row":
            shape = (ONE, self.dims.new())
        else:
            return None
        self.entity[name] = shape
        return shape

    def _named(self, size: str) -> int:
        if size == "1":
            return ONE
        for d, n in self.dims.name.items():
            if n == size and self.dims.find(d) == d:
                return d
        return self.dims.new(size)

    def member(self, letter: str):
        if letter in self.family_members:
            return self.family_members[letter]
        family = self.ctx.families.get(letter)
        matrix = self.of(family.matrix) if family else None
        if matrix is not None and family.axis == "column":
            shape = (matrix[0], matrix[1])
        elif matrix is not None:
            shape = (matrix[1], matrix[0])
        else:
            shape = (self.dims.new(), self.dims.new())
        self.family_members[letter] = shape
        return shape

    # the abstract value of an expression: None (unknown), "s" (scalar) or (rows, cols)
    def shape(self, tree, local: dict, position: int):
        if isinstance(tree, Token):
            if tree.type == "NUMBER":
                return "s"
            return self.symbol(tree.value, [], local, position)
        m = getattr(self, "_" + tree.data, None)
        if m is None:
            for c in tree.children:
                if isinstance(c, Tree):
                    self.shape(c, local, position)
            return None
        return m(tree, local, position)

    def unify(self, a, b) -> bool:
        if not isinstance(a, tuple) or not isinstance(b, tuple):
            return False
        ok = (a[0] == b[0] or self.dims.union(a[0], b[0])) and (a[1] == b[1] or self.dims.union(a[1], b[1]))
        return ok

    def symbol(self, name, letters, local, position):
        if name in self.placeholders:
            return None  # z(u, v) = -log sigma(u^T v): u is any vector, not the document's u
        definition = self.ctx.definition(name, position)
        if definition is None and self.in_definition:
            # z_2 = h W_2 + b_2 stated before h = \sigma(z_1): one h, whatever the order of the definitions
            definition = self.ctx.definition(name, 10 ** 12)
        if definition is not None and definition.kind in ("value", "component"):
            value = self.definition_shape(definition, local)
            if definition.kind == "component":
                if letters and definition.params and isinstance(letters[0], str):
                    d = self.letter(letters[0], local)
                    if isinstance(value, tuple):
                        self.dims.union(d, value[0] if value[1] == ONE else value[1])
                    return "s"
                return value
            return self._pick(value, letters, local)
        if name in self.ctx.families and name not in self.ctx.arrays:
            length, count = self.member(name)
            self._index_arrays(letters, [count], local)
            if len(letters) == 1:
                if isinstance(letters[0], str):
                    self.dims.union(self.letter(letters[0], local), count)
                return (length, ONE)
            return "s" if len(letters) == 2 else None
        shape = self.of(name)
        if shape is None:
            return "s" if self.kinds.get(name) == "scalar" else None
        return self._pick(shape, letters, local)

    def _index_arrays(self, letters, axes, local):
        for letter, axis in zip(letters, axes):
            if isinstance(letter, tuple) and len(letter[1]) == 1 and isinstance(letter[1][0], str):
                name, (inner,) = letter
                if axis is not None and axis != ONE:
                    if name in self.index_values:
                        self.dims.union(self.index_values[name], axis)
                    else:
                        self.index_values[name] = axis
                d = self.letter(inner, local)
                if name in self.index_lengths:
                    self.dims.union(self.index_lengths[name], d)
                else:
                    self.index_lengths[name] = d

    def _pick(self, shape, letters, local):
        if isinstance(shape, tuple) and letters:
            vector = shape[1] == ONE or shape[0] == ONE
            axes = [shape[0] if shape[1] == ONE else shape[1]] if vector else list(shape)
            self._index_arrays(letters, axes, local)
        if not letters or not isinstance(shape, tuple):
            return shape if not letters else ("s" if shape == "s" else None)
        vector = shape[1] == ONE or shape[0] == ONE
        if vector and len(letters) == 1:
            if isinstance(letters[0], str):
                self.dims.union(self.letter(letters[0], local), shape[0] if shape[1] == ONE else shape[1])
            return "s"
        if len(letters) == 2:
            for letter, d in zip(letters, shape):
                if isinstance(letter, str):
                    self.dims.union(self.letter(letter, local), d)
            return "s"
        return None

    def definition_shape(self, definition: Definition, local: dict):
        key = (definition.name, definition.position)
        if key in self.definition_shapes:
            return self.definition_shapes[key]
        if key in self.busy:
            return None
        self.busy.add(key)
        from .implicit import bind_sums, einstein

        try:
            tree = bind_sums(parse_tree(definition.latex, self.ctx.token_names(), macros_key(self.ctx.macros)),
                             set(definition.params))
        except ParseError:
            self.busy.discard(key)
            return None
        if self.ctx.einstein:
            tree = einstein(tree, set(definition.params))
        inner: dict = {}
        was, self.in_definition = self.in_definition, True
        was_defining, self.dims.defining = self.dims.defining, True
        value = self.shape(tree, inner, definition.position)
        self.in_definition, self.dims.defining = was, was_defining
        if definition.kind == "value" and isinstance(value, tuple) and self.kinds.get(definition.name) in (
                "vector", "row", "matrix"):
            entity = self.of(definition.name)  # used before its definition too: one shape for both
            if isinstance(entity, tuple):
                self.unify(value, entity)
        if definition.kind == "component":
            if definition.params and definition.params[0] in inner:
                value = (inner[definition.params[0]], ONE)
            elif definition.params and definition.params[0] in self.particular:
                value = (self.particular[definition.params[0]], ONE)
            else:
                value = (self.dims.new(), ONE) if definition.params else None
            if isinstance(value, tuple) and self.ctx.orientation.get(definition.name) == "row":
                value = (ONE, value[0])  # declared a row vector in the prose
            entity = self.of(definition.name) if self.kinds.get(definition.name) in ("vector", "row") else None
            if isinstance(value, tuple) and isinstance(entity, tuple):
                self.dims.union(value[0], entity[0] if entity[1] == ONE else entity[1])  # y_w = ... and y: one y
        self.definition_shapes[key] = value
        self.busy.discard(key)
        return value

    def _symbol(self, t, local, position):
        name = t.children[0].value
        letters = []
        for g in (c for c in t.children[1:] if isinstance(c, Tree)):
            letters += _letters(g)
        if len(letters) == 1 and isinstance(letters[0], int) and f"{name}_{letters[0] + 1}" in self.ctx.named_entries:
            return self.symbol(f"{name}_{letters[0] + 1}", [], local, position)
        return self.symbol(name, letters, local, position)

    def _number(self, t, local, position):
        return "s"

    def _add(self, t, local, position):
        a, b = (self.shape(c, local, position) for c in t.children)
        # x W + b: a bare symbol added to an array is an array of that shape
        for value, other, node in ((a, b, t.children[0]), (b, a, t.children[1])):
            parts = _symbol_parts(node)
            own = entry_name(self.ctx, *parts) if parts else None  # b, or b_1 a name of its own
            if isinstance(value, tuple) and isinstance(other, tuple) and parts and (not parts[1] or own != parts[0]) \
                    and ((value[0] == ONE) != (other[0] == ONE)) and (value[0] == ONE or value[1] == ONE) and \
                    (other[0] == ONE or other[1] == ONE) and self.kinds.get(own) in ("vector", "row") and \
                    own not in self.ctx.arrays and self.ctx.definition(own, position) is None:
                self.entity[own] = (other[0], other[1])  # h W + b: b is a row like h W
                self.kinds[own] = "row" if other[0] == ONE else "vector"
                self.dims.union(value[0] if value[0] != ONE else value[1], other[0] if other[0] != ONE else other[1])
                a, b = (other, other)
                break
            if self.in_definition and isinstance(other, tuple) and (value == "s" or value is None) and parts and \
                    not parts[1] and \
                    self.kinds.get(parts[0]) in ("scalar", None) and parts[0] not in self.ctx.scalars and \
                    self.ctx.definition(parts[0], 10 ** 9) is None and parts[0] not in ("e",) and \
                    not parts[0].isdigit() and parts[0] not in self.ctx.sizes:
                self.kinds[parts[0]] = "row" if other[0] == ONE else "vector" if other[1] == ONE else "matrix"
                self.entity[parts[0]] = other
                a, b = (other, other)
        if isinstance(a, tuple) and isinstance(b, tuple):
            self.unify(a, b)
            return a
        return a if isinstance(a, tuple) else b if isinstance(b, tuple) else ("s" if a == b == "s" else None)

    _sub = _add
    _hadamard = _add

    def _neg(self, t, local, position):
        return self.shape(t.children[0], local, position)

    def _transpose(self, t, local, position):
        a = self.shape(t.children[0], local, position)
        return (a[1], a[0]) if isinstance(a, tuple) else a

    def _mul(self, t, local, position):
        a, b = (self.shape(c, local, position) for c in t.children)
        if a == "s":
            return b
        if b == "s":
            return a
        if isinstance(a, tuple) and isinstance(b, tuple):
            if a[1] == ONE and b[1] == ONE and a[0] != ONE and b[0] != ONE and not self._matrix_symbol(t.children[1]):
                self.dims.union(a[0], b[0])  # u . v
                return "s"
            if a[1] == ONE and b[0] != ONE and b[1] != ONE:
                # x W: a vector before a matrix is a row (the row-vector convention)
                a = self._flip(t.children[0], a)
            if a[1] == b[0] or self.dims.union(a[1], b[0]):
                if a[0] == ONE and b[1] == ONE:
                    return "s"
                return (a[0], b[1])
            return None
        return None

    def _matrix_symbol(self, tree) -> bool:
        parts = _symbol_parts(tree)
        return bool(parts) and not parts[1] and self.kinds.get(parts[0]) == "matrix"

    def _flip(self, tree, shape):
        """A vector entity written before a matrix, as a row; anything else stays as it was."""
        parts = _symbol_parts(tree)
        if not parts or parts[1] or parts[0] in self.ctx.arrays:
            return shape
        name = parts[0]
        definition = self.ctx.definition(name, 10 ** 9)
        if definition is not None:
            return shape
        if self.kinds.get(name) in ("vector", "row") and name in self.entity:
            rows, cols = self.entity[name]
            if cols == ONE:
                self.entity[name] = (ONE, rows)
                self.kinds[name] = "row"
                return self.entity[name]
        return shape

    def _frac(self, t, local, position):
        a, b = (self.shape(c, local, position) for c in t.children)
        return a

    def _power(self, t, local, position):
        a = self.shape(t.children[0], local, position)
        self.shape(t.children[1], local, position)
        return a

    def _func(self, t, local, position):
        return self.shape(t.children[1], local, position)

    def _call(self, t, local, position):
        name = t.children[0].value
        args = [self.shape(a, local, position) for a in t.children[1].children]
        if name in ("CE", "CrossEntropy", "norm", "tr", "Tr", "trace", "indicator", "I"):
            if name in ("CE", "CrossEntropy") and len(args) == 2 and isinstance(args[0], tuple):
                self.unify(args[0], args[1])
            return "s"
        if name in KNOWN_CALLS:
            return next((a for a in args if isinstance(a, tuple)), args[0] if args else None)
        definition = self.ctx.definition(name, position)
        if definition is not None and definition.kind == "value":
            return self.definition_shape(definition, local)
        if name in self.ctx.arrays or self.kinds.get(name) in ("matrix", "vector"):
            shape = self.of(name)
            if len(args) == 1 and isinstance(args[0], tuple) and isinstance(shape, tuple):
                if self.dims.union(shape[1], args[0][0]):
                    return (shape[0], args[0][1])
        return None

    def _bigop(self, t, local, position):
        rest = t.children[1:]
        body = rest[-1]
        sub = rest[0] if len(rest) >= 2 else None
        sup = rest[1] if len(rest) == 3 else None
        from .evaluate import _binder

        letter, start, exclude = _binder(sub)
        inner = dict(local)
        if isinstance(letter, str):
            d = self.dims.new()
            inner[letter] = d
            bound = _bound_name(sup)
            if bound == "K" and self._over_members(body, letter):
                bound = None  # \sum_{k=1}^{K} z(-u_k, v_c): K sampled columns among more, not U's width
            if bound and not bound.isdigit():
                # \sum_{k=1}^{K} u_k runs over K of U's columns, not all of them: the bound names the axis
                # only if nothing else does (see named_axes)
                self.covers.append((d, bound))
        value = self.shape(body, inner, position)
        return value

    def _over_members(self, body, letter: str) -> bool:
        """The body takes members of a family (columns of a matrix) at the letter: u_k."""
        if not isinstance(body, Tree):
            return False
        for node in body.iter_subtrees():
            parts = _symbol_parts(node) if node.data == "symbol" else None
            if parts and parts[0] in self.ctx.families and parts[1] == [letter]:
                return True
        return False

    def _derivative(self, t, local, position):
        top = self.shape(t.children[0], local, position)
        wrt = self.shape(t.children[1], local, position)
        if top == "s":
            return wrt
        return None

    def _derivop(self, t, local, position):
        wrt = self.shape(t.children[0], local, position)
        top = self.shape(t.children[1], local, position)
        if top == "s":
            return wrt
        return None

    def _cases(self, t, local, position):
        out = None
        for case in t.children:
            value = self.shape(case.children[0], local, position)
            out = out or value
        return out

    def _component(self, t, local, position):
        value = self.shape(t.children[0], local, position)
        letters = _letters(t.children[1])
        if isinstance(value, tuple) and len(letters) == 1 and isinstance(letters[0], str):
            if value[1] == ONE or value[0] == ONE:
                self.dims.union(self.letter(letters[0], local), value[0] if value[1] == ONE else value[1])
        return "s"

    def _outer(self, t, local, position):
        a, b = (self.shape(c, local, position) for c in t.children)
        if isinstance(a, tuple) and isinstance(b, tuple):
            return (a[0], b[0])
        return None

    def _delta(self, t, local, position):
        return "s"

    _delta2 = _delta


def _bound_name(sup) -> str | None:
    if sup is None:
        return None
    node = sup.children[0] if isinstance(sup, Tree) and sup.data == "group" else sup
    if isinstance(node, Tree) and node.data == "symbol" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Token):
        return node.value
    return None


BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm|pmb|vec|textbf|bf)\s*\{?\s*(\\hat\s*\{?\s*)?\\?([A-Za-z]+)")
ONE_HOT = re.compile(r"one[- ]?hot|0/1 target|correct class|true (?:outside )?(?:word|class|label)", re.I)


def infer(ctx: Context, source, found: list[Display], authoritative: bool = False) -> tuple[Context, dict[int, str],
                                                                                             dict[int, Parsed]]:
    """The context completed from the document; the roles of the steps that define a name;
    every step's parse."""
    ctx.macros = source.macros
    text = source.text
    # names the tokenizer must keep whole: those tidy makes, over every expression
    sides = [s for d in found for step in d.steps for s in (step.lhs, step.rhs) if s]
    for side in sides:
        ctx.names |= wild.tidy(user_macros.expand(side, source.macros)).names
    ctx.names |= _defined_words(found)
    ctx.tokens = None
    names = ctx.tokens = ctx.token_names()
    parsed: list[Parsed] = []
    for d in found:
        for step in d.steps:
            parsed.append(Parsed(step, _try_parse(step.lhs, source.macros, names),
                                 _try_parse(step.rhs, source.macros, names), d))
    roles = read_definitions(ctx, parsed, authoritative)
    read_substitutions(ctx, parsed, roles)
    _bare_losses(ctx, parsed)
    ctx.einstein = bool(re.search(r"\bEinstein\b", text))
    _sizes_and_letters(ctx, parsed, text)
    ctx.orientation.update(_declared_orientation(text, source.macros, names))
    kinds = _kinds(ctx, parsed, text)
    said = _stated_index(text)
    if said and said not in ctx.particular and any(
            _mentions(t, said) or said in _free_letters(t) for _, t in _walk(parsed)):
        ctx.particular[said] = ""  # "a one-hot vector with a 1 for the true outside word $o$": o is fixed
    _shapes(ctx, parsed, kinds)
    _onehots(ctx, parsed, text)
    _sequences(ctx, parsed)
    _entrywise_definitions(ctx, parsed)
    _stated_totals(ctx, text)
    _declared_rows(ctx, parsed)
    _letter_bounds(ctx)
    _dependent(ctx, parsed)
    _anchored(ctx, parsed)
    return ctx, roles, {id(p.step): p for p in parsed}


def _sequences(ctx: Context, parsed: list[Parsed]) -> None:
    """J(v_c, w_{t+j}, U) inside a sum over j: w is a sequence of word indices (a text), t a
    position in it, and its words are words for each fixed index (c, o: the smallest range).  The
    sequence is longer than any window, so the positions t + j of a window are all different."""
    from .evaluate import Offset, _binder, _letters

    # a word is a valid index of everything a fixed index or a word indexes: the fixed indices'
    # ranges, the one-hot vectors' lengths, the columns of the matrices of u_x and v_x
    vocabularies = {size for size in ctx.particular.values() if size}
    vocabularies |= {a.rows if a.cols == "1" else a.cols for name, a in ctx.arrays.items() if name in ctx.onehots}
    for family in ctx.families.values():
        a = ctx.arrays.get(family.matrix)
        if a is not None:
            vocabularies.add(a.cols if family.axis == "column" else a.rows)
    vocabularies = sorted((size for size in vocabularies if ctx.size(size)), key=ctx.size)
    if not vocabularies:
        return  # which range the words take is not settled
    found: dict[str, tuple[Offset, str]] = {}
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data != "bigop" or len(node.children) < 3:
                continue
            letter = _binder(node.children[1])[0]
            if not isinstance(letter, str):
                continue
            for call in node.children[-1].iter_subtrees():
                if call.data != "call":
                    continue
                for arg in call.children[1].children:
                    if not (isinstance(arg, Tree) and arg.data == "symbol" and len(arg.children) == 2
                            and isinstance(arg.children[1], Tree)):
                        continue
                    letters = _letters(arg.children[1])
                    if len(letters) == 1 and isinstance(letters[0], Offset) and \
                            any(term == letter for _, term in letters[0].terms):
                        found[arg.children[0].value] = (letters[0], letter)
    for name, (offset, letter) in found.items():
        array = ctx.arrays.get(name)
        if name in ctx.families or ctx.definitions.get(name) or name in ctx.particular or \
                (array is not None and array.why != "inferred from use"):
            continue
        ctx.arrays.pop(name, None)
        length = f"#{name}"
        ctx.sizes[length] = 2 * max([v for v in ctx.sizes.values() if v] or [3]) + 1
        ctx.index_arrays[name] = IndexArray(name, length, vocabularies[0])  # a word for every fixed index
        for _, term in offset.terms:
            if isinstance(term, str) and term != letter and ctx.size(term) is None:
                ctx.particular.setdefault(term, length)  # t: the position of the center word


TOTAL_WORDS = re.compile(r"\b(?:sum|summation|summed|summing|total)\b", re.I)


def _stated_totals(ctx: Context, text: str) -> None:
    """"The total loss $\\mathcal{L}$ is obtained as the summation of the losses across all N
    observations": a name defined entry by entry (L_i = ...) that the prose, in the sentence that
    names it bare, calls a sum or a total, is the sum of its entries where it is written bare."""
    for name, defs in ctx.definitions.items():
        if not defs or not all(d.kind == "component" and d.condition is None and len(d.params) == 1 for d in defs):
            continue
        if len(name) != 1 or not name.isalpha():
            continue
        bare = re.compile(r"\$\s*(?:\\(?:mathcal|mathrm|mathbf|boldsymbol)\s*\{?\s*)?" + re.escape(name) +
                          r"\s*\}?\s*\$")
        for m in bare.finditer(text):
            start = max(text.rfind(".", 0, m.start()), text.rfind("\n\n", 0, m.start())) + 1
            end = min([i for i in (text.find(".", m.end()), text.find("\n\n", m.end())) if i >= 0] or [len(text)])
            if TOTAL_WORDS.search(text[start:end]) and not re.search(r"\b(?:mean|average)\b", text[start:end], re.I):
                ctx.totals[name] = "sum"
                break


def _defined_words(found: list[Display]) -> set[str]:
    """NLL = ..., MSE = ...: a word of three or more letters that is the whole left side of an
    equation names one quantity, everywhere in the document (never N L L, a product of letters)."""
    out = set()
    for d in found:
        for step in d.steps[:1]:
            m = re.fullmatch(r"\s*(?:\\(?:mathrm|text|operatorname)\s*\{)?\s*([A-Za-z]{3,})\s*\}?\s*", step.lhs or "")
            if m and m.group(1) not in wild.FUNCTIONS and m.group(1) not in wild.GREEK and \
                    m.group(1) not in ("softmax", "sigma", "sum", "prod", "frac"):
                out.add(m.group(1))
    return out


def _declared_rows(ctx: Context, parsed: list[Parsed]) -> None:
    """\\tilde{y} - y with \\tilde{y} declared a row vector: y, whose shape was only inferred, is a row too."""
    rows = {n for n, o in ctx.orientation.items() if o == "row"}
    if not rows:
        return
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data not in ("add", "sub"):
                continue
            names = [_symbol_parts(c) for c in node.children]
            if not all(n and not n[1] for n in names):
                continue
            a, b = names[0][0], names[1][0]
            for declared, other in ((a, b), (b, a)):
                array = ctx.arrays.get(other)
                if declared in rows and other not in ctx.orientation and array is not None and \
                        array.cols == "1" and array.why == "inferred from use":
                    ctx.arrays[other] = Array(other, "1", array.rows, f"a row like {wild.shown(declared)}, "
                                              "which the document declares a row vector")
                    ctx.orientation[other] = "row"


ORIENTATION = re.compile(r"\b(row|column)[- ]vectors?\b", re.I)
CLAUSE_END = re.compile(r"[.;:!?]\s|\n|,\s*(?:and|while|but)\b|\band\b")


def _declared_orientation(text: str, macros: dict, names: frozenset) -> dict[str, str]:
    """Prose that says what a vector is: "$\\tilde{y}$: the predicted distribution, row vector",
    "$y$ is a column vector".  The first symbol written in the clause before the words."""
    out: dict[str, str] = {}
    for m in ORIENTATION.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        before = text[start:m.start()]
        # the clause: from the last sentence break that is not inside math
        pieces = re.split(r"(\$[^$]*\$)", before)
        clause: list[str] = []
        for piece in reversed(pieces):
            if not piece.startswith("$"):
                cut = list(CLAUSE_END.finditer(piece))
                if cut and clause:
                    break
                if cut and not clause and re.search(r"[.;!?]\s*$", piece.strip() + " ") and piece.strip():
                    continue
            clause.insert(0, piece)
        maths = [p[1:-1] for p in clause if p.startswith("$") and p.endswith("$") and len(p) > 2]
        if not maths:
            continue
        tree = _try_parse(maths[0], macros, names)
        parts = _symbol_parts(tree) if tree is not None else None
        if parts and not parts[1]:
            out.setdefault(parts[0], m.group(1).lower())
    return out


def _try_parse(text: str, macros: dict, names: frozenset):
    if not text:
        return None
    try:
        return parse_tree(text, names, macros_key(macros))
    except ParseError:
        return None


def _walk(parsed: list[Parsed]):
    for p in parsed:
        for tree in (p.lhs, p.rhs):
            if isinstance(tree, Tree):
                yield p, tree


def _definition_trees(ctx: Context):
    from .implicit import bind_sums, einstein

    for defs in list(ctx.definitions.values()) + list(ctx.calls.values()):
        for d in defs:
            try:
                tree = bind_sums(parse_tree(d.latex, ctx.token_names(), macros_key(ctx.macros)),
                                 set(d.params))
            except ParseError:
                continue
            if ctx.einstein:
                tree = einstein(tree, set(d.params))
            yield d, tree


def _sizes_and_letters(ctx: Context, parsed: list[Parsed], text: str) -> None:
    """Sizes named by sum bounds (\\sum_{j=1}^{V}, |V|, Vocab) and index letters used inside
    subscripts (p_{y_i}: y is an index array)."""
    bounds: dict = {}  # in the document's order (a set's order follows Python's per-process hash seed)
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data == "bigop" and len(node.children) == 4:
                name = _bound_name(node.children[2])
                if name and not name.isdigit():
                    bounds[name] = None
    for name in bounds:
        if name not in ctx.sizes and name not in ctx.aliases:
            if name.lower() in ("vocab", "vocabulary", "v") and any(b in ctx.sizes for b in ("W",)):
                ctx.aliases[name] = "W"
            else:
                ctx.aliases.setdefault(name, name) if False else None
                ctx.sizes.setdefault(name, 0)  # a value is chosen with the others below
    # Vocab and V name the same size when both are used
    vocab = [n for n in list(ctx.sizes) if n.lower() in ("vocab", "vocabulary")]
    for n in vocab:
        if "V" in ctx.sizes and n != "V" and ctx.sizes.get(n) == 0:
            del ctx.sizes[n]
            ctx.aliases[n] = "V"


def _kinds(ctx: Context, parsed: list[Parsed], text: str) -> dict[str, str]:
    evidence: dict[str, Evidence] = {}
    bold = {m.group(2) + ("hat" if m.group(1) else "") for m in BOLD.finditer(text)}
    bold |= {m.group(2) for m in BOLD.finditer(text)}
    params = {p for defs in ctx.definitions.values() for d in defs if d.kind == "function" for p in d.params}
    trees = [(t, ()) for _, t in _walk(parsed)] + [(t, d.params if d.kind == "function" else ())
                                                    for d, t in _definition_trees(ctx)]
    skip: set = set()

    def ev(name):
        if name in skip:
            return Evidence()  # a function's parameter is a placeholder, not a quantity of the document
        return evidence.setdefault(name, Evidence())

    for tree, own in trees:
        skip = set(own)
        _collect(tree, ev, ctx, parent=None)
    skip = set()
    kinds: dict[str, str] = {}
    first_use = _first_uses(parsed)
    for name, e in evidence.items():
        if name in ctx.arrays or name in ctx.scalars or name in KNOWN_CALLS or name in ("e", "cdots"):
            continue
        if ctx.definitions.get(name) and all(d.kind == "function" for d in ctx.definitions[name]):
            continue
        defined_from = min((d.position for d in ctx.definitions.get(name, ())), default=None)
        if defined_from is not None and first_use.get(name, 10 ** 12) >= defined_from and \
                not all(d.kind == "component" and d.condition for d in ctx.definitions[name]):
            continue  # only ever used where its definition holds: its shape is its definition's
        if name in ctx.families:
            continue
        if e.nested and not e.bare:
            kinds[name] = "indices"
            continue
        if name in ctx.sizes and not e.letter_subs and not e.transposed and not e.matrix:
            continue
        upper = name[:1].isupper()
        vectorish = e.transposed or e.vector or (name in bold and not upper) or e.matrix
        if e.numeric_subs and not e.bare and not e.letter_subs:
            continue  # W_1, b_2: named entries, kinds given per entry below
        if upper and (e.bare or e.two_subs) and (e.matrix or e.transposed or e.two_subs):
            kinds[name] = "matrix"
            continue
        if e.bare and e.member_transposed and not e.two_subs:
            kinds[name] = "family"  # u_k^T v_c beside z(u, v): u_k are vectors; a bare u is another thing
            continue
        if e.bare:
            if vectorish or e.letter_subs:
                kinds[name] = "vector"
            else:
                kinds[name] = "scalar"
            continue
        if e.letter_subs:
            if vectorish and (e.transposed or name in bold or e.vector):
                kinds[name] = "family"  # w_j^T x_i, \boldsymbol{x_i}: vectors named by an index
            elif e.two_subs and not e.transposed:
                kinds[name] = "entries"
            elif vectorish:
                kinds[name] = "family"
            else:
                kinds[name] = "entries"
    # named entries: W_1 (a matrix), b_1, z_1 (vectors), when the letter is never used otherwise
    for name, e in evidence.items():
        base = name.split("_")[0]
        if e.numbered and base in evidence and (evidence[base].bare or evidence[base].letter_subs):
            continue  # y_1 beside y and y_w: an entry of y
        if e.numbered and "_" in name and name not in kinds and not ctx.definitions.get(name) and \
                e.cell and not (e.transposed or e.vector or e.matrix):
            kinds[name] = "scalar"  # m_1 in a matrix written out: a number
            ctx.named_entries.add(name)
            continue
        if e.numbered and "_" in name and name not in kinds and not ctx.definitions.get(name):
            base = name.split("_")[0]
            kinds[name] = "matrix" if base[:1].isupper() else ("vector" if (e.transposed or e.vector or e.matrix or
                                                                             base in bold) else "vector")
            ctx.named_entries.add(name)
    return kinds


def _first_uses(parsed: list[Parsed]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data in ("symbol", "call"):
                name = node.children[0].value
                out[name] = min(out.get(name, 10 ** 12), p.step.position)
    return out


def _collect(tree, ev, ctx: Context, parent) -> None:
    if isinstance(tree, Token):
        if tree.type == "NAME":
            ev(tree.value).bare += 1
        return
    data = tree.data
    if data == "symbol":
        name = tree.children[0].value
        groups = [c for c in tree.children[1:] if isinstance(c, Tree)]
        letters = []
        for g in groups:
            letters += _letters(g)
        e = ev(name)
        if not letters:
            e.bare += 1
        elif len(letters) == 1 and isinstance(letters[0], int):
            named = f"{name}_{letters[0] + 1}"
            ev(named).numbered += 1
            e.numeric_subs += 1
            if parent == "transpose":
                ev(named).transposed += 1
            if parent == "matrix-operand":
                ev(named).matrix += 1
        else:
            e.letter_subs += 1
            if len(letters) == 2:
                e.two_subs += 1
        if parent == "transpose":
            e.transposed += 1
            if letters and not (len(letters) == 1 and isinstance(letters[0], int)):
                e.member_transposed += 1
        if (parent == "softmax" and not letters) or parent == "vector-operand":
            e.vector += 1
            if parent == "vector-operand" and letters and all(isinstance(x, str) for x in letters) and \
                    len(letters) == 1:
                e.member_transposed += 1  # w^T x_i: x_i is itself a vector
        if parent == "matrix-operand":
            e.matrix += 1
        for letter in letters:
            if isinstance(letter, tuple):
                ev(letter[0]).nested += 1
        return
    if data == "transpose":
        _collect(tree.children[0], ev, ctx, "transpose")
        return
    if data == "matrix":  # \begin{bmatrix} p m_1 + q m_2 \end{bmatrix}: the cells are numbers
        for row in tree.children:
            for cell in row.children:
                for node in ([cell] if isinstance(cell, Token) else list(cell.iter_subtrees())):
                    parts = _symbol_parts(node) if isinstance(node, Tree) and node.data == "symbol" else None
                    if parts and len(parts[1]) == 1 and isinstance(parts[1][0], int):
                        ev(f"{parts[0]}_{parts[1][0] + 1}").cell += 1
                _collect(cell, ev, ctx, None)
        return
    if data == "bigop":  # the summation letter and its bounds are indices and sizes, not values
        _collect(tree.children[-1], ev, ctx, None)
        return
    if data in ("delta", "delta2", "case_equal", "case_not_equal", "condition", "condition_not_equal"):
        if data in ("case_equal", "case_not_equal"):
            _collect(tree.children[0], ev, ctx, None)
        return
    if data == "func" and tree.children[0].value == "softmax":
        _collect(tree.children[1], ev, ctx, "softmax")
        return
    if data == "call" and tree.children[0].value in ("softmax", "CE", "CrossEntropy"):
        for a in tree.children[1].children:
            _collect(a, ev, ctx, "softmax")
        return
    if data == "mul":
        a, b = tree.children
        # X W, W x, U^T v: an upper-case operand of a product with a vector is a matrix, and the
        # lower-case one a vector; u^T v: both vectors
        for x, y in ((a, b), (b, a)):
            if _is_upper_symbol(x) and _vectorish(y):
                _collect(x, ev, ctx, "matrix-operand")
            elif _is_lower_symbol(x) and (_is_upper_symbol(y) or _is_transposed_lower(y)) and not _indexed(y):
                _collect(x, ev, ctx, "vector-operand")  # W x, u^T v (W_{ij} x_j: entries, numbers)
            else:
                _collect(x, ev, ctx, None)
        return
    if data == "call":  # the head is a function's name, not a value
        head = tree.children[0].value
        if head[:1].isupper() and head not in KNOWN_CALLS:
            return  # J(o, v_c, U), P(O = o | C = c): what a quantity depends on, not values
        for c in tree.children[1].children:
            _collect(c, ev, ctx, None)
        return
    for c in tree.children:
        if isinstance(c, (Tree, Token)):
            _collect(c, ev, ctx, None)


def _indexed(tree) -> bool:
    """An entry written with its indices: W_{ij} (two letters), or an upper-case name with a letter
    (W_i); under a transpose or not.  u_o^T is a vector, not an entry."""
    if isinstance(tree, Tree) and tree.data == "transpose":
        tree = tree.children[0]
    parts = _symbol_parts(tree)
    if not parts or not parts[1]:
        return False
    letters = [x for x in parts[1] if isinstance(x, str)]
    return len(parts[1]) >= 2 or (bool(letters) and parts[0][:1].isupper())


def _is_lower_symbol(tree) -> bool:
    return isinstance(tree, Tree) and tree.data == "symbol" and tree.children[0].value[:1].islower() and \
        tree.children[0].value not in ("e", "cdots")


def _is_transposed_lower(tree) -> bool:
    return isinstance(tree, Tree) and tree.data == "transpose" and _is_lower_symbol(tree.children[0])


def _is_upper_symbol(tree) -> bool:
    if isinstance(tree, Tree) and tree.data == "transpose":
        tree = tree.children[0]
    return isinstance(tree, Tree) and tree.data == "symbol" and tree.children[0].value[:1].isupper()


def _vectorish(tree) -> bool:
    r"""An operand that makes an upper-case neighbour a matrix: a transpose, a lower-case symbol, a
    difference of such (U(\hat{y} - y), W x, x W)."""
    if isinstance(tree, Tree) and tree.data in ("transpose",):
        return True
    if isinstance(tree, Tree) and tree.data == "symbol":
        return tree.children[0].value[:1].islower()
    if isinstance(tree, Tree) and tree.data in ("sub", "add"):
        return any(_vectorish(c) for c in tree.children)
    return False


def _shapes(ctx: Context, parsed: list[Parsed], kinds: dict[str, str]) -> None:
    dims = _Dims()
    shapes = _Shapes(ctx, kinds, dims)
    # families: u_w with no bare u are columns of U (if the document has a U), else of a matrix of their own
    for name, kind in list(kinds.items()):
        if kind == "family":
            matrix = name.upper() if len(name) == 1 and kinds.get(name.upper()) == "matrix" else None
            if matrix is None:
                free = name.upper() not in kinds and name.upper() not in ctx.definitions and \
                    name.upper() not in ctx.sizes and name.upper() not in ctx.aliases
                matrix = name.upper() if len(name) == 1 and free else f"{name}#"
                kinds[matrix] = "matrix"
            ctx.families[name] = Family(name, matrix, "column", "row-first", "inferred")
        elif kind == "entries":
            kinds[name] = "vector"
    # particular indices: letters free in the document's value definitions
    for d, tree in list(_definition_trees(ctx)):
        if True:
            if d.kind not in ("value", "component", "function") or d.origin != "document" or \
                    d.name not in ctx.definitions:
                continue
            for letter in [x for x in _free_letters(tree) if x not in d.params]:
                if letter not in ctx.particular and isinstance(letter, str) and len(letter) <= 6:
                    ctx.particular[letter] = ""
    for defs in ctx.definitions.values():
        for d in defs:
            for a, _, b in d.condition or ():
                for letter in (a, b):
                    if letter not in d.params and letter not in ctx.particular and re.fullmatch(r"[a-z]", letter):
                        ctx.particular[letter] = ""  # y_w = 1 for w = o: o is a fixed index
    for letter in ctx.particular:
        shapes.particular[letter] = dims.new(ctx.particular[letter] or None)
    # unify: definitions first, then claims (which cannot merge what definitions keep apart)
    for d, tree in _definition_trees(ctx):
        local: dict = {}
        for param in d.params:
            local.setdefault(param, dims.new())
        shapes.in_definition = dims.defining = True
        shapes.placeholders = frozenset(d.params) if d.kind == "function" else frozenset()
        try:
            value = shapes.shape(tree, local, d.position)
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            continue
        finally:
            shapes.in_definition = dims.defining = False
            shapes.placeholders = frozenset()
        if isinstance(value, tuple):
            for x in value:
                dims.settle(x)
            if d.kind == "value" and shapes.kinds.get(d.name) in ("vector", "row", "matrix"):
                entity = shapes.of(d.name)  # used before its definition too: one shape for both
                if isinstance(entity, tuple):
                    dims.defining = True
                    shapes.unify(value, entity)
                    dims.defining = False
        if d.kind == "value" and isinstance(value, tuple):
            shapes.definition_shapes[(d.name, d.position)] = value
    for p, tree in _walk(parsed):
        try:
            shapes.shape(tree, {}, p.step.position)
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            continue  # a construct the shape pass does not know tells nothing about shapes
    # family orientation: a member as long as the matrix's rows is a column
    for letter, family in list(ctx.families.items()):
        if family.why != "inferred":
            continue
        length, count = shapes.member(letter)
        matrix = shapes.of(family.matrix)
        if matrix is None:
            continue
        if dims.find(length) == dims.find(matrix[1]) and dims.find(length) != dims.find(matrix[0]):
            ctx.families[letter] = Family(letter, family.matrix, "row", family.entry, "inferred")
    # a sum's bound names the axis it ran over, when nothing else named it: the largest such bound
    # (\sum_{w=1}^{V} and \sum_{k=1}^{K} over one axis: V)
    named_by: dict[int, list[str]] = {}
    for d, bound in shapes.covers:
        named_by.setdefault(dims.find(d), []).append(ctx.aliases.get(bound, bound))
    for root, bounds in named_by.items():
        if dims.name.get(dims.find(root)):
            continue
        full = [b for b in bounds if b != "K"] or bounds
        dims.name[dims.find(root)] = full[0]
    # \sum_{i=1}^{n} beside \sum_{i=1}^{N} over one axis: n and N, one letter in two cases, are one size
    for d, bound in shapes.covers:
        other = dims.name.get(dims.find(d))
        if other and bound != other and bound.lower() == other.lower() and ctx.sizes.get(bound) == 0 and \
                bound not in ctx.aliases:
            del ctx.sizes[bound]
            ctx.aliases[bound] = other
    # name the dimensions and give each a size
    roots = {}
    order = []

    def root_name(d):
        if d == ONE:
            return "1"
        r = dims.find(d)
        if r not in roots:
            given = dims.name.get(r)
            roots[r] = given or f"n{len([x for x in roots.values() if x.startswith('n')]) + 1}"
            order.append(roots[r])
        return roots[r]

    for name, kind in list(shapes.kinds.items()):
        if kind in ("matrix", "vector", "row") and name not in ctx.arrays:
            shape = shapes.of(name)
            if shape is None:
                continue
            rows, cols = root_name(shape[0]), root_name(shape[1])
            ctx.arrays[name] = Array(name, rows, cols, "inferred from use")
        elif kind == "scalar" and shapes.kinds.get(name) == "scalar":
            ctx.scalars.add(name)
        elif kind == "indices":
            length = root_name(shapes.index_lengths[name]) if name in shapes.index_lengths else ""
            values = root_name(shapes.index_values[name]) if name in shapes.index_values else ""
            ctx.index_arrays.setdefault(name, IndexArray(name, length, values))
    for letter, d in shapes.particular.items():
        ctx.particular[letter] = root_name(d)
    _assign_sizes(ctx, order)


def _free_letters(tree) -> list:
    """Index letters a tree uses outside every sum that binds them."""
    from .evaluate import _binder

    out: list = []

    def walk(node, bound):
        if isinstance(node, Token) or node is None:
            return
        if node.data == "bigop":
            rest = node.children[1:]
            letter = _binder(rest[0] if len(rest) >= 2 else None)[0]
            walk(rest[-1], bound | {letter})
            return
        if node.data == "symbol":
            for g in (c for c in node.children[1:] if isinstance(c, Tree)):
                for x in _letters(g):
                    if isinstance(x, str) and x not in bound and x != "?" and x not in out:
                        out.append(x)
                    elif isinstance(x, tuple) and len(x[1]) == 1 and isinstance(x[1][0], str) and \
                            re.fullmatch(r"[A-Z]", x[1][0]) and x[1][0] not in bound and x[1][0] not in out:
                        out.append(x[1][0])  # v_{w_I}: I names one word (the input word), a fixed index
            return
        for c in node.children:
            walk(c, bound)

    walk(tree, frozenset())
    return out


POOL = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12)


def _assign_sizes(ctx: Context, order: list[str]) -> None:
    """Each size a small value of its own, so that a shape error shows."""
    used = {v for v in ctx.sizes.values() if v}
    vocabularies = {size for size in ctx.particular.values() if size and size != "1"}
    pending = [n for n in order if n != "1" and not ctx.sizes.get(n) and ctx.size(n) is None or
               (n in ctx.sizes and ctx.sizes[n] == 0)]
    pending += [n for n, v in ctx.sizes.items() if v == 0 and n not in pending]
    samples = [n for n in pending if n == "K"]
    for n in samples:
        ctx.sizes[n] = 2
        used.add(2)
    for n in pending:
        if n in samples:
            continue
        floor = 5 if n in vocabularies else 3
        value = next((v for v in POOL if v not in used and v >= floor), None)
        if value is None:  # more sizes than small values: reuse one (a shape error between these two may hide)
            value = POOL[len(used) % 6] if POOL[len(used) % 6] >= floor else 5
        ctx.sizes[n] = value
        used.add(value)


def _onehots(ctx: Context, parsed: list[Parsed], text: str) -> None:
    """A cross-entropy's target is one-hot: y in CE(y, yhat) or -\\sum y_i \\log p_i, at the index the
    loss picks (-\\log \\hat{y}_o: o), else at an index of its own."""
    targets: dict[str, set] = {}
    trees = [t for _, t in _walk(parsed)] + [t for _, t in _definition_trees(ctx)]
    for tree in trees:
        for node in tree.iter_subtrees():
            if node.data == "call" and node.children[0].value in ("CE", "CrossEntropy"):
                args = node.children[1].children
                if args:
                    parts = _symbol_parts(args[0])
                    if parts:
                        targets.setdefault(parts[0], set())
                        for x in parts[1]:
                            if isinstance(x, str) and x in ctx.particular:
                                targets[parts[0]].add(x)
            if node.data == "bigop":
                body = node.children[-1]
                if isinstance(body, Tree) and body.data in ("mul",):
                    a, b = body.children
                    pa = _symbol_parts(a)
                    if pa and pa[1] and isinstance(b, Tree) and b.data == "func" and b.children[0].value == "log":
                        targets.setdefault(pa[0], set())
    stated = bool(ONE_HOT.search(text))
    said = _stated_index(text)
    for name in targets:
        if name not in ctx.arrays and name not in ctx.families:
            continue
        if name in ctx.definitions or name in ctx.onehots:
            continue
        at = _index_of(ctx, name, parsed) or (said if said and name in ("y", "t") else None)
        if at and at not in ctx.particular:
            ctx.particular[at] = _length(ctx.arrays[name]) if name in ctx.arrays else ""
        ctx.onehots[name] = at if at else None
        if at is None:
            ctx.particular.setdefault("#" + name, _length(ctx.arrays[name]) if name in ctx.arrays else "")
    if stated:
        for name in ("y", "t"):
            if name in ctx.arrays and name not in ctx.onehots and name not in ctx.definitions and \
                    (_said_one_hot(text, name) or not any(_said_one_hot(text, n) for n in ("y", "t"))):
                at = _index_of(ctx, name, parsed) or said
                if at and at not in ctx.particular:
                    ctx.particular[at] = _length(ctx.arrays[name])
                ctx.onehots[name] = at
                if at is None:
                    ctx.particular.setdefault("#" + name, _length(ctx.arrays[name]))


def _length(array: Array) -> str:
    """A vector's length: its rows, or its columns for a row vector."""
    return array.cols if array.rows == "1" else array.rows


def _said_one_hot(text: str, name: str) -> bool:
    """The prose calls this symbol one-hot: "$y$ is the one-hot vector", "the one-hot $\\mathbf{y}$"."""
    symbol = rf"\$\s*(?:\\(?:mathbf|boldsymbol|bm|pmb|vec)\s*\{{?\s*)?{name}\s*\}}?\s*\$"
    near = r"[^$]{0,60}?"
    said = ONE_HOT.pattern
    return bool(re.search(symbol + near + f"(?:{said})", text, re.I) or
                re.search(f"(?:{said})" + near + symbol, text, re.I))


STATED_AT = re.compile(r"one[- ]?hot[^.$]{0,80}?\b(?:at|for|where|when|with a 1 (?:for|at))\b[^.$]{0,40}?"
                       r"(?:\$\s*(?:[A-Za-z]\s*(?:=|==)\s*)?([a-z])\s*\$|\bword ([a-z])\b)", re.S | re.I)


CLASS_INDEX = re.compile(r"\$\s*([a-z])\s*\$\s+is\s+the\s+index\s+of\s+the\s+(?:correct|true|target)\s+"
                         r"(?:class|label|word)", re.I)


def _stated_index(text: str) -> str | None:
    """The index a one-hot vector is 1 at, when the prose says it: "a one-hot vector with a 1
    for the true outside word $o$", "1 where $w = o$", "$k$ is the index of the correct class"."""
    m = STATED_AT.search(text)
    if m:
        return m.group(1) or m.group(2)
    m = CLASS_INDEX.search(text)
    return m.group(1) if m else None


def _index_of(ctx: Context, name: str, parsed: list[Parsed]) -> str | None:
    """The particular index a one-hot vector's one sits at: the one its entries or its
    prediction's are taken at in the definitions (y_o, -\\log \\hat{y}_o)."""
    counts: dict[str, int] = {}
    for d, tree in _definition_trees(ctx):
        for node in tree.iter_subtrees():
            if node.data == "symbol" and node.children[0].value in (name, name + "hat", name + "tilde"):
                for g in (c for c in node.children[1:] if isinstance(c, Tree)):
                    for x in _letters(g):
                        if isinstance(x, str) and x in ctx.particular and x not in d.params:
                            counts[x] = counts.get(x, 0) + 1
    if not counts:
        for _, tree in _walk(parsed):
            for node in tree.iter_subtrees():
                if node.data == "func" and node.children[0].value == "log":
                    for sub in node.iter_subtrees():
                        if sub.data == "symbol" and sub.children[0].value in (name + "hat", name + "tilde"):
                            for g in (c for c in sub.children[1:] if isinstance(c, Tree)):
                                for x in _letters(g):
                                    if isinstance(x, str) and x in ctx.particular:
                                        counts[x] = counts.get(x, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _entrywise_definitions(ctx: Context, parsed: list[Parsed]) -> None:
    """\tilde{y} = P(O=o|C=c) = exp(u_o^T v_c) / ..., then \tilde{y}_x: a prediction written at the
    target index o defines its entry o; used with an index, it is the vector of those entries."""
    targets = {at for at in ctx.onehots.values() if at}
    if not targets:
        return
    subscripted = set()
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            parts = _symbol_parts(node) if node.data == "symbol" else None
            if parts and len(parts[1]) == 1 and isinstance(parts[1][0], str):
                subscripted.add(parts[0])
    for name in list(ctx.definitions):
        defs = ctx.definitions[name]
        if name not in subscripted:
            continue
        for i, d in enumerate(defs):
            if d.kind != "value" or d.origin != "document":
                continue
            try:
                tree = parse_tree(d.latex, ctx.token_names(), macros_key(ctx.macros))
            except ParseError:
                continue
            free = [x for x in _free_letters(tree) if x in targets]
            if len(free) == 1:
                from dataclasses import replace

                defs[i] = replace(d, kind="component", params=(free[0],))


def _letter_bounds(ctx: Context) -> None:
    r"""k in the definitions' \sum_{k=1}^{K}: where k is free (dJ/du_k), it runs to K too."""
    from .evaluate import _binder

    for d, tree in _definition_trees(ctx):
        for node in tree.iter_subtrees():
            if node.data == "bigop" and len(node.children) == 4:
                letter = _binder(node.children[1])[0]
                bound = _bound_name(node.children[2])
                if isinstance(letter, str) and bound and not bound.isdigit() and ctx.size(bound):
                    ctx.letter_bounds.setdefault(letter, bound)


def _dependent(ctx: Context, parsed: list[Parsed]) -> None:
    """Quantities the document differentiates with respect to something else but never defines."""
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data in ("derivative", "derivop"):
                top, variable = (node.children[0], node.children[1]) if node.data == "derivative" else \
                    (node.children[1], node.children[0])
                parts, var = _symbol_parts(top), _symbol_parts(variable)
                if not (parts and var):
                    continue
                name, wrt = entry_name(ctx, *parts), entry_name(ctx, *var)  # z_2 by h: z_2 is a name of its own
                if name != wrt and ctx.definition(name, 10 ** 12) is None and \
                        name not in ctx.calls and name not in ("e",):
                    ctx.dependent.add(name)


def entry_name(ctx: Context, name: str, letters: list) -> str:
    """W_1, z_2: a number in the subscript is part of the name (a named entry), else the name."""
    if len(letters) == 1 and isinstance(letters[0], int) and f"{name}_{letters[0] + 1}" in ctx.named_entries:
        return f"{name}_{letters[0] + 1}"
    return name


def _anchored(ctx: Context, parsed: list[Parsed]) -> None:
    """Symbols that take part in the document's model: used by a definition, differentiated
    with respect to, or given by the notation.  A symbol that is none of these, used on one side
    of a step only, makes that step uncheckable."""
    for d, tree in _definition_trees(ctx):
        for node in tree.iter_subtrees():
            if node.data in ("symbol", "call"):
                ctx.anchored.add(node.children[0].value)
                parts = _symbol_parts(node) if node.data == "symbol" else None
                if parts:
                    ctx.anchored.add(entry_name(ctx, *parts))  # W_1: a name of its own
        ctx.anchored.update(d.params)
    for _, tree in _walk(parsed):
        for node in tree.iter_subtrees():
            if node.data in ("derivative", "derivop"):
                variable = node.children[1] if node.data == "derivative" else node.children[0]
                parts = _symbol_parts(variable)
                if parts:
                    ctx.anchored.add(parts[0])
                    ctx.anchored.add(entry_name(ctx, *parts))
    for letter, family in ctx.families.items():
        if letter in ctx.anchored:
            ctx.anchored.add(family.matrix)
        if family.matrix in ctx.anchored:
            ctx.anchored.add(letter)
    ctx.anchored.update(n for n in ctx.arrays if ctx.arrays[n].why not in ("inferred from use",))
    ctx.anchored.update(ctx.onehots)  # a one-hot vector has no free entries
