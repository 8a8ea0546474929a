"""LaTeX of a model file to matrix expressions over the primitives of ``algebra``.

One reading for definitions and claims alike.  A definition must be a matrix expression (what
reverse mode runs over); a claim may also use index notation: entries (p_i, u_{ij}), index
sums (\\sum_w), Kronecker deltas and free index letters, whose ranges are inferred from the axes
they index.  Everything that cannot be read is a ``BuildError`` saying what, never a guess.

Conventions (also in the README): a vector is a column; juxtaposition is the matrix product;
\\odot the Hadamard product; powers of arrays are elementwise (NumPy's **); a vector added to a
matrix whose rows it fits is added to every row (a bias row, as in NumPy); \\mathbf{1}_n is a
vector of ones (its size may be left out where a product fixes it); softmax, log-softmax and
logsumexp work over the entries of a vector, and over each row (convention rows) or each
column (convention columns) of a matrix; S_y with an index array y picks one entry per row
(per column); u_w, with u the column letter of U, is column w of U (columns w, for an index
array w).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp
from lark import Token, Tree
from sympy import HadamardProduct, KroneckerDelta, MatAdd, MatMul, MatrixExpr, OneMatrix, Transpose

from .algebra import (Exp, ExpFn, FrobeniusSq, Gather, IndexSum, Log, LogSigmoid, LogSoftmax, LogSumExp, Minimum,
                      OneHot, Pick, Power, Relu, ReluFn, Scale, Sigmoid, Softmax, Softplus, Step, Take, Tanh, Total,
                      dims, is_array, logistic)
from .latex import ParseError, parse

# words read as functions; 'LSE' is what logsumexp and lse become before parsing (the lexer
# would otherwise read logsumexp as log of sumexp)
FUNCTIONS = ("relu", "tanh", "max", "min", "softplus", "sigmoid", "LSE", "mean", "sum", "onehot", "exp", "log",
             "logsoftmax")
_WORDS = re.compile(r"\\(?:mathrm|operatorname|text)\s*\{\s*(logsumexp|lse|LSE)\s*\}|(?<![A-Za-z\\])(logsumexp|lse)(?![A-Za-z])")


class BuildError(Exception):
    """What cannot be read, in the user's terms (the caller adds the file and line)."""


@dataclass
class Scope:
    """What names mean while building one expression."""

    sizes: Mapping[str, sp.Symbol]
    inputs: Mapping[str, sp.Basic]  # MatrixSymbol, Symbol (scalar or one index) or IndexedBase (index array)
    definitions: Mapping[str, MatrixExpr]  # name -> its placeholder symbol
    columns: Mapping[str, str]  # column letter -> matrix input
    rows: Mapping[str, str]  # row letter -> matrix input
    spellings: Mapping[str, str]  # canonical text of a symbol as written -> name
    ranges: dict  # index symbol or IndexedBase -> (lo, hi), for the prover; grows with bound indices
    convention: str = "rows"
    variables: Mapping[str, sp.Symbol] = field(default_factory=dict)  # a claim's own scalars
    free_indices: bool = False  # claims: unknown single letters are free indices
    values: dict = field(default_factory=dict)  # a definition's symbol -> its expression (to fuse log softmax)
    bound: dict = field(default_factory=dict)  # a sum's index letter -> its symbol, inside the sum (shadows inputs)
    found: dict = field(default_factory=dict)  # free index -> sizes of the axes it indexed

    def names(self) -> frozenset[str]:
        words = set(self.inputs) | set(self.definitions) | set(self.spellings) | set(self.variables) | set(FUNCTIONS)
        return frozenset(w for w in words if len(w) > 1 and w.isalpha())


def prepare(latex: str) -> str:
    return _WORDS.sub(" LSE ", latex)


def tree_of(latex: str, scope: Scope) -> Tree:
    try:
        return parse(prepare(latex), scope.names(), in_the_wild=False).tree  # a model file's own dialect
    except ParseError as e:
        raise BuildError(f"cannot parse the LaTeX at column {e.column}: {e}") from None


# -- values ------------------------------------------------------------------------------------


def is_matrix(x) -> bool:
    return isinstance(x, MatrixExpr)


def shape_text(x) -> str:
    if not is_matrix(x):
        return "a scalar"
    r, c = x.shape
    return f"{sp.sstr(r)} x {sp.sstr(c)}"


def scalar_like(x) -> bool:
    return not is_matrix(x) or x.shape == (1, 1)


@dataclass(frozen=True)
class Ones:
    """\\mathbf{1} whose size is not written: resolved by the product it is in."""

    transposed: bool = False
    sign: object = 1  # a scalar factor it carries until its size is known (-1, 1/N)


class Builder:
    def __init__(self, scope: Scope, where: str):
        self.scope, self.where = scope, where

    def fail(self, message: str) -> BuildError:
        return BuildError(message)

    # -- entry point -------------------------------------------------------------------------
    def value(self, tree):
        if isinstance(tree, Token):
            if tree.type == "NUMBER":
                return sp.Rational(tree.value)
            return self.name(tree.value, [])
        method = getattr(self, f"_{tree.data}", None)
        if method is None:
            raise self.fail(f"'{_describe(tree)}' is not supported in a model file")
        out = method(tree)
        if isinstance(out, Ones):
            raise self.fail(r"the size of \mathbf{1} cannot be inferred here: write \mathbf{1}_{n}")
        return out

    # -- arithmetic --------------------------------------------------------------------------
    def _add(self, t):
        return self.combine(self.value(t.children[0]), self.value(t.children[1]), 1)

    def _sub(self, t):
        return self.combine(self.value(t.children[0]), self.value(t.children[1]), -1)

    def combine(self, a, b, sign):
        if not is_matrix(a) and not is_matrix(b):
            return a + sign * b
        a, b = self.broadcast(a, b), self.broadcast(b, a)
        if a.shape != b.shape:
            raise self.fail(f"cannot add {shape_text(a)} and {shape_text(b)}")
        return MatAdd(a, b if sign == 1 else -b)

    def broadcast(self, x, other):
        """x shaped like other, where NumPy would broadcast it: a scalar everywhere, a 1 x 1
        everywhere, a vector added to every row (a bias row), a row vector to every row."""
        if not is_matrix(other):
            return x
        rows, cols = other.shape
        if not is_matrix(x):
            return x * OneMatrix(rows, cols)
        if x.shape == other.shape:
            return x
        if x.shape == (1, 1):
            if cols == 1:
                return MatMul(OneMatrix(rows, 1), x)
            if rows == 1:
                return MatMul(x, OneMatrix(1, cols))
            return MatMul(OneMatrix(rows, 1), x, OneMatrix(1, cols))
        if x.shape == (cols, 1) and rows != 1:  # a bias row: 1 b^T
            return MatMul(OneMatrix(rows, 1), Transpose(x))
        if x.shape == (1, cols) and rows != 1:
            return MatMul(OneMatrix(rows, 1), x)
        return x

    def _neg(self, t):
        return -self.value(t.children[0])

    def _mul(self, t):
        left, right = t.children
        a = self.operand(left)
        b = self.operand(right)
        return self.product(a, b)

    def operand(self, tree, sign=1):
        """An operand of a product: a value, or a vector of ones whose size the product fixes."""
        if isinstance(tree, Tree) and tree.data == "mul":  # 1/N 1^T R 1: the product, ones and all
            return self.product(self.operand(tree.children[0], sign), self.operand(tree.children[1]))
        return self._operand(tree, sign)

    def _operand(self, tree, sign=1):
        if isinstance(tree, Tree) and tree.data == "neg":  # -1^T v
            return self.operand(tree.children[0], -sign)
        if isinstance(tree, Tree) and tree.data == "ones" and not tree.children:
            return Ones(sign=sign)
        if isinstance(tree, Tree) and tree.data == "transpose" and isinstance(tree.children[0], Tree) \
                and tree.children[0].data == "ones" and not tree.children[0].children:
            return Ones(transposed=True, sign=sign)
        value = self.value(tree)
        return value if sign == 1 else -value

    def product(self, a, b):
        if isinstance(b, Ones) and not is_matrix(a) and not isinstance(a, Ones):  # 1/N 1^T: carried along
            return Ones(b.transposed, a * b.sign)
        if isinstance(a, Ones) and not is_matrix(b) and not isinstance(b, Ones):
            return Ones(a.transposed, b * a.sign)
        if isinstance(a, Ones) and isinstance(b, Ones):
            raise self.fail(r"the size of \mathbf{1} cannot be inferred here: write \mathbf{1}_{n}")
        if isinstance(a, Ones):  # 1^T M sums the columns; a bare 1 needs a row on its right
            if not is_matrix(b) or not a.transposed:
                raise self.fail(r"the size of \mathbf{1} cannot be inferred here: write \mathbf{1}_{n}")
            a = a.sign * OneMatrix(1, b.shape[0])
        if isinstance(b, Ones):
            if not is_matrix(a) or b.transposed:
                raise self.fail(r"the size of \mathbf{1} cannot be inferred here: write \mathbf{1}_{n}")
            b = b.sign * OneMatrix(a.shape[1], 1)
        if not is_matrix(a) or not is_matrix(b):
            return a * b
        if a.shape[1] == b.shape[0]:
            return MatMul(a, b).doit() if _all_ones(a, b) else MatMul(a, b)
        if a.shape == (1, 1):
            return Scale(a, b)
        if b.shape == (1, 1):
            return Scale(b, a)
        raise self.fail(f"cannot multiply {shape_text(a)} by {shape_text(b)}")

    def _hadamard(self, t):
        a, b = self.value(t.children[0]), self.value(t.children[1])
        if not is_matrix(a) or not is_matrix(b):
            return a * b
        if a.shape != b.shape:
            a, b = self.broadcast(a, b), self.broadcast(b, a)
        if a.shape != b.shape:
            raise self.fail(f"cannot take the Hadamard product of {shape_text(a)} and {shape_text(b)}")
        return HadamardProduct(a, b)

    def _outer(self, t):
        raise self.fail(r"\otimes is not supported in a model file: write u v^\top")

    def _frac(self, t):
        top, bottom = self.value(t.children[0]), self.value(t.children[1])
        if not is_matrix(bottom):
            return top / bottom if not is_matrix(top) else top * (1 / bottom)
        if bottom.shape == (1, 1) and (not is_matrix(top) or top.shape != (1, 1)):
            return self.product(Power(bottom, -1), top) if is_matrix(top) else Power(bottom, -1) * top
        if not is_matrix(top):
            top = self.broadcast(top, bottom)
        if top.shape != bottom.shape:
            raise self.fail(f"cannot divide {shape_text(top)} by {shape_text(bottom)}")
        return HadamardProduct(top, Power(bottom, -1))

    def _transpose(self, t):
        x = self.value(t.children[0])
        return Transpose(x) if is_matrix(x) else x

    def _power(self, t):
        base, exponent = t.children
        if isinstance(base, Tree) and base.data == "norm":
            if self.value(exponent) != 2:
                raise self.fail("only the squared norm is supported (\\|W\\|^2, \\|W\\|_F^2)")
            return FrobeniusSq(self._norm_arg(base))
        b, e = self.value(base), self.value(exponent)
        if is_matrix(e):
            raise self.fail(f"an exponent must be a scalar, not {shape_text(e)}")
        if is_matrix(b):
            return Power(b, e)
        return b ** e

    def _norm_arg(self, t):
        x = self.value(t.children[0])
        if len(t.children) > 1:
            kind = _text(t.children[1])
            if kind not in ("F", "2"):
                raise self.fail(f"the norm \\|.\\|_{kind} is not supported (only the Frobenius norm)")
        if not is_matrix(x):
            raise self.fail("the norm of a scalar: write its square")
        return x

    def _norm(self, t):
        raise self.fail("only the squared norm is supported (\\|W\\|^2, \\|W\\|_F^2)")

    def _number(self, t):
        return sp.Rational(t.children[0].value)

    def _group(self, t):
        return self.value(t.children[0])

    def _ones(self, t):
        if not t.children:
            return Ones()
        return OneMatrix(self.size(t.children[0]), 1)

    def size(self, group):
        text = _text(group)
        if text in self.scope.sizes:
            return self.scope.sizes[text]
        if text.isdigit():
            return sp.Integer(text)
        raise self.fail(f"'{text}' is not a declared size")

    def _indicator(self, t):
        a, op, b = self.value(t.children[0]), t.children[1].value, self.value(t.children[2])
        if not is_matrix(a) and not is_matrix(b):
            raise self.fail("a comparison of scalars is not a mask")
        # [a > b] = Step(a - b); [a >= b] = 1 - [b > a]
        big, small = {">": (a, b), "<": (b, a), "≥": (b, a), "≤": (a, b)}[op]
        if not is_matrix(small) and small == 0:
            arg = big
        elif not is_matrix(big) and big == 0:
            arg = -small
        else:
            big, small = self.broadcast(big, small), self.broadcast(small, big)
            if big.shape != small.shape:
                raise self.fail(f"cannot compare {shape_text(a)} with {shape_text(b)}")
            arg = MatAdd(big, -small)
        mask = Step(arg)
        if op in ("≥", "≤"):
            return MatAdd(OneMatrix(*mask.shape), -mask)
        return mask

    # -- functions ---------------------------------------------------------------------------
    def _func(self, t):
        return self.apply(t.children[0].value, [self.value(t.children[1])])

    def _call(self, t):
        name = t.children[0].value
        args = [a for a in t.children[1].children]
        if name in FUNCTIONS:
            return self.apply(name, [self.value(a) for a in args])
        if len(args) == 1:  # U(yhat - y): a product, not a call
            return self.product(self.name(name, []), self.value(args[0]))
        raise self.fail(f"unknown function {name}(...)")

    def axis(self, x) -> int:
        if x.shape[1] == 1:
            return 0
        return 1 if self.scope.convention == "rows" else 0

    def apply(self, name, args):
        if name in ("max", "min"):
            return self.extremum(name, args)
        if name == "onehot":
            return self.one_hot(args)
        if len(args) != 1:
            raise self.fail(f"{name} takes one argument, not {len(args)}")
        x = args[0]
        if name == "logsoftmax":
            return self.apply("log", [self.apply("softmax", [x])])
        if not is_matrix(x):
            scalar = {"exp": ExpFn, "log": sp.log, "tanh": sp.tanh, "sigma": logistic, "sigmoid": logistic,
                      "relu": ReluFn, "softplus": lambda z: sp.log(1 + ExpFn(z))}
            if name in scalar:
                return scalar[name](x)
            raise self.fail(f"{name} of a scalar is not supported")
        if name == "log":
            return _log_of(x, self.scope.values)
        nodes = {"exp": Exp, "tanh": Tanh, "sigma": Sigmoid, "sigmoid": Sigmoid, "relu": Relu, "softplus": Softplus}
        if name in nodes:
            return nodes[name](x)
        if name == "softmax":
            return Softmax(x, self.axis(x))
        if name == "LSE":
            return LogSumExp(x, self.axis(x))
        if name == "sum":
            return Total(x)
        if name == "mean":
            rows, cols = x.shape
            return Total(x) * (1 / (rows * cols))
        raise self.fail(f"unknown function {name}")

    def extremum(self, name, args):
        if len(args) != 2:
            raise self.fail(f"{name} takes two arguments")
        a, b = args
        if is_matrix(a) and not is_matrix(b):
            a, b = b, a
        if is_matrix(a) or not is_matrix(b):
            raise self.fail(f"{name} of a scalar and an array only (max(0, Z), min(1, X))")
        if name == "max":
            if a != 0:
                raise self.fail("max(0, Z) (relu) is the only maximum supported")
            return Relu(b)
        return Minimum(b, a)

    def one_hot(self, args):
        if len(args) != 1:
            raise self.fail("onehot takes one index or index array")
        idx = args[0]  # an index input, an entry of an index array (w_k), or an index array
        if isinstance(idx, (sp.Symbol, sp.Indexed)) and idx in self.scope.ranges:
            n = self.scope.ranges[idx][1] + 1
        elif isinstance(idx, sp.Indexed) and idx.base in self.scope.ranges:
            n = self.scope.ranges[idx.base][1] + 1
        elif is_array(idx) and idx in self.scope.ranges:
            n = self.scope.ranges[idx][1] + 1
        else:
            raise self.fail("onehot needs an index input (its range gives the length)")
        return OneHot(idx, n, 1 if self.scope.convention == "rows" else 0)

    # -- names and subscripts ----------------------------------------------------------------
    def _symbol(self, t):
        name = t.children[0].value
        groups = [c for c in t.children[1:] if isinstance(c, Tree)]
        decor = [c.value for c in t.children[1:] if isinstance(c, Token) and c.type == "DECOR"]
        if decor:
            raise self.fail(f"{name}^{{{decor[0]}}} only reads as the left side of an update claim")
        whole = self.spelled(name, groups)
        if whole is not None:
            return whole
        return self.name(name, groups)

    def spelled(self, name, groups):
        """A name as the file spells it: W_1 for W1, x_{max} for x_max, Wtilde for W_tilde."""
        text = name + "".join("_" + _text(g) for g in groups)
        for candidate in (text, text.replace("_{", "_").replace("}", "")):
            target = self.scope.spellings.get(candidate)
            if target is not None:
                return self.lookup(target)
        return None

    def lookup(self, name):
        s = self.scope
        if name in s.bound:
            return s.bound[name]
        if name in s.variables:
            return s.variables[name]
        if name in s.definitions:
            return s.definitions[name]
        if name in s.inputs:
            return s.inputs[name]
        if name in s.sizes:  # 1/N
            return s.sizes[name]
        return None

    def name(self, name, groups):
        s = self.scope
        base = self.lookup(name)
        indices = [i for g in groups for i in self.subscripts(g)]
        if base is None and name in s.columns:
            matrix = s.inputs[s.columns[name]]
            return self.part(matrix, indices, column=True)
        if base is None and name in s.rows:
            matrix = s.inputs[s.rows[name]]
            return self.part(matrix, indices, column=False)
        if base is None:
            if s.free_indices and len(name) == 1 and not groups:
                return self.free(name)
            raise self.fail(f"unknown symbol '{name}'")
        if is_array(base):  # w_k: an entry of an index array is an index
            for k, i in enumerate(indices):
                self.note(i, base.shape[k])
            return base[tuple(indices)] if indices else base
        if not indices:
            return base
        return self.index(base, indices, name)

    def free(self, letter):
        sym = sp.Symbol(letter, integer=True, nonnegative=True)
        self.scope.found.setdefault(sym, [])
        return sym

    def subscripts(self, group) -> list:
        """The indices of one subscript: u_{ij} -> [i, j]; S_{i y_i} -> [i, y[i]]; x_1 -> [0]."""
        node = group.children[0] if isinstance(group, Tree) and group.data == "group" else group
        if isinstance(node, Token):
            if node.type == "NUMBER":
                return [sp.Integer(int(node.value) - 1)]  # the document counts from 1
            return [self.index_name(node.value, [])]
        if isinstance(node, Tree) and node.data == "number":
            return [sp.Integer(int(node.children[0].value) - 1)]
        if isinstance(node, Tree) and node.data == "symbol":
            inner = [c for c in node.children[1:] if isinstance(c, Tree)]
            return [self.index_name(node.children[0].value, inner)]
        if isinstance(node, Tree) and node.data == "mul":
            return self.subscripts(node.children[0]) + self.subscripts(node.children[1])
        if isinstance(node, Tree) and node.data in ("add", "sub"):  # k+1
            return [self.index_expr(node)]
        raise self.fail(f"cannot read the subscript '{_text(group)}' as indices")

    def index_expr(self, node):
        value = self.value(node)
        if is_matrix(value):
            raise self.fail("a subscript must be an index")
        return value

    def index_name(self, name, groups):
        s = self.scope
        if name in s.bound and not groups:
            return s.bound[name]
        whole = name + "".join("_" + _text(g) for g in groups)
        if groups and (whole in s.inputs or whole in s.spellings):  # c_b: an index array named so
            name, groups = s.spellings.get(whole, whole), []
        target = s.inputs.get(name)
        if target is None and name in s.spellings:
            target = s.inputs.get(s.spellings[name])
        if isinstance(target, sp.Symbol) and target in s.ranges:
            return target
        if is_array(target):
            if not groups:
                return target
            sub = [i for g in groups for i in self.subscripts(g)]
            for k, i in enumerate(sub):
                self.note(i, target.shape[k])
            return target[tuple(sub)]
        if name in s.variables:
            return s.variables[name]
        if len(name) == 1 and not groups and s.free_indices:
            return self.free(name)
        raise self.fail(f"'{name}' is not an index (declare it as an input with role index)")

    def note(self, index, size):
        """Record that a free index indexes an axis of this size (its range, for the prover)."""
        if isinstance(index, sp.Symbol) and index in self.scope.found:
            self.scope.found[index].append(size)

    def part(self, M, indices, column: bool):
        """u_w: column w of U; u_{ij}: the entry; w_i (a row letter): row i as a vector."""
        if len(indices) == 1:
            (i,) = indices
            self.note(i, M.shape[1] if column else M.shape[0])
            return Gather(M, i, 1 if column else 0)
        if len(indices) == 2:
            return self.entry(M, *indices)
        raise self.fail(f"a column or row letter takes one index (or two for an entry), not {len(indices)}")

    def entry(self, M, i, j):
        self.note(i, M.shape[0])
        self.note(j, M.shape[1])
        if is_array(i) or is_array(j):
            raise self.fail("an entry needs two single indices")
        return Take(Gather(M, j, 1), i)

    def index(self, base, indices, name):
        if not is_matrix(base):
            raise self.fail(f"{name} is a scalar and has no entries")
        rows, cols = base.shape
        if len(indices) == 2:
            return self.entry(base, *indices)
        if len(indices) != 1:
            raise self.fail(f"{name} takes one or two indices, not {len(indices)}")
        (i,) = indices
        if cols == 1:  # an entry of a vector, or the entries an index array picks
            self.note(i, rows)
            if is_array(i) or isinstance(i, (sp.Symbol, sp.Indexed, sp.Integer)) or i.is_integer:
                return Take(base, i)
        if is_array(i):
            d = dims(i)
            axis = 1 if self.scope.convention == "rows" else 0
            if len(d) == 1 and d[0] == (rows if axis == 1 else cols):
                return Pick(base, i, axis)
            raise self.fail(f"{name}_{i}: the index array {i} has {sp.sstr(d[0])} entries, but {name} has "
                            f"{sp.sstr(rows if axis == 1 else cols)} {'rows' if axis == 1 else 'columns'}")
        raise self.fail(f"{name} is {shape_text(base)}: one index picks an entry of a vector only "
                        f"(write {name}_{{ij}} for an entry)")

    def _delta(self, t):
        letters = self.subscripts(t.children[0])
        if len(letters) != 2:
            raise self.fail("\\delta needs two indices")
        return KroneckerDelta(*letters)

    def _delta2(self, t):
        return KroneckerDelta(self.index_name(t.children[0].value, []), self.index_name(t.children[1].value, []))

    # -- sums (claims) -------------------------------------------------------------------------
    def _bigop(self, t):
        op = t.children[0].value
        if op != "\\sum":
            raise self.fail("\\prod is not supported")
        if not self.scope.free_indices:
            raise self.fail(r"an index sum in a definition: write it as a matrix expression "
                            r"(\mathbf{1}^\top v, \mathrm{sum}(M), \mathrm{mean}(M))")
        rest = t.children[1:]
        body = rest[-1]
        sub = rest[0] if len(rest) >= 2 else None
        sup = rest[1] if len(rest) == 3 else None
        letter, start, exclude = _binder(sub)
        if letter is None:
            raise self.fail("a sum needs its index as a subscript (\\sum_w)")
        var = sp.Dummy(letter, integer=True, nonnegative=True)
        saved = dict(self.scope.ranges)
        saved_bound = dict(self.scope.bound)
        self.scope.bound[letter] = var
        outer_found = self.scope.found
        self.scope.found = {**outer_found, var: []}
        lo = sp.Integer(0) if start is None else self.value(start) - 1
        if sup is not None:
            hi = self.size(sup) - 1
        else:
            hi = None
        self.scope.ranges[var] = (lo, hi if hi is not None else sp.Symbol("unknown"))
        try:
            value = self.value(body)
            if hi is None:
                sizes = self.scope.found.get(var) or []
                if not sizes:
                    raise self.fail(f"the range of the sum over {letter} cannot be inferred: write \\sum_{{{letter}=1}}^{{n}}")
                hi = sizes[0] - 1
        finally:
            found = self.scope.found
            self.scope.found = {k: v for k, v in found.items() if k != var}
            for k, v in found.items():
                if k in outer_found and k != var:
                    outer_found[k] = v
            self.scope.found = outer_found
            self.scope.ranges.clear()
            self.scope.ranges.update(saved)
            self.scope.bound.clear()
            self.scope.bound.update(saved_bound)
        if exclude is not None:
            other = self.index_name(exclude, [])
            value = value * (1 - KroneckerDelta(var, other)) if not is_matrix(value) else \
                self.product(1 - KroneckerDelta(var, other), value)
        if is_matrix(value):
            return IndexSum(value, var, lo, hi)
        return sp.Sum(value, (var, lo, hi))

    # -- the rest is an error with a name ------------------------------------------------------
    def _derivative(self, t):
        raise self.fail("a derivative may only be the left side of a claim")

    def _derivop(self, t):
        raise self.fail("a derivative may only be the left side of a claim")


# -- helpers ---------------------------------------------------------------------------------


def _log_of(x, values=None):
    """log, fused with what it is applied to: log sigma = log-sigmoid, log softmax = log-softmax
    (the stable forms), also through a definition (log yhat_o with yhat = softmax(s)); log of
    picked entries picks log entries."""
    values = values or {}
    inner = values.get(x, x)
    if isinstance(inner, Sigmoid):
        return LogSigmoid(inner.args[0])
    if isinstance(inner, Softmax):
        return LogSoftmax(*inner.args)
    if isinstance(x, (Take, Pick, Gather)):
        inside = values.get(x.args[0], x.args[0])
        if isinstance(inside, (Sigmoid, Softmax)):
            return type(x)(_log_of(inside), *x.args[1:])
    return Log(x)


def _all_ones(a, b) -> bool:
    return isinstance(a, OneMatrix) and isinstance(b, OneMatrix)


def _text(node) -> str:
    """The tokens of a subtree joined: the canonical text of a subscript or a name."""
    if isinstance(node, Token):
        return node.value
    if isinstance(node, Tree) and node.data == "number":
        return node.children[0].value
    inner = [_text(c) for c in node.children]
    if isinstance(node, Tree) and node.data == "symbol":
        return inner[0] + "".join("_" + x for x in inner[1:])
    return "".join(inner)


def _describe(tree) -> str:
    names = {"cases": r"\begin{cases}", "condition": "a condition", "from_value": "a sum start"}
    return names.get(tree.data, tree.data)


def _binder(sub):
    """(letter, start tree, excluded letter) of a sum's subscript."""
    if sub is None:
        return None, None, None
    if isinstance(sub, Token):
        return sub.value, None, None
    if sub.data == "from_value":
        return sub.children[0].value, sub.children[1], None
    if sub.data == "not_equal":
        return _text(sub.children[0]), None, _text(sub.children[1])
    node = sub.children[0] if sub.data == "group" else sub
    if isinstance(node, Token) and node.type == "NAME":
        return node.value, None, None
    if isinstance(node, Tree) and node.data == "symbol" and len(node.children) == 1:
        return node.children[0].value, None, None
    return None, None, None


def build(latex: str, scope: Scope, where: str = ""):
    """The value of one piece of LaTeX in a scope (a matrix expression or a scalar)."""
    return Builder(scope, where).value(tree_of(latex, scope))


def split_claim(latex: str) -> tuple[str, str]:
    """'LHS = RHS' at the top level (not inside braces, brackets or a subscript)."""
    depth, spots = 0, []
    for k, ch in enumerate(latex):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth == 0 and latex[k - 1:k] not in ("!", "<", ">", "\\"):
            spots.append(k)
    if len(spots) != 1:
        raise BuildError("a claim is one equation, 'left side = right side'"
                         + (f" (this one has {len(spots)} '=')" if spots else " (no '=' found)"))
    k = spots[0]
    return latex[:k].strip(), latex[k + 1:].strip()



