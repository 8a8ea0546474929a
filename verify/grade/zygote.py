"""The pre-forked worker: a process with numpy already imported that forks one confined
child per submission on request, so a submission costs a fork, not a Python start-up.

It never imports the toolkit's reference code (it is started fresh, not forked from the
grader), so no child inherits it in memory.  Nor does it ever hold a submission's request:
it receives only the child's end of a private channel (SCM_RIGHTS) and answers with the
child's pid; the grader then sends the request to the child itself over that channel, so
nothing of one submission (paths, the class directory, another child's directory) is ever
in the memory a later child is forked from.  At start it opens the directories a child may
import from (imports.py), once for all children.  ``--once`` does the same for a single
submission in this process: the fresh-process baseline the benchmark compares against.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile

import numpy  # noqa: F401 - imported once here, inherited by every child

from . import confine, imports, runner


def child(channel_fd: int, importable: imports.Importable) -> None:
    """Read the request, confine, tell the grader what holds, load the submission, serve calls;
    never returns.  The request is the only thing this child knows of the grading."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        channel = socket.socket(fileno=channel_fd)
        try:  # the request is never bound to a name here: no frame the submission can walk up to keeps it
            entry, applied, compat = _setup(runner.wire.receive(channel, limit=0)[0], channel_fd, importable)
        except Exception as e:  # the sandbox itself failed: the grader must say so, not blame the submission
            runner.wire.send(channel, {"op": "setup_error", "error": f"{type(e).__name__}: {e}"})
            raise
        # sent before any of the submission's code runs: the grader can trust this record
        runner.wire.send(channel, {"op": "confined", "confinement": applied})
        runner.serve(channel, entry, compat)
    except BaseException:  # the grader sees the channel close and reports it
        code = 1
    os._exit(code)  # no atexit hook or finalizer of the submission ever runs


def _setup(request: dict, channel_fd: int, importable: imports.Importable) -> tuple[str, dict, tuple]:
    workdir = request.get("workdir") or tempfile.mkdtemp(prefix="gradproof-sub-")  # the grader removes it
    copied = confine.copy_submission(request["files"], workdir)
    applied = confine.confine(workdir, channel_fd, request["hide"], request["protected"],
                              confine.Limits(**request["limits"]), importable, int(request["uid"]),
                              request.get("namespaces", True) is True, request.get("landlock", True) is True)
    workdir = applied.pop("workdir")  # possibly its own tmpfs inside the given one
    applied["skipped_files"] = copied.skipped
    compat = tuple(str(k) for k in request.get("compat") or ())
    return os.path.join(workdir, request["entry"]), applied, compat


def serve(control: socket.socket, importable: imports.Importable) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    hello = {"ready": True, "missing": list(importable.missing), "packages": dict(importable.packages),
             "stdlib": [root.path for root in importable.stdlib]}
    control.sendall(json.dumps(hello).encode() + b"\n")
    while True:
        message, fds, _, _ = socket.recv_fds(control, 64, 1)
        if not message or not fds:
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            child(fds[0], importable)
        os.close(fds[0])
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def main(argv: list[str]) -> int:
    """argv: the control descriptor (or --once and the channel's), then the allowed packages."""
    if argv[0] == "--once":
        fd, allowed = int(argv[1]), tuple(argv[2:])
        del sys.argv[1:]
        child(fd, imports.resolve(allowed))
    confine._libc().prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # a grader killed outright takes us along
    serve(socket.socket(fileno=int(argv[0])), imports.resolve(tuple(argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
