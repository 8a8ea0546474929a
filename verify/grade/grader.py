"""Grade one submission: run every case in the sandbox, compare with the reference here,
score each rubric test and explain each failure in the derivation's terms.

The child only ever computes; everything that decides a score happens in this process,
on plain float64 arrays checked for shape before they are compared.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..check import check_gradient
from . import assignment, tree
from .assignment import Case, Function
from .diagnose import close, diagnose, where_wrong
from .results import Grade, TestResult, distinct_diagnoses
from .rubric import Rubric, Test
from .sandbox import ProbeFailed, Reply, Sandbox, Session, float_view

GRADIENT_SEED = 7


class SubmissionError(Exception):
    """The submission path is not something to grade (no such file, no entry file in the directory)."""


class GraderError(Exception):
    """The grader itself could not run (the sandbox failed to start), whatever the submission."""


@dataclass(frozen=True)
class Run:
    """One case: what was sent, what came back, what was expected (or why nothing can be), and which
    outputs are right (compared once: the tests and the credit gate all ask)."""
    case: Case
    reply: Reply
    expected: tuple | str | None  # None: the call failed
    right: tuple[bool, ...] = ()


class EntryMissing(SubmissionError):
    """A submission directory without the file to grade: the student gets a zero that says so."""


def submission_files(path: Path, rubric: Rubric) -> tuple[list[str], str]:
    """(files to copy into the child's directory, the entry file's name).  In a directory the
    entry is rubric.file, also one level or more down (an uploaded folder), else its only .py."""
    path = Path(os.path.abspath(path))  # as tree lists its files (a relative folder was refused with a traceback)
    if path.is_dir() and "/" in rubric.file:
        return _package_files(path, rubric)
    if path.is_dir():
        entry = path / rubric.file
        if not entry.is_file():
            listed = [Path(p) for p, _, is_dir in tree.entries(str(path)) if not is_dir and not _hidden(Path(p), path)]
            nested = [p for p in listed if p.name == rubric.file]
            python = [p for p in listed if p.parent == path and p.suffix == ".py"]
            if len(nested) == 1:
                entry = nested[0]
            elif len(python) == 1:
                entry = python[0]
            else:
                found = [str(p.relative_to(path)) for p in listed if p.suffix == ".py"][:8]
                raise EntryMissing(f"no {rubric.file} in the submission"
                                   + (f" (found: {', '.join(found)})" if found else " (it has no Python file)"))
        files = [str(p) for p in sorted(entry.parent.iterdir()) if not p.name.startswith(".")]
        return files + list(rubric.support), entry.name
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file or directory")
    if path.suffix != ".py":
        raise SubmissionError(f"{path}: not a Python file (.py)")
    return [str(path)] + list(rubric.support), path.name


def _package_files(path: Path, rubric: Rubric) -> tuple[list[str], str]:
    """A rubric's file inside a package (cs231n/classifiers/fc_net.py): the submission is the folder that
    holds the package, found at the top or further down (an uploaded folder); all of it is copied, so the
    entry's imports of its own package (from ..layers import *) find the student's other files."""
    listed = [Path(p) for p, _, is_dir in tree.entries(str(path)) if not is_dir and not _hidden(Path(p), path)]
    found = [p for p in listed if p.as_posix().endswith("/" + rubric.file)]
    if len(found) != 1:
        names = [str(p.relative_to(path)) for p in listed if p.suffix == ".py"][:8]
        raise EntryMissing(f"no {rubric.file} in the submission" if not found else
                           f"{len(found)} copies of {rubric.file} in the submission"
                           + (f" (found: {', '.join(names)})" if names and not found else ""))
    root = Path(found[0].as_posix()[: -len(rubric.file)])
    files = [str(p) for p in sorted(root.iterdir()) if not p.name.startswith(".")]
    return files + list(rubric.support), rubric.file


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)


def fingerprint(path: Path, rubric: Rubric) -> str:
    """sha256 of the files that would be graded (names and contents); links are not followed."""
    try:
        return _digest(submission_files(path, rubric)[0])
    except SubmissionError as e:
        return hashlib.sha256(str(e).encode()).hexdigest()


def _digest(files: list[str]) -> str:
    """sha256 of the files as the child gets them (tree's bounded walk: what is not copied is not graded)."""
    digest = hashlib.sha256()
    for name in files:
        for path, relative, is_dir in sorted(tree.entries(name), key=lambda e: e[1]):
            if not is_dir:
                with open(path, "rb") as f:
                    digest.update(relative.encode() + b"\0" + f.read() + b"\0")
    return digest.hexdigest()


WAITED = 0.5        # an import or a call that timed out having computed less than this share of the time was kept
IMPORT_RETRY = 3.0  # waiting, and is tried once more with this many times the timeout (within the submission's budget)


def kept_waiting(ready: dict, timeout: float) -> bool:
    """Whether an import that timed out spent its time waiting (for a CPU or the disk, on a busy machine)
    rather than computing."""
    return bool(ready.get("timed_out")) and _waited(ready.get("cpu_seconds"), timeout)


def _waited(cpu_seconds, timeout: float) -> bool:
    """Less than WAITED of the timeout on a CPU (None: not known, so not)."""
    return isinstance(cpu_seconds, (int, float)) and cpu_seconds < WAITED * timeout


class _Child:
    """The submission's current sandboxed process; after a timeout or a crash, a fresh one.  Every
    call ends by the submission's deadline (the rubric's budget), however many calls remain."""

    def __init__(self, sandbox: Sandbox, files: list[str], entry: str, timeout: float, deadline: float | None = None,
                 size_timeout: float = 1.0, compat: tuple = ()):
        self.sandbox, self.files, self.entry, self.timeout, self.deadline = sandbox, files, entry, timeout, deadline
        self.compat = compat
        self.size_timeout = size_timeout
        self.session: Session | None = None
        self.confinement: dict = {}
        self.ready = self._open()

    def _open(self, timeout: float | None = None) -> dict:
        self.session, ready = self.sandbox.open(self.files, self.entry, timeout or self.timeout, self.deadline,
                                                self.compat)
        if ready.get("setup_error"):
            self.session.close()
            raise GraderError(f"the sandbox could not start: {ready['setup_error']}")
        self.confinement = self.confinement or self.session.confinement
        if timeout is None and kept_waiting(ready, self.timeout):
            # the machine's fault, never the student's: once more, longer (a submission that sleeps gains nothing)
            return self._open(IMPORT_RETRY * self.timeout)
        return ready

    def call(self, function: Function, case: Case, arrays: tuple, callback: Callable | None = None) -> Reply:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return Reply(False, error="not run: the submission's time budget is spent", budget=True)
        if not self.session.alive:
            ready = self._open()
            if ready.get("error") or not self.session.alive:
                return Reply(False, error=ready.get("error") or "the submission could not be restarted", died=True)
        # the full-size case has a limit of its own: an analytic gradient takes milliseconds there, one taken
        # numerically, coordinate by coordinate, seconds to minutes
        timeout = min(self.timeout, self.size_timeout) if case.kind == "size" else self.timeout
        reply = self._call(function, case, arrays, callback, timeout)
        if reply.timed_out and not reply.budget and _waited(reply.cpu_seconds, timeout):
            # as for the import: the machine kept the call from a CPU, so once more (in a fresh child), longer
            ready = self._open()
            if not ready.get("error") and self.session.alive:
                reply = self._call(function, case, arrays, callback, IMPORT_RETRY * timeout)
                if reply.timed_out and not reply.budget:  # say why the limit is not the rubric's
                    reply = dataclasses.replace(reply, error=f"no answer within {IMPORT_RETRY * timeout:g} s, its second "
                                                f"chance after {timeout:g} s spent mostly not computing (waiting, or "
                                                "sleeping; or an infinite loop, or far too slow)")
        return reply

    def _call(self, function: Function, case: Case, arrays: tuple, callback: Callable | None, timeout: float) -> Reply:
        how = case.call
        return self.session.call(how.get("method", function.name), list(case.args), arrays, function.returns,
                                 timeout, callback, kwargs=how.get("kwargs"), deadline=self.deadline,
                                 stand_ins=case.stand_ins, extra={k: how[k] for k in ("object", "optional") if k in how})

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def grade(path: Path, rubric: Rubric, sandbox: Sandbox, seed: int | None = None) -> Grade:
    start = time.perf_counter()
    seed = rubric.hidden_seed if seed is None and rubric.hidden_seed is not None else seed
    seed = secrets.randbits(63) if seed is None else seed
    try:
        files, entry = submission_files(path, rubric)
    except EntryMissing as e:  # graded, as zero, so that the student reads why
        tests = tuple(_not_run(test, i + 1, f"Not run: {e}.") for i, test in enumerate(rubric.tests))
        grade_ = _grade(str(path), tests, rubric, time.perf_counter() - start, str(e), {}, "", missing=True)
        return dataclasses.replace(grade_, seed=seed, fingerprint=fingerprint(path, rubric))
    stamp = {"seed": seed, "fingerprint": _digest(files)}
    child = _Child(sandbox, files, entry, rubric.timeout, time.monotonic() + rubric.budget, rubric.size_timeout,
                   rubric.compat)
    try:
        load_error = child.ready.get("error")
        _environment_failure(sandbox, load_error, rubric)
        if load_error:
            tests = tuple(_not_run(test, i + 1, f"The submission could not be imported: `{_code(load_error)}`")
                          for i, test in enumerate(rubric.tests))
        else:
            runs = {name: _run_function(child, rubric.functions[name], rubric, seed)
                    for name in dict.fromkeys(t.function for t in rubric.tests)}
            for reply in (r.reply for kinds in runs.values() for rs in kinds.values() for r in rs if not r.reply.ok):
                _environment_failure(sandbox, reply.error, rubric)
            tests = tuple(_score(test, i + 1, runs[test.function], rubric, child, seed)
                          for i, test in enumerate(rubric.tests))
        confinement = child.confinement
    finally:
        child.close()
    return dataclasses.replace(_grade(str(path), tests, rubric, time.perf_counter() - start, load_error, confinement,
                                      child.ready.get("output") or ""), **stamp)


IMPORT_FAILURE = re.compile(r"(?:ModuleNotFoundError|ImportError): (?:No module named|cannot import name \S+ from) "
                            r"'([A-Za-z_][\w.]*)'|PermissionError: .*?'(/[^']+)'")


def _environment_failure(sandbox: Sandbox, error: str | None, rubric: Rubric) -> None:
    """GraderError if error is an import of the standard library or an allowed package failing in
    the sandbox: that is the machine's fault, never the student's.  A fresh confined child imports
    the module again to tell the two apart: if it can, the submission broke its own imports."""
    found = IMPORT_FAILURE.search(error or "")
    if not found:
        return
    module = found.group(1)
    if module is None:  # a file it may not read: which module's?
        path = found.group(2)
        module = next((m for m in sys.stdlib_module_names if f"/{m}/" in path or path.endswith(f"/{m}.py")), None)
    if module is None:
        return
    top = module.split(".")[0]
    if top not in sys.stdlib_module_names and top not in ("numpy",) + tuple(rubric.packages):
        return
    try:
        sandbox.prove_imports((module,))
    except ProbeFailed as e:
        raise GraderError(f"the sandbox cannot import what submissions may ({e}); nothing was graded") from None


def _code(text: str) -> str:
    """Text from the submission (errors, type names), made safe to sit in a Markdown code span."""
    return " ".join(str(text).replace("`", "'").split())[:500]


def _not_run(test: Test, number: int, why: str) -> TestResult:
    return TestResult(test.name, str(number), 0.0, test.points, False, why, test.visibility)


# -- running the cases -------------------------------------------------------------------------


def _run_function(child: _Child, function: Function, rubric: Rubric, seed: int) -> dict[str, list[Run]]:
    """Every case of one function, public, hidden and large, each called once; after a timeout
    the function's remaining cases are not run (each would time out too)."""
    counts = {"public": rubric.public_cases, "hidden": rubric.hidden_cases, "large": 1, "size": int(function.sized)}
    runs: dict[str, list[Run]] = {}
    stop: Reply | None = None
    for kind, count in counts.items():
        runs[kind] = []
        for case in assignment.cases(function, kind, count, seed):
            if stop is not None:
                why = stop.error if stop.budget else f"not run, as an earlier case failed this way: {stop.error}"
                runs[kind].append(Run(case, Reply(False, error=why, timed_out=stop.timed_out, missing=stop.missing,
                                                  budget=stop.budget), None))
                continue
            callback = function.callback(case, None) if function.callback else None
            reply = child.call(function, case, case.arrays, callback)
            if reply.timed_out or reply.missing or reply.budget:
                stop = reply
            expected = function.expected(case, reply.drawn) if reply.ok else None
            runs[kind].append(Run(case, reply, expected, _rights(function, reply, expected, rubric)))
    return _convention(function, runs, rubric) if function.variants else runs


def _convention(function: Function, runs: dict[str, list[Run]], rubric: Rubric) -> dict[str, list[Run]]:
    """The runs judged by the convention the submission follows, among those the rubric accepts (reg |W|^2
    or 0.5 reg |W|^2: the same model at another value of a scalar): the one under which most outputs of
    the ordinary cases are right, the model's own on a tie."""
    def judged(transform) -> dict[str, list[Run]]:
        out = {}
        for kind, rs in runs.items():
            out[kind] = []
            for run in rs:
                case = dataclasses.replace(run.case, data={**transform(run.case.data),
                                                                  assignment.BASE: run.case.data})
                expected = function.expected(case, run.reply.drawn) if run.reply.ok else None
                out[kind].append(Run(case, run.reply, expected, _rights(function, run.reply, expected, rubric)))
        return out

    def right(candidate: dict[str, list[Run]]) -> int:
        return sum(sum(run.right) for kind in ("public", "hidden", "size") for run in candidate.get(kind, ()))

    best = runs
    for transform in function.variants:
        candidate = judged(transform)
        if right(candidate) > right(best):
            best = candidate
    return best


# -- scoring -----------------------------------------------------------------------------------


def _score(test: Test, number: int, runs: dict[str, list[Run]], rubric: Rubric, child: _Child, seed: int) -> TestResult:
    function = rubric.functions[test.function]
    if test.check in ("large", "gradient", "hygiene") and not _anything_right(function, runs, rubric):
        # stability, self-consistency and tidiness earn points only for code that computes something
        # right: a function returning zeros is finite, consistent and well shaped
        failed = next((r.reply.error for rs in runs.values() for r in rs if not r.reply.ok), None)
        return _not_run(test, number, f"Not run: `{_code(failed)}`" if failed else
                        "Not credited: none of the function's outputs is right on any hidden case.")
    if test.check == "gradient":
        return _gradient_test(test, number, function, rubric, child, seed)
    ordinary = runs["public"] + runs["hidden"] + runs["size"]
    chosen, values = ordinary, set(test.outputs)
    if test.check == "large":
        # large scores judge stability: an output already wrong at ordinary scores is held only
        # to being finite here, so one mistake is not charged twice
        chosen = runs["large"]
        values = {name for name in test.outputs
                  if all(_right(function, run, function.outputs.index(name), rubric) for run in ordinary)}
    verdicts = [(run, _verdict(test, function, run, rubric, values)) for run in chosen]
    passed = sum(1 for _, v in verdicts if v[0])
    fraction = passed / max(len(verdicts), 1)
    score = test.points * (fraction if test.partial else float(fraction == 1.0))
    diagnoses = tuple(dict.fromkeys(d for _, v in verdicts for d in v[2]))
    return TestResult(test.name, str(number), round(score, 4), test.points, passed == len(verdicts),
                      _test_output(passed, verdicts, diagnoses), test.visibility, diagnoses)


def _anything_right(function: Function, runs: dict[str, list[Run]], rubric: Rubric) -> bool:
    """Some output right on a hidden case: the public cases do not count, since their expected values
    can be seen (and, with a fixed seed, replayed) without any of the math."""
    return any(_right(function, run, i, rubric) for run in runs["hidden"] + runs["size"]
               for i in range(function.returns))


def _right(function: Function, run: Run, index: int, rubric: Rubric) -> bool:
    """Whether output index of this case came back and matches what is expected."""
    return index < len(run.right) and run.right[index]


def _rights(function: Function, reply: Reply, expected, rubric: Rubric) -> tuple[bool, ...]:
    if not reply.ok or not isinstance(expected, tuple):
        return ()
    got = _outputs(function, reply)
    return tuple(have is not None and close(_as_expected(have, want), want, *_tolerance(rubric, _kind(function, reply, i)))
                 for i, (have, want) in enumerate(zip(got, expected)))


FLOAT32 = (1e-3, 1e-6)  # (rtol, atol) for an output computed in float32, whose epsilon is 1.2e-7


def _tolerance(rubric: Rubric, kind: str) -> tuple[float, float]:
    """The rubric's tolerance, or float32's where the output was computed in float32: right to float32
    precision is right (its dtype costs the hygiene point, once), a 1% error is still wrong."""
    if kind == "float32" or kind.startswith("ndarray float32"):
        return max(rubric.rtol, FLOAT32[0]), max(rubric.atol, FLOAT32[1])
    return rubric.rtol, rubric.atol


def _as_expected(have: np.ndarray, want: np.ndarray) -> np.ndarray:
    """have in want's shape where the two differ only by axes of length 1 (a loss as a 1-element array,
    a gradient as (1, d) or (d, 1) for (d,)): the values are judged here, the shape once, by the
    hygiene test."""
    return have.reshape(want.shape) if shape_only(have.shape, want.shape) else have


def shape_only(have: tuple, want: tuple) -> bool:
    """Whether two different shapes hold the same entries in the same order (they differ only by axes of 1)."""
    return tuple(have) != tuple(want) and [n for n in have if n != 1] == [n for n in want if n != 1]


def _verdict(test: Test, function: Function, run: Run, rubric: Rubric,
             values: set[str]) -> tuple[bool, list[str], list[str]]:
    """(passed, lines of feedback, diagnoses) for one case; outputs of the test outside values
    are only required to be finite arrays of the right shape."""
    label, reply = run.case.label, run.reply
    if not reply.ok:
        why = (" (at this size an analytic gradient takes milliseconds; one computed numerically, coordinate by "
               "coordinate, cannot finish)") if run.case.kind == "size" and reply.timed_out and not reply.budget else ""
        return False, [f"{label}: `{_code(reply.error)}`{why}"], [_error_diagnosis(reply)]
    if isinstance(run.expected, str):
        return False, [f"{label}: {run.expected}"], ["the draws it made cannot be followed by the reference"]
    if test.check == "hygiene":
        return _hygiene(function, run)
    got = _outputs(function, reply)
    expected = {function.role(i): e for i, e in enumerate(run.expected)}
    lines, diagnoses = [], []
    for i, name in enumerate(function.outputs):
        if name not in test.outputs:
            continue
        want, have = run.expected[i], got[i]
        if have is None:
            lines.append(f"{label}: {name} is `{_code(_kind(function, reply, i))}`, not an array of numbers")
            diagnoses.append(f"{name} is not an array of numbers")
            continue
        have = _as_expected(have, want)
        rtol, atol = _tolerance(rubric, _kind(function, reply, i))
        if _right(function, run, i, rubric):
            continue
        if name not in values and np.all(np.isfinite(have)):
            continue
        try:  # the full-size case shows the same mistakes as the others, at 100 times their cost to name
            found = None if run.case.kind == "size" else diagnose(function, run.case, expected, reply.drawn, i, name,
                                                                   have, rtol, atol)
        except Exception:  # a diagnosis is advice: a failure to find one must not stop the grading
            found = None
        if found:
            diagnoses.append(found)
        lines.append(f"{label}: {_difference(name, have, want, run.case.kind, rubric)}")  # the why is said once, above
    return not lines, lines, diagnoses


def _outputs(function: Function, reply: Reply) -> list[np.ndarray | None]:
    """Each output as float64 numbers, or None where it is missing or not numbers."""
    if function.paths is not None:  # outputs inside what is returned: a dict's entries
        return [_float_at(reply.values, path) for path in function.paths]
    arrays = iter(reply.arrays)
    return [next(arrays, None) if ok else None for ok in reply.valid] + [None] * (function.returns - len(reply.valid))


def _float_at(values: tuple, path: tuple) -> np.ndarray | None:
    value = values
    for step in path:
        if isinstance(step, int) and isinstance(value, (tuple, list)) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return None
    return float_view(value)


def _kind(function: Function, reply: Reply, index: int) -> str:
    """How output index was returned ('ndarray float32 (3, 4)', 'float'), as far as is known."""
    if function.paths is not None:
        path = function.paths[index]
        if len(path) == 1 and path[0] < len(reply.kinds):
            return reply.kinds[path[0]]
        got = _float_at(reply.values, path)
        return "missing" if got is None else f"ndarray float64 {tuple(got.shape)}"  # nested: float32 crossed as float64
    return reply.kinds[index] if index < len(reply.kinds) else "missing"


def _difference(name: str, have: np.ndarray, want: np.ndarray, kind: str, rubric: Rubric) -> str:
    fixed = rubric.hidden_seed is not None
    if have.shape != want.shape:
        return f"{name} has shape {have.shape}, expected {want.shape}"
    if not np.all(np.isfinite(have)):
        return f"{name} contains inf or NaN"
    if kind == "public" and want.size <= 16 and not fixed:  # public cases may show numbers; hidden ones never do
        # (nor public ones when the seed is fixed: the same case every run, its numbers could be replayed)
        return f"{name} is {_short(have)}, expected {_short(want)}"
    return f"{name} is {where_wrong(have, want, rubric.rtol, rubric.atol)}"


def _short(x: np.ndarray) -> str:
    return "`" + np.array2string(x, precision=6, separator=", ", max_line_width=10**6).replace("\n", " ") + "`"


def _hygiene(function: Function, run: Run) -> tuple[bool, list[str], list[str]]:
    """Types, shapes and inputs kept; an argument the rubric lets the function change in place is told
    in the feedback without failing the case."""
    lines, reply = [], run.reply
    for i, name in enumerate(function.outputs):
        kind = _kind(function, reply, i)
        want = run.expected[i]
        ok_float = kind in ("float", "float64") or kind.startswith("ndarray float64")
        if want.ndim == 0 and not (kind in ("float", "float64") or kind.startswith("ndarray float64 ()")):
            lines.append(f"{name} should be a float, it is `{_code(kind)}`")
        elif want.ndim > 0 and not (ok_float and kind.startswith("ndarray") and f"{tuple(want.shape)}" in kind):
            got = _outputs(function, reply)[i]
            if got is not None and shape_only(got.shape, want.shape):
                lines.append(f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}: its values are right, "
                             f"its shape is not (return a 1-D array: .reshape({', '.join(map(str, want.shape))}))"
                             if want.ndim == 1 else f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}: "
                             "its values are right, its shape is not")
            else:
                lines.append(f"{name} should be a float64 array of shape {tuple(want.shape)}, it is `{_code(kind)}`")
    changed = [function.argument(i) for i in reply.mutated]
    mutated = [a for a in changed if a not in function.may_change]
    allowed = [a for a in changed if a in function.may_change]
    label, wrong = run.case.label, [f"{run.case.label}: {line}" for line in lines]
    diagnoses = ["wrong output types or shapes"] if lines else []
    if mutated:
        wrong.append(f"{label}: the function changed its input {', '.join(mutated)} in place")
        diagnoses.insert(0, "inputs changed in place")
    # one line for every case alike (the feedback lists each distinct line once)
    notes = [f"note (not deducted): the function changed its input {', '.join(allowed)} in place: harmless where "
             "the caller never reads it again, as in the course's network, wrong where it does"] if allowed else []
    return not wrong, wrong + notes, diagnoses


def _error_diagnosis(reply: Reply) -> str:
    """A short name for a failed call.  The exception's type name is the submission's to choose
    (type("=HYPERLINK(...)", (Exception,), {})): it is used only if it is a Python name, so it is safe
    in Markdown, CSV and terminal markup alike."""
    if reply.budget:
        return "time budget spent"
    if reply.missing:
        return "function missing"
    if reply.timed_out:
        return "timed out"
    if reply.died:
        return "process ended (crash, exit or resource limit)"
    name = reply.error.split(":")[0].split(" (")[0]
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,59}", name) else "raised an exception"


def _test_output(passed: int, verdicts: list, diagnoses: tuple[str, ...]) -> str:
    total = len(verdicts)
    def kind(run):  # the full-size case is one more hidden case to the student
        return "hidden" if run.case.kind == "size" else run.case.kind
    kinds = sorted({kind(run) for run, _ in verdicts})
    what = " and ".join(f"{sum(1 for run, _ in verdicts if kind(run) == k)} {k}" for k in ("public", "hidden", "large")
                        if k in kinds)
    if passed == total:
        notes = list(dict.fromkeys(line for _, v in verdicts for line in v[1]))
        return f"Passed {'the' if total == 1 else 'all'} {total} case{'s' if total != 1 else ''} ({what})." + \
            "".join(f"\n- {line}" for line in notes[:8])
    parts = [f"Passed {passed} of {total} case{'s' if total != 1 else ''} ({what})."]
    if diagnoses:
        parts.append("\n**Likely mistake:** " + "; ".join(diagnoses[:3]))
    lines = list(dict.fromkeys(line for _, v in verdicts for line in v[1]))
    parts.append("\n" + "\n".join(f"- {line}" for line in lines[:8]) + ("\n- ..." if len(lines) > 8 else ""))
    outputs = [run.reply.output for run, v in verdicts if not v[0] and run.reply.output]
    if outputs:
        parts.append("\nYour code printed (first failing case, truncated):\n\n```text\n" + outputs[0][:1500].replace("```", "'''") + "\n```")
    return "\n".join(parts)


# -- gradient self-consistency -----------------------------------------------------------------


def _gradient_test(test: Test, number: int, function: Function, rubric: Rubric, child: _Child, seed: int) -> TestResult:
    """Whether the returned gradients are the derivatives of the returned loss, at the public case's point
    moved in random directions: each array the function declares a gradient of is differentiated."""
    case = assignment.cases(function, "public", 1, seed + GRADIENT_SEED)[0]
    wrt = function.gradients  # (array, output)
    names = tuple(function.argument(a) for a, _ in wrt)

    failures: list[str] = []

    def proxy(**arrays):
        values = tuple(arrays[n] for n in names)
        if any(np.iscomplexobj(a) for a in values):
            raise TypeError("the sandbox passes real float64 arrays only")
        sent = list(case.arrays)
        for (index, _), value in zip(wrt, values):
            sent[index] = np.asarray(value, dtype=np.float64)
        callback = function.callback(case, tuple(sent)) if function.callback else None
        reply = child.call(function, case, tuple(sent), callback)
        if not reply.ok:
            failures.append(reply.error)
            raise RuntimeError(reply.error)
        got = _outputs(function, reply)
        if any(g is None for g in got):
            failures.append("the function did not return arrays of numbers")
            raise TypeError(failures[-1])
        # the derivative is judged on the values, in the precision the code computes in: a (1, d) gradient
        # of a (d,) input is checked as (d,) (its shape is the hygiene test's), float32 code as float32
        loss = _as_computed(got[function.loss], _kind(function, reply, function.loss), None)
        return (loss,) + tuple(_as_computed(got[o], _kind(function, reply, o), value)
                               for (_, o), value in zip(wrt, values))

    inputs = {name: case.arrays[index] for name, (index, _) in zip(names, wrt)}
    labels = {name: function.outputs[o] for name, (_, o) in zip(names, wrt)}
    # random directions, not every coordinate: each evaluation is a round trip to the sandbox, and a few
    # directions decide consistency as surely (a failure is then localised to its entries)
    result = check_gradient(proxy, inputs, labels=labels, seed=seed % (2**32), name=function.name, full_limit=0)
    if failures:  # the check could not finish: say why, not that the gradient is wrong
        return TestResult(test.name, str(number), 0.0, test.points, False,
                          f"Not checked: your function failed while the check called it: `{_code(failures[0])}`",
                          test.visibility)
    if result.passed:
        return TestResult(test.name, str(number), test.points, test.points, True,
                          f"Passed: every partial derivative of your loss matches your gradient "
                          f"({result.evaluations} evaluations, central differences).", test.visibility)
    lines = []
    for check in result.checks:
        if not check.passed:
            worst = ", ".join(f"{e.index}: yours {e.analytic:.4g}, finite differences {e.numeric:.4g}" for e in check.worst[:3])
            lines.append(f"{labels.get(check.input, check.input)} disagrees with the derivative of your loss ({worst})")
    lines += [f.message for f in result.hygiene if f.severity == "error"]
    diagnosis = "gradient inconsistent with the loss"
    return TestResult(test.name, str(number), 0.0, test.points, False,
                      "Failed: your gradient is not the derivative of your own loss.\n\n" +
                      "\n".join(f"- `{_code(line)}`" for line in lines[:6]), test.visibility, (diagnosis,))


def _as_computed(value: np.ndarray, kind: str, like: np.ndarray | None) -> np.ndarray:
    """A returned value as the submission computed it: in its input's shape where they differ only by
    axes of length 1, and back in float32 if it was float32 (exactly: it crossed the wire as float64)."""
    if like is not None and shape_only(value.shape, like.shape):
        value = value.reshape(like.shape)
    if kind.split(" (")[0] in ("float32", "ndarray float32") or kind.startswith("ndarray float32 "):
        value = value.astype(np.float32)
    return value


# -- the whole -----------------------------------------------------------------------------------


def _grade(name, tests, rubric, seconds, load_error, confinement, import_output, missing=False) -> Grade:
    score = round(sum(t.score for t in tests), 4)
    lines = [f"**Score: {score:g} / {rubric.max_score:g}**"]
    if load_error:
        lines.append(f"\n{'No test could run' if missing else 'Your file could not be imported, so no test could run'}: "
                     f"`{_code(load_error)}`")
    diagnoses = distinct_diagnoses(tests)
    if diagnoses and not load_error:
        lines.append("\nWhat looks wrong:\n" + "\n".join(f"- {d}" for d in diagnoses[:10]))
    if import_output:
        lines.append("\nYour file printed while being imported (truncated):\n\n```text\n" + import_output[:1000].replace("```", "'''") + "\n```")
    return Grade(name, score, rubric.max_score, tests, "\n".join(lines), seconds, load_error, confinement)
