"""Landlock: the kernel's own allowlist of what this process may read, write and signal.

Unlike the audit hook it cannot be switched off from inside Python (no memory write reaches
it), and it needs no privilege or namespace, so it holds on hosts that refuse namespaces.
Rules: read (and map) only the standard library, numpy and the allowed packages (through the
descriptors imports.py holds), the system's libraries and configuration, /dev, /proc and /sys; write only the working directory and /dev/null; no TCP;
no signal to a process outside this child's own domain (so not to a classmate's child).
"""
from __future__ import annotations

import ctypes
import os
import stat
import sys

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same numbers on every architecture
RULE_PATH_BENEATH, VERSION_FLAG = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
ALL_V1 = (1 << 13) - 1          # execute ... make_sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
O_PATH = 0o10000000


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def readable_roots() -> list[str]:
    """What a submission needs to read besides its imports (imports.py holds those open): system
    libraries and configuration, and libpython where Python is built into its own prefix."""
    roots = ["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share", "/etc", "/dev", "/proc", "/sys",
             os.path.join(sys.base_prefix, "lib")]
    return [r for r in dict.fromkeys(roots) if os.path.exists(r)]


def restrict(libc, workdir: str, readable: list[str], held: dict[str, int] | None = None) -> int:
    """Apply the rules to this process for good: read under readable, write under workdir.
    held maps a readable path to a descriptor already open on it (the imports' roots, which this
    process's user may not be able to reach by name).  The Landlock ABI version used, or 0 if
    unavailable."""
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(VERSION_FLAG))
    if abi < 1:
        return 0
    fs = ALL_V1 | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    attr = _Ruleset(fs, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                    (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_Ruleset) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        read = (READ_FILE | READ_DIR | EXECUTE) & fs
        rules = [(root, read) for root in readable]
        rules += [(workdir, fs), (os.devnull, (READ_FILE | WRITE_FILE | TRUNCATE) & fs)]
        held = held or {}
        for path, access in rules:
            fd = held.get(path)
            try:
                opened = os.open(path, O_PATH | os.O_CLOEXEC) if fd is None else None
            except OSError:  # not reachable by this user (and not held): it is simply not readable
                continue
            try:
                if not stat.S_ISDIR(os.fstat(opened if fd is None else fd).st_mode):
                    access &= FILE_ONLY
                rule = _PathBeneath(access, opened if fd is None else fd)
                if syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    return 0
            finally:
                if opened is not None:
                    os.close(opened)
        if syscall(RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return abi

