"""A function's interface as a file declares it: sizes, inputs with shapes and roles, and how
the function is called and what it returns.

This is the part every gradproof file shares: a model file (derive), an inputs file for
`gradproof verify --inputs` and an assignment's rubric (grade) all declare their inputs and
their function this way, in TOML:

    [sizes]                      # symbolic names, with small explicit values
    N = 4
    D = 3
    C = 5

    [inputs.W]
    role = "parameter"           # parameter | data | index | scalar
    shape = ["D", "C"]           # size names or whole numbers

    [inputs.y]
    role = "index"               # an integer array (or, with shape [], one integer)
    shape = ["N"]
    range = "C"                  # its values lie in [0, C)

    [inputs.reg]
    role = "scalar"
    value = 0.1                  # a hyperparameter held fixed

    [function]
    name = "softmax_loss_vectorized"
    arguments = ["W", "X", "y", "reg"]      # call order (default: the inputs in file order)
    returns = ["loss", "dW"]                # names of the returned values, in order
    convention = "rows"                     # rows (course code) or columns (the math)
    [function.gradients]                    # which returned value is the gradient of which input
    W = "dW"                                # "grads.W1": key W1 of the returned dict grads

A model file (derive) is a superset: it adds [model], ordered LaTeX [definitions] (the loss
among them), [[claims]] to prove, more generated functions as [[variants]] and [generate];
inputs may name their columns or rows (column = "u": u_w is column w of U), spell themselves in
LaTeX (latex = '\tilde{W}') and give the values the proofs use at explicit sizes (example).
derive.model reads those parts' LaTeX; here they are only read and located.

Only the reading lives here; what to do with a spec (prove, generate, draw inputs, grade)
belongs to the stage that does it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import toml

ROLES = ("parameter", "data", "index", "scalar")
# a function's own argument (a [[variants]] entry's [variants.inputs.NAME]) may also be an object whose
# sampler method the caller answers: role "dataset", drawing `draws` values in [0, range); a word (or a
# list of words: shape ["T"]), a string naming an index in [0, range) (the caller spells index i "w{i}");
# a vocabulary, the dict word -> index of [0, range); a callback, a function the caller hands in and
# answers itself (one of `functions`, computed by the model's module)
ARGUMENT_ROLES = ROLES + ("dataset", "word", "vocabulary", "callback")
AVOID = ("first", "middle", "last")         # an index (word) that is never 0, range // 2 or range - 1
DISTRIBUTIONS = ("normal", "uniform", "log-uniform", "integers", "unit-rows", "unit-columns")
DTYPES = ("float64", "float32", "int64", "int32", "bool")
CONVENTIONS = ("rows", "columns")


class SpecError(Exception):
    """A file that does not declare a usable interface; the message names the file and line."""


@dataclass(frozen=True)
class Input:
    name: str
    role: str                              # one of ROLES
    shape: tuple[str | int, ...] = ()      # size names or whole numbers; () is a scalar
    dtype: str = "float64"
    distribution: str = "normal"           # how verify draws it (parameters and data)
    scale: float = 1.0                     # normal: standard deviation; unit-rows (-columns): their length
    mean: float = 0.0
    low: float | None = None               # uniform, log-uniform, integers
    high: float | None = None
    range: str | int | None = None         # index: values in [0, range)
    value: float | int | None = None       # scalar: the fixed value
    doc: str = ""
    column: str | None = None              # model files: the letter of its columns (u: u_w is column w)
    row: str | None = None                 # model files: the letter of its rows (w: w_i is row i)
    latex: str | None = None               # model files: how the LaTeX writes it ('\tilde{W}'), if not its name
    example: object = None                 # model files: its value in the explicit check (index inputs)
    sampler: str | None = None             # dataset: the method that draws one value (sampleTokenIdx)
    draws: int = 0                         # dataset: how many values it holds for the function to draw
    repeat: bool = False                   # dataset (or index array): its first value comes twice in a row
    # (repeats must add up)
    skip: str | None = None                # dataset: an argument whose value comes next (third, after a
    # repeat), never as the repeated one (a sampler told to skip that value must)
    exclude: str | None = None             # index (a function's argument): never the value of this argument
    avoid: tuple[str, ...] = ()            # index or word: never these rows (first, middle, last: 0, range // 2,
    # range - 1): a value written into a fixed row shows on every case
    functions: tuple[str, ...] = ()        # callback: the functions of the model's module it may be, by name;
    # hidden case i (from 1) gets the i-th, cyclically (1: the first, 2: the second, ...); any other case the first
    call: tuple[str, ...] = ()             # callback: what each argument of its calls is: an array argument
    # ("U"), its row at a word argument's index ("V[word]"), one of a list of words' indices ("words", whose
    # value fixes the call's samples), a dataset the caller replaces ("dataset")
    samples: str | None = None             # callback: a size: a dataset in a call holds that many values,
    # fixed per index and never that index (passed as the keyword of that name where the function takes it)
    left_out: tuple[int, ...] = ()         # callback: the hidden cases (from 1) that leave it out (its
    # default is graded)

    @property
    def differentiable(self) -> bool:
        """Whether a gradient with respect to this input makes sense (real-valued and not held fixed)."""
        return self.role in ("parameter", "data") and self.dtype.startswith("float")


@dataclass(frozen=True)
class Returns:
    names: tuple[str, ...]                 # the returned values, in order; one name: not a tuple
    loss: str                              # the name of the loss among them
    gradients: tuple[tuple[str, str], ...]  # (input, where: a returned name, or "name.key" in a dict)

    @property
    def is_tuple(self) -> bool:
        return len(self.names) > 1

    def gradient_of(self, input_name: str) -> str | None:
        return dict(self.gradients).get(input_name)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arguments: tuple[str, ...]
    returns: Returns
    convention: str = "rows"
    defaults: tuple[tuple[str, object], ...] = ()   # keyword arguments left at their defaults when not given
    # model files: an argument may stand for a definition or an input's transpose (bind), or be
    # passed through unused by the mathematics (extra); objective names the loss's definition
    bind: tuple[tuple[str, str], ...] = ()          # (argument, LaTeX of what it stands for)
    extra: tuple[str, ...] = ()
    objective: str | None = None
    prelude: tuple[str, ...] = ()                   # Python lines run first (drawing samples, ...)
    doc: str = ""
    line: int | None = None
    # how a caller (grade's cases) draws an argument that is not an input of the model, as an input is
    # declared: a bound argument (centerWordVec for h) or an extra one (a dataset object)
    inputs: tuple[Input, ...] = ()
    coded: bool = False                             # defined by the model's [model] code, not generated

    def bound(self, argument: str) -> str | None:
        return dict(self.bind).get(argument)


@dataclass(frozen=True)
class Definition:
    """One named quantity of a model, in LaTeX, in file order."""
    name: str
    latex: str
    line: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class ClaimSpec:
    """A closed form to prove: 'LHS = RHS' in LaTeX, with the source document's label."""
    name: str
    latex: str
    label: str | None = None               # the equation's label in the document it comes from
    where: str | None = None               # a condition: 'i \neq j', 'w \neq o', 'o \notin w'
    variables: tuple[str, ...] = ()        # scalar symbols of the claim alone (z in sigma'(z))
    rate: str | None = None                # the step size of an update claim (W^{new} = W - eta dJ/dW)
    line: int | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    title: str = ""
    objective: str | None = None           # the loss's definition (default: the last definition)
    source: str = ""                       # the document the claims' labels refer to
    doc: str = ""
    module: str | None = None              # where generate writes (shipped models: a path in the package)
    code: str = ""                         # Python appended to the generated module (course glue)


@dataclass(frozen=True)
class Spec:
    sizes: dict[str, int]
    inputs: dict[str, Input]               # in file order
    function: FunctionSpec | None = None
    source: str = "<spec>"                 # the file it came from, for messages
    text: str = field(default="", repr=False, compare=False)  # its text, to point at lines
    model: ModelInfo | None = None         # model files only, from here on
    definitions: tuple[Definition, ...] = ()
    claims: tuple[ClaimSpec, ...] = ()
    variants: tuple[FunctionSpec, ...] = ()  # more functions generated from the same model
    coded: tuple[FunctionSpec, ...] = ()   # [[variants]] with coded = true: defined by [model] code, not generated

    @property
    def is_model(self) -> bool:
        return bool(self.definitions)

    def functions(self) -> tuple[FunctionSpec, ...]:
        """The generated functions."""
        return ((self.function,) if self.function else ()) + self.variants

    def declared(self) -> tuple[FunctionSpec, ...]:
        """Every function the file declares: the generated ones and those its [model] code defines."""
        return self.functions() + self.coded

    def size(self, dim: str | int, sizes: dict[str, int] | None = None) -> int:
        """The value of one dimension, from sizes (overrides) or the file's own."""
        if isinstance(dim, int):
            return dim
        chosen = {**self.sizes, **(sizes or {})}
        return chosen[dim]

    def shape(self, name: str, sizes: dict[str, int] | None = None) -> tuple[int, ...]:
        return tuple(self.size(d, sizes) for d in self.inputs[name].shape)

    def differentiable(self) -> tuple[str, ...]:
        return tuple(n for n, i in self.inputs.items() if i.differentiable)


def load(path: str | Path) -> Spec:
    try:
        data, text = toml.read(path)
    except toml.TomlFileError as e:
        raise SpecError(str(e)) from None
    return from_dict(data, str(path), text)


def parse(text: str, where: str = "<spec>") -> Spec:
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise SpecError(f"{where}: {toml.message(e)}") from None
    return from_dict(data, where, text)


def from_dict(data: dict, where: str = "<spec>", text: str = "") -> Spec:
    at = _Locator(where, text)
    sizes = _sizes(data.get("sizes", {}), at)
    raw_inputs = data.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise at.error("inputs", None, "[inputs] must be a table of inputs")
    inputs = {name: _input(name, spec, sizes, at) for name, spec in raw_inputs.items()}
    function = _function(data["function"], inputs, at, sizes=sizes) if "function" in data else None
    definitions = _definitions(data.get("definitions", {}), inputs, at)
    claims = _claims(data.get("claims", []), at)
    raw_variants = data.get("variants", [])
    if not isinstance(raw_variants, list):
        raise at.error("variants", None, "variants must be an array of tables ([[variants]])")
    declared = tuple(_function(v, inputs, at, ("variants", q), sizes) for q, v in enumerate(raw_variants))
    model = _model(data["model"], at) if "model" in data else None
    for q, f in enumerate(declared):
        if f.coded and not re.search(r"^def\s+" + f.name + r"\s*\(", model.code if model else "", re.MULTILINE):
            raise at.error(("variants", q), "coded", f"{f.name} is coded = true, but the [model] code defines no "
                                                      f"function '{f.name}'")
    return Spec(sizes, inputs, function, where, text, model, definitions, claims,
                tuple(f for f in declared if not f.coded), tuple(f for f in declared if f.coded))


class _Locator:
    """Errors that point at the line of the table or key they are about."""

    def __init__(self, where: str, text: str):
        self.where, self.lines = where, text.splitlines()

    def line(self, table: str | tuple[str, int], key: str | None) -> int | None:
        nth = 0
        if isinstance(table, tuple):  # ("claims", 2): the third [[claims]]
            table, nth = table
        header = re.compile(r"^\s*\[+\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]+\s*(#.*)?$")
        starts = [i for i, line in enumerate(self.lines) if header.match(line)]
        start = starts[nth] if nth < len(starts) else None
        if start is None:  # an inline table: inputs.W = { ... }, or a dotted key
            name = table.split(".")[-1]
            inline = re.compile(r"^\s*" + re.escape(name) + r"\s*=")
            found = next((i for i, line in enumerate(self.lines) if inline.match(line)), None)
            return None if found is None else found + 1
        if key is None:
            return start + 1
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start + 1, len(self.lines)):
            if re.match(r"^\s*\[", self.lines[i]):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1

    def error(self, table: str | tuple[str, int], key: str | None, message: str) -> SpecError:
        line = self.line(table, key)
        return SpecError(f"{self.where}" + (f":{line}" if line else "") + f": {message}")


def _sizes(raw, at: _Locator) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise at.error("sizes", None, "[sizes] must be a table of names and whole numbers")
    sizes = {}
    for name, value in raw.items():
        if name == "aliases":  # a notation's names that stand for a size (|V| for W): not a size
            continue
        if isinstance(value, dict):  # N = { value = 3, doc = "..." }
            value = value.get("value")
        if type(value) is not int or value < 1:
            raise at.error("sizes", name, f"size {name} must be a whole number of at least 1, not {value!r}")
        sizes[name] = value
    return sizes


def _input(name: str, raw, sizes: dict[str, int], at: _Locator, table: str | tuple[str, int] | None = None,
           roles: tuple[str, ...] = ROLES) -> Input:
    table = table or f"inputs.{name}"
    if not isinstance(raw, dict):
        raise at.error(table, None, f"input {name} must be a table (role, shape, ...)")
    known = {"role", "shape", "dtype", "distribution", "scale", "mean", "low", "high", "range", "value", "doc",
             "column", "row", "latex", "example"} | ({"sampler", "draws", "repeat", "skip", "exclude", "avoid",
                                                       "functions", "call", "samples", "left_out"}
                                                      if "dataset" in roles else set())
    unknown = sorted(set(raw) - known)
    if unknown:
        raise at.error(table, unknown[0], f"input {name}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    role = raw.get("role", "scalar" if "value" in raw else "parameter")
    if role not in roles:
        raise at.error(table, "role", f"input {name}: role must be one of {', '.join(roles)}, not {role!r}")
    shape = raw.get("shape", [])
    if not isinstance(shape, list):
        raise at.error(table, "shape", f"input {name}: shape must be a list of size names or whole numbers")
    for dim in shape:
        if isinstance(dim, str) and dim not in sizes:
            raise at.error(table, "shape", f"input {name}: unknown size '{dim}' (declare it under [sizes])")
        if not isinstance(dim, str) and (type(dim) is not int or dim < 1):
            raise at.error(table, "shape", f"input {name}: a dimension must be a size name or a whole number, not {dim!r}")
    dtype = raw.get("dtype", "int64" if role == "index" else "float64")
    if dtype not in DTYPES:
        raise at.error(table, "dtype", f"input {name}: dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    distribution = raw.get("distribution", "normal")
    if distribution not in DISTRIBUTIONS:
        raise at.error(table, "distribution",
                       f"input {name}: distribution must be one of {', '.join(DISTRIBUTIONS)}, not {distribution!r}")
    numbers = {}
    for key in ("scale", "mean", "low", "high"):
        if key in raw:
            if type(raw[key]) not in (int, float):
                raise at.error(table, key, f"input {name}: {key} must be a number, not {raw[key]!r}")
            numbers[key] = float(raw[key])
    if distribution == "log-uniform" and not (0 < numbers.get("low", 0) < numbers.get("high", 0)):
        raise at.error(table, "distribution", f"input {name}: a log-uniform input needs 0 < low < high")
    rng = raw.get("range")
    if role in ("index", "dataset", "word", "vocabulary"):
        if rng is None:
            raise at.error(table, None, f"input {name}: an index input needs range (a size name or a whole number)")
        if isinstance(rng, str) and rng not in sizes or not isinstance(rng, (str, int)) or isinstance(rng, bool):
            raise at.error(table, "range", f"input {name}: range must be a declared size or a whole number, not {rng!r}")
    value = raw.get("value")
    if role == "scalar" and value is not None and type(value) not in (int, float, bool):
        raise at.error(table, "value", f"input {name}: value must be a number, not {value!r}")
    letters = {}
    for key in ("column", "row", "latex"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise at.error(table, key, f"input {name}: {key} must be a non-empty string, not {raw[key]!r}")
        letters[key] = raw.get(key)
    for key in ("column", "row"):
        if letters[key] is not None and len(shape) != 2:
            raise at.error(table, key, f"input {name}: only a matrix (two dimensions) has named {key}s")
    example = raw.get("example")
    if example is not None and not _numbers(example):
        raise at.error(table, "example", f"input {name}: example must be a number or a (nested) list of numbers")
    sampler, draws = raw.get("sampler"), raw.get("draws", 0)
    if role == "dataset" and not (isinstance(sampler, str) and sampler.isidentifier()):
        raise at.error(table, "sampler", f"input {name}: a dataset needs sampler, the name of the method that draws "
                                         "one value (sampleTokenIdx)")
    if type(draws) is not int or draws < 0:
        raise at.error(table, "draws", f"input {name}: draws must be a whole number of values, not {draws!r}")
    repeat, skip, exclude = raw.get("repeat", False), raw.get("skip"), raw.get("exclude")
    if type(repeat) is not bool:
        raise at.error(table, "repeat", f"input {name}: repeat must be true or false")
    for key, named in (("skip", skip), ("exclude", exclude)):
        if named is not None and not isinstance(named, str):
            raise at.error(table, key, f"input {name}: {key} must name an argument")
    if (skip is not None and role != "dataset") or (exclude is not None and role not in ("index", "word")):
        raise at.error(table, "skip" if skip is not None and role != "dataset" else "exclude",
                       f"input {name}: skip is for a dataset, exclude for an index or a word")
    avoid = raw.get("avoid", [])
    if not isinstance(avoid, list) or not all(a in AVOID for a in avoid) or avoid and role not in ("index", "word"):
        raise at.error(table, "avoid", f"input {name}: avoid is for an index or a word: a list of "
                                       f"{', '.join(AVOID)} (0, range // 2, range - 1)")
    callback = _callback(name, raw, role, sizes, at, table)
    if role == "dataset" and draws < 2 * repeat + (skip is not None):
        raise at.error(table, "draws", f"input {name}: {draws} draws cannot hold the repeated and skipped values")
    return Input(name, role, tuple(shape), dtype, distribution, numbers.get("scale", 1.0), numbers.get("mean", 0.0),
                 numbers.get("low"), numbers.get("high"), rng, value, str(raw.get("doc", "")),
                 letters["column"], letters["row"], letters["latex"], example, sampler, draws, repeat, skip, exclude,
                 tuple(avoid), *callback)


def _callback(name: str, raw: dict, role: str, sizes: dict, at: _Locator, table) -> tuple:
    """(functions, call, samples, left_out) of a callback argument (empty for any other role)."""
    keys = [k for k in ("functions", "call", "samples", "left_out") if k in raw]
    if role != "callback":
        if keys:
            raise at.error(table, keys[0], f"input {name}: {keys[0]} is for a callback (role = \"callback\")")
        return (), (), None, ()
    functions, call = raw.get("functions"), raw.get("call", [])
    if not isinstance(functions, list) or not functions or not all(isinstance(f, str) and f.isidentifier()
                                                                   for f in functions):
        raise at.error(table, "functions", f"input {name}: a callback needs functions, the names of the functions "
                                           "of the model's module it may be (the first where nothing else is said)")
    if not isinstance(call, list) or not all(isinstance(c, str) and re.fullmatch(r"\w+(\[\w+\])?", c) for c in call):
        raise at.error(table, "call", f"input {name}: call must list what each argument of its calls is: an "
                                      "argument's name, or NAME[WORD] (an array's row at a word's index)")
    samples, left_out = raw.get("samples"), raw.get("left_out", [])
    if samples is not None and samples not in sizes:
        raise at.error(table, "samples", f"input {name}: samples must be a declared size (how many values a "
                                         f"dataset in a call holds), not {samples!r}")
    if not isinstance(left_out, list) or not all(type(n) is int and n >= 1 for n in left_out):
        raise at.error(table, "left_out", f"input {name}: left_out must list hidden cases, numbered from 1")
    return tuple(functions), tuple(call), samples, tuple(left_out)


def _numbers(value) -> bool:
    if isinstance(value, list):
        return all(_numbers(v) for v in value)
    return type(value) in (int, float)


def _function(raw, inputs: dict[str, Input], at: _Locator, where: str | tuple[str, int] = "function",
              sizes: dict[str, int] | None = None) -> FunctionSpec:
    label = "[function]" if where == "function" else f"[[{where[0]}]] number {where[1] + 1}"
    if not isinstance(raw, dict):
        raise at.error(where, None, f"{label} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise at.error(where, "name", f"{label} needs a name that is a Python identifier, not {name!r}")
    bind = raw.get("bind", {})
    if not isinstance(bind, dict) or not all(isinstance(v, str) for v in bind.values()):
        raise at.error(where, "bind", "bind must map argument names to the LaTeX of what each stands for")
    extra = raw.get("extra", [])
    if not isinstance(extra, list) or not all(isinstance(e, str) and e.isidentifier() for e in extra):
        raise at.error(where, "extra", "extra must be a list of argument names the mathematics does not use")
    arguments = raw.get("arguments", list(inputs))
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise at.error(where, "arguments", "arguments must be a list of input names")
    coded = raw.get("coded", False)
    if type(coded) is not bool or coded and where == "function":
        raise at.error(where, "coded", "coded must be true or false, and only a [[variants]] entry may be coded "
                                       "(a function the [model] code defines)")
    own = raw.get("inputs", {})
    for argument in arguments:
        if argument not in inputs and argument not in bind and argument not in extra \
                and not (coded and isinstance(own, dict) and argument in own):
            raise at.error(where, "arguments", f"argument '{argument}' is not declared under [inputs]")
    for key in ("objective", "doc"):
        if key in raw and not isinstance(raw[key], str):
            raise at.error(where, key, f"{key} must be a string")
    prelude = raw.get("prelude", [])
    if not isinstance(prelude, list) or not all(isinstance(p, str) for p in prelude):
        raise at.error(where, "prelude", "prelude must be a list of Python lines")
    names = raw.get("returns", ["loss"])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise at.error(where, "returns", "returns must be a list of names of the returned values")
    if len(set(names)) != len(names):
        raise at.error(where, "returns", "returns names one value twice")
    loss = raw.get("loss", "loss" if "loss" in names else names[0])
    if loss not in names:
        raise at.error(where, "loss", f"loss '{loss}' is not among the returned values {names}")
    gradients = raw.get("gradients", {})
    table = "function.gradients" if where == "function" else where
    if not isinstance(gradients, dict):
        raise at.error(table, None, "[function.gradients] must map input names to returned values")
    pairs = []
    for input_name, place in gradients.items():
        if input_name not in inputs and input_name not in bind and not (coded and input_name in arguments):
            raise at.error(table, input_name, f"gradient of '{input_name}', which is not an input")
        if not isinstance(place, str) or place.split(".")[0] not in names:
            raise at.error(table, input_name,
                           f"the gradient of {input_name} must be a returned value (one of {', '.join(names)}) "
                           f"or a key of one ('grads.W1'), not {place!r}")
        pairs.append((input_name, place))
    convention = raw.get("convention", "rows")
    if convention not in CONVENTIONS:
        raise at.error(where, "convention", f"convention must be rows or columns, not {convention!r}")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise at.error(where, "defaults", "defaults must be a table of keyword arguments")
    if not isinstance(own, dict):
        raise at.error(where, "inputs", "inputs must be a table of the function's own arguments (role, shape, ...)")
    for argument in own:  # an input of the model declared again: how a caller draws it, for this function
        if argument not in arguments:
            raise at.error(where, "inputs", f"inputs: '{argument}' is not an argument of {name}")
    own_inputs = tuple(_input(a, v, sizes or {}, at, where, ARGUMENT_ROLES) for a, v in own.items())
    for i in own_inputs:
        for key, other in (("skip", i.skip), ("exclude", i.exclude)):
            if other is not None and (other not in arguments or other == i.name):
                raise at.error(where, "inputs", f"input {i.name}: {key} = {other!r} is not another argument of {name}")
        for entry in i.call:
            head, _, word = entry.rstrip("]").partition("[")
            if head not in arguments or word and word not in arguments:
                raise at.error(where, "inputs", f"input {i.name}: call names '{entry}', which is not an argument of "
                                                f"{name}")
    return FunctionSpec(name, tuple(arguments), Returns(tuple(names), loss, tuple(pairs)), convention,
                        tuple(defaults.items()), tuple(bind.items()), tuple(extra), raw.get("objective"),
                        tuple(prelude), raw.get("doc", ""), at.line(where, None), own_inputs, coded)



def _definitions(raw, inputs: dict[str, Input], at: _Locator) -> tuple[Definition, ...]:
    if not isinstance(raw, dict):
        raise at.error("definitions", None, "[definitions] must be a table of names and LaTeX")
    out = []
    for name, value in raw.items():
        doc = ""
        if isinstance(value, dict):  # S = { latex = '...', doc = '...' }
            value, doc = value.get("latex"), str(value.get("doc", ""))
        if not isinstance(value, str) or not value.strip():
            raise at.error("definitions", name, f"definition {name} must be a LaTeX string, not {value!r}")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise at.error("definitions", name, f"definition name '{name}' must be letters, digits and _")
        if name in inputs:
            raise at.error("definitions", name, f"'{name}' is an input and cannot also be defined")
        out.append(Definition(name, value, at.line("definitions", name), doc))
    return tuple(out)


def _claims(raw, at: _Locator) -> tuple[ClaimSpec, ...]:
    if not isinstance(raw, list):
        raise at.error("claims", None, "claims must be an array of tables ([[claims]])")
    out = []
    for q, claim in enumerate(raw):
        where = ("claims", q)
        if not isinstance(claim, dict):
            raise at.error(where, None, "each [[claims]] must be a table with name and latex")
        unknown = sorted(set(claim) - {"name", "latex", "label", "where", "variables", "rate"})
        if unknown:
            raise at.error(where, unknown[0], f"claim: unknown key '{unknown[0]}' (known: label, latex, name, rate, "
                                              "variables, where)")
        for key in ("name", "latex"):
            if not isinstance(claim.get(key), str) or not claim[key].strip():
                raise at.error(where, key if key in claim else None, f"a claim needs {key}, a non-empty string")
        for key in ("label", "where", "rate"):
            if key in claim and not isinstance(claim[key], (str, int)):
                raise at.error(where, key, f"claim {claim['name']!r}: {key} must be a string")
        variables = claim.get("variables", [])
        if not isinstance(variables, list) or not all(isinstance(v, str) and v.isidentifier() for v in variables):
            raise at.error(where, "variables", f"claim {claim['name']!r}: variables must be a list of names")
        label = claim.get("label")
        out.append(ClaimSpec(claim["name"], claim["latex"], None if label is None else str(label), claim.get("where"),
                             tuple(variables), claim.get("rate"), at.line(where, "latex")))
    return tuple(out)


def _model(raw, at: _Locator) -> ModelInfo:
    if not isinstance(raw, dict):
        raise at.error("model", None, "[model] must be a table (name, title, objective, ...)")
    unknown = sorted(set(raw) - {"name", "title", "objective", "source", "doc", "module", "code"})
    if unknown:
        raise at.error("model", unknown[0], f"[model]: unknown key '{unknown[0]}' "
                                            "(known: code, doc, module, name, objective, source, title)")
    for key in raw:
        if not isinstance(raw[key], str):
            raise at.error("model", key, f"[model] {key} must be a string")
    name = raw.get("name", "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise at.error("model", "name", f"[model] needs a name of letters, digits, '-', '_', not {name!r}")
    return ModelInfo(name, raw.get("title", ""), raw.get("objective"), raw.get("source", ""), raw.get("doc", ""),
                     raw.get("module"), raw.get("code", ""))
