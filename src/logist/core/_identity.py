"""Process identity: (host, boot id, pid, start token), and liveness decided on it.

`psutil.pid_exists` is never proof: pids are reused (pid_max is 32768 here). A process is the
one we recorded only if host and boot id match and field 22 of `/proc/<pid>/stat` (its start
time in clock ticks) equals the recorded start token. Signals go through a pidfd opened before
the identity is re-checked, so the pid cannot be recycled between check and send.
"""

from __future__ import annotations

import os
from collections import namedtuple
from enum import StrEnum
from functools import cache


class Liveness(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"
    REMOTE = "remote"
    """Recorded on another host: cannot be checked from here."""
    NONE = "none"
    """Nothing recorded."""
    UNVERIFIABLE = "unverifiable"
    """A legacy pid without start token that exists: it may be a recycled pid."""


class ProcessIdentity(namedtuple("ProcessIdentity", "host boot_id pid start_token")):
    """Who a process is. A named tuple, not a dataclass: the runner's supervisor records its
    own identity, and importing dataclasses cost it 1.8 MB (PSS) for as long as its job runs."""

    __slots__ = ()
    host: str
    boot_id: str
    pid: int
    start_token: int

    def to_dict(self) -> dict[str, str | int]:
        return {
            "host": self.host,
            "boot_id": self.boot_id,
            "pid": self.pid,
            "start_token": self.start_token,
        }


class ProcStat(namedtuple("ProcStat", "state start_token threads")):
    """The fields of /proc/<pid>/stat we need."""

    __slots__ = ()
    state: str
    start_token: int
    threads: int

    @property
    def ended(self) -> bool:
        """Whether the process has let go of everything it held.

        A zombie state is not enough: /proc/<pid>/stat describes the thread-group leader, which
        turns Z as soon as it exits while the other threads are still exiting and the shared
        descriptors (a held flock among them) are not yet closed. Measured: a SIGKILLed runner
        with a heartbeat thread read Z with its lock held for about a millisecond, which a scan
        took for "owner dead, lock held by an unknown process". The count drops to 1 only once
        the last other thread has released the descriptors.
        """
        return self.state in ("X", "x") or (self.state == "Z" and self.threads <= 1)


@cache
def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as stream:
            return stream.read().strip()
    except OSError:
        return "unknown"


@cache
def host_name() -> str:
    return os.uname().nodename  # what socket.gethostname() returns, without socket


def read_proc_stat(pid: int) -> ProcStat | None:
    """State and start token of a pid, or None if there is no such process.

    Not psutil: `Process(pid).create_time()` is field 22 turned into float seconds (the exact
    tick count is the identity the runner records), and building a Process per active job per
    poll costs several times this one read.
    """
    if pid <= 0:
        return None
    try:  # raw descriptors: a buffered open() costs twice as much, once per active job per poll
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    # comm (field 2) may hold spaces and parens: split after the last ')'
    rest = raw[raw.rfind(b")") + 2 :].split()
    try:
        return ProcStat(rest[0].decode("ascii", "replace"), int(rest[19]), int(rest[17]))
    except (IndexError, ValueError):
        return None


def identity_of(pid: int) -> ProcessIdentity | None:
    stat = read_proc_stat(pid)
    if stat is None:
        return None
    return ProcessIdentity(host_name(), boot_id(), pid, stat.start_token)


def current_identity() -> ProcessIdentity:
    identity = identity_of(os.getpid())
    assert identity is not None, "/proc/self/stat must be readable"
    return identity


def liveness(identity: ProcessIdentity | None) -> Liveness:
    if identity is None:
        return Liveness.NONE
    if identity.host != host_name():
        return Liveness.REMOTE
    if identity.boot_id != boot_id():
        return Liveness.DEAD  # the machine rebooted since
    stat = read_proc_stat(identity.pid)
    if stat is None or stat.ended:
        return Liveness.DEAD
    return Liveness.ALIVE if stat.start_token == identity.start_token else Liveness.DEAD


def legacy_liveness(pid: int) -> Liveness:
    """A Logist pid without start token: absence is proof of death, presence proves nothing."""
    stat = read_proc_stat(pid)
    if stat is None or stat.ended:
        return Liveness.DEAD
    return Liveness.UNVERIFIABLE


def identity_from_record(
    record: object, pid_key: str = "pid", token_key: str = "start_token"
) -> ProcessIdentity | None:
    """A ProcessIdentity from a manifest's owner record; None when fields are missing or odd."""
    if not isinstance(record, dict):
        return None
    host, boot, pid, token = (
        record.get("host"),
        record.get("boot_id"),
        record.get(pid_key),
        record.get(token_key),
    )
    if not (isinstance(host, str) and isinstance(boot, str)):
        return None
    if not (isinstance(pid, int) and isinstance(token, int)) or isinstance(pid, bool):
        return None
    return ProcessIdentity(host, boot, pid, token)
