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
SOURCES = ("check.py", "finite.py", "localise.py", "hygiene.py", "mutants.py", "signatures.py", "problem.py", "zoo.py")
ZOO_SIZES = ("small", "large")
ENTRY_SEEDS = 20  # single wrong entries of 1e-5: seeds per size
BASELINE_LARGE_SEEDS = 5  # torch and jax on the correct versions at about 10^6 parameters


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
class EntryRow:
    """Single wrong entries of +1e-5 in naiveSoftmaxLossAndGradient's gradOutsideVecs, over seeds."""

    vocab: int
    dim: int
    seeds: int
    caught: int


@dataclass(frozen=True)
class ZooRow:
    case: str
    bug: str
    size: str
    parameters: int
    caught: bool
    seconds: float
    evaluations: int
    where: str
    torch_caught: bool | None = None
    jax_caught: bool | None = None


@dataclass(frozen=True)
class ZooSeeds:
    case: str
    size: str
    parameters: int
    seeds: int
    false_alarms: int
    kinks_reported: int
    median_seconds: float
    baseline_seeds: int = 0
    torch_false_alarms: int | None = None
    jax_false_alarms: int | None = None


@dataclass(frozen=True)
class MutationTable:
    mutants: tuple[MutantRow, ...]
    seeds: tuple[SeedsRow, ...]
    source: str  # hash of the verifier's source and the reference: the report's freshness key
    entries: tuple[EntryRow, ...] = ()
    zoo: tuple[ZooRow, ...] = ()
    zoo_seeds: tuple[ZooSeeds, ...] = ()


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


def entry_row(vocab: int, dim: int, seeds: int) -> EntryRow:
    from .mutants import _entry, _naive

    wrong = _naive(_entry(1e-5))
    caught = sum(not check_problem(problem_for(wrong, vocab, dim, seed, signature="naiveSoftmaxLossAndGradient"),
                                   seed=seed, localise_budget=2).passed for seed in range(seeds))
    return EntryRow(vocab, dim, seeds, caught)


def _zoo_problem(fn, case, size: str, seed: int):
    from .problem import from_callable

    inputs, fixed = case.make(size, seed)
    return from_callable(fn, inputs, fixed=fixed, name=case.name)


def _baselines(problem_of, with_torch: bool, with_jax: bool) -> tuple[bool | None, bool | None]:
    torch_caught = jax_caught = None
    if with_torch:
        from .torch_gradcheck import torch_fast_gradcheck

        torch_caught = torch_fast_gradcheck(problem_of(), seed=0).caught
    if with_jax:
        from .jax_gradcheck import jax_check_grads

        jax_caught = jax_check_grads(problem_of()).caught
    return torch_caught, jax_caught


def zoo_rows(case, size: str, with_torch: bool, with_jax: bool) -> list[ZooRow]:
    rows = []
    for bug, fn in case.bugs:
        problem = _zoo_problem(fn, case, size, 0)
        result = check_problem(problem, seed=0)
        torch_caught, jax_caught = _baselines(lambda: _zoo_problem(fn, case, size, 0), with_torch, with_jax)
        rows.append(ZooRow(case.name, bug, size, sum(x.size for x in problem.point.values()), not result.passed,
                           result.seconds, result.evaluations, where(result), torch_caught, jax_caught))
    return rows


def zoo_seeds(case, size: str, seeds: int, with_torch: bool, with_jax: bool) -> ZooSeeds:
    alarms = kinks = 0
    times = []
    for seed in range(seeds):
        result = check_problem(_zoo_problem(case.correct, case, size, seed), seed=seed)
        alarms += not result.passed
        kinks += any("not differentiable here" in c.note for c in result.checks) or \
            any(f.kind == "kink" for f in result.hygiene)
        times.append(result.seconds)
    baseline_seeds = seeds if size == "small" else min(seeds, BASELINE_LARGE_SEEDS)
    torch_alarms = jax_alarms = None
    if with_torch or with_jax:
        verdicts = [_baselines(lambda: _zoo_problem(case.correct, case, size, seed), with_torch, with_jax)
                    for seed in range(baseline_seeds)]
        torch_alarms = sum(bool(t) for t, _ in verdicts) if with_torch else None
        jax_alarms = sum(bool(j) for _, j in verdicts) if with_jax else None
    problem = _zoo_problem(case.correct, case, size, 0)
    return ZooSeeds(case.name, size, sum(x.size for x in problem.point.values()), seeds, alarms, kinks,
                    statistics.median(times), baseline_seeds, torch_alarms, jax_alarms)


def mutation_table(sizes: Sequence[tuple[int, int]] = SIZES, seeds: int = 100, with_torch: bool | None = None,
                   progress: Callable[[int, int, str], None] | None = None, zoo_sizes: Sequence[str] = ZOO_SIZES,
                   zoo_seed_count: int = 20, with_jax: bool | None = None) -> MutationTable:
    from .jax_gradcheck import jax_available
    from .zoo import CASES

    with_torch = torch_available() if with_torch is None else with_torch
    with_jax = jax_available() if with_jax is None else with_jax
    total = len(sizes) * (len(MUTANTS) + len(CORRECT) + 1) + 2 * len(zoo_sizes) * len(CASES)
    done = [0]

    def say(text: str) -> None:  # called as each row starts: done counts the rows finished
        if progress:
            progress(done[0], total, text)
        done[0] += 1

    rows, seed_rows, entries, zoo, zoo_seed_rows = [], [], [], [], []
    for vocab, dim in sizes:
        for m in MUTANTS:
            say(f"{m.name} at {vocab} x {dim}")
            rows.append(mutant_row(m, vocab, dim, with_torch))
        for m in CORRECT:
            say(f"correct {m.signature} at {vocab} x {dim}, {seeds} seeds")
            seed_rows.append(seeds_row(m, vocab, dim, seeds))
        say(f"single wrong entries of 1e-5 at {vocab} x {dim}")
        entries.append(entry_row(vocab, dim, min(seeds, ENTRY_SEEDS)))
    for size in zoo_sizes:
        for case in CASES:
            say(f"{case.name}, {size}: planted bugs")
            zoo += zoo_rows(case, size, with_torch, with_jax)
            say(f"{case.name}, {size}: the correct version over {zoo_seed_count} seeds")
            zoo_seed_rows.append(zoo_seeds(case, size, zoo_seed_count, with_torch, with_jax))
    if progress:
        progress(total, total, "")
    return MutationTable(tuple(rows), tuple(seed_rows), source_hash(), tuple(entries), tuple(zoo), tuple(zoo_seed_rows))
