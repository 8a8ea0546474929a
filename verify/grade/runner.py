"""The child's serve loop: load the submission, then answer call requests over the channel.

Only plain data crosses: arguments arrive as JSON and float64 bytes, results leave the
same way.  Whatever a submission returns is converted here to float64 numbers (an
ndarray subclass or an object with a lying __eq__ becomes its plain values, or an
error); the grader re-checks shapes and values itself and trusts nothing else it is told.
"""
from __future__ import annotations

import importlib.util
import io
import os
import sys
import time
import traceback

import numpy as np

from . import wire

OUTPUT_HEAD = OUTPUT_TAIL = 2000


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
    """The dataset handed to a submission: sampleTokenIdx replays the grader's sequence and
    counts what it handed out, so the expected values follow the draws actually made."""

    def __init__(self, sequence: list[int], vocab: int):
        self._sequence, self._vocab, self.drawn = sequence, vocab, 0

    def sampleTokenIdx(self) -> int:  # noqa: N802 - the course's name
        if self.drawn >= len(self._sequence):
            raise RuntimeError(f"the dataset ran out after {self.drawn} samples (more than any correct solution draws)")
        self.drawn += 1
        return self._sequence[self.drawn - 1]

    def tokens(self) -> dict:
        return {f"w{i}": i for i in range(self._vocab)}


def load(path: str):
    """(module, None) or (None, a one-line reason naming the file and line)."""
    name = os.path.splitext(os.path.basename(path))[0]
    if not os.path.isfile(path):  # confine.copy_submission copies no symbolic link
        return None, f"{os.path.basename(path)}: not in the submission (a symbolic link is not followed)"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None, f"{os.path.basename(path)}: not a Python file"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
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


def to_array(value) -> tuple[np.ndarray | None, str]:
    """(plain float64 array or None, what the value was) - never trusting the value's own methods
    for comparison; an ndarray subclass is read through its buffer."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        try:  # the base class's own view: a subclass cannot override what is read
            plain = np.ndarray.view(value, np.ndarray)
        except TypeError:
            return None, kind
        kind = f"ndarray {plain.dtype} {tuple(plain.shape)}" + ("" if type(value) is np.ndarray else f" (subclass {kind})")
        if plain.dtype.kind not in "biuf":
            return None, kind
        return np.array(plain, dtype=np.float64, copy=True), kind
    if isinstance(value, (bool, int, float, np.floating, np.integer)):
        return np.array(float(value)), kind
    return None, kind


def decode(value, arrays: list, datasets: list, callback, module=None):
    if isinstance(value, dict):
        if "$a" in value:
            return arrays[value["$a"]]
        if "$function" in value:  # one of the submission's own functions, passed as an argument
            fn = getattr(module, str(value["$function"]), None)
            if not callable(fn):
                raise LookupError(f"no function named '{value['$function']}' in the submission")
            return fn
        if "$dataset" in value:
            dataset = RecordingDataset(value["$dataset"], value["vocab"])
            datasets.append(dataset)
            return dataset
        if "$callback" in value:
            return callback
        return {k: decode(v, arrays, datasets, callback, module) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays, datasets, callback, module) for v in value]
    return value


def make_callback(channel):
    """The pair function handed to skipgram: computed by the grader, which answers only for
    the inputs the current case can legitimately pass."""
    def word2vecLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset=None):
        wire.send(channel, {"op": "callback", "index": int(outsideWordIdx)},
                  (np.asarray(centerWordVec, dtype=float), np.asarray(outsideVectors, dtype=float)))
        header, arrays = wire.receive(channel)
        if header.get("op") != "callback-result":
            raise ValueError(header.get("error", "the grader refused this call"))
        return float(arrays[0]), arrays[1], arrays[2]
    return word2vecLossAndGradient


def call(module, header: dict, arrays: list, channel, path: str, output: BoundedText) -> tuple[dict, tuple]:
    fn = getattr(module, header["function"], None)
    if not callable(fn):
        return {"op": "result", "ok": False, "error": f"no function named '{header['function']}' in the submission",
                "missing": True, "output": ""}, ()
    datasets: list = []
    try:
        callback = make_callback(channel)
        args = decode(header["args"], arrays, datasets, callback, module)
        kwargs = decode(header.get("kwargs") or {}, arrays, datasets, callback, module)
        if not isinstance(kwargs, dict):
            kwargs = {}
    except LookupError as e:
        return {"op": "result", "ok": False, "error": str(e), "missing": True, "output": ""}, ()
    before = [a.copy() for a in arrays]
    start = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except SystemExit as e:
        return {"op": "result", "ok": False, "error": f"the function called sys.exit({e.code!r})", "output": output.take()}, ()
    except BaseException as e:
        return {"op": "result", "ok": False, "error": describe(e, path), "output": output.take()}, ()
    seconds = time.perf_counter() - start
    returns = header["returns"]
    if returns == 0:  # any number of results: a tuple or list is spread, anything else is one
        items = list(value) if isinstance(value, (tuple, list)) else [value]
    else:
        items = [value] if returns == 1 else value
    if returns > 1 and (not isinstance(value, (tuple, list)) or len(value) != returns):
        return {"op": "result", "ok": False, "output": output.take(),
                "error": f"returned {type(value).__name__}{_length(value)}, expected a tuple of {header['returns']}"}, ()
    converted = [to_array(item) for item in items]
    mutated = [i for i, (a, b) in enumerate(zip(before, arrays)) if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)]
    reply = {"op": "result", "ok": True, "kinds": [kind for _, kind in converted], "tuple": isinstance(value, (tuple, list)),
             "valid": [a is not None for a, _ in converted], "mutated": mutated,
             "drawn": [d.drawn for d in datasets], "seconds": seconds, "output": output.take()}
    return reply, tuple(a for a, _ in converted if a is not None)


def _length(value) -> str:
    try:
        return f" of length {len(value)}"
    except Exception:
        return ""


def serve(channel, path: str, confinement: dict) -> None:
    output = BoundedText()
    sys.stdout = sys.stderr = output
    module, error = load(path)
    functions = sorted(k for k, v in vars(module).items() if callable(v)) if module else []
    wire.send(channel, {"op": "ready", "error": error, "output": output.take(), "functions": functions[:200],
                        "confinement": confinement})
    while True:
        header, arrays = wire.receive(channel)
        if header.get("op") != "call":
            return
        reply, results = call(module, header, arrays, channel, path, output)
        wire.send(channel, reply, results)
