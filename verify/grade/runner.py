"""The child's serve loop: load the submission, then answer call requests over the channel.

Only plain data crosses: arguments arrive as JSON and array bytes (verify.grade.wire), results
leave the same way.  Whatever a submission returns is packed here as plain values (an ndarray
subclass becomes its plain entries, an object of its own only its type's name); the grader
re-checks shapes and values itself and trusts nothing else it is told.
"""
from __future__ import annotations

import importlib.util
import inspect
import io
import os
import sys
import time
import traceback
import types

import numpy as np

from . import compat, wire

OUTPUT_HEAD = OUTPUT_TAIL = 2000
MAX_RESULTS = 64  # values one call may return: more is not a function's result, but an attack on the reply


class BoundedText(io.TextIOBase):
    """A text stream that keeps the first and last 2000 characters of what is written."""

    def __init__(self):
        self.head, self.tail, self.dropped = "", "", 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = OUTPUT_HEAD - len(self.head)
        self.head += text[:room]
        rest = text[room:] if room > 0 else text
        if rest:
            joined = self.tail + rest
            self.dropped += max(0, len(joined) - OUTPUT_TAIL)
            self.tail = joined[-OUTPUT_TAIL:]
        return len(text)

    def take(self) -> str:
        out = self.head + (f"\n... [{self.dropped} characters not shown] ...\n" if self.dropped else "") + self.tail
        self.head, self.tail, self.dropped = "", "", 0
        return out


class RecordingDataset:
    """The dataset handed to a submission: its sampler method (the name the case gives) replays the
    grader's sequence and counts what it handed out, so the expected values follow the draws made."""

    def __init__(self, sequence: list[int], sampler: str):
        self._sequence, self.drawn = sequence, 0
        setattr(self, sampler, self._draw)

    def _draw(self) -> int:
        if self.drawn >= len(self._sequence):
            raise RuntimeError(f"the dataset ran out after {self.drawn} samples (more than any correct solution draws)")
        self.drawn += 1
        return self._sequence[self.drawn - 1]


def module_name(path: str, root: str) -> str:
    """The entry's module name: its file's stem, or, for a file inside folders of the submission
    (cs231n/classifiers/fc_net.py), its dotted path, so that its relative imports (from ..layers import *)
    find its package."""
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    parts = relative[:-3].split(os.sep) if relative.endswith(".py") else []
    if len(parts) > 1 and not relative.startswith("..") and all(p.isidentifier() for p in parts):
        return ".".join(parts)
    return os.path.splitext(os.path.basename(path))[0]


def load(path: str):
    """(module, None) or (None, a one-line reason naming the file and line)."""
    name = module_name(path, os.getcwd())  # the child runs in its working directory, on sys.path
    if not os.path.isfile(path):  # confine.copy_submission copies no symbolic link
        return None, f"{os.path.basename(path)}: not in the submission (a symbolic link is not followed)"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None, f"{os.path.basename(path)}: not a Python file"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        if "." in name:  # its packages first, as an import of the dotted name would (their __init__.py run)
            importlib.import_module(name.rpartition(".")[0])
        spec.loader.exec_module(module)
    except SyntaxError as e:
        return None, f"{os.path.basename(path)}, line {e.lineno}: syntax error: {e.msg}"
    except SystemExit as e:
        return None, f"{os.path.basename(path)}: the module called sys.exit({e.code!r}) while being imported"
    except BaseException as e:  # importing ran the submission's code: anything can be raised
        return None, f"importing {os.path.basename(path)} raised {describe(e, path)}"
    return module, None


def describe(error: BaseException, path: str) -> str:
    """'TypeError: message (word2vec.py, line 12: the line)' for the innermost frame in the submission."""
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.startswith("<"):  # <frozen importlib...>, <string>: not a file of the submission
            continue
        if os.path.realpath(frame.filename).startswith(os.path.dirname(os.path.realpath(path))):
            where = f" ({os.path.basename(frame.filename)}, line {frame.lineno}: {(frame.line or '').strip()[:120]})"
            break
    message = str(error).splitlines()[0][:300] if str(error) else ""
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"


def kind_of(value) -> str:
    """What a returned value is, for messages and the dtype check: 'ndarray float32 (3, 4)', 'float',
    'ndarray float64 (3,) (subclass Lying)' - read without calling the value's own methods."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        try:  # the base class's own view: a subclass cannot override what is read
            plain = np.ndarray.view(value, np.ndarray)
        except TypeError:
            return kind
        return f"ndarray {plain.dtype} {tuple(plain.shape)}" + ("" if type(value) is np.ndarray else f" (subclass {kind})")
    return kind


def _pack(value, arrays: list):
    """wire.pack, where a value that cannot be read safely is one that did not cross."""
    try:
        return wire.pack(value, arrays)
    except wire.ProtocolError:
        raise
    except Exception:  # an ndarray subclass whose buffer cannot be viewed, a dict whose items() raises
        return {"$o": type(value).__name__[:60]}


def decode(value, arrays: list, datasets: list, stand_ins: dict, module=None):
    """The arguments a call request carries (wire.unpack), with the markers only the child knows:
    one of the submission's own functions, a replayed dataset, a stand-in the grader computes."""
    def special(tree: dict):
        if "$function" in tree:  # one of the submission's own functions, passed as an argument
            fn = getattr(module, str(tree["$function"]), None)
            if not callable(fn):
                raise LookupError(f"no function named '{tree['$function']}' in the submission")
            return fn
        if "$dataset" in tree:
            dataset = RecordingDataset(tree["$dataset"], str(tree.get("sampler", "")))
            datasets.append(dataset)
            return dataset
        if "$callback" in tree:
            return stand_ins[str(tree["$callback"])]
        return NotImplemented
    return wire.unpack(value, arrays, special)


def _encode(value, arrays: list):
    """An argument of a stand-in's call, for the grader: arrays by position, numbers as they are,
    anything else (a dataset) as None."""
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)) and value and \
            all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            return None
        return {"$a": len(arrays) - 1}
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return None


def stand_in(channel, name: str, original):
    """A function of the submission the grader computes instead, called with the same arguments:
    so a function that calls it (a function handed another as an argument) is graded on its own code alone.
    It takes the original's name and parameters, so that code testing which function it was given
    (by name, or against the module's own) sees the function it expects."""
    try:
        parameters = list(inspect.signature(original).parameters) if callable(original) else []
    except (TypeError, ValueError):
        parameters = []

    def proxy(*args, **kwargs):
        for parameter in parameters[len(args):]:  # keyword arguments back into their places
            if parameter in kwargs:
                args += (kwargs.pop(parameter),)
        arrays: list = []
        encoded = [_encode(a, arrays) for a in args]
        wire.send(channel, {"op": "callback", "name": name, "args": encoded}, tuple(arrays))
        header, results = wire.receive(channel)
        if header.get("op") != "callback-result":
            raise ValueError(header.get("error", "the grader refused this call"))
        return tuple(float(a) if a.ndim == 0 else a for a in results)
    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def with_stand_ins(fn, module, stand_ins: dict):
    """fn with its default arguments that are the stood-in functions replaced by their stand-ins (a
    copy: the submission's own function is left as it is)."""
    originals = {id(getattr(module, name, None)): proxy for name, proxy in stand_ins.items()}
    defaults = getattr(fn, "__defaults__", None)
    if not defaults or not isinstance(fn, types.FunctionType) or not any(id(d) in originals for d in defaults):
        return fn
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__,
                              tuple(originals.get(id(d), d) for d in defaults), fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


def instance(module, target: dict, arrays: list):
    """An object of the submission's class, built without its __init__ (whose signature differs between
    handouts), with the attributes the rubric declares (self.params, self.reg): (object, None) or (None,
    why not)."""
    name = str(target.get("class"))
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        return None, f"no class named '{name}' in the submission"
    attributes = wire.unpack(target.get("attributes") or {}, arrays)
    try:
        obj = cls.__new__(cls)
        for key, value in attributes.items():
            setattr(obj, str(key), value)
    except Exception as e:  # a class that cannot be built so: its own code raised
        return None, f"cannot build a {name} without its __init__ ({type(e).__name__}: {e})"
    return obj, None


def accepted(fn, kwargs: dict, optional) -> dict:
    """kwargs without the optional ones fn does not take (reg: neural_net.py's loss takes it, fc_net.py's
    reads self.reg)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters or k not in optional}


def call(module, header: dict, arrays: list, channel, path: str, output: BoundedText) -> tuple[dict, tuple]:
    owner = module
    if isinstance(header.get("object"), dict):
        owner, why = instance(module, header["object"], arrays)
        if owner is None:
            return {"op": "result", "ok": False, "error": why, "missing": True, "output": ""}, ()
    fn = getattr(owner, header["function"], None)
    if not callable(fn):
        return {"op": "result", "ok": False, "error": f"no function named '{header['function']}' in the submission",
                "missing": True, "output": ""}, ()
    datasets: list = []
    names = [str(n) for n in header.get("stand_ins", [])]
    stand_ins = {name: stand_in(channel, name, getattr(module, name, None)) for name in names}
    try:
        args = decode(header["args"], arrays, datasets, stand_ins, module)
        kwargs = decode(header.get("kwargs") or {}, arrays, datasets, stand_ins, module)
        if not isinstance(kwargs, dict):
            kwargs = {}
        if header.get("optional"):
            kwargs = accepted(fn, kwargs, [str(n) for n in header["optional"]])
    except LookupError as e:
        return {"op": "result", "ok": False, "error": str(e), "missing": True, "output": ""}, ()
    before = [a.copy() for a in arrays]
    # for the call, the module's own names are the stand-ins too: code that checks which function it
    # was handed (an assert that its argument is one of the module's functions) sees the same object
    saved = {name: getattr(module, name) for name in names if hasattr(module, name)}
    target = with_stand_ins(fn, module, stand_ins)
    start = time.perf_counter()
    try:
        for name, proxy in stand_ins.items():
            setattr(module, name, proxy)
        value = target(*args, **kwargs)
    except SystemExit as e:
        return {"op": "result", "ok": False, "error": f"the function called sys.exit({e.code!r})", "output": output.take()}, ()
    except BaseException as e:
        return {"op": "result", "ok": False, "error": describe(e, path), "output": output.take()}, ()
    finally:
        for name in names:
            if name in saved:
                setattr(module, name, saved[name])
    seconds = time.perf_counter() - start
    returns = header["returns"]
    if returns == 0:  # any number of results: a tuple or list is spread, anything else is one
        items = list(value) if isinstance(value, (tuple, list)) else [value]
    else:
        items = [value] if returns == 1 else value
    if returns > 1 and (not isinstance(value, (tuple, list)) or len(value) != returns):
        return {"op": "result", "ok": False, "output": output.take(),
                "error": f"returned {type(value).__name__}{_length(value)}, expected a tuple of {header['returns']}"}, ()
    items = items[:MAX_RESULTS]
    arrays_out: list = []
    try:
        packed = [_pack(item, arrays_out) for item in items]
    except wire.ProtocolError as e:
        return {"op": "result", "ok": False, "output": output.take(), "error": f"returned a value too big to grade ({e})"}, ()
    mutated = [i for i, (a, b) in enumerate(zip(before, arrays)) if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)]
    reply = {"op": "result", "ok": True, "kinds": [kind_of(item) for item in items], "tuple": isinstance(value, (tuple, list)),
             "values": packed, "mutated": mutated, "drawn": [d.drawn for d in datasets], "seconds": seconds,
             "output": output.take()}
    return reply, tuple(arrays_out)


def _length(value) -> str:
    try:
        return f" of length {len(value)}"
    except Exception:
        return ""


def serve(channel, path: str, compat_kinds: tuple = ()) -> None:
    output = BoundedText()
    sys.stdout = sys.stderr = output
    compat.apply(compat_kinds)  # before any of the submission's code: its imports see the old names
    module, error = load(path)
    functions = sorted(k for k, v in vars(module).items() if callable(v)) if module else []
    wire.send(channel, {"op": "ready", "error": error, "output": output.take(), "functions": functions[:200],
                        "cpu": _cpu()})
    while True:
        header, arrays = wire.receive(channel)
        if header.get("op") != "call":
            return
        reply, results = call(module, header, arrays, channel, path, output)
        wire.send(channel, {**reply, "cpu": _cpu()}, results)


def _cpu() -> float:
    """The CPU time this process (and its waited-for children) has used so far: the grader's measure of a
    call that times out starts here (did it compute, or wait for a CPU?)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
