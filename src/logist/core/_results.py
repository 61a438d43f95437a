"""What actions return: one typed result per job, each with a `to_dict()` for `--json`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._errors import JobChanged, JobNotFound, LockBusy, NotRecoverable
from ._plans import RecoveryPlan
from ._recorded import ErrorRecord, JobFiles
from ._scan import JobState


class Outcome(StrEnum):
    RECOVERED = "recovered"
    NOOP = "no-op"
    REFUSED = "refused"
    FAILED = "failed"
    PLANNED = "planned"
    """Dry run: the plan was made, nothing was changed."""
    WATCHING = "watching"
    ADOPTED = "adopted"
    FIXED = "fixed"


OK_OUTCOMES = frozenset(
    {
        Outcome.RECOVERED,
        Outcome.NOOP,
        Outcome.PLANNED,
        Outcome.WATCHING,
        Outcome.ADOPTED,
        Outcome.FIXED,
    }
)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The result of one action on one job; `message` is one line for a human."""

    job_id: str | None
    action: str
    outcome: Outcome
    message: str
    from_status: str | None = None
    to_status: str | None = None
    plan: RecoveryPlan | None = None
    error: str | None = None
    """The error class name when the action failed or was refused (LockBusy, JobChanged...)."""

    @classmethod
    def planned(cls, plan: RecoveryPlan) -> ActionResult:
        """A dry run's result: what applying `plan` would do, or why it would be refused."""
        return cls(
            plan.job_id,
            "recover",
            Outcome.PLANNED if plan.allowed else Outcome.REFUSED,
            plan.refusal or f"would go {plan.from_status} -> {plan.to_status} ({plan.reason})",
            plan.from_status,
            plan.to_status,
            plan,
        )

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "action": self.action,
            "outcome": str(self.outcome),
            "ok": self.ok,
            "message": self.message,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "error": self.error,
            "plan": None if self.plan is None else self.plan.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ReattachResult:
    job_id: str
    mode: str
    """"watch" (running: attach a viewer), "adopt" (detached: a new supervisor took over) or
    "would-adopt" (asked not to adopt: what adopting would do)."""
    pid: int | None
    uptime_s: float | None
    log_path: str | None
    heartbeat_age_s: float | None
    message: str
    supervisor_pid: int | None = None
    status: str | None = None
    verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "verdict": self.verdict,
            "mode": self.mode,
            "pid": self.pid,
            "uptime_s": self.uptime_s,
            "log_path": self.log_path,
            "heartbeat_age_s": self.heartbeat_age_s,
            "supervisor_pid": self.supervisor_pid,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class BulkResult:
    targets: tuple[str, ...]
    results: tuple[ActionResult, ...]
    dry_run: bool
    skipped_over_cap: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self) -> Counter[str]:
        return Counter(str(r.outcome) for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "targets": list(self.targets),
            "skipped_over_cap": self.skipped_over_cap,
            "counts": dict(self.counts()),
            "results": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class JobDetail:
    """Everything the detail view shows about one job (read-only)."""

    state: JobState
    history: tuple[dict[str, Any], ...]
    plan: RecoveryPlan
    log_path: str | None
    log_tail: tuple[str, ...] = field(default=())
    force_plan: RecoveryPlan | None = None
    """For a hung or detached job: what force would do (same state, no second read)."""
    errors: tuple[ErrorRecord, ...] = ()
    """The original's classified errors in the history, oldest first."""
    files: JobFiles = field(default_factory=JobFiles)
    """Backups, `latest-outcome.json`, workspace: what the job directory holds."""


@dataclass(frozen=True, slots=True)
class LogChunk:
    """New complete lines of a job's log, and where to continue reading (for following it)."""

    path: str | None
    lines: tuple[str, ...]
    offset: int
    """Byte offset just past the last complete line returned; pass it back to continue."""
    restarted: bool = False
    """The log shrank (truncated or replaced) or jumped ahead: these lines are a fresh tail."""


ProgressCallback = Callable[[int, int, ActionResult], None]


def failure(
    job_id: str | None, action: str, exc: Exception, plan: RecoveryPlan | None = None
) -> ActionResult:
    """An error as a result: refusals (busy, changed, not recoverable) apart from failures."""
    refused = isinstance(exc, LockBusy | JobChanged | NotRecoverable | JobNotFound)
    return ActionResult(
        job_id,
        action,
        Outcome.REFUSED if refused else Outcome.FAILED,
        str(exc),
        plan.from_status if plan else None,
        plan=plan,
        error=type(exc).__name__,
    )
