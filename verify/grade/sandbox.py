"""The grader's side of the sandbox: start the pre-forked worker, prove that a confined child
can import what a submission may, open a confined child per submission, call its functions
by an absolute deadline, and kill it and all it started.

Nothing from the child is trusted once the submission has run: a reply is plain JSON (every
field bounded by what a call can return) and array bytes (verify.grade.wire), and whoever
calls `Session.call` checks shapes and values against its own expectations.  The one record
taken from the child, which layers of confinement hold, is sent before any of the
submission's code runs.
"""
from __future__ import annotations

import ctypes
import importlib.util
import itertools
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

from . import imports, wire
from .confine import FIRST_UID, Limits

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


PR_SET_DUMPABLE = 4
REPLY_HEADER_LIMIT = 64 << 10  # a reply's header: a few names and kinds, printed output (~4 KB), an error
SETUP_SECONDS = 60  # copying and confining are the grader's own work: never charged to the submission


def _strings(value, count: int, length: int) -> tuple | None:
    """value as a tuple of at most count strings of at most length characters, or None if it is not one."""
    if not isinstance(value, list) or len(value) > count or not all(isinstance(v, str) for v in value):
        return None
    return tuple(v[:length] for v in value)


@dataclass(frozen=True)
class Reply:
    """What one call gave: ok with its values, or an error message; timing and output.  values: each
    returned item as it crossed (arrays in their wire dtype, tuples, dicts, numbers, strings); arrays:
    the float64 view of each item that is a number or a numeric array (valid says which)."""
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
    budget: bool = False   # not run: the submission's time budget was spent
    values: tuple = ()
    cpu_seconds: float | None = None  # timed out: the CPU time the call used (None: not known)


class Session:
    """One confined child running one submission."""

    def __init__(self, pid: int, channel: socket.socket, process: subprocess.Popen | None = None,
                 workdir: str | None = None):
        self.pid, self.channel, self._process, self.workdir = pid, channel, process, workdir
        self.alive = True
        self._closing = threading.Lock()
        self.on_close = None
        self.ready: dict = {}
        self.confinement: dict = {}
        self.uid: int | None = None  # the child's own user, when the grader could give it one
        self.cpu: float | None = None  # the child's CPU time as of its last message (the runner's own count)

    def start(self, request: dict, timeout: float, deadline: float | None = None) -> dict:
        """Send the request, wait for the child to confine itself (its record of what holds, or the
        sandbox's own failure: 'setup_error'), then to import the submission (its 'ready': a load
        error, what it printed).  The import gets timeout seconds (or until deadline)."""
        setup = time.monotonic() + SETUP_SECONDS
        try:
            wire.send(self.channel, request)
            header, _ = wire.receive(self.channel, limit=0, deadline=setup, header_limit=REPLY_HEADER_LIMIT)
        except (socket.timeout, wire.ChannelClosed, wire.ProtocolError, OSError, ValueError, TypeError,
                RecursionError, struct.error) as e:
            self.close()
            return {"setup_error": f"the confined child did not start ({type(e).__name__})"}
        if not isinstance(header, dict) or header.get("op") != "confined":
            self.close()
            error = header.get("error") if isinstance(header, dict) else None
            return {"setup_error": str(error)[:500] if error else "the confined child did not start"}
        self.confinement = _record(header.get("confinement"))
        end = time.monotonic() + timeout
        end = end if deadline is None else min(end, deadline)
        try:
            header, _ = wire.receive(self.channel, limit=0, deadline=end, header_limit=REPLY_HEADER_LIMIT)
        except socket.timeout:
            cpu = cpu_seconds(self.pid)  # read before the child is killed: did it compute, or wait?
            self.close()
            return {"error": f"importing the submission took longer than {timeout:g} s", "timed_out": True,
                    "cpu_seconds": cpu}
        except (wire.ChannelClosed, wire.ProtocolError, OSError, ValueError, TypeError, RecursionError, struct.error):
            self.close()
            return {"error": "the submission ended the process while being imported (os._exit, a crash, "
                             "or a resource limit)", "died": True}
        error = header.get("error") if isinstance(header, dict) else "garbage"
        functions = _strings(header.get("functions", []), 200, 100) if isinstance(header, dict) else None
        if not isinstance(header, dict) or header.get("op") != "ready" or functions is None \
                or not (error is None or isinstance(error, str)) or not isinstance(header.get("output", ""), str):
            self.close()  # whatever arrived was written by the submission's own code, not the runner
            return {"error": "the submission's process sent garbage while being imported", "died": True}
        self.cpu = _number(header.get("cpu"))
        self.ready = {"error": error[:600] if error else None, "output": header.get("output", "")[:4500],
                      "functions": functions}
        return self.ready

    def call(self, function: str, args, arrays: tuple, returns: int, timeout: float, callback=None,
             kwargs: dict | None = None, deadline: float | None = None, stand_ins: tuple = (),
             extra: dict | None = None) -> Reply:
        """Call function(*args, **kwargs) in the child; arrays are referred to as {"$a": i}.  The call
        ends by now + timeout (or deadline, if sooner), callbacks included, however the child trickles."""
        if not self.alive:
            return Reply(False, error="the submission's process is gone", died=True)
        end = time.monotonic() + timeout
        end = end if deadline is None else min(end, deadline)
        if end <= time.monotonic():
            return Reply(False, error="not run: the submission's time budget is spent", budget=True)
        # results and callbacks are the size of the inputs: a reply far bigger is an attack on our memory
        limit = 4 * sum(int(np.asarray(a).nbytes) for a in arrays) + (1 << 20)
        try:
            # extra: a method's object ({"object": {"class", "attributes"}}) and its optional keywords
            wire.send(self.channel, {**(extra or {}), "op": "call", "function": function, "args": args,
                                     "kwargs": kwargs or {}, "returns": returns, "stand_ins": list(stand_ins)}, arrays)
            while True:
                header, got = wire.receive(self.channel, limit, deadline=end, header_limit=REPLY_HEADER_LIMIT)
                if time.monotonic() > end:
                    raise socket.timeout("the deadline passed")
                if isinstance(header, dict) and header.get("op") == "callback" and callback is not None:
                    answer = callback(header, got)
                    if answer is None:
                        wire.send(self.channel, {"op": "refused", "error": "the grader refused this call"})
                    else:
                        wire.send(self.channel, {"op": "callback-result"}, answer)
                    continue
                break
        except socket.timeout:
            now = cpu_seconds(self.pid)  # read before the child is killed: did the call compute, or wait?
            self.close()
            if deadline is not None and deadline < time.monotonic() + 1e-3 and deadline <= end:
                return Reply(False, error="stopped: the submission's time budget is spent", timed_out=True, budget=True)
            used = now - self.cpu if now is not None and self.cpu is not None else None
            return Reply(False, error=f"no answer within {timeout:g} s (an infinite loop, or far too slow)", timed_out=True,
                         cpu_seconds=used)
        except (wire.ChannelClosed, OSError):
            self.close()
            return Reply(False, error="the submission's process ended during the call (os._exit, a crash, "
                                      "or a resource limit such as memory or CPU time)", died=True)
        except (wire.ProtocolError, ValueError, TypeError, RecursionError, struct.error) as e:
            self.close()  # whatever arrives on the channel was possibly written by the submission itself
            return Reply(False, error=f"the submission's process sent garbage ({type(e).__name__}: {str(e)[:200]})",
                         died=True)
        self.cpu = _number(header.get("cpu")) if isinstance(header, dict) else None
        reply = _reply(header, got, returns, len(arrays))
        if reply is None:
            self.close()
            return Reply(False, error="the submission's process sent garbage (a reply that no call can give)", died=True)
        return reply

    def close(self) -> None:
        """Kill the child's whole process group (its PID namespace dies with it where there is one)."""
        with self._closing:  # the grading thread and an interrupted Sandbox may both close it
            if not self.alive:
                return
            self.alive = False
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.channel.close()
        if self._process is not None:
            self._process.wait()
        if self.workdir:  # the submission's copy, what it wrote: nothing is left for the next one to read
            remove_tree(self.workdir)
        if self.uid is not None and not self.confinement.get("landlock"):  # where anyone may write: only
            remove_owned(self.uid)                                          # without Landlock could it
        if self.on_close is not None:  # last: its user is free for another child only now
            self.on_close(self)


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


WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def remove_owned(uid: int) -> None:
    """Remove what user uid left in the world-writable directories: only a child ever runs as uid
    (a user of the grader's own range), so all of it is that child's.  Never raises."""
    if os.geteuid() != 0:
        return
    for directory in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) a process and its descendants have used, from /proc (the submission
    runs in a child of the process the grader knows, inside its own pid namespace)."""
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stats[int(entry)] = f.read().rpartition(")")[2].split()  # after the name, which may hold spaces
            except OSError:
                continue
    if pid not in stats:
        return None
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            total += sum(int(x) for x in stats[current][11:15])  # utime, stime and its waited-for children's
        except (ValueError, IndexError):
            pass
        todo += [p for p, fields in stats.items() if len(fields) > 1 and fields[1] == str(current)]
    return total / os.sysconf("SC_CLK_TCK")


def _record(value) -> dict:
    """The child's record of its confinement, kept to plain JSON values (it came before the
    submission ran, but the grader writes it into results.json: strict JSON only)."""
    if not isinstance(value, dict):
        return {}

    def plain(v, depth=0):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v if not isinstance(v, str) else v[:300]
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return v if np.isfinite(v) else None
        if isinstance(v, list) and depth < 2:
            return [plain(x, depth + 1) for x in v[:32]]
        return None
    return {str(k)[:40]: plain(v) for k, v in list(value.items())[:32]}


def _reply(header, arrays: list, returns: int, sent: int) -> Reply | None:
    """The reply, every field checked against what a call with returns results and sent arrays can
    give back; None for anything else (the submission wrote it)."""
    if not isinstance(header, dict) or header.get("op") != "result":
        return None
    output, error = header.get("output", ""), header.get("error", "")
    if not isinstance(output, str) or not isinstance(error, str):
        return None
    if header.get("ok") is not True:
        return Reply(False, error=error[:600] or "the call failed", output=output[:4500],
                     missing=header.get("missing") is True)
    most = returns or 64
    kinds = _strings(header.get("kinds", []), most, 120)
    packed, mutated, drawn = header.get("values", []), header.get("mutated", []), header.get("drawn", [])
    if kinds is None or not isinstance(packed, list) or len(packed) != len(kinds):
        return None
    if not isinstance(mutated, list) or len(mutated) > sent or not all(type(i) is int and 0 <= i < sent for i in mutated):
        return None
    if not isinstance(drawn, list) or len(drawn) > 16 or not all(type(n) is int and n >= 0 for n in drawn):
        return None
    try:
        values = tuple(wire.unpack(v, arrays) for v in packed)
    except wire.ProtocolError:
        return None
    floats = [float_view(v) for v in values]
    return Reply(True, tuple(f for f in floats if f is not None), kinds=kinds, valid=tuple(f is not None for f in floats),
                 mutated=tuple(mutated), drawn=tuple(drawn), output=output[:4500], many=header.get("tuple") is not False,
                 values=values)


def float_view(value) -> np.ndarray | None:
    """A returned value as float64 numbers, if it is a number or a numeric array (else None)."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, (bool, int, float)):
        try:
            return np.array(float(value))
        except OverflowError:  # an integer too big for a float
            return None
    return None


class ProbeFailed(SandboxError):
    """A confined child cannot import what every submission may: grading must not start."""


def probe_source(modules: tuple[str, ...]) -> str:
    """The probe's own module: one function that imports a module by name."""
    return ("import importlib\n\n\ndef probe(name):\n    importlib.import_module(name)\n    return 0.0\n"
            f"\n\nMODULES = {list(modules)!r}\n")


def unreadable(module: str, user_can_read, located: dict | None = None) -> str | None:
    """The first directory or file a child's user cannot read on the way from where the child starts
    (the directory the worker holds open: the standard library's, or the top-level package's, as the
    worker located it) to module's files: the place the fix is needed."""
    name = module.split(".")[0]
    base = (located or {}).get(name)
    if base is None:
        try:
            top = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        if top is None:
            return None
        if name in sys.stdlib_module_names:
            base = os.path.dirname(os.__file__)
        else:
            base = list(top.submodule_search_locations)[0] if top.submodule_search_locations else top.origin
    base = os.path.realpath(base)
    path = base
    for part in module.split(".")[1:]:  # down to the module itself, as far as it is known
        path = os.path.join(path, part)
    if os.path.isdir(path):
        path = os.path.join(path, "__init__.py")
    elif os.path.exists(path + ".py"):
        path = path + ".py"
    chain = [path]
    while chain[-1] != base and os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    for item in reversed(chain):
        if os.path.exists(item) and not user_can_read(item):
            return item
    return None


def _other_can_read(path: str) -> bool:
    """Whether a user that is neither the owner nor in the group may read (a directory: and search) path."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & 0o004) and (not os.path.isdir(path) or bool(mode & 0o001))


@dataclass
class Sandbox:
    """Starts the pre-forked worker once and proves a confined child can import what a submission
    may; `open` gives a confined Session per submission.  fresh=True starts a new Python process
    per submission instead (the slow baseline); namespaces=False and landlock=False leave those
    layers out, to test the fallbacks on any machine.  packages: what submissions may import
    besides the standard library and numpy."""
    limits: Limits = field(default_factory=Limits)
    hide: tuple = ()
    fresh: bool = False
    namespaces: bool = True  # False: confine as where the OS refuses namespaces (Docker's default seccomp)
    landlock: bool = True    # False: confine as on a kernel without Landlock (before 5.13, or the LSM off)
    packages: tuple = ()
    probe: bool = True

    def __post_init__(self):
        self._lock = threading.Lock()
        self._zygote = self._control = self._base = None
        self._open: set = set()
        self._slots: set[int] = set()
        self._located: dict = {}  # allowed top-level module -> where the worker found it
        self._closed = False
        self._protected = toolkit_paths()

    def __enter__(self):
        # where a child runs as the grader's own user (no root, no user namespace), it could otherwise
        # read the grader's memory, expected values included, through /proc/<pid>/mem
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        # the children's working directories, each removed when its session closes; searchable but
        # not listable, so one child cannot find another's (random) directory
        self._base = tempfile.mkdtemp(prefix="gradproof-")
        os.chmod(self._base, 0o711)
        try:
            if not self.fresh:
                self._start_worker()
            if self.probe:
                self.prove_imports()
        except BaseException:  # __exit__ will not run: leave nothing behind
            self.__exit__(None, None, None)
            raise
        return self

    def _start_worker(self) -> None:
        ours, theirs = socket.socketpair()
        self._zygote = subprocess.Popen([sys.executable, "-m", "gradproof.verify.grade.zygote", str(theirs.fileno()),
                                         *self.packages], pass_fds=[theirs.fileno()], env=_clean_env(),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self._control = ours
        self._reader = ours.makefile("rb")
        try:
            hello = json.loads(self._reader.readline() or b"{}")
        except ValueError:
            hello = {}
        if hello.get("ready") is not True:
            self._stop_worker()
            raise SandboxError("the grading worker did not start (is numpy importable by "
                               f"{sys.executable}?)")
        located = hello.get("packages")
        self._located = {str(k): str(v) for k, v in located.items()} if isinstance(located, dict) else {}
        if hello.get("missing"):
            missing = ", ".join(map(str, hello["missing"]))
            self._stop_worker()
            raise SandboxError(f"the rubric allows {missing}, which {sys.executable} cannot import: "
                               f"install the package that provides it (python -m pip install NAME, where NAME is the "
                               "distribution's name: future provides past) or remove it from the rubric's packages")

    def prove_imports(self, modules: tuple[str, ...] | None = None) -> None:
        """Import, in a confined child, every module of imports.PROBE and each allowed package;
        ProbeFailed (one line: the module, the path the child cannot read, the fix) if one fails."""
        modules = modules or imports.PROBE + tuple(p for p in self.packages if p not in imports.PROBE)
        probe_dir = tempfile.mkdtemp(prefix="probe-", dir=self._base)
        try:
            entry = os.path.join(probe_dir, "gradproof_probe.py")
            with open(entry, "w") as f:
                f.write(probe_source(modules))
            session, ready = self.open([entry], "gradproof_probe.py", 30.0)
            try:
                if ready.get("setup_error"):
                    raise ProbeFailed(f"the sandbox could not start: {ready['setup_error']}")
                if ready.get("error"):
                    raise ProbeFailed(f"the sandbox's probe could not be imported: {ready['error']}")
                for module in modules:
                    reply = session.call("probe", [module], (), 1, 30.0)
                    if not reply.ok:
                        raise ProbeFailed(self._explain(module, reply.error))
            finally:
                session.close()
        finally:
            remove_tree(probe_dir)

    def _explain(self, module: str, error: str) -> str:
        where = unreadable(module, _other_can_read, self._located) if os.geteuid() == 0 else None
        if where:
            return (f"a confined child cannot import {module}: {where} is not readable by the unprivileged grading user "
                    f"(mode {oct(os.stat(where).st_mode & 0o777)[2:]}); make it readable (chmod -R o+rX {where}) or "
                    "run gradproof from a Python whose files are world-readable")
        return f"a confined child cannot import {module}: {error}"

    def _stop_worker(self) -> None:
        if self._zygote is not None:
            self._control.close()
            try:
                os.killpg(self._zygote.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._zygote.wait()
            self._zygote = None

    def _spawn(self, theirs: socket.socket) -> int:
        """Ask the worker for a child; if the worker died (killed from outside), start a new one once."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    socket.send_fds(self._control, [b"fork"], [theirs.fileno()])
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

    def _request(self, files: list[str], entry: str, workdir: str, uid: int, compat: tuple = ()) -> dict:
        # absolute, not resolved: a symbolic link among a student's files is not followed (confine skips it)
        return {"op": "setup", "files": [os.path.abspath(f) for f in files], "entry": entry, "hide": list(self.hide),
                "workdir": workdir, "namespaces": self.namespaces, "landlock": self.landlock, "uid": uid,
                "protected": self._protected, "limits": asdict(self.limits), "compat": list(compat)}

    def _slot(self) -> int:
        """The lowest slot no open session holds: each concurrent child runs as a user of its own."""
        with self._lock:
            slot = next(i for i in itertools.count() if i not in self._slots)
            self._slots.add(slot)
            return slot

    def open(self, files: list[str], entry: str, timeout: float, deadline: float | None = None,
             compat: tuple = ()) -> tuple[Session, dict]:
        """A child with the submission's files copied into its working directory and entry imported (after
        the old names of each kind in compat are provided: verify.grade.compat)."""
        if self._closed:
            raise SandboxError("the sandbox is closed (grading was interrupted)")
        ours, theirs = socket.socketpair()
        workdir = tempfile.mkdtemp(prefix="sub-", dir=self._base)
        slot = self._slot()
        request = self._request(files, entry, workdir, FIRST_UID + slot, compat)
        try:
            if self.fresh:
                process = subprocess.Popen([sys.executable, "-m", "gradproof.verify.grade.zygote", "--once",
                                            str(theirs.fileno()), *self.packages], pass_fds=[theirs.fileno()],
                                           env=_clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                session = Session(process.pid, ours, process, workdir)
            else:
                session = Session(self._spawn(theirs), ours, workdir=workdir)
        except BaseException:
            with self._lock:
                self._slots.discard(slot)
            ours.close()
            remove_tree(workdir)
            raise
        finally:
            theirs.close()
        session.slot = slot
        session.uid = FIRST_UID + slot if os.geteuid() == 0 else None
        with self._lock:
            self._open.add(session)
        session.on_close = self._forget
        return session, session.start(request, timeout, deadline)

    def _forget(self, session: Session) -> None:
        with self._lock:
            self._open.discard(session)
            self._slots.discard(getattr(session, "slot", -1))
