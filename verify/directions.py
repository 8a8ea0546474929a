"""Probe directions that cost no memory: d = outer(a, b) for a large matrix input.

A dense random direction over |V| x N coordinates is one more array the size of the input,
and forming x + t d reads it every time.  A rank-one direction a b^T with a and b random is
as good a probe (a^T E b is a nonzero polynomial in a and b for any nonzero error E, so it
vanishes with probability 0, and the rows that carry signal are weighted through a alone),
holds |V| + N numbers, and x + t a b^T is formed in cache-sized row blocks in one pass.
g . d is a^T (g b): one matrix-vector product.
"""
from __future__ import annotations

import numpy as np

ROWS = 512  # rows formed at a time: a block of x and of the buffer stay in cache


class Outer:
    """The direction a b^T (a: rows, b: columns), for a 2-D input."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.a, self.b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        self.shape = (self.a.size, self.b.size)
        self.size = self.a.size * self.b.size
        self.ndim = 2

    def __rmul__(self, factor: float) -> Outer:
        return Outer(self.a, self.b * factor)

    __mul__ = __rmul__

    def __radd__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(self.shape)
        self.form(out, x, 1.0)
        return out

    def form(self, out: np.ndarray, base: np.ndarray, t: float) -> None:
        """out = base + t a b^T, block of rows by block of rows."""
        tb = self.b * t
        for start in range(0, self.shape[0], ROWS):
            stop = min(start + ROWS, self.shape[0])
            np.multiply(self.a[start:stop, None], tb, out=out[start:stop])
            out[start:stop] += base[start:stop]

    def dot(self, g: np.ndarray) -> float:
        return float(self.a @ (np.asarray(g).reshape(self.shape) @ self.b))

    def square(self) -> float:
        return float(np.dot(self.a, self.a) * np.dot(self.b, self.b))

    def largest(self) -> float:
        return float(np.max(np.abs(self.a)) * np.max(np.abs(self.b)))

    def weight_rows(self, rows, factor: float) -> None:
        self.a[rows] *= factor

    def reshape(self, *_) -> _Flat:
        return _Flat(self)

    @property
    def flat(self) -> _Flat:
        return _Flat(self)


class _Flat:
    """Flat (row-major) indexing into a b^T, materialising only what is asked for."""

    def __init__(self, outer: Outer):
        self.outer = outer

    def __getitem__(self, index):
        cols = self.outer.shape[1]
        if isinstance(index, slice):
            start, stop, _ = index.indices(self.outer.size)
            if stop <= start:
                return np.zeros(0)
            first, last = start // cols, (stop - 1) // cols + 1
            block = np.outer(self.outer.a[first:last], self.outer.b).reshape(-1)
            return block[start - first * cols: stop - first * cols]
        index = int(index)
        return float(self.outer.a[index // cols] * self.outer.b[index % cols])


# -- operations on a direction of either kind ---------------------------------------------------------


def dot(g: np.ndarray, d) -> float:
    return d.dot(g) if isinstance(d, Outer) else float(np.vdot(g, d))


def square(d) -> float:
    return d.square() if isinstance(d, Outer) else float(np.vdot(d, d))


def largest(d) -> float:
    if isinstance(d, Outer):
        return d.largest()
    return max(float(np.max(d)), -float(np.min(d))) if d.size else 0.0


def form(out: np.ndarray, base: np.ndarray, d, t: float) -> None:
    """out = base + t d, in one pass where it can be."""
    if isinstance(d, Outer):
        d.form(out, base, t)
    elif t == 1:
        np.add(base, d, out=out)
    elif t == -1:
        np.subtract(base, d, out=out)
    else:
        np.multiply(d, t, out=out)
        out += base


def plus(base: np.ndarray, d) -> np.ndarray:
    """base + d as a new array."""
    return d.__radd__(base) if isinstance(d, Outer) else base + d
