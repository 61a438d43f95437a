"""Verdicts: what the evidence says about a job, decided by pure functions on plain data.

A job is called crashed only on proof. Anything unclear is not crashed; "unknown" never leads to
an action. See DESIGN.md section 4 for the table these functions implement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._identity import Liveness
from ._locking import LockState
from ._states import DEFAULT_RETRY_CAP, WAITING_STATES, Category

DEFAULT_STALL_AFTER = 30 * 60.0
DEFAULT_LEASE_FACTOR = 3.0
DEFAULT_HEARTBEAT_INTERVAL = 5.0


class VerdictKind(StrEnum):
    RUNNING = "running"
    CRASHED = "crashed"
    HUNG = "hung"
    DETACHED = "detached"
    STALLED = "stalled"
    UNVERIFIED = "unverified"
    SUSPECT = "suspect"
    REMOTE = "remote"
    REMOTE_STALE = "remote-stale"
    WAITING = "waiting"
    """Resting, but waiting for a person (INTERVENTION_REQUIRED)."""
    IDLE = "idle"
    DONE = "done"
    CORRUPT = "corrupt"


# Worst first: the order of the summary strip and of the triage list.
SEVERITY_ORDER: tuple[VerdictKind, ...] = (
    VerdictKind.CORRUPT,
    VerdictKind.CRASHED,
    VerdictKind.HUNG,
    VerdictKind.DETACHED,
    VerdictKind.SUSPECT,
    VerdictKind.STALLED,
    VerdictKind.REMOTE_STALE,
    VerdictKind.WAITING,
    VerdictKind.UNVERIFIED,
    VerdictKind.REMOTE,
    VerdictKind.RUNNING,
    VerdictKind.IDLE,
    VerdictKind.DONE,
)
SEVERITY_RANK = {kind: rank for rank, kind in enumerate(SEVERITY_ORDER)}
TRIAGE_KINDS = frozenset(
    {
        VerdictKind.CRASHED,
        VerdictKind.HUNG,
        VerdictKind.DETACHED,
        VerdictKind.STALLED,
        VerdictKind.SUSPECT,
        VerdictKind.REMOTE_STALE,
        VerdictKind.WAITING,
        VerdictKind.CORRUPT,
    }
)

RESTING_KINDS = frozenset({VerdictKind.IDLE, VerdictKind.WAITING})
"""Verdicts of a job in a resting state: nothing to recover (waiting only needs a person)."""


class Action(StrEnum):
    WATCH = "watch"
    RECOVER = "recover"
    FORCE_RECOVER = "force-recover"
    ADOPT = "adopt"
    WAIT = "wait"
    DECIDE = "operator-decides"
    FIX = "fix"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Policy:
    stall_after: float = DEFAULT_STALL_AFTER
    """Seconds without activity after which an unowned active job counts as stalled."""
    lease_factor: float = DEFAULT_LEASE_FACTOR
    """A heartbeat is stale after this many intervals."""
    retry_cap: int = DEFAULT_RETRY_CAP
    """Crashes after which EXECUTING/RECOVERING go to INTERVENTION_REQUIRED, not PENDING."""


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything gathered about one job, as plain data. Times are epoch seconds."""

    job_id: str
    manifest_ok: bool
    status: str | None = None
    category: Category = Category.UNKNOWN
    has_owner: bool = False
    owner: Liveness = Liveness.NONE
    owner_pid: int | None = None
    owner_host: str | None = None
    child: Liveness = Liveness.NONE
    child_pid: int | None = None
    legacy_pid: int | None = None
    lock: LockState = LockState.FREE
    lock_holders: tuple[int, ...] = ()
    heartbeat_at: float | None = None
    heartbeat_interval: float | None = None
    started_at: float | None = None
    activity_at: float | None = None
    manifest_problem: str | None = None
    waiting_reason: str | None = None
    """Why a job waiting for a person waits (its newest history entry's reason)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str
    action: Action
    proven: bool = False
    """True only when the evidence proves the owner is gone (crashed)."""
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.kind),
            "reason": self.reason,
            "action": str(self.action),
            "proven": self.proven,
            "evidence": dict(self.evidence),
        }


MakeVerdict = Callable[..., "Verdict"]


def _age(now: float, at: float | None) -> float | None:
    return None if at is None else max(0.0, now - at)


def _fmt_age(seconds: float | None) -> str:
    """A compact age inside a reason ("heartbeat 14s old", "no activity for 2.5h").

    Not humanize: `naturaldelta` says "14 seconds" and "2 hours", longer in the triage pane's
    one-line reasons, and rounds 2.5 h to "2 hours" where the lease and the 30 min stall
    threshold are what an operator compares the age with.
    """
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def heartbeat_is_stale(obs: Observation, policy: Policy, now: float) -> bool:
    interval = obs.heartbeat_interval or DEFAULT_HEARTBEAT_INTERVAL
    reference = obs.heartbeat_at if obs.heartbeat_at is not None else obs.started_at
    age = _age(now, reference)
    return age is not None and age > policy.lease_factor * interval


def classify(obs: Observation, policy: Policy, now: float) -> Verdict:
    """The verdict for one job. Pure: no I/O, no clock."""
    if not obs.manifest_ok:
        return Verdict(
            VerdictKind.CORRUPT, obs.manifest_problem or "manifest unreadable", Action.FIX
        )
    category = obs.category
    # Resting and terminal jobs (most of a root) need no evidence: keep their path cheap.
    if category is Category.TERMINAL:
        return Verdict(
            VerdictKind.DONE, f"{obs.status}: finished", Action.NONE, False, {"status": obs.status}
        )
    if category is Category.RESTING and obs.status in WAITING_STATES:
        return Verdict(
            VerdictKind.WAITING,
            f"{obs.status}: {obs.waiting_reason or 'waiting for a person'}",
            Action.DECIDE,
            False,
            {"status": obs.status},
        )
    if category is Category.RESTING:
        return Verdict(
            VerdictKind.IDLE,
            f"{obs.status}: nobody needs to own it",
            Action.NONE,
            False,
            {"status": obs.status},
        )
    if category is Category.UNKNOWN:
        shown = "missing" if obs.status is None else repr(obs.status)
        return Verdict(
            VerdictKind.SUSPECT,
            f"status {shown} is not a Logist state",
            Action.DECIDE,
            False,
            {"status": obs.status},
        )
    ev: dict[str, Any] = {
        "status": obs.status,
        "lock": str(obs.lock),
        "owner": str(obs.owner),
    }
    if obs.owner_pid is not None:
        ev["owner_pid"] = obs.owner_pid
    if obs.owner_host is not None:
        ev["owner_host"] = obs.owner_host
    if obs.child_pid is not None:
        ev["child_pid"] = obs.child_pid
        ev["child"] = str(obs.child)
    if obs.legacy_pid is not None:
        ev["legacy_pid"] = obs.legacy_pid
    if obs.lock_holders:
        ev["lock_holders"] = list(obs.lock_holders)
    hb_age = _age(now, obs.heartbeat_at)
    if obs.has_owner:
        ev["heartbeat_age_s"] = None if hb_age is None else round(hb_age, 1)
    activity_age = _age(now, obs.activity_at)
    ev["activity_age_s"] = None if activity_age is None else round(activity_age, 1)

    def verdict(kind: VerdictKind, reason: str, action: Action, proven: bool = False) -> Verdict:
        return Verdict(kind, reason, action, proven, ev)

    if obs.has_owner:
        return _classify_ours(obs, policy, now, verdict, hb_age)
    if obs.legacy_pid is not None:
        return _classify_legacy_pid(obs, verdict)
    return _classify_unowned(obs, policy, verdict, activity_age)


def _classify_ours(
    obs: Observation, policy: Policy, now: float, verdict: MakeVerdict, hb_age: float | None
) -> Verdict:
    stale = heartbeat_is_stale(obs, policy, now)
    beat = f"heartbeat {_fmt_age(hb_age)} old"
    if obs.owner is Liveness.REMOTE:
        if stale:
            return verdict(
                VerdictKind.REMOTE_STALE,
                f"owner on {obs.owner_host}, {beat} (lease expired)",
                Action.RECOVER,
            )
        return verdict(VerdictKind.REMOTE, f"owner on {obs.owner_host}, {beat}", Action.NONE)
    if obs.owner is Liveness.ALIVE:
        if obs.lock is LockState.FREE:
            return verdict(
                VerdictKind.SUSPECT,
                f"owner pid {obs.owner_pid} alive but the job lock is free",
                Action.DECIDE,
            )
        if stale:
            return verdict(
                VerdictKind.HUNG,
                f"owner pid {obs.owner_pid} alive but {beat} (lease expired)",
                Action.FORCE_RECOVER,
            )
        return verdict(
            VerdictKind.RUNNING, f"owner pid {obs.owner_pid} alive, {beat}", Action.WATCH
        )
    # owner dead (pid gone, zombie, recycled, or machine rebooted)
    if obs.child is Liveness.ALIVE:
        return verdict(
            VerdictKind.DETACHED,
            f"owner pid {obs.owner_pid} is dead but its command pid {obs.child_pid} still runs",
            Action.ADOPT,
        )
    if obs.lock is LockState.HELD:
        holders = ", ".join(map(str, obs.lock_holders)) or "an unknown process"
        return verdict(
            VerdictKind.SUSPECT,
            f"owner pid {obs.owner_pid} is dead but the lock is held by {holders}",
            Action.DECIDE,
        )
    if obs.lock is LockState.UNKNOWN:
        return verdict(
            VerdictKind.SUSPECT,
            f"owner pid {obs.owner_pid} is dead but the lock state cannot be read",
            Action.DECIDE,
        )
    return verdict(
        VerdictKind.CRASHED,
        f"owner pid {obs.owner_pid} is dead and the lock is free",
        Action.RECOVER,
        proven=True,
    )


def _classify_legacy_pid(obs: Observation, verdict: MakeVerdict) -> Verdict:
    pid = obs.legacy_pid
    if obs.owner is Liveness.DEAD:
        if obs.lock is LockState.FREE:
            return verdict(
                VerdictKind.CRASHED,
                f"Logist pid {pid} no longer exists and the lock is free",
                Action.RECOVER,
                proven=True,
            )
        return verdict(
            VerdictKind.SUSPECT,
            f"Logist pid {pid} no longer exists but the lock is {obs.lock}",
            Action.DECIDE,
        )
    if obs.lock is LockState.HELD:
        return verdict(
            VerdictKind.RUNNING, f"Logist pid {pid} exists and the lock is held", Action.WATCH
        )
    return verdict(
        VerdictKind.SUSPECT,
        f"a process with Logist pid {pid} exists, but without a start token it may be another",
        Action.DECIDE,
    )


def _classify_unowned(
    obs: Observation, policy: Policy, verdict: MakeVerdict, activity_age: float | None
) -> Verdict:
    if obs.lock is LockState.HELD:
        return verdict(VerdictKind.RUNNING, "no owner recorded; the lock is held", Action.WATCH)
    if obs.lock is LockState.UNKNOWN:
        return verdict(
            VerdictKind.UNVERIFIED, "no owner recorded; lock state cannot be read", Action.WAIT
        )
    if activity_age is not None and activity_age >= policy.stall_after:
        return verdict(
            VerdictKind.STALLED,
            f"no owner recorded, lock free, no activity for {_fmt_age(activity_age)}",
            Action.RECOVER,
        )
    return verdict(
        VerdictKind.UNVERIFIED,
        f"no owner recorded, lock free, last activity {_fmt_age(activity_age)} ago",
        Action.WAIT,
    )
