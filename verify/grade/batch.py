"""Grade a whole class: one results file per submission, written as each finishes, so an
interrupted batch loses nothing and a rerun grades only what is missing."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import gradescope
from .grader import GraderError, SubmissionError, fingerprint, grade
from .rubric import Rubric
from .sandbox import Sandbox, SandboxError

STATE = "batch.json"


@dataclass(frozen=True)
class Row:
    submission: str
    score: float | None
    max_score: float
    diagnoses: tuple[str, ...]
    load_error: str | None
    seconds: float
    error: str | None = None   # the grader failed on it: no results file, a rerun retries it
    tests: tuple[tuple[str, float], ...] = ()  # (test name, points earned), in the results file's order


@dataclass(frozen=True)
class Batch:
    rows: tuple[Row, ...]
    graded: int      # in this run
    skipped: int     # finished in an earlier run
    seconds: float
    hidden_seed: int


def submissions(directory: Path) -> list[Path]:
    """Each .py file and each subdirectory is one submission; dot-files are not."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".py"))


def results_path(out: Path, submission: Path) -> Path:
    return out / f"{submission.stem if submission.is_file() else submission.name}.json"


class BatchMismatch(Exception):
    """OUTDIR holds results graded with another rubric or seed: mixing them would be unfair."""


def rubric_fingerprint(rubric: Rubric) -> str:
    return hashlib.sha256(repr(dataclasses.replace(rubric, source="")).encode()).hexdigest()


def _seed(out: Path, rubric: Rubric, seed: int | None) -> int:
    """One hidden seed per batch, kept in OUTDIR so that a resumed batch grades on the same cases,
    with the same rubric: a rerun with another rubric or seed is refused, not mixed in."""
    state = out / STATE
    if state.is_file():
        try:
            kept = json.loads(state.read_text())
            kept_seed, kept_rubric = int(kept["hidden_seed"]), kept["rubric_sha256"]
        except (ValueError, KeyError, TypeError):
            kept_seed = kept_rubric = None
        if kept_rubric is not None:
            if kept_rubric != rubric_fingerprint(rubric):
                raise BatchMismatch(f"{out} was graded with another rubric ({kept.get('rubric')}): "
                                    "grade into a new --out directory, or delete it to regrade everything")
            if seed is not None and seed != kept_seed:
                raise BatchMismatch(f"{out} was graded with hidden seed {kept_seed}, not {seed}: "
                                    "grade into a new --out directory, or leave --seed out to resume")
            return kept_seed
    if seed is None:
        seed = rubric.hidden_seed if rubric.hidden_seed is not None else secrets.randbits(63)
    _atomic(state, json.dumps({"hidden_seed": seed, "rubric": rubric.source,
                               "rubric_sha256": rubric_fingerprint(rubric)}) + "\n")
    return seed


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _row_from(path: Path, submission: Path, rubric: Rubric) -> Row | None:
    try:
        data = json.loads(path.read_text())
        extra = data["extra_data"]["gradproof"]
        if extra["submission_sha256"] != fingerprint(submission, rubric):
            return None  # the submission changed since: grade it again
        return Row(submission.name, float(data["score"]), float(extra["max_score"]), tuple(extra["diagnoses"]),
                   extra.get("load_error"), float(data.get("execution_time", 0.0)), tests=_tests(data))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unfinished or damaged: grade it again


def grade_directory(directory: Path, out: Path, rubric: Rubric, sandbox: Sandbox, jobs: int = 2,
                    progress: Callable[[int, int], None] | None = None, seed: int | None = None) -> Batch:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    seed = _seed(out, rubric, seed)
    todo, rows = [], {}
    for sub in submissions(directory):
        done = _row_from(results_path(out, sub), sub, rubric)
        if done is None:
            todo.append(sub)
        else:
            rows[sub.name] = done
    skipped = len(rows)
    report = progress or (lambda done, total: None)
    report(0, len(todo))

    stopping = threading.Event()

    def one(sub: Path) -> Row | None:
        if stopping.is_set():
            return None
        try:
            g = grade(sub, rubric, sandbox, seed)
        except SubmissionError as e:
            return Row(sub.name, None, rubric.max_score, (), None, 0.0, str(e))
        except SandboxError:  # the worker itself is gone: nothing more can be graded
            raise
        except GraderError as e:  # this child's setup failed (or it forged that it did): retried on a rerun
            return Row(sub.name, None, rubric.max_score, (), None, 0.0, f"grader error: {e}")
        except Exception as e:  # a bug of ours must not cost the rest of the class their results
            return Row(sub.name, None, rubric.max_score, (), None, 0.0, f"grader error: {type(e).__name__}: {e}")
        if stopping.is_set():  # interrupted: its child may have been killed under it, so this grade is not fair
            return None
        data = gradescope.results_json(g, rubric.assignment)
        try:
            _atomic(results_path(out, sub), json.dumps(data, indent=1, allow_nan=False) + "\n")
        except OSError as e:  # e.g. a full disk: this one is retried on a rerun, the others go on
            return Row(sub.name, None, rubric.max_score, (), None, 0.0, f"grader error: cannot write its results: {e}")
        return Row(sub.name, g.score, g.max_score, g.diagnoses, g.load_error, g.seconds, tests=_tests(data))

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(one, sub) for sub in todo]
        for i, future in enumerate(as_completed(futures)):
            row = future.result()
            rows[row.submission] = row
            report(i + 1, len(todo))
    except BaseException:  # Ctrl-C, SIGTERM, a grader failure: keep what is finished, start nothing new
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        write_summary(out / "summary.csv", tuple(rows[name] for name in sorted(rows)), rubric)
        raise
    pool.shutdown()
    ordered = tuple(rows[name] for name in sorted(rows))
    write_summary(out / "summary.csv", ordered, rubric)
    return Batch(ordered, len(todo), skipped, time.perf_counter() - start, seed)


def _tests(data: dict) -> tuple[tuple[str, float], ...]:
    return tuple((str(t.get("name", "")), float(t.get("score", 0.0))) for t in data.get("tests", ()))


def write_summary(path: Path, rows: tuple[Row, ...], rubric: Rubric) -> None:
    """One row per submission: the score, then the points of each rubric test (its own column,
    in the rubric's order; empty where the grader failed), the diagnoses and errors."""
    names = [t.name for t in rubric.tests]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "score", "max_score", *(cell(n) for n in names), "diagnoses", "import_error",
                         "grader_error", "seconds"])
        for r in rows:
            earned = dict(r.tests)
            writer.writerow([cell(r.submission), "" if r.score is None else f"{r.score:g}", f"{r.max_score:g}",
                             *("" if n not in earned else f"{earned[n]:g}" for n in names),
                             cell("; ".join(r.diagnoses)), cell(r.load_error or ""), cell(r.error or ""),
                             f"{r.seconds:.3f}"])
    os.replace(tmp, path)


def cell(text: str) -> str:
    """Text for a spreadsheet cell: one that starts like a formula (=, +, -, @, a tab or a return: a file
    name or an error message is the submission's to choose) is kept as text by a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
