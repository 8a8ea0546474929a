"""Generate NumPy from a model: one module per model file (or per group of files that name
the same module), one function per [function] and [[variants]] entry.

A function is a list of assignments: the definitions its loss needs, the loss, the named
adjoints of reverse mode (dS = ...) and the gradients, each a proved matrix form printed by
``printer.NumPyCode``.  Before printing, forms are rewritten only by identities that make
the code stable and short: log-softmax picked at an index is the score minus logsumexp,
repeated subexpressions are computed once, and a softmax and the logsumexp of the same
scores share one exp.  Each line names what proves it.
"""
from __future__ import annotations

import keyword
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy import HadamardProduct, IndexedBase, MatAdd, MatMul, MatrixExpr, MatrixSymbol, OneMatrix, Transpose

from .algebra import (Exp, Gather, Log, LogSigmoid, LogSoftmax, LogSumExp, OneHot, Pick, Power, Relu, Sigmoid, Softmax,
                      Step, Take, Tanh, is_array)
from .model import Model, bound_value
from .printer import RUNTIME, NumPyCode, helpers
from .reverse import derive
from .spec import FunctionSpec
from .tidy import tidy

REGENERATE = "gradproof generate"


@dataclass(frozen=True)
class Step:
    names: tuple[str, ...]  # one, or two for a fused softmax and logsumexp
    expr: object  # a matrix expression, or a sympy Tuple of two
    note: str = ""  # what proves the line


@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    doc: str
    claims: tuple[str, ...]  # the docstring's list: "dW: softmax-classifier: dL/dW"
    prelude: tuple[str, ...]
    steps: tuple[Step, ...]
    returns: str
    names: dict  # symbol -> Python name


# -- planning ------------------------------------------------------------------------------------


def _identifier(name: str, taken: set[str]) -> str:
    out = name if name.isidentifier() and not keyword.iskeyword(name) else "".join(
        ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    if keyword.iskeyword(out) or not out.isidentifier():
        out += "_"
    while out in taken:
        out += "_"
    taken.add(out)
    return out


def _cite(model: Model, objective: str, wrt: str | None, what: str, derived=()) -> str:
    """What proves a line: the claims of the file about it, and the derived form (a derived
    row of ``gradproof derive``); an adjoint is a part of the derived forms it feeds."""
    found = []
    for c in model.claims:
        t = c.target
        if c.kind == "derivative" and c.objective == objective and t is not None and t.name == wrt \
                and t.row is None and t.col is None:
            found.append(_claim_text(c))
        if what == "loss" and c.kind == "equal" and getattr(c.lhs, "name", None) == objective:
            found.append(_claim_text(c))
    if what == "gradient" and wrt in model.inputs:
        found.append(f"d{objective}/d{wrt} (derived)")
    elif what in ("gradient", "adjoint") and wrt is not None and not found:
        found.append(f"d{objective}/d{wrt}, a part of the proved " + ", ".join(derived))
    return "; ".join(found)


def _claim_text(c) -> str:
    return f"{c.model}: {c.name}" + (f" (eq. {c.label})" if c.label else "")


def plan(model: Model, f: FunctionSpec) -> Function:
    objective = f.objective or model.objective
    taken = {a for a in f.arguments} | set(f.extra) | {"np"} | set(RUNTIME)
    rename, cut, binding = {}, [], {}
    for arg in f.arguments:
        if arg in f.extra:
            continue
        latex = f.bound(arg)
        target, transposed = (arg, False) if latex is None else bound_value(model, latex)
        binding[arg] = (target, transposed)
        if target in model.definitions:
            cut.append(target)
            old = model.symbols[target]
        else:
            old = model.inputs[target]
        rename[old] = _argument_symbol(arg, old, transposed)
    for name, sym in model.inputs.items():  # an input no argument gives: defined by the prelude
        if sym not in rename and name not in {t for t, _ in binding.values()}:
            rename[sym] = sym
    wrt = [binding[a][0] for a, _ in f.returns.gradients if binding.get(a, (None,))[0] in model.inputs]
    d = derive(model, objective, wrt=wrt, cut=tuple(cut))

    # what the function returns, over the model's symbols
    derived_rows = [f"d{objective}/d{n} (derived)" for n in model.parameters() if n in d.gradients
                    and not isinstance(d.gradients[n], sp.ZeroMatrix)]
    outputs = []  # (python name, expression, note)
    gradient_names = {}
    for arg, place in f.returns.gradients:
        target, transposed = binding[arg]
        expr = d.gradients.get(target) if target in model.inputs else d.adjoints.get(target)
        if expr is None:
            expr = sp.ZeroMatrix(*(model.inputs[target].shape if target in model.inputs else model.symbols[target].shape))
        if transposed:
            expr = Transpose(expr)
        name = place.split(".", 1)[1] if "." in place else place
        local = _identifier(name if "." not in place else f"d{name}", taken)
        gradient_names[arg] = (local, place)
        outputs.append((local, expr, _cite(model, objective, target, "gradient", derived_rows)))

    # the adjoints and definitions those need, in order; an adjoint that recomputes a
    # definition (softmax(S) in dS) uses the definition's name (P)
    adjoint_of = {sym: _named(expr, model, cut, objective) for sym, expr in d.steps}
    outputs = [(n, _named(e, model, cut, objective), note) for n, e, note in outputs]
    needed_adjoints = _closure([e for _, e, _ in outputs], adjoint_of)
    definitions = {model.symbols[n]: model.definitions[n] for n in model.definitions if n not in cut}
    # a one-hot definition is never built: where it is used, it prints as indexing (V e_c is V[:, c])
    cheap = {sym: value for sym, value in definitions.items() if isinstance(value, (OneHot, OneMatrix))}
    if cheap:
        definitions = {sym: value.xreplace(cheap) for sym, value in definitions.items() if sym not in cheap}
        adjoint_of = {sym: value.xreplace(cheap) for sym, value in adjoint_of.items()}
        outputs = [(n, e.xreplace(cheap), note) for n, e, note in outputs]
    loss_expr = definitions[model.symbols[objective]]
    roots = [loss_expr] + [adjoint_of[s] for s in needed_adjoints] + [e for _, e, _ in outputs]
    needed_defs = _closure(roots, definitions)

    steps_in: list[tuple[str, object, str]] = []
    names: dict = {}
    for n in model.definitions:
        sym = model.symbols[n]
        if sym in needed_defs and n != objective:
            names[sym] = _identifier(n, taken)
            steps_in.append((names[sym], sym, f"definition {n}"))
    loss_name = f.returns.loss
    taken.add(loss_name)
    names[model.symbols[objective]] = loss_name
    steps_in.append((loss_name, model.symbols[objective], _cite(model, objective, None, "loss")
                     or f"definition {objective}"))
    reverse_names = {v: k for k, v in d.adjoints.items()}
    for sym, _ in d.steps:
        if sym in needed_adjoints:
            names[sym] = _identifier(sym.name, taken)
            target = reverse_names.get(sym)
            steps_in.append((names[sym], sym, _cite(model, objective, target, "adjoint", derived_rows)))
    steps_in += outputs

    # expressions: each step's symbol stands for its definition or adjoint; outputs are exprs
    exprs = {}
    for name, sym_or_expr, note in steps_in:
        if isinstance(sym_or_expr, MatrixSymbol) and sym_or_expr in definitions:
            exprs[name] = definitions[sym_or_expr]
        elif isinstance(sym_or_expr, MatrixSymbol) and sym_or_expr in adjoint_of:
            exprs[name] = adjoint_of[sym_or_expr]
        elif isinstance(sym_or_expr, MatrixSymbol) and sym_or_expr == model.symbols[objective]:
            exprs[name] = loss_expr
        else:
            exprs[name] = sym_or_expr
    # rename the model's symbols to the function's, then the forms for printing
    symbol_names = {}
    for sym, name in names.items():
        symbol_names[sym] = MatrixSymbol(name, *sym.shape)
    out_steps = []
    for name, _, note in steps_in:
        e = exprs[name].xreplace(symbol_names).xreplace(rename)
        out_steps.append((name, _printable(tidy(_doit(e))), note))
    out_steps = _share_definitions(out_steps)
    out_steps = _common_subexpressions(out_steps, taken)
    out_steps = _fuse_softmax(out_steps, taken)
    out_steps = _no_aliases(out_steps, set(gradient_names[a][0] for a in gradient_names))
    out_steps = _in_dependency_order(out_steps)

    printer_names = {}
    for old, new in rename.items():
        if isinstance(new, Transpose):
            new = new.arg
        printer_names[new] = str(new.name if hasattr(new, "name") else new.label)
    arguments = [a for a in f.arguments]
    signature = ", ".join(a if a not in dict(f.defaults) else f"{a}={dict(f.defaults)[a]!r}" for a in arguments)
    prelude = list(_index_arrays(model, f, binding)) + list(f.prelude)
    prelude += _sizes(model, f, binding, rename, out_steps, prelude)
    returns = _returns(f, gradient_names)
    claims = tuple(f"{n}: {note}" for step in out_steps for n, note in [(", ".join(step.names), step.note)]
                   if note and not note.startswith("definition") and not note.startswith("common"))
    return Function(f.name, signature, f.doc or model.title, claims, tuple(prelude), tuple(out_steps), returns,
                    printer_names)


def _named(expr, model, cut, objective):
    for n in reversed(list(model.definitions)):
        value = model.definitions[n]
        if n in cut or n == objective or not isinstance(value, MatrixExpr) or not _worth_naming(value):
            continue
        expr = _replace(expr, value, model.symbols[n])
    return expr


def _argument_symbol(arg, old, transposed):
    if isinstance(old, MatrixSymbol):
        shape = old.shape[::-1] if transposed else old.shape
        new = MatrixSymbol(arg, *shape)
        return Transpose(new) if transposed else new
    if isinstance(old, IndexedBase):
        return IndexedBase(arg, shape=old.shape, integer=True)
    return sp.Symbol(arg, **old.assumptions0)


def _doit(e):
    return e.doit(deep=True) if isinstance(e, MatrixExpr) and _has_transpose(e) else e


def _has_transpose(e):
    return any(isinstance(x, Transpose) for x in sp.preorder_traversal(e))


def _closure(roots, table) -> set:
    """The symbols of table the roots mention, and the symbols those mention, transitively."""
    seen, todo = set(), list(roots)
    while todo:
        e = todo.pop()
        if not isinstance(e, sp.Basic):
            continue
        for sym in e.atoms(MatrixSymbol):
            if sym in table and sym not in seen:
                seen.add(sym)
                todo.append(table[sym])
    return seen


def _printable(e):
    """Identities that make printed code stable: log-softmax picked at indices is the picked
    scores minus logsumexp; elsewhere it is the scores minus logsumexp spread."""
    def rewrite(x):
        if isinstance(x, Take) and isinstance(x.args[0], LogSoftmax):
            X, axis = x.args[0].args
            lse = LogSumExp(X, int(axis))
            picked = Take(X, x.args[1])
            return MatAdd(picked, -_spread_to(lse, picked.shape))
        if isinstance(x, Pick) and isinstance(x.args[0], LogSoftmax):
            X, axis = x.args[0].args
            return MatAdd(Pick(X, x.args[1], x.axis), -LogSumExp(X, int(axis)))
        return x
    if not isinstance(e, sp.Basic):
        return e
    return e.replace(lambda x: isinstance(x, (Take, Pick)) and isinstance(x.args[0], LogSoftmax), rewrite)


def _spread_to(lse, shape):
    if lse.shape == shape:
        return lse
    return MatMul(OneMatrix(shape[0], 1), lse) if shape[1] == 1 else MatMul(OneMatrix(shape[0], 1), lse,
                                                                             OneMatrix(1, shape[1]))


def _share_definitions(steps):
    """A later line that recomputes an earlier line's expression uses its name (dS uses P for
    softmax(S)); cheap expressions (one-hot matrices) stay inline, where they print best."""
    out = []
    known = []
    for name, expr, note in steps:
        for sym, value in known:
            expr = _replace(expr, value, sym)
        out.append((name, expr, note))
        if isinstance(expr, MatrixExpr) and _worth_naming(expr):
            known.append((MatrixSymbol(name, *expr.shape), expr))
    return [Step((n,), e, note) for n, e, note in out]


def _replace(expr, value, sym):
    """expr with value replaced by sym, also where value appears scaled (-A B is -1 times A B)."""
    if not isinstance(expr, sp.Basic) or expr == sym:
        return expr
    if expr == value:
        return sym
    out = expr.xreplace({value: sym})
    if isinstance(value, MatrixExpr) and value.shape[0] != value.shape[1]:
        out = out.xreplace({Transpose(value): Transpose(sym)})
    if isinstance(value, MatMul) and value.as_coeff_matrices()[0] == 1:
        def scaled(x):
            if not isinstance(x, MatMul):
                return None
            c, factors = x.as_coeff_matrices()
            return c if c != 1 and len(factors) > 1 and MatMul(*factors) == value else None
        out = out.replace(lambda x: scaled(x) is not None, lambda x: scaled(x) * sym)
    return out


_EXPENSIVE = (Softmax, LogSumExp, LogSoftmax, Sigmoid, LogSigmoid, Exp, Log, Tanh, Relu, Step, Power, HadamardProduct)


def _worth_naming(e) -> bool:
    if isinstance(e, _EXPENSIVE):
        return True
    if isinstance(e, MatMul):
        _, factors = e.as_coeff_matrices()
        mats = [f for f in factors if not isinstance(f, (OneMatrix, OneHot)) and f.shape != (1, 1)]
        return len(mats) >= 2
    if isinstance(e, Gather) and is_array(e.args[1]):
        return True
    if isinstance(e, MatAdd):
        return any(_worth_naming(a) for a in e.args)
    return False


def _hadamard_parts(steps):
    """E ⊙ E ⊙ F beside 2 (E ⊙ F): the first is (E ⊙ F) ⊙ E, so that E ⊙ F can be shared."""
    products = {x for s in steps for x in _subexpressions(s.expr) if isinstance(x, HadamardProduct)}
    for small in sorted(products, key=lambda h: len(h.args)):
        for big in products:
            if len(big.args) <= len(small.args):
                continue
            rest = list(big.args)
            try:
                for a in small.args:
                    rest.remove(a)
            except ValueError:
                continue
            whole = HadamardProduct(small, *rest)
            return _hadamard_parts([Step(s.names, _replace(s.expr, big, whole), s.note) for s in steps])
    return steps


def _common_subexpressions(steps, taken):
    """Compute once what several lines use: a repeated expensive subexpression gets a name,
    on a line before its first use."""
    steps = _hadamard_parts(steps)
    for _ in range(20):
        counts = Counter()
        for step in steps:
            for node in _subexpressions(step.expr):
                counts[node] += 1
        repeated = [e for e, n in counts.items() if n >= 2 and _worth_naming(e) and not isinstance(e, MatrixSymbol)]
        if not repeated:
            return steps
        # the largest first, so that its parts are not named for nothing
        e = max(repeated, key=lambda x: (sp.count_ops(x), sp.default_sort_key(x)))
        name = _identifier(_temp_name(e), taken)
        sym = MatrixSymbol(name, *e.shape)
        first = next(k for k, s in enumerate(steps) if any(node == e for node in _subexpressions(s.expr)))
        new = [Step(s.names, _replace(s.expr, e, sym), s.note) for s in steps]
        new.insert(first, Step((name,), e, "common subexpression"))
        steps = new
    return steps


def _subexpressions(e):
    """Every distinct-position subexpression (a node used twice in one expression counts twice)."""
    if not isinstance(e, sp.Basic):
        return
    if isinstance(e, sp.Tuple):
        for a in e.args:
            yield from _subexpressions(a)
        return
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, MatrixExpr):
            yield x
            if isinstance(x, MatMul):  # -A B contains A B
                c, factors = x.as_coeff_matrices()
                if c != 1 and len(factors) > 1:
                    yield MatMul(*factors)
            stack.extend(a for a in x.args if isinstance(a, sp.Basic))


def _temp_name(e) -> str:
    kinds = [(Softmax, "probs"), (LogSumExp, "lse"), (Sigmoid, "sig"), (LogSigmoid, "logsig"), (Exp, "exps"),
             (Log, "logs"), (Relu, "relu"), (Step, "mask"), (Gather, "picked"), (Tanh, "tanh"), (MatMul, "prod"),
             (HadamardProduct, "had")]
    for cls, name in kinds:
        if isinstance(e, cls):
            return name
    return "tmp"


def _fuse_softmax(steps, taken):
    """A softmax and the logsumexp of the same scores from one exp: one line for both."""
    steps = _name_inline_softmax(steps, taken)
    for k, step in enumerate(steps):
        if len(step.names) != 1 or not isinstance(step.expr, Softmax):
            continue
        X, axis = step.expr.args
        lse = LogSumExp(X, int(axis))
        users = [s for s in steps if not isinstance(s.expr, sp.Tuple)
                 and any(node == lse for node in _subexpressions(s.expr))]
        if not users:
            continue
        existing = next((s for s in steps if len(s.names) == 1 and s.expr == lse), None)
        name = existing.names[0] if existing else _identifier("lse", taken)
        sym = MatrixSymbol(name, *lse.shape)
        fused = Step((step.names[0], name), sp.Tuple(step.expr, lse), step.note)
        rest = [Step(s.names, _replace(s.expr, lse, sym), s.note) for s in steps if s is not existing]
        at = rest.index(next(s for s in rest if s.names == step.names))
        rest[at] = fused
        return _fuse_softmax(rest, taken)
    return steps


def _name_inline_softmax(steps, taken):
    """A softmax inside a line whose logsumexp is also needed gets a line of its own."""
    for step in steps:
        if isinstance(step.expr, sp.Tuple):
            continue
        for node in _subexpressions(step.expr):
            if isinstance(node, Softmax) and node != step.expr:
                lse = LogSumExp(*node.args)
                if any(x == lse for s in steps if not isinstance(s.expr, sp.Tuple) for x in _subexpressions(s.expr)):
                    name = _identifier("probs", taken)
                    sym = MatrixSymbol(name, *node.shape)
                    first = next(k for k, s in enumerate(steps) if any(x == node for x in _subexpressions(s.expr)))
                    new = [Step(s.names, _replace(s.expr, node, sym), s.note) for s in steps]
                    new.insert(first, Step((name,), node, "common subexpression"))
                    return _name_inline_softmax(new, taken)
    return steps


def _in_dependency_order(steps):
    """Every line after the lines it uses, otherwise in the order given (a stable topological
    sort): fusing a softmax with a log-sum-exp the loss line uses can leave the loss first."""
    defined_by = {name: k for k, step in enumerate(steps) for name in step.names}
    needs = [{defined_by[x.name] for x in _subexpressions(step.expr)
              if isinstance(x, MatrixSymbol) and defined_by.get(x.name, k) != k} for k, step in enumerate(steps)]
    done, order = set(), []
    while len(order) < len(steps):
        k = next((k for k in range(len(steps)) if k not in done and needs[k] <= done), None)
        if k is None:  # a cycle cannot come from the proved forms; keep the order rather than loop
            return steps
        done.add(k)
        order.append(steps[k])
    return order


def _no_aliases(steps, outputs):
    """'grad = dh' after 'dh = U @ ds': compute grad directly, when dh is used nowhere else."""
    out = list(steps)
    for k, step in enumerate(out):
        transposed = isinstance(step.expr, Transpose) and isinstance(step.expr.arg, MatrixSymbol)
        if step.names[0] not in outputs or not (isinstance(step.expr, MatrixSymbol) or transposed):
            continue
        source = step.expr.arg.name if transposed else step.expr.name
        users = [s for s in out if s is not step and any(isinstance(x, MatrixSymbol) and x.name == source
                                                         for x in _subexpressions(s.expr))]
        origin = next((q for q, s in enumerate(out) if s.names == (source,)), None)
        if origin is None or users:
            continue
        note = "; ".join(n for n in (out[origin].note, step.note) if n)
        # grad = dV.T after dV = U @ dS: grad = dS.T @ U.T, one product in the layout returned
        expr = tidy(Transpose(out[origin].expr)) if transposed else out[origin].expr
        out[origin] = Step(step.names, expr, note)
        out.pop(k)
        return _no_aliases(out, outputs)
    return out


def _index_arrays(model, f, binding):
    for arg in f.arguments:
        if arg in binding:
            target = binding[arg][0]
            if isinstance(model.inputs.get(target), IndexedBase):
                yield f"{arg} = np.asarray({arg}, dtype=np.intp)"


def _sizes(model, f, binding, rename, steps, prelude) -> list[str]:
    """Lines that read the sizes the code uses from the arguments' shapes."""
    used = set()
    code = "\n".join(_print_step(s, NumPyCode()) for s in steps)
    for name, sym in model.sizes.items():
        if _uses_name(code, name):
            used.add(name)
    lines, known = [], set(f.extra) | set(f.arguments)
    sources = []  # (argument, its shape over size names, is an index array)
    for arg in f.arguments:
        if arg not in binding:
            continue
        target, transposed = binding[arg]
        inp = model.spec.inputs.get(target)
        if inp is not None:
            shape = list(inp.shape)
        else:
            shape = [_size_name(d) for d in model.symbols[target].shape]
        shape = shape[::-1] if transposed else shape
        sources.append((arg, shape, inp is not None and inp.role == "index"))
    for name, inp in model.spec.inputs.items():  # arrays the prelude defines
        if rename.get(model.inputs[name]) is model.inputs[name] and inp.role == "index" and inp.shape:
            sources.append((name, list(inp.shape), True))
    for arg, shape, is_index in sorted(sources, key=lambda s: s[2]):
        wanted = [d for d in shape if isinstance(d, str) and d in used and d not in known]
        if not wanted:
            continue
        if is_index and len(shape) == 1:
            lines.append(f"{shape[0]} = len({arg})")
        elif len(shape) >= 2 and all(isinstance(d, str) and d not in known for d in shape) and \
                len(set(shape)) == len(shape) and set(shape) <= used | set(wanted):
            lines.append(f"{', '.join(shape)} = {arg}.shape")
        else:
            for d in wanted:
                lines.append(f"{d} = {arg}.shape[{shape.index(d)}]" if len(shape) > 1 else f"{d} = len({arg})")
        known |= set(d for d in shape if isinstance(d, str))
    return lines


def _size_name(d):
    return str(d)


def _uses_name(code: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![\w.'\"]){re.escape(name)}(?![\w'\"])", code) is not None


def _returns(f: FunctionSpec, gradient_names) -> str:
    parts = []
    for value in f.returns.names:
        if value == f.returns.loss:
            parts.append(value)
            continue
        keys = [(arg, local) for arg, (local, place) in gradient_names.items() if place.split(".")[0] == value]
        direct = [local for arg, (local, place) in gradient_names.items() if place == value]
        if direct:
            parts.append(direct[0])
        else:
            entries = ", ".join(f"{place.split('.', 1)[1]!r}: {local}" for arg, (local, place) in gradient_names.items()
                                if place.split(".")[0] == value)
            parts.append("{" + entries.replace("'", '"') + "}")
        del keys
    return ", ".join(parts)


# -- text ---------------------------------------------------------------------------------------------


def _print_step(step: Step, printer: NumPyCode) -> str:
    return f"{', '.join(step.names)} = {printer.doprint(step.expr)}"


def render_function(f: Function) -> str:
    printer = NumPyCode()
    lines = [f"def {f.name}({f.signature}):", f'    """{f.doc}'.replace("\n", "\n    ")]
    if f.claims:
        lines += ["", "    Proved (gradproof derive):"] + [f"        {c}" for c in f.claims]
    lines.append('    """')
    lines += [f"    {p}" for p in f.prelude]
    for step in f.steps:
        if step.note:
            lines.append(f"    # {step.note}")
        lines.append(f"    {_print_step(step, printer)}")
    lines.append(f"    return {f.returns}")
    return "\n".join(lines)


HEADER = '''\
# Generated by `{command}` from {sources}.
# Do not edit: a test fails when regenerating would change this file.
"""{doc}

Every line that computes a loss or a gradient names the gradproof claim or derived form that
proves it (``gradproof derive`` lists them).
"""
import numpy as np
'''


def module_text(models: list[Model], command: str = REGENERATE, doc: str | None = None) -> str:
    functions = [render_function(plan(m, f)) for m in models for f in m.spec.functions()]
    body = "\n\n\n".join(functions)
    code = "".join(m.spec.model.code for m in models if m.spec.model and m.spec.model.code)
    used = helpers(body + code)
    runtime = "".join("\n" + RUNTIME[name] for name in used)
    sources = ", ".join(_source(m) for m in models)
    titles = "; ".join(m.title for m in models)
    doc = doc or next((m.spec.model.doc.strip() for m in models if m.spec.model and m.spec.model.doc.strip()),
                      f"NumPy reference implementation: {titles}.")
    text = HEADER.format(command=command, sources=sources, doc=doc)
    text += runtime + "\n\n" + body + "\n"
    blocks = [m.spec.model.code.strip("\n") for m in models if m.spec.model and m.spec.model.code.strip()]
    if blocks:
        text += "\n\n" + "\n\n\n".join(blocks) + "\n"
    return text


def _source(model: Model) -> str:
    from .catalog import SHIPPED

    path = Path(model.path)
    try:
        return str(Path("derive") / "models" / path.resolve().relative_to(SHIPPED))
    except ValueError:
        return path.name


# -- the shipped modules ---------------------------------------------------------------------------


def shipped_modules() -> dict[str, list[str]]:
    """Package-relative path of each generated module -> the shipped models it is generated from."""
    from .catalog import names
    from .spec import load as load_spec

    out: dict[str, list[str]] = {}
    for name in names():
        spec = load_spec(Path(__file__).resolve().parent / "models" / f"{name}.toml")
        module = spec.model.module if spec.model and spec.model.module else f"generated/{name.replace('-', '_')}.py"
        out.setdefault(module, []).append(name)
    return out


def generate_shipped() -> dict[Path, str]:
    """The text of every shipped generated module, by its path in the installed package."""
    from .model import load

    root = Path(__file__).resolve().parent
    out = {}
    for module, names in shipped_modules().items():
        models = [load(n) for n in names]
        out[root / module] = module_text(models, REGENERATE)
    return out


def compiled_functions(model: Model) -> dict[str, object]:
    """The functions of a model's module by name: a shipped model's from its committed module
    (the code users import), any other model's generated afresh and compiled."""
    import importlib

    from .catalog import shipped

    home = shipped(model.name)
    if home is not None and Path(model.path).resolve() == home.resolve():
        for module, names in shipped_modules().items():
            if model.name in names:
                python = importlib.import_module("gradproof.derive." + module[:-3].replace("/", "."))
                return {f.name: getattr(python, f.name) for f in model.spec.declared() if hasattr(python, f.name)}
    namespace: dict[str, object] = {"__name__": f"gradproof_generated_{model.name.replace('-', '_')}"}
    exec(compile(module_text([model]), f"<generated from {model.path}>", "exec"), namespace)  # our own printed code
    return {f.name: namespace[f.name] for f in model.spec.declared() if f.name in namespace}
