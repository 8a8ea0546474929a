"""Attack: reads its own process's memory (/proc/self/mem, as any process may) looking for what earlier
gradings left in the memory it was forked from: a classmate's file name.  It knows the name in two halves
and never joins them, so any place where they stand joined was written by someone else.  Its functions are
correct; sigmoid fails, saying how often it found the name, if it finds it."""
import numpy as np

FIRST, SECOND = "VICTIM_FIRST_HALF", "VICTIM_SECOND_HALF"


def _found() -> int:
    first, second, count = FIRST.encode(), SECOND.encode(), 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            f = line.split()
            if "r" not in f[1] or (len(f) > 5 and f[5].startswith("[v")):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
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
