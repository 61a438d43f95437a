"""Bulk recovery on a frozen list: proven-only by default, more only when asked, a cap, one
result per job, progress, and a persisted request that survives an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import read_job, write_job
from logist.core import ActionResult, BulkInProgress, JobRecoveryManager, Outcome, Policy
from logist.core._audit import read_audit
from logist.core._identity import Liveness, current_identity, identity_of, liveness
from staging import (
    OTHER_HOST,
    Processes,
    crashed_job,
    edit_manifest,
    runner_block,
    touch,
    tree_state,
    unwritable,
)

CRASHED = {"crash-a", "crash-b", "crash-c"}
INFERRED = {"stalled", "remote-stale"}
FORCED = {"hung", "detached"}
UNTOUCHED = {"running-legacy", "idle", "unverified"}


@pytest.fixture
def root(jobs_root: Path, procs: Processes) -> Path:
    """One job of each kind bulk recovery must tell apart, staged with real processes."""
    dead = procs.dead_identity()
    for job_id in CRASHED:
        crashed_job(jobs_root, job_id, dead)
    touch(write_job(jobs_root, "stalled", status="EXECUTING") / "job_manifest.json", age=600)
    # remote-stale: the only fake is the host name of the recorded runner
    stale = runner_block(current_identity(), host=OTHER_HOST, started_ago=600)
    touch(write_job(jobs_root, "remote-stale", status="EXECUTING", owner=stale) / "heartbeat", 600)
    hung = jobs_root / "hung"
    hung.mkdir()
    owner = identity_of(procs.lock_holder(hung / ".lock").pid)
    assert owner is not None
    write_job(jobs_root, "hung", status="EXECUTING", owner=runner_block(owner, started_ago=600))
    child = identity_of(procs.sleeper().pid)
    assert child is not None
    write_job(jobs_root, "detached", status="EXECUTING", owner=runner_block(dead, child))
    legacy = write_job(jobs_root, "running-legacy", status="EXECUTING")
    edit_manifest(legacy, process_id=procs.lock_holder(legacy / ".lock").pid)
    write_job(jobs_root, "idle", status="PENDING")
    write_job(jobs_root, "unverified", status="EXECUTING")
    return jobs_root


@pytest.fixture
def manager(root: Path) -> JobRecoveryManager:
    return JobRecoveryManager(root, policy=Policy(stall_after=60))


def recovered(result_set: tuple[ActionResult, ...]) -> set[str | None]:
    return {r.job_id for r in result_set if r.outcome is Outcome.RECOVERED}


def statuses(root: Path, job_ids: set[str]) -> set[str]:
    return {read_job(root, job_id)["status"] for job_id in job_ids}


def test_by_default_only_proven_crashes_are_recovered(
    manager: JobRecoveryManager, root: Path
) -> None:
    bulk = manager.perform_bulk_recovery()
    assert set(bulk.targets) == CRASHED
    assert recovered(bulk.results) == CRASHED and bulk.ok
    assert statuses(root, CRASHED) == {"PENDING"}
    assert statuses(root, INFERRED | FORCED | {"running-legacy", "unverified"}) == {"EXECUTING"}
    assert {a["job_id"] for a in read_audit(root)} == CRASHED


def test_include_inferred_adds_stalled_and_remote_stale_jobs(manager: JobRecoveryManager) -> None:
    bulk = manager.perform_bulk_recovery(include_inferred=True)
    assert recovered(bulk.results) == CRASHED | INFERRED


def test_force_adds_hung_and_detached_jobs_and_terminates_their_verified_processes(
    manager: JobRecoveryManager, root: Path
) -> None:
    hung_owner = manager.plan("hung", force=True).signals
    detached_child = manager.plan("detached", force=True).signals
    bulk = manager.perform_bulk_recovery(force=True)
    assert recovered(bulk.results) == CRASHED | FORCED, [r.message for r in bulk.results]
    assert all(liveness(p) is Liveness.DEAD for p in (*hung_owner, *detached_child))
    assert statuses(root, FORCED) == {"PENDING"}
    assert statuses(root, INFERRED) == {"EXECUTING"}


def test_a_cap_limits_the_batch_and_says_how_many_were_left(
    manager: JobRecoveryManager, root: Path
) -> None:
    bulk = manager.perform_bulk_recovery(max_jobs=2)
    assert (len(bulk.results), bulk.skipped_over_cap) == (2, 1)
    assert len(recovered(bulk.results)) == 2
    assert sorted(statuses(root, CRASHED)) == ["EXECUTING", "PENDING"]


def test_a_dry_run_plans_every_target_and_writes_nothing(
    manager: JobRecoveryManager, root: Path
) -> None:
    before = tree_state(root)
    bulk = manager.perform_bulk_recovery(force=True, include_inferred=True, dry_run=True)
    assert bulk.dry_run
    assert {r.job_id: r.outcome for r in bulk.results} == dict.fromkeys(
        CRASHED | INFERRED | FORCED, Outcome.PLANNED
    )
    assert tree_state(root) == before


def test_one_failing_job_does_not_stop_the_others_and_each_gets_its_result(
    manager: JobRecoveryManager, root: Path
) -> None:
    (root / "crash-b" / ".backups").mkdir()
    with unwritable(root / "crash-b", root / "crash-b" / ".backups"):
        bulk = manager.perform_bulk_recovery()
    outcomes = {r.job_id: (r.outcome, r.error) for r in bulk.results}
    assert outcomes == {
        "crash-a": (Outcome.RECOVERED, None),
        "crash-b": (Outcome.FAILED, "PermissionDenied"),
        "crash-c": (Outcome.RECOVERED, None),
    }
    assert not bulk.ok


def test_progress_is_reported_once_per_job_in_order(manager: JobRecoveryManager) -> None:
    seen: list[tuple[int, int, str | None]] = []
    bulk = manager.perform_bulk_recovery(progress=lambda d, t, r: seen.append((d, t, r.job_id)))
    assert seen == [(i, 3, r.job_id) for i, r in enumerate(bulk.results, 1)]


def test_bulk_acts_on_its_frozen_plans_and_refuses_a_job_changed_since(
    manager: JobRecoveryManager, root: Path
) -> None:
    plans, _over = manager.plan_bulk()
    edit_manifest(root / "crash-b", description="touched by Logist after the plan")
    bulk = manager.perform_bulk_recovery(plans=plans)
    outcomes = {r.job_id: (r.outcome, r.error) for r in bulk.results}
    assert outcomes["crash-b"] == (Outcome.REFUSED, "JobChanged")
    assert {outcomes["crash-a"][0], outcomes["crash-c"][0]} == {Outcome.RECOVERED}


def interrupt_after_the_first_job(manager: JobRecoveryManager) -> None:
    """A bulk run killed (here: Ctrl-C) after its first job, leaving its request behind."""

    def interrupt(done: int, _total: int, _result: ActionResult) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        manager.perform_bulk_recovery(progress=interrupt)


def test_an_interrupted_bulk_run_is_persisted_and_resumed_to_the_end(
    manager: JobRecoveryManager, root: Path
) -> None:
    interrupt_after_the_first_job(manager)
    request = json.loads((root / ".logist" / "bulk-request.json").read_text())
    assert set(request["targets"]) == CRASHED
    assert len(statuses(root, CRASHED)) == 2  # one recovered, the rest not yet
    later = JobRecoveryManager(root)
    assert later.pending_bulk_request() == request
    resumed = later.resume_bulk_recovery()
    assert resumed is not None and resumed.ok
    assert resumed.counts() == {"recovered": 2, "no-op": 1}
    assert statuses(root, CRASHED) == {"PENDING"}
    assert not (root / ".logist" / "bulk-request.json").exists()
    assert later.resume_bulk_recovery() is None


def test_a_second_bulk_run_is_refused_while_one_is_in_progress(
    manager: JobRecoveryManager, root: Path
) -> None:
    other = JobRecoveryManager(root)
    refusals: list[str] = []

    def start_another(done: int, _total: int, _result: ActionResult) -> None:
        if done == 1:
            with pytest.raises(BulkInProgress, match="in progress") as caught:
                other.perform_bulk_recovery()
            refusals.append(str(caught.value))

    result = manager.perform_bulk_recovery(progress=start_another)
    assert result.ok and refusals
    assert statuses(root, CRASHED) == {"PENDING"}


def test_a_new_bulk_run_is_refused_until_an_interrupted_one_is_resumed(
    manager: JobRecoveryManager, root: Path
) -> None:
    interrupt_after_the_first_job(manager)
    pending = (root / ".logist" / "bulk-request.json").read_bytes()
    with pytest.raises(BulkInProgress, match="--resume"):
        JobRecoveryManager(root).perform_bulk_recovery(include_inferred=True)
    assert (root / ".logist" / "bulk-request.json").read_bytes() == pending
    assert JobRecoveryManager(root).resume_bulk_recovery() is not None
