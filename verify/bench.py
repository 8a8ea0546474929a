"""Benchmarks behind `gradproof bench`: the generated reference code against hand-written
NumPy and PyTorch autograd, and the proof run cold and cached.

Measuring and rendering are separate: `run_benchmarks` returns frozen `BenchRow`s and never
prints; `benchmark_table` and `benchmark_markdown` only format finished rows.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from rich.table import Table
from rich.text import Text

__all__ = [
    "BenchRow", "BenchSettings", "TorchTimes", "OutputMismatch",
    "run_benchmarks", "benchmark_table", "benchmark_markdown",
    "hand_naive_softmax", "hand_naive_softmax_batch", "single_inputs", "batch_inputs",
    "measure_numpy", "measure_torch", "measure_derive", "median_seconds_per_call", "torch_worker",
    "CheckRun", "check_documents", "measure_check", "check_document_rows",
    "GradeRun", "measure_grade_command", "grade_against_rows",
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
    ours_text: str | None = None  # a figure that is not a time (peak memory): shown instead of seconds
    baseline_text: str | None = None


@dataclass(frozen=True)
class BenchSettings:
    vocab: int  # |V|
    dim: int  # N
    batch: int  # B pairs
    repeats: int  # timed blocks per kernel, a multiple of 4 (see _ALIGNMENT_PADS); median reported
    min_block_seconds: float  # each timed block runs enough calls to last this long
    cold_repeats: int
    warm_repeats: int
    quick: bool


FULL = BenchSettings(vocab=10_000, dim=100, batch=512, repeats=8, min_block_seconds=0.2,
                     cold_repeats=3, warm_repeats=5, quick=False)
QUICK = BenchSettings(vocab=1_000, dim=20, batch=32, repeats=4, min_block_seconds=0.02,
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
        if a.shape != b.shape:
            raise OutputMismatch(f"{label}: output {part} has shape {a.shape} vs {b.shape}")
        if not np.allclose(a, b):
            raise OutputMismatch(f"{label}: output {part} differs by up to {np.max(np.abs(a - b)):.3g}")


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


# The |V| x N gradient is written wherever malloc puts it, and its alignment alone (16 vs 32
# bytes) moved one implementation 10% against the other, by the luck of earlier allocations.
# A pad held through each block, one of these sizes in turn, shifts the heap top so that every
# contender is timed at every alignment; hence repeats in multiples of len(_ALIGNMENT_PADS).
_ALIGNMENT_PADS = tuple((1 << 20) + 16 * k for k in range(4))


def median_seconds_per_call(fns: Sequence[Callable[[], object]], repeats: int,
                            min_block_seconds: float) -> tuple[float, ...]:
    """Median seconds per call of each function.  Blocks are interleaved (a, b, c, a, b, c, ...)
    so that drift in clock speed or machine load lands on every contender alike; pass only
    contenders that share one thread pool (see _measure_torch_apart)."""
    for fn in fns:  # warm-up: first-call allocation, BLAS thread start, torch dispatch caches
        fn()
        fn()
    calls = [_calls_per_block(fn, min_block_seconds) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for repeat in range(repeats):
        for fn, n, out in zip(fns, calls, samples):
            pad = np.empty(_ALIGNMENT_PADS[repeat % len(_ALIGNMENT_PADS)], dtype=np.uint8)
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - start) / n)
            del pad
    return tuple(statistics.median(s) for s in samples)


def _ratio(ours: float, baseline: float | None) -> float | None:
    return None if baseline is None or baseline <= 0 else ours / baseline


def _met(value: float | None, limit: float, settings: BenchSettings) -> bool | None:
    if value is None or settings.quick:
        return None
    return value <= limit


# ---------------------------------------------------------------- kernel benchmarks

@dataclass(frozen=True)
class TorchTimes:
    version: str
    threads: int  # torch.get_num_threads(), left at its default
    single: float  # median seconds per call
    batch: float


def _embeddings(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    # scaled by 1/sqrt(N) so scores are O(1), as with trained embeddings: allclose stays meaningful
    return rng.standard_normal((rows, dim)) / math.sqrt(dim)


def single_inputs(settings: BenchSettings) -> tuple[np.ndarray, int, np.ndarray]:
    """(centerWordVec, outsideWordIdx, outsideVectors), the same in every process."""
    rng = np.random.default_rng(0)
    U = _embeddings(rng, settings.vocab, settings.dim)
    return _embeddings(rng, 1, settings.dim)[0], int(rng.integers(settings.vocab)), U


def batch_inputs(settings: BenchSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centerWordVecs, outsideWordIdxs, outsideVectors), the same in every process."""
    rng = np.random.default_rng(0)
    U = _embeddings(rng, settings.vocab, settings.dim)
    return _embeddings(rng, settings.batch, settings.dim), rng.integers(0, settings.vocab, settings.batch), U


def _generated_calls(single: tuple, batch: tuple) -> tuple[Callable[[], tuple], Callable[[], tuple]]:
    from gradproof.derive.reference import naiveSoftmaxLossAndGradient, naiveSoftmaxLossAndGradientBatch

    return (lambda: naiveSoftmaxLossAndGradient(*single, None),
            lambda: naiveSoftmaxLossAndGradientBatch(*batch))


def measure_numpy(settings: BenchSettings) -> tuple[tuple[float, float], tuple[float, float]]:
    """((generated, hand-written) seconds for one pair, the same for a batch)."""
    # every contender reads the very same arrays: equal copies placed differently in memory
    # (huge pages or not) made one implementation look 10-20% slower than the other
    single, batch = single_inputs(settings), batch_inputs(settings)
    gen_single, gen_batch = _generated_calls(single, batch)
    hand_single = lambda: hand_naive_softmax(*single)  # noqa: E731
    hand_batch = lambda: hand_naive_softmax_batch(*batch)  # noqa: E731
    _require_agreement("naive softmax: generated vs hand-written", gen_single(), hand_single())
    _require_agreement("batched naive softmax: generated vs hand-written", gen_batch(), hand_batch())
    timed = [median_seconds_per_call(pair, settings.repeats, settings.min_block_seconds)
             for pair in ([gen_single, hand_single], [gen_batch, hand_batch])]
    return (timed[0][0], timed[0][1]), (timed[1][0], timed[1][1])


def measure_torch(settings: BenchSettings) -> TorchTimes | None:
    """PyTorch autograd on the same inputs, checked against the generated code; None without torch.
    Meant for a child process (see _measure_torch_apart)."""
    torch = _import_torch()
    if torch is None:
        return None
    single, batch = single_inputs(settings), batch_inputs(settings)
    gen_single, gen_batch = _generated_calls(single, batch)
    torch_single, torch_batch = _torch_single(torch, *single), _torch_batch(torch, *batch)
    _require_agreement("naive softmax: generated vs torch", gen_single(), torch_single())
    _require_agreement("batched naive softmax: generated vs torch", gen_batch(), torch_batch())
    times = [median_seconds_per_call([call], settings.repeats, settings.min_block_seconds)[0]
             for call in (torch_single, torch_batch)]
    return TorchTimes(version=torch.__version__, threads=torch.get_num_threads(),
                      single=times[0], batch=times[1])


def torch_worker(quick: bool) -> None:
    """Child-process entry point: stdout is the channel back to the parent, not a display."""
    times = measure_torch(QUICK if quick else FULL)
    sys.stdout.write(json.dumps(None if times is None else asdict(times)))


def _measure_torch_apart(settings: BenchSettings) -> TorchTimes | None:
    # A process of its own: with torch's OpenMP pool and NumPy's OpenBLAS pool in one process
    # on few cores, idle threads of one spun while the other worked, and calls took 100-400x
    # longer at random; importing torch also shifted NumPy's own timings.
    script = f"from gradproof.verify.bench import torch_worker; torch_worker({settings.quick!r})"
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=_subprocess_env(None),
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        if "OutputMismatch" in done.stderr:
            raise OutputMismatch(tail[0])
        raise RuntimeError(f"torch benchmark failed: {tail[0]}")
    payload = json.loads(done.stdout)
    return None if payload is None else TorchTimes(**payload)


def _torch_what(torch: TorchTimes | None) -> str:
    if torch is None:
        return "torch not installed: pip install torch to compare"
    # default thread count kept (not forced to NumPy's): each library as a user would run it
    return (f"torch {torch.version} autograd, float64, log_softmax / cross_entropy + backward, "
            f"{torch.threads} threads of {os.cpu_count()} CPUs")


def _kernel_rows(settings: BenchSettings, numpy_times, torch: TorchTimes | None) -> tuple[BenchRow, ...]:
    (single_gen, single_hand), (batch_gen, batch_hand) = numpy_times
    cases = (
        ("naive softmax, 1 pair", f"naiveSoftmaxLossAndGradient, |V|={settings.vocab:,}, N={settings.dim}",
         single_gen, single_hand, torch and torch.single),
        (f"naive softmax, {settings.batch} pairs",
         f"naiveSoftmaxLossAndGradientBatch, |V|={settings.vocab:,}, N={settings.dim}",
         batch_gen, batch_hand, torch and torch.batch),
    )
    vs_hand = tuple(
        BenchRow(name=f"{case} vs NumPy", what=what, seconds=gen, baseline_name="hand-written NumPy",
                 baseline_seconds=hand, ratio=_ratio(gen, hand), goal=f"≤ {RATIO_GOAL}×",
                 met=_met(_ratio(gen, hand), RATIO_GOAL, settings))
        for case, what, gen, hand, _ in cases)
    vs_torch = tuple(
        BenchRow(name=f"{case} vs PyTorch", what=_torch_what(torch), seconds=gen,
                 baseline_name="PyTorch autograd" if torch else "PyTorch (not installed)",
                 baseline_seconds=theirs, ratio=_ratio(gen, theirs), goal="—", met=None)
        for case, _, gen, _, theirs in cases)
    return vs_hand + vs_torch


# ---------------------------------------------------------------- derive (subprocess) benchmarks

ALL_GOAL_SECONDS = 30.0


def _model_names(settings: BenchSettings) -> tuple[str, ...]:
    from gradproof.derive.catalog import names  # the shipped model files, without SymPy

    return ("logistic-regression",) if settings.quick else names()  # a smoke test need not prove everything


def _subprocess_env(cache_dir: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if cache_dir is not None:
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


def _label(command: Sequence[str]) -> str:
    return " ".join("python" if part == sys.executable else part for part in command)


def measure_derive(derive_command: list[str] | None, settings: BenchSettings,
                   models: Sequence[str] | None = None, warm: bool = True) -> tuple[float, float | None, str]:
    """(median cold seconds, median warm seconds or None, the command): the command run in a
    new process against an empty cache, then again against the cache it filled."""
    base = list(derive_command or [sys.executable, "-m", "gradproof.verify.cli", "derive"])
    command = base + [arg for m in (models or ()) for arg in ("--model", m)]
    cold_times, warm_times = [], []
    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as root:
        for attempt in range(settings.cold_repeats):
            cache_dir = os.path.join(root, f"cold-{attempt}")  # new and empty: no cache
            cold_times.append(_timed_run(command, cache_dir))
        if warm:
            if not (Path(cache_dir).is_dir() and any(Path(cache_dir).iterdir())):
                raise RuntimeError(f"{_label(command)} stored nothing in the cache: "
                                   "a warm timing would be another cold one")
            for _ in range(settings.warm_repeats):
                warm_times.append(_timed_run(command, cache_dir))
    return statistics.median(cold_times), statistics.median(warm_times) if warm else None, _label(command)


def _derive_rows(derive_command: list[str] | None, settings: BenchSettings) -> tuple[BenchRow, ...]:
    """Each shipped model derived and proved cold (a new process, an empty cache), all of them
    at once, and all of them again from the cache."""
    names = _model_names(settings)
    rows = []
    for name in names:
        cold, _, label = measure_derive(derive_command, settings, [name], warm=False)
        rows.append(BenchRow(
            name=f"derive, cold: {name}", what=f"{label}; new process, empty cache; median of {settings.cold_repeats}",
            seconds=cold, baseline_name="", baseline_seconds=None, ratio=None, goal=f"< {COLD_GOAL_SECONDS:g} s",
            met=None if settings.quick else cold < COLD_GOAL_SECONDS))
    cold, warm, label = measure_derive(derive_command, settings, None if not settings.quick else names)
    rows.append(BenchRow(
        name="derive, cold", what=f"{label} (all {len(names)} models); new process, empty cache; "
                                  f"median of {settings.cold_repeats}",
        seconds=cold, baseline_name="", baseline_seconds=None, ratio=None,
        goal=f"< {ALL_GOAL_SECONDS:g} s", met=None if settings.quick else cold < ALL_GOAL_SECONDS))
    rows.append(BenchRow(
        name="derive, warm", what=f"{label}; new process, cache hit; median of {settings.warm_repeats}",
        seconds=warm, baseline_name="derive, cold", baseline_seconds=cold, ratio=_ratio(warm, cold),
        goal=f"< {WARM_GOAL_SECONDS:g} s", met=None if settings.quick else warm < WARM_GOAL_SECONDS))
    return tuple(rows)


# ---------------------------------------------------------------- generated code against baselines

REFERENCE_GOAL = 1.05


class _ReplayDataset:
    """sampleTokenIdx() cycles through a fixed sequence: the same samples for both contenders."""

    def __init__(self, sequence):
        self.sequence, self.at = list(sequence), 0

    def sampleTokenIdx(self):
        value = self.sequence[self.at % len(self.sequence)]
        self.at += 1
        return value


def _reference_cases(settings: BenchSettings):
    """(name, what, call(module)) for each reference function, inputs shared by both modules."""
    rng = np.random.default_rng(1)
    V, N, B = settings.vocab, settings.dim, settings.batch
    U = _embeddings(rng, V, N)  # outsideVectors, |V| x N
    Ucol = np.ascontiguousarray(U.T)  # the column convention's U, N x |V|
    Vcol = np.ascontiguousarray(_embeddings(rng, V, N).T)
    v = _embeddings(rng, 1, N)[0]
    o, c = int(rng.integers(V)), int(rng.integers(V))
    w = rng.integers(0, V, 10)
    o_t = rng.integers(0, V, 8)
    C = _embeddings(rng, B, N)
    c_b, o_b = rng.integers(0, V, B), rng.integers(0, V, B)
    samples = [int(x) for x in rng.integers(0, V, 64)]
    size = f"|V|={V:,}, N={N}"
    return (
        ("naiveSoftmaxLossAndGradient", size, lambda m: m.naiveSoftmaxLossAndGradient(v, o, U, None)),
        ("negSamplingLossAndGradient", f"{size}, K=10",
         lambda m: m.negSamplingLossAndGradient(v, o, U, _ReplayDataset(samples))),
        ("naiveSoftmaxLossAndGradientBatch", f"{size}, B={B}", lambda m: m.naiveSoftmaxLossAndGradientBatch(C, o_b, U)),
        ("naive_softmax_loss_and_gradients", size, lambda m: m.naive_softmax_loss_and_gradients(v, o, Ucol)),
        ("skipgram_pair_loss_and_gradients", size, lambda m: m.skipgram_pair_loss_and_gradients(c, o, Vcol, Ucol)),
        ("neg_sampling_loss_and_gradients", f"{size}, K=10", lambda m: m.neg_sampling_loss_and_gradients(v, o, Ucol, w)),
        ("window_naive_softmax_loss_and_gradients", f"{size}, T=8",
         lambda m: m.window_naive_softmax_loss_and_gradients(v, o_t, Ucol)),
        ("batch_naive_softmax_loss_and_gradients", f"{size}, B={B}",
         lambda m: m.batch_naive_softmax_loss_and_gradients(c_b, o_b, Vcol, Ucol)),
    )


def _reference_rows(settings: BenchSettings) -> tuple[BenchRow, ...]:
    """The reference regenerated from the word2vec model files against the reference as it was
    generated before them (verify/reference_before.py), function by function, side by side."""
    from gradproof.derive import reference as now

    from . import reference_before as before

    rows = []
    for name, what, call in _reference_cases(settings):
        ours, theirs = (lambda: call(now)), (lambda: call(before))  # noqa: E731
        _require_agreement(f"{name}: regenerated vs before", ours(), theirs())
        t_ours, t_theirs = median_seconds_per_call([ours, theirs], settings.repeats, settings.min_block_seconds)
        rows.append(BenchRow(
            name=f"{name} vs today's reference", what=f"{what}; derive/reference.py from the model files",
            seconds=t_ours, baseline_name="the reference before model files", baseline_seconds=t_theirs,
            ratio=_ratio(t_ours, t_theirs), goal=f"≤ {REFERENCE_GOAL}×",
            met=_met(_ratio(t_ours, t_theirs), REFERENCE_GOAL, settings)))
    return tuple(rows)


def _model_cases(settings: BenchSettings):
    """(model, what, generated call, hand-written call) at a course's sizes."""
    from gradproof.derive.generated import glove, logistic_regression, softmax_classifier, two_layer_net

    from . import handwritten as hand

    rng = np.random.default_rng(2)
    q = settings.quick
    N, D, C = (64, 100, 10) if q else (500, 3073, 10)
    W, X, y = 1e-3 * rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, N)
    Nt, Dt, H = (64, 50, 20) if q else (500, 500, 100)
    Xt = rng.standard_normal((Nt, Dt))
    W1, b1 = 0.05 * rng.standard_normal((Dt, H)), 0.05 * rng.standard_normal(H)
    W2, b2 = 0.05 * rng.standard_normal((H, C)), 0.05 * rng.standard_normal(C)
    yt = rng.integers(0, C, Nt)
    Nl, Dl = (200, 50) if q else (5000, 500)
    Xl, yl, wl = rng.standard_normal((Nl, Dl)), rng.integers(0, 2, Nl), 0.05 * rng.standard_normal(Dl)
    Vg, dg = (100, 10) if q else (2000, 50)
    Wg, Wt = 0.1 * rng.standard_normal((Vg, dg)), 0.1 * rng.standard_normal((Vg, dg))
    bg, bt = 0.1 * rng.standard_normal(Vg), 0.1 * rng.standard_normal(Vg)
    Xg = rng.integers(0, 20, (Vg, Vg)) * (rng.random((Vg, Vg)) < 0.3).astype(float)
    return (
        ("softmax-classifier", f"softmax_loss_vectorized, N={N}, D={D}, C={C}",
         lambda: softmax_classifier.softmax_loss_vectorized(W, X, y, 0.1),
         lambda: hand.softmax_loss_vectorized(W, X, y, 0.1)),
        ("two-layer-net", f"two_layer_net, N={Nt}, D={Dt}, H={H}, C={C}",
         lambda: _flat(two_layer_net.two_layer_net(Xt, yt, W1, b1, W2, b2, 0.1)),
         lambda: _flat(hand.two_layer_net(Xt, yt, W1, b1, W2, b2, 0.1))),
        ("logistic-regression", f"logistic_regression, N={Nl}, D={Dl}",
         lambda: logistic_regression.logistic_regression(wl, 0.3, Xl, yl, 0.1),
         lambda: hand.logistic_regression(wl, 0.3, Xl, yl, 0.1)),
        ("glove", f"glove, |V|={Vg:,}, d={dg}, 30% of X nonzero",
         lambda: glove.glove(Wg, Wt, bg, bt, Xg), lambda: hand.glove(Wg, Wt, bg, bt, Xg)),
    )


ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def code_worker(quick: bool) -> None:
    """Child-process entry point: the generated-code rows as JSON on stdout."""
    settings = QUICK if quick else FULL
    rows = _reference_rows(settings) + _model_rows(settings)
    sys.stdout.write(json.dumps([asdict(r) for r in rows]))


def _code_rows_apart(settings: BenchSettings) -> tuple[BenchRow, ...]:
    # One BLAS thread, in a process of its own: the generated code and its baseline call the
    # same BLAS, and on a shared 2-core machine a multi-threaded BLAS stalls whenever another
    # process takes a core, which moved single calls by 2-10x; one thread times the code, not
    # the scheduler.  The rows say so.
    script = f"from gradproof.verify.bench import code_worker; code_worker({settings.quick!r})"
    env = {**_subprocess_env(None), **ONE_THREAD}
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        if "OutputMismatch" in done.stderr:
            raise OutputMismatch(tail[0])
        raise RuntimeError(f"generated-code benchmark failed: {tail[0]}")
    rows = [BenchRow(**r) for r in json.loads(done.stdout)]
    return tuple(replace(r, what=f"{r.what}; one BLAS thread") for r in rows)


def _flat(out):
    loss, grads = out
    return (loss, *[grads[k] for k in sorted(grads)])


def _model_rows(settings: BenchSettings) -> tuple[BenchRow, ...]:
    """Each function generated from a shipped model beside word2vec against a careful
    hand-written NumPy version (verify/handwritten.py), side by side."""
    rows = []
    for model, what, ours, theirs in _model_cases(settings):
        _require_agreement(f"{model}: generated vs hand-written", ours(), theirs())
        t_ours, t_theirs = median_seconds_per_call([ours, theirs], settings.repeats, settings.min_block_seconds)
        rows.append(BenchRow(
            name=f"{model} vs hand-written", what=what, seconds=t_ours, baseline_name="hand-written NumPy",
            baseline_seconds=t_theirs, ratio=_ratio(t_ours, t_theirs), goal=f"≤ {RATIO_GOAL}×",
            met=_met(_ratio(t_ours, t_theirs), RATIO_GOAL, settings)))
    return tuple(rows)


VERIFY_GOAL_CALLS = 8.0  # a passing check in process, in loss-and-gradient calls
CLI_GOAL_CALLS = 12.0  # the whole `gradproof verify FILE:FUNCTION` command, wall time
MEMORY_GOAL = 3.0  # peak memory of the checking process over the inputs' size


def _median_call(problem, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        problem.evaluate(problem.point)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _verify_rows(settings: BenchSettings) -> tuple[BenchRow, ...]:
    """A passing check of the generated code at |V| = 50,000, N = 300, three ways side by side:
    in process (check time over the median time of one loss-and-gradient call, goal 8), from
    the command line (wall time of the whole command, goal 12 calls) and its peak memory over
    the inputs' size (goal 3), each the median over 3 seeds."""
    from gradproof.derive import reference
    from gradproof.verify.check import check_problem
    from gradproof.verify.signatures import problem_for

    vocab, dim = (2_000, 20) if settings.quick else (50_000, 300)
    rows, call_of = [], {}
    for name in ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient"):
        checks, calls = [], []
        for seed in range(3):
            problem = problem_for(getattr(reference, name), vocab, dim, seed)
            calls.append(_median_call(problem))
            result = check_problem(problem, seed=seed)
            if not result.passed:
                raise OutputMismatch(f"the verifier failed the correct {name}: a benchmark of it means nothing")
            checks.append(result.seconds)
            del problem
        check, call = statistics.median(checks), statistics.median(calls)
        call_of[name] = call
        rows.append(BenchRow(
            name=f"verify in process, passing check of {name}", what=f"|V|={vocab:,}, N={dim}; median of 3 seeds",
            seconds=check, baseline_name="one loss-and-gradient call", baseline_seconds=call, ratio=check / call,
            goal=f"≤ {VERIFY_GOAL_CALLS:g}×", met=None if settings.quick else check / call <= VERIFY_GOAL_CALLS))
    walls, peaks, inside = [], [], []
    target = f"{Path(reference.__file__).resolve()}:naiveSoftmaxLossAndGradient"
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(3):
            out = Path(tmp) / f"{seed}.json"
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "verify", target, "--vocab", str(vocab),
                                   "--dim", str(dim), "--seed", str(seed), "--json", str(out)], capture_output=True,
                                  text=True, check=False)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise OutputMismatch(f"gradproof verify failed the correct code: {done.stderr.strip()[:200]}")
            data = json.loads(out.read_text())
            inside.append(data["seconds"])
            peaks.append(data.get("memory", {}).get("peak_over_inputs", float("nan")))
    wall, call = statistics.median(walls), call_of["naiveSoftmaxLossAndGradient"]
    rows.append(BenchRow(
        name="verify from the command line, passing check of naiveSoftmaxLossAndGradient",
        what=f"|V|={vocab:,}, N={dim}; wall time of `gradproof verify FILE:FUNCTION` (two interpreters, the target "
             f"imported, inputs drawn; the check inside it took {statistics.median(inside) / call:.1f} calls); median of 3",
        seconds=wall, baseline_name="one loss-and-gradient call", baseline_seconds=call, ratio=wall / call,
        goal=f"≤ {CLI_GOAL_CALLS:g}×", met=None if settings.quick else wall / call <= CLI_GOAL_CALLS))
    peak = statistics.median(peaks)
    inputs_mb = vocab * dim * 8 / 1e6
    rows.append(BenchRow(
        name="verify, peak memory of a passing check", what=f"|V|={vocab:,}, N={dim}; the checking process's peak "
        "resident memory above what it held before drawing the inputs (the inputs included), from the command's JSON",
        seconds=0.0, baseline_name="the inputs", baseline_seconds=None, ratio=peak, goal=f"≤ {MEMORY_GOAL:g}×",
        met=None if settings.quick else peak <= MEMORY_GOAL,
        ours_text=f"{peak * inputs_mb:.0f} MB", baseline_text=f"{inputs_mb:.0f} MB"))
    return tuple(rows)


CHECK_GOAL_SECONDS = 20.0
SEED = PROJECT_ROOT.parent / "shared" / "seed" / "000_3f2dd21e68b13a25.txt"


def _check_rows(settings: BenchSettings) -> tuple[BenchRow, ...]:
    """`gradproof check` on the seed derivation in a cold process (goal: under 20 s)."""
    if settings.quick:
        return ()
    if not SEED.is_file():
        return (_not_run("check the seed derivation, cold", f"the seed derivation ({SEED}) is not on this machine"),)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "check", str(SEED)], cwd=PROJECT_ROOT,
                       capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return (BenchRow(name="check the seed derivation, cold", what="python -m verify.cli check <seed>; median of 3",
                     seconds=seconds, baseline_name="", baseline_seconds=None, ratio=None,
                     goal=f"< {CHECK_GOAL_SECONDS:g} s", met=seconds < CHECK_GOAL_SECONDS),)


CHECK_DOCUMENT_GOAL_SECONDS = 5.0
DERIVATIONS = PROJECT_ROOT / "tests" / "derivations"
DOCUMENT_SUFFIXES = (".md", ".tex", ".ipynb", ".txt")


def check_documents(paths: Sequence[str | Path] = ()) -> list[Path]:
    """The documents to time: each path, or a directory's documents (.md, .tex, .ipynb, .txt) in
    name order; by default the project's test derivations and the seed."""
    out = []
    for path in (Path(p) for p in paths) if paths else (DERIVATIONS, SEED):
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in DOCUMENT_SUFFIXES and p.is_file())
        elif path.is_file() or paths:
            out.append(path)  # a named file that is missing is reported as not run
    return out


@dataclass(frozen=True)
class CheckRun:
    seconds: float  # wall clock of the process, interpreter start included
    verdicts: tuple | None  # (line, status) of every step; None when the command wrote no results
    error: str = ""


def _last_line(done: subprocess.CompletedProcess) -> str:
    """Why a command wrote no results: the last line it printed, or its exit code."""
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    return tail[0][:200]


def measure_check(command: Sequence[str], document: Path) -> CheckRun:
    """`COMMAND check DOCUMENT --json FILE` in a fresh process, in the current directory (where a
    command or document given by a relative path is): its wall time and its verdicts."""
    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as tmp:
        out = Path(tmp) / "check.json"
        start = time.perf_counter()
        done = subprocess.run([*command, "check", str(document), "--json", str(out)], capture_output=True, text=True,
                              timeout=900, env={**os.environ, "COLUMNS": "120"})
        seconds = time.perf_counter() - start
        if not out.is_file():
            return CheckRun(seconds, None, _last_line(done))
        data = json.loads(out.read_text())
    verdicts = tuple((s.get("line"), s.get("status")) for e in data.get("equations", ()) for s in e.get("steps", ()))
    return CheckRun(seconds, verdicts)


def check_document_rows(documents: Sequence[Path], against: Sequence[str] | None = None, repeats: int = 3,
                        progress=None) -> tuple[BenchRow, ...]:
    """`gradproof check` of each document in a cold process (goal: under 5 s each), and with
    ``against`` (another gradproof command, say an older install) that command on the same
    document, the two run alternately so that the load of the machine falls on both alike; the
    medians, their ratio, and whether the two gave the same verdict on every step."""
    ours = [sys.executable, "-m", "gradproof.verify.cli"]
    tell = progress or (lambda done, total, what: None)
    rows = []
    for n, document in enumerate(documents):
        tell(n, len(documents), document.name)
        name = f"check {document.name}"
        if not document.is_file():
            rows.append(_not_run(name, f"{document} is not a file"))
            continue
        runs = _alternate(repeats, against, lambda which: measure_check(ours if which == "ours" else against, document))
        failed = next((run for run in runs["ours"] if run.verdicts is None), None)
        if failed is not None:
            rows.append(_not_run(name, f"gradproof check wrote no results ({failed.error})"))
            continue
        seconds = statistics.median(run.seconds for run in runs["ours"])
        base = statistics.median(run.seconds for run in runs["base"]) if against else None
        what = f"gradproof check, a fresh process; median of {repeats}"
        if against:
            what += _agreement(runs["ours"][-1].verdicts, runs["base"][-1].verdicts, "results",
                               "the same verdict on every step", "step verdicts differ")
        rows.append(BenchRow(name=name, what=what, seconds=seconds,
                             baseline_name=_label(against) if against else "", baseline_seconds=base,
                             ratio=_ratio(seconds, base) if base else None,
                             goal=f"< {CHECK_DOCUMENT_GOAL_SECONDS:g} s", met=seconds < CHECK_DOCUMENT_GOAL_SECONDS))
    tell(len(documents), len(documents), "")
    return tuple(rows)


def _alternate(repeats: int, against, measure: Callable[[str], object]) -> dict[str, list]:
    """measure("ours") and, with a baseline, measure("base"), repeats times each, alternated (ours
    first, then the baseline first, ...) so that the load of the machine falls on both alike."""
    runs: dict[str, list] = {"ours": [], "base": []}
    for r in range(repeats):
        for which in ("ours", "base") if r % 2 == 0 else ("base", "ours"):
            if which == "ours" or against:
                runs[which].append(measure(which))
    return runs


def _agreement(ours: tuple, theirs: tuple | None, output: str, same: str, differ: str) -> str:
    """What the two last runs' outputs say of each other, for a row's description."""
    if theirs is None:
        return f", alternating with the baseline; the baseline wrote no {output}"
    count = sum(a != b for a, b in zip(ours, theirs)) + abs(len(theirs) - len(ours))
    return ", alternating with the baseline; " + (same if count == 0 else f"{count} {differ}")


def _not_run(name: str, why: str) -> BenchRow:
    """A row whose inputs are missing here: shown as not run, never dropped in silence."""
    return BenchRow(name=name, what=f"not run: {why}", seconds=float("nan"), baseline_name="", baseline_seconds=None,
                    ratio=None, goal="", met=None, ours_text="not run")


GRADE_GOAL_SECONDS = 60.0
CLASS_DIR = PROJECT_ROOT / "tests" / "submissions"


def grade_class(count: int) -> list[Path]:
    """The sample class: the correct solution and each planted mistake, in turn, to count files."""
    mistakes = (p for p in (CLASS_DIR / "mistakes").glob("*.py") if not p.name.startswith("math_"))
    pool = sorted([CLASS_DIR / "correct.py", *mistakes])
    return [pool[i % len(pool)] for i in range(count)]


def measure_grading(count: int, fresh: bool, jobs: int = 2) -> float:
    """Seconds to grade count submissions with the default rubric, `jobs` at a time."""
    import shutil
    import tempfile

    from .grade.batch import grade_directory
    from .grade.rubric import load
    from .grade.sandbox import Sandbox

    rubric = load()
    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as tmp:
        root = Path(tmp)
        (root / "class").mkdir()
        for i, source in enumerate(grade_class(count)):
            shutil.copy(source, root / "class" / f"student{i:03d}.py")
        start = time.perf_counter()
        with Sandbox(limits=rubric.limits, fresh=fresh, packages=rubric.packages) as sandbox:
            batch = grade_directory(root / "class", root / "out", rubric, sandbox, jobs)
        seconds = time.perf_counter() - start
    if len(batch.rows) != count or any(r.error for r in batch.rows):
        raise OutputMismatch("the benchmark class was not graded completely")
    return seconds


@dataclass(frozen=True)
class GradeRun:
    seconds: float  # wall clock of `gradproof grade CLASS --out OUT`, interpreter start included
    cpu: float  # user + system seconds of that process and every process it waited for
    scores: tuple | None  # (submission, score) of summary.csv; None when the command wrote none
    error: str = ""


def measure_grade_command(command: Sequence[str], class_dir: Path, jobs: int = 2) -> GradeRun:
    """`COMMAND grade CLASS --out OUT --jobs J` in a fresh process: its wall and CPU time (the
    grader, its sandbox and every confined child, all waited for) and the scores it wrote."""
    import csv
    import resource

    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as tmp:
        out = Path(tmp) / "out"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*command, "grade", str(class_dir), "--out", str(out), "--jobs", str(jobs)],
                              capture_output=True, text=True, timeout=3600, env={**os.environ, "COLUMNS": "120"})
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        summary = out / "summary.csv"
        if not summary.is_file():
            return GradeRun(seconds, cpu, None, _last_line(done))
        with summary.open(newline="") as f:
            rows = list(csv.DictReader(f))
    scores = tuple((r.get("submission") or next(iter(r.values()), ""), r.get("score")) for r in rows)
    return GradeRun(seconds, cpu, scores)


def grade_against_rows(count: int, against: Sequence[str] | None = None, repeats: int = 3,
                       progress=None) -> tuple[BenchRow, ...]:
    """The class job as course staff run it (`gradproof grade CLASS --out OUT`, 2 at a time, the
    default rubric, a fresh process per run) on the sample class of ``count``; with ``against``
    (another gradproof command, say an older install) that command on the same class, the two
    alternated so that the load of the machine falls on both alike.  Two rows, wall and CPU:
    medians, their ratio (goal: within 10%), and whether both wrote the same scores."""
    import shutil

    name = f"grade {count} submissions (class job)"
    if not (CLASS_DIR / "correct.py").is_file():
        return (_not_run(name, f"the sample class ({CLASS_DIR}) is in a checkout of gradproof, "
                               "not in the installed package"),)
    ours = [sys.executable, "-m", "gradproof.verify.cli"]
    tell = progress or (lambda done, total, what: None)
    total, done = repeats * (2 if against else 1), [0]

    def measure(which: str) -> GradeRun:
        tell(done[0], total, which)
        done[0] += 1
        return measure_grade_command(ours if which == "ours" else against, class_dir)

    with tempfile.TemporaryDirectory(prefix="gradproof-bench-class-") as tmp:
        class_dir = Path(tmp) / "class"
        class_dir.mkdir()
        for i, source in enumerate(grade_class(count)):
            shutil.copy(source, class_dir / f"student{i:03d}.py")
        runs = _alternate(repeats, against, measure)
    tell(total, total, "")
    failed = next((run for run in runs["ours"] if run.scores is None), None)
    if failed is not None:
        return (_not_run(name, f"gradproof grade wrote no summary ({failed.error})"),)
    what = f"gradproof grade CLASS --out OUT, a fresh process; median of {repeats}"
    if against:
        what += _agreement(runs["ours"][-1].scores, runs["base"][-1].scores, "summary",
                           "the same score for every submission", "scores differ")
    rows = []
    for label, measure in (("wall", lambda run: run.seconds), ("CPU", lambda run: run.cpu)):
        seconds = statistics.median(measure(run) for run in runs["ours"])
        base = statistics.median(measure(run) for run in runs["base"]) if against else None
        ratio = _ratio(seconds, base) if base else None
        rows.append(BenchRow(name=f"{name}, {label}", what=what, seconds=seconds,
                             baseline_name=_label(against) if against else "", baseline_seconds=base, ratio=ratio,
                             goal=f"within {RATIO_GOAL - 1:.0%} of the baseline" if against else "",
                             met=None if ratio is None else ratio <= RATIO_GOAL))
    return tuple(rows)


def _grade_rows(settings: BenchSettings) -> tuple[BenchRow, ...]:
    """A class graded with the pre-forked worker, beside a fresh Python process per submission."""
    count = 20 if settings.quick else 200
    if not (CLASS_DIR / "correct.py").is_file():
        return (_not_run(f"grade {count} submissions, 2 at a time",
                         f"the sample class ({CLASS_DIR}) is in a checkout of gradproof, not in the installed package"),)
    count = 20 if settings.quick else 200
    ours, fresh = measure_grading(count, fresh=False), measure_grading(count, fresh=True)
    return (BenchRow(name=f"grade {count} submissions, 2 at a time",
                     what="gradproof grade DIR --out: pre-forked worker (numpy imported), a confined child each",
                     seconds=ours, baseline_name="a fresh Python process per submission", baseline_seconds=fresh,
                     ratio=_ratio(ours, fresh), goal=f"< {GRADE_GOAL_SECONDS:g} s for 200",
                     met=None if settings.quick else ours < GRADE_GOAL_SECONDS),)


def run_benchmarks(quick: bool = False, derive_command: list[str] | None = None,
                   progress=None) -> tuple[BenchRow, ...]:
    """All benchmarks in one run.  ``derive_command`` (e.g. ``[sys.executable, "-m", "gradproof.verify.cli",
    "derive"]``) is run once against an empty cache and then again against the cache it filled;
    by default the installed command line's ``derive``.  progress(done, total, what), if given,
    is called as each group starts."""
    settings = QUICK if quick else FULL
    tell = progress or (lambda done, total, what: None)
    groups = ("NumPy kernels", "PyTorch", "generated code", "verify", "derive", "check", "grading")
    tell(0, len(groups), groups[0])
    numpy_times = measure_numpy(settings)
    tell(1, len(groups), groups[1])
    torch = _measure_torch_apart(settings)
    # the proofs run last: their worker processes would otherwise compete with the kernels
    tell(2, len(groups), groups[2])
    code_rows = _code_rows_apart(settings)
    tell(3, len(groups), groups[3])
    verify_rows = _verify_rows(settings)
    tell(4, len(groups), groups[4])
    derive_rows = _derive_rows(derive_command, settings)
    tell(5, len(groups), groups[5])
    check_rows = _check_rows(settings)
    tell(6, len(groups), groups[6])
    grade_rows = _grade_rows(settings)
    tell(7, len(groups), "")
    return (*_kernel_rows(settings, numpy_times, torch), *code_rows, *verify_rows, *derive_rows,
            *check_rows, *grade_rows)


# ---------------------------------------------------------------- rendering

def _three_digits(x: float) -> str:
    return f"{x:.2f}" if x < 9.995 else f"{x:.1f}" if x < 99.95 else f"{x:.0f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 0.9995e-3:
        return f"{_three_digits(seconds * 1e6)} µs"
    if seconds < 0.9995:
        return f"{_three_digits(seconds * 1e3)} ms"
    return f"{_three_digits(seconds)} s"


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def format_met(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[met]


_MET_STYLE = {True: "bold green", False: "bold red", None: "dim"}
_HEADERS = ("benchmark", "what", "ours", "baseline", "baseline time", "ratio", "goal", "met")


def _cells(row: BenchRow) -> tuple[str, ...]:
    return (row.name, row.what, row.ours_text or format_seconds(row.seconds), row.baseline_name or "—",
            row.baseline_text or format_seconds(row.baseline_seconds), format_ratio(row.ratio), row.goal,
            format_met(row.met))


def benchmark_table(rows: Iterable[BenchRow]) -> Table:
    # "what" and the baseline's name go on a dim second line so the table stays legible at 80 columns
    table = Table(title="gradproof bench: median time per call; ratio = ours / baseline",
                  title_justify="left", header_style="bold", show_lines=True)
    table.add_column("benchmark", ratio=1, overflow="fold")
    table.add_column("ours", justify="right", no_wrap=True)
    table.add_column("baseline", justify="right", max_width=18)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("goal", no_wrap=True)
    table.add_column("met", no_wrap=True)
    for row in rows:
        name, what, ours, baseline, baseline_time, ratio, goal, met = _cells(row)
        benchmark = Text(name, style="bold")
        benchmark.append(f"\n{what}", style="dim")
        against = Text(baseline_time)
        if row.baseline_name:
            against.append(f"\n{baseline}", style="dim")
        table.add_row(benchmark, ours, against, ratio, goal, Text(met, style=_MET_STYLE[row.met]))
    return table


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def benchmark_markdown(rows: Iterable[BenchRow]) -> str:
    align = ("---:" if h in ("ours", "baseline time", "ratio") else "---" for h in _HEADERS)
    lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in _cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"
