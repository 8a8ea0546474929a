"""The grader's side of the sandbox: start the pre-forked worker, open a confined child per
submission, call its functions with a wall-clock limit, and kill it and all it started.

Nothing from the child is trusted: a reply is plain JSON and float64 bytes (verify.grade.wire),
and whoever calls `Session.call` checks shapes and values against its own expectations.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


import numpy as np

from . import wire
from .confine import Limits

TOOLKIT_PACKAGES = ("gradproof.derive", "gradproof.verify")


class SandboxError(RuntimeError):
    """The sandbox itself cannot run (its worker does not start or stopped answering)."""


def toolkit_paths() -> list[str]:
    """The directories of the toolkit's packages, which a child may neither read nor import."""
    paths = []
    for name in TOOLKIT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            paths += list(spec.submodule_search_locations)
    return paths


def _clean_env() -> dict:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Reply:
    """What one call gave: ok with float64 arrays, or an error message; timing and output."""
    ok: bool
    arrays: tuple = ()
    error: str = ""
    kinds: tuple = ()
    valid: tuple = ()
    mutated: tuple = ()
    drawn: tuple = ()
    output: str = ""
    timed_out: bool = False
    died: bool = False
    missing: bool = False
    many: bool = True      # the function returned a tuple or list (not a single value)


class Session:
    """One confined child running one submission."""

    def __init__(self, pid: int, channel: socket.socket, process: subprocess.Popen | None = None,
                 workdir: str | None = None):
        self.pid, self.channel, self._process, self.workdir = pid, channel, process, workdir
        self.alive = True
        self._closing = threading.Lock()
        self.on_close = None
        self.ready: dict = {}

    def start(self, timeout: float) -> dict:
        """Wait for the child to load the submission: its 'ready' message (load error, output)."""
        try:
            self.channel.settimeout(timeout)
            header, _ = wire.receive(self.channel, limit=0)  # 'ready' carries no arrays
        except socket.timeout:
            self.close()
            return {"error": f"importing the submission took longer than {timeout:g} s", "timed_out": True}
        except (wire.ChannelClosed, wire.ProtocolError, OSError, ValueError, TypeError, RecursionError, struct.error):
            self.close()
            return {"error": "the submission ended the process while being imported (os._exit, a crash, "
                             "or a resource limit)", "died": True}
        self.ready = header if isinstance(header, dict) else {}
        return self.ready

    def call(self, function: str, args, arrays: tuple, returns: int, timeout: float, callback=None,
             kwargs: dict | None = None) -> Reply:
        """Call function(*args, **kwargs) in the child; arrays are referred to as {"$a": i}."""
        if not self.alive:
            return Reply(False, error="the submission's process is gone", died=True)
        deadline = time.monotonic() + timeout
        # results and callbacks are the size of the inputs: a reply far bigger is an attack on our memory
        limit = 4 * sum(int(np.asarray(a).nbytes) for a in arrays) + (1 << 20)
        try:
            wire.send(self.channel, {"op": "call", "function": function, "args": args, "kwargs": kwargs or {},
                                     "returns": returns}, arrays)
            while True:
                self.channel.settimeout(max(deadline - time.monotonic(), 1e-3))
                header, got = wire.receive(self.channel, limit)
                if header.get("op") == "callback" and callback is not None:
                    answer = callback(header, got)
                    if answer is None:
                        wire.send(self.channel, {"op": "refused", "error": "the grader refused this call"})
                    else:
                        wire.send(self.channel, {"op": "callback-result"}, answer)
                    continue
                break
        except socket.timeout:
            self.close()
            return Reply(False, error=f"no answer within {timeout:g} s (an infinite loop, or far too slow)", timed_out=True)
        except (wire.ChannelClosed, OSError):
            self.close()
            return Reply(False, error="the submission's process ended during the call (os._exit, a crash, "
                                      "or a resource limit such as memory or CPU time)", died=True)
        except (wire.ProtocolError, ValueError, TypeError, RecursionError, struct.error) as e:
            self.close()  # whatever arrives on the channel was possibly written by the submission itself
            return Reply(False, error=f"the submission's process sent garbage ({type(e).__name__}: {str(e)[:200]})",
                         died=True)
        return _reply(header, got)

    def close(self) -> None:
        """Kill the child's whole process group (its PID namespace dies with it where there is one)."""
        with self._closing:  # the grading thread and an interrupted Sandbox may both close it
            if not self.alive:
                return
            self.alive = False
        if self.on_close is not None:
            self.on_close(self)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.channel.close()
        if self._process is not None:
            self._process.wait()
        if self.workdir:  # the submission's copy, what it wrote: nothing is left for the next one to read
            remove_tree(self.workdir)


def remove_tree(path: str) -> None:
    """Remove a directory whatever a submission left inside it (locked modes, thousands of nested
    levels); retried while a killed process may still be going away.  Never raises."""
    for _ in range(5):
        try:
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.lexists(path):
                return
            for root, dirs, _files in os.walk(path):  # top-down: a directory is opened up before it is entered
                for name in dirs:
                    if not os.path.islink(os.path.join(root, name)):
                        os.chmod(os.path.join(root, name), 0o700)
        except (OSError, RecursionError):  # too deep for Python's recursive walk: rm is iterative
            subprocess.run(["rm", "-rf", "--", path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        time.sleep(0.01)


def _reply(header: dict, arrays: list) -> Reply:
    def strings(key, limit=4000):
        value = header.get(key, "")
        return value[:limit] if isinstance(value, str) else ""

    def ints(key):
        value = header.get(key, [])
        return tuple(v for v in value if type(v) is int) if isinstance(value, list) else ()

    if header.get("ok") is not True:
        return Reply(False, error=strings("error", 600) or "the call failed", output=strings("output"),
                     missing=header.get("missing") is True)
    valid = header.get("valid", [])
    valid = tuple(v is True for v in valid) if isinstance(valid, list) else ()
    kinds = header.get("kinds", [])
    kinds = tuple(str(k)[:120] for k in kinds) if isinstance(kinds, list) else ()
    return Reply(True, tuple(arrays), kinds=kinds, valid=valid, mutated=ints("mutated"), drawn=ints("drawn"),
                 output=strings("output"), many=header.get("tuple") is not False)


@dataclass
class Sandbox:
    """Starts the pre-forked worker once; `open` gives a confined Session per submission.
    fresh=True starts a new Python process per submission instead (the slow baseline);
    namespaces=False leaves out the namespace layers, to test the fallback anywhere."""
    limits: Limits = field(default_factory=Limits)
    hide: tuple = ()
    fresh: bool = False
    namespaces: bool = True  # False: confine as where the OS refuses namespaces (Docker's default seccomp)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._zygote = self._control = self._base = None
        self._open: set = set()
        self._closed = False
        self._protected = toolkit_paths()

    def __enter__(self):
        # the children's working directories, each removed when its session closes; searchable but
        # not listable, so one child cannot find another's (random) directory
        self._base = tempfile.mkdtemp(prefix="gradproof-")
        os.chmod(self._base, 0o711)
        if not self.fresh:
            try:
                self._start_worker()
            except BaseException:  # __exit__ will not run: leave nothing behind
                remove_tree(self._base)
                raise
        return self

    def _start_worker(self) -> None:
        ours, theirs = socket.socketpair()
        self._zygote = subprocess.Popen([sys.executable, "-m", "gradproof.verify.grade.zygote", str(theirs.fileno())],
                                        pass_fds=[theirs.fileno()], env=_clean_env(), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self._control = ours
        self._reader = ours.makefile("rb")
        try:
            ready = json.loads(self._reader.readline() or b"{}").get("ready")
        except ValueError:
            ready = None
        if ready is not True:
            self._stop_worker()
            raise SandboxError("the grading worker did not start (is numpy importable by "
                               f"{sys.executable}?)")

    def _stop_worker(self) -> None:
        if self._zygote is not None:
            self._control.close()
            try:
                os.killpg(self._zygote.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._zygote.wait()
            self._zygote = None

    def _spawn(self, request: dict, theirs: socket.socket) -> int:
        """Ask the worker for a child; if the worker died (killed from outside), start a new one once."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    socket.send_fds(self._control, [json.dumps(request).encode()], [theirs.fileno()])
                    return int(json.loads(self._reader.readline())["pid"])
                except (OSError, ValueError, KeyError, TypeError):
                    if attempt == 2:
                        raise SandboxError("the grading worker stopped answering") from None
                    self._stop_worker()
                    self._start_worker()
        raise AssertionError("unreachable")

    def __exit__(self, *exc):
        self._closed = True  # a grading thread still running must not start a new worker or child
        for session in list(self._open):  # interrupted mid-grading: no child outlives the sandbox
            session.close()
        self._stop_worker()
        if self._base is not None:
            remove_tree(self._base)
            self._base = None

    def _request(self, files: list[str], entry: str, workdir: str) -> dict:
        # absolute, not resolved: a symbolic link among a student's files is not followed (confine skips it)
        return {"files": [os.path.abspath(f) for f in files], "entry": entry, "hide": list(self.hide),
                "workdir": workdir, "namespaces": self.namespaces,
                "protected": self._protected, "limits": asdict(self.limits)}

    def open(self, files: list[str], entry: str, timeout: float) -> tuple[Session, dict]:
        """A child with the submission's files copied into its working directory and entry imported."""
        if self._closed:
            raise SandboxError("the sandbox is closed (grading was interrupted)")
        ours, theirs = socket.socketpair()
        workdir = tempfile.mkdtemp(prefix="sub-", dir=self._base)
        request = self._request(files, entry, workdir)
        if self.fresh:
            process = subprocess.Popen([sys.executable, "-m", "gradproof.verify.grade.zygote", "--once", str(theirs.fileno()),
                                        json.dumps(request)], pass_fds=[theirs.fileno()], env=_clean_env(),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            theirs.close()
            session = Session(process.pid, ours, process, workdir)
        else:
            try:
                pid = self._spawn(request, theirs)
            finally:
                theirs.close()
            session = Session(pid, ours, workdir=workdir)
        with self._lock:
            self._open.add(session)
        session.on_close = self._forget
        return session, session.start(timeout)

    def _forget(self, session: Session) -> None:
        with self._lock:
            self._open.discard(session)
