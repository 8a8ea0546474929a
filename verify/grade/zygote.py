"""The pre-forked worker: a process with numpy already imported that forks one confined
child per submission on request, so a submission costs a fork, not a Python start-up.

It never imports the toolkit's reference code (it is started fresh, not forked from the
grader), so no child inherits it in memory.  Requests arrive on a Unix socket together
with the child's end of a private channel (SCM_RIGHTS); the reply is the child's pid.
``--once`` does the same for a single submission in this process: the fresh-process
baseline the benchmark compares against.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile

import numpy  # noqa: F401 - imported once here, inherited by every child

from . import confine, runner


def child(box: list, channel_fd: int) -> None:
    """Confine, load the submission, serve calls; never returns.  The request is taken out of box:
    no frame the submission can walk up to keeps the grader's paths (its files, what it hides)."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        channel = socket.socket(fileno=channel_fd)
        try:
            entry, applied = _setup(box.pop(), channel_fd)
        except Exception as e:  # the sandbox itself failed: the grader must say so, not blame the submission
            runner.wire.send(channel, {"op": "ready", "setup_error": f"{type(e).__name__}: {e}"})
            raise
        runner.serve(channel, entry, applied)
    except BaseException:  # the grader sees the channel close and reports it
        code = 1
    os._exit(code)  # no atexit hook or finalizer of the submission ever runs


def _setup(request: dict, channel_fd: int) -> tuple[str, dict]:
    workdir = request.get("workdir") or tempfile.mkdtemp(prefix="gradproof-sub-")  # the grader removes it
    confine.copy_submission(request["files"], workdir)
    applied = confine.confine(workdir, channel_fd, request["hide"], request["protected"],
                              confine.Limits(**request["limits"]), request.get("namespaces", True) is True)
    workdir = applied.pop("workdir")  # possibly its own tmpfs inside the given one
    return os.path.join(workdir, request["entry"]), applied


def serve(control: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control.sendall(b'{"ready": true}\n')
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        if not message:
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            control.close()
            box, request, message = [request], None, None
            child(box, fds[0])
        os.close(fds[0])
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def main(argv: list[str]) -> int:
    if argv[0] == "--once":  # fd of the channel, then the request as JSON
        box, fd = [json.loads(argv.pop())], int(argv[1])
        del sys.argv[1:]
        child(box, fd)
    confine._libc().prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # a grader killed outright takes us along
    serve(socket.socket(fileno=int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
