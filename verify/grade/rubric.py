"""The rubric: which functions, which tests, worth how much, seen by whom, at what tolerance; read
from TOML.

An assignment is data: its rubric's [[function]] tables name each function to grade and the model
file it comes from (verify.grade.from_model: cases, expected values, the gradient and large-value
tests from the model), with what the rubric adds (sizes, suspects, ...).  A rubric without [[function]] tables
grades the functions of the shipped assignment it names (`assignment`, word2vec by default).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from gradproof.derive import toml
from gradproof.derive.spec import _Locator

from . import compat as compat_names
from . import from_model
from .assignment import Function
from .confine import Limits

CHECKS = ("values", "large", "gradient", "hygiene")
VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
SHIPPED = Path(__file__).parent / "rubrics"


class RubricError(Exception):
    """A rubric that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Test:
    name: str
    function: str
    check: str
    points: float
    outputs: tuple[str, ...]
    visibility: str = "visible"
    partial: bool = True   # points in proportion to the cases passed


@dataclass(frozen=True)
class Rubric:
    assignment: str
    file: str
    tests: tuple[Test, ...]
    support: tuple[str, ...] = ()
    timeout: float = 10.0
    hidden_cases: int = 4
    public_cases: int = 1
    rtol: float = 1e-5
    atol: float = 1e-8
    hidden_seed: int | None = None
    limits: Limits = Limits()
    budget: float = 120.0              # wall-clock seconds for one submission, all its calls together
    size_timeout: float = 1.0          # wall-clock seconds for the call of a full-size case
    packages: tuple[str, ...] = ()     # importable besides the standard library and numpy (scipy, ...)
    source: str = ""
    # name -> assignment.Function: code, left out of repr (a rubric's fingerprint, batch.py) and of
    # comparisons; `declared` stands for it there: each [[function]] table as written
    functions: dict = field(default_factory=dict, compare=False, repr=False)
    declared: tuple = ()
    files: tuple[str, ...] = ()        # the model files its [[function]] tables name beside it
    compat: tuple[str, ...] = ()       # old names provided in the sandbox (verify.grade.compat: numpy1, python2)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def shipped() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def load(path: str | None = None, assignment: str = "word2vec") -> Rubric:
    if path is None:
        if assignment not in shipped():
            raise RubricError(f"unknown assignment '{assignment}' (known: {', '.join(shipped())})")
        path = str(SHIPPED / f"{assignment}.toml")
    try:
        data, text = toml.read(path)
    except toml.TomlFileError as e:
        raise RubricError(f"rubric {e}") from None
    return parse(data, path, text)


@functools.lru_cache(maxsize=1)
def shipped_functions() -> dict[str, Function]:
    """Every function of the shipped assignments, by name."""
    out: dict[str, Function] = {}
    for name in shipped():
        out.update(load(assignment=name).functions)
    return out


def parse(data: dict, where: str, text: str = "") -> Rubric:
    at = _Locator(where, text)
    tests = data.get("test")
    if not isinstance(tests, list) or not tests:
        raise RubricError(f"{where}: no [[test]] entries")
    known = {f.name for f in fields(Rubric)} - {"functions", "declared", "files", "source", "tests"} | {"test", "function"}
    for key in data:
        if key not in known:
            raise RubricError(f"{_at(at, None, key)}: unknown key '{key}' (known: {', '.join(sorted(known))})")
    limits = data.get("limits", {})
    try:
        limits = Limits(**limits)
    except TypeError:
        raise RubricError(f"{_at(at, 'limits', None)}: [limits] takes {', '.join(f.name for f in fields(Limits))}") from None
    base = Path(where).parent
    functions, default_file = _functions(data, at, base)
    rubric = Rubric(
        assignment=str(data.get("assignment", Path(where).stem)), file=str(data.get("file", default_file)),
        tests=tuple(_test(t, i + 1, at, functions) for i, t in enumerate(tests)),
        support=tuple(str((base / s).resolve()) for s in data.get("support", [])),
        timeout=_number(data, "timeout", 10.0, at, positive=True), hidden_cases=int(_number(data, "hidden_cases", 4, at)),
        public_cases=int(_number(data, "public_cases", 1, at)),
        rtol=_number(data, "rtol", 1e-5, at), atol=_number(data, "atol", 1e-8, at),
        hidden_seed=data.get("hidden_seed"), limits=limits,
        budget=_number(data, "budget", 120.0, at, positive=True),
        size_timeout=_number(data, "size_timeout", 1.0, at, positive=True), packages=_packages(data, at),
        source=str(where), functions=functions, declared=_declared(data), files=_beside(data, base),
        compat=_compat(data, at))
    if rubric.hidden_seed is not None and type(rubric.hidden_seed) is not int:
        raise RubricError(f"{_at(at, None, 'hidden_seed')}: hidden_seed must be an integer")
    if rubric.budget < rubric.timeout:
        raise RubricError(f"{_at(at, None, 'budget')}: 'budget' ({rubric.budget:g} s for a whole submission) is less "
                          f"than 'timeout' ({rubric.timeout:g} s for one call)")
    return rubric


def _beside(data: dict, base: Path) -> tuple[str, ...]:
    """The files the [[function]] tables name that sit beside the rubric (what an autograder zip must carry)."""
    out = []
    for entry in data.get("function") or []:
        name = entry.get("model") if isinstance(entry, dict) else None
        if isinstance(name, str) and (base / name).is_file() and str((base / name).resolve()) not in out:
            out.append(str((base / name).resolve()))
    return tuple(out)


def _declared(data: dict) -> tuple:
    """The [[function]] tables (or the assignment they come from), as plain sorted text."""
    entries = data.get("function")
    if entries is None:
        return (f"functions of {data.get('assignment', 'word2vec')}",)
    return tuple(repr(sorted(entry.items())) for entry in entries)


def _at(at: _Locator, table, key) -> str:
    """file:line of a table (or ("test", n) for the n-th [[test]]) or a top-level key, as far as it is found."""
    line = at.line(table, key) if table is not None else _top_line(at, key)
    return f"{at.where}:{line}" if line else at.where


def _top_line(at: _Locator, key: str) -> int | None:
    for i, line in enumerate(at.lines):
        if line.lstrip().startswith("["):
            return None
        if line.split("=")[0].strip() == key:
            return i + 1
    return None


FUNCTION_KEYS = {"name", "model", "like", "sizes", "large", "accept", "scale", "arguments", "attributes",
                 "optional", "returns", "pack", "large_label", "full_size", "public_sizes", "overflow", "suspect", "let",
                 "ranks", "large_values", "names", "moved", "may_change"}


def _functions(data: dict, at: _Locator, base: Path) -> tuple[dict[str, Function], str]:
    """The functions the rubric declares (and the file students hand in, if the rubric does not say):
    its [[function]] tables, else those of the shipped assignment it names."""
    entries = data.get("function")
    if entries is None:
        name = str(data.get("assignment", "word2vec"))
        if name not in shipped():
            raise RubricError(f"{_at(at, None, 'assignment')}: no [[function]] tables, and '{name}' is not a shipped "
                              f"assignment whose functions it could grade (shipped: {', '.join(shipped())})")
        inherited = load(assignment=name)
        return inherited.functions, inherited.file
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RubricError(f"{_at(at, None, 'function')}: 'function' must be [[function]] tables")
    out: dict[str, Function] = {}
    for i, entry in enumerate(entries):
        where = _at(at, ("function", i), None)
        name = entry.get("name")
        if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")) or name.count(".") > 1:
            raise RubricError(f"{where}: a [[function]] needs a name (a Python identifier, or Class.method)")
        unknown = sorted(set(entry) - FUNCTION_KEYS)
        if unknown:
            raise RubricError(f"{_at(at, ('function', i), unknown[0])}: [[function]] '{name}': unknown key '{unknown[0]}' "
                              f"(known: {', '.join(sorted(FUNCTION_KEYS))})")
        if name in out:
            raise RubricError(f"{where}: function '{name}' is declared twice")
        if "model" not in entry:
            raise RubricError(f"{where}: [[function]] '{name}' needs model = \"NAME or FILE\" (the model file it is "
                              "graded from)")
        out[name] = _modelled(entry, name, base, at, i)
    return out, "submission.py"


def _modelled(entry: dict, name: str, base: Path, at: _Locator, index: int) -> Function:
    model = entry["model"]
    if not isinstance(model, str):
        raise RubricError(f"{_at(at, ('function', index), 'model')}: model must be a shipped model's name or a file")
    like = entry.get("like", name)
    sizes, large = entry.get("sizes", {}), entry.get("large", {})
    if not isinstance(like, str):
        raise RubricError(f"{_at(at, ('function', index), 'like')}: like must name a function of the model")
    if not isinstance(sizes, dict) or not all(isinstance(v, list) and len(v) == 2 and all(type(n) is int and n >= 1 for n in v)
                                              and v[0] <= v[1] for v in sizes.values()):
        raise RubricError(f"{_at(at, ('function', index), 'sizes')}: sizes must map each size to [low, high], whole "
                          "numbers from 1 with low <= high")
    large = {k: v if isinstance(v, list) else [v] for k, v in large.items()} if isinstance(large, dict) else None
    if large is None or not all(v and _numbers(v) for v in large.values()):
        raise RubricError(f"{_at(at, ('function', index), 'large')}: large must map inputs (or entries of one, "
                          "\"X[:, 0]\") to the value they take in the large-value case, or a list of values")
    accept = entry.get("accept", {})
    if not isinstance(accept, dict) or not all(isinstance(v, list) and v and _numbers(v) for v in accept.values()):
        raise RubricError(f"{_at(at, ('function', index), 'accept')}: accept must map scalar inputs to lists of "
                          "the multiples accepted (reg = [1.0, 0.5]: reg |W|^2 or 0.5 reg |W|^2)")
    scale = entry.get("scale", {})
    if not isinstance(scale, dict) or not all(_numbers([v]) and v > 0 for v in scale.values()):
        raise RubricError(f"{_at(at, ('function', index), 'scale')}: scale must map inputs to the positive standard "
                          "deviation their entries are drawn with")
    full_size, public_sizes = entry.get("full_size", {}), entry.get("public_sizes", {})
    if not isinstance(full_size, dict) or not all(type(v) is int and v >= 1 for v in full_size.values()):
        raise RubricError(f"{_at(at, ('function', index), 'full_size')}: full_size must map sizes to whole numbers "
                          "(one more hidden case at that size, where a gradient taken numerically cannot finish)")
    if not isinstance(public_sizes, dict) or not all(type(v) is int and v >= 1 for v in public_sizes.values()):
        raise RubricError(f"{_at(at, ('function', index), 'public_sizes')}: public_sizes must map sizes to whole "
                          "numbers (the public case's; default: the model file's own)")
    overflow = entry.get("overflow")
    if overflow is not None and not (isinstance(overflow, str) and overflow.strip()):
        raise RubricError(f"{_at(at, ('function', index), 'overflow')}: overflow must be the message for an output "
                          "that is not finite at large values")
    ranks = entry.get("ranks", {})
    if not isinstance(ranks, dict) or not all(isinstance(v, list) and len(v) == 2 and all(type(n) is int and n >= 1 for n in v)
                                              and v[0] <= v[1] for v in ranks.values()):
        raise RubricError(f"{_at(at, ('function', index), 'ranks')}: ranks must map inputs to [low, high], the "
                          "numbers of their last dimensions a case keeps (whole numbers from 1, low <= high)")
    large_values = entry.get("large_values", {})
    if not isinstance(large_values, dict) or not all(isinstance(v, list) and v and _numbers(v)
                                                     for v in large_values.values()):
        raise RubricError(f"{_at(at, ('function', index), 'large_values')}: large_values must map inputs to the "
                          "list of values each is, exactly, in the large-value case")
    names = entry.get("names", {})
    if not isinstance(names, dict) or not all(isinstance(v, str) and v.strip() for v in names.values()):
        raise RubricError(f"{_at(at, ('function', index), 'names')}: names must map outputs to what feedback "
                          "calls them")
    call = _method(entry, name, at, index)
    options = from_model.Options(name, str(from_model.model_path(model, base)), like,
                                 tuple((k, v[0], v[1]) for k, v in sizes.items()),
                                 tuple((k, tuple(float(x) for x in v)) for k, v in large.items()),
                                 tuple((k, tuple(float(x) for x in v)) for k, v in accept.items()),
                                 tuple((k, float(v)) for k, v in scale.items()), *call,
                                 large_label=str(entry.get("large_label", "large scores"))[:80],
                                 full_size=tuple(full_size.items()), public_sizes=tuple(public_sizes.items()),
                                 overflow=overflow,
                                 suspects=_suspects(entry, name, at, index), let=_let(entry, name, at, index),
                                 ranks=tuple((k, v[0], v[1]) for k, v in ranks.items()),
                                 large_values=tuple((k, tuple(float(x) for x in v)) for k, v in large_values.items()),
                                 names=tuple(names.items()), moved=_moved(entry, name, at, index),
                                 may_change=_may_change(entry, name, at, index))
    try:
        function = from_model.build(options)
    except from_model.ModelFunctionError as e:
        raise RubricError(f"{_at(at, ('function', index), 'model')}: [[function]] '{name}': {e}") from None
    strange = [a for a in function.may_change if a not in function.arguments]
    if strange:
        raise RubricError(f"{_at(at, ('function', index), 'may_change')}: [[function]] '{name}': may_change names "
                          f"'{strange[0]}', not one of its arguments ({', '.join(function.arguments)})")
    return function


def _suspects(entry: dict, name: str, at: _Locator, index: int) -> tuple:
    """[[function.suspect]] tables: (output, message, value, call, when_left_out) of each mistake the rubric
    names itself: value an expression, or call a table (the function called with the case's arguments, some
    changed); when_left_out: tried only on cases that leave that callback argument out."""
    tables = entry.get("suspect", [])

    def usable(t) -> bool:
        if not isinstance(t, dict) or not {"output", "message"} <= set(t) or ("value" in t) == ("call" in t) \
                or not set(t) <= {"output", "message", "value", "call", "when_left_out"}:
            return False
        call = t.get("call", {})
        return all(isinstance(t[k], str) and t[k] for k in ("output", "message", "value", "when_left_out") if k in t) \
            and isinstance(call, dict) and all(isinstance(v, str) and v for v in call.values())
    if not isinstance(tables, list) or not all(usable(t) for t in tables):
        raise RubricError(f"{_at(at, ('function', index), None)}: [[function]] '{name}': each [[function.suspect]] "
                          "needs output (an output's name), message (what to tell the student, {name} for the "
                          "output's) and either value (what the output is with that mistake: an expression) or call "
                          "(a table: function = a function of the model's module or module.function, called with the "
                          "case's arguments, and ARGUMENT = an expression or a callback's function for those changed); "
                          "when_left_out = a callback argument: tried only where it is left out")
    return tuple((t["output"], t["message"], t.get("value"), tuple(sorted(t.get("call", {}).items())),
                  t.get("when_left_out")) for t in tables)


def _may_change(entry: dict, name: str, at: _Locator, index: int) -> tuple[str, ...]:
    names = entry.get("may_change", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise RubricError(f"{_at(at, ('function', index), 'may_change')}: [[function]] '{name}': may_change must list "
                          "the arguments the function may change in place (told, not deducted)")
    return tuple(names)


def _moved(entry: dict, name: str, at: _Locator, index: int) -> str | None:
    moved = entry.get("moved")
    if moved is not None and not (isinstance(moved, str) and moved.strip()):
        raise RubricError(f"{_at(at, ('function', index), 'moved')}: [[function]] '{name}': moved must say where a "
                          "gradient's values found in another row belong (feedback)")
    return moved


def _let(entry: dict, name: str, at: _Locator, index: int) -> tuple:
    let = entry.get("let", {})
    if not isinstance(let, dict) or not all(isinstance(v, str) and v for v in let.values()):
        raise RubricError(f"{_at(at, ('function', index), 'let')}: [[function]] '{name}': let must map names to "
                          "expressions the suspects use (w = \"first(without(dataset, o), K)\")")
    return tuple(let.items())


def _method(entry: dict, name: str, at: _Locator, index: int) -> tuple:
    """(arguments, attributes, optional) of a [[function]]: what the call passes, and for Class.method the
    object's attributes and the keywords passed only where the method takes them."""
    arguments = entry.get("arguments")
    if arguments is not None and not (isinstance(arguments, list) and all(isinstance(a, str) for a in arguments)):
        raise RubricError(f"{_at(at, ('function', index), 'arguments')}: arguments must be a list of the model's inputs")
    attributes, optional = entry.get("attributes", {}), entry.get("optional", {})
    if ("attributes" in entry or "optional" in entry) and "." not in name:
        raise RubricError(f"{_at(at, ('function', index), None)}: attributes and optional are for a method "
                          "(name = \"Class.method\")")
    if not _names_or_lists(attributes):
        raise RubricError(f"{_at(at, ('function', index), 'attributes')}: attributes must map each attribute to an "
                          "input, or to a list of inputs (a dict of them: params = [\"W1\", \"b1\"])")
    if not isinstance(optional, dict) or not all(isinstance(v, str) for v in optional.values()):
        raise RubricError(f"{_at(at, ('function', index), 'optional')}: optional must map keywords to inputs")
    returns, pack = entry.get("returns"), entry.get("pack", {})
    if returns is not None and not (isinstance(returns, list) and returns and all(isinstance(r, str) for r in returns)):
        raise RubricError(f"{_at(at, ('function', index), 'returns')}: returns must list the names of the returned "
                          "values (the model's, or its definitions'; any other name is returned but not graded)")
    if not _names_or_lists(pack):
        raise RubricError(f"{_at(at, ('function', index), 'pack')}: pack must map an argument to an input or a list "
                          "of inputs (cache = [\"x\", \"w\", \"b\"]: a tuple of them)")
    return (tuple(arguments) if arguments is not None else None, _frozen(attributes),
            tuple(optional.items()), tuple(returns) if returns is not None else None, _frozen(pack))


def _names_or_lists(table) -> bool:
    """A table mapping each key to an input's name or to a list of names (attributes, pack)."""
    return isinstance(table, dict) and all(isinstance(v, str) or isinstance(v, list) and
                                           all(isinstance(n, str) for n in v) for v in table.values())


def _frozen(table: dict) -> tuple:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in table.items())


def _numbers(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values)


def _packages(data: dict, at: _Locator) -> tuple[str, ...]:
    packages = data.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) and p.replace("-", "_").isidentifier() for p in packages):
        raise RubricError(f"{_at(at, None, 'packages')}: 'packages' must be a list of package names, such as [\"scipy\"]")
    return tuple(p for p in packages if p != "numpy")


def _compat(data: dict, at: _Locator) -> tuple[str, ...]:
    kinds = data.get("compat", [])
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k in compat_names.KINDS for k in kinds):
        raise RubricError(f"{_at(at, None, 'compat')}: 'compat' must be a list of {', '.join(compat_names.KINDS)} "
                          "(old names a submission may use: NumPy 1's np.float, np.reshape(newshape=); Python 2's xrange)")
    return tuple(dict.fromkeys(kinds))


def _number(data, key, default, at: _Locator, positive=False):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value == 0):
        raise RubricError(f"{_at(at, None, key)}: '{key}' must be a {'positive' if positive else 'non-negative'} number")
    return value


def _test(entry: dict, number: int, at: _Locator, functions: dict[str, Function]) -> Test:
    where = f"{_at(at, ('test', number - 1), None)}: test {number}"
    if not isinstance(entry, dict):
        raise RubricError(f"{where}: not a table")
    name, function, check = entry.get("name"), entry.get("function"), entry.get("check", "values")
    if not isinstance(name, str) or not name:
        raise RubricError(f"{where}: needs a name")
    if function not in functions:
        raise RubricError(f"{where} ('{name}'): unknown function '{function}' (known: {', '.join(functions)})")
    if check not in CHECKS:
        raise RubricError(f"{where} ('{name}'): unknown check '{check}' (known: {', '.join(CHECKS)})")
    declared = functions[function]
    if check == "gradient" and not declared.gradients:
        raise RubricError(f"{where} ('{name}'): {function} returns no gradient to check")
    outputs = tuple(entry.get("outputs", declared.outputs))
    for output in outputs:
        if output not in declared.outputs:
            raise RubricError(f"{where} ('{name}'): {function} has no output '{output}' "
                              f"(its outputs: {', '.join(declared.outputs)})")
    visibility = entry.get("visibility", "visible")
    if visibility not in VISIBILITY:
        raise RubricError(f"{where} ('{name}'): visibility must be one of {', '.join(VISIBILITY)}")
    points = entry.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise RubricError(f"{where} ('{name}'): points must be a non-negative number")
    unknown = set(entry) - {"name", "function", "check", "outputs", "visibility", "points", "partial"}
    if unknown:
        raise RubricError(f"{where} ('{name}'): unknown key '{sorted(unknown)[0]}'")
    return Test(name, function, check, float(points), outputs, visibility, bool(entry.get("partial", True)))
