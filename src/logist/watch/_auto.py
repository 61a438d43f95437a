"""Auto-recovery policy: which crashed jobs the watch recovers now, and the storm brake.

Pure decisions on plain data (no I/O): the service feeds in what a pass saw and acts on the
answer through the manager's guarded recover path, like a person would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from logist.core import VerdictKind


class AutoMode(StrEnum):
    OFF = "off"
    PROVEN = "proven"
    """Only proven crashes (owner dead, lock free, no live child)."""
    INFERRED = "inferred"
    """Also stalled and remote-stale jobs (their thresholds are in the verdict already)."""


AUTO_KINDS = {
    AutoMode.OFF: frozenset(),
    AutoMode.PROVEN: frozenset({VerdictKind.CRASHED}),
    AutoMode.INFERRED: frozenset(
        {VerdictKind.CRASHED, VerdictKind.STALLED, VerdictKind.REMOTE_STALE}
    ),
}


@dataclass(frozen=True, slots=True)
class AutoPolicy:
    mode: AutoMode = AutoMode.OFF
    max_per_minute: int = 100
    """0: no rate limit."""
    backoff_s: float = 10.0
    """After a failed attempt on a job: wait this, doubled per further failure."""
    backoff_max_s: float = 600.0
    brake_share: float = 0.5
    """Brake when more than this share of active jobs turns crashed in one pass; 0: no brake."""
    brake_min_jobs: int = 20


@dataclass(frozen=True, slots=True)
class BrakeCheck:
    trips: bool
    reason: str


def brake_check(newly_crashed: int, active: int, policy: AutoPolicy) -> BrakeCheck:
    """Kubernetes' unhealthy-zone lesson: a mass death is more likely the host, the disk or the
    network than the jobs; re-running everything at once would make it worse."""
    if policy.brake_share <= 0 or newly_crashed < policy.brake_min_jobs:
        return BrakeCheck(False, "")
    if newly_crashed <= policy.brake_share * max(active, 1):
        return BrakeCheck(False, "")
    return BrakeCheck(
        True,
        f"{newly_crashed} of {active} active jobs turned crashed in one pass "
        f"(over {policy.brake_share:.0%}, at least {policy.brake_min_jobs})",
    )


@dataclass(slots=True)
class AutoState:
    """What the policy remembers between passes (in memory: a restart starts afresh)."""

    failures: dict[str, int] = field(default_factory=dict)
    not_before: dict[str, float] = field(default_factory=dict)
    recent: deque[float] = field(default_factory=deque)
    """Monotonic times of the attempts of the last minute."""

    def choose(self, candidates: list[str], now: float, policy: AutoPolicy) -> list[str]:
        """The candidates to attempt now, in order, within backoff and the rate limit."""
        while self.recent and now - self.recent[0] >= 60.0:
            self.recent.popleft()
        room = (
            len(candidates)
            if policy.max_per_minute <= 0
            else policy.max_per_minute - len(self.recent)
        )
        chosen = []
        for job_id in candidates:
            if len(chosen) >= room:
                break
            if self.not_before.get(job_id, 0.0) > now:
                continue
            chosen.append(job_id)
        self.recent.extend([now] * len(chosen))
        return chosen

    def succeeded(self, job_id: str) -> None:
        self.failures.pop(job_id, None)
        self.not_before.pop(job_id, None)

    def failed(self, job_id: str, now: float, policy: AutoPolicy) -> float:
        """Back off this job; returns the delay."""
        count = self.failures.get(job_id, 0) + 1
        self.failures[job_id] = count
        delay = min(policy.backoff_max_s, policy.backoff_s * 2 ** (count - 1))
        self.not_before[job_id] = now + delay
        return delay
