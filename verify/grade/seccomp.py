"""seccomp: system calls a gradient function never makes, refused by the kernel (x86_64).

The audit hook refuses these too, with readable messages; but Python code can rewrite the
hook's memory (numpy's __array_interface__ reaches any address), so the refusals that matter
are made here, where nothing in the process can reach them: new sockets, new processes
(threads stay allowed), sessions, signals and pidfds, tracing, mounts and namespaces,
changing user, kernel keyrings, BPF, io_uring, System V and POSIX message-queue IPC (which
outlive the process); and every call that acts on another process (signals, resource limits,
priorities, scheduling, memory), except on this process itself: without a PID namespace and
Landlock's signal scoping, those are how one child would reach a classmate's, or the grader.
"""
from __future__ import annotations

import ctypes
import errno
import platform

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
AUDIT_ARCH_X86_64 = 0xC000003E
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
CLONE_THREAD = 0x10000
X32_BIT = 0x40000000
CLONE, CLONE3 = 56, 435
REFUSED = {  # x86_64 numbers
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53, "accept4": 288,
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "kill": 62, "tkill": 200, "setsid": 112,
    "setpgid": 109, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438, "mount": 165, "umount2": 166,
    "unshare": 272, "setns": 308, "chroot": 161, "pivot_root": 155, "setuid": 105, "setgid": 106,
    "setreuid": 113, "setregid": 114, "setresuid": 117, "setresgid": 119, "setgroups": 116,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "open_by_handle_at": 304, "mknod": 133, "mknodat": 259,
    "init_module": 175, "finit_module": 313, "personality": 135,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "migrate_pages": 256, "move_pages": 279, "kcmp": 312, "process_madvise": 440, "process_mrelease": 448,
    "ioprio_set": 251,
}
SELF = object()  # stands for this process's own pid, known when the filter is installed
# calls allowed only with these arguments (argument index, value): acting on this process alone
ONLY = {
    "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "prlimit64": 302, "setpriority": 141,
    "sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203, "sched_setattr": 314,
}
CONDITIONS = {
    "tgkill": ((0, SELF),), "rt_sigqueueinfo": ((0, SELF),), "rt_tgsigqueueinfo": ((0, SELF),),
    "prlimit64": ((0, 0),),                       # pid 0: this process
    "setpriority": ((0, 0), (1, 0)),              # PRIO_PROCESS, who 0: this process (not PRIO_USER: every
                                                  # process of the same user)
    "sched_setparam": ((0, 0),), "sched_setscheduler": ((0, 0),), "sched_setaffinity": ((0, 0),),
    "sched_setattr": ((0, 0),),
}


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Instruction))]


def program(own_pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program: refused calls fail with EPERM (clone3 with ENOSYS, so that threads fall
    back to clone, which is allowed only with CLONE_THREAD); the calls of ONLY pass only with
    their CONDITIONS (own_pid is this process's pid as its namespace numbers it)."""
    deny, nosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    code = [(LD_W_ABS, 0, 0, 4),                        # arch
            (JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            (RET_K, 0, 0, deny),                        # another ABI's numbers: refuse everything
            (LD_W_ABS, 0, 0, 0),                        # the call's number
            (JGE_K, 0, 1, X32_BIT),                     # x32 calls would get past the numbers below
            (RET_K, 0, 0, deny),
            (JEQ_K, 0, 1, CLONE3),
            (RET_K, 0, 0, nosys),
            (JEQ_K, 0, 4, CLONE),
            (LD_W_ABS, 0, 0, 16),                       # clone's flags (low half of args[0])
            (JSET_K, 1, 0, CLONE_THREAD),
            (RET_K, 0, 0, deny),                        # a process, not a thread
            (RET_K, 0, 0, RET_ALLOW)]
    for number in sorted(REFUSED.values()):
        code += [(JEQ_K, 0, 1, number), (RET_K, 0, 0, deny)]
    for name, number in ONLY.items():
        conditions = CONDITIONS[name]
        n = len(conditions)
        code.append((JEQ_K, 0, 2 * n + 2, number))   # not this call: skip its block
        for i, (argument, value) in enumerate(conditions):
            value = own_pid if value is SELF else value
            # the low half of the argument: the kernel reads these arguments as 32-bit ints
            code += [(LD_W_ABS, 0, 0, 16 + 8 * argument), (JEQ_K, 0, 2 * (n - 1 - i) + 1, value)]
        code += [(RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, deny)]
    return code + [(RET_K, 0, 0, RET_ALLOW)]


def install(libc, own_pid: int) -> bool:
    """Install the filter for good (needs no_new_privs); False where it cannot be (not x86_64)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    code = program(own_pid)
    array = (_Instruction * len(code))(*[_Instruction(*i) for i in code])
    prog = _Program(len(code), array)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
