"""Evaluate a parsed expression at explicit small sizes: values are SymPy matrices over symbols
for the entries of the variables, so derivatives are exact; checking then substitutes random
numbers.

Definitions are expanded where used, except the one a derivative is taken with respect to
(dJ/ds_j needs J as a function of s): that one stays a placeholder until the derivative is
taken, then is expanded too.  Bound indices of sums never capture a free one, because each
sum binds its letter in its own environment.  Derivatives follow a layout: the denominator
layout (gradients shaped like the variable, d y_j / d x_i at [i, j]) unless the numerator
layout is asked for (its transpose).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from lark import Token, Tree

from gradproof.derive.latex import ParseError, parse

from .parsing import macros_key, parse_tree
from .context import Context, Definition
from .differentiate import derivative, free_symbols
from .numeric import Deferred, exact

FUNCTIONS = ("softmax", "exp", "log", "sigma")  # the grammar's own function tokens
KNOWN_CALLS = {"tanh", "sinh", "cosh", "sin", "cos", "max", "min", "relu", "ReLU", "softplus", "sigmoid", "softmax",
               "tr", "Tr", "trace", "diag", "norm", "abs", "sqrt", "indicator", "primeof", "CE", "CrossEntropy", "ln",
               "exp", "log", "sigma"}


class CannotCheck(Exception):
    """The expression has no value under the notation (undefined symbol, prose, a tensor...)."""


class ShapeError(Exception):
    """The expression is ill-formed: operands of incompatible shapes."""


class Tensor3:
    """The derivative of a vector y with respect to a matrix W (a 3-tensor), kept for the one use
    it has in a derivation: contracted with a vector g along y, by the chain rule, into the
    derivative of g . y with respect to W (shaped like W).  g before it must be a row (numerator
    layout), g after it a column (denominator layout); anything else is ill-formed."""

    def __init__(self, ys: list, wrt, sign=1):
        self.ys, self.wrt, self.sign = ys, wrt, sign

    @property
    def text(self) -> str:
        return f"the derivative of a {len(self.ys)}-vector with respect to a {_shape(self.wrt)} matrix"

    def contract(self, g: list):
        # sum_k g_k dy_k/dW: g is a value at the point (dJ/dtheta there), never differentiated itself
        memo: dict = {}  # the entries of y share their subexpressions
        return self.wrt.applyfunc(
            lambda x: self.sign * sum((gk * derivative(yk, x, memo) for gk, yk in zip(g, self.ys)), sp.Integer(0)))

    def __neg__(self):
        return Tensor3(self.ys, self.wrt, -self.sign)

    def _refuse(self, *_):
        raise CannotCheck(f"{self.text} (a 3-tensor), other than multiplied by a vector")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __pow__ = _refuse


@dataclass(frozen=True)
class Env:
    values: Mapping[str, int]  # index letters bound to numbers (particular, free and summed indices)
    stop: frozenset[str] = frozenset()  # definitions kept as placeholders
    bound: Mapping[str, object] = field(default_factory=dict)  # a function's parameters
    position: int = 0  # where in the document: which definition is in force
    layout: str = "denominator"
    elementwise: bool = False  # u v of two vectors of one shape: element by element, not a dot product
    written: frozenset[str] = frozenset()  # index letters the step writes, or a sum around here binds

    def with_values(self, **values) -> "Env":
        return replace(self, values={**self.values, **values})


def _chain_product(a, b):
    """g times a 3-tensor (or the 3-tensor times g): the chain rule through a vector."""
    if isinstance(a, Tensor3) and isinstance(b, Tensor3):
        raise CannotCheck("a product of two 3-tensors")
    tensor, other, before = (b, a, True) if isinstance(b, Tensor3) else (a, b, False)
    n = len(tensor.ys)
    if not _is_matrix(other):
        raise CannotCheck(f"{tensor.text} (a 3-tensor) times a number")
    wanted = (1, n) if before else (n, 1)
    if other.shape != wanted:
        side = "before" if before else "after"
        raise ShapeError(f"cannot multiply: a {_shape(other)} array {side} {tensor.text} (the chain rule needs "
                         f"a {'row' if before else 'column'} of length {n} there)")
    return tensor.contract(list(other))


def _per_tree(cache: dict, tree, compute):
    """compute(tree), once per parse tree: keyed by its id, the tree kept beside the value so that a
    tree made later at a freed id is not taken for it."""
    found = cache.get(id(tree))
    if found is None or found[0] is not tree:
        found = cache[id(tree)] = (tree, compute(tree))
    return found[1]


def _symbol_subscripts(t: Tree) -> tuple[str, list, list]:
    """(name, index letters, decorations) of a symbol's tree."""
    letters = []
    for g in (c for c in t.children[1:] if isinstance(c, Tree)):
        letters += _letters(g)
    return t.children[0].value, letters, [c.value for c in t.children[1:] if isinstance(c, Token) and c.type == "DECOR"]


def _kronecker_pairs(body) -> list:
    """The index pairs of the factors \\delta_{ij} of a sum's body (through products, signs, groups
    and inner sums), in the order _vanishes tries them."""
    pairs, stack = [], [body]
    while stack:
        node = stack.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in ("mul", "neg", "group"):
            stack.extend(node.children)
        elif node.data in ("delta", "delta2"):
            letters = _letters(node.children[0]) if node.data == "delta" else [t.value for t in node.children]
            if len(letters) == 2:
                pairs.append(letters)
        elif node.data == "bigop":
            stack.append(node.children[-1])  # \sum_c \delta_{cd} ...: a product inside a sum
    return pairs


def _is_matrix(x) -> bool:
    return isinstance(x, sp.MatrixBase)


def _shape(x) -> str:
    return f"{x.shape[0]}x{x.shape[1]}" if _is_matrix(x) else "scalar"


def sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def softplus(z):
    return sp.log(1 + sp.exp(z))


ELEMENTWISE = {"exp": sp.exp, "log": sp.log, "ln": sp.log, "sigma": sigmoid, "sigmoid": sigmoid, "tanh": sp.tanh,
               "sinh": sp.sinh, "cosh": sp.cosh, "sin": sp.sin, "cos": sp.cos, "relu": lambda z: sp.Max(0, z),
               "ReLU": lambda z: sp.Max(0, z), "softplus": softplus, "abs": sp.Abs, "sqrt": sp.sqrt}


@dataclass
class Model:
    """One instantiation: index values, index arrays, and symbols for every variable's entries."""

    ctx: Context
    index_values: dict[str, int]
    samples: dict[str, list[int]] = field(default_factory=dict)
    primitives: dict[str, object] = field(default_factory=dict)
    placeholders: dict[tuple, object] = field(default_factory=dict)
    expanded: dict[tuple, object] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # primitives an evaluation used
    generic: set = field(default_factory=set)  # the coefficients of arbitrary functions (f, g, h)
    derivatives: dict = field(default_factory=dict)  # (expression, symbol) -> derivative: Evaluator.diff
    # (node, symbol) -> derivative, for every node met while differentiating (differentiate.derivative);
    # apart from the table above, which holds only the derivatives asked for
    subderivatives: dict = field(default_factory=dict)
    deferred: bool = False  # only numbers are asked of this instantiation: derivatives may be Deferred
    free: dict = field(default_factory=dict)  # node -> its free symbols: owners() (see free_symbols)

    def __post_init__(self):
        ctx = self.ctx
        for name, a in ctx.arrays.items():
            rows, cols = self.dim(a.rows), self.dim(a.cols)
            if name in ctx.onehots:
                at = ctx.onehots[name]
                where = self.index_values.get(at, 0) if at else self.index_values.get("#" + name, 0)
                n = max(rows, cols)
                self.primitives[name] = sp.Matrix(rows, cols, lambda i, j: sp.Integer(int(max(i, j) == where)))
            else:
                self.primitives[name] = sp.Matrix(rows, cols, lambda i, j, n=name: sp.Symbol(f"{n}_{i}_{j}"))
        for name in ctx.scalars:
            self.primitives[name] = sp.Symbol(name)

    def symbols(self, value):
        """value.free_symbols (a set of SymPy symbols; empty for a plain number), from the
        instantiation's memo of subexpressions (free_symbols)."""
        if _is_matrix(value):
            return frozenset().union(*(free_symbols(e, self.free) for e in value if isinstance(e, sp.Basic)))
        if isinstance(value, sp.Basic):
            return free_symbols(value, self.free)
        return value.free_symbols if hasattr(value, "free_symbols") else set()

    def owners(self, value) -> set[str]:
        """The variables whose entries a value depends on (u for u_0_1)."""
        symbols = self.symbols(value)
        if not hasattr(self, "_owner"):
            self._owner = {}
            for name, v in self.primitives.items():
                for x in (v.free_symbols if hasattr(v, "free_symbols") else ()):
                    self._owner[x] = name
        return {self._owner[x] for x in symbols if x in self._owner}

    def dim(self, name: str) -> int:
        if name == "1":
            return 1
        if name.isdigit():
            return int(name)
        size = self.ctx.size(name)
        if size is None:
            raise CannotCheck(f"the size {name} has no value")
        return size


class Evaluator:
    MEMO = True  # keep subtrees' values (value()); the tests turn it off to see that nothing changes

    def __init__(self, model: Model, shared: "Evaluator | None" = None):
        """shared: an evaluator of the same index values and numbers whose values this one may
        read (never write): a numbers-only copy of an instantiation reads the exact one's."""
        self.model, self.ctx, self.shared = model, model.ctx, shared
        self._broadcasts = 0  # times broadcast was set (a memoized value says whether it set it)
        self._layouts = 0  # times the layout was asked for (layout()): a value that never asks is every layout's
        self.broadcast = False  # set for the element-wise reading: scalars spread over arrays
        self.in_numerator = False  # evaluating the quantity a derivative is taken of
        self._memo: dict[tuple, tuple] = {}  # values of subtrees: see value()
        self._names: dict[int, tuple] = {}  # id(tree) -> (tree, its tokens, whether it names a defined quantity)
        self._delta_pairs: dict[int, tuple] = {}  # id(body) -> (body, its Kronecker deltas' index pairs): _deltas
        self._subscripts: dict[int, tuple] = {}  # id(tree) -> (tree, subscripts(tree))

    @property
    def broadcast(self) -> bool:
        return self._broadcast

    @broadcast.setter
    def broadcast(self, on: bool) -> None:
        self._broadcast = on
        self._broadcasts += 1

    # -- entry point ----------------------------------------------------------------------------
    def layout(self, env: Env) -> str:
        """env.layout, counted: a value computed without asking for it is the same in every layout,
        so value() and definition_value() keep it for all of them (the readings of a step in the
        numerator layout then share every part of a side that is not a derivative)."""
        self._layouts += 1
        return env.layout

    def value(self, tree, env: Env):
        """tree's value under env.  A subtree's value is kept for this instantiation, keyed by the
        index values it can depend on (the letters it writes; every index value when it names a
        defined quantity, whose definition may use others), so that a sum's body re-evaluates only
        its parts that depend on the sum's letter, and a step's index values share the rest; and
        by the layout only when computing it asked for the layout."""
        if isinstance(tree, Token):
            if tree.type == "NUMBER":
                return sp.Rational(tree.value)
            return self.symbol_value(tree.value, [], env)
        key = self._memo_key(tree, env) if self.MEMO else None
        if key is None:
            return self._dispatch(tree, env)
        laid = key + (env.layout,)
        for k in (key, laid):
            hit = self._memo.get(k)
            if hit is None and self.shared is not None:
                hit = self.shared._memo.get(k)
            if hit is not None and hit[0] is tree:
                _, value, touched, broadcast = hit
                self.model.touched |= touched
                if broadcast:
                    self.broadcast = env.elementwise
                if k is laid:
                    self._layouts += 1  # it asked for the layout, and so does what contains it
                return value
        outer, self.model.touched = self.model.touched, set()
        sets, asked = self._broadcasts, self._layouts
        try:
            value = self._dispatch(tree, env)
        finally:
            mine = self.model.touched
            outer |= mine
            self.model.touched = outer
        self._memo[laid if self._layouts != asked else key] = (tree, value, frozenset(mine), self._broadcasts != sets)
        return value

    def _memo_key(self, tree, env: Env) -> tuple | None:
        if env.bound:
            return None  # a function's parameters: values, not index letters
        tokens = _per_tree(self._names, tree, self._value_tokens)
        values = [(k, v) for k, v in env.values.items() if k in tokens or k.startswith("#") or k in self.ctx.particular]
        try:
            return (id(tree), tuple(sorted(values)), env.stop, env.position, env.elementwise, env.written)
        except TypeError:  # a value that does not sort or hash: not kept
            return None

    def _value_tokens(self, tree) -> frozenset[str]:
        tokens = _tokens(tree)
        if tokens & self._defined():
            # a defined quantity's value depends on the index letters its definitions write
            # (their own free letters, parameters, sums), and on nothing else (definition_value)
            tokens = tokens | self._definition_tokens()
        return tokens

    def _defined(self) -> frozenset[str]:
        """The names with a definition (any position), the calls' names, and the column letters of
        a defined matrix."""
        if "#defined" not in self.model.expanded:
            ctx = self.ctx
            names = set(ctx.definitions) | {k.split("(")[0] for k in ctx.calls}
            names |= {letter for letter, family in ctx.families.items() if family.matrix in names}
            self.model.expanded["#defined"] = frozenset(names)
        return self.model.expanded["#defined"]

    def _definition_tokens(self) -> frozenset[str]:
        """Every token of every definition's tree, its parameters and its condition's letters.  A
        definition that does not parse is left out: a value that used it would have raised, and
        only values are kept."""
        if "#definition tokens" not in self.model.expanded:
            out = set()
            for definitions in (*self.ctx.definitions.values(), *self.ctx.calls.values()):
                for d in definitions:
                    out |= set(d.params)
                    for condition in d.condition or ():
                        out |= {str(x) for x in condition} | \
                            {str(x).replace("^*", "star").replace("'", "prime") for x in condition}
                    try:
                        out |= _tokens(self.definition_tree(d))
                    except Exception:
                        continue
            self.model.expanded["#definition tokens"] = frozenset(out)
        return self.model.expanded["#definition tokens"]

    def _dispatch(self, tree, env: Env):
        method = getattr(self, f"_{tree.data}", None)
        if method is None:
            raise CannotCheck(f"'{tree.data}' is not supported")
        return method(tree, env)

    # -- arithmetic -----------------------------------------------------------------------------
    def _add(self, t, env):
        self.broadcast = env.elementwise
        return self._combine(self.value(t.children[0], env), self.value(t.children[1], env), 1)

    def _sub(self, t, env):
        self.broadcast = env.elementwise
        return self._combine(self.value(t.children[0], env), self.value(t.children[1], env), -1)

    def _combine(self, a, b, sign):
        if _is_matrix(a) and _is_matrix(b):
            if a.shape != b.shape:
                raise ShapeError(f"cannot add {_shape(a)} and {_shape(b)}")
            return a + sign * b
        if _is_matrix(a) != _is_matrix(b):
            matrix, scalar = (a, b) if _is_matrix(a) else (b, a)
            if matrix.shape == (1, 1):
                return a[0, 0] + sign * b if _is_matrix(a) else a + sign * b[0, 0]
            if sp.sympify(scalar).is_number or self.broadcast:  # 1 - sigma(z): a number broadcasts
                filled = sp.ones(*matrix.shape) * scalar
                return (a + sign * filled) if _is_matrix(a) else (filled + sign * b)
            raise ShapeError(f"cannot add {_shape(a)} and {_shape(b)}")
        return a + sign * b

    def _neg(self, t, env):
        return -self.value(t.children[0], env)

    def _mul(self, t, env):
        self.broadcast = env.elementwise
        return self.product(self.value(t.children[0], env), self.value(t.children[1], env), env.elementwise)

    def product(self, a, b, elementwise: bool = False):
        if isinstance(a, Tensor3) or isinstance(b, Tensor3):
            return _chain_product(a, b)
        if not _is_matrix(a) or not _is_matrix(b):
            return a * b
        if a.shape[1] == b.shape[0]:
            p = a * b
            return p[0, 0] if p.shape == (1, 1) else p
        if a.shape == (1, 1) or b.shape == (1, 1):
            return (a[0, 0] * b) if a.shape == (1, 1) else (a * b[0, 0])
        if a.shape == b.shape and 1 in a.shape:
            if elementwise:
                return a.multiply_elementwise(b)
            if a.shape[1] == 1:  # u . v of two column vectors: a dot product
                return (a.T * b)[0, 0]
        raise ShapeError(f"cannot multiply {_shape(a)} by {_shape(b)}")

    def _hadamard(self, t, env):
        a, b = self.value(t.children[0], env), self.value(t.children[1], env)
        if not _is_matrix(a) or not _is_matrix(b):
            return a * b
        if a.shape != b.shape:
            if a.shape == (b.shape[1], b.shape[0]) and 1 in a.shape:
                b = b.T  # a row and a column of one length: element by element all the same
            else:
                raise ShapeError(f"cannot multiply {_shape(a)} by {_shape(b)} element-wise")
        return a.multiply_elementwise(b)

    def _outer(self, t, env):
        a, b = self.value(t.children[0], env), self.value(t.children[1], env)
        a = a if _is_matrix(a) else sp.Matrix([[a]])
        b = b if _is_matrix(b) else sp.Matrix([[b]])
        if 1 not in a.shape or 1 not in b.shape:
            raise ShapeError(f"an outer product needs two vectors, not {_shape(a)} and {_shape(b)}")
        a = a if a.shape[1] == 1 else a.T
        b = b if b.shape[1] == 1 else b.T
        return a * b.T

    def _frac(self, t, env):
        top, bottom = self.value(t.children[0], env), self.value(t.children[1], env)
        if _is_matrix(bottom):
            if bottom.shape == (1, 1):
                bottom = bottom[0, 0]
            elif _is_matrix(top) and top.shape == bottom.shape and env.elementwise:
                return sp.Matrix(top.shape[0], top.shape[1], lambda i, j: top[i, j] / bottom[i, j])
            elif not _is_matrix(top) and env.elementwise:  # 1 / (1 + e^{-x}) of a vector x, entry by entry
                return bottom.applyfunc(lambda z: top / z)
            else:
                raise ShapeError(f"cannot divide by a {_shape(bottom)} array")
        return top / bottom

    def _transpose(self, t, env):
        a = self.value(t.children[0], env)
        return a.T if _is_matrix(a) else a

    def _power(self, t, env):
        base_node, exponent_node = t.children
        if _is_name(base_node, "e") and not self._defined_value("e", env):
            exponent = self.value(exponent_node, env)
            return exponent.applyfunc(sp.exp) if _is_matrix(exponent) else sp.exp(exponent)
        base, exponent = self.value(base_node, env), self.value(exponent_node, env)
        if _is_matrix(exponent):
            raise CannotCheck("a power with an array exponent")
        if _is_matrix(base):
            if base.shape == (1, 1):
                return base[0, 0] ** exponent
            return base.applyfunc(lambda z: z ** exponent)  # element-wise, as numpy's **
        return base ** exponent

    def _number(self, t, env):
        return sp.Rational(t.children[0].value)

    def _group(self, t, env):
        return self.value(t.children[0], env)

    def _func(self, t, env):
        return self.apply(t.children[0].value, [self.value(t.children[1], env)])

    def apply(self, name: str, args: list):
        if name in ("softmax",):
            (arg,) = args
            if not _is_matrix(arg) or 1 not in arg.shape:
                raise ShapeError(f"softmax of a {_shape(arg)} value")
            exps = arg.applyfunc(sp.exp)
            return exps / sum(exps)
        if name in ELEMENTWISE:
            if len(args) != 1:
                raise CannotCheck(f"{name} takes one argument")
            f = ELEMENTWISE[name]
            return args[0].applyfunc(f) if _is_matrix(args[0]) else f(args[0])
        if name in ("max", "min"):
            if len(args) != 2:
                raise CannotCheck(f"{name} with {len(args)} arguments")
            a, b = args
            op = sp.Max if name == "max" else sp.Min
            if _is_matrix(a) or _is_matrix(b):
                shape = a.shape if _is_matrix(a) else b.shape
                pick = lambda x, i, j: x[i, j] if _is_matrix(x) else x
                return sp.Matrix(shape[0], shape[1], lambda i, j: op(pick(a, i, j), pick(b, i, j)))
            return op(a, b)
        if name in ("tr", "Tr", "trace"):
            (a,) = args
            if not _is_matrix(a) or a.shape[0] != a.shape[1]:
                raise ShapeError(f"the trace of a {_shape(a)} value")
            return a.trace()
        if name == "diag":
            (a,) = args
            if not _is_matrix(a) or 1 not in a.shape:
                raise CannotCheck("diag of a matrix")
            return sp.diag(*list(a))
        if name == "norm":
            (a,) = args
            return sp.sqrt(sum(x ** 2 for x in a)) if _is_matrix(a) else sp.Abs(a)
        if name in ("CE", "CrossEntropy"):
            if len(args) != 2:
                raise CannotCheck(f"{name} takes two arguments (the target and the prediction)")
            y, p = args
            if _is_matrix(y) != _is_matrix(p) or (_is_matrix(y) and y.shape != p.shape):
                raise ShapeError(f"cross-entropy of {_shape(y)} and {_shape(p)}")
            if not _is_matrix(y):
                return -y * sp.log(p)
            return -sum(a * sp.log(b) for a, b in zip(y, p))
        raise CannotCheck(f"undefined function {name}")

    # -- indices --------------------------------------------------------------------------------
    def subscripts(self, t: Tree) -> tuple[str, list, list]:
        """(name, index letters, decorations) of a symbol: read once per tree (a sum's body asks
        again for every term)."""
        name, letters, decor = _per_tree(self._subscripts, t, _symbol_subscripts)
        return name, list(letters), list(decor)

    def _symbol(self, t, env):
        name, letters, decor = self.subscripts(t)
        if decor:
            raise CannotCheck(f"{name}^{{{decor[0]}}}: an update rule defines a new value, it is not a claim")
        groups = [c for c in t.children[1:] if isinstance(c, Tree)]
        # W_1, b_2: a number in the subscript is part of the name
        if len(groups) == 1 and len(letters) == 1 and isinstance(letters[0], int) and \
                f"{name}_{letters[0] + 1}" in self.ctx.named_entries:
            return self.symbol_value(f"{name}_{letters[0] + 1}", [], env)
        return self.symbol_value(name, letters, env)

    def symbol_value(self, name: str, letters: list, env: Env):
        if name == "cdots":
            raise CannotCheck("an elided expression (\\cdots): the terms it stands for are not written")
        if name in env.bound:
            return _pick(env.bound[name], [self._resolve(x, env) for x in letters], name)
        ctx = self.ctx
        definition = ctx.definition(name, env.position)
        if definition is not None and definition.kind in ("value", "component"):
            if definition.kind == "component" and letters and len(letters) >= len(definition.params):
                idx = [self._resolve(x, env) for x in letters]
                inner = dict(zip(definition.params, idx[:len(definition.params)]))
                definition = self.piece(name, definition, inner, env)
                value = self.definition_value(definition, env, inner)
                return _pick(value, idx[len(definition.params):], name)
            if definition.kind == "component":
                return self.component_vector(definition, env)
            value = self.definition_value(definition, env)
            return _pick(value, [self._resolve(x, env) for x in letters], name)
        if name in self.model.primitives:
            self.model.touched.add(name)
            value = self._moved_onehot(name, env) or self.model.primitives[name]
            return _pick(value, [self._resolve(x, env) for x in letters], name)
        family = ctx.families.get(name)
        if family is not None:
            idx = [self._resolve(x, env) for x in letters]
            matrix = self.symbol_value(family.matrix, [], env)
            if not _is_matrix(matrix):
                raise CannotCheck(f"{name}_w needs {family.matrix} to be a matrix")
            if len(idx) == 1:
                k = idx[0]
                limit = matrix.shape[1] if family.axis == "column" else matrix.shape[0]
                if not 0 <= k < limit:
                    raise ShapeError(f"{family.matrix} has no {family.axis} {k + 1}")
                return matrix[:, k] if family.axis == "column" else matrix[k, :].T
            if len(idx) == 2:
                i, j = idx if family.entry == "row-first" else idx[::-1]
                return matrix[i, j] if family.axis == "column" else matrix[j, i]
            raise CannotCheck(f"{name} needs one or two indices")
        if name == "e" and not letters:
            return sp.E
        if name in ctx.particular or name in env.values:
            raise CannotCheck(f"{name} is an index, not a value")
        if name in ctx.sizes or ctx.size(name) is not None:
            return sp.Integer(ctx.size(name))  # 1/N: a size used as a number
        raise CannotCheck(f"undefined symbol {_shown(name)}")

    def _moved_onehot(self, name: str, env: Env):
        """y one-hot at o, inside J(v_c, w_{t+j}, U) (o at another word there): one-hot at that word."""
        at = self.ctx.onehots.get(name)
        if not at or at not in self.ctx.particular or env.values.get(at, self.model.index_values.get(at)) == \
                self.model.index_values.get(at):
            return None
        value = self.model.primitives[name]
        where = env.values[at]
        return sp.Matrix(value.shape[0], value.shape[1], lambda i, j: sp.Integer(int(max(i, j) == where)))

    def piece(self, name: str, definition: Definition, inner: dict, env: Env) -> Definition:
        """The piece of a piecewise definition whose condition the index values meet."""
        if definition.condition is None:
            return definition
        values = {**env.values, **inner}
        for piece in self.ctx.pieces(name, env.position):
            if piece.condition is None:
                return piece
            if all(_meets(c, values) for c in piece.condition):
                return piece
        shown = " or ".join(" and ".join(f"{_shown(a)} {'=' if r == '=' else '≠'} {_shown(b)}"
                                         for a, r, b in p.condition) for p in self.ctx.pieces(name, env.position))
        raise CannotCheck(f"{_shown(name)} is defined only for {shown}")

    def _defined_value(self, name: str, env: Env) -> bool:
        return name in env.bound or self.ctx.definition(name, env.position) is not None or \
            name in self.model.primitives

    def definition_value(self, definition: Definition, env: Env, inner: dict | None = None):
        """A defined quantity, expanded down to the variables except through env.stop."""
        name = definition.name
        inner = inner or {}
        if name in env.stop:
            return self.placeholder(definition, env, inner)
        key = (name, definition.position, env.position, env.stop, tuple(sorted(inner.items())), env.elementwise,
               tuple(sorted((k, v) for k, v in env.values.items() if k in self._free_of(definition))))
        laid = key + (env.layout,)  # kept under the layout only when the expansion asked for it (layout())
        expanded = self.model.expanded
        for kept in (expanded, self.shared.model.expanded if self.shared is not None else {}):
            if key in kept:
                return kept[key]
            if laid in kept:
                self._layouts += 1
                return kept[laid]
        tree = self.definition_tree(definition)
        values = {k: v for k, v in env.values.items()}
        values.update(inner)
        # the body's names mean what they mean where the definition is used (J = CE(y, \hat{y}) written
        # before \hat{y} = softmax(\theta): at a step after both, J depends on \theta)
        inner_env = Env(values, env.stop, {}, max(env.position, definition.position), env.layout, env.elementwise)
        asked = self._layouts
        try:
            value = self.value(tree, inner_env)
        except ShapeError as e:
            raise self._ill_defined(definition, env, e) from None
        expanded[laid if self._layouts != asked else key] = value
        return value

    def _ill_defined(self, definition: Definition, env: Env, error: ShapeError) -> Exception:
        """A definition that is ill-formed in the plain reading: the fault is in the shapes gradproof
        gave its symbols (or in the definition), never in the step that uses it."""
        if self.layout(env) != "denominator" or env.elementwise:
            return error  # another reading's problem: that reading just does not apply
        where = f" (line {definition.line})" if definition.line else ""
        return CannotCheck(f"the definition of {_shown(definition.name)}{where} is ill-formed with the shapes "
                           f"inferred ({error}): its symbols' shapes are not settled")

    def _free_of(self, definition: Definition) -> frozenset[str]:
        return frozenset(self.ctx.particular) | frozenset(definition.params) | frozenset(
            self._own_letters(definition)) | frozenset(k for k in ("#",))

    def component_vector(self, definition: Definition, env: Env):
        """a_j = ... used as the whole vector a: its entries for every j."""
        size = self.component_size(definition, env)
        entries = []
        for k in range(size):
            inner = {definition.params[0]: k}
            entries.append(self.definition_value(self.piece(definition.name, definition, inner, env), env, inner))
        if any(_is_matrix(e) for e in entries):
            raise CannotCheck(f"{definition.name} is defined entry by entry with array entries")
        if self.ctx.orientation.get(definition.name) == "row":
            return sp.Matrix(1, size, entries)  # the prose says it is a row vector
        return sp.Matrix(size, 1, entries)

    def component_size(self, definition: Definition, env: Env) -> int:
        from .ranges import letter_range

        size = letter_range(self, definition, env)
        if size is None:
            raise CannotCheck(f"the length of {_shown(definition.name)} cannot be inferred")
        return size

    def placeholder(self, definition: Definition, env: Env, inner: dict):
        """A defined quantity kept as symbols (for a derivative by it); its entries are
        #-named symbols that the expansion replaces afterwards."""
        # f_j = w_j^T x_i + b_j inside \sum_i: one quantity per value of the definition's own free letters
        own = tuple((x, env.values.get(x)) for x in self._own_letters(definition))
        key = (definition.name, definition.position, own)
        if key not in self.model.placeholders:
            outside = replace(env, stop=env.stop - {definition.name})
            if definition.kind == "component":
                full = self.component_vector(definition, outside)
            else:
                full = self.definition_value(definition, outside)
            tag = "".join(f"@{x}{v}" for x, v in own)
            if _is_matrix(full):
                holder = sp.Matrix(full.shape[0], full.shape[1],
                                   lambda i, j: sp.Symbol(f"{definition.name}#{i}_{j}{tag}"))
            else:
                holder = sp.Symbol(f"{definition.name}#{tag}")
            self.model.placeholders[key] = (holder, full)
        holder, full = self.model.placeholders[key]
        if definition.kind == "component" and inner:
            k = inner[definition.params[0]]
            return holder[k] if _is_matrix(holder) else holder
        return holder

    def _own_letters(self, definition: Definition) -> tuple[str, ...]:
        """The index letters a definition leaves free besides its parameters (i in f_j = w_j^T x_i)."""
        key = ("#own", definition.name, definition.position)
        if key not in self.model.expanded:
            from .implicit import free_letters

            try:
                letters = free_letters(self.definition_tree(definition))
            except Exception:
                letters = []
            self.model.expanded[key] = tuple(sorted(x for x in letters if isinstance(x, str) and
                                                    x not in definition.params))
        return self.model.expanded[key]

    def substitution(self) -> dict:
        """Each placeholder's entries -> their values.  Placeholders are only ever added: the map
        is built again only when there are new ones (a chain's steps ask for it at every derivative)."""
        key = ("#substitution", len(self.model.placeholders))
        if key not in self.model.expanded:
            out = {}
            for holder, full in self.model.placeholders.values():
                if _is_matrix(holder):
                    if _is_matrix(full) and full.shape == holder.shape:
                        out.update({holder[k]: full[k] for k in range(len(holder))})
                else:
                    out[holder] = full
            self.model.expanded[key] = out
        return dict(self.model.expanded[key])

    def _resolve(self, letter, env) -> int:
        if isinstance(letter, Offset):
            return self._position(letter, env)
        if isinstance(letter, int):
            if letter < 0:
                raise CannotCheck("an index 0, where indices count from 1 (a typo for a letter, like o?)")
            return letter
        if isinstance(letter, tuple):  # w_k: the k-th entry of an index array
            name, inner = letter
            if name not in self.model.samples and len(inner) == 1 and self._word_map(name):
                return self._resolve(inner[0], env)  # v_{w_j}: the vector of word j, the j-th word
            if name not in self.model.samples or len(inner) != 1:
                raise CannotCheck(f"{name}_{''.join(map(str, inner))} is an index through {name}, which is not a declared "
                                  "index array")
            k = self._resolve(inner[0], env)
            values = self.model.samples[name]
            if isinstance(inner[0], Offset):  # w_{t+j}: positions taken around the sequence, so every window is whole
                k %= len(values)
            if not 0 <= k < len(values):
                raise ShapeError(f"{name} has no entry {k + 1}")
            return values[k]
        if letter in env.values:
            return env.values[letter]
        raise CannotCheck(f"index {_shown(letter)} has no value")

    def _position(self, offset: Offset, env) -> int:
        """t + j counted from 1 (t, j index values; m a size; a number as written), as an index from 0."""
        total = 0
        for sign, term in offset.terms:
            if isinstance(term, int):
                total += sign * term
            elif term in env.values:
                total += sign * (env.values[term] + 1)
            elif self.ctx.size(term):
                total += sign * self.ctx.size(term)
            else:
                raise CannotCheck(f"index {_shown(term)} has no value")
        return total - 1

    def _word_map(self, name: str) -> bool:
        """w in v_{w_j}, w_I: words numbered by their index, when w is nothing else in the document (no
        array, column letter, definition, variable or sampled index array of its own)."""
        ctx = self.ctx
        return bool(re.fullmatch(r"[a-z]", name)) and name not in ctx.arrays and name not in ctx.families and \
            not ctx.definitions.get(name) and name not in ctx.scalars and name not in ctx.index_arrays and \
            name not in ctx.onehots

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
        if isinstance(letter, int):
            raise CannotCheck(f"{op} over a number")
        if isinstance(sub, Tree) and sub.data == "from_value_except" and letter not in _written_letters(body):
            # \sum_{-m <= j <= m, j != 0} \partial J / \partial U: the term for each j is not written
            raise CannotCheck(f"a sum over {_shown(letter)} whose terms do not write {_shown(letter)}: which term "
                              "it adds for each is not written")
        first = 0 if start is None else int(self.value(start, env)) - 1
        size = self._range(letter, body, sup, env)
        values = []
        written, deltas = env.written | {letter}, None
        for k in range(first, size):
            inner = replace(env, values={**env.values, letter: k}, written=written)
            if exclude is not None and k == (exclude if isinstance(exclude, int) else self._resolve(exclude, inner)):
                continue
            deltas = self._deltas(body) if deltas is None else deltas
            if deltas and self._vanishes(deltas, inner):
                continue  # a Kronecker delta of two different indices makes the term 0
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

    def _deltas(self, body) -> list:
        """The index pairs of the factors \\delta_{ij} of a sum's body (through products, signs,
        groups and inner sums), in the order _vanishes tries them: read once per body, not per term."""
        return _per_tree(self._delta_pairs, body, _kronecker_pairs)

    def _vanishes(self, deltas: list, env) -> bool:
        """A product with a factor \\delta_{ij} whose indices differ (_deltas): 0 without evaluating the rest."""
        for letters in deltas:
            try:
                a, b = (self._resolve(x, env) for x in letters)
            except CannotCheck:
                continue
            if a != b:
                return True
        return False

    def _range(self, letter, body, sup, env) -> int:
        if sup is not None:
            bound = sup.children[0] if isinstance(sup, Tree) and sup.data == "group" else sup
            if isinstance(bound, Tree) and bound.data == "symbol" and len(bound.children) == 1:
                bound = bound.children[0]
            if isinstance(bound, Token) and bound.type == "NUMBER":
                return int(bound.value)
            if isinstance(bound, Token) and self.ctx.size(bound.value):
                return self.ctx.size(bound.value)
            raise CannotCheck("a sum bound that is not a size")
        from .ranges import index_sizes

        key = ("#sizes", id(body), env.position)
        if key not in self.model.expanded:
            self.model.expanded[key] = (body, index_sizes(body, self, env))
        sizes = self.model.expanded[key][1].get(letter)
        if not sizes:
            raise CannotCheck(f"the range of {_shown(letter)} cannot be inferred")
        return min(sizes)

    # -- derivatives ----------------------------------------------------------------------------
    def _derivative(self, t, env):
        return self.derivative(t.children[0], t.children[1], env)

    def _derivop(self, t, env):
        return self.derivative(t.children[1], t.children[0], env)

    def _derivative_by_expression(self, t, env):
        """dE / d(v'_j . u_I): every occurrence of the expression's value in E's value taken as the
        variable, everything else held fixed (E as a function of its scores); a number only."""
        numerator, expression = t.children[0], t.children[1]
        try:
            x = self.value(expression, env)
        except ShapeError as e:  # v_c U with v_c a column: which orientation the author means is unsaid
            raise CannotCheck(f"a derivative with respect to an expression that is ill-formed as read ({e})") from None
        if _is_matrix(x):
            if x.shape != (1, 1):
                raise CannotCheck("a derivative with respect to an array expression, not a variable")
            x = x[0, 0]
        x = exact(sp.sympify(x)) if self.model.deferred else sp.sympify(x)
        if not x.free_symbols or isinstance(x, sp.Symbol) or not isinstance(x, (sp.Add, sp.Mul)):
            raise CannotCheck("a derivative with respect to an expression, not a variable")
        top = self.value(numerator, env)
        top = exact(top) if self.model.deferred else top
        free = top.free_symbols if hasattr(top, "free_symbols") else set()
        if not free & x.free_symbols:  # as with a variable: 0 whatever the author meant, refused
            raise CannotCheck("the quantity differentiated does not involve the expression as the document "
                              "defines it: how it depends on it is not written")
        mark = sp.Dummy("by")

        def through(e):
            e = sp.sympify(e)
            if not e.free_symbols & x.free_symbols:
                return sp.Integer(0)
            replaced = e.subs(x, mark)
            if mark not in replaced.free_symbols:
                raise CannotCheck("a derivative with respect to an expression that this quantity does not "
                                  "write as such")
            return sp.diff(replaced, mark).xreplace({mark: x})

        return top.applyfunc(through) if _is_matrix(top) else through(top)

    def derivative(self, numerator, variable: Tree, env: Env):
        if not (isinstance(variable, Tree) and variable.data == "symbol"):
            raise CannotCheck("a derivative with respect to an expression, not a variable")
        name, letters, decor = self.subscripts(variable)
        if len(letters) == 1 and isinstance(letters[0], int) and f"{name}_{letters[0] + 1}" in self.ctx.named_entries:
            name, letters = f"{name}_{letters[0] + 1}", []  # by z_2: a name of its own, not an entry of z
        from .ranges import dependence

        definition = self.ctx.definition(name, env.position)
        # h = v_c, p = \hat{y}: a derivative with respect to a name that only renames another is one
        # with respect to what it names
        name, definition = self._resolve_alias(name, definition, env)
        kept = definition is not None and definition.kind in ("value", "component") and name not in env.bound
        inner = replace(env, stop=env.stop | ({name} if kept else set()))
        problem = dependence(self, numerator, name, inner)
        if problem:
            raise CannotCheck(problem)
        if not letters and definition is not None and definition.kind == "component" and \
                isinstance(numerator, Tree) and numerator.data == "symbol" and len(numerator.children) == 1:
            pass
        bare = numerator if isinstance(numerator, Tree) and numerator.data == "symbol" and \
            len(numerator.children) == 1 else None
        summed = None
        if bare is not None:
            d = self.ctx.definition(bare.children[0].value, env.position)
            if d is not None and d.kind == "component" and d.condition is None and \
                    self.ctx.totals.get(bare.children[0].value) == "sum":
                # the prose says the bare L is the sum of the L_i: differentiate that sum
                summed = sum(list(self.component_vector(d, inner)), sp.Integer(0))
            elif d is not None and d.kind == "component" and d.condition is None:
                n = bare.children[0].value
                raise CannotCheck(f"{_shown(n)} is defined entry by entry ({_shown(n)}_{d.params[0]}); without its "
                                  "index, which quantity it stands for (their sum?) is not written")
        if kept:
            self._not_through_a_sum(definition, numerator, name, env)
        top = self.value(numerator, inner) if summed is None else summed
        if self.model.deferred:
            top = exact(top)  # a derivative in it is differentiated again, or read as an expression: exact
        wrt = self.value(variable, inner)
        if kept:
            top = self._in_terms_of(top, wrt)
        self._depends(top, wrt, numerator, variable, name, kept, inner)
        if _is_matrix(top) and top.shape == (1, 1):
            top = top[0, 0]
        if _is_matrix(top) and 1 not in top.shape:
            if not _is_matrix(wrt) or wrt.shape == (1, 1):
                x = wrt[0, 0] if _is_matrix(wrt) else wrt
                self._check_variable(x, name)
                d = top.applyfunc(lambda e: self.diff(e, x))
            else:
                raise CannotCheck("the derivative of a matrix with respect to an array (a tensor)")
        elif not _is_matrix(wrt) or wrt.shape == (1, 1):
            x = wrt[0, 0] if _is_matrix(wrt) else wrt
            self._check_variable(x, name)
            d = top.applyfunc(lambda e: self.diff(e, x)) if _is_matrix(top) else self.diff(top, x)
            if _is_matrix(d) and self.layout(env) == "numerator-rows":
                d = d.T
        elif _is_matrix(top):  # vector by vector
            if 1 not in wrt.shape:
                if 1 not in top.shape:
                    raise CannotCheck("the derivative of a matrix with respect to a matrix (a 4-tensor)")
                for x in wrt:
                    self._check_variable(x, name)
                d = Tensor3(list(top), wrt)
                if kept and name not in env.stop:
                    d = Tensor3([_xreplace(y, self.substitution()) for y in d.ys], wrt)
                return d
            xs, ys = list(wrt), list(top)
            if self.layout(env) == "numerator":
                d = sp.Matrix(len(ys), len(xs), lambda i, j: self.diff(ys[i], xs[j]))
            else:
                d = sp.Matrix(len(xs), len(ys), lambda i, j: self.diff(ys[j], xs[i]))
        else:  # scalar by array: shaped like the array (a row in the numerator layout for a vector)
            for x in wrt:
                self._check_variable(x, name)
            d = wrt.applyfunc(lambda x: self.diff(top, x))
            if self.layout(env) == "numerator" and 1 in wrt.shape:
                d = d.T if wrt.shape[1] == 1 else d
            # otherwise shaped like the variable (a row for a row vector x in x W + b): the shape convention
        if kept and name not in env.stop:
            d = _xreplace(d, self.substitution())
        return d

    def diff(self, expr, x):
        """d expr / d x, each computed once per checker (the models of one checker share the
        table): the readings of a step and the steps of a chain differentiate the same
        expressions again.  In an instantiation asked only for numbers (Model.deferred), a
        derivative not in the table is left Deferred: forward mode gives its numbers."""
        table = self.model.derivatives
        try:
            return table[expr, x]
        except KeyError:
            if self.model.deferred and isinstance(expr, sp.Expr) and not expr.is_Atom:
                # independent of x: SymPy's 0, so that a structural zero stays one (asked of the
                # instantiation's memo of free symbols: has() walks the whole expression for each x)
                return Deferred(expr, x) if x in free_symbols(expr, self.model.free) else sp.Integer(0)
            out = table[expr, x] = derivative(expr, x, self.model.subderivatives, self.model.free)
            return out
        except TypeError:  # not hashable
            return sp.diff(expr, x)

    def _in_terms_of(self, top, holder):
        """J written in u and v, differentiated by theta = U^T v_c: J re-expressed in theta, when
        every entry of theta's value occurs in J's and nothing of u and v is left outside them.
        The entries must be independent functions (a Jacobian of full rank at a random point),
        so that J as a function of theta, and so its derivative, is the only one there is."""
        cells = list(holder) if _is_matrix(holder) else [holder]
        if not cells or not all(isinstance(x, sp.Symbol) for x in cells):
            return top
        free = top.free_symbols if hasattr(top, "free_symbols") else set()
        if free & set(cells):
            return top  # J already written in theta
        full = self.substitution()
        values = [full.get(x) for x in cells]
        if any(v is None or not getattr(v, "free_symbols", None) or isinstance(v, sp.Symbol) for v in values) or \
                len(set(values)) != len(values):
            return top
        base = set().union(*(v.free_symbols for v in values))
        if not free & base or len(cells) > len(base):
            return top
        replaced = _xreplace(top, {v: x for v, x in zip(values, cells)})
        if not hasattr(replaced, "free_symbols"):
            return top
        if replaced.free_symbols & base:
            try:  # an entry may sit inside a larger sum or product: SymPy's subs finds it there
                replaced = top.subs(list(zip(values, cells)), simultaneous=True) if not _is_matrix(top) else \
                    top.applyfunc(lambda e: e.subs(list(zip(values, cells)), simultaneous=True))
            except Exception:
                return top
        if replaced.free_symbols & base or not replaced.free_symbols & set(cells):
            return top
        order = sorted(base, key=str)
        rng = np.random.default_rng(len(order))
        point = {b: sp.Float(rng.normal()) for b in order}
        jacobian = sp.Matrix([[sp.diff(v, b).xreplace(point) for b in order] for v in values])
        try:
            if np.linalg.matrix_rank(np.array(jacobian.evalf(), dtype=float)) < len(values):
                return top
        except (TypeError, ValueError):
            return top
        return replaced

    def _resolve_alias(self, name: str, definition, env: Env):
        """(name, definition to keep symbolic, or None when the name stands for variables)."""
        seen = set()
        while definition is not None and definition.kind == "value" and name not in seen:
            seen.add(name)
            try:
                tree = self.definition_tree(definition)
            except Exception:
                return name, definition
            if not (isinstance(tree, Tree) and tree.data == "symbol"):
                return name, definition
            target = tree.children[0].value
            following = self.ctx.definition(target, env.position)
            if following is None:
                return name, None  # h = v_c: the column's own entries are the variables
            if len(tree.children) > 1:
                return name, definition
            name, definition = target, following
        return name, definition

    def _not_through_a_sum(self, definition: Definition, numerator, name: str, env: Env) -> None:
        """b = -u_k^T v_c, J = f(a) + \\sum_k f(b): "dJ/db" is one b per k, which the notation does not say."""
        from .implicit import free_letters
        from .ranges import _names_through

        own = set(free_letters(self.definition_tree(definition))) - set(definition.params)
        if not own:
            return
        trees = [numerator]
        for n in _names_through(self, numerator, env.position, set()):
            d = self.ctx.definition(n, env.position)
            if d is not None:
                try:
                    trees.append(self.definition_tree(d))
                except Exception:
                    continue
        for tree in trees:
            if not isinstance(tree, Tree):
                continue
            for node in tree.iter_subtrees():
                if node.data == "bigop" and len(node.children) >= 3:
                    letter = _binder(node.children[1])[0]
                    if letter in own and _mentions_name(node.children[-1], name):
                        if letter in env.values and letter in env.written:
                            continue  # the step's own k, or a sum's around: dJ/db_k for that k
                        # the sum, for a reading of the chain rule through every b_k (steps.py)
                        self.model.expanded["#family"] = (name, node)
                        raise CannotCheck(f"{_shown(name)} depends on {_shown(letter)}, which a sum runs over: "
                                          f"a derivative with respect to {_shown(name)} is one for each {_shown(letter)}")

    def _depends(self, top, wrt, numerator, variable, name: str, kept: bool, env: Env) -> None:
        """A derivative of a quantity that, as the document defines it, does not involve the
        variable's quantity at all would be 0 whatever the author meant: refused instead."""
        base = self._base_symbols(name, wrt, kept, env)
        free = self.model.symbols(top)
        if base and not (free & base):
            shown = "".join(_text(numerator))
            raise CannotCheck(f"{_shown(shown) if len(shown) < 30 else 'the quantity'} does not involve "
                              f"{_shown(name)} as the document defines it: how it depends on it is not written")

    def _base_symbols(self, name: str, wrt, kept: bool, env: Env) -> set:
        """All the entries of the variable's quantity: the whole matrix for a column u_w."""
        if kept:  # placeholders are only ever added: their number says whether this is known
            key = ("#base symbols", name, len(self.model.placeholders))
            if key not in self.model.expanded:
                self.model.expanded[key] = frozenset(
                    x for holder, _ in self.model.placeholders.values()
                    for x in (holder.free_symbols if hasattr(holder, "free_symbols") else ())
                    if str(x).startswith(name + "#"))
            return set(self.model.expanded[key])
        family = self.ctx.families.get(name)
        if family is not None and family.matrix in self.model.primitives:
            return set(self._primitive_symbols(family.matrix))
        if name in self.model.primitives:
            return set(self._primitive_symbols(name))
        return set(self.model.symbols(wrt))

    def _primitive_symbols(self, name: str) -> frozenset:
        """A variable's entries (its symbols), once per instantiation."""
        key = ("#entries", name)
        if key not in self.model.expanded:
            self.model.expanded[key] = frozenset(self.model.symbols(self.model.primitives[name]))
        return self.model.expanded[key]

    def _check_variable(self, x, name):
        if not (isinstance(x, sp.Symbol)):
            raise CannotCheck(f"a derivative with respect to {_shown(name)}, which is not a variable here")

    # -- calls and cases ------------------------------------------------------------------------
    def _call(self, t, env):
        name = t.children[0].value
        args = t.children[1].children
        conditions = [a for a in args if isinstance(a, Tree) and a.data in ("condition", "condition_not_equal",
                                                                               "condition_compare")]
        if name == "indicator" or (name in ("I", "1") and conditions and len(args) == 1
                                   and not self._defined_value(name, env)):
            if len(args) != 1 or not conditions:
                raise CannotCheck("an indicator needs one condition")
            return self._condition(args[0], env)
        if name == "primeof":
            return self._prime_of(args, env)
        definition = self.ctx.definition(name, env.position)
        if definition is not None and definition.kind == "function":
            return self._apply_definition(definition, args, env)
        if name.endswith("prime") and len(args) == 1:
            return self._derivative_function(name[:-len("prime")], args[0], env)
        if name in ("Dsigma", "Dexp", "Dlog", "Dsoftmax") and len(args) == 1:
            return self._derivative_function(name[1:], args[0], env)
        if self._generic(name, env):
            return self._apply_generic(name, [self.value(a, env) for a in args])
        shown = f"{name}({', '.join(''.join(_text(a)) for a in args)})"
        for call in self.ctx.calls.get(_bare(shown), ()):
            return self.value(self.parse(call.latex), env)
        pattern = self._call_pattern(name, args, env)
        if pattern is not None:
            return pattern
        # CE = CE(y, \hat{y}): the bare name is a name for the call, whose meaning is the built-in one
        alias = definition is not None and bool(re.match(rf"\s*{re.escape(name)}\s*\(", definition.latex))
        own = definition is not None and definition.kind == "value" and definition.origin == "document" and not alias
        if name in KNOWN_CALLS and not conditions and not own and (alias or not self._is_array(name, env)):
            return self.apply(name, [self.value(a, env) for a in args])  # CE(y, \hat{y}) = -1/N ...: the document's
        if self._as_defined_of(name, definition, args, env):
            return self.symbol_value(name, [], env)  # g(a) with g = sigma(a): g as defined, written with its variable
        if len(args) == 1 and not conditions and self._is_array(name, env):  # U(yhat - y): a product
            return self.product(self.symbol_value(name, [], env), self.value(args[0], env), env.elementwise)
        at = self._at_word(name, definition, args, env)
        if at is not None:  # J(v_c, w_{t+j}, U): J with its outside word at w_{t+j}
            return self.symbol_value(name, [], env.with_values(**at))
        if definition is not None and definition.kind in ("value", "component"):
            value = self.symbol_value(name, [], env)  # J(theta): the notation says what J depends on
            if _is_matrix(value) and (conditions or len(args) > 1):
                raise CannotCheck(f"{_shown(shown)}: a vector written as a call, which entry it means is not "
                                  "written")
            return value
        if len(args) == 1 and not conditions and name in self.model.primitives:
            return self.product(self.symbol_value(name, [], env), self.value(args[0], env))
        raise CannotCheck(f"undefined function {_shown(shown)}")

    def _at_word(self, name: str, definition, args, env) -> dict | None:
        """J(v_c, w_{t+j}, U), J defined as a value at fixed indices (c, o): the one argument that is an
        entry of a sequence of word indices stands for the one fixed index J depends on that no other
        argument names (v_c names c, so w_{t+j} is o).  None where that is not so."""
        if definition is None or definition.kind != "value":
            return None
        entries, named = [], set()
        for a in args:
            if not (isinstance(a, Tree) and a.data == "symbol"):
                return None
            word, letters, _ = self.subscripts(a)
            if word in self.model.samples and len(letters) == 1:
                entries.append((word, tuple(letters)))
            else:
                named |= {x for x in letters if isinstance(x, str)}
        if len(entries) != 1:
            return None
        free = self._fixed_through(name, env.position) - named
        if len(free) != 1:
            return None
        return {free.pop(): self._resolve(entries[0], env)}

    def _fixed_through(self, name: str, position: int) -> set[str]:
        """The fixed indices (c, o) a name depends on through its definitions: written as subscripts
        (u_o), in the conditions of its pieces (y_w = 1 for w = o), or as a one-hot's position."""
        ctx, out, seen, stack = self.ctx, set(), set(), [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if ctx.onehots.get(current) in ctx.particular:
                out.add(ctx.onehots[current])
            for definition in ctx.pieces(current, position):
                for a, _, b in definition.condition or ():
                    out |= {x for x in (a, b) if x in ctx.particular}
                try:
                    tree = self.definition_tree(definition)
                except Exception:  # a definition that does not parse names nothing
                    continue
                if not isinstance(tree, Tree):
                    continue
                for node in tree.iter_subtrees():
                    if node.data in ("symbol", "call"):
                        stack.append(node.children[0].value)
                    if node.data == "symbol":
                        for g in (c for c in node.children[1:] if isinstance(c, Tree)):
                            out |= {x for x in _letters(g) if isinstance(x, str) and x in ctx.particular}
        return out

    def _as_defined_of(self, name: str, definition, args, env) -> bool:
        """A name the document defines as a value, called with variables its definition uses
        (h(z) with h = \\sigma(z)): the call names the value and what it depends on, not a product."""
        if definition is None or definition.kind != "value" or not args:
            return False
        from .infer import _symbol_parts, entry_name

        try:
            tree = self.parse(definition.latex)
        except Exception:
            return False
        # the variables its own definition writes (not those reached through other names or columns:
        # h = v_c is no function of V)
        used = {entry_name(self.ctx, *_symbol_parts(n)) for n in tree.iter_subtrees()
                if n.data == "symbol" and _symbol_parts(n)} if isinstance(tree, Tree) else set()

        for a in args:
            parts = _symbol_parts(a) if isinstance(a, Tree) and a.data == "symbol" else None
            if not parts or (parts[1] and entry_name(self.ctx, *parts) == parts[0]):
                return False  # a bare variable, or a named entry (z_1); not an entry u_k
            if entry_name(self.ctx, *parts) not in used:
                return False
        return True

    def _call_pattern(self, name: str, args, env):
        """P(O=w|C=c) under a definition of P(O=o|C=c): the letters on the right of the
        conditions are the definition's parameters."""
        values = self._condition_values(args, env)
        if values is None:
            return None
        key = f"{name}({','.join(left for left, _ in values)})"
        for call in self.ctx.calls.get(key, ()):
            if len(call.params) == len(values):
                bound = env.with_values(**dict(zip(call.params, [v for _, v in values])))
                return self.value(self.parse(call.latex), bound)
        return None

    def _condition_values(self, args, env):
        out = []
        for a in args:
            if not (isinstance(a, Tree) and a.data == "condition"):
                return None
            left, right = a.children
            letters = _letters(right)
            if len(letters) != 1:
                return None
            try:
                out.append(("".join(_text(left)), self._resolve(letters[0], env)))
            except CannotCheck:
                return None
        return out

    def _piecewise_values(self, t, env):
        """1, & x > 0 \\ 0, & x < 0: a function of the value x, piece by piece."""
        pieces = []
        for case in t.children:
            if case.data == "case_otherwise":
                pieces.append((self.value(case.children[0], env), True))
                break
            if case.data == "case_compare":
                pieces.append((self.value(case.children[0], env), self._comparison(*case.children[1:], env)))
                continue
            a, b = (self._index_or_value(c, env) for c in case.children[1:])
            if (a == b) == (case.data == "case_equal"):
                pieces.append((self.value(case.children[0], env), True))
                break
        if any(_is_matrix(v) for v, _ in pieces):
            raise CannotCheck("cases of arrays with conditions on values")
        if not pieces or pieces[-1][1] is not True:
            pieces.append((sp.nan, True))  # outside every case: no value (the step is checked where one applies)
        return sp.Piecewise(*pieces)

    def _comparison(self, left, relation, right, env):
        a, b = self.value(left, env), self.value(right, env)
        if _is_matrix(a) or _is_matrix(b):
            raise CannotCheck("a comparison of arrays")
        return {">": sp.StrictGreaterThan, "<": sp.StrictLessThan, "≥": sp.GreaterThan, "≤": sp.LessThan}[
            str(relation)](a, b)

    def _condition(self, node, env):
        if node.data == "condition_compare":
            return sp.Piecewise((sp.Integer(1), self._comparison(*node.children, env)), (sp.Integer(0), True))
        left, right = node.children
        a, b = self._index_or_value(left, env), self._index_or_value(right, env)
        equal = a == b if not (_is_matrix(a) or _is_matrix(b)) else False
        return sp.Integer(int(equal if node.data == "condition" else not equal))

    def _index_or_value(self, node, env):
        letters = _letters(node)
        if len(letters) == 1 and isinstance(letters[0], (str, tuple, int)) and letters[0] != "?":
            try:
                return self._resolve(letters[0], env)
            except CannotCheck:
                pass
        return self.value(node, env)

    def _apply_definition(self, definition: Definition, args, env):
        if len(args) != len(definition.params):
            raise CannotCheck(f"{_shown(definition.name)} takes {len(definition.params)} arguments")
        values = [self.value(a, env) for a in args]
        bound = {**env.bound, **dict(zip(definition.params, values))}
        inner = Env(env.values, env.stop, bound, definition.position if definition.position >= 0 else env.position,
                    env.layout, env.elementwise)
        return self.value(self.definition_tree(definition), inner)  # ill-formed for these arguments: the step's

    def _derivative_function(self, base: str, arg, env):
        """f'(x), \\sigma'(t): the derivative of a function, at the argument."""
        definition = self.ctx.definition(base, env.position)
        key = ("#dfunc", base, definition.position if definition is not None else None)
        if key not in self.model.expanded:
            self.model.expanded[key] = self._function_derivative(base, definition, env)
        x, d = self.model.expanded[key]
        value = self.value(arg, env)
        if _is_matrix(value):
            return value.applyfunc(lambda z: d.subs(x, z))
        return d.subs(x, value)

    def _function_derivative(self, base: str, definition, env: Env):
        """(t, f'(t)) for a function of one variable."""
        x = sp.Symbol("t#")
        if definition is not None and definition.kind == "function" and len(definition.params) == 1:
            inner = Env(env.values, env.stop, {**env.bound, definition.params[0]: x},
                        definition.position if definition.position >= 0 else env.position, env.layout, env.elementwise)
            f = self.value(self.definition_tree(definition), inner)
        elif base in ELEMENTWISE:
            f = ELEMENTWISE[base](x)
        elif self._generic(base, env):
            f = self._apply_generic(base, [x])
        else:
            raise CannotCheck(f"undefined function {_shown(base)}")
        if _is_matrix(f):
            raise CannotCheck(f"{_shown(base)}' of an array-valued function")
        return x, sp.diff(f, x)

    def _generic(self, name: str, env: Env) -> bool:
        """f, g, h called but never defined: arbitrary functions (a rule such as the quotient rule
        must hold for all of them), read as random smooth functions."""
        return name in ("f", "g", "h") and self.ctx.definition(name, env.position) is None and \
            name not in self.model.primitives and name not in self.ctx.families

    def _apply_generic(self, name: str, args: list):
        if len(args) != 1 or _is_matrix(args[0]):
            raise CannotCheck(f"{name} of several arguments or of an array")
        (t,) = args
        a = [sp.Symbol(f"{name}~{k}") for k in range(4)]
        for x in a:
            self.model.generic.add(x)
        return a[0] + a[1] * t + a[2] * t ** 2 + sp.exp(a[3] * t)

    def _prime_of(self, args, env):
        """(expr)': the derivative with respect to the one scalar variable it has."""
        if len(args) != 1:
            raise CannotCheck("a prime on a list")
        value = self.value(args[0], env)
        value = exact(value) if self.model.deferred else value
        if _is_matrix(value):  # (f(x))' of a vector x, entry by entry: each entry's own variable
            out = []
            for entry in value:
                free = sorted(sp.sympify(entry).free_symbols, key=str)
                if len(free) != 1:
                    raise CannotCheck("a prime on an array whose entries are not each of one variable")
                out.append(sp.diff(entry, free[0]))
            return sp.Matrix(value.shape[0], value.shape[1], out)
        free = sorted(sp.sympify(value).free_symbols, key=str)
        if len(free) != 1:
            raise CannotCheck("a prime on an expression of several variables: with respect to which?")
        return sp.diff(value, free[0])

    def _is_vector_valued(self, definition: Definition, env: Env) -> bool:
        """A component definition whose entries are not scalars (the k-th sample's vector)."""
        return False

    def _is_array(self, name: str, env: Env) -> bool:
        if name in self.ctx.arrays:
            return True
        definition = self.ctx.definition(name, env.position)
        if definition is not None and definition.kind == "value":
            try:
                return _is_matrix(self.definition_value(definition, env))
            except (CannotCheck, ShapeError, ParseError):
                return False
        return False

    def _cases(self, t, env):
        if any(case.data == "case_compare" for case in t.children):
            return self._piecewise_values(t, env)
        for case in t.children:
            if case.data == "case_otherwise":
                return self.value(case.children[0], env)
            a, b = (self._index_or_value(c, env) for c in case.children[1:])
            if (a == b) == (case.data == "case_equal"):
                return self.value(case.children[0], env)
        raise CannotCheck("no case applies")

    def _component(self, t, env):
        value = self.value(t.children[0], env)
        idx = [self._resolve(x, env) for x in _letters(t.children[1])]
        return _pick(value, idx, "the bracket")

    def _matrix(self, t, env):
        rows = [[self.value(cell, env) for cell in row.children] for row in t.children]
        if len({len(r) for r in rows}) != 1:
            raise ShapeError("a matrix with rows of different lengths")
        if any(_is_matrix(cell) for row in rows for cell in row):
            raise CannotCheck("a block matrix")
        return sp.Matrix(rows)

    def _condition_not_equal(self, t, env):
        raise CannotCheck("a condition outside an indicator")

    def parse(self, latex: str):
        from gradproof.derive import macros as user_macros

        return parse_tree(latex, self.ctx.token_names(), macros_key(self.ctx.macros))

    def definition_tree(self, definition: Definition):
        """A definition's tree with the sums it implies written out (its parameters are free)."""
        from .implicit import bind_sums, einstein

        key = ("#tree", definition.name, definition.position, definition.latex)
        cache = self.model.expanded
        if key not in cache:
            tree = bind_sums(self.parse(definition.latex), set(definition.params))
            if "o" in self.ctx.particular and definition.origin == "document":
                from .steps import _zero_as_o

                tree = _zero_as_o(tree)  # u_0 beside u_o: the digit typed for the letter (indices count from 1)
            if self.ctx.einstein:
                tree = einstein(tree, set(definition.params) | set(self.ctx.particular))
            cache[key] = tree
        return cache[key]


def _tokens(tree) -> frozenset[str]:
    if isinstance(tree, Token):
        return frozenset((str(tree),))
    if not isinstance(tree, Tree):
        return frozenset()
    return frozenset(str(v) for v in tree.scan_values(lambda v: isinstance(v, Token)))


def _meets(condition, values: dict) -> bool:
    a, relation, b = condition
    a, b = a.replace("^*", "star").replace("'", "prime"), b.replace("^*", "star").replace("'", "prime")
    if a not in values or b not in values:
        return False
    return (values[a] == values[b]) == (relation == "=")


def _mentions_name(tree, name: str) -> bool:
    if isinstance(tree, Token):
        return tree.value == name
    return any(n.data in ("symbol", "call") and n.children[0].value == name for n in tree.iter_subtrees())


def _xreplace(value, mapping):
    return value.xreplace(mapping) if _is_matrix(value) else sp.sympify(value).xreplace(mapping)


def _pick(whole, idx, name):
    if not idx:
        return whole
    if not _is_matrix(whole):
        raise ShapeError(f"{_shown(name)} is a scalar and has no entry {idx[0] + 1}")
    if 1 in whole.shape and len(idx) == 1:
        n = max(whole.shape)
        if not 0 <= idx[0] < n:
            raise ShapeError(f"{_shown(name)} has no entry {idx[0] + 1}")
        return whole[idx[0]]
    if len(idx) == 2:
        if not (0 <= idx[0] < whole.shape[0] and 0 <= idx[1] < whole.shape[1]):
            raise ShapeError(f"{_shown(name)} has no entry ({idx[0] + 1}, {idx[1] + 1})")
        return whole[idx[0], idx[1]]
    raise ShapeError(f"{_shown(name)} is {_shape(whole)}: {len(idx)} indices do not fit")


def _is_name(node, name: str) -> bool:
    if isinstance(node, Token):
        return node.value == name
    return isinstance(node, Tree) and node.data == "symbol" and len(node.children) == 1 and node.children[0].value == name


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "()")


def _text(t) -> list[str]:
    if isinstance(t, Token):
        return [t.value]
    out = []
    for c in t.children:
        out += _text(c)
    return out


def _shown(name: str) -> str:
    from gradproof.derive import wild

    return wild.shown(name)


@dataclass(frozen=True)
class Offset:
    """w_{t+j}: an index written as a sum of letters and numbers (signs +1/-1), a position in a sequence."""
    terms: tuple


def _offset(node) -> Offset | None:
    """t + j (letters or numbers, each once): the offset a subscript writes, or None."""
    terms = []
    for sign, child in ((1, c) for c in node.children):
        if isinstance(child, Tree) and child.data == "neg":
            sign, child = -1, child.children[0]
        if isinstance(child, Tree) and child.data == "symbol" and len(child.children) == 1 and \
                len(child.children[0].value) == 1:
            terms.append((sign, child.children[0].value))
        elif isinstance(child, Tree) and child.data == "number" and child.children[0].value.isdigit():
            terms.append((sign, int(child.children[0].value)))
        else:
            return None
    return Offset(tuple(terms)) if len(terms) >= 2 and isinstance(terms[0][1], str) else None


def _written_letters(tree) -> set[str]:
    """The index letters a tree writes in its subscripts (t and j of w_{t+j} too)."""
    out: set[str] = set()
    for node in (tree.iter_subtrees() if isinstance(tree, Tree) else ()):
        if node.data != "symbol":
            continue
        for g in (c for c in node.children[1:] if isinstance(c, Tree)):
            for x in _letters(g):
                for y in (x.terms if isinstance(x, Offset) else x[1] if isinstance(x, tuple) else [x]):
                    term = y[1] if isinstance(y, tuple) else y
                    if isinstance(term, str):
                        out.add(term)
                    elif isinstance(term, Offset):
                        out |= {t for _, t in term.terms if isinstance(t, str)}
    return out


def _letters(node) -> list:
    """The index letters of a subscript group: u_{ij} -> [i, j]; u_w -> [w]; x_1 -> [0]."""
    if isinstance(node, Token):
        if node.type == "NAME":
            return list(node.value) if len(node.value) > 1 and node.value.islower() and len(node.value) <= 3 else [node.value]
        if node.type == "NUMBER":
            return [int(node.value) - 1] if "." not in node.value else ["?"]
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
    if node.data == "not_equal":  # u_{w \neq o}: the index is w (the case is a condition)
        return _letters(node.children[0])
    if node.data == "from_value":  # u_{w=o}: the index is w, at o
        return _letters(node.children[1])
    if node.data == "add" and _offset(node) is not None:  # w_{t+j}
        return [_offset(node)]
    return ["?"]


def _binder(sub):
    """(letter, start expression, excluded letter) of a sum's subscript."""
    if sub is None:
        return None, None, None
    if isinstance(sub, Token):
        return sub.value, None, None
    if sub.data == "group" and len(sub.children) == 1 and isinstance(sub.children[0], Token) and \
            sub.children[0].type == "NAME":
        return sub.children[0].value, None, None
    if sub.data == "from_value":
        return sub.children[0].value, sub.children[1], None
    if sub.data == "from_value_except":  # j = -m .. m, j \neq 0
        excluded = _letters(sub.children[3]) if sub.children[2].value == sub.children[0].value else []
        return sub.children[0].value, sub.children[1], (excluded[0] if len(excluded) == 1 else "?")
    if sub.data == "not_equal":
        left, right = _letters(sub.children[0]), _letters(sub.children[1])
        return (left[0] if left else None), None, (right[0] if right else None)
    letters = _letters(sub)
    return (letters[0] if len(letters) == 1 else None), None, None
