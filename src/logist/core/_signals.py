"""Signals: sent only to a process whose identity holds at the moment of sending.

Private to the acting path (`_acting`), the one place that decides whom to signal; the demo's
staging uses it for its own processes, and the watch to end its own hooks (`kill_session`). A
pidfd is opened first and the identity re-checked after, so a pid recycled between check and
open is never signalled. Only the recorded runner,
the recorded command and the command's own process group are targets: the runner's session or
group may hold processes that are not the job's (a sidecar started beside `exec logist run`,
killed by force recovery before issue 8).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

from ._errors import PermissionDenied
from ._identity import Liveness, ProcessIdentity, identity_of, liveness

TERMINATE_GRACE_S = 5.0
"""Seconds between TERM and KILL in force recovery (the CLI and console quote it)."""


def process_uid(pid: int) -> int | None:
    """The real uid owning a process (the owner of /proc/<pid>), None when it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _group_and_session(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            raw = stream.read()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(rest[2]), int(rest[3])
    except (IndexError, ValueError):
        return None


def _leads_own_session(identity: ProcessIdentity) -> bool:
    """Whether `identity` is alive now and leads a session and group of its own (as the runner
    starts the job's command): then its group is the command's, to the last forked child."""
    return liveness(identity) is Liveness.ALIVE and _group_and_session(identity.pid) == (
        identity.pid,
        identity.pid,
    )


def _members_of(group: int) -> list[ProcessIdentity]:
    """Processes in process group `group` of session `group`, the leader excepted.

    Safe to ask after the leader died: the kernel never hands out a pid that is still some
    group's id, so every process found here is a member of the group the leader made.
    """
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == group:
            continue
        if _group_and_session(int(entry)) == (group, group):
            member = identity_of(int(entry))
            if member is not None:
                members.append(member)
    return members


def signal_verified(identity: ProcessIdentity, signum: int, *, uid: int | None = None) -> bool:
    """Send `signum` only if the process is still exactly `identity` (and runs as `uid`).

    Returns False (and sends nothing) when it is gone, is another process, or belongs to
    another user. The pidfd is opened first, then the identity re-checked: a recycled pid
    would get a different pidfd.
    """
    if liveness(identity) is not Liveness.ALIVE:
        return False
    try:
        pidfd = os.pidfd_open(identity.pid)
    except ProcessLookupError:
        return False
    except OSError:
        pidfd = None  # kernel without pidfd: fall back to a re-check just before kill
    try:
        if liveness(identity) is not Liveness.ALIVE:
            return False
        if uid is not None and process_uid(identity.pid) != uid:
            return False
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signum)
        else:
            os.kill(identity.pid, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError as exc:
        raise PermissionDenied(f"signal {signum} to pid {identity.pid}") from exc
    finally:
        if pidfd is not None:
            os.close(pidfd)


def kill_session(leader: ProcessIdentity | None, session: int) -> None:
    """SIGKILL to a session leader (as its identity was when started) and to the rest of its
    group, each through the verified send: never a blind `killpg`, whose pid may be another
    process's once the leader has been reaped. For the watch's hooks, its own children."""
    for member in ([leader] if leader is not None else []) + _members_of(session):
        with contextlib.suppress(PermissionDenied):
            signal_verified(member, signal.SIGKILL)


def terminate_verified(
    targets: Iterable[ProcessIdentity],
    grace: float = TERMINATE_GRACE_S,
    *,
    command: ProcessIdentity | None = None,
    uid: int | None = None,
) -> list[int]:
    """TERM (and CONT, so a stopped process can act on it), wait, then KILL what is left.

    `targets` are signalled one by one; the process group of `command` (the job's command, a
    session leader) goes with it. Every signal goes only to a process whose identity (and uid,
    when given) is re-verified at that moment. Returns the pids that got the TERM.
    """
    targets = list(targets)
    group = None
    if command is not None:
        if command not in targets:
            targets.append(command)
        # Terminating the command alone left its children running on a job that was then
        # reset (found by tests/reliability/test_model.py): its whole group goes with it.
        if _leads_own_session(command):
            group = command.pid
            targets += [m for m in _members_of(group) if m not in targets]
    signalled: list[int] = []

    def send(identity: ProcessIdentity, signum: int) -> None:
        if signal_verified(identity, signum, uid=uid):
            if signum == signal.SIGTERM:
                signal_verified(identity, signal.SIGCONT, uid=uid)
            if identity.pid not in signalled:
                signalled.append(identity.pid)

    def enlist(signum: int) -> bool:
        """Members the group gained since it was read (a fork racing the TERM: `sh -c` loops
        left a fresh child behind, found by the model test) get the signal too."""
        fresh = [m for m in _members_of(group) if m not in targets] if group else []
        for member in fresh:
            targets.append(member)
            send(member, signum)
        return bool(fresh)

    for identity in targets:
        send(identity, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if all(liveness(t) is not Liveness.ALIVE for t in targets) and not enlist(signal.SIGTERM):
            return signalled
        time.sleep(0.05)
    for identity in targets:
        signal_verified(identity, signal.SIGKILL, uid=uid)
    kill_deadline = time.monotonic() + 2.0
    while time.monotonic() < kill_deadline:
        if all(liveness(t) is not Liveness.ALIVE for t in targets) and not enlist(signal.SIGKILL):
            break
        time.sleep(0.02)
    return signalled
