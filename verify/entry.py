"""The `gradproof` command: the cyclic garbage collector's thresholds raised before the imports,
then the command line (cli.main, which keeps them raised while the command runs).

SymPy builds millions of small objects and leaves little cyclic garbage.  At Python's default
threshold (a collection every 700 allocations) importing the toolkit made about 200 collections
and the check of one corpus document over 600 more, 0.6 s of its 5; every 50,000 allocations,
about 10 collections in all, at the same peak memory.  mypy raises its thresholds likewise."""
from __future__ import annotations

import gc

COLLECT_EVERY = (50_000, 20, 20)


def main() -> int:
    gc.set_threshold(*COLLECT_EVERY)
    from .cli import main as command_line  # imported here: after the thresholds are raised

    return command_line()
