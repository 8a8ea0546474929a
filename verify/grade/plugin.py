"""A pytest plugin: course staff write their own tests against a submission, which runs in the
same sandbox as `gradproof grade` (its own confined process, nothing shared but plain data).

    pytest --submission path/to/word2vec.py staff_tests.py

    def test_center_gradient(submission, reference):
        v, U = ...
        loss, g_center, g_outside = submission.naiveSoftmaxLossAndGradient(v, 3, U, sandbox_dataset([1, 2, 3]))
        assert np.allclose(g_center, reference.naiveSoftmaxLossAndGradient(v, 3, U, None)[1])

Arguments may be arrays (float, integer or boolean: a label array stays integer), numbers, strings,
None, tuples, lists and dicts of them, a `sandbox_dataset(sequence)`, or another of the
submission's functions (`submission.name`).  Results come back as they were returned: arrays in
their kind (float arrays as float64, integer ones as int64, boolean ones as bool), numbers, strings,
None, tuples, lists and dicts of them (`(out, cache)`, `(loss, grads)`); an object of the
submission's own class crosses as a placeholder naming its type (wire.Opaque).  A call that raises, hangs past
the timeout or kills its process raises SubmissionFailed in the test; the next call gets a
fresh process.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from . import wire


class SubmissionFailed(Exception):
    """The submission's function raised, hung, died or returned something that is not numbers."""


@dataclass(frozen=True)
class sandbox_dataset:  # noqa: N801 - reads like the helper it stands for
    """A dataset whose sampler method replays sequence inside the sandbox; see Call.drawn.  The method's
    name is `sampler`, or (None) the one the rubric's dataset arguments declare in their model files."""
    sequence: tuple
    vocab: int = 0
    sampler: str | None = None

    def __init__(self, sequence, vocab: int = 0, sampler: str | None = None):
        object.__setattr__(self, "sequence", tuple(int(s) for s in sequence))
        object.__setattr__(self, "vocab", int(vocab or (max(self.sequence, default=0) + 1)))
        object.__setattr__(self, "sampler", None if sampler is None else str(sampler))


@dataclass(frozen=True)
class Call:
    """What the last call reported besides its results."""
    drawn: tuple = ()      # samples each dataset handed out
    mutated: tuple = ()    # positions (among the array arguments) changed in place
    output: str = ""       # what the function printed, truncated


class _Function:
    def __init__(self, owner: "Submission", name: str):
        self.owner, self.name = owner, name

    def __call__(self, *args, **kwargs):
        return self.owner._call(self.name, args, kwargs)


class Submission:
    """The submission's functions, each proxied into its sandboxed process."""

    def __init__(self, sandbox, files: list[str], entry: str, timeout: float, compat: tuple = (),
                 samplers: tuple = ()):
        self._sandbox, self._files, self._entry, self._timeout = sandbox, files, entry, timeout
        self._compat, self._samplers = compat, tuple(samplers)
        self._session = None
        self.last = Call()
        self.import_error = self._open()

    def _open(self) -> str | None:
        self._session, ready = self._sandbox.open(self._files, self._entry, self._timeout, compat=self._compat)
        if ready.get("setup_error"):
            raise RuntimeError(f"the gradproof sandbox could not start: {ready['setup_error']}")
        return ready.get("error")

    def __getattr__(self, name: str) -> _Function:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Function(self, name)

    def _call(self, name: str, args: tuple, kwargs: dict):
        if self.import_error:
            raise SubmissionFailed(f"the submission could not be imported: {self.import_error}")
        if not self._session.alive:
            self._open()
        arrays: list[np.ndarray] = []
        encoded = [_encode(a, arrays, self._samplers) for a in args]
        named = {str(k): _encode(v, arrays, self._samplers) for k, v in kwargs.items()}
        reply = self._session.call(name, encoded, tuple(arrays), 0, self._timeout, kwargs=named)
        if not reply.ok:
            raise SubmissionFailed(f"{name}: {reply.error}")
        self.last = Call(reply.drawn, reply.mutated, reply.output)
        values = [_scalar(v) for v in reply.values]
        if not values:
            return ()
        return tuple(values) if reply.many else values[0]

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _scalar(value):
    """A 0-d array as the Python number it holds (as the submission's value would be used); the rest as is."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value) if value.dtype.kind == "f" else value.item()
    return value


def _encode(value, arrays: list, samplers: tuple = ()):
    """value packed for the wire (wire.pack), with the plugin's own markers: a submission function, a
    replayed dataset (its sampler named, or the rubric's).  Anything else that cannot cross is refused
    here, not turned into a placeholder."""
    if isinstance(value, _Function):
        return {"$function": value.name}
    if isinstance(value, sandbox_dataset):
        if value.sampler is None and len(samplers) != 1:
            raise TypeError("sandbox_dataset(...) needs sampler=NAME (the method the submission calls to draw): the "
                            "rubric's functions declare " + (f"several ({', '.join(samplers)})" if samplers else "none"))
        return {"$dataset": list(value.sequence), "sampler": value.sampler or samplers[0]}
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise TypeError(f"cannot send an array of {value.dtype} into the sandbox (float, integer or boolean only)")
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, samplers) for v in value]
        return items if isinstance(value, list) else {"$t": items}
    if isinstance(value, dict):
        return {"$d": {str(k): _encode(v, arrays, samplers) for k, v in value.items()}}
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return wire.pack(value, arrays)
    raise TypeError(f"cannot send a {type(value).__name__} into the sandbox (arrays, numbers, strings, None, "
                    "tuples, lists, dicts, sandbox_dataset or submission functions only)")


def _seconds(text: str) -> float:
    """A call's time limit: a positive number of seconds (0 would fail every call and blame the code)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not '{text}'") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"a time limit is a positive number of seconds, not {text}")
    return value


def pytest_addoption(parser):
    group = parser.getgroup("gradproof", "grading a submission in gradproof's sandbox")
    group.addoption("--submission", metavar="PATH", help="the submission under test (.py file or directory)")
    group.addoption("--submission-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                    help="wall-clock limit per call (default 10)")
    group.addoption("--submission-rubric", metavar="FILE",
                    help="a gradproof rubric whose 'file', 'support' and [limits] apply (default: word2vec's)")
    group.addoption("--gradescope-results", metavar="PATH",
                    help="write Gradescope's results.json: each test worth its @pytest.mark.points (default 1), "
                         "seen as its @pytest.mark.visibility says")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): what a staff test is worth in --gradescope-results (default 1)")
    config.addinivalue_line("markers", "visibility(v): a staff test's Gradescope visibility (hidden, after_due_date, "
                                       "after_published, visible)")
    path = config.getoption("--gradescope-results", None)
    if path:
        from .staff import StaffResults
        config.pluginmanager.register(StaffResults(path), "gradproof-staff-results")


@pytest.fixture(scope="session")
def submission(request):
    """The submission given with --submission, its functions proxied into the sandbox."""
    from .grader import SubmissionError, submission_files
    from .rubric import RubricError, load
    from .sandbox import Sandbox

    path = request.config.getoption("--submission")
    if not path:  # an error, not a skip: a staff suite that tested nothing must not look green
        pytest.fail("the 'submission' fixture needs --submission PATH", pytrace=False)
    try:
        rubric = load(request.config.getoption("--submission-rubric"))
        files, entry = submission_files(Path(path), rubric)
    except (SubmissionError, RubricError) as e:
        pytest.fail(str(e), pytrace=False)
    with Sandbox(limits=rubric.limits, packages=rubric.packages) as sandbox:
        samplers = tuple(dict.fromkeys(s for f in rubric.functions.values() for s in f.samplers))
        proxy = Submission(sandbox, files, entry, request.config.getoption("--submission-timeout"), rubric.compat,
                           samplers)
        yield proxy
        proxy.close()


@pytest.fixture(scope="session")
def reference():
    """gradproof's generated, proved reference module (runs here, never in the sandbox)."""
    from gradproof.derive import reference as module
    return module
