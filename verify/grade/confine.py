"""Confine the current process before it runs a submission: the child's half of the sandbox.

Layers, each applied where the OS allows it and reported back to the grader:
- its own session (the grader kills the whole process group afterwards);
- new network, mount and PID namespaces (a user namespace too when not root): no network
  at all, the toolkit and the results hidden under empty mounts, and every process the
  submission starts dies with it;
- as root, a switch to the unprivileged user nobody;
- resource limits (CPU seconds, address space, processes, file size, open files, no core);
- a stripped environment and a fresh working directory;
- an audit hook that refuses, with a clear message, what a gradient function never needs:
  starting processes, sockets, ctypes, writing outside the working directory, and reading
  or importing the toolkit.  The hook is what turns an attempt into a readable error; the
  OS layers are what hold if a submission gets past the hook.
"""
from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import sys
import types
from stat import S_ISDIR
from dataclasses import dataclass

from . import landlock, seccomp

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 38, 1
NOBODY = 65534
PROTECTED = ("gradproof",)  # the toolkit's namespace: a submission may import nothing of it


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 60
    memory_mb: int = 2048
    processes: int = 32
    file_mb: int = 16
    open_files: int = 64
    disk_mb: int = 64  # the working directory's own tmpfs, where the OS allows it


class ConfinementError(Exception):
    pass


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def new_namespaces(libc) -> list[str]:
    """Enter new namespaces where allowed; the names of those entered."""
    uid, gid = os.geteuid(), os.getegid()
    wanted = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    for flags in ((wanted,) if uid == 0 else ()) + (wanted | CLONE_NEWUSER,):
        if libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:
                _map_user(uid, gid)
            return ["network", "mount", "pid"] + (["user"] if flags & CLONE_NEWUSER else [])
    return []


def _map_user(uid: int, gid: int) -> None:
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def hide(libc, paths: list[str], keep: list[str]) -> list[str]:
    """Mount something empty over each path (not over an ancestor of a kept path); those hidden."""
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return []
    hidden = []
    for path in paths:
        real = os.path.realpath(path)
        if not os.path.exists(real) or any(_within(k, real) for k in keep):
            continue
        if os.path.isdir(real):
            ok = libc.mount(b"tmpfs", real.encode(), b"tmpfs", MS_RDONLY, b"size=4k,mode=0555") == 0
        else:
            ok = libc.mount(b"/dev/null", real.encode(), None, MS_BIND, None) == 0
        if ok:
            hidden.append(real)
    return hidden


def own_proc(libc) -> bool:
    """A /proc of the new PID namespace (after hide has made every mount private): the grader's
    processes and their command lines are not in it.  Refused in some containers: then False."""
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:  # never let the mount reach the host
        return False
    return libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0


def _within(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def drop_privileges(workdir: str) -> bool:
    """As root outside a user namespace, become nobody (owner of the working directory)."""
    if os.geteuid() != 0:
        return False
    for root, dirs, files in os.walk(workdir):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.chown(name, NOBODY, NOBODY, follow_symlinks=False)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    return True


def set_limits(limits: Limits, per_user_processes: bool) -> None:
    mb = 1 << 20
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if per_user_processes:  # counted per user: only meaningful once we are a user of our own
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails instead of killing


def strip_environment(workdir: str) -> None:
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir,
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def redirect_descriptors(workdir: str, keep: int) -> None:
    """stdin from /dev/null, fd-level stdout/stderr into /dev/null (nobody reads them, and a write
    there never fails: a file would fill up under RLIMIT_FSIZE and fail the submission's writes),
    every other fd closed.  Python-level output is kept by the runner."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open(os.devnull, os.O_WRONLY)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def audit_hook(workdir: str, protected_paths: list[str]):
    """The hook: refuse process, network, ctypes, foreign writes and the toolkit, with a reason.

    It binds now everything it will use and calls only built-in functions on exact str and
    bytes: a submission that patches builtins, os, os.path or this module changes nothing it
    does, and none of the submission's code (a str subclass's methods, a path object's
    __fspath__) ever runs inside it.  Paths are resolved here, symbolic links included."""
    workdir = os.path.realpath(workdir)
    protected = tuple(os.path.realpath(p) for p in protected_paths)
    refused = {
        "os.fork": "starting processes", "os.forkpty": "starting processes", "os.exec": "starting processes",
        "os.posix_spawn": "starting processes", "os.spawn": "starting processes", "os.system": "starting processes",
        "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
        "os.kill": "sending signals", "os.killpg": "sending signals", "signal.pthread_kill": "sending signals",
        "socket.__new__": "network access", "socket.connect": "network access", "socket.bind": "network access",
        "socket.getaddrinfo": "network access", "socket.gethostbyname": "network access",
        "socket.sendto": "network access", "socket.sendmsg": "network access",
        "ctypes.dlopen": "loading native code (ctypes)", "ctypes.dlsym": "loading native code (ctypes)",
        "ctypes.call_function": "calling native code (ctypes)", "ctypes.cdata": "native memory access (ctypes)",
        "sys.addaudithook": "installing audit hooks", "sys.remote_exec": "remote execution",
        "os.setuid": "changing user", "os.chroot": "changing root",
        # a link or another working directory would make a path mean one thing here and another to the
        # kernel (a relative path with dir_fd=, a link swapped between this check and the open)
        "os.symlink": "creating symbolic links",
        # the way to this hook's own state (and so to switching it off)
        "gc.get_objects": "inspecting the interpreter's objects",
        "gc.get_referrers": "inspecting the interpreter's objects",
        "gc.get_referents": "inspecting the interpreter's objects",
    }
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    mutating = {"os.remove": 1, "os.rename": 2, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1, "os.chown": 1,
                "os.link": 2, "os.truncate": 1, "os.utime": 1, "shutil.rmtree": 1, "shutil.move": 2}
    native = ("ctypes", "_ctypes", "cffi", "_posixsubprocess", "_xxsubinterpreters")
    # bound now: the names below are never looked up again
    readlink, getcwd, stat, is_dir, item = os.readlink, os.getcwd, os.stat, S_ISDIR, tuple.__getitem__
    str_, bytes_, int_, type_, issubclass_, len_ = str, bytes, int, type, issubclass, len
    as_str, decode = str.__str__, bytes.decode
    OSError_, PermissionError_, ImportError_ = OSError, PermissionError, ImportError
    packages, devnull = PROTECTED, os.devnull

    def refuse(why: str):
        raise PermissionError_(f"gradproof sandbox: {why} is not allowed while grading")

    def text(value):
        """An exact str for a str or bytes (subclasses included, none of their methods called); else None."""
        kind = type_(value)
        if kind is str_ or issubclass_(kind, str_):
            return as_str(value)
        if kind is bytes_ or issubclass_(kind, bytes_):
            return decode(value, "utf-8", "surrogateescape")
        return None

    def real(path: str) -> str:
        """os.path.realpath, from readlink and getcwd alone."""
        if not path.startswith("/"):
            path = getcwd() + "/" + path
        pending, parts, links = path.split("/"), [], 0
        pending.reverse()
        while pending:
            name = pending.pop()
            if name == "" or name == ".":
                continue
            if name == "..":
                if parts:
                    parts.pop()
                continue
            here = "/" + "/".join(parts + [name])
            try:
                target = readlink(here)
            except OSError_:  # not a link (or not there): the name stands
                parts.append(name)
                continue
            links += 1
            if links > 40:
                refuse("a path through this many symbolic links")
            if target.startswith("/"):
                parts = []
            more = target.split("/")
            more.reverse()
            pending.extend(more)
        return "/" + "/".join(parts)

    def within(path: str, root: str) -> bool:
        return path == root or path.startswith(root + "/")

    def directory(path: str) -> bool:
        try:
            return is_dir(item(stat(path), 0))
        except OSError_:
            return False

    def hook(event: str, args: tuple) -> None:
        if event in refused:
            refuse(refused[event])
        if event == "import":
            name = text(args[0]) or ""
            top = name.split(".")[0]
            if top in packages:
                raise ImportError_(f"gradproof sandbox: importing the grader's own package '{name}' is not allowed")
            if top in native:
                refuse(f"importing {name}")
        elif event == "open":
            if type_(args[0]) is int_:  # an open file descriptor
                return
            name = text(args[0])
            if name is None:  # a path object, as io.FileIO passes it: its path cannot be read safely here
                refuse("opening a file by a path object (pass the path as a str)")
            path = real(name)
            for root in protected:
                if within(path, root):
                    refuse("reading the grader's files")
            if within(path, workdir) or path == devnull:
                return
            mode, flags = args[1], args[2] if len_(args) > 2 else 0
            mode = text(mode) or ""
            writes = "w" in mode or "a" in mode or "x" in mode or "+" in mode
            if writes or (type_(flags) is int_ and flags & write_flags):
                refuse("writing outside the working directory")
            if directory(path):  # a directory's descriptor would let dir_fd= reach anything below it
                refuse("opening a directory outside the working directory")
        elif event == "os.chdir":  # relative paths are resolved here from the working directory
            name = None if type_(args[0]) is int_ else text(args[0])
            if name is None or real(name) != workdir:
                refuse("changing the working directory")
        elif event in mutating:
            for arg in args[:mutating[event]]:
                if type_(arg) is int_ or arg is None:
                    continue
                name = text(arg)
                if name is None or not within(real(name), workdir):
                    refuse("changing files outside the working directory")
    return hook


def confine(workdir: str, channel_fd: int, hide_paths: list[str], protected: list[str], limits: Limits,
            namespaces_allowed: bool = True) -> dict:
    """Confine this process for good; returns what was applied.  May fork: see below.
    namespaces_allowed=False confines as on a system that refuses namespaces (tested on every machine)."""
    libc = _libc()
    os.setsid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # if the process that started us dies, so do we
    namespaces = new_namespaces(libc) if namespaces_allowed else []
    if "pid" in namespaces:
        # unshare(CLONE_NEWPID) applies to children: the submission runs in a child that is
        # process 1 of the namespace, so when it is killed the kernel kills all it started.
        child = os.fork()
        if child:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # reset by fork: tie this one to its parent too
    hidden = hide(libc, hide_paths + protected, keep=[workdir, sys.prefix, os.path.dirname(os.__file__)]) \
        if "mount" in namespaces else []
    if "pid" in namespaces and "mount" in namespaces and own_proc(libc):
        hidden.append("/proc")
    given, disk = workdir, 0
    if "mount" in namespaces:
        workdir, disk = own_disk(libc, workdir, limits.disk_mb)
    dropped = "user" not in namespaces and drop_privileges(given)  # its tmpfs too, which lies inside
    os.chdir(workdir)
    strip_environment(workdir)
    redirect_descriptors(workdir, channel_fd)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    set_limits(limits, per_user_processes=dropped)
    # the kernel's own rules, which no write to this process's memory can undo (the hook's can)
    readable = [root for root in landlock.readable_roots() if not any(_within(p, root) for p in protected)]
    fenced = landlock.restrict(libc, workdir, readable)  # a root holding the toolkit is not readable
    filtered = seccomp.install(libc)
    sys.path[:] = [workdir] + [p for p in sys.path if p and not any(_within(p, q) for q in protected)]
    for name in [m for m in sys.modules if m.split(".")[0] == "gradproof"]:
        del sys.modules[name]
    # subprocess (which numpy.testing imports) needs _posixsubprocess only to start processes: a
    # stand-in lets it be imported, and refuses what the hook refuses; the real module is never loaded
    sys.modules["_posixsubprocess"] = _no_processes()
    sys.addaudithook(audit_hook(workdir, protected + hide_paths))
    return {"namespaces": namespaces, "hidden": hidden, "user": "nobody" if dropped else str(os.geteuid()),
            "disk_mb": disk, "landlock": fenced, "seccomp": filtered, "audit_hook": True, "workdir": workdir}


def own_disk(libc, workdir: str, megabytes: int) -> tuple[str, int]:
    """(the working directory, its size in MiB): a size-limited tmpfs inside the given one, with
    the submission copied in, so that what it writes cannot fill the grader's disk; or the
    given directory and 0 where the mount is refused."""
    run = os.path.join(workdir, "run")
    os.mkdir(run, 0o700)
    options = f"size={megabytes}m,nr_inodes=4096,mode=0700".encode()
    if libc.mount(b"tmpfs", run.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        os.rmdir(run)
        return workdir, 0
    for name in os.listdir(workdir):
        if name != "run":
            copy_submission([os.path.join(workdir, name)], run)
    return run, megabytes


def _no_processes() -> types.ModuleType:
    module = types.ModuleType("_posixsubprocess", "gradproof's stand-in: no process is started while grading")

    def fork_exec(*args, **kwargs):
        raise PermissionError("gradproof sandbox: starting processes is not allowed while grading")
    module.fork_exec = fork_exec
    return module


def copy_submission(files: list[str], workdir: str) -> None:
    """Copy the submission's regular files and directories, never a symbolic link (this runs with
    the grader's privileges, and a link may point at anything the grader can read) nor a FIFO,
    socket or device (opening one could block or fail the copy)."""
    def plain(path: str) -> bool:
        return not os.path.islink(path) and (os.path.isfile(path) or os.path.isdir(path))

    def skipped(directory, names):
        return [n for n in names if not plain(os.path.join(directory, n))]

    for path in files:
        if not plain(path):
            continue
        if os.path.isdir(path):
            shutil.copytree(path, os.path.join(workdir, os.path.basename(path.rstrip("/"))), ignore=skipped,
                            dirs_exist_ok=True)
        else:
            shutil.copy2(path, workdir)
