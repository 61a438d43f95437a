"""Bulk recovery: plans on a frozen list, one guarded recovery each, and the persisted request
that lets an interrupted run be finished.

The request is consent, not input (issue 8): one planted by another user (a 1777 root) or not
written by this tool is refused, `--resume` never escalates beyond what it recorded (each
target's verdict then, force or not), and the CLI resumes as a dry run unless `--apply`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._audit import state_dir
from ._errors import BulkInProgress, JobNotFound, LogistError
from ._manifest import atomic_write_bytes, dumps, now_naive_iso
from ._plans import RecoveryPlan, eligible_for_bulk, plan_recovery
from ._results import ActionResult, ProgressCallback
from ._root import STATE_DIR, validate_job_id
from ._safeio import UnsafeFile, read_regular
from ._scan import Snapshot
from ._verdicts import Policy

BULK_CAP = 100
"""Jobs per bulk run at most (the CLI's `--max` default and the console's batch)."""
BULK_REQUEST = "bulk-request.json"
REQUEST_TOOL = "logist-recovery"
REQUEST_CAP = 16 * 1024 * 1024


class BulkRequestRefused(LogistError):
    """A persisted bulk request this tool will not act on (foreign owner or writer)."""


def plan_bulk(
    snapshot: Snapshot,
    policy: Policy,
    job_ids: Sequence[str] | None,
    *,
    force: bool,
    include_inferred: bool,
    max_jobs: int,
) -> tuple[list[RecoveryPlan], int]:
    """Plans for the eligible jobs (frozen list), capped; returns (plans, how many over cap)."""
    if job_ids is None:
        candidates = [
            j
            for j in snapshot.triage()
            if eligible_for_bulk(j.verdict.kind, include_inferred=include_inferred, force=force)
        ]
    else:
        candidates = []
        for job_id in job_ids:
            validate_job_id(job_id)
            if job_id not in snapshot.jobs:
                raise JobNotFound(job_id)
            candidates.append(snapshot.jobs[job_id])
    plans = [plan_recovery(j, policy, force=force) for j in candidates]
    return plans[:max_jobs], max(0, len(plans) - max_jobs)


def run_bulk(
    root: Path,
    operator: str,
    plans: Sequence[RecoveryPlan],
    apply: Callable[[RecoveryPlan], ActionResult],
    progress: ProgressCallback | None,
    *,
    force: bool,
    resuming: bool,
) -> tuple[ActionResult, ...]:
    """Persist the request, apply each plan (continuing past failures), clear the request."""
    with _bulk_lock(root):
        if not resuming and request_path(root).exists():
            raise BulkInProgress(
                "an interrupted bulk run is pending; finish it first (bulk-recover --resume)"
            )
        _save_request(root, operator, plans, force)
        results = []
        for done, plan in enumerate(plans, 1):
            result = apply(plan)
            results.append(result)
            if progress is not None:
                progress(done, len(plans), result)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(request_path(root))
    return tuple(results)


def request_path(root: Path) -> Path:
    return root / STATE_DIR / BULK_REQUEST


def load_request(root: Path) -> dict[str, Any] | None:
    """The pending request, only when this user's tool wrote it; BulkRequestRefused otherwise."""
    path = request_path(root)
    try:
        raw = read_regular(path, REQUEST_CAP)
        owner = os.lstat(path).st_uid
    except FileNotFoundError:
        return None
    except (OSError, UnsafeFile) as exc:
        raise BulkRequestRefused(f"the pending bulk request cannot be read safely: {exc}") from exc
    if owner != os.geteuid():
        raise BulkRequestRefused(
            f"{path} belongs to uid {owner}, not to you (uid {os.geteuid()}): not acted on; "
            "remove it if you did not start that run"
        )
    try:
        request = json.loads(raw)
    except ValueError as exc:
        raise BulkRequestRefused(f"{path} is not valid JSON: not acted on") from exc
    if not isinstance(request, dict) or request.get("tool") != REQUEST_TOOL:
        raise BulkRequestRefused(f"{path} was not written by this tool: not acted on")
    return request


def resume_plans(request: dict[str, Any], snapshot: Snapshot, policy: Policy) -> list[RecoveryPlan]:
    """Fresh plans for the recorded targets, never beyond what the request recorded: force
    only if it was forced, and a job whose verdict differs from the recorded one is refused."""
    force = request.get("force") is True
    verdicts = request.get("verdicts")
    verdicts = verdicts if isinstance(verdicts, dict) else {}
    plans = []
    for job_id in request.get("targets", []):
        if not isinstance(job_id, str) or job_id not in snapshot.jobs:
            continue
        plan = plan_recovery(snapshot.jobs[job_id], policy, force=force)
        recorded = verdicts.get(job_id)
        if plan.allowed and str(plan.verdict) != recorded:
            plan = replace(
                plan,
                allowed=False,
                refusal=f"job was {recorded} when the bulk run was requested and is "
                f"{plan.verdict} now: not resumed (start a new run to act on it)",
            )
        plans.append(plan)
    return plans


def _save_request(root: Path, operator: str, plans: Sequence[RecoveryPlan], force: bool) -> None:
    payload = {
        "tool": REQUEST_TOOL,
        "created_at": now_naive_iso(),
        "operator": operator,
        "force": force,
        "targets": [p.job_id for p in plans],
        "verdicts": {p.job_id: str(p.verdict) for p in plans},
    }
    atomic_write_bytes(state_dir(root) / BULK_REQUEST, dumps(payload))


@contextlib.contextmanager
def _bulk_lock(root: Path) -> Iterator[None]:
    """One bulk run at a time per root: they share the persisted request."""
    from filelock import FileLock, Timeout  # here: 18 ms of import the reading commands skip

    lock = FileLock(str(state_dir(root) / "bulk.lock"), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise BulkInProgress("another bulk run is in progress on this root") from exc
    try:
        yield
    finally:
        lock.release()


__all__ = ["BULK_CAP", "BulkRequestRefused"]
