"""What the grader hands a submission's function in place of the caller's objects, and computes itself:
a dataset whose sampler replays drawn values, and a callback (a function the function is handed) whose
calls the grader answers with the model's own functions, for the case's arguments only.  A callback
argument is declared in a model file (derive.spec: role "callback", with functions, call, samples,
left_out); verify.grade.from_model draws and passes it.
"""
from __future__ import annotations

import functools

import numpy as np

from .assignment import Case


class RanOut(Exception):
    """The function drew more values than the replayed dataset holds."""

    def __init__(self, drawn: int):
        self.drawn = drawn


class Replay:
    """A dataset whose sampler method hands out values in order (what the submission drew), under the
    sampler's name: an attribute of the instance, so one class serves every sampler name (a class made
    per call cost a class creation on every callback answer)."""

    def __init__(self, values: list, sampler: str):
        self._it, self._count = iter(values), 0
        setattr(self, sampler, self._sample)

    def _sample(self):
        try:
            value = next(self._it)
        except StopIteration:
            raise RanOut(self._count) from None
        self._count += 1
        return value


def case_value(spec, inp, rng: np.random.Generator, kind: str, index: int, sizes: dict, inputs: dict,
               source: dict) -> dict:
    """A callback argument of one case: the function it is (None: left out) and, with `samples`, the values a
    dataset holds in a call, fixed per index of the call's word list (never that index)."""
    function = inp.functions[index % len(inp.functions)] if kind == "hidden" else inp.functions[0]
    if kind == "hidden" and index + 1 in inp.left_out:
        function = None
    samples = {}
    words = [e for e in inp.call if "[" not in e and inputs[source[e]].role in ("word", "index")]
    if inp.samples is not None and words:
        high, count = spec.size(inputs[source[words[0]]].range, sizes), spec.size(inp.samples, sizes)
        samples = {o: [int(w) for w in rng.choice([i for i in range(high) if i != o], size=count)] for o in range(high)}
    return {"function": function, "samples": samples}


@functools.lru_cache(maxsize=64)
def _parameters(function) -> tuple[str, ...]:
    import inspect

    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def callee(function, inp, chosen: dict, inputs: dict, source: dict):
    """The grader's function for a callback's calls: the module's function, a dataset in the call replaced by
    the samples fixed for the call's index (and their number passed where the function takes it)."""
    entries = [e.rstrip("]").partition("[") for e in inp.call]
    index = next((k for k, (head, _, word) in enumerate(entries) if not word and head in source
                  and inputs[source[head]].role in ("word", "index")), None)
    datasets = [(k, inputs[source[head]].sampler) for k, (head, _, _) in enumerate(entries)
                if head in source and inputs[source[head]].role == "dataset"]
    takes_count = inp.samples in _parameters(function)

    def call(*args):
        args, keywords = list(args), {}
        if chosen["samples"] and index is not None and index < len(args):
            drawn = chosen["samples"][int(args[index])]
            for k, sampler in datasets:
                if k < len(args):
                    args[k] = Replay(drawn, sampler)
            if takes_count:
                keywords[inp.samples] = len(drawn)
        return function(*args, **keywords)
    return call


def answers(inputs: dict, source: dict, callbacks: tuple, arrays: tuple, module):
    """(case, arrays or None) -> the grader's answers to the child's calls of a callback's functions, but only
    for the arguments its `call` says (the case's arrays, or the gradient test's moved ones)."""
    def for_case(case: Case, moved: tuple | None = None):
        data = case.data if moved is None else {**case.data, **{source[a]: v for a, v in zip(arrays, moved)}}

        def answer(header: dict, got: list):
            name, args = header.get("name"), header.get("args")
            for a in callbacks:
                inp = inputs[source[a]]
                if name not in inp.functions or not isinstance(args, list):
                    continue
                values, k = [], 0
                for position, entry in enumerate(inp.call):
                    head, _, word = entry.rstrip("]").partition("[")
                    role = inputs[source[head]].role
                    if role == "dataset":
                        values.append(None)  # replaced by the callee
                        continue
                    if position >= len(args):
                        return None
                    if role in ("word", "index") and not word:  # one of the list's indices
                        value = args[position]
                        if type(value) is not int or value not in [int(i) for i in np.ravel(data[source[head]])]:
                            return None
                        values.append(value)
                        continue
                    want = data[source[head]]
                    want = want[int(data[source[word]])] if word else want
                    if args[position] != {"$a": k} or k >= len(got) or got[k].shape != np.shape(want) \
                            or not np.array_equal(got[k], want):
                        return None
                    values.append(got[k])
                    k += 1
                if k != len(got):
                    return None
                with np.errstate(all="ignore"):
                    out = callee(module()[name], inp, data[source[a]], inputs, source)(*values)
                return tuple(np.asarray(v, dtype=np.float64) for v in (out if isinstance(out, tuple) else (out,)))
            return None
        return answer
    return for_case
