"""Run a check in a child process: import the user's file, check one function, write JSON.

The parent (``gradproof verify FILE.py:FUNCTION``) starts this module with a result path;
whatever the user's code does (crash, hang, exit, print), the parent stays up and reports.
Output the user's code prints is captured and returned, truncated, inside the result.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

OUTPUT_LIMIT = 4000


class TargetError(Exception):
    """The target could not be checked: not FILE.py:FUNCTION, unloadable, crashed or hung."""


# -- the parent's side ------------------------------------------------------------------------


def run_child(target: str, vocab: int, dim: int, seed: int, timeout: int, signature: str | None = None) -> dict:
    """Check FILE.py:FUNCTION in a child process; a crash or hang there is an input error here."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise TargetError(f"target '{target}' is not FILE.py:FUNCTION")
    with tempfile.TemporaryDirectory(prefix="gradproof-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        command = [sys.executable, "-m", "gradproof.verify.child", path, name, str(vocab), str(dim), str(seed), result_path,
                   "1" if sys.stderr.isatty() else "0", signature or name]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # its whole process group: nothing it started survives
            child.wait()
            raise TargetError(f"{target}: no result after {timeout} s (it may loop forever); use --timeout to wait longer") from None
        finally:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            data = json.loads(Path(result_path).read_text())
        except (OSError, ValueError):
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            raise TargetError(f"{target}: the check process died ({how}) before reporting; "
                             "the function may call sys.exit or crash the interpreter") from None
    if "load_error" in data:
        raise TargetError(data["load_error"])
    return data



# -- the child's side -------------------------------------------------------------------------


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


def main(argv: list[str]) -> int:
    path, name, vocab, dim, seed, result_path, show_progress, signature = argv
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            fn, companions = load(path, name)
        except LookupError as e:
            Path(result_path).write_text(json.dumps({"load_error": str(e), "output": captured.getvalue()[-OUTPUT_LIMIT:]}))
            return 0
    from gradproof.verify.check import check_problem
    from gradproof.verify.problem import ProblemError
    from gradproof.verify.render import check_json
    from gradproof.verify.signatures import problem_for

    try:
        problem = problem_for(fn, int(vocab), int(dim), int(seed), signature=signature, companions=companions)
    except ProblemError as e:
        Path(result_path).write_text(json.dumps({"load_error": f"{path}:{name}: {e}", "output": ""}))
        return 0
    with _progress(show_progress == "1") as progress, contextlib.redirect_stdout(captured):
        result = check_problem(problem, seed=int(seed), progress=progress)
    data = check_json(result)
    data["target"] = f"{path}:{name}"
    data["output"] = captured.getvalue()[-OUTPUT_LIMIT:]
    Path(result_path).write_text(json.dumps(data))
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
    sys.exit(main(sys.argv[1:]))
