"""Attack: answers a call itself with a reply whose header is 1 MiB of list entries (each a Python object to
build on the grader's side), or one listing more results than any call returns.  Everything else is correct."""
import json
import os
import stat
import struct
import time

import numpy as np


def _channel():
    for fd in range(128):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    raise RuntimeError("no channel")


def _send(header: dict):
    data = json.dumps(header).encode()
    os.write(_channel(), struct.pack("<I", len(data)) + data)
    time.sleep(30)  # the real reply would come after: the grader must already have refused this one


def sigmoid(x):
    _send({"op": "result", "ok": True, "kinds": [[0]] * 150_000, "valid": [], "mutated": [], "drawn": [], "$arrays": []})


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    _send({"op": "result", "ok": True, "kinds": ["float"] * 5000, "valid": [False] * 5000, "mutated": list(range(5000)),
           "drawn": [], "output": "", "$arrays": []})


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    raise NotImplementedError
