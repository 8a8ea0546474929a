"""Run a check in a child process: import the user's file, check one function, report.

The parent (``gradproof verify FILE.py:FUNCTION``) starts this module and hands it its task on
standard input (never on the command line): the target, the inputs, where to write the result
and a one-time key.  Whatever the user's code does (crash, hang, exit, print, start processes),
the parent stays up and reports:

- the child is a supervisor: it forks the worker that imports the user's code, makes itself
  the subreaper of everything the worker starts, and kills all of it (grandchildren that left
  the process group included) when the worker ends or the parent asks it to stop;
- the worker signs its result with the key (HMAC-SHA256) and the parent accepts only a signed
  result of the right shape whose verdict follows from its own checks.  That stops a result
  file forged by the code under test, not code that sets out to read the key from the
  worker's memory: verify is for code you trust; `gradproof grade` confines code you do not.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import importlib.util
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUTPUT_LIMIT = 4000
GRACE = 2.0  # seconds the supervisor gets to clean up after the parent's SIGTERM


class TargetError(Exception):
    """The target could not be checked: not FILE.py:FUNCTION, unloadable, crashed, hung or forged."""


# -- the parent's side ------------------------------------------------------------------------


def run_child(target: str, vocab: int, dim: int, seed: int, timeout: int, signature: str | None = None,
              inputs: str | None = None, sizes: dict | None = None) -> dict:
    """Check FILE.py:FUNCTION in a child process; a crash, hang or forged result there is an
    input error here.  Returns the validated result, with "timing" added."""
    start = time.perf_counter()
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise TargetError(f"target '{target}' is not FILE.py:FUNCTION")
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory(prefix="gradproof-") as tmp:
        result_path = os.path.join(tmp, "result")
        task = {"path": path, "name": name, "vocab": vocab, "dim": dim, "seed": seed, "signature": signature or name,
                "inputs": inputs, "sizes": sizes or {}, "result": result_path, "key": key,
                "progress": sys.stderr.isatty()}
        child = subprocess.Popen([sys.executable, "-m", "gradproof.verify.child"], stdout=subprocess.DEVNULL,
                                 stdin=subprocess.PIPE, start_new_session=True)
        try:
            child.stdin.write((json.dumps(task) + "\n").encode())
            child.stdin.close()
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(child)
            raise TargetError(f"{target}: no result after {timeout} s (it may loop forever); use --timeout to wait longer") from None
        except BrokenPipeError:
            code = child.wait()
        finally:
            _kill_group(child.pid)
        wall = time.perf_counter() - start
        data = _read_result(target, result_path, key, code)
    if "load_error" in data:
        raise TargetError(data["load_error"])
    data["timing"] = {**data.get("timing", {}), "wall_seconds": round(wall, 4)}
    return data


def _stop(child: subprocess.Popen) -> None:
    """Ask the supervisor to kill everything it started, then make sure of its group."""
    try:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=GRACE)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    _kill_group(child.pid)
    child.wait()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_result(target: str, path: str, key: str, code: int) -> dict:
    try:
        text = Path(path).read_text()
    except (OSError, ValueError):
        text = ""
    if not text:
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        raise TargetError(f"{target}: the check process died ({how}) before reporting; "
                          "the function may call sys.exit or crash the interpreter")
    body, _, signature = text.rstrip("\n").rpartition("\n")
    expected = hmac.new(bytes.fromhex(key), body.encode(), hashlib.sha256).hexdigest()
    if code != 0 or not hmac.compare_digest(signature, expected):
        raise TargetError(f"{target}: the check's result was not written by the checker (forged or damaged by the "
                          "code under test); verify is for code you trust: use `gradproof grade` for code you do not")
    try:
        data = json.loads(body)
        problem = validate(data)
    except ValueError as e:
        problem = str(e)
    if problem:
        raise TargetError(f"{target}: the check process returned a malformed result ({problem})")
    return data


_CHECK = {"input": str, "passed": bool, "method": str, "max_abs_error": (int, float, str),
          "max_rel_error": (int, float, str), "tolerance": (int, float, str), "coordinates": int,
          "worst": list, "blocks": list, "note": str}
_RESULT = {"target": str, "passed": bool, "checks": list, "hygiene": list, "seconds": (int, float),
           "evaluations": int, "seed": int, "step": (int, float), "dtype": str, "versions": dict, "output": str}


def validate(data) -> str:
    """'' when data is a result the checker could have written, else what is wrong with it."""
    if not isinstance(data, dict):
        return "not an object"
    if set(data) == {"load_error", "output"}:
        return "" if isinstance(data["load_error"], str) and isinstance(data["output"], str) else "bad load error"
    for shape, item, where in [(_RESULT, data, "result")] + [(_CHECK, c, "check") for c in data.get("checks", [])
                                                             if isinstance(c, dict)]:
        for field, kind in shape.items():
            if field not in item:
                return f"{where} without '{field}'"
            if not isinstance(item[field], kind) or (kind is int and isinstance(item[field], bool)):
                return f"{where} field '{field}' is a {type(item[field]).__name__}"
    checks, hygiene = data["checks"], data["hygiene"]
    if not all(isinstance(c, dict) for c in checks):
        return "a check that is not an object"
    for f in hygiene:
        if not isinstance(f, dict) or not all(isinstance(f.get(k), str) for k in ("kind", "severity", "message")):
            return "a finding without kind, severity and message"
    for c in checks:
        for e in c["worst"]:
            if not isinstance(e, dict) or not isinstance(e.get("index"), str) or \
                    not all(isinstance(e.get(k), (int, float, str)) for k in ("analytic", "numeric")):
                return "an entry without index, analytic and numeric"
        for b in c["blocks"]:
            if not isinstance(b, dict) or not isinstance(b.get("rows"), str):
                return "a block without rows"
    verdict = bool(checks) and all(c["passed"] for c in checks) and not any(f["severity"] == "error" for f in hygiene)
    if data["passed"] != verdict:
        return "its verdict does not follow from its checks"
    return ""


# -- the child's side: the supervisor ----------------------------------------------------------


def main() -> int:
    task = json.loads(sys.stdin.readline())
    sys.stdin.close()
    _become_subreaper()
    worker = os.fork()
    if worker == 0:  # the worker: never returns
        code = 70
        try:
            code = work(task)
        finally:
            os._exit(code)

    def stop(signum, frame):
        _kill(worker)
        _reap_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    _, status = os.waitpid(worker, 0)
    _reap_all()  # whatever the worker started, wherever it went
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8


def _become_subreaper() -> None:
    """Orphans of the worker's processes come to us, not to init, so we can end them."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: the process group is all we can end


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _children() -> list[int]:
    me, found = os.getpid(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry.name))
    return found


def _reap_all() -> None:
    """Kill and reap our children until none is left: each kill hands us its own children."""
    if not os.path.isdir("/proc"):
        return
    for _ in range(100):
        children = _children()
        if not children:
            return
        for pid in children:
            _kill(pid)
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


# -- the child's side: the worker ----------------------------------------------------------------


def _write(task: dict, data: dict) -> None:
    body = json.dumps(data)
    signature = hmac.new(bytes.fromhex(task["key"]), body.encode(), hashlib.sha256).hexdigest()
    Path(task["result"]).write_text(body + "\n" + signature + "\n")


def load(path: str, name: str):
    """(function, the module's functions by name); raises LookupError with a one-line reason."""
    file = Path(path)
    if not file.is_file():
        raise LookupError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location("gradproof_target", file)
    if spec is None or spec.loader is None:
        raise LookupError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))  # its own helper modules import as they would in class
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise LookupError(f"{path}:{e.lineno}:{e.offset or 0}: syntax error: {e.msg}") from None
    except BaseException as e:  # the import ran user code: anything can happen, including SystemExit
        raise LookupError(f"{path}: importing it raised {type(e).__name__}: {str(e)[:200]}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise LookupError(f"{path}: no function named '{name}'")
    return fn, {k: v for k, v in vars(module).items() if callable(v)}


def work(task: dict) -> int:
    started = time.perf_counter()
    key, task["key"] = task["key"], None  # out of the task the user's code could find...
    secret = dict(task, key=key)  # ...kept only here, for the signature
    path, name, seed = task["path"], task["name"], int(task["seed"])
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            fn, companions = load(path, name)
        except LookupError as e:
            _write(secret, {"load_error": str(e), "output": captured.getvalue()[-OUTPUT_LIMIT:]})
            return 0
    from gradproof.verify.check import check_problem
    from gradproof.verify.problem import ProblemError
    from gradproof.verify.results import check_json

    loaded = time.perf_counter()
    resident = _memory("VmRSS")  # the interpreter, numpy and the target: before any input exists
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            problem = _problem(task, fn, companions)
    except (ProblemError, LookupError) as e:
        _write(secret, {"load_error": str(e) if task["inputs"] else f"{path}:{name}: {e}", "output": ""})
        return 0
    drawn = time.perf_counter()
    with _progress(bool(task["progress"])) as progress, contextlib.redirect_stdout(captured):
        result = check_problem(problem, seed=seed, progress=progress)
    interface = [f.message for f in result.hygiene if f.kind == "interface"]
    if interface:  # the function does not return what its spec declares: a usage error, not a verdict
        _write(secret, {"load_error": f"{path}:{name}: {interface[0]} ({task['inputs']})", "output": ""})
        return 0
    data = check_json(result)
    data["target"] = f"{path}:{name}"
    data["output"] = captured.getvalue()[-OUTPUT_LIMIT:]
    data["timing"] = {"seconds_covers": "the check alone: calls of the function and the checker's own work, in the "
                                        "child process; not starting it, importing the target or drawing its inputs",
                      "import_seconds": round(loaded - started, 4), "inputs_seconds": round(drawn - loaded, 4),
                      "child_seconds": round(time.perf_counter() - started, 4)}
    inputs = sum(x.nbytes for x in problem.point.values())
    peak = _memory("VmHWM")
    if peak and resident and inputs:
        data["memory"] = {"covers": "peak resident memory of the checking process above what it held before the "
                                    "inputs were drawn, over the inputs' size",
                          "inputs_bytes": inputs, "peak_over_inputs": round((peak - resident) / inputs, 3)}
    _write(secret, data)
    return 0


def _problem(task: dict, fn, companions):
    from gradproof.verify.problem import ProblemError

    if task["inputs"]:
        from gradproof.verify.inputs import InputsError, problem_for_inputs

        try:
            return problem_for_inputs(fn, task["inputs"], task["sizes"], int(task["seed"]), name=task["name"])
        except InputsError as e:
            raise LookupError(str(e)) from None
    from gradproof.verify.signatures import problem_for

    try:
        return problem_for(fn, int(task["vocab"]), int(task["dim"]), int(task["seed"]), signature=task["signature"],
                           companions=companions)
    except ProblemError:
        raise


def _memory(field: str) -> int:
    """A /proc/self/status figure in bytes (0 where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextlib.contextmanager
def _progress(enabled: bool):
    """A rich progress bar on the terminal (stderr) for long checks."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("checking", total=1)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=max(total, 1))
        yield report


if __name__ == "__main__":
    sys.exit(main())
