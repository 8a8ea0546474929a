"""Attack: once imported, tells the grader that the sandbox failed to start (as the sandbox itself would,
before running any submission), hoping for no results at all instead of a zero; then claims its confinement
was NaN.  It implements nothing."""
import json
import math
import os
import stat
import struct


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


KIND = "FORGE_KIND"
if KIND == "setup_error":
    _send({"op": "setup_error", "error": "OSError: the grader's disk is full", "$arrays": []})
else:
    _send({"op": "ready", "error": None, "output": "", "functions": [], "$arrays": [],
           "confinement": {"landlock": math.nan, "seccomp": math.inf, "user": "root"}})
