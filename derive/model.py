"""A model, read from its file: symbols for the inputs, the definitions as matrix expressions,
and the claims, each located in the file for messages.

A model is data: nothing here knows any model.  ``load`` takes a shipped model's name or a
path; errors are ``ModelError``, one line naming the file, the line and what is wrong.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp
from lark import Token, Tree
from sympy import IndexedBase, MatrixSymbol

from . import catalog
from .build import BuildError, Builder, Scope, is_matrix, shape_text, split_claim, tree_of, _text
from .spec import Spec, SpecError, load as load_spec

KNOWN_TABLES = {"model", "sizes", "inputs", "definitions", "claims", "function", "variants",
                # a model file is also a notation; these are the notation format's own tables
                "symbols", "indices", "calls", "arrays"}


class ModelError(Exception):
    """A model file that cannot be used: one line, 'file:line: what is wrong'."""


@dataclass(frozen=True)
class Target:
    """What a claim differentiates by (or updates): an input, a definition (held as a free
    symbol while differentiating) or a claim variable, whole or a part of it."""

    name: str
    kind: str  # input | definition | variable
    symbol: sp.Basic  # MatrixSymbol (input or the definition's placeholder) or Symbol
    row: sp.Expr | None = None  # a selected row index (None: all rows)
    col: sp.Expr | None = None  # a selected column index (None: all columns)

    @property
    def shape(self):
        """The shape of the selected part (a gradient has the shape of what it is taken by)."""
        if not is_matrix(self.symbol):
            return (1, 1)
        rows, cols = self.symbol.shape
        if self.row is not None and self.col is not None:
            return (1, 1)
        if self.col is not None:
            return (rows, 1)
        if self.row is not None:
            return (cols, 1)
        return (rows, cols)


@dataclass(frozen=True)
class Claim:
    model: str
    name: str
    label: str | None
    statement: str  # the LaTeX as written
    kind: str  # equal | derivative | update
    rhs: object  # matrix expression or scalar
    lhs: object = None  # equal: the left side's value
    numerator: object = None  # derivative: what is differentiated
    objective: str | None = None  # derivative: the definition differentiated, when it is one
    target: Target | None = None  # derivative and update
    rate: sp.Symbol | None = None  # update: the step size
    where: tuple = ()  # conditions: (op, a, b) with op in !=, =, notin
    ranges: dict = field(default_factory=dict)  # free and input indices -> (lo, hi)
    line: int | None = None
    free: dict = field(default_factory=dict)  # the claim's own free indices -> (lo, hi)

    @property
    def equation(self) -> str | None:  # the name the older code used for the label
        return self.label


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    path: str
    text: str = field(repr=False)
    spec: Spec = field(repr=False)
    convention: str
    sizes: dict  # name -> Symbol
    inputs: dict  # name -> MatrixSymbol | Symbol | IndexedBase
    definitions: dict  # name -> expression (over inputs and earlier definitions' symbols), in order
    symbols: dict  # definition name -> its placeholder MatrixSymbol (or the scalar itself)
    objective: str
    claims: tuple[Claim, ...]
    ranges: dict  # index inputs -> (lo, hi)
    scope: Scope = field(repr=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def loss(self) -> str:  # the LaTeX of the objective, for reports
        return next(d.latex for d in self.spec.definitions if d.name == self.objective)

    def parameters(self) -> tuple[str, ...]:
        return tuple(n for n, i in self.spec.inputs.items() if i.role == "parameter")

    def objectives(self) -> tuple[str, ...]:
        """The definitions functions return as their loss: the model's, then each variant's."""
        names = [self.objective] + [f.objective for f in self.spec.functions() if f.objective]
        return tuple(dict.fromkeys(names))

    def inline(self, expr, keep=()):
        """expr with every definition's symbol replaced by its expression, except keep."""
        mapping = {self.symbols[n]: self.definitions[n] for n in self.definitions if n not in keep}
        for _ in range(len(mapping) + 1):
            new = expr.xreplace(mapping)
            if new == expr:
                return expr
            expr = new
        return expr

    def uses(self, name: str) -> set[str]:
        """The definitions an expression's definition depends on, transitively."""
        seen, todo = set(), [name]
        while todo:
            n = todo.pop()
            for other, sym in self.symbols.items():
                if other not in seen and n in self.definitions and _mentions(self.definitions[n], sym):
                    seen.add(other)
                    todo.append(other)
        return seen


def _mentions(expr, sym) -> bool:
    return is_matrix(sym) and sym in expr.atoms(MatrixSymbol) or not is_matrix(sym) and expr.has(sym)


# -- loading -------------------------------------------------------------------------------------


def load(name_or_path: str | Path) -> Model:
    path = catalog.find(name_or_path)
    if path is None:
        raise ModelError(f"unknown model '{name_or_path}' (known: {', '.join(catalog.names())}; or a path to a model file)")
    try:
        spec = load_spec(path)
    except SpecError as e:
        raise ModelError(str(e)) from None
    return from_spec(spec)


def from_text(text: str, where: str = "<model>") -> Model:
    from .spec import parse

    try:
        return from_spec(parse(text, where))
    except SpecError as e:
        raise ModelError(str(e)) from None


def _error(spec: Spec, line: int | None, message: str) -> ModelError:
    return ModelError(f"{spec.source}" + (f":{line}" if line else "") + f": {message}")


def from_spec(spec: Spec) -> Model:
    _check_tables(spec)
    if not spec.definitions:
        raise _error(spec, None, "a model file needs [definitions] (the loss among them)")
    info = spec.model
    name = info.name if info and info.name else Path(spec.source).stem
    convention = spec.function.convention if spec.function else "rows"
    sizes = {n: sp.Symbol(n, integer=True, positive=True) for n in spec.sizes}
    inputs, ranges, columns, rows, spellings = {}, {}, {}, {}, {}
    for iname, inp in spec.inputs.items():
        shape = tuple(sizes[d] if isinstance(d, str) else sp.Integer(d) for d in inp.shape)
        if len(shape) > 2 and inp.role != "index":
            raise _error(spec, _input_line(spec, iname), f"input {iname}: only scalars, vectors and matrices "
                                                         f"(at most two dimensions), not {len(shape)}")
        if inp.role == "index":
            limit = sizes[inp.range] if isinstance(inp.range, str) else sp.Integer(inp.range)
            sym = sp.Symbol(iname, integer=True, nonnegative=True) if not shape else \
                IndexedBase(iname, shape=shape, integer=True)
            ranges[sym] = (sp.Integer(0), limit - 1)
        elif inp.role == "scalar":
            sym = sp.Symbol(iname, real=True)
        else:
            sym = MatrixSymbol(iname, *(shape + (sp.Integer(1),) * (2 - len(shape))))
        inputs[iname] = sym
        if inp.column:
            columns[inp.column] = iname
        if inp.row:
            rows[inp.row] = iname
        for spelling in _spellings(iname, inp.latex):
            spellings.setdefault(spelling, iname)
    for d in spec.definitions:
        for spelling in _spellings(d.name, None):
            spellings.setdefault(spelling, d.name)
    scope = Scope(sizes, inputs, {}, columns, rows, spellings, dict(ranges), convention)
    _resolve_latex_spellings(spec, scope)
    definitions, symbols = {}, {}
    for d in spec.definitions:
        try:
            value = Builder(scope, d.name).value(tree_of(d.latex, scope))
        except BuildError as e:
            raise _error(spec, d.line, f"definition {d.name}: {e}") from None
        if isinstance(value, (sp.Indexed, IndexedBase)) or not is_matrix(value) and value.has(sp.Indexed):
            raise _error(spec, d.line, f"definition {d.name}: an index is not a quantity to define")
        definitions[d.name] = value
        symbols[d.name] = MatrixSymbol(d.name, *value.shape) if is_matrix(value) else value
        scope.definitions = {**scope.definitions, d.name: symbols[d.name]}
        scope.values = {**scope.values, symbols[d.name]: value}
    objective = info.objective if info and info.objective else spec.definitions[-1].name
    line = _line_of(spec, "model", "objective")
    for obj in [objective] + [f.objective for f in spec.functions() if f.objective]:
        if obj not in definitions:
            raise _error(spec, line if obj == objective else None, f"the objective '{obj}' is not a definition")
        value = definitions[obj]
        if is_matrix(value) and value.shape != (1, 1):
            raise _error(spec, _def_line(spec, obj), f"the objective {obj} must be a scalar, not {shape_text(value)}")
    model = Model(name, (info.title if info else "") or name, spec.source, spec.text, spec, convention, sizes, inputs,
                  definitions, symbols, objective, (), ranges, scope)
    claims = tuple(_claim(model, c) for c in spec.claims)
    _check_functions(model)
    return Model(name, model.title, spec.source, spec.text, spec, convention, sizes, inputs, definitions, symbols,
                 objective, claims, ranges, scope)


def _check_tables(spec: Spec) -> None:
    from . import toml

    try:
        data = toml.loads(spec.text) if spec.text else {}
    except toml.TOMLDecodeError:
        return
    for key in data:
        if key not in KNOWN_TABLES:
            line = next((k + 1 for k, l in enumerate(spec.text.splitlines()) if l.strip().lstrip("[").startswith(key)),
                        None)
            raise _error(spec, line, f"unknown table [{key}] (known: {', '.join(sorted(KNOWN_TABLES))})")


def _spellings(name: str, latex: str | None) -> list[str]:
    """The texts a name may be written as: itself, W_1 for W1, Wtilde for W_tilde, yhat for y_hat."""
    out = [name]
    digits = len(name) - len(name.rstrip("0123456789"))
    if 0 < digits < len(name):
        out.append(f"{name[:-digits]}_{name[-digits:]}")
    for decor in ("tilde", "hat"):
        if name.endswith("_" + decor):
            out.append(name[: -len(decor) - 1] + decor)
    if latex is not None:
        out.append("\0" + latex)  # resolved against the parser's reading in _resolve_latex_spellings
    return out


def _resolve_latex_spellings(spec: Spec, scope: Scope) -> None:
    spellings = dict(scope.spellings)
    for key, target in list(spellings.items()):
        if not key.startswith("\0"):
            continue
        del spellings[key]
        import re

        letters = set(re.findall(r"[A-Za-z]+", key[1:]))  # keep 'Wtilde' (from \tilde{W}) whole
        hints = {w: w for w in letters} | {f"{w}{d}": w for w in letters if len(w) == 1 for d in ("tilde", "hat")}
        try:
            tree = tree_of(key[1:], Scope(scope.sizes, {}, {}, {}, {}, hints, {}, scope.convention))
        except BuildError as e:
            raise _error(spec, _input_line(spec, target), f"input {target}: latex '{key[1:]}': {e}") from None
        if not (isinstance(tree, Tree) and tree.data == "symbol"):
            raise _error(spec, _input_line(spec, target), f"input {target}: latex '{key[1:]}' is not a symbol")
        spellings[_text(tree)] = target
    scope.spellings = spellings


def _line_of(spec: Spec, table: str, key: str | None) -> int | None:
    from .spec import _Locator

    return _Locator(spec.source, spec.text).line(table, key)


def _input_line(spec, name):
    return _line_of(spec, f"inputs.{name}", None)


def _def_line(spec, name):
    return next((d.line for d in spec.definitions if d.name == name), None)


def _check_functions(model: Model) -> None:
    spec = model.spec
    for f in spec.functions():
        for argument, latex in f.bind:
            try:
                bound_value(model, latex)
            except BuildError as e:
                raise _error(spec, f.line, f"function {f.name}: bind {argument}: {e}") from None
        for input_name, place in f.returns.gradients:
            if input_name in spec.inputs and not spec.inputs[input_name].differentiable:
                raise _error(spec, f.line, f"function {f.name}: {input_name} is {spec.inputs[input_name].role} "
                                           "input, which has no gradient")


def bound_value(model: Model, latex: str):
    """What a bound argument stands for: (name of a definition or input, transposed?)."""
    tree = tree_of(latex, model.scope)
    transposed = False
    if isinstance(tree, Tree) and tree.data == "transpose":
        tree, transposed = tree.children[0], True
    value = Builder(model.scope, "bind").value(tree)
    for name, sym in list(model.symbols.items()) + list(model.inputs.items()):
        if sym == value:
            return name, transposed
    raise BuildError(f"'{latex}' is not a definition or an input (or its transpose)")


# -- claims --------------------------------------------------------------------------------------


def claim_from(model: Model, latex: str, name: str = "claim", where: str | None = None, variables=(),
               rate: str | None = None, label: str | None = None) -> Claim:
    """A claim about a loaded model that is not in its file (a student's, a mutant)."""
    from .spec import ClaimSpec

    return _claim(model, ClaimSpec(name, latex, label, where, tuple(variables), rate, None))



def _claim(model: Model, c) -> Claim:
    spec = model.spec
    scope = model.scope
    variables = {v: sp.Symbol(v, real=True) for v in c.variables}
    claim_scope = Scope(scope.sizes, scope.inputs, scope.definitions, scope.columns, scope.rows, scope.spellings,
                        dict(scope.ranges), scope.convention, variables, free_indices=True, values=scope.values)
    try:
        left, right = split_claim(c.latex)
        lhs_tree = tree_of(left, claim_scope)
        rhs = Builder(claim_scope, c.name).value(tree_of(right, claim_scope))
        kind, parts = _left(model, claim_scope, lhs_tree, c)
        where = _conditions(claim_scope, c.where) if c.where else ()
    except BuildError as e:
        raise _error(spec, c.line, f"claim '{c.name}': {e}") from None
    ranges, free = dict(scope.ranges), {}
    for index, sizes in claim_scope.found.items():
        if not sizes:
            raise _error(spec, c.line, f"claim '{c.name}': the range of the index {index} cannot be inferred")
        free[index] = (sp.Integer(0), min(sizes, key=lambda s: sp.sstr(s)) - 1)
    return Claim(model.name, c.name, c.label, c.latex, kind, rhs, where=where, ranges={**ranges, **free}, line=c.line,
                 free=free, **parts)


def _left(model, scope, tree, c):
    """The kind of claim its left side makes, and what it is about."""
    b = Builder(scope, c.name)
    if isinstance(tree, Tree) and tree.data in ("derivative", "derivop"):
        numerator, variable = (tree.children[0], tree.children[1]) if tree.data == "derivative" else \
            (tree.children[1], tree.children[0])
        target = _target(model, scope, b, variable)
        objective = None
        if isinstance(numerator, Tree) and numerator.data == "symbol" and len(numerator.children) == 1:
            name = scope.spellings.get(numerator.children[0].value, numerator.children[0].value)
            if name in model.definitions:
                objective = name
        top = b.value(numerator)
        if is_matrix(top) and top.shape != (1, 1):
            raise BuildError("the derivative of an array (a Jacobian): write its entries, \\frac{\\partial p_i}"
                             "{\\partial s_j}")
        return "derivative", {"numerator": top, "objective": objective, "target": target}
    if isinstance(tree, Tree) and tree.data == "symbol" and any(
            isinstance(ch, Token) and ch.type == "DECOR" for ch in tree.children):
        if any(ch.value != "new" for ch in tree.children if isinstance(ch, Token) and ch.type == "DECOR"):
            raise BuildError("only ^{new} (an update) may decorate the left side")
        plain = Tree("symbol", [ch for ch in tree.children if not (isinstance(ch, Token) and ch.type == "DECOR")])
        target = _target(model, scope, b, plain)
        if c.rate is None or c.rate not in scope.variables:
            raise BuildError("an update claim (X^{new} = ...) needs rate, the name of its step size, listed in variables")
        return "update", {"target": target, "rate": scope.variables[c.rate]}
    return "equal", {"lhs": b.value(tree)}


def _target(model, scope, b: Builder, tree) -> Target:
    if not (isinstance(tree, Tree) and tree.data == "symbol"):
        raise BuildError("differentiate by a name (an input, a definition, a column or an entry of one)")
    name = tree.children[0].value
    groups = [ch for ch in tree.children[1:] if isinstance(ch, Tree)]
    whole = name + "".join("_" + _text(g) for g in groups)
    if whole in scope.variables:
        return Target(whole, "variable", scope.variables[whole])
    for candidate in (whole, name if not groups else None):
        if candidate is None:
            continue
        target = scope.spellings.get(candidate)
        if target is not None and candidate == whole:
            return _whole(model, scope, target)
    indices = [i for g in groups for i in b.subscripts(g)]
    if name in scope.columns or name in scope.rows:
        matrix = scope.columns.get(name) or scope.rows.get(name)
        sym = model.inputs[matrix]
        if len(indices) == 1:
            b.note(indices[0], sym.shape[1] if name in scope.columns else sym.shape[0])
            if name in scope.columns:
                return Target(matrix, "input", sym, None, indices[0])
            return Target(matrix, "input", sym, indices[0], None)
        if len(indices) == 2:
            b.note(indices[0], sym.shape[0])
            b.note(indices[1], sym.shape[1])
            return Target(matrix, "input", sym, indices[0], indices[1])
    resolved = scope.spellings.get(name, name)
    if resolved in model.inputs or resolved in model.definitions:
        t = _whole(model, scope, resolved)
        rows, cols = t.symbol.shape
        if len(indices) == 1 and cols == 1:
            b.note(indices[0], rows)
            return Target(t.name, t.kind, t.symbol, indices[0], sp.Integer(0))
        if len(indices) == 2:
            b.note(indices[0], rows)
            b.note(indices[1], cols)
            return Target(t.name, t.kind, t.symbol, indices[0], indices[1])
    raise BuildError(f"cannot differentiate by '{whole}': not an input, a definition or a part of one")


def _whole(model, scope, name) -> Target:
    if name in scope.variables:
        return Target(name, "variable", scope.variables[name])
    if name in model.definitions:
        sym = model.symbols[name]
        if not is_matrix(sym):
            raise BuildError(f"{name} is a scalar formula, not a quantity to differentiate by")
        return Target(name, "definition", sym)
    sym = model.inputs.get(name)
    if sym is None or not is_matrix(sym):
        raise BuildError(f"{name} is not differentiable (an index or a fixed scalar)")
    if not model.spec.inputs[name].differentiable:
        raise BuildError(f"{name} is {model.spec.inputs[name].role} input of an integer type: it has no gradient")
    return Target(name, "input", sym)


def _conditions(scope, text: str) -> tuple:
    """'i \\neq j', 'w \\neq o', 'o \\notin w', 'j = o', joined by ',' or \\text{and}."""
    import re

    out = []
    for part in re.split(r",|\\text\s*\{\s*and\s*\}|\\land|\\wedge", text):
        part = part.strip()
        if not part:
            continue
        found = re.fullmatch(r"(.+?)\s*(\\neq|\\ne|!=|\\notin|=)\s*(.+)", part)
        if not found:
            raise BuildError(f"cannot read the condition '{part}' (write i \\neq j, j = o or o \\notin w)")
        a, op, b_ = found.groups()
        b = Builder(scope, "where")
        left = b.index_name(*_index_parts(scope, a))
        right = b.index_name(*_index_parts(scope, b_))
        out.append(({"\\neq": "!=", "\\ne": "!=", "!=": "!=", "\\notin": "notin", "=": "="}[op], left, right))
    return tuple(out)


def _index_parts(scope, text: str):
    tree = tree_of(text, scope)
    if isinstance(tree, Tree) and tree.data == "symbol":
        return tree.children[0].value, [ch for ch in tree.children[1:] if isinstance(ch, Tree)]
    raise BuildError(f"'{text}' is not an index")
