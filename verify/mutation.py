"""The mutation table: every mutant at every size, the correct code over many seeds, and
torch.autograd.gradcheck's fast mode on the same functions when torch is installed."""
from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .check import check_problem
from .mutants import CORRECT, MUTANTS, Mutant
from .results import GradientCheck
from .signatures import problem_for

SIZES = ((5000, 100), (50000, 300))
SOURCES = ("check.py", "finite.py", "localise.py", "hygiene.py", "mutants.py", "signatures.py", "problem.py")


@dataclass(frozen=True)
class MutantRow:
    mutant: str
    signature: str
    vocab: int
    dim: int
    caught: bool
    seconds: float
    evaluations: int
    where: str  # the worst entries, or the finding that failed the check
    torch_caught: bool | None = None  # None: torch not installed, or it could not run
    torch_seconds: float | None = None


@dataclass(frozen=True)
class SeedsRow:
    signature: str
    vocab: int
    dim: int
    seeds: int
    false_alarms: int
    median_seconds: float
    median_call_seconds: float  # one loss-and-gradient call, for the cost ratio


@dataclass(frozen=True)
class MutationTable:
    mutants: tuple[MutantRow, ...]
    seeds: tuple[SeedsRow, ...]
    source: str  # hash of the verifier's source and the reference: the report's freshness key


def source_hash() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((here / name).read_bytes())
    digest.update((here.parent / "derive" / "reference.py").read_bytes())
    return digest.hexdigest()[:16]


def where(result: GradientCheck) -> str:
    wrong = [c for c in result.checks if not c.passed]
    entries = [f"{e.index}: {e.analytic:.3g} vs {e.numeric:.3g}" for c in wrong for e in c.worst[:1]]
    if entries:
        return "; ".join(entries)
    errors = [f.message for f in result.hygiene if f.severity == "error"]
    return errors[0] if errors else ""


def _problem(m: Mutant, vocab: int, dim: int, seed: int):
    return problem_for(m.fn, vocab, dim, seed, signature=m.signature, companions=dict(m.companions))


def mutant_row(m: Mutant, vocab: int, dim: int, with_torch: bool) -> MutantRow:
    result = check_problem(_problem(m, vocab, dim, 0), seed=0)
    torch_caught = torch_seconds = None
    if with_torch:
        from .torch_gradcheck import torch_fast_gradcheck

        verdict = torch_fast_gradcheck(_problem(m, vocab, dim, 0), seed=0)
        torch_caught, torch_seconds = verdict.caught, verdict.seconds
    return MutantRow(m.name, m.signature, vocab, dim, not result.passed, result.seconds, result.evaluations,
                     where(result), torch_caught, torch_seconds)


def seeds_row(m: Mutant, vocab: int, dim: int, seeds: int) -> SeedsRow:
    false_alarms, times, calls = 0, [], []
    for seed in range(seeds):
        problem = _problem(m, vocab, dim, seed)
        start = time.perf_counter()
        problem.evaluate(problem.point)
        calls.append(time.perf_counter() - start)
        result = check_problem(problem, seed=seed)
        false_alarms += not result.passed
        times.append(result.seconds)
    return SeedsRow(m.signature, vocab, dim, seeds, false_alarms, statistics.median(times), statistics.median(calls))


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def mutation_table(sizes: Sequence[tuple[int, int]] = SIZES, seeds: int = 100, with_torch: bool | None = None,
                   progress: Callable[[str], None] | None = None) -> MutationTable:
    with_torch = torch_available() if with_torch is None else with_torch
    say = progress or (lambda text: None)
    rows, seed_rows = [], []
    for vocab, dim in sizes:
        for m in MUTANTS:
            say(f"{m.name} at {vocab} x {dim}")
            rows.append(mutant_row(m, vocab, dim, with_torch))
        for m in CORRECT:
            say(f"correct {m.signature} at {vocab} x {dim}, {seeds} seeds")
            seed_rows.append(seeds_row(m, vocab, dim, seeds))
    return MutationTable(tuple(rows), tuple(seed_rows), source_hash())
