"""Recovery plans: what an action would do, decided purely from a job's state.

A plan is shown to the operator before anything happens, and applied later against fresh state:
it carries the fingerprint it was made from and the exact processes it may signal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from ._identity import ProcessIdentity, identity_from_record
from ._manifest import Fingerprint
from ._scan import JobState
from ._states import safe_state
from ._verdicts import Policy, VerdictKind

PROVEN_KINDS = frozenset({VerdictKind.CRASHED})
INFERRED_KINDS = frozenset({VerdictKind.STALLED, VerdictKind.REMOTE_STALE})
FORCE_KINDS = frozenset({VerdictKind.HUNG, VerdictKind.DETACHED})


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    """What recovering one job would do."""

    job_id: str
    verdict: VerdictKind
    reason: str
    from_status: str | None
    to_status: str | None
    allowed: bool
    refusal: str | None
    force: bool
    fingerprint: Fingerprint | None
    generation: int
    signals: tuple[ProcessIdentity, ...] = ()
    """Processes force would terminate, each re-verified right before it is signalled."""
    commands: tuple[str, ...] = ()
    """The command line of each of `signals` (same order), as the owner record states it, so
    the operator sees what a pid is before agreeing to terminate it."""
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "allowed": self.allowed,
            "refusal": self.refusal,
            "force": self.force,
            "signals": [
                {**s.to_dict(), "command": command}
                for s, command in zip(self.signals, self.commands, strict=False)
            ],
            "evidence": dict(self.evidence),
        }


def plan_recovery(state: JobState, policy: Policy, *, force: bool = False) -> RecoveryPlan:
    kind = state.verdict.kind
    facts = state.facts

    def plan(
        allowed: bool,
        refusal: str | None = None,
        to_status: str | None = None,
        signals: tuple[tuple[ProcessIdentity, str], ...] = (),
    ) -> RecoveryPlan:
        return RecoveryPlan(
            job_id=state.job_id,
            verdict=kind,
            reason=state.verdict.reason,
            from_status=facts.status,
            to_status=to_status,
            allowed=allowed,
            refusal=refusal,
            force=force,
            fingerprint=state.fingerprint,
            generation=facts.generation,
            signals=tuple(identity for identity, _ in signals),
            commands=tuple(command for _, command in signals),
            evidence=dict(state.verdict.evidence),
        )

    if not state.location.writable:
        return plan(False, "job leads outside the jobs root: never written to")
    if kind in PROVEN_KINDS or kind in INFERRED_KINDS:
        assert facts.status is not None
        return plan(
            True, to_status=safe_state(facts.status, facts.crash_count + 1, policy.retry_cap)
        )
    if kind in FORCE_KINDS:
        if not force:
            return plan(
                False, f"job is {kind}: its processes are alive; use force to terminate them"
            )
        assert facts.status is not None
        command = _command_line(facts.owner)
        signals = tuple(
            (identity, shown)
            for identity, shown in (
                (
                    identity_from_record(facts.owner) if kind is VerdictKind.HUNG else None,
                    f"logist run (the supervisor of: {command})",
                ),
                (identity_from_record(facts.owner, "child_pid", "child_start_token"), command),
            )
            if identity is not None
        )
        return plan(
            True,
            to_status=safe_state(facts.status, facts.crash_count + 1, policy.retry_cap),
            signals=signals,
        )
    refusals = {
        VerdictKind.RUNNING: "job is running: its owner is alive (reattach to watch it)",
        VerdictKind.UNVERIFIED: "job may still be running: recent activity, no owner to check",
        VerdictKind.SUSPECT: "evidence is contradictory: an operator must decide",
        VerdictKind.REMOTE: "job is owned by another host with a fresh heartbeat",
        VerdictKind.IDLE: "job is not crashed (nothing to recover)",
        VerdictKind.WAITING: "job waits for a person, not for recovery (nothing to recover)",
        VerdictKind.DONE: "job has finished (nothing to recover)",
        VerdictKind.CORRUPT: "manifest is unreadable: restore it from a backup (validate --fix)",
    }
    return plan(False, refusals.get(kind, f"job is {kind}"))


def _command_line(record: dict[str, Any] | None) -> str:
    """The supervised command as the owner record has it (an argv list, or a string)."""
    command = None if record is None else record.get("command")
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        return shlex.join(command)
    return command if isinstance(command, str) and command else "(command not recorded)"


def eligible_for_bulk(kind: VerdictKind, *, include_inferred: bool, force: bool) -> bool:
    return (
        kind in PROVEN_KINDS
        or (include_inferred and kind in INFERRED_KINDS)
        or (force and kind in FORCE_KINDS)
    )
