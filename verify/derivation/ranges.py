"""How far an index runs, read from what it indexes; and whether a derivative can be taken.

An index letter's range is the length of the axis it subscripts: w in u_w runs over U's
columns, i in y_i over y's entries, k in w_k over the index array's entries.  A derivative
of a quantity the document never defines, with respect to something else (d theta / d v_c
with theta undefined), would be 0 by default and prove anything: it is refused instead.
"""
from __future__ import annotations

from lark import Token, Tree

from .evaluate import CannotCheck, Env, ShapeError, _is_matrix, _letters, _shown


def index_sizes(tree, evaluator, env: Env) -> dict[str, list[int]]:
    """For each index letter used as a subscript in tree, the sizes of the axes it indexes."""
    out: dict[str, list[int]] = {}
    if not isinstance(tree, Tree):
        return out
    for node in tree.iter_subtrees():
        if node.data == "component":
            try:
                value = evaluator.value(node.children[0], env)
            except (CannotCheck, ShapeError, ArithmeticError, LookupError, TypeError, ValueError):
                continue
            letters = _letters(node.children[1])
            if _is_matrix(value):
                axes = [max(value.shape)] if 1 in value.shape else list(value.shape)
                for letter, size in zip(letters, axes):
                    if isinstance(letter, str):
                        out.setdefault(letter, []).append(size)
            continue
        if node.data in ("delta", "delta2"):
            continue
        if node.data != "symbol":
            continue
        name = node.children[0].value
        letters = []
        for g in (c for c in node.children[1:] if isinstance(c, Tree)):
            letters += _letters(g)
        if not letters:
            continue
        for letter, size in zip(letters, axes_of(name, len(letters), evaluator, env)):
            if isinstance(letter, str) and size:
                out.setdefault(letter, []).append(size)
        for letter in letters:
            if isinstance(letter, tuple) and letter[0] in evaluator.model.samples:  # k in w_k runs over w
                for inner in letter[1]:
                    if isinstance(inner, str):
                        out.setdefault(inner, []).append(len(evaluator.model.samples[letter[0]]))
    # \delta_{ik}: k runs as far as i does
    for node in tree.iter_subtrees():
        if node.data in ("delta", "delta2"):
            letters = _letters(node.children[0]) if node.data == "delta" else [t.value for t in node.children]
            letters = [x for x in letters if isinstance(x, str)]
            known = [out[x] for x in letters if x in out]
            if known:
                for x in letters:
                    out.setdefault(x, list(known[0]))
    return out


def axes_of(name: str, count: int, evaluator, env: Env) -> list[int | None]:
    ctx, model = evaluator.ctx, evaluator.model
    if name in env.bound:
        value = env.bound[name]
        return _axes_of_value(value, count)
    definition = ctx.definition(name, env.position)
    if definition is not None:
        if definition.kind == "component":
            size = letter_range(evaluator, definition, env)
            return [size] + [None] * (count - 1)
        if definition.kind == "value":
            try:
                value = evaluator.definition_value(definition, replace_stop(env))
            except (CannotCheck, ShapeError, ArithmeticError, LookupError, TypeError, ValueError):
                return [None] * count
            return _axes_of_value(value, count)
    if name in model.primitives:
        return _axes_of_value(model.primitives[name], count)
    family = ctx.families.get(name)
    if family is not None and family.matrix in model.primitives or (family and ctx.definition(family.matrix, 0)):
        try:
            matrix = evaluator.symbol_value(family.matrix, [], replace_stop(env))
        except (CannotCheck, ShapeError):
            return [None] * count
        if not _is_matrix(matrix):
            return [None] * count
        rows, cols = matrix.shape
        if count == 1:
            return [cols if family.axis == "column" else rows]
        axes = [rows, cols] if family.axis == "column" else [cols, rows]
        return axes if family.entry == "row-first" else axes[::-1]
    return [None] * count


def replace_stop(env: Env) -> Env:
    from dataclasses import replace

    return replace(env, stop=frozenset())


def _axes_of_value(value, count: int) -> list[int | None]:
    if not _is_matrix(value):
        return [None] * count
    if 1 in value.shape and count == 1:
        return [max(value.shape)]
    return list(value.shape)[:count] + [None] * max(0, count - 2)


def letter_range(evaluator, definition, env: Env) -> int | None:
    """The range of a component definition's index: a_j = e^{z_j} / sum_k e^{z_k} runs j over z."""
    if not definition.params:
        return None
    key = ("#range", definition.name, definition.position)
    cache = evaluator.model.expanded
    if key in cache:
        return cache[key]
    cache[key] = None  # a definition that needs its own range to find it has none
    tree = evaluator.definition_tree(definition)
    inner = Env(dict(env.values), env.stop, env.bound, definition.position if definition.position >= 0 else env.position,
                env.layout)
    sizes = index_sizes(tree, evaluator, inner).get(definition.params[0])
    result = min(sizes) if sizes else None
    if result is None and definition.name in evaluator.ctx.arrays:  # y_w = 1 for w = o: y's length
        a = evaluator.ctx.arrays[definition.name]
        result = evaluator.model.dim(a.rows if a.cols == "1" else a.cols)
    if result is None and definition.params[0] in evaluator.ctx.particular:
        size_name = evaluator.ctx.particular[definition.params[0]]
        result = evaluator.ctx.size(size_name) if size_name else None
    if result is None:  # y_w = 1 if w = o, 0 if w \neq o: w runs over what the particular o is one of
        result = _compared_range(tree, definition.params[0], evaluator.ctx)
    cache[key] = result
    return result


def _compared_range(tree, letter: str, ctx) -> int | None:
    """The size a letter runs over when a case compares it with a particular index (w = o)."""
    if not isinstance(tree, Tree):
        return None
    for node in tree.iter_subtrees():
        if node.data not in ("case_equal", "case_not_equal"):
            continue
        names = [c.children[0].value for c in node.children[1:]
                 if isinstance(c, Tree) and c.data == "symbol" and len(c.children) == 1]
        if letter in names:
            for other in names:
                if other != letter and ctx.particular.get(other):
                    size = ctx.size(ctx.particular[other])
                    if size:
                        return size
    return None


def dependence(evaluator, numerator, variable: str, env: Env) -> str | None:
    """A reason the derivative of numerator by variable cannot be taken, or None."""
    ctx = evaluator.ctx
    if not ctx.dependent:
        return None
    for name in sorted(_names_through(evaluator, numerator, env.position, set())):
        if name in ctx.dependent and name != variable:
            return (f"{_shown(name)} is not defined, so how it depends on {_shown(variable)} is unknown "
                    f"(the derivation differentiates it)")
    return None


def _names_through(evaluator, tree, position: int, seen: set[str]) -> set[str]:
    """The names a tree uses, through the definitions it refers to."""
    out: set[str] = set()
    if isinstance(tree, Token):
        return out
    for node in tree.iter_subtrees():
        if node.data in ("symbol", "call"):
            name = node.children[0].value
            if node.data == "symbol":
                from .infer import _symbol_parts, entry_name

                parts = _symbol_parts(node)
                name = entry_name(evaluator.ctx, *parts) if parts else name  # z_2: a name of its own
            out.add(name)
            definition = evaluator.ctx.definition(name, position)
            if definition is not None and name not in seen:
                seen.add(name)
                try:
                    out |= _names_through(evaluator, evaluator.parse(definition.latex), position, seen)
                except Exception:  # a definition that does not parse names nothing more
                    pass
            family = evaluator.ctx.families.get(name)
            if family is not None:
                out.add(family.matrix)
    return out
