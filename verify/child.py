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
import sys
from pathlib import Path

OUTPUT_LIMIT = 4000


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
    from verify.check import check_problem
    from verify.problem import ProblemError
    from verify.render import check_json
    from verify.signatures import problem_for

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
