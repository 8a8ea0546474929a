"""Attack: reads its own process's memory (numpy's __array_interface__ reads any address; /proc/self/maps
says which are mapped) looking for what earlier gradings left in the memory it was forked from: a
classmate's file name.  It knows the name in two halves and never joins them, so any place where they stand
joined was written by someone else.  Its functions are correct; sigmoid fails, saying how often it found
the name, if it finds it."""
import numpy as np

FIRST, SECOND = "VICTIM_FIRST_HALF", "VICTIM_SECOND_HALF"


class _Raw:
    def __init__(self, addr, n):
        self.__array_interface__ = {"shape": (n,), "typestr": "|u1", "data": (addr, True), "version": 3}


def _found() -> int:
    first, second, count = FIRST.encode(), SECOND.encode(), 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for f in regions:
        if not f[1].startswith("r") or (len(f) > 5 and f[5].startswith("[v")):
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        data = np.asarray(_Raw(lo, hi - lo)).tobytes()
        at = data.find(first)
        while at >= 0:
            count += data.startswith(second, at + len(first))
            at = data.find(first, at + 1)
    return count


FOUND = _found()  # once, as it is imported


def sigmoid(x):
    if FOUND:
        raise RuntimeError(f"found a classmate's file name {FOUND} times in memory")
    return 1 / (1 + np.exp(-x))
