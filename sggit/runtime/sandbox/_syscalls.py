"""Syscall numbers and kernel constants the confinement needs (stdlib only).

Python 3.11 exposes neither unshare, Landlock nor seccomp, so the worker talks to
the kernel through libc's syscall(); the numbers differ per architecture.
"""

from __future__ import annotations

import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWIPC = 0x08000000

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MNT_DETACH = 2

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

_X86_64 = {
    "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59,
    "ptrace": 101, "prctl": 157, "setrlimit": 160, "prlimit64": 302, "setpgid": 109, "setsid": 112, "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114,
    "setgroups": 116, "setresuid": 117, "setresgid": 119, "personality": 135,
    "pivot_root": 155, "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172,
    "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
    "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "execveat": 322, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
    "mount_setattr": 442, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
}

# The generic table (asm-generic/unistd.h): aarch64 has no fork/vfork/iopl/ioperm.
_AARCH64 = {
    "socket": 198, "socketpair": 199, "clone": 220, "execve": 221, "ptrace": 117, "prctl": 167, "setrlimit": 164, "prlimit64": 261, "setpgid": 154, "setsid": 157,
    "setuid": 146, "setgid": 144, "setreuid": 145, "setregid": 143, "setgroups": 159,
    "setresuid": 147, "setresgid": 149, "personality": 92, "pivot_root": 41, "adjtimex": 171,
    "chroot": 51, "acct": 89, "settimeofday": 170, "mount": 40, "umount2": 39,
    "swapon": 224, "swapoff": 225, "reboot": 142, "init_module": 105, "delete_module": 106,
    "quotactl": 60, "clock_settime": 112, "kexec_load": 104, "add_key": 217,
    "request_key": 218, "keyctl": 219, "unshare": 97, "perf_event_open": 241,
    "name_to_handle_at": 264, "open_by_handle_at": 265, "setns": 268,
    "process_vm_readv": 270, "process_vm_writev": 271, "finit_module": 273,
    "kexec_file_load": 294, "bpf": 280, "execveat": 281, "userfaultfd": 282,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442,
    "landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446,
}

TABLES = {"x86_64": _X86_64, "aarch64": _AARCH64}


def machine() -> str:
    return platform.machine()


def table() -> dict[str, int] | None:
    """This architecture's numbers, or None where sggit does not know them."""
    return TABLES.get(machine())


# prctl options refused (the argument is checked): a worker must not outlive its parent.
DENIED_PRCTL = (PR_SET_PDEATHSIG,)

# Calls a gene never needs; denied with EPERM.
DENIED = (
    "socket", "socketpair", "fork", "vfork", "clone", "clone3", "execve", "execveat", "ptrace",
    "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "keyctl",
    "add_key", "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "open_by_handle_at", "name_to_handle_at", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "setuid", "setgid",
    "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "pidfd_getfd",
    "setsid", "setpgid", "personality", "acct", "quotactl", "settimeofday", "clock_settime", "adjtimex", "iopl",
    "ioperm",
)
