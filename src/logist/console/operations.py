"""What each action key does, as plain functions run in worker threads.

An action is two steps: `propose_*` asks the manager for fresh plans and describes them for the
confirmation (nothing changes yet); `carry_out` applies exactly the confirmed, frozen plans,
and the manager re-checks each job against fresh state before touching it. Every outcome,
refusals included, comes back as an `ActionResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from logist.core import (
    BULK_CAP,
    Action,
    ActionResult,
    Finding,
    JobRecoveryManager,
    LogistError,
    Outcome,
    ReattachResult,
    RecoveryPlan,
    VerdictKind,
)

from .rows import finding_key
from .text import evidence_items, safe

TYPED_CONFIRM_OVER = 20
"""Bulk actions on more jobs than this ask for the number of jobs to be typed."""

Progress = Callable[[int, int, ActionResult], None]


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a confirmation: a job, its change, why, the evidence, what gets signalled."""

    job_id: str | None
    change: str
    reason: str
    evidence: tuple[tuple[str, str], ...] = ()
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Proposal:
    """Frozen targets of one action, as shown in the confirmation and then applied."""

    kind: Action
    """RECOVER, ADOPT or FIX."""
    title: str
    verb: str
    items: tuple[Item, ...]
    skipped: tuple[tuple[str | None, str], ...] = ()
    """(job id, why) for targets that will not be acted on."""
    plans: tuple[RecoveryPlan, ...] = ()
    findings: tuple[Finding, ...] = ()
    over_cap: int = 0

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def typed_count(self) -> bool:
        return self.count > TYPED_CONFIRM_OVER

    @property
    def signals(self) -> bool:
        return any(item.signals for item in self.items)


def plan_item(plan: RecoveryPlan) -> Item:
    owner, child = plan.evidence.get("owner_pid"), plan.evidence.get("child_pid")
    signals = []
    commands = plan.commands or ("(command not recorded)",) * len(plan.signals)
    for target, command in zip(plan.signals, commands, strict=False):
        role = "runner" if target.pid == owner else "command" if target.pid == child else "process"
        signals.append(
            f"pid {target.pid} ({role}, start token {target.start_token}): {safe(command)}"
        )
    return Item(
        plan.job_id,
        f"{safe(plan.from_status)} -> {safe(plan.to_status)}",
        f"{plan.verdict}: {safe(plan.reason)}",
        tuple(evidence_items(plan.evidence)),
        tuple(signals),
    )


def _recovery(
    plans: Sequence[RecoveryPlan], skipped: list[tuple[str | None, str]], over: int, bulk: bool
) -> Proposal:
    allowed = [p for p in plans if p.allowed]
    skipped += [(p.job_id, p.refusal or "not recoverable") for p in plans if not p.allowed]
    if bulk and len(allowed) > BULK_CAP:  # marked jobs are capped like the backend's own pick
        over += len(allowed) - BULK_CAP
        allowed = allowed[:BULK_CAP]
    n = len(allowed)
    noun = "job" if n == 1 and not over else "jobs"
    verb = "Force recover" if any(p.signals for p in allowed) else "Recover"
    counted = f"{n} of {n + over}" if over else str(n)
    return Proposal(
        Action.RECOVER,
        f"{'Bulk: ' if bulk else ''}{verb} {counted} {noun}",
        f"{verb} {n} {noun}",
        tuple(plan_item(p) for p in allowed),
        tuple(skipped),
        plans=tuple(allowed),
        over_cap=over,
    )


def propose_recovery(
    manager: JobRecoveryManager, job_ids: Iterable[str], *, bulk: bool = False
) -> Proposal:
    """Fresh plans for these jobs. Hung and detached jobs get a force plan: the confirmation
    lists the exact processes it would terminate."""
    plans, skipped = [], []
    for job_id in job_ids:
        try:
            plans.append(manager.plan(job_id, force=True))
        except LogistError as exc:
            skipped.append((job_id, str(exc)))
    return _recovery(plans, skipped, 0, bulk=bulk)


def propose_bulk(manager: JobRecoveryManager, job_ids: Sequence[str] | None) -> Proposal:
    """Marked jobs (any verdict, force for hung/detached), or else every proven crash."""
    if job_ids:
        return propose_recovery(manager, job_ids, bulk=True)
    plans, over = manager.plan_bulk(None, max_jobs=BULK_CAP)
    return _recovery(plans, [], over, bulk=True)


def propose_adopt(manager: JobRecoveryManager, job_id: str) -> Proposal:
    """Adopting starts a supervisor that takes the job over: it is confirmed like a recovery."""
    state = manager.job(job_id)
    kind = state.verdict.kind
    if kind not in (VerdictKind.DETACHED, VerdictKind.IDLE, VerdictKind.WAITING):
        why = f"job is {kind} ({state.verdict.reason}); only running or detached jobs reattach"
        return Proposal(Action.ADOPT, "Reattach", "Adopt", (), ((job_id, why),))
    change = (
        f"{safe(state.facts.status)} -> supervised by a new runner (no process is signalled)"
        if kind is VerdictKind.DETACHED
        else f"{safe(state.facts.status)} -> back to its active state, only if its last command "
        "still runs (refused otherwise)"
    )
    item = Item(
        job_id,
        change,
        f"{kind}: {safe(state.verdict.reason)}",
        tuple(evidence_items(dict(state.verdict.evidence))),
    )
    return Proposal(Action.ADOPT, "Reattach: adopt the job's running command", "Adopt", (item,))


def propose_fix(
    manager: JobRecoveryManager, job_ids: Iterable[str | None], only_key: str | None
) -> Proposal:
    """Findings with an automatic fix, from a full validation of these jobs (None: the root)."""
    fixable, skipped = [], []
    for job_id in job_ids:
        try:
            findings = manager.validate_job_consistency(job_id)
        except LogistError as exc:
            skipped.append((job_id, str(exc)))
            continue
        if only_key is not None:
            findings = [f for f in findings if finding_key(f) == only_key]
        fixes = [f for f in findings if f.fix is not None]
        if not fixes:
            why = findings[0].recommendation if findings else "no findings"
            skipped.append((job_id, f"no automatic fix: {why}"))
        fixable += fixes
    n = len(fixable)
    return Proposal(
        Action.FIX,
        f"Fix {n} finding{'s' if n != 1 else ''}",
        f"Fix {n}",
        tuple(
            Item(f.job_id, f"{f.fix}: {safe(f.recommendation)}", f"{f.code}: {safe(f.message)}")
            for f in fixable
        ),
        tuple(skipped),
        findings=tuple(fixable),
    )


def carry_out(
    manager: JobRecoveryManager, proposal: Proposal, progress: Progress
) -> list[ActionResult]:
    """Apply a confirmed recovery or fix on its frozen targets; one result per target."""
    if proposal.kind is Action.RECOVER:
        if len(proposal.plans) == 1:
            result = manager.apply(proposal.plans[0])
            progress(1, 1, result)
            return [result]
        return list(manager.perform_bulk_recovery(plans=proposal.plans, progress=progress).results)
    results = []
    for done, finding in enumerate(proposal.findings, 1):
        result = manager.fix(finding)
        results.append(result)
        progress(done, len(proposal.findings), result)
    return results


def reattach(
    manager: JobRecoveryManager, job_id: str
) -> tuple[ActionResult, ReattachResult | None]:
    """Watch a running job or adopt a detached one; refusals become results, not exceptions."""
    try:
        attached = manager.reattach_to_running_job(job_id)
    except LogistError as exc:
        return (
            ActionResult(job_id, "reattach", Outcome.REFUSED, str(exc), error=type(exc).__name__),
            None,
        )
    outcome = Outcome.ADOPTED if attached.mode == "adopt" else Outcome.WATCHING
    return ActionResult(job_id, "reattach", outcome, attached.message), attached
