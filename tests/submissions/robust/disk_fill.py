"""Attack: fill the disk with many files, each under RLIMIT_FSIZE (16 MiB), 120 MiB in all (more than the 64 MiB of its own disk)."""
import numpy as np

written = 0
try:
    for i in range(8):
        with open(f"fill{i}", "wb") as f:
            f.write(b"\0" * (15 << 20))
        written += 15
except OSError as e:
    print(f"stopped after {written} MiB: {type(e).__name__}: {e}")
else:
    print(f"wrote {written} MiB")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))
