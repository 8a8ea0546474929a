"""Find the wrong coordinates of a gradient by group testing.

A direction d that exposes an error is restricted to blocks of coordinates (flat index
ranges, so 2-D inputs split by rows first, then by columns).  Along d restricted to a
block B, the analytic and numeric directional derivatives are both additive over B's
halves, so testing the left half gives the right half by subtraction: one test per
level, about log2(n) tests per wrong coordinate, explored best-first.
"""
from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .finite import Derivative
from .problem import Point
from .results import Block, Entry

# A block test: (input name, start, stop) -> Derivative of the loss along d restricted to it
Tester = Callable[[str, int, int], Derivative]


@dataclass(frozen=True)
class Tested:
    name: str
    start: int
    stop: int
    analytic: float
    numeric: float
    error: float  # error estimate of numeric
    depth: int

    @property
    def excess(self) -> float:
        """How many error estimates apart analytic and numeric are; inf when either is NaN."""
        value = abs(self.analytic - self.numeric) / self.error
        return value if value == value else float("inf")

    @property
    def width(self) -> int:
        return self.stop - self.start


def _entry_name(label: str, shape: tuple[int, ...], flat: int) -> str:
    return f"{label}[{', '.join(map(str, np.unravel_index(flat, shape)))}]"


@dataclass(frozen=True)
class Search:
    """How a localisation ended, and what it did not search."""

    tests: int
    stopped: str  # "explained", "entries", "time", "budget", "" (nothing to search)
    open_blocks: int  # blocks still over tolerance when it stopped
    open_coordinates: int

    @property
    def note(self) -> str:
        if not self.stopped:
            return ""
        why = {"explained": "the entries found explain the whole error along the probe",
               "entries": f"{ENTRIES} wrong entries found in each wrong input (more may be wrong)",
               "time": "its time was spent", "budget": "its budget of tests was spent"}[self.stopped]
        left = (f"; not searched: {self.open_coordinates:,} coordinates in {self.open_blocks} block(s) whose error "
                "exceeds the tolerance") if self.open_blocks else ""
        return f"localisation stopped after {self.tests} block tests: {why}{left}"


ENTRIES = 3  # entries to name per wrong input before stopping (a widespread error has millions)


def localise(roots: list[Tested], test: Tester, grads: Point, direction: Point, labels: dict[str, str],
             tolerance_factor: float, budget: int, deadline: float = float("inf"),
             ) -> tuple[dict[str, list[Entry]], dict[str, list[Block]], Search]:
    """Greedy dives from the worst open block: split, test one half, follow the worse half
    down to a single coordinate (about log2(n) tests), keep the other half for later dives.
    Stops when the entries found explain each root's error, when each wrong input has ENTRIES
    entries, at the deadline (time.perf_counter()) or the budget of tests.
    Returns worst entries, a row-block map per input, and how the search ended."""
    heap = [(-r.excess, i, r) for i, r in enumerate(roots)]
    heapq.heapify(heap)
    counter, tests = len(heap), 0
    found: dict[str, list[Entry]] = {}
    blocks: dict[str, list[Block]] = {}
    explained = {r.name: 0.0 for r in roots}  # sum of (analytic - numeric) of the entries found

    def done() -> str:
        if all(abs(r.analytic - r.numeric - explained[r.name]) <= tolerance_factor * r.error for r in roots):
            return "explained"
        if all(len(found.get(r.name, [])) >= ENTRIES or abs(r.analytic - r.numeric - explained[r.name])
               <= tolerance_factor * r.error for r in roots):
            return "entries"
        if time.perf_counter() > deadline:
            return "time"
        return "budget" if tests >= budget else ""

    stopped = "" if not roots else done()
    while heap and not stopped:
        _, _, block = heapq.heappop(heap)
        if len(found.get(block.name, [])) >= ENTRIES:
            continue  # that input has enough named entries; the heap keeps its blocks for the count
        while block.excess > tolerance_factor:
            _record_block(blocks, block, grads[block.name].shape, labels)
            if block.width == 1:
                if _record_entry(found, block, grads, direction, labels):
                    explained[block.name] += block.analytic - block.numeric
                break
            if tests >= budget or time.perf_counter() > deadline:
                counter += 1
                heapq.heappush(heap, (-block.excess, counter, block))
                break
            left, right = _split(block, test, grads, direction)
            tests += 1
            if max(left.excess, right.excess) <= tolerance_factor and tests < budget:
                # the error vanished in the subtraction's doubled tolerance: test the right half itself
                right = _tested(block.name, left.stop, block.stop, test, grads, direction, block.depth + 1)
                tests += 1
            worse, other = (left, right) if left.excess >= right.excess else (right, left)
            counter += 1
            heapq.heappush(heap, (-other.excess, counter, other))
            block = worse
        stopped = done()
    # single coordinates already isolated cost no further test: report them too
    for _, _, block in heap:
        if block.width == 1 and block.excess > tolerance_factor and len(found.get(block.name, [])) < ENTRIES:
            _record_entry(found, block, grads, direction, labels)
    for entries in found.values():
        entries.sort(key=lambda e: -abs(e.analytic - e.numeric))
    open_blocks = [b for _, _, b in heap if b.excess > tolerance_factor and b.width > 1]
    return found, blocks, Search(tests, stopped, len(open_blocks), sum(b.width for b in open_blocks))


def _split(block: Tested, test: Tester, grads: Point, direction: Point) -> tuple[Tested, Tested]:
    """Test the left half; the right half is the block minus the left (both sides are linear in d)."""
    middle = (block.start + block.stop) // 2
    left_d = test(block.name, block.start, middle)
    g, d = grads[block.name].reshape(-1), direction[block.name].reshape(-1)
    left_a = float(np.dot(g[block.start:middle], d[block.start:middle]))
    left = Tested(block.name, block.start, middle, left_a, left_d.value, left_d.error, block.depth + 1)
    right = Tested(block.name, middle, block.stop, block.analytic - left_a, block.numeric - left_d.value,
                   block.error + left_d.error, block.depth + 1)
    return left, right


def _tested(name: str, start: int, stop: int, test: Tester, grads: Point, direction: Point, depth: int) -> Tested:
    numeric = test(name, start, stop)
    g, d = grads[name].reshape(-1), direction[name].reshape(-1)
    return Tested(name, start, stop, float(np.dot(g[start:stop], d[start:stop])), numeric.value, numeric.error, depth)


def _record_entry(found, block: Tested, grads: Point, direction: Point, labels) -> bool:
    d = float(direction[block.name].flat[block.start])
    entry = Entry(_entry_name(labels[block.name], grads[block.name].shape, block.start),
                  float(grads[block.name].flat[block.start]), block.numeric / d if d else float("nan"))
    entries = found.setdefault(block.name, [])
    if entry not in entries:
        entries.append(entry)
        return True
    return False


def _record_block(blocks, block: Tested, shape, labels) -> None:
    """Blocks of whole rows near the top of the search make the error map."""
    if len(shape) != 2 or block.depth > 4:
        return
    cols = shape[1]
    if block.start % cols or block.stop % cols:
        return
    rows = f"{block.start // cols}-{block.stop // cols - 1}"
    blocks.setdefault(block.name, []).append(Block(rows, block.analytic, block.numeric, block.error))
