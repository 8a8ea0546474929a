"""What an assignment asks for: each function's cases and its expected outputs, as data.

A function to grade is a `Function`: how to make a case (plain data: JSON-able arguments that
refer to arrays by position, {"$a": i}, and the arrays themselves), what the reference gives
for it (computed here in the grader, never in the child), and what the grader needs to judge
and explain it (its arguments' and outputs' names, which outputs are gradients of which array,
the suspects of its diagnoses).  Functions come from a rubric's [[function]] tables, each built from
a model file (verify.grade.from_model).  This module names no assignment.

Hidden cases are drawn from a seed the submission never sees, at sizes it cannot guess, so
hard-coded numbers fail.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# public: shown; hidden: randomized; large: values near overflow (stability); size: a hidden case at a
# size where a gradient taken numerically, coordinate by coordinate, cannot finish in the time limit
# while the analytic one takes milliseconds
KINDS = ("public", "hidden", "large", "size")
SIZE = (3000, 48)  # |V| x N: 144,000 coordinates, each a forward pass for a numerical gradient
BASE = "__base__"  # in a case judged by another accepted convention: its data as drawn
OVERFLOW = "an output is inf or NaN at large values, where the right answer is finite: a step overflows"


@dataclass(frozen=True)
class Case:
    function: str
    label: str          # "public case 1", "hidden case 3", "large scores"
    kind: str           # one of KINDS
    args: tuple         # JSON-able, arrays as {"$a": i}
    arrays: tuple       # the arrays the args refer to
    data: dict          # the same inputs by name, for the expected values and the diagnoses
    stand_ins: tuple = ()  # functions of the submission the grader computes instead during this call
    call: dict = dataclasses.field(default_factory=dict)  # a method's: {"method", "object", "kwargs", "optional"}


@dataclass(frozen=True, eq=False)  # compared by identity: cases are cached per function
class Function:
    name: str
    outputs: tuple[str, ...]
    make: Callable[[np.random.Generator, str, int], Case]  # (rng, kind, index among the kind's cases)
    expected: Callable[[Case, tuple[int, ...]], tuple[np.ndarray, ...] | str]  # str: why none can be given
    convention: str = "course"
    sized: bool = False  # has a case of kind "size"
    arguments: tuple[str, ...] = ()   # the name of each of a case's arrays, in order (for messages)
    roles: tuple[str, ...] = ()       # each output's role, as the suspects name it (default: its name)
    gradients: tuple[tuple[int, int], ...] = ()  # (array, output): output is the loss's gradient wrt that array
    loss: int = 0                     # the output that is the loss
    suspects: tuple = ()              # diagnose.Suspect: known mistakes and what they produce
    overflow: str = OVERFLOW          # what a non-finite output at large values means
    words: Callable[[Case], dict] | None = None  # how messages name a slice of an output ({row}, {at}, ...)
    callback: Callable | None = None  # (case, arrays or None) -> answers to the child's stand-in calls
    arity: int | None = None          # values the function returns, if not one per output (a dict of several)
    paths: tuple | None = None        # where each output sits in what is returned: (index, key, ...)
    mutants: Callable | None = None   # (case, role) -> ((message, value), ...): mistakes derived from the model
    variants: tuple = ()              # other accepted conventions: each case.data -> the data judged instead
    large_label: str = "large scores"  # what the large-value case is called in feedback (or "inputs at 0")
    samplers: tuple[str, ...] = ()    # the sampler methods of its dataset arguments (the plugin's default)
    may_change: tuple[str, ...] = ()  # arguments it may change in place (a backward pass consuming its dout):
    # the hygiene test tells the student, without failing the case

    @property
    def returns(self) -> int:
        return self.arity if self.arity is not None else len(self.outputs)

    def role(self, index: int) -> str:
        return self.roles[index] if index < len(self.roles) else self.outputs[index]

    def argument(self, index: int) -> str:
        return self.arguments[index] if index < len(self.arguments) else f"array {index}"


def cases(function: Function, kind: str, count: int, seed: int) -> list[Case]:
    """count cases of one kind, each from its own stream of (seed, function, kind, i)."""
    return list(_cases(function, kind, count, seed))


@functools.lru_cache(maxsize=64)
def _cases(function: Function, kind: str, count: int, seed: int) -> tuple[Case, ...]:
    """Made once per seed: a class is graded on one seed, and the full-size cases cost more to draw than
    to grade.  Their arrays are read-only, so no grading of one submission can change another's cases."""
    tag = sum(map(ord, function.name)) * 7919 + KINDS.index(kind)
    made = []
    for i in range(count):
        rng = np.random.default_rng([seed, tag, i])
        label = {"large": function.large_label, "size": "hidden case at full size"}.get(kind, f"{kind} case {i + 1}")
        case = dataclasses.replace(function.make(rng, kind, i), label=label)
        for value in list(case.arrays) + list(case.data.values()):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        made.append(case)
    return tuple(made)


def __getattr__(name: str):
    """FUNCTIONS: every function of the shipped assignments, by name (read from their rubrics)."""
    if name == "FUNCTIONS":
        from .rubric import shipped_functions
        return shipped_functions()
    raise AttributeError(name)
