"""Benchmarks behind `gradproof bench`: the generated reference code against hand-written
NumPy and PyTorch autograd, and the proof run cold and cached.

Measuring and rendering are separate: `run_benchmarks` returns frozen `BenchRow`s and never
prints; `benchmark_table` and `benchmark_markdown` only format finished rows.
"""
from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table
from rich.text import Text

__all__ = [
    "BenchRow", "BenchSettings", "OutputMismatch", "run_benchmarks", "benchmark_table", "benchmark_markdown",
    "hand_naive_softmax", "hand_naive_softmax_batch",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RATIO_GOAL = 1.1
COLD_GOAL_SECONDS = 10.0
WARM_GOAL_SECONDS = 1.0


@dataclass(frozen=True)
class BenchRow:
    name: str
    what: str
    seconds: float  # ours: median seconds per call (per run, for the derive rows)
    baseline_name: str
    baseline_seconds: float | None  # None: no baseline, or it could not run (torch absent)
    ratio: float | None  # seconds / baseline_seconds
    goal: str
    met: bool | None  # None: no goal, or a quick run (goals are stated at the full sizes)


@dataclass(frozen=True)
class BenchSettings:
    vocab: int  # |V|
    dim: int  # N
    batch: int  # B pairs
    repeats: int  # timed blocks per kernel; the median is reported
    min_block_seconds: float  # each timed block runs enough calls to last this long
    cold_repeats: int
    warm_repeats: int
    quick: bool


FULL = BenchSettings(vocab=10_000, dim=100, batch=512, repeats=7, min_block_seconds=0.2,
                     cold_repeats=3, warm_repeats=5, quick=False)
QUICK = BenchSettings(vocab=1_000, dim=20, batch=32, repeats=3, min_block_seconds=0.02,
                      cold_repeats=1, warm_repeats=1, quick=True)


class OutputMismatch(AssertionError):
    """Two implementations disagree: timing them would let a wrong fast path win."""


# ---------------------------------------------------------------- hand-written baselines

def hand_naive_softmax(centerWordVec, outsideWordIdx, outsideVectors, dataset=None):
    """The usual course solution, written the obvious way (row convention)."""
    scores = outsideVectors @ centerWordVec
    shifted = scores - np.max(scores)
    exps = np.exp(shifted)
    y_hat = exps / np.sum(exps)
    loss = -np.log(y_hat[outsideWordIdx])
    delta = y_hat.copy()
    delta[outsideWordIdx] -= 1
    gradCenterVec = outsideVectors.T @ delta
    gradOutsideVecs = np.outer(delta, centerWordVec)
    return loss, gradCenterVec, gradOutsideVecs


def hand_naive_softmax_batch(centerWordVecs, outsideWordIdxs, outsideVectors):
    """The same, one row of scores per (center, outside) pair; losses summed."""
    rows = np.arange(centerWordVecs.shape[0])
    scores = centerWordVecs @ outsideVectors.T  # B x |V|
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    exps = np.exp(shifted)
    y_hat = exps / np.sum(exps, axis=1, keepdims=True)
    loss = -np.sum(np.log(y_hat[rows, outsideWordIdxs]))
    delta = y_hat.copy()
    delta[rows, outsideWordIdxs] -= 1
    gradCenterVecs = delta @ outsideVectors
    gradOutsideVecs = delta.T @ centerWordVecs
    return loss, gradCenterVecs, gradOutsideVecs


# ---------------------------------------------------------------- PyTorch (optional)

def _import_torch():
    # torch is a measuring aid only, never a dependency: absent means "not installed"
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_single(torch, centerWordVec, outsideWordIdx, outsideVectors) -> Callable[[], tuple]:
    # from_numpy shares memory, so the call times autograd, not a copy of the inputs
    v = torch.from_numpy(centerWordVec).requires_grad_()
    U = torch.from_numpy(outsideVectors).requires_grad_()

    def call():
        # fresh gradients each call, as the NumPy versions return fresh arrays
        v.grad = None
        U.grad = None
        loss = -torch.log_softmax(U @ v, dim=0)[outsideWordIdx]
        loss.backward()
        return loss.item(), v.grad.numpy(), U.grad.numpy()

    return call


def _torch_batch(torch, centerWordVecs, outsideWordIdxs, outsideVectors) -> Callable[[], tuple]:
    C = torch.from_numpy(centerWordVecs).requires_grad_()
    U = torch.from_numpy(outsideVectors).requires_grad_()
    o = torch.from_numpy(np.asarray(outsideWordIdxs, dtype=np.int64))

    def call():
        C.grad = None
        U.grad = None
        loss = torch.nn.functional.cross_entropy(C @ U.T, o, reduction="sum")
        loss.backward()
        return loss.item(), C.grad.numpy(), U.grad.numpy()

    return call


# ---------------------------------------------------------------- timing

def _require_agreement(label: str, ours: tuple, theirs: tuple) -> None:
    for part, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or not np.allclose(a, b):
            raise OutputMismatch(f"{label}: output {part} differs (shapes {a.shape} vs {b.shape})")


def _calls_per_block(fn: Callable[[], object], min_seconds: float) -> int:
    # doubling until one block lasts min_seconds keeps timer resolution and per-block
    # overhead negligible whatever the kernel's speed
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start >= min_seconds:
            return calls
        calls *= 2


def median_seconds_per_call(fns: Sequence[Callable[[], object]], repeats: int,
                            min_block_seconds: float) -> tuple[float, ...]:
    """Median seconds per call of each function.  Blocks are interleaved (a, b, c, a, b, c, ...)
    so that drift in clock speed or machine load lands on every contender alike."""
    for fn in fns:  # warm-up: first-call allocation, BLAS thread start, torch dispatch caches
        fn()
        fn()
    calls = [_calls_per_block(fn, min_block_seconds) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, n, out in zip(fns, calls, samples):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - start) / n)
    return tuple(statistics.median(s) for s in samples)


def _ratio(ours: float, baseline: float | None) -> float | None:
    return None if baseline is None or baseline <= 0 else ours / baseline


def _met(value: float | None, limit: float, settings: BenchSettings) -> bool | None:
    if value is None or settings.quick:
        return None
    return value <= limit


# ---------------------------------------------------------------- kernel benchmarks

def _kernel_rows(case: str, what: str, generated: Callable[[], tuple], hand: Callable[[], tuple],
                 torch_call: Callable[[], tuple] | None, torch_what: str,
                 settings: BenchSettings) -> tuple[BenchRow, BenchRow]:
    ours = generated()
    _require_agreement(f"{case}: generated vs hand-written", ours, hand())
    contenders = [generated, hand]
    if torch_call is not None:
        _require_agreement(f"{case}: generated vs torch", ours, torch_call())
        contenders.append(torch_call)
    times = median_seconds_per_call(contenders, settings.repeats, settings.min_block_seconds)
    gen_s, hand_s = times[0], times[1]
    torch_s = times[2] if torch_call is not None else None
    hand_ratio = _ratio(gen_s, hand_s)
    vs_hand = BenchRow(
        name=f"{case} vs NumPy", what=what, seconds=gen_s, baseline_name="hand-written NumPy",
        baseline_seconds=hand_s, ratio=hand_ratio, goal=f"ratio <= {RATIO_GOAL}",
        met=_met(hand_ratio, RATIO_GOAL, settings))
    vs_torch = BenchRow(
        name=f"{case} vs PyTorch", what=torch_what, seconds=gen_s,
        baseline_name="PyTorch autograd" if torch_call is not None else "PyTorch (not installed)",
        baseline_seconds=torch_s, ratio=_ratio(gen_s, torch_s), goal="(for reference)", met=None)
    return vs_hand, vs_torch


def _torch_what(torch) -> str:
    if torch is None:
        return "PyTorch not installed: pip install torch to compare"
    # default thread count kept (not forced to NumPy's): each library as a user would run it
    return (f"torch {torch.__version__}, CPU float64, log_softmax / cross_entropy + backward, "
            f"{torch.get_num_threads()} threads (default; {os.cpu_count()} CPUs)")


def _single_rows(settings: BenchSettings, torch) -> tuple[BenchRow, BenchRow]:
    from derive.reference import naiveSoftmaxLossAndGradient

    rng = np.random.default_rng(0)
    # scaled by 1/sqrt(N) so scores are O(1), as with trained embeddings: allclose stays meaningful
    U = rng.standard_normal((settings.vocab, settings.dim)) / math.sqrt(settings.dim)
    v = rng.standard_normal(settings.dim) / math.sqrt(settings.dim)
    o = int(rng.integers(settings.vocab))
    what = f"naiveSoftmaxLossAndGradient, |V|={settings.vocab:,}, N={settings.dim}, one pair per call"
    return _kernel_rows(
        "naive softmax", what,
        lambda: naiveSoftmaxLossAndGradient(v, o, U, None),
        lambda: hand_naive_softmax(v, o, U, None),
        _torch_single(torch, v, o, U) if torch is not None else None, _torch_what(torch), settings)


def _batch_rows(settings: BenchSettings, torch) -> tuple[BenchRow, BenchRow]:
    from derive.reference import naiveSoftmaxLossAndGradientBatch

    rng = np.random.default_rng(0)
    U = rng.standard_normal((settings.vocab, settings.dim)) / math.sqrt(settings.dim)
    C = rng.standard_normal((settings.batch, settings.dim)) / math.sqrt(settings.dim)
    o = rng.integers(0, settings.vocab, settings.batch)
    what = (f"naiveSoftmaxLossAndGradientBatch, {settings.batch} pairs per call, "
            f"|V|={settings.vocab:,}, N={settings.dim}")
    return _kernel_rows(
        "batched naive softmax", what,
        lambda: naiveSoftmaxLossAndGradientBatch(C, o, U),
        lambda: hand_naive_softmax_batch(C, o, U),
        _torch_batch(torch, C, o, U) if torch is not None else None, _torch_what(torch), settings)


# ---------------------------------------------------------------- derive (subprocess) benchmarks

# The default commands stand in for `gradproof derive` until the CLI can be passed instead.
# The model names are written into the scripts as literals: importing derive.models would
# import SymPy, and a warm run must not pay for that.
_COLD_SCRIPT = """\
import dataclasses
from derive import cache
from derive.proofs import prove_models
names = {names!r}
results = prove_models(names, jobs=2)
cache.store(names, [dataclasses.asdict(r) for r in results])
"""

_WARM_SCRIPT = """\
from derive import cache
if cache.load({names!r}) is None:
    raise SystemExit("warm run missed the cache")
"""


def _model_names(settings: BenchSettings) -> tuple[str, ...]:
    from derive.models import MODELS  # imports SymPy: only here, in the measuring process

    names = tuple(MODELS)
    return names[:1] if settings.quick else names  # a smoke test need not prove everything


def _subprocess_env(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GRADPROOF_CACHE_DIR"] = cache_dir  # never touch the user's cache
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _timed_run(command: Sequence[str], cache_dir: str) -> float:
    """Wall clock of the whole subprocess: interpreter start and imports are what a user waits for."""
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=PROJECT_ROOT, env=_subprocess_env(cache_dir),
                          capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {' | '.join(tail)}")
    return elapsed


def _derive_commands(derive_command: list[str] | None,
                     settings: BenchSettings) -> tuple[list[str], list[str], str]:
    """(cold command, warm command, description)."""
    if derive_command is not None:
        # the same command twice: the first run fills the empty cache, the second reads it
        return list(derive_command), list(derive_command), " ".join(derive_command)
    names = _model_names(settings)
    cold = [sys.executable, "-c", _COLD_SCRIPT.format(names=names)]
    warm = [sys.executable, "-c", _WARM_SCRIPT.format(names=names)]
    return cold, warm, f"prove_models({', '.join(names)}, jobs=2)"


def measure_derive(derive_command: list[str] | None, settings: BenchSettings) -> tuple[float, float, str]:
    """(median cold seconds, median warm seconds, description of the command)."""
    cold_cmd, warm_cmd, label = _derive_commands(derive_command, settings)
    cold_times, warm_times = [], []
    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as root:
        for attempt in range(settings.cold_repeats):
            cache_dir = os.path.join(root, f"cold-{attempt}")  # new and empty: no cache
            cold_times.append(_timed_run(cold_cmd, cache_dir))
        if not any(Path(cache_dir).iterdir()):
            raise RuntimeError(f"{label} stored nothing in the cache: a warm timing would be another cold one")
        for _ in range(settings.warm_repeats):
            warm_times.append(_timed_run(warm_cmd, cache_dir))
    return statistics.median(cold_times), statistics.median(warm_times), label


def _derive_rows(derive_command: list[str] | None, settings: BenchSettings) -> tuple[BenchRow, BenchRow]:
    cold, warm, label = measure_derive(derive_command, settings)
    cold_row = BenchRow(
        name="derive, cold", what=f"{label}: fresh interpreter, empty cache, median of {settings.cold_repeats}",
        seconds=cold, baseline_name="", baseline_seconds=None, ratio=None,
        goal=f"< {COLD_GOAL_SECONDS:g} s", met=None if settings.quick else cold < COLD_GOAL_SECONDS)
    warm_row = BenchRow(
        name="derive, warm", what=f"{label}: fresh interpreter, cache hit, median of {settings.warm_repeats}",
        seconds=warm, baseline_name="derive, cold", baseline_seconds=cold, ratio=_ratio(warm, cold),
        goal=f"< {WARM_GOAL_SECONDS:g} s", met=None if settings.quick else warm < WARM_GOAL_SECONDS)
    return cold_row, warm_row


def run_benchmarks(quick: bool = False, derive_command: list[str] | None = None) -> tuple[BenchRow, ...]:
    """All benchmarks in one run.  ``derive_command`` (e.g. ``[sys.executable, "-m", "verify.cli",
    "derive"]``) is run once against an empty cache and then again against the cache it filled;
    by default a script calling ``derive.proofs.prove_models`` and ``derive.cache`` stands in."""
    settings = QUICK if quick else FULL
    torch = _import_torch()
    single_hand, single_torch = _single_rows(settings, torch)
    batch_hand, batch_torch = _batch_rows(settings, torch)
    # the proofs run last: their worker processes would otherwise compete with the kernels
    cold, warm = _derive_rows(derive_command, settings)
    return single_hand, batch_hand, single_torch, batch_torch, cold, warm


# ---------------------------------------------------------------- rendering

def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def format_met(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[met]


_MET_STYLE = {True: "bold green", False: "bold red", None: "dim"}
_HEADERS = ("benchmark", "what", "ours", "baseline", "baseline time", "ratio", "goal", "met")


def _cells(row: BenchRow) -> tuple[str, ...]:
    return (row.name, row.what, format_seconds(row.seconds), row.baseline_name or "—",
            format_seconds(row.baseline_seconds), format_ratio(row.ratio), row.goal, format_met(row.met))


def benchmark_table(rows: Iterable[BenchRow]) -> Table:
    table = Table(title="gradproof bench (median per call; ratio = ours / baseline)",
                  title_justify="left", header_style="bold")
    for header in _HEADERS:
        numeric = header in ("ours", "baseline time", "ratio")
        table.add_column(header, justify="right" if numeric else "left",
                         overflow="fold", max_width=48 if header == "what" else None)
    for row in rows:
        *cells, met = _cells(row)
        table.add_row(*cells, Text(met, style=_MET_STYLE[row.met]))
    return table


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def benchmark_markdown(rows: Iterable[BenchRow]) -> str:
    lines = ["| " + " | ".join(_HEADERS) + " |",
             "|" + "|".join("---:" if h in ("ours", "baseline time", "ratio") else "---" for h in _HEADERS) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in _cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"
