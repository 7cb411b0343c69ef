"""The kernel mechanisms that hold a worker in, each reporting whether it took hold.

Stdlib only: this runs inside the worker before any gene. Each function returns
`(applied, detail)` instead of raising, so the worker can report exactly what is
missing and the orchestrator (not the worker) decides whether to run degraded.
"""

from __future__ import annotations

import ctypes
import os
import resource
import struct

from sggit.runtime.sandbox import _syscalls as sc

Status = tuple[bool, str]

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.unshare.restype = ctypes.c_int
_libc.mount.restype = ctypes.c_int
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _errno_text(what: str) -> str:
    err = ctypes.get_errno()
    return f"{what}: {os.strerror(err)} (errno {err})"


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                       ctypes.c_ulong(0), ctypes.c_ulong(0))


def no_new_privs() -> Status:
    if _prctl(sc.PR_SET_NO_NEW_PRIVS, 1) != 0:
        return False, _errno_text("prctl(PR_SET_NO_NEW_PRIVS)")
    return True, "set-uid binaries and file capabilities can no longer raise privileges"


def not_dumpable() -> Status:
    """No core dumps, and /proc/PID/mem, ptrace and process_vm_readv need CAP_SYS_PTRACE."""
    if _prctl(sc.PR_SET_DUMPABLE, 0) != 0:
        return False, _errno_text("prctl(PR_SET_DUMPABLE, 0)")
    return True, "not dumpable (its memory needs CAP_SYS_PTRACE to read)"


def parent_death_signal(signum: int) -> Status:
    if _prctl(sc.PR_SET_PDEATHSIG, signum) != 0:
        return False, _errno_text("prctl(PR_SET_PDEATHSIG)")
    return True, f"signal {signum} when the parent dies"


_NAMESPACES = (("netns", sc.CLONE_NEWNET, "network"), ("mountns", sc.CLONE_NEWNS, "mount"),
               ("pidns", sc.CLONE_NEWPID, "PID"), ("ipcns", sc.CLONE_NEWIPC, "IPC"))


def unshare_namespaces(wanted: frozenset[str]) -> dict[str, Status]:
    """New network, mount, PID and IPC namespaces; as non-root, inside a new user namespace.

    The IPC namespace takes SysV shared memory, message queues and semaphores with it
    when the worker dies, so none can outlive a run or cross to another worker.
    """
    notes = ""
    if os.geteuid() != 0 and wanted:
        uid, gid = os.geteuid(), os.getegid()
        if _libc.unshare(ctypes.c_int(sc.CLONE_NEWUSER)) == 0:
            try:
                for path, text in (("/proc/self/setgroups", "deny"),
                                   ("/proc/self/uid_map", f"{uid} {uid} 1"),
                                   ("/proc/self/gid_map", f"{gid} {gid} 1")):
                    with open(path, "w") as handle:
                        handle.write(text)
                notes = " (inside a new user namespace)"
            except OSError as exc:
                notes = f" (user namespace maps failed: {exc})"
        else:
            notes = f" ({_errno_text('unshare(CLONE_NEWUSER)')})"
    result: dict[str, Status] = {}
    for key, flag, label in _NAMESPACES:
        if key not in wanted:
            continue
        if _libc.unshare(ctypes.c_int(flag)) == 0:
            result[key] = (True, f"new {label} namespace{notes}")
        else:
            result[key] = (False, _errno_text(f"unshare({label} namespace)") + notes)
    return result


def private_scratch(scratch: str, size: int, uid: int, gid: int) -> Status:
    """Make every mount private, then a size-capped tmpfs over the scratch directory.

    Without private propagation the tmpfs would appear on the host, so that step
    failing means no tmpfs at all (the host directory is used, bounded by RLIMIT_FSIZE).
    """
    if _libc.mount(None, b"/", None, sc.MS_REC | sc.MS_PRIVATE, None) != 0:
        return False, _errno_text("making mounts private")
    options = f"size={size},mode=0700,uid={uid},gid={gid}".encode()
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    if _libc.mount(b"tmpfs", scratch.encode(), b"tmpfs", flags, options) != 0:
        return False, _errno_text("mounting the scratch tmpfs")
    return True, f"scratch is a private tmpfs of {size} bytes"


def _mount(source: bytes | None, target: str, fstype: bytes | None, flags: int, options: bytes | None) -> bool:
    return _libc.mount(source, target.encode(), fstype, flags, options) == 0


def private_root(scratch: str, with_proc: bool) -> Status:
    """Swap the filesystem for an empty read-only tmpfs holding only scratch (and /proc).

    Landlock refuses opening host files, but not `stat`, `readlink` or inotify on
    them; once the host's tree is detached there is nothing left to look at. The
    scratch tmpfs (already mounted at `scratch`) moves to /scratch. Everything the
    worker loads from disk must be loaded before this.
    """
    table = sc.table()
    if table is None:
        return False, f"no syscall table for architecture {sc.machine()}"
    root = os.path.join(scratch, ".root")  # a directory only this worker can own
    try:
        os.mkdir(root, 0o755)
    except OSError as exc:
        return False, f"cannot make the new root: {exc}"
    if not _mount(b"tmpfs", root, b"tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, b"size=65536,mode=0755"):
        return False, _errno_text("mounting the new root")
    for name in ("scratch", "proc", "old"):
        os.mkdir(os.path.join(root, name), 0o755)
    if not _mount(scratch.encode(), os.path.join(root, "scratch"), None, sc.MS_BIND, None):
        return False, _errno_text("binding scratch into the new root")
    proc = "no /proc (no PID namespace)"
    if with_proc:
        flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
        proc = ("/proc of the worker's own PID namespace" if _mount(b"proc", os.path.join(root, "proc"), b"proc", flags, None)
                else _errno_text("no /proc: mounting it"))
    if _libc.syscall(ctypes.c_long(table["pivot_root"]), root.encode(), os.path.join(root, "old").encode()) != 0:
        return False, _errno_text("pivot_root")
    os.chdir("/")
    if _libc.umount2(b"/old", ctypes.c_int(sc.MNT_DETACH)) != 0:
        return False, _errno_text("detaching the host's filesystem")
    os.rmdir("/old")
    read_only = _mount(None, "/", None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | sc.MS_NOSUID
                       | sc.MS_NODEV | sc.MS_NOEXEC, None)
    os.chdir("/scratch")
    os.rmdir(".root")
    return True, ("the host's filesystem is detached; / is an empty tmpfs"
                  + (" (read-only)" if read_only else "") + f" with /scratch and {proc}")


def set_rlimits(limits: dict[str, int]) -> Status:
    """`limits` maps RLIMIT_* names to a value set as both soft and hard limit."""
    done = []
    for name, value in limits.items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (OSError, ValueError) as exc:
            return False, f"{name}={value}: {exc}"
        done.append(f"{name[7:]}={value}")
    return True, ", ".join(done)


_CAP_VERSION_3 = 0x20080522


def _drop_capabilities() -> bool:
    """Empty every capability set; a worker in its own user namespace holds them all there."""
    header = struct.pack("=Ii", _CAP_VERSION_3, 0)
    data = bytes(24)  # two {effective, permitted, inheritable} u32 triples
    return _libc.capset(ctypes.create_string_buffer(header, 8), ctypes.create_string_buffer(data, 24)) == 0


def drop_privileges(uid: int, gid: int) -> Status:
    """Leave root: RLIMIT_NPROC does not bind root, and root ignores file permissions."""
    if os.geteuid() != 0:
        if not _drop_capabilities():
            return False, _errno_text(f"uid {os.geteuid()}, but capset")
        return True, f"already unprivileged (uid {os.geteuid()}); capabilities dropped"
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        return False, f"cannot switch to uid {uid}/gid {gid}: {exc}"
    if os.geteuid() == 0 or os.getuid() == 0 or not _drop_capabilities():
        return False, "still root or still capable after setresuid"
    return True, f"running as uid {uid}, gid {gid}"


_FS_ABI1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15


def landlock_abi() -> int:
    """The Landlock ABI version, or 0 (with errno set) where the kernel has none."""
    table = sc.table()
    if table is None:
        return 0
    abi = _libc.syscall(ctypes.c_long(table["landlock_create_ruleset"]), None,
                        ctypes.c_long(0), ctypes.c_long(1))
    return max(0, abi)


def landlock(writable_dir: str) -> Status:
    """Deny every filesystem access except beneath `writable_dir`, and all TCP.

    Files already open stay usable: the rules apply at open time, which is why the
    worker imports everything it may need before calling this.
    """
    table = sc.table()
    abi = landlock_abi()
    if table is None or abi < 1:
        return False, _errno_text("Landlock unavailable") if table else f"unknown architecture {sc.machine()}"
    fs = _FS_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    fs |= _FS_IOCTL_DEV if abi >= 5 else 0
    net = 0b11 if abi >= 4 else 0
    scoped = 0b11 if abi >= 6 else 0
    attr = struct.pack("=QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _libc.syscall(ctypes.c_long(table["landlock_create_ruleset"]), buf,
                            ctypes.c_long(len(attr)), ctypes.c_long(0))
    if ruleset < 0:
        return False, _errno_text("landlock_create_ruleset")
    try:
        dir_fd = os.open(writable_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rule = ctypes.create_string_buffer(struct.pack("=Qi", fs, dir_fd), 12)
            if _libc.syscall(ctypes.c_long(table["landlock_add_rule"]), ctypes.c_long(ruleset),
                             ctypes.c_long(1), rule, ctypes.c_long(0)) != 0:
                return False, _errno_text("landlock_add_rule")
        finally:
            os.close(dir_fd)
        if _libc.syscall(ctypes.c_long(table["landlock_restrict_self"]), ctypes.c_long(ruleset),
                         ctypes.c_long(0)) != 0:
            return False, _errno_text("landlock_restrict_self")
    finally:
        os.close(ruleset)
    extras = (" TCP bind/connect denied;" if net else "") + (
        " signals and abstract sockets scoped to the worker;" if scoped else "")
    return True, f"ABI {abi}: filesystem limited to the scratch directory;{extras}".rstrip(";")


_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06
_RET_KILL_PROCESS = 0x80000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM = 1
_X32_BIT = 0x40000000


_ARG0_LOW = 16  # offsetof(struct seccomp_data, args[0]), low half on little-endian machines
_ARG_SIZE = 8


def _arg_low(index: int) -> int:
    return _ARG0_LOW + index * _ARG_SIZE


def _assemble(code: list[tuple[int, int | str, int | str, int] | str]) -> bytes:
    """Classic BPF with named jump targets: a str item is a label, a str jump goes to it."""
    where: dict[str, int] = {}
    for item in code:
        if isinstance(item, str):
            where[item] = sum(1 for earlier in code[:code.index(item)] if not isinstance(earlier, str))
    out = []
    position = 0
    for item in code:
        if isinstance(item, str):
            continue
        op, jt, jf, k = item
        offsets = []
        for target in (jt, jf):
            if isinstance(target, str):
                target = where[target] - position - 1
            if not 0 <= target <= 255:
                raise ValueError("seccomp program too long for one jump")
            offsets.append(target)
        out.append(struct.pack("=HBBI", op, offsets[0], offsets[1], k))
        position += 1
    return b"".join(out)


def _seccomp_program(arch: int, table: dict[str, int], x86: bool) -> bytes:
    """Classic BPF: wrong architecture kills; x32, every denied number, the denied
    prctl options and setting any rlimit but RLIMIT_CPU jump to EPERM."""
    denied = sorted({table[name] for name in sc.DENIED if name in table})
    code: list[tuple[int, int | str, int | str, int] | str] = [
        (_BPF_LD_W_ABS, 0, 0, 4), (_BPF_JEQ_K, 1, 0, arch), (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_BPF_LD_W_ABS, 0, 0, 0)]
    if x86:
        code.append((_BPF_JGE_K, "deny", 0, _X32_BIT))
    code += [(_BPF_JEQ_K, "deny", 0, nr) for nr in denied]
    # prctl: refuse the listed options, allow the rest.
    code += [(_BPF_JEQ_K, 0, "setrlimit", table["prctl"]), (_BPF_LD_W_ABS, 0, 0, _arg_low(0))]
    code += [(_BPF_JEQ_K, "deny", 0, option) for option in sc.DENIED_PRCTL]
    code.append((_BPF_RET_K, 0, 0, _RET_ALLOW))
    # Limits: only the worker's own per-call RLIMIT_CPU may change; reading any is allowed.
    code += ["setrlimit", (_BPF_JEQ_K, 0, "prlimit64", table["setrlimit"]),
             (_BPF_LD_W_ABS, 0, 0, _arg_low(0)), (_BPF_JEQ_K, "allow", "deny", resource.RLIMIT_CPU)]
    code += ["prlimit64", (_BPF_JEQ_K, 0, "allow", table["prlimit64"]),
             (_BPF_LD_W_ABS, 0, 0, _arg_low(1)), (_BPF_JEQ_K, "allow", 0, resource.RLIMIT_CPU),
             (_BPF_LD_W_ABS, 0, 0, _arg_low(2)), (_BPF_JEQ_K, 0, "deny", 0),
             (_BPF_LD_W_ABS, 0, 0, _arg_low(2) + 4), (_BPF_JEQ_K, "allow", "deny", 0)]
    code += ["allow", (_BPF_RET_K, 0, 0, _RET_ALLOW), "deny", (_BPF_RET_K, 0, 0, _RET_ERRNO | _EPERM)]
    return _assemble(code)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp() -> Status:
    """Refuse sockets, exec, processes and threads, ptrace, mounts and the like.

    Denied calls fail with EPERM rather than killing the worker, so a gene that
    tries one gets an exception the worker can report as a forbidden act.
    Threads are refused too: a gene needs none, and a thread left running could
    meddle with the next gene the worker runs. Limits cannot be changed, except
    RLIMIT_CPU, which the worker moves for each call: so after a call only that
    one needs checking.
    """
    table = sc.table()
    arch = sc.AUDIT_ARCH.get(sc.machine())
    if table is None or arch is None:
        return False, f"no syscall table for architecture {sc.machine()}"
    program = _seccomp_program(arch, table, sc.machine() == "x86_64")
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    if _prctl(sc.PR_SET_SECCOMP, sc.SECCOMP_MODE_FILTER, ctypes.addressof(fprog)) != 0:
        return False, _errno_text("prctl(PR_SET_SECCOMP)")
    return True, (f"{len(program) // 8}-instruction filter denies {len(sc.DENIED)} calls: "
                  "sockets, exec, fork/clone (no threads), ptrace, mount, ..., "
                  "prctl(PR_SET_PDEATHSIG) and setting any rlimit but RLIMIT_CPU")
