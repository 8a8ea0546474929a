"""A rubric's own mistakes, as data: what an output would be with a mistake students make, written as a
small NumPy expression over the case's inputs and the expected outputs, and what to tell the student.

    [[function.suspect]]
    output = "dW"
    message = "the -y term is missing from {name}: the true class's {row} needs -x"
    value = "dW + outer(x, onehot(y, C))"

and, per function, names computed first from the others (`let = { w = "first(without(dataset, o), K)" }`).

The expression is read with Python's own parser and evaluated from its syntax tree by the rules below
(numbers, the names of the case's inputs and arguments and of the function's outputs, + - * / @ and unary
minus, .T, indexing with numbers and names, and the functions of FUNCTIONS): nothing else runs, so a
rubric stays data.  Computed in the grader on the expected values, never shown for hidden cases; only the
message is (verify.grade.diagnose).
"""
from __future__ import annotations

import ast
import operator
import string

import numpy as np

from .diagnose import Suspect


class SuspectError(Exception):
    """A suspect that cannot be used (the message says why, in one line)."""


def _onehot(index, n):
    out = np.zeros(int(n))
    out[int(index)] = 1.0
    return out


def _scatter(index, rows, n):
    """An n-row array with each of rows added into the row its index names (repeats add up: np.add.at)."""
    rows = np.asarray(rows, dtype=float)
    out = np.zeros((int(n),) + rows.shape[1:])
    np.add.at(out, np.asarray(index, dtype=np.intp), rows)
    return out


FUNCTIONS = {
    "onehot": _onehot,                                   # onehot(i, n): the unit vector e_i of length n
    "outer": np.outer,                                   # outer(a, b) = a b^T
    "reshape": lambda x, shape: np.reshape(x, shape),    # the same entries in another shape
    "shape": np.shape,
    "rows": lambda x: np.shape(x)[0],                    # the number of rows (the first axis)
    "zeros_like": np.zeros_like,
    "sum": np.sum,
    "log": np.log,
    "logistic": lambda x: 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float))),  # 1 / (1 + exp(-x))
    "scatter": _scatter,                                 # scatter(index, rows, n): rows added into an n-row array
    "without": lambda values, x: [v for v in values if v != x],  # a list without the entries equal to x
    "first": lambda values, n: list(values)[:int(n)],    # its first n entries
    "unique": lambda values: sorted(set(int(v) for v in values)),  # its distinct entries, in order
}
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.MatMult: operator.matmul}
WORDS = ("name", "row", "at", "moved")  # what a message may name: the output, and the function's words


def compile_suspects(function: str, suspects: tuple, lets: tuple, known: set[str], aliases: dict[str, str],
                     datasets: tuple[str, ...] = ()) -> tuple[Suspect, ...]:
    """The Suspects of function, from (output, message, value) triples; lets: (name, value) pairs computed
    first, in order, each from the names before it (w = the samples a correct sampler keeps); known: the
    names of the case's inputs and of the function's outputs; aliases: more names for some of them (an
    argument -> the input it is); datasets: the inputs that are datasets, in the order of the call's draws
    (there, a dataset's name stands for the values the submission drew from it)."""
    known = set(known) | set(aliases)
    steps = []
    for name, value in lets:
        if not name.isidentifier() or name in FUNCTIONS:
            raise SuspectError(f"let: '{name}' cannot be a name (a Python identifier, not one of the functions)")
        steps.append((name, _parse(value, known)))
        known.add(name)
    out = []
    for output, message, value in suspects:
        tree = _parse(value, known)
        fields = {f for _, f, _, _ in string.Formatter().parse(message) if f is not None}
        if not fields <= set(WORDS):
            raise SuspectError(f"message names {{{sorted(fields - set(WORDS))[0]}}}; it may name only "
                               + ", ".join("{" + w + "}" for w in WORDS))
        out.append(Suspect((function,), output, message, _candidate(tree, tuple(steps), aliases, datasets)))
    return tuple(out)


def compile_expression(value: str, known: set[str]):
    """A checked expression over the names known (for evaluate), or SuspectError."""
    return _parse(value, known)


def _parse(value: str, known: set[str]):
    try:
        tree = ast.parse(value, mode="eval").body
    except SyntaxError as e:
        raise SuspectError(f"value {value!r} is not an expression ({e.msg})") from None
    _check(tree, known, value)
    return tree


def _candidate(tree, steps: tuple, aliases: dict, datasets: tuple):
    def candidate(case, expected, drawn):
        names = {**case.data, **expected}
        names.update({alias: names[name] for alias, name in aliases.items() if name in names})
        for k, name in enumerate(datasets):  # what the submission drew (all of it, if that is not known)
            if k < len(drawn):
                names[name] = list(names[name])[:drawn[k]]
        for name, step in steps:
            names[name] = evaluate(step, names)
        return evaluate(tree, names)
    return candidate


def _check(node, known: set[str], text: str) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in known and sub.id not in FUNCTIONS:
            raise SuspectError(f"value {text!r}: unknown name '{sub.id}' (known: {', '.join(sorted(known))}, and "
                               f"the functions {', '.join(FUNCTIONS)})")
        allowed = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd,
                   ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple, ast.Call, *BINARY)
        if not isinstance(sub, allowed):
            raise SuspectError(f"value {text!r}: {type(sub).__name__} is not allowed (numbers, names, + - * / @, .T, "
                               "indexing and the listed functions only)")
        if isinstance(sub, ast.Attribute) and sub.attr != "T":
            raise SuspectError(f"value {text!r}: .{sub.attr} is not allowed (only .T)")
        if isinstance(sub, ast.Call) and (not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS or sub.keywords):
            raise SuspectError(f"value {text!r}: only the functions {', '.join(FUNCTIONS)} may be called, "
                               "with positional arguments")
        if isinstance(sub, ast.Constant) and not isinstance(sub.value, (int, float)) or isinstance(sub, ast.Constant) \
                and isinstance(sub.value, bool):
            raise SuspectError(f"value {text!r}: only numbers may be written as constants")


def evaluate(node, names: dict):
    """The value of a checked expression with these names (a KeyError, ValueError, IndexError or TypeError
    where the case has no such value: the suspect is then skipped)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return FUNCTIONS[node.id] if node.id in FUNCTIONS and node.id not in names else names[node.id]
    if isinstance(node, ast.UnaryOp):
        value = evaluate(node.operand, names)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        return BINARY[type(node.op)](evaluate(node.left, names), evaluate(node.right, names))
    if isinstance(node, ast.Attribute):
        return np.asarray(evaluate(node.value, names)).T
    if isinstance(node, ast.Subscript):
        return np.asarray(evaluate(node.value, names))[evaluate(node.slice, names)]
    if isinstance(node, ast.Slice):
        return slice(*(None if part is None else evaluate(part, names) for part in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Tuple):
        return tuple(evaluate(e, names) for e in node.elts)
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*(evaluate(a, names) for a in node.args))
    raise TypeError(type(node).__name__)
