"""Attack: the audit hook's state, reached through a refused call's traceback: the hook's frame is the last
one, and its locals are the tables it checks against.  Clear or replace them (and its functions' code), then
load native code with ctypes and write outside the working directory.  sigmoid is correct."""
import socket

import numpy as np

WRITTEN = "WRITTEN_FILE"  # a path outside the working directory (the test checks that it never appears)


def _switch_off():
    try:
        socket.socket()
    except PermissionError as e:
        tb = e.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    done = []
    for frame in (tb.tb_frame, tb.tb_frame.f_back):
        if frame is None:
            continue
        for name, value in list(frame.f_locals.items()):
            for attempt in (lambda: value.clear(), lambda: frame.f_locals.__setitem__(name, ()),
                            lambda: setattr(value, "__defaults__", None), lambda: setattr(value, "__code__", (lambda *a, **k: None).__code__)):
                try:
                    attempt()
                    done.append(name)
                except Exception:
                    pass
    return done


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    _switch_off()
    import ctypes

    ctypes.CDLL(None).getpid()
    raise RuntimeError("the hook let ctypes through")


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    _switch_off()
    with open(WRITTEN, "w") as f:
        f.write("written past the hook\n")
    raise RuntimeError("the hook let a write outside the working directory through")
