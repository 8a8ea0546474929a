"""Confine the current process before it runs a submission: the child's half of the sandbox.

Layers, each applied where the OS allows it and reported back to the grader:
- its own session (the grader kills the whole process group afterwards);
- new network, mount, PID and IPC namespaces (a user namespace too when not root): no
  network at all, the toolkit and the results hidden under empty mounts, every process the
  submission starts dies with it, and no System V object outlives it;
- as root, a switch to an unprivileged user of its own (each concurrent child has another one,
  so no child can signal, renice or limit a classmate's, nor enter its directory);
- imports only from its own files, the standard library and the allowed packages, reached
  through descriptors the worker opened (imports.py), wherever the interpreter lives;
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
import signal
import sys
import types
from stat import S_ISDIR
from dataclasses import dataclass

from . import imports, landlock, seccomp, tree

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (0x00020000, 0x08000000, 0x10000000,
                                                                     0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 38, 1, 4
NOBODY = 65534
FIRST_UID = 0x6A000000  # children's users: FIRST_UID + slot, far above any account's (and subordinate ids')
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
    wanted = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
    for flags in ((wanted,) if uid == 0 else ()) + (wanted | CLONE_NEWUSER,):
        if libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:
                _map_user(uid, gid)
            return ["network", "mount", "pid", "ipc"] + (["user"] if flags & CLONE_NEWUSER else [])
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


def private_tmp(libc, workdir: str) -> list[str]:
    """An empty tmpfs of its own over each world-writable directory that does not hold the working
    directory, so nothing written there is seen by another child or outlives this one."""
    made = []
    for path in ("/dev/shm", "/var/tmp", "/tmp"):
        if not os.path.isdir(path) or _within(workdir, path):
            continue
        if libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,nr_inodes=64,mode=1777") == 0:
            made.append(path)
    return made


def drop_privileges(workdir: str, uid: int) -> bool:
    """As root outside a user namespace, become uid (owner of the working directory, which no
    other child's user may enter)."""
    if os.geteuid() != 0:
        return False
    for path in tree.paths(workdir):
        os.chown(path, uid, uid, follow_symlinks=False)
    os.chmod(workdir, 0o700)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    return True


def set_limits(limits: Limits, per_user_processes: bool, held: int = 0) -> None:
    """held: descriptors kept open for the child (the channel, the import roots), on top of its own."""
    mb = 1 << 20
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files + held,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if per_user_processes:  # counted per user: only meaningful once we are a user of our own
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails instead of killing


def strip_environment(workdir: str) -> None:
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir,
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def redirect_descriptors(keep: set[int]) -> None:
    """stdin from /dev/null, fd-level stdout/stderr into /dev/null (nobody reads them, and a write
    there never fails: a file would fill up under RLIMIT_FSIZE and fail the submission's writes),
    every other fd closed but the channel and the import roots' descriptors.  Python-level output
    is kept by the runner."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open(os.devnull, os.O_WRONLY)
    os.dup2(out, 1)
    os.dup2(out, 2)
    start = 3
    for fd in sorted(keep) + [65536]:
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1


def audit_hook(workdir: str, protected_paths: list[str]):
    """The hook: refuse process, network, ctypes, foreign writes and the toolkit, with a reason.

    Everything it uses is bound now, as default arguments, and every piece of its state is
    immutable (strings, tuples, frozensets, built-in functions): a refused call's traceback
    reaches the hook's frame and its locals, and nothing found there can be changed to switch
    it off.  It looks up no global or built-in name, so patching builtins, os or this module
    changes nothing it does, and it calls only built-in functions on exact str and bytes (no
    code of the submission, a str subclass's methods or a path object's __fspath__, ever runs
    inside it).  Its own functions' code and defaults cannot be replaced (that is an audited
    event it refuses).  Paths are resolved here, symbolic links included."""
    workdir = os.path.realpath(workdir)
    protected = tuple(os.path.realpath(p) for p in protected_paths)
    processes, signals, network, native = ("starting processes", "sending signals", "network access",
                                           "loading native code (ctypes)")
    refused = tuple(sorted({
        "os.fork": processes, "os.forkpty": processes, "os.exec": processes, "os.posix_spawn": processes,
        "os.spawn": processes, "os.system": processes, "subprocess.Popen": processes, "pty.spawn": processes,
        "os.kill": signals, "os.killpg": signals, "signal.pthread_kill": signals,
        "socket.__new__": network, "socket.connect": network, "socket.bind": network,
        "socket.getaddrinfo": network, "socket.gethostbyname": network, "socket.sendto": network,
        "socket.sendmsg": network,
        "ctypes.dlopen": native, "ctypes.dlsym": native, "ctypes.call_function": "calling native code (ctypes)",
        "ctypes.cdata": "native memory access (ctypes)",
        "sys.addaudithook": "installing audit hooks", "sys.remote_exec": "remote execution",
        "os.setuid": "changing user", "os.chroot": "changing root",
        # a link or another working directory would make a path mean one thing here and another to the
        # kernel (a relative path with dir_fd=, a link swapped between this check and the open)
        "os.symlink": "creating symbolic links",
        # the way to the interpreter's objects, this hook's among them
        "gc.get_objects": "inspecting the interpreter's objects",
        "gc.get_referrers": "inspecting the interpreter's objects",
        "gc.get_referents": "inspecting the interpreter's objects",
    }.items()))
    events = frozenset(event for event, _ in refused)
    mutating = (("os.remove", 1), ("os.rename", 2), ("os.rmdir", 1), ("os.mkdir", 1), ("os.chmod", 1),
                ("os.chown", 1), ("os.link", 2), ("os.truncate", 1), ("os.utime", 1), ("shutil.rmtree", 1),
                ("shutil.move", 2))
    changes = frozenset(event for event, _ in mutating)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    natives = ("ctypes", "_ctypes", "cffi", "_posixsubprocess", "_xxsubinterpreters")
    rewrites = frozenset(("__code__", "__defaults__", "__kwdefaults__"))
    here = audit_hook.__code__.co_filename

    def real(path, getcwd=os.getcwd, readlink=os.readlink, OSError_=OSError, PermissionError_=PermissionError):
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
            where = "/" + "/".join(parts + [name])
            try:
                target = readlink(where)
            except OSError_:  # not a link (or not there): the name stands
                parts.append(name)
                continue
            links += 1
            if links > 40:
                raise PermissionError_("gradproof sandbox: a path through this many symbolic links is not allowed "
                                       "while grading")
            if target.startswith("/"):
                parts = []
            more = target.split("/")
            more.reverse()
            pending.extend(more)
        return "/" + "/".join(parts)

    def hook(event, args, refused=refused, events=events, mutating=mutating, changes=changes, workdir=workdir,
             protected=protected, natives=natives, packages=PROTECTED, write_flags=write_flags, rewrites=rewrites,
             here=here, real=real, devnull=os.devnull, stat=os.stat, is_dir=S_ISDIR, item=tuple.__getitem__,
             str_=str, bytes_=bytes, int_=int, type_=type, issubclass_=issubclass, len_=len,
             as_str=str.__str__, decode=bytes.decode, function=types.FunctionType, code_of=types.FunctionType.__code__,
             range_=range, PermissionError_=PermissionError, ImportError_=ImportError, OSError_=OSError):
        why = None
        if event in events:
            for name, reason in refused:
                if name == event:
                    why = reason
        elif event == "import":
            kind = type_(args[0])
            name = as_str(args[0]) if kind is str_ or issubclass_(kind, str_) else ""
            top = name.split(".")[0]
            if top in packages:
                raise ImportError_(f"gradproof sandbox: importing the grader's own package '{name}' is not allowed")
            if top in natives:
                why = f"importing {name}"
        elif event == "object.__setattr__" or event == "object.__delattr__":  # (setting None deletes)
            # the code and defaults of the hook's own functions: the one way left to change what it does
            if type_(args[0]) is function and args[1] in rewrites and code_of.__get__(args[0]).co_filename == here:
                why = "changing the grader's functions"
        elif event == "open" or event == "os.chdir" or event in changes:
            count = 1
            if event in changes:
                for name, n in mutating:
                    if name == event:
                        count = n
            for position in range_(count):
                value = args[position]
                kind = type_(value)
                if kind is int_ or value is None:  # an open descriptor
                    continue
                if kind is str_ or issubclass_(kind, str_):
                    name = as_str(value)
                elif kind is bytes_ or issubclass_(kind, bytes_):
                    name = decode(value, "utf-8", "surrogateescape")
                else:  # a path object, as io.FileIO passes it: its path cannot be read safely here
                    why = "opening a file by a path object (pass the path as a str)"
                    break
                path = real(name)
                inside = path == workdir or path.startswith(workdir + "/")
                if event == "os.chdir":
                    if path != workdir:
                        why = "changing the working directory"
                    break
                if event != "open":
                    if not inside:
                        why = "changing files outside the working directory"
                    continue
                for root in protected:
                    if path == root or path.startswith(root + "/"):
                        why = "reading the grader's files"
                if why is not None or inside or path == devnull:
                    break
                mode = args[1]
                flags = args[2] if len_(args) > 2 else 0
                mode = as_str(mode) if type_(mode) is str_ or issubclass_(type_(mode), str_) else ""
                if "w" in mode or "a" in mode or "x" in mode or "+" in mode or (type_(flags) is int_ and flags & write_flags):
                    why = "writing outside the working directory"
                    break
                try:  # a directory's descriptor would let dir_fd= reach anything below it
                    opened_dir = is_dir(item(stat(path), 0))
                except OSError_:
                    opened_dir = False
                if opened_dir:
                    why = "opening a directory outside the working directory"
        if why is not None:
            raise PermissionError_(f"gradproof sandbox: {why} is not allowed while grading")
    return hook


def confine(workdir: str, channel_fd: int, hide_paths: list[str], protected: list[str], limits: Limits,
            importable: imports.Importable, uid: int = NOBODY, namespaces_allowed: bool = True,
            landlock_allowed: bool = True) -> dict:
    """Confine this process for good; returns what was applied.  May fork: see below.
    namespaces_allowed=False confines as on a system that refuses namespaces, landlock_allowed=False
    as on a kernel without Landlock (both tested on every machine)."""
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
    keep = [workdir] + [root.path for root in importable.roots]
    hidden = hide(libc, hide_paths + protected, keep=keep) if "mount" in namespaces else []
    if "mount" in namespaces:
        hidden += private_tmp(libc, workdir)
    if "pid" in namespaces and "mount" in namespaces and own_proc(libc):
        hidden.append("/proc")
    given, disk = workdir, 0
    if "mount" in namespaces:
        workdir, disk = own_disk(libc, workdir, limits.disk_mb)
    imports.install(importable, workdir)
    for name in [m for m in sys.modules if m.split(".")[0] in PROTECTED]:
        del sys.modules[name]
    dropped = "user" not in namespaces and drop_privileges(given, uid)  # its tmpfs too, which lies inside
    # not dumpable (a change of user clears it anyway): a process of the same user, where every child is
    # the grader's user, cannot read this one's memory through /proc; its own /proc/self/fd stays open to it
    libc.prctl(PR_SET_DUMPABLE, 0)
    os.chdir(workdir)
    strip_environment(workdir)
    held = {channel_fd} | {root.fd for root in importable.roots}
    redirect_descriptors(held)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    set_limits(limits, per_user_processes=dropped, held=len(held))
    # the kernel's own rules, which no write to this process's memory can undo (the hook's can)
    held_roots = {r.path: r.fd for r in importable.roots}
    readable = [root for root in landlock.readable_roots() + list(held_roots)
                if not any(_within(p, root) for p in protected)]  # a root holding the toolkit is not readable
    fenced = landlock.restrict(libc, workdir, readable, held_roots) if landlock_allowed else 0
    filtered = seccomp.install(libc, os.getpid())
    # subprocess (which numpy.testing imports) needs _posixsubprocess only to start processes: a
    # stand-in lets it be imported, and refuses what the hook refuses; the real module is never loaded
    sys.modules["_posixsubprocess"] = _no_processes()
    sys.addaudithook(audit_hook(workdir, protected + hide_paths))
    user = ("nobody" if uid == NOBODY else f"uid {uid}") if dropped else str(os.geteuid())
    return {"namespaces": namespaces, "hidden": hidden, "user": user, "disk_mb": disk, "landlock": fenced,
            "seccomp": filtered, "audit_hook": True, "workdir": workdir}


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


def copy_submission(files: list[str], workdir: str) -> tree.Copied:
    """Copy the submission's regular files and directories, never a symbolic link (this runs with
    the grader's privileges, and a link may point at anything the grader can read) nor a FIFO,
    socket or device (opening one could block or fail the copy); iteratively, and no deeper,
    larger or more numerous than tree's bounds."""
    return tree.copy(files, workdir)
