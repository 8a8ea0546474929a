"""A function to grade, built from a model file: its signature and argument roles from the file's
[function] (or a [[variants]] entry), its cases drawn as the file's [inputs] say, its expected
values from the model's generated reference function, and its gradient test from
[function.gradients].

The rubric names the model, the function as students write it, the model function whose meaning
it has (`like`: CS231n's softmax_loss_naive is the model's softmax_loss_vectorized), the sizes of
hidden cases, and how the large-value case scales the inputs.
"""
from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradproof.derive import catalog
from gradproof.derive import spec as specs

from . import stand_ins
from .assignment import BASE, Case, Function

PUBLIC_SEED = 0  # the public case: the model file's own sizes
HIDDEN_SIZES = (2, 12)  # each size of a hidden case, unless the rubric says otherwise


class ModelFunctionError(Exception):
    """The rubric's [[function]] does not fit its model file (one line: what and where)."""


@dataclass(frozen=True)
class Options:
    """What the rubric says about one function beyond its model (hashable: functions are cached)."""
    name: str
    model: str                                  # a shipped model's name or a path
    like: str                                   # the model function it is graded as
    sizes: tuple[tuple[str, int, int], ...] = ()  # (size, low, high) for hidden cases
    large: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (input or "input[i, :]", values) for the large case
    accept: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (scalar input, multiples): conventions accepted
    scale: tuple[tuple[str, float], ...] = ()   # (input, standard deviation) drawn instead of the file's
    arguments: tuple[str, ...] | None = None    # the inputs the call passes (default: the model function's)
    attributes: tuple[tuple[str, object], ...] = ()  # a method's object: (attribute, input or tuple of inputs)
    optional: tuple[tuple[str, str], ...] = ()  # (keyword, input): passed only where the callee takes it
    returns: tuple[str, ...] | None = None      # what the graded function returns, by the model's names (a
    # returned value or a definition); a name the model does not know (cache) is returned but not graded
    pack: tuple[tuple[str, object], ...] = ()   # (argument, input or tuple of inputs): cache = (x, w, b)
    large_label: str = "large scores"           # the large-value case's name in feedback
    public_sizes: tuple[tuple[str, int], ...] = ()  # (size, value) of the public case (default: the model's)
    full_size: tuple[tuple[str, int], ...] = ()  # (size, value): one more hidden case, at a size where a
    # gradient taken numerically cannot finish in the rubric's size_timeout (empty: no such case)
    overflow: str | None = None                 # what a non-finite output at large values means (default: the model's)
    suspects: tuple[tuple, ...] = ()  # (output, message, value, call, when_left_out): the rubric's own
    # mistakes (verify.grade.suspects), tried before the model's, in order; value an expression, or None and
    # call ((key, value), ...): the output of a function called with the case's arguments, some changed
    let: tuple[tuple[str, str], ...] = ()       # (name, value): names the suspects use, computed first
    ranks: tuple[tuple[str, int, int], ...] = ()  # (input, low, high): a hidden case keeps only the last r of
    # its declared dimensions, r drawn in [low, high] (an elementwise function is graded on any rank); the
    # public and large cases keep low
    large_values: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (input, values): in the large case the input
    # is exactly these values, one after the other (a 1-D array)
    names: tuple[tuple[str, str], ...] = ()     # (output, name): what feedback calls an output of the model
    moved: str | None = None                    # where a gradient's row moved elsewhere belongs (feedback)
    may_change: tuple[str, ...] = ()            # arguments it may change in place (see assignment.Function)


RUBRICS = Path(__file__).resolve().parent / "rubrics"
NOT_ARRAYS = ("dataset", "word", "vocabulary", "callback")  # arguments a case passes as themselves


def model_path(model: str, base: Path) -> Path:
    """A shipped model by name, else a path relative to the rubric's folder (or, for a copy of a shipped
    rubric, to the shipped rubrics' folder, where its models are)."""
    found = catalog.shipped(model)
    if found is not None:
        return found
    beside = (base / model).resolve()
    return beside if beside.is_file() or not (RUBRICS / model).is_file() else (RUBRICS / model).resolve()


@functools.lru_cache(maxsize=32)
def build(options: Options) -> Function:
    """The Function for options (ModelFunctionError if the model file does not declare it)."""
    try:
        spec = specs.load(options.model)
    except specs.SpecError as e:
        raise ModelFunctionError(str(e)) from None
    declared = {f.name: f for f in spec.declared()}
    if options.like not in declared:
        raise ModelFunctionError(f"{options.model} declares no function '{options.like}' "
                                 f"(it declares: {', '.join(declared) or 'none'})")
    fs = declared[options.like]
    for size, _, _ in options.sizes:
        if size not in spec.sizes:
            raise ModelFunctionError(f"{options.model} has no size '{size}' (its sizes: {', '.join(spec.sizes)})")
    inputs, source = _argument_inputs(spec, fs, options.model)
    for target, _ in options.large:
        name, index = entries(target)
        if name not in inputs or index is None or len(index) > len(inputs[name].shape):
            raise ModelFunctionError(f"large: '{target}' is not an input of {Path(options.model).name} or entries of one "
                                     f"(write NAME or NAME[0, :]; its inputs: {', '.join(spec.inputs)})")
    def drawn_array(name: str) -> bool:  # what ranks, large_values and scale may shape, set or scale
        return name in inputs and inputs[name].role in ("parameter", "data")

    for name, low, _ in options.ranks:
        if not drawn_array(name) or low < 1 \
                or any(high > len(inputs[name].shape) for n, _, high in options.ranks if n == name):
            raise ModelFunctionError(f"ranks: '{name}' is not a parameter or data input of {Path(options.model).name} "
                                     f"with that many dimensions")
    for name, _ in options.large_values:
        if not drawn_array(name):
            raise ModelFunctionError(f"large_values: '{name}' is not a parameter or data input of "
                                     f"{Path(options.model).name}")
    for name, low, _ in options.ranks:  # its exact values in the large case are one-dimensional
        if name in dict(options.large_values) and low != 1:
            raise ModelFunctionError(f"large_values: '{name}' takes a list of values in the large case, so its ranks "
                                     f"must start at 1")
    for name, _ in options.accept:
        if name not in spec.inputs or spec.inputs[name].role != "scalar":
            raise ModelFunctionError(f"accept: '{name}' is not a scalar input of {Path(options.model).name}")
    for name, _ in options.scale:
        if not drawn_array(name):
            raise ModelFunctionError(f"scale: '{name}' is not a parameter or data input of {Path(options.model).name}")
    scales = dict(options.scale)
    reference = _lazy(lambda: _reference(spec, options.model, options.like))  # made on first use (SymPy, for a
    # model generated afresh): a function graded by definitions alone never needs it
    arguments = tuple(source)
    arrays = tuple(a for a in arguments if inputs[source[a]].shape and inputs[source[a]].role not in NOT_ARRAYS)
    named = [n for _, v in list(options.attributes) + list(options.pack) for n in (v if isinstance(v, tuple) else (v,))]
    packed = dict(options.pack)
    for name in [a for a in options.arguments or () if a not in packed] + named + [n for _, n in options.optional]:
        if name not in arguments:
            raise ModelFunctionError(f"'{name}' is not an argument of {options.like} in {Path(options.model).name} "
                                     f"(its arguments: {', '.join(arguments)})")
    if options.arguments is not None:  # only the arrays the call hands over (relu_forward(x): not dout)
        passed = set(options.arguments) | set(named) | {n for _, n in options.optional}
        arrays = tuple(a for a in arrays if a in passed)
    calls = _call(options, arrays)
    datasets = tuple(a for a in arguments if inputs[source[a]].role == "dataset")
    callbacks = tuple(a for a in arguments if inputs[source[a]].role == "callback")
    module = _lazy(lambda: _module(spec, options.model))
    _check_callbacks(options, spec, inputs, source, arguments, callbacks)
    stood_in = tuple(dict.fromkeys(n for a in callbacks for n in inputs[source[a]].functions))
    for size, _ in options.full_size + options.public_sizes:
        if size not in spec.sizes:
            raise ModelFunctionError(f"{options.model} has no size '{size}' (its sizes: {', '.join(spec.sizes)})")
    outputs = _outputs(fs)
    defined = {d.name for d in spec.definitions}
    if options.returns is not None:  # the function returns other values than the model's: graded by name
        outputs = tuple(n for n in options.returns if n in outputs or n in defined)
        if not outputs:
            raise ModelFunctionError(f"returns: none of {', '.join(options.returns)} is a value or a definition of "
                                     f"{Path(options.model).name}")
    gradients = tuple((arrays.index(wrt), outputs.index(place)) for wrt, place in fs.returns.gradients
                      if wrt in arrays and place in outputs) if fs.returns.loss in outputs else ()
    own = tuple(n for n in outputs if n in defined and n not in _outputs(fs))  # definitions graded by name
    values_of = _definitions(options.model, own, arguments, options.like)
    shown = dict(options.names)
    for output in shown:
        if output not in outputs:
            raise ModelFunctionError(f"names: '{output}' is not an output of {options.name} (its outputs: "
                                     f"{', '.join(outputs)})")

    def make(rng: np.random.Generator, kind: str, index: int) -> Case:
        ranks = {name: int(rng.integers(low, high, endpoint=True)) if kind == "hidden" else low
                 for name, low, high in options.ranks}
        sizes = _sizes(spec, options, rng, kind)
        values = draw(spec, rng, sizes, scales, inputs, source, ranks)
        for a in callbacks:
            values[source[a]] = stand_ins.case_value(spec, inputs[source[a]], rng, kind, index, sizes, inputs, source)
        if kind == "large":
            for name, value in options.large_values:
                values[name] = np.array(value, dtype=np.float64)
            for target, value in options.large:
                name, index = entries(target)
                values[name] = np.array(values[name], dtype=np.float64)
                shape = np.shape(values[name][index])
                values[name][index] = rng.choice(value, size=shape) * (1 + 0.01 * rng.standard_normal(size=shape))
        def ref(a):
            if a in packed:  # an argument made of inputs: a tuple of them, or one
                return {"$t": [ref(n) for n in packed[a]]} if isinstance(packed[a], tuple) else ref(packed[a])
            if a in datasets:  # an object whose sampler replays the drawn values in the child
                return {"$dataset": list(values[source[a]]), "sampler": inputs[source[a]].sampler}
            if a in callbacks:  # a stand-in in the child, answered here
                return {"$callback": values[source[a]]["function"]}
            if inputs[source[a]].role == "word":
                return _spelled(values[source[a]])
            return {"$a": arrays.index(a)} if a in arrays else values[source[a]]
        passed = [a for a in (options.arguments if options.arguments is not None else arguments)
                  if a not in callbacks or values[source[a]]["function"] is not None]  # a callback left out
        args = tuple(ref(a) for a in passed)
        return Case(options.name, "", kind, args, tuple(values[source[a]] for a in arrays), values, stood_in,
                    call=calls(ref))

    def arguments_of(data: dict, drawn: tuple) -> dict:
        """The case's arguments, as the reference is called with them (in the grader)."""
        given = {a: data[source[a]] for a in arguments}
        for k, a in enumerate(datasets):  # the reference draws what the submission drew, in its order (all of
            # them when the draws are not known: as many as it needs)
            given[a] = stand_ins.Replay(given[a][:drawn[k]] if k < len(drawn) else given[a], inputs[source[a]].sampler)
        for a in arguments:
            if inputs[source[a]].role == "word":
                given[a] = _spelled(given[a])
            elif a in callbacks and given[a]["function"] is None:  # left out: the function's default
                del given[a]
            elif a in callbacks:
                given[a] = stand_ins.callee(module()[given[a]["function"]], inputs[source[a]], given[a], inputs, source)
        return given

    def expected(case: Case, drawn: tuple) -> tuple | str:
        given = arguments_of(case.data, drawn)
        with np.errstate(all="ignore"):  # underflow to 0 is right; the large case is checked finite at build time
            returned = {}
            if not all(n in own for n in outputs):  # the model function's own values, unless all are definitions
                try:
                    out = reference()(**given)
                except stand_ins.RanOut as e:
                    return (f"the submission drew {e.drawn} samples from {' and '.join(datasets)}, fewer than the "
                            f"function needs (it draws until it has what it needs)")
                returned = dict(zip(fs.returns.names, out if fs.returns.is_tuple else (out,)))
            returned.update(values_of(given))
        return tuple(np.asarray(_at(returned, output), dtype=np.float64) for output in outputs)

    if options.large:  # the reference is stable: a non-finite value here means the rubric's factors are too big
        rng = np.random.default_rng(PUBLIC_SEED)
        for _ in range(3):
            if not all(np.all(np.isfinite(e)) for e in expected(make(rng, "large", 0), ())):
                raise ModelFunctionError(f"its large-value case is not finite even for the model's reference "
                                         f"(large = {dict(options.large)}): use smaller factors")
    returned = options.returns if options.returns is not None else fs.returns.names
    paths = tuple((returned.index(o),) if options.returns is not None else _path(fs, o) for o in outputs)
    named = tuple(shown.get(o, o) for o in outputs)  # as feedback and the rubric's suspects name them
    suspects = _suspects(options, named, inputs, source, datasets, arguments_of, module,
                         lambda out, o: _at(dict(zip(fs.returns.names, out)), outputs[named.index(o)]))
    # the model's mutants are derived over its own inputs: a function whose arguments stand for something else
    # (an argument bound to a definition of the model) has none of its own yet
    derived = all(a in spec.inputs for a in arguments)
    return Function(options.name, named, make, expected, fs.convention, sized=bool(options.full_size),
                    arguments=arrays, gradients=gradients,
                    loss=outputs.index(fs.returns.loss) if fs.returns.loss in outputs else 0,
                    overflow=options.overflow or _overflow(spec), arity=len(returned), paths=paths,
                    large_label=options.large_label, suspects=suspects, words=_words(fs.convention, options.moved),
                    mutants=_mutants(options.model, fs, _variants(options.accept)) if derived else None,
                    variants=_variants(options.accept),
                    callback=stand_ins.answers(inputs, source, callbacks, arrays, module) if callbacks else None,
                    samplers=tuple(dict.fromkeys(inputs[source[a]].sampler for a in datasets)),
                    may_change=options.may_change)


def _definitions(model: str, names: tuple, arguments: tuple, like: str):
    """inputs -> {name: value} of the model's definitions named (a layer's forward output): a shipped rubric's
    model's from its committed module (verify.grade.rubric_models), any other's printed from the model with
    numpy_function (SymPy: loaded only when a rubric grades a definition)."""
    if not names:
        return lambda inputs: {}

    @_lazy  # compiled on first use: loading a rubric stays quick
    def compiled():
        from . import rubric_models

        module = rubric_models.generated(model)
        found = {n: rubric_models.definition(module, n, like) for n in names}
        if all(found.values()):
            return found
        from gradproof.derive.gradients import numpy_function
        from gradproof.derive.model import load

        m = load(model)
        return {n: numpy_function(m, m.symbols[n], n, list(arguments)) for n in names}
    return lambda inputs: {n: f(**inputs) for n, f in compiled().items()}


def _lazy(make):
    """make() on the first call, its value kept."""
    return functools.lru_cache(maxsize=1)(make)


def _call(options: Options, arrays: tuple):
    """ref -> how the case is called: a function by its name, or (Class.method) a method of an object built
    with the declared attributes, with the optional keywords."""
    if "." not in options.name:
        return lambda ref: {}
    cls, method = options.name.split(".", 1)

    def how(ref) -> dict:
        attributes = {key: {"$d": {n: ref(n) for n in value}} if isinstance(value, tuple) else ref(value)
                      for key, value in options.attributes}
        return {"method": method, "object": {"class": cls, "attributes": {"$d": attributes}},
                "kwargs": {k: ref(n) for k, n in options.optional}, "optional": [k for k, _ in options.optional]}
    return how


def entries(target: str) -> tuple[str, tuple | None]:
    """'X[:, 0]' -> ('X', (slice(None), 0)); 'W' -> ('W', ()); an index that is not whole numbers and ':'
    gives None."""
    name, _, rest = target.partition("[")
    if not rest:
        return name.strip(), ()
    if not rest.endswith("]"):
        return name.strip(), None
    index = []
    for part in rest[:-1].split(","):
        part = part.strip()
        if part == ":":
            index.append(slice(None))
        elif part.lstrip("-").isdigit():
            index.append(int(part))
        else:
            return name.strip(), None
    return name.strip(), tuple(index)


def _outputs(fs) -> tuple[str, ...]:
    """The graded outputs: each returned value, a dict's gradients by their "name.key"."""
    out = []
    for name in fs.returns.names:
        keys = [place for _, place in fs.returns.gradients if place.startswith(name + ".")]
        out += keys or [name]
    return tuple(out)


def _path(fs, output: str) -> tuple:
    head, _, key = output.partition(".")
    return (fs.returns.names.index(head),) + ((key,) if key else ())


def _at(returned: dict, output: str):
    head, _, key = output.partition(".")
    return returned[head][key] if key else returned[head]


def _reference(spec, model: str, like: str):
    """The model's generated function: a shipped model's committed module, else generated afresh."""
    if catalog.is_shipped(Path(model)) and spec.model is not None and spec.model.module:
        module = importlib.import_module("gradproof.derive." + spec.model.module[:-3].replace("/", "."))
        return getattr(module, like)
    from . import rubric_models

    committed = getattr(rubric_models.generated(model), like, None)  # a shipped rubric's own model
    if committed is not None:
        return committed
    from gradproof.derive.codegen import compiled_functions
    from gradproof.derive.model import load
    return compiled_functions(load(model))[like]


def _suspects(options: Options, outputs: tuple, inputs: dict, source: dict, datasets: tuple, arguments_of,
              module, output_of) -> tuple:
    """The rubric's suspects, in its order: each a value (an expression) or a call (the output of a function
    of the model's module, or of gradproof's own modules, called with the case's arguments, some of them
    changed), tried on every case or only on those that leave a callback out."""
    from .suspects import SuspectError, compile_suspects

    for output, *_ in options.suspects:
        if output not in outputs:
            raise ModelFunctionError(f"suspect: '{output}' is not an output of {options.name} (its outputs: "
                                     f"{', '.join(outputs)})")
    try:
        valued = iter(compile_suspects(options.name, tuple(s[:3] for s in options.suspects if s[2] is not None),
                                       options.let, set(inputs) | set(outputs),
                                       {a: n for a, n in source.items() if a != n}, tuple(source[a] for a in datasets)))
        out = []
        for output, message, value, call, left_out in options.suspects:
            if left_out is not None and (left_out not in source or inputs[source[left_out]].role != "callback"):
                raise SuspectError(f"when_left_out: '{left_out}' is not a callback argument of {options.name}")
            suspect = next(valued) if value is not None else _called(options, output, message, dict(call), inputs,
                                                                      source, arguments_of, module, output_of)
            out.append(_only_left_out(suspect, source[left_out]) if left_out is not None else suspect)
        return tuple(out)
    except SuspectError as e:
        raise ModelFunctionError(f"suspect: {e}") from None


def _called(options: Options, output: str, message: str, call: dict, inputs: dict, source: dict, arguments_of,
            module, output_of):
    """A suspect whose value is a function's output (the model module's, or gradproof's own) at the case's
    arguments, some changed: a callback to another of its functions (by name), any other to an expression
    over the case's names."""
    from .diagnose import Suspect
    from .suspects import SuspectError, compile_expression, evaluate

    target = call.pop("function", options.like)
    if not isinstance(target, str) or not all(p.isidentifier() for p in target.split(".")) \
            or "." in target and not target.startswith("gradproof."):  # a rubric stays data: no other code runs
        raise SuspectError(f"call: function must name a function of the model's module, or of gradproof's own "
                           f"modules (gradproof.verify.mutants.NAME: mistakes written as code), not {target!r}")
    changes = {}
    for argument, value in call.items():
        if argument not in source:
            raise SuspectError(f"call: '{argument}' is not an argument of {options.like}")
        inp = inputs[source[argument]]
        if inp.role == "callback":
            if value not in inp.functions:
                raise SuspectError(f"call: {argument} = {value!r} is not one of its functions "
                                   f"({', '.join(inp.functions)})")
            changes[argument] = value
        elif not isinstance(value, str):
            raise SuspectError(f"call: {argument} must be an expression (a string)")
        else:
            changes[argument] = compile_expression(value, set(inputs) | set(source))
    function = _lazy(lambda: _function_named(target, module))
    if "." in target or catalog.is_shipped(Path(options.model)):  # there now, not at the first wrong answer
        if "." in target:
            function()
        elif target not in module():
            raise SuspectError(f"call: the model's module has no function '{target}'")

    def candidate(case, expected, drawn):
        given = arguments_of(case.data, drawn)
        for argument, change in changes.items():
            inp = inputs[source[argument]]
            if inp.role == "callback":
                given[argument] = stand_ins.callee(module()[change], inp, case.data[source[argument]], inputs, source)
            else:
                value = evaluate(change, {**case.data, **{a: case.data[n] for a, n in source.items()}})
                given[argument] = _spelled(value) if inp.role == "word" else value
        with np.errstate(all="ignore"):
            return output_of(function()(**given), output)
    return Suspect((options.name,), output, message, candidate)


def _only_left_out(suspect, name: str):
    """The suspect, tried only on the cases that leave the callback argument `name` out."""
    import dataclasses

    def candidate(case, expected, drawn):
        return suspect.candidate(case, expected, drawn) if case.data[name]["function"] is None else None
    return dataclasses.replace(suspect, candidate=candidate)


def _function_named(name: str, module):
    """A function of the model's module by name, or one of gradproof's own (gradproof.verify.mutants.NAME)."""
    if "." not in name:
        return module()[name]
    path, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(path), attribute, None)
    except ImportError:
        found = None
    if not callable(found):
        raise ModelFunctionError(f"suspect: call: no function '{name}' can be imported")
    return found


def _spelled(value):
    """A word's index (or a list of them) as the words the caller passes: index i is "w{i}"."""
    return f"w{int(value)}" if np.ndim(value) == 0 else [f"w{int(i)}" for i in np.ravel(value)]


def _module(spec, model: str) -> dict:
    """The functions of the model's module, by name: a shipped model's committed module (every function in it),
    else the model's own functions, generated afresh."""
    if catalog.is_shipped(Path(model)) and spec.model is not None and spec.model.module:
        python = importlib.import_module("gradproof.derive." + spec.model.module[:-3].replace("/", "."))
        return {n: f for n, f in vars(python).items() if callable(f) and not n.startswith("_")}
    from gradproof.derive.codegen import compiled_functions
    from gradproof.derive.model import load
    return compiled_functions(load(model))


def _check_callbacks(options: Options, spec, inputs: dict, source: dict, arguments: tuple, callbacks: tuple) -> None:
    """A callback's functions exist in the model's module, its call names arguments of the right kinds, and a
    callback left out is the call's last argument."""
    passed = list(options.arguments if options.arguments is not None else arguments)
    for a in callbacks:
        inp = inputs[source[a]]
        shipped = catalog.is_shipped(Path(options.model)) and spec.model is not None and spec.model.module
        known = set(_module(spec, options.model)) if shipped else {f.name for f in spec.declared()} | set(
            re.findall(r"^def\s+(\w+)", spec.model.code if spec.model else "", re.MULTILINE))
        missing = [n for n in inp.functions if n not in known]
        if missing:
            raise ModelFunctionError(f"callback {a}: the model's module has no function '{missing[0]}'")
        for entry in inp.call:
            head, _, word = entry.rstrip("]").partition("[")
            role = inputs[source[head]].role if head in source else None
            if word and (role not in ("parameter", "data") or word not in source
                         or inputs[source[word]].role not in ("word", "index")):
                raise ModelFunctionError(f"callback {a}: call entry '{entry}' must be an array argument's row at a "
                                         f"word's index")
        if inp.left_out and passed and passed[-1] != a:
            raise ModelFunctionError(f"callback {a}: only the call's last argument can be left out (left_out)")


def _argument_inputs(spec, fs, model: str) -> tuple[dict, dict]:
    """(name -> Input, argument -> the name its value is drawn and kept under): an input of the model as
    itself; an argument bound to an input ('o') as that input; any other as the function declares it
    ([variants.inputs.NAME]); an extra argument with a default, not passed."""
    own = {i.name: i for i in fs.inputs}
    if not own:  # all drawn, in the file's order (the cases of the functions that need nothing more)
        return dict(spec.inputs), {a: a for a in fs.arguments if a in spec.inputs}
    # drawn in the call's order, but an index excluding another's value after it
    inputs, source = {}, {}
    for a in fs.arguments:
        bound = (fs.bound(a) or "").strip()
        if a in own or a in spec.inputs:
            source[a], inputs[a] = a, own.get(a) or spec.inputs[a]
        elif bound in spec.inputs:
            source[a], inputs[bound] = bound, spec.inputs[bound]
        elif a not in dict(fs.defaults):
            raise ModelFunctionError(f"{Path(model).name}: argument '{a}' of {fs.name} is "
                                     + (f"bound to '{bound}'" if bound else "not an input")
                                     + f": declare how it is drawn ([variants.inputs.{a}]: role, shape, ...)")
    later = [n for n, i in inputs.items() if i.exclude is not None]
    return {**{n: i for n, i in inputs.items() if n not in later}, **{n: inputs[n] for n in later}}, source


def _words(convention: str, moved: str | None = None):
    """How messages name a slice of a gradient in the function's convention ({row}, {at}), and where a moved
    row belongs ({moved}, if the rubric says)."""
    words = {"row": "column", "at": "[:, indices]"} if convention == "columns" else {"row": "row", "at": "[indices]"}
    words = {**words, "moved": moved} if moved else words
    return lambda case: words


def _sizes(spec, options: Options, rng: np.random.Generator, kind: str) -> dict[str, int]:
    if kind == "public":
        return {**dict(spec.sizes), **dict(options.public_sizes)}
    if kind == "size":
        return {**dict(spec.sizes), **dict(options.full_size)}
    ranges = {size: (low, high) for size, low, high in options.sizes}
    return {size: int(rng.integers(*ranges.get(size, HIDDEN_SIZES), endpoint=True)) for size in spec.sizes}


def draw(spec, rng: np.random.Generator, sizes: dict[str, int], scales: dict | None = None,
         inputs: dict | None = None, source: dict | None = None, ranks: dict | None = None) -> dict[str, object]:
    """A value for each input (of the model, or those given: a function's arguments as it declares them),
    as the file says (or at the rubric's scale), at these sizes (index arrays as int64; a dataset as the
    list of values its sampler hands out); an input given a rank keeps only its last that many dimensions."""
    out: dict[str, object] = {}
    for name, inp in (inputs if inputs is not None else spec.inputs).items():
        shape = tuple(spec.size(d, sizes) for d in inp.shape)
        if name in (ranks or {}):
            shape = shape[len(shape) - ranks[name]:]
        scale = (scales or {}).get(name, inp.scale)
        if inp.role == "scalar" and inp.value is None and inp.distribution == "integers":  # in [low, high)
            out[name] = int(rng.integers(int(inp.low or 0), int(inp.high if inp.high is not None else 2)))
        elif inp.role == "scalar":
            out[name] = float(inp.value) if inp.value is not None else 0.1
        elif inp.role == "vocabulary":  # word i is "w{i}"
            out[name] = {_spelled(i): i for i in range(spec.size(inp.range, sizes))}
        elif inp.role == "callback":  # chosen per case (from_model.build)
            continue
        elif inp.role in ("index", "word") and inp.avoid:  # never the fixed rows (nor the excluded value)
            high = spec.size(inp.range, sizes)
            excluded = out.get((source or {}).get(inp.exclude, inp.exclude)) if inp.exclude is not None else None
            avoided = {"first": 0, "middle": high // 2, "last": high - 1}
            allowed = [i for i in range(high) if i != excluded and i not in {avoided[a] for a in inp.avoid}]
            allowed = allowed or [i for i in range(high) if i != excluded]  # as far as the range allows
            value = rng.choice(allowed, size=shape)
            out[name] = int(value) if not shape else value.astype(np.int64)
        elif inp.role in ("index", "word"):
            high = spec.size(inp.range, sizes)
            excluded = out.get((source or {}).get(inp.exclude, inp.exclude)) if inp.exclude is not None else None
            value = rng.integers(0, high - (excluded is not None), size=shape)
            if excluded is not None:  # any value but the excluded one
                value = value + (value >= excluded)
            if inp.repeat and np.ndim(value) == 1 and np.size(value) > 1:
                value[1] = value[0]
            out[name] = int(value) if not shape else value.astype(np.int64)
        elif inp.role == "dataset":  # drawn last: its values may follow another argument's
            continue
        elif inp.distribution == "integers":
            value = rng.integers(int(inp.low or 0), int(inp.high if inp.high is not None else 2), size=shape)
            out[name] = int(value) if not shape else value.astype(np.int64)
        elif inp.distribution == "uniform":
            out[name] = rng.uniform(inp.low or 0.0, inp.high if inp.high is not None else 1.0, size=shape)
        elif inp.distribution in ("unit-rows", "unit-columns"):  # each row (column) of length scale
            value = rng.standard_normal(size=shape)
            axis = -1 if inp.distribution == "unit-rows" or value.ndim < 2 else -2
            norms = np.linalg.norm(value, axis=axis, keepdims=True) if value.ndim else np.abs(value)
            out[name] = inp.mean + scale * value / np.where(norms == 0, 1.0, norms)
        else:
            out[name] = inp.mean + scale * rng.standard_normal(size=shape)
    for name, inp in (inputs if inputs is not None else spec.inputs).items():
        if inp.role == "dataset":
            out[name] = _sequence(inp, spec.size(inp.range, sizes), rng, out, source or {})
    return out


def _sequence(inp, high: int, rng: np.random.Generator, values: dict, source: dict) -> list[int]:
    """A dataset's values in [0, high): at random, but for what every case must exercise: the first value
    twice in a row (repeat), then the skipped argument's value (skip; never the repeated one)."""
    out = [int(v) for v in rng.integers(0, high, size=inp.draws)]
    skipped = values[source.get(inp.skip, inp.skip)] if inp.skip is not None else None
    if inp.repeat:
        repeated = int(rng.integers(high - (skipped is not None)))
        repeated += skipped is not None and repeated >= skipped  # any value but the skipped one
        out[0] = out[1] = int(repeated)
    if skipped is not None:
        out[2 * inp.repeat] = int(skipped)
    return out


def _overflow(spec) -> str:
    """What a non-finite output at large values means, in the terms of the model's definitions."""
    text = " ".join(d.latex for d in spec.definitions)
    if "softmax" in text or "logsumexp" in text:
        return ("overflow: at scores near +-1000, exp overflows to inf (or a row's exps all underflow to 0); subtract "
                "each row's own maximum before exp (axis=1, keepdims=True; not the maximum of the whole matrix): "
                "softmax and the loss are unchanged by the shift")
    if "\\sigma" in text or "\\log\\sigma" in text or "sigm" in text:
        return "overflow: compute the sigmoid and its log from exp(-|x|) (np.logaddexp), never exp of a large x"
    return "an output is inf or NaN where the right answer is finite (an overflow, or a division by zero such as 0/0)"


@dataclass(frozen=True, eq=False)
class _Mutants:
    """(case, role) -> the mistakes derived from the model for that output, at the case's inputs: under the
    convention the case is judged by first, then under every other accepted one (a loss written with one
    convention and its gradient with another).  Built on first use, and only a wrong answer needs them; a
    shipped rubric's model's come from committed generated code (verify.grade.rubric_models: key)."""
    model: str
    function: object   # the model's spec function
    variants: tuple

    @property
    def key(self) -> tuple:
        """mistakes.mutants' arguments: (model, function, loss, gradients)."""
        fs = self.function
        return (self.model, fs.name, fs.returns.loss, tuple(fs.returns.gradients))

    def __call__(self, case: Case, role: str):
        from .mistakes import candidates
        base = case.data.get(BASE, case.data)
        out = []  # the same mistake under another convention is another value: each is tried
        for data in [case.data] + ([base] + [v(base) for v in self.variants] if base is not case.data else []):
            out += candidates(self.model, self.function, role, data)
        return tuple(out)


def _mutants(model: str, fs, variants: tuple) -> _Mutants:
    return _Mutants(model, fs, variants)


def _variants(accept) -> tuple:
    """A transform of a case's data for each other accepted convention: each scalar at each of its
    multiples (every combination), the model's own (all 1) left out: it is the function's own."""
    import itertools

    names = [name for name, _ in accept]
    out = []
    for multiples in itertools.product(*[m for _, m in accept]):
        if all(m == 1 for m in multiples):
            continue
        out.append(lambda data, k=dict(zip(names, multiples)): {**data, **{n: data[n] * m for n, m in k.items()}})
    return tuple(out)
