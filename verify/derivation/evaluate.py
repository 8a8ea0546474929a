"""Evaluate a parsed expression at explicit small sizes: values are SymPy matrices over
symbols for the entries of the declared matrices, so derivatives are exact; checking then
substitutes random numbers.

Definitions are expanded where used, except the one a derivative is taken with respect to
(dJ/ds_j needs J as a function of s): that one stays a placeholder until the derivative is
taken, then is expanded too.  Bound indices of sums never capture a free one, because each
sum binds its letter in its own environment.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp
from lark import Token, Tree

from gradproof.derive.notation import Notation
from gradproof.derive.latex import parse


FUNCTIONS = ("softmax", "exp", "log", "sigma")


class CannotCheck(Exception):
    """The expression has no value under the notation (undefined symbol, prose, a tensor...)."""


class ShapeError(Exception):
    """The expression is ill-formed: operands of incompatible shapes."""


@dataclass(frozen=True)
class Env:
    values: Mapping[str, int]  # index letters bound to numbers (c, o, free and summed indices)
    stop: frozenset[str] = frozenset()  # definitions kept as placeholders


def _is_matrix(x) -> bool:
    return isinstance(x, sp.MatrixBase)


@dataclass
class Model:
    """One instantiation: sizes, index values of c and o, and symbols for every entry."""

    notation: Notation
    index_values: dict[str, int]
    arrays: dict[str, list[int]] = field(default_factory=dict)  # index arrays such as the samples w_k
    primitives: dict[str, sp.Matrix] = field(default_factory=dict)
    placeholders: dict[str, object] = field(default_factory=dict)
    expanded: dict[str, object] = field(default_factory=dict)
    partial: dict = field(default_factory=dict)  # (name, stop) -> expansion that keeps stop symbolic

    def __post_init__(self):
        n = self.notation
        for name, s in n.symbols.items():
            if s.role == "matrix":
                rows, cols = (n.sizes[d] for d in s.shape)
                self.primitives[name] = sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))
            elif s.role == "vector":
                self.primitives[name] = sp.Matrix(n.sizes[s.shape[0]], 1, lambda i, j: sp.Symbol(f"{name}_{i}", real=True))
            elif s.role == "onehot":
                at = self.index_values[s.at]
                self.primitives[name] = sp.Matrix(n.size(s.shape[0]), 1, lambda i, j: sp.Integer(int(i == at)))
        for name in n.definitions:  # in order: each may use the ones before it
            value = Evaluator(self).value(parse(n.definitions[name], n.names()).tree, Env(self.index_values))
            self.expanded[name] = value
            if _is_matrix(value):
                self.placeholders[name] = sp.Matrix(value.shape[0], value.shape[1],
                                                    lambda i, j: sp.Symbol(f"{name}#{i}_{j}", real=True))
            else:
                self.placeholders[name] = sp.Symbol(f"{name}#", real=True)

    def shapes(self) -> dict[str, tuple[int, int]]:
        return {k: v.shape for k, v in self.expanded.items() if _is_matrix(v)}

    def substitution(self) -> dict:
        """Placeholders to their expansions."""
        out = {}
        for name, holder in self.placeholders.items():
            full = self.expanded[name]
            if _is_matrix(holder):
                out.update({holder[k]: full[k] for k in range(len(holder))})
            else:
                out[holder] = full
        return out


class Evaluator:
    def __init__(self, model: Model):
        self.model, self.n = model, model.notation

    # -- entry point ----------------------------------------------------------------------------
    def value(self, tree, env: Env):
        if isinstance(tree, Token):
            if tree.type == "NUMBER":
                return sp.Rational(tree.value)
            return self.symbol_value(tree.value, [], env)
        method = getattr(self, f"_{tree.data}", None)
        if method is None:
            raise CannotCheck(f"'{tree.data}' is not supported")
        return method(tree, env)

    # -- arithmetic -----------------------------------------------------------------------------
    def _add(self, t, env):
        return self._combine(self.value(t.children[0], env), self.value(t.children[1], env), 1)

    def _sub(self, t, env):
        return self._combine(self.value(t.children[0], env), self.value(t.children[1], env), -1)

    def _combine(self, a, b, sign):
        if _is_matrix(a) != _is_matrix(b) or (_is_matrix(a) and a.shape != b.shape):
            raise ShapeError(f"cannot add {_shape(a)} and {_shape(b)}")
        return a + sign * b

    def _neg(self, t, env):
        return -self.value(t.children[0], env)

    def _mul(self, t, env):
        a, b = self.value(t.children[0], env), self.value(t.children[1], env)
        if not _is_matrix(a) or not _is_matrix(b):
            return a * b
        if a.shape[1] == b.shape[0]:
            product = a * b
            return product[0, 0] if product.shape == (1, 1) else product
        if a.shape == b.shape and a.shape[1] == 1:  # u . v of two column vectors: a dot product
            return (a.T * b)[0, 0]
        raise ShapeError(f"cannot multiply {_shape(a)} by {_shape(b)}")

    def _outer(self, t, env):
        a, b = self.value(t.children[0], env), self.value(t.children[1], env)
        a = a if _is_matrix(a) else sp.Matrix([[a]])
        b = b if _is_matrix(b) else sp.Matrix([[b]])
        if a.shape[1] != 1 or b.shape[1] != 1:
            raise ShapeError(f"an outer product needs two vectors, not {_shape(a)} and {_shape(b)}")
        return a * b.T

    def _frac(self, t, env):
        top, bottom = self.value(t.children[0], env), self.value(t.children[1], env)
        if _is_matrix(bottom):
            raise ShapeError(f"cannot divide by a {_shape(bottom)} array")
        return top / bottom

    def _transpose(self, t, env):
        a = self.value(t.children[0], env)
        return a.T if _is_matrix(a) else a

    def _power(self, t, env):
        base, exponent = self.value(t.children[0], env), self.value(t.children[1], env)
        if _is_matrix(base) or _is_matrix(exponent):
            raise CannotCheck("a power of an array")
        return base ** exponent

    def _number(self, t, env):
        return sp.Rational(t.children[0].value)

    def _group(self, t, env):
        return self.value(t.children[0], env)

    def _func(self, t, env):
        return self._apply(t.children[0].value, self.value(t.children[1], env))

    def _apply(self, name, arg):
        if name == "softmax":
            if not _is_matrix(arg) or arg.shape[1] != 1:
                raise ShapeError(f"softmax of a {_shape(arg)} value")
            exps = arg.applyfunc(sp.exp)
            return exps / sum(exps)
        f = {"exp": sp.exp, "log": sp.log, "sigma": lambda z: 1 / (1 + sp.exp(-z))}[name]
        return arg.applyfunc(f) if _is_matrix(arg) else f(arg)

    # -- indices --------------------------------------------------------------------------------
    def index(self, group, env) -> int:
        node = group.children[0] if isinstance(group, Tree) and group.data == "group" else group
        if isinstance(node, Token) and node.type == "NAME":
            if node.value in env.values:
                return env.values[node.value]
            raise CannotCheck(f"index {node.value} has no value")
        if isinstance(node, Token) and node.type == "NUMBER":
            return int(node.value) - 1  # the document counts from 1
        if isinstance(node, Tree) and node.data == "mul":  # u_{ij}: two letters
            raise CannotCheck("a compound index")
        raise CannotCheck("an index that is not a letter or a number")

    def subscripts(self, t: Tree) -> tuple[str, list, list]:
        name = t.children[0].value
        groups = [c for c in t.children[1:] if isinstance(c, Tree)]
        decor = [c.value for c in t.children[1:] if isinstance(c, Token) and c.type == "DECOR"]
        letters = []
        for g in groups:
            letters += _letters(g)
        return name, letters, decor

    def _symbol(self, t, env):
        name, letters, decor = self.subscripts(t)
        if decor:
            raise CannotCheck(f"{name}^{{{decor[0]}}}: an update rule defines a new value, it is not a claim")
        return self.symbol_value(name, letters, env)

    def symbol_value(self, name: str, letters: list, env: Env):
        idx = [self._resolve(letter, env) for letter in letters]
        n = self.n
        if name in n.symbols and n.symbols[name].role in ("matrix", "vector", "onehot"):
            return _pick(self.model.primitives[name], idx, name)
        for matrix, spec in n.symbols.items():
            if spec.column == name:  # u_w: a column of U; u_{ij}: an entry
                full = self.model.primitives[matrix]
                if len(idx) == 1:
                    return full[:, idx[0]]
                if len(idx) == 2:
                    i, j = idx if spec.entry == "row-first" else idx[::-1]
                    return full[i, j]
                raise CannotCheck(f"{name} needs one or two indices")
        if name in n.definitions:
            return _pick(self.definition(name, env.stop), idx, name)
        if name in n.indices:
            raise CannotCheck(f"{name} is an index, not a value")
        raise CannotCheck(f"undefined symbol {name}")

    def definition(self, name: str, stop: frozenset[str]):
        """A defined quantity, expanded down to the declared symbols except through ``stop``."""
        if name in stop:
            return self.model.placeholders[name]
        if not stop:
            return self.model.expanded[name]
        key = (name, stop)
        if key not in self.model.partial:
            tree = parse(self.n.definitions[name], self.n.names()).tree
            self.model.partial[key] = self.value(tree, Env(self.model.index_values, stop))
        return self.model.partial[key]

    def _resolve(self, letter, env) -> int:
        if isinstance(letter, int):
            return letter
        if isinstance(letter, tuple):  # w_k: the k-th entry of an index array
            name, inner = letter
            if name not in self.model.arrays or len(inner) != 1:
                raise CannotCheck(f"{name} is not a declared index array")
            return self.model.arrays[name][self._resolve(inner[0], env)]
        if letter in env.values:
            return env.values[letter]
        raise CannotCheck(f"index {letter} has no value")

    def _delta(self, t, env):
        letters = _letters(t.children[0])
        if len(letters) != 2:
            raise CannotCheck("delta needs two indices")
        a, b = (self._resolve(x, env) for x in letters)
        return sp.Integer(int(a == b))

    def _delta2(self, t, env):
        a, b = (self._resolve(x.value, env) for x in t.children)
        return sp.Integer(int(a == b))

    # -- sums and products ----------------------------------------------------------------------
    def _bigop(self, t, env):
        op = t.children[0].value
        rest = t.children[1:]
        body = rest[-1]
        sub = rest[0] if len(rest) >= 2 else None
        sup = rest[1] if len(rest) == 3 else None
        letter, start, exclude = _binder(sub)
        if letter is None:
            raise CannotCheck(f"{op} without an index")
        size = self._range(letter, body, sup)
        first = 0 if start is None else int(self.value(start, env)) - 1
        values = []
        for k in range(first, size):
            inner = Env({**env.values, letter: k}, env.stop)
            if exclude is not None and k == self._resolve(exclude, inner):
                continue
            values.append(self.value(body, inner))
        if not values:
            return sp.Integer(0 if op == "\\sum" else 1)
        total = values[0]
        for v in values[1:]:
            if op == "\\sum":
                total = self._combine(total, v, 1)
            elif _is_matrix(total) or _is_matrix(v):
                raise CannotCheck("a product of arrays")
            else:
                total = total * v
        return total

    def _range(self, letter, body, sup) -> int:
        if sup is not None:
            bound = sup.children[0] if isinstance(sup, Tree) and sup.data == "group" else sup
            if isinstance(bound, Tree) and bound.data == "symbol" and len(bound.children) == 1:
                bound = bound.children[0]
            if isinstance(bound, Token) and self.n.size(bound.value):
                return self.n.size(bound.value)
            raise CannotCheck("a sum bound that is not a declared size")
        sizes = index_sizes(body, self.n, self.model.shapes()).get(letter)
        if not sizes:
            raise CannotCheck(f"the range of {letter} cannot be inferred")
        return min(sizes)

    # -- derivatives ----------------------------------------------------------------------------
    def _derivative(self, t, env):
        return self.derivative(t.children[0], t.children[1], env)

    def _derivop(self, t, env):
        return self.derivative(t.children[1], t.children[0], env)

    def derivative(self, numerator, variable: Tree, env: Env):
        name, letters, decor = self.subscripts(variable)
        base = self._alias(self._base(name))
        if base != name and base in self.n.definitions:  # p is yhat: differentiate by yhat
            variable = Tree("symbol", [Token("NAME", base), *variable.children[1:]])
        # a definition is kept symbolic while differentiating by it; an alias of a declared
        # symbol's column (h is v_c) is that column, so it needs no placeholder
        kept = base in self.n.definitions and not self._is_alias(base)
        inner = Env(env.values, env.stop | ({base} if kept else set()))
        top = self.value(numerator, inner)
        wrt = self.value(variable, inner)
        if _is_matrix(top) and top.shape[1] != 1:
            raise CannotCheck("the derivative of a matrix")
        if _is_matrix(top) and _is_matrix(wrt) and wrt.shape[1] != 1:
            raise CannotCheck("the derivative of a vector with respect to a matrix (a 3-tensor)")
        if not _is_matrix(wrt):
            if not wrt.is_Symbol:
                raise CannotCheck(f"a derivative with respect to {name}, which is not a variable")
            d = top.diff(wrt)
        elif _is_matrix(top):  # vector by vector: the denominator layout, d[i, j] = d top_j / d x_i
            d = sp.Matrix(wrt.shape[0], top.shape[0], lambda i, j: sp.diff(top[j], wrt[i]))
        else:
            d = wrt.applyfunc(lambda x: sp.diff(top, x))
        if base in inner.stop and base not in env.stop:
            d = _xreplace(d, self.model.substitution())
        return d

    def _alias(self, name: str) -> str:
        """Follow definitions that are another definition's bare name (p = yhat)."""
        seen = set()
        while name in self.n.definitions and name not in seen:
            seen.add(name)
            tree = parse(self.n.definitions[name], self.n.names()).tree
            if isinstance(tree, Tree) and tree.data == "symbol" and len(tree.children) == 1 \
                    and tree.children[0].value in self.n.definitions:
                name = tree.children[0].value
            else:
                break
        return name

    def _is_alias(self, name: str) -> bool:
        """A definition that is just a declared symbol's column or entry (h = v_c)."""
        tree = parse(self.n.definitions[name], self.n.names()).tree
        return isinstance(tree, Tree) and tree.data == "symbol" and tree.children[0].value not in self.n.definitions

    def _base(self, name: str) -> str:
        """The quantity a variable's name refers to: u -> U, h -> v_c's V, yhat -> yhat."""
        for matrix, spec in self.n.symbols.items():
            if spec.column == name:
                return matrix
        return name

    # -- calls and cases ------------------------------------------------------------------------
    def _call(self, t, env):
        name = t.children[0].value
        if name in FUNCTIONS:  # softmax(s) reads as a call to the lexer
            args = t.children[1].children
            if len(args) != 1:
                raise CannotCheck(f"{name} takes one argument")
            return self._apply(name, self.value(args[0], env))
        args = t.children[1].children
        if len(args) == 1 and self._is_array(name):  # U(yhat - y): a product, not a call
            return self._mul(Tree("mul", [Tree("symbol", [t.children[0]]), args[0]]), env)
        shown = f"{name}({', '.join(''.join(_text(a)) for a in args)})"
        key = _bare(shown)
        for call, latex in self.n.calls.items():
            if _bare(call) == key:
                return self.value(parse(latex, self.n.names()).tree, env)
        if name in self.n.definitions and not _is_matrix(self.model.expanded[name]):
            return self.symbol_value(name, [], env)  # J(theta): the notation says what J depends on
        raise CannotCheck(f"undefined function {shown}")

    def _is_array(self, name: str) -> bool:
        if name in self.n.symbols:
            return self.n.symbols[name].role in ("matrix", "vector", "onehot")
        return name in self.model.expanded and _is_matrix(self.model.expanded[name])

    def _cases(self, t, env):
        for case in t.children:
            if case.data == "case_otherwise":
                return self.value(case.children[0], env)
            a, b = (self._case_side(c, env) for c in case.children[1:])
            if a == b:
                return self.value(case.children[0], env)
        raise CannotCheck("no case applies")

    def _case_side(self, node, env):
        letters = _letters(node)
        if len(letters) == 1 and isinstance(letters[0], (str, tuple)):  # w, or w_k
            return self._resolve(letters[0], env)
        return self.value(node, env)


def _xreplace(value, mapping):
    return value.xreplace(mapping) if _is_matrix(value) else sp.sympify(value).xreplace(mapping)


def _pick(whole, idx, name):
    if not idx:
        return whole
    if not _is_matrix(whole):
        raise ShapeError(f"{name} is a scalar and has no entry {idx}")
    if whole.shape[1] == 1 and len(idx) == 1:
        if not 0 <= idx[0] < whole.shape[0]:
            raise ShapeError(f"{name} has no entry {idx[0] + 1}")
        return whole[idx[0], 0]
    if len(idx) == 2 and whole.shape[1] > 1:
        if not (0 <= idx[0] < whole.shape[0] and 0 <= idx[1] < whole.shape[1]):
            raise ShapeError(f"{name} has no entry ({idx[0] + 1}, {idx[1] + 1})")
        return whole[idx[0], idx[1]]
    raise ShapeError(f"{name} is {_shape(whole)}: {len(idx)} indices do not fit")


def _shape(x) -> str:
    return f"{x.shape[0]}x{x.shape[1]}" if _is_matrix(x) else "scalar"


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "()")


def _text(t) -> list[str]:
    if isinstance(t, Token):
        return [t.value]
    out = []
    for c in t.children:
        out += _text(c)
    return out


def _letters(node) -> list:
    """The index letters of a subscript group: u_{ij} -> [i, j]; u_w -> [w]; x_1 -> [0]."""
    if isinstance(node, Token):
        if node.type == "NAME":
            return list(node.value) if len(node.value) > 1 and node.value.islower() and len(node.value) <= 3 else [node.value]
        if node.type == "NUMBER":
            return [int(node.value) - 1]
        return []
    if node.data == "symbol" and len(node.children) == 1:
        return _letters(node.children[0])
    if node.data == "symbol":  # a subscripted index: u_{w_k}
        inner = []
        for g in (c for c in node.children[1:] if isinstance(c, Tree)):
            inner += _letters(g)
        return [(node.children[0].value, tuple(inner))]
    if node.data in ("group", "mul"):
        out = []
        for c in node.children:
            out += _letters(c)
        return out
    if node.data == "number":
        return [int(node.children[0].value) - 1]
    return ["?"]


def _binder(sub):
    """(letter, start expression, excluded letter) of a sum's subscript."""
    if sub is None:
        return None, None, None
    if isinstance(sub, Token):
        return sub.value, None, None
    if sub.data == "from_value":
        return sub.children[0].value, sub.children[1], None
    if sub.data == "not_equal":
        left, right = _letters(sub.children[0]), _letters(sub.children[1])
        return (left[0] if left else None), None, (right[0] if right else None)
    letters = _letters(sub)
    return (letters[0] if len(letters) == 1 else None), None, None


def index_sizes(tree, notation: Notation, shapes: Mapping[str, tuple[int, int]] = {}) -> dict[str, list[int]]:
    """For each index letter used as a subscript, the sizes of the axes it indexes."""
    out: dict[str, list[int]] = {}
    for node in tree.iter_subtrees() if isinstance(tree, Tree) else []:
        if node.data != "symbol":
            continue
        name = node.children[0].value
        letters = []
        for g in (c for c in node.children[1:] if isinstance(c, Tree)):
            letters += _letters(g)
        for letter, size in zip(letters, _axes(name, len(letters), notation, shapes)):
            if isinstance(letter, str) and size:
                out.setdefault(letter, []).append(size)
            if isinstance(letter, tuple) and letter[0] in notation.arrays:  # k in w_k runs over w
                for inner in letter[1]:
                    if isinstance(inner, str):
                        out.setdefault(inner, []).append(notation.size(notation.arrays[letter[0]][0]))
    return out


def _axes(name: str, count: int, n: Notation, shapes: Mapping[str, tuple[int, int]]) -> list[int | None]:
    if name in n.symbols:
        return [n.size(d) for d in n.symbols[name].shape] or [n.size("W")]
    for matrix, spec in n.symbols.items():
        if spec.column == name:
            rows, cols = (n.size(d) for d in spec.shape)
            if count == 1:
                return [cols]
            return [rows, cols] if spec.entry == "row-first" else [cols, rows]
    if name in shapes:  # a definition: its shape is known once evaluated
        rows, cols = shapes[name]
        return [rows] if count == 1 else [rows, cols]
    return [None] * count
