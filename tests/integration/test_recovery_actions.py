"""recover, force recover and reattach on real jobs: what is written, what is refused, and that
only re-verified processes are ever signalled."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import RunningJob, read_job, wait_for
from logist.core import (
    JobRecoveryManager,
    NotRecoverable,
    Outcome,
    Policy,
    VerdictKind,
)
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

LEFTOVER = ".logist-tmp-job_manifest.json.4194305.0a1b2c3d"
"""A temp file of an atomic write whose writer (an impossible pid) is gone."""
WAIT_FOR_GO = "while [ ! -e go ]; do sleep 0.02; done"
"""A command that runs until the test creates `go` in the job directory."""


@pytest.fixture
def manager(jobs_root: Path) -> JobRecoveryManager:
    return JobRecoveryManager(jobs_root, policy=Policy(stall_after=5.0), operator="tester")


def kill_runner(job: RunningJob) -> None:
    job.proc.kill()
    job.proc.wait()


def test_recovering_a_crashed_job_writes_the_safe_state_with_a_full_record(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    dead = procs.dead_identity()
    job_dir = crashed_job(jobs_root, "c", dead, generation=4)
    before = (job_dir / "job_manifest.json").read_bytes()
    result = manager.recover_crashed_job("c")
    assert (result.outcome, result.from_status, result.to_status) == (
        Outcome.RECOVERED,
        "EXECUTING",
        "PENDING",
    )
    data = read_job(jobs_root, "c")
    assert data["status"] == "PENDING"
    assert data["generation"] == 5
    assert data["recovery"]["crash_count"] == 1
    assert data["recovery"]["last_verdict"] == "crashed"
    assert "owner" not in data and data["last_owner"]["pid"] == dead.pid
    entry = data["history"][-1]
    assert {k: entry[k] for k in ("event", "previous_status", "new_status", "verdict")} == {
        "event": "CRASH_RECOVERY",
        "previous_status": "EXECUTING",
        "new_status": "PENDING",
        "verdict": "crashed",
    }
    assert (entry["operator"], entry["tool"]) == ("tester", "logist-recovery")
    assert entry["reason"] and entry["evidence"]["lock"] == "free"
    assert datetime.fromisoformat(entry["timestamp"]).tzinfo is None
    backups = list((job_dir / ".backups").iterdir())
    assert [b.read_bytes() for b in backups] == [before]
    audit = read_audit(jobs_root)
    assert [(a["action"], a["job_id"], a["result"]) for a in audit] == [
        ("recover", "c", "recovered")
    ]
    assert audit[0]["fingerprint_before"] != audit[0]["fingerprint_after"]
    assert (audit[0]["operator"], audit[0]["verdict"], audit[0]["to_status"]) == (
        "tester",
        "crashed",
        "PENDING",
    )
    assert audit[0]["evidence"]["owner_pid"] == dead.pid
    assert manager.job("c").kind is VerdictKind.IDLE


def test_recovering_twice_is_a_no_op_that_says_why_and_writes_nothing(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    assert manager.recover_crashed_job("c").outcome is Outcome.RECOVERED
    before = tree_state(jobs_root)
    again = manager.recover_crashed_job("c")
    assert again.outcome is Outcome.NOOP and again.ok
    assert "not crashed" in again.message
    assert tree_state(jobs_root) == before


def test_a_plan_applied_after_someone_else_recovered_the_job_is_refused_as_changed(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    plan = manager.plan("c")
    assert JobRecoveryManager(jobs_root).apply(plan).outcome is Outcome.RECOVERED
    before = tree_state(jobs_root)
    stale = manager.apply(plan)
    assert (stale.outcome, stale.error) == (Outcome.REFUSED, "JobChanged")
    assert "re-scan" in stale.message
    assert tree_state(jobs_root) == before


def test_a_plan_for_a_manifest_edited_since_is_refused_and_nothing_is_written(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "c", procs.dead_identity())
    plan = manager.plan("c")
    edit_manifest(job_dir, description="edited by Logist meanwhile")
    before = tree_state(jobs_root)
    result = manager.apply(plan)
    assert (result.outcome, result.error) == (Outcome.REFUSED, "JobChanged")
    assert tree_state(jobs_root) == before


def test_a_plan_whose_job_was_locked_since_is_refused_as_busy(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "c", procs.dead_identity())
    plan = manager.plan("c")
    holder = procs.lock_holder(job_dir / ".lock")
    result = manager.apply(plan)
    assert (result.outcome, result.error) == (Outcome.REFUSED, "LockBusy")
    assert str(holder.pid) in result.message
    assert read_job(jobs_root, "c")["status"] == "EXECUTING"


def test_of_recoverers_racing_on_one_plan_exactly_one_recovers(
    jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    plan = JobRecoveryManager(jobs_root).plan("c")
    racers = 6
    managers = [JobRecoveryManager(jobs_root, operator=f"op{i}") for i in range(racers)]
    start = threading.Barrier(racers)
    results = []

    def race(manager: JobRecoveryManager) -> None:
        start.wait()
        results.append(manager.apply(plan))

    threads = [threading.Thread(target=race, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted((r.outcome, r.error or "") for r in results)
    assert outcomes.count((Outcome.RECOVERED, "")) == 1
    assert {error for outcome, error in outcomes if outcome is not Outcome.RECOVERED} <= {
        "JobChanged",
        "LockBusy",
    }
    assert all(r.outcome in (Outcome.RECOVERED, Outcome.REFUSED) for r in results)
    data = read_job(jobs_root, "c")
    assert [h["event"] for h in data["history"]] == ["CRASH_RECOVERY"]
    assert len(read_audit(jobs_root)) == 1


def test_the_third_crash_of_an_executing_job_asks_for_intervention(
    manager: JobRecoveryManager, jobs_root: Path, start_runner
) -> None:
    landed = []
    for _ in range(3):
        job = start_runner("flaky", "sleep", "60")
        child = job.child_pid
        kill_runner(job)  # first: killed second, it could record the command's death
        os.killpg(child, signal.SIGKILL)
        wait_for(lambda: manager.job("flaky").kind is VerdictKind.CRASHED)
        landed.append(manager.recover_crashed_job("flaky").to_status)
    assert landed == ["PENDING", "PENDING", "INTERVENTION_REQUIRED"]
    assert read_job(jobs_root, "flaky")["recovery"]["crash_count"] == 3


def test_a_running_job_is_never_recovered_even_with_force(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("live", "sleep", "60", heartbeat=1.0)
    for force in (False, True):
        result = manager.recover_crashed_job("live", force=force)
        assert (result.outcome, result.error) == (Outcome.REFUSED, "NotRecoverable")
    assert job.proc.poll() is None
    assert read_job(job.job_dir.parent, "live")["status"] == "EXECUTING"


def test_a_hung_job_needs_force_then_only_its_verified_processes_are_terminated(
    manager: JobRecoveryManager, jobs_root: Path, start_runner, procs: Processes
) -> None:
    bystander = procs.sleeper()
    job = start_runner("hung", "sleep", "60", heartbeat=0.1)
    child = job.child_pid
    job.proc.send_signal(signal.SIGSTOP)
    wait_for(lambda: manager.job("hung").kind is VerdictKind.HUNG)
    refused = manager.recover_crashed_job("hung")
    assert refused.outcome is Outcome.REFUSED and "force" in refused.message
    plan = manager.plan("hung", force=True)
    assert {s.pid for s in plan.signals} == {job.runner_pid, child}
    result = manager.apply(plan)
    assert result.ok, result.message
    assert job.proc.wait(10) != 0
    assert all(liveness(s) is Liveness.DEAD for s in plan.signals)
    assert bystander.poll() is None
    data = read_job(jobs_root, "hung")
    assert data["status"] in ("PENDING", "INTERVENTION_REQUIRED")
    waits = data["status"] == "INTERVENTION_REQUIRED"  # the runner recorded its way out
    assert manager.job("hung").kind is (VerdictKind.WAITING if waits else VerdictKind.IDLE)
    assert any(a["action"] == "recover" and a["job_id"] == "hung" for a in read_audit(jobs_root))


def test_force_recovering_a_detached_job_terminates_its_command_and_resets_it(
    manager: JobRecoveryManager, jobs_root: Path, start_runner
) -> None:
    job = start_runner("det", "sleep", "60")
    child = identity_of(job.child_pid)
    kill_runner(job)
    assert manager.job("det").kind is VerdictKind.DETACHED
    result = manager.recover_crashed_job("det", force=True)
    assert result.outcome is Outcome.RECOVERED, result.message
    assert liveness(child) is Liveness.DEAD
    assert read_job(jobs_root, "det")["status"] == "PENDING"


def test_a_force_plan_made_before_the_job_was_adopted_signals_nothing(
    manager: JobRecoveryManager, jobs_root: Path, start_runner, procs: Processes
) -> None:
    job = start_runner("adopted", "sh", "-c", WAIT_FOR_GO)
    child = job.child_pid
    kill_runner(job)
    plan = manager.plan("adopted", force=True)
    assert [s.pid for s in plan.signals] == [child], plan
    adopted = manager.reattach_to_running_job("adopted")
    procs.adopt_pid(adopted.supervisor_pid)
    result = manager.apply(plan)
    assert (result.outcome, result.error) == (Outcome.REFUSED, "JobChanged")
    assert identity_of(child) is not None
    assert manager.job("adopted").kind is VerdictKind.RUNNING
    (job.job_dir / "go").touch()


def test_reattaching_a_detached_job_adopts_its_command_until_it_ends_with_status_unknown(
    manager: JobRecoveryManager, jobs_root: Path, start_runner, procs: Processes
) -> None:
    job = start_runner("det", "sh", "-c", WAIT_FOR_GO)
    child = job.child_pid
    kill_runner(job)
    assert manager.job("det").kind is VerdictKind.DETACHED
    result = manager.reattach_to_running_job("det")
    procs.adopt_pid(result.supervisor_pid)
    assert (result.mode, result.pid, result.verdict) == ("adopt", child, "running")
    data = read_job(jobs_root, "det")
    assert data["status"] == "EXECUTING"
    assert (data["owner"]["pid"], data["owner"]["child_pid"]) == (result.supervisor_pid, child)
    assert manager.job("det").kind is VerdictKind.RUNNING
    (job.job_dir / "go").touch()
    wait_for(lambda: read_job(jobs_root, "det")["status"] == "INTERVENTION_REQUIRED")
    last = read_job(jobs_root, "det")["history"][-1]
    assert "exit status is unknown" in last["reason"]
    assert any(a["action"] == "reattach" for a in read_audit(jobs_root))


def test_reattaching_a_job_reset_while_its_command_lives_restores_the_active_state(
    manager: JobRecoveryManager, jobs_root: Path, start_runner, procs: Processes
) -> None:
    job = start_runner("reset", "sh", "-c", WAIT_FOR_GO)
    kill_runner(job)
    runner = read_job(jobs_root, "reset")["owner"]
    edit_manifest(job.job_dir, status="PENDING", owner=None, last_owner=runner)
    assert manager.job("reset").kind is VerdictKind.IDLE
    result = manager.reattach_to_running_job("reset")
    procs.adopt_pid(result.supervisor_pid)
    assert read_job(jobs_root, "reset")["status"] == "EXECUTING"
    (job.job_dir / "go").touch()
    wait_for(lambda: read_job(jobs_root, "reset")["status"] == "INTERVENTION_REQUIRED")


def test_reattaching_a_running_job_returns_what_a_watcher_needs(
    manager: JobRecoveryManager, start_runner
) -> None:
    launched = time.monotonic()
    job = start_runner("w", "sleep", "60", heartbeat=1.0)
    wait_for((job.job_dir / "heartbeat").exists)
    result = manager.reattach_to_running_job("w")
    since_launch = time.monotonic() - launched
    assert (result.mode, result.pid, result.verdict) == ("watch", job.runner_pid, "running")
    assert result.log_path == str(job.job_dir / "logs" / "runner.log")
    # no longer than since it was launched (one 10 ms clock tick of slack): psutil's start,
    # from a boot time cut to the second, made it up to 1 s longer
    assert result.uptime_s is not None and 0 <= result.uptime_s <= since_launch + 0.02
    assert result.heartbeat_age_s is not None and result.heartbeat_age_s < 3


def test_reattaching_a_crashed_job_is_refused(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    with pytest.raises(NotRecoverable, match="only running or detached"):
        manager.reattach_to_running_job("c")


@pytest.mark.parametrize("finished_meanwhile", [False, True], ids=["running", "finished"])
def test_a_stopped_runner_whose_job_was_recovered_stops_on_resume_without_writing(
    manager: JobRecoveryManager, jobs_root: Path, start_runner, finished_meanwhile: bool
) -> None:
    job = start_runner("fenced", "sh", "-c", WAIT_FOR_GO, heartbeat=0.1)
    child = identity_of(job.child_pid)
    job.proc.send_signal(signal.SIGSTOP)
    # On a shared filesystem another host's recoverer sees this runner as remote and its flock
    # does not exclude ours. Staged here by the host name (the one fake) and by replacing the
    # lock file, so that the recoverer's lock is not the stopped runner's.
    runner = read_job(jobs_root, "fenced")["owner"]
    edit_manifest(job.job_dir, owner={**runner, "host": OTHER_HOST})
    os.unlink(job.job_dir / ".lock")
    wait_for(lambda: manager.job("fenced").kind is VerdictKind.REMOTE_STALE)
    assert manager.recover_crashed_job("fenced").outcome is Outcome.RECOVERED
    recovered = (job.job_dir / "job_manifest.json").read_bytes()
    if finished_meanwhile:
        (job.job_dir / "go").touch()
        wait_for(lambda: liveness(child) is Liveness.DEAD)
    job.proc.send_signal(signal.SIGCONT)
    job.proc.wait(10)
    assert (job.job_dir / "job_manifest.json").read_bytes() == recovered
    assert read_job(jobs_root, "fenced")["status"] == "PENDING"
    assert liveness(child) is Liveness.DEAD


def test_a_job_in_a_directory_that_refuses_writes_fails_with_permission_denied(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "ro", procs.dead_identity())
    (job_dir / ".backups").mkdir()
    before = (job_dir / "job_manifest.json").read_bytes()
    with unwritable(job_dir, job_dir / ".backups"):
        result = manager.recover_crashed_job("ro")
    assert (result.outcome, result.error) == (Outcome.FAILED, "PermissionDenied")
    assert result.message.startswith("permission denied")
    assert (job_dir / "job_manifest.json").read_bytes() == before
    assert manager.job("ro").kind is VerdictKind.CRASHED


@pytest.mark.parametrize(
    ("status", "safe"),
    [
        ("PROVISIONING", "PENDING"),
        ("RECOVERING", "PENDING"),
        ("HARVESTING", "INTERVENTION_REQUIRED"),
        ("RUNNING", "PENDING"),
        ("REVIEWING", "REVIEW_REQUIRED"),
        ("ATTACHED", "SUSPENDED"),
    ],
)
def test_each_crashed_active_state_is_recovered_to_its_safe_state(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes, status: str, safe: str
) -> None:
    crashed_job(jobs_root, "s", procs.dead_identity(), status=status)
    assert manager.recover_crashed_job("s").to_status == safe
    assert read_job(jobs_root, "s")["status"] == safe


def test_a_corrupt_manifest_is_never_recovered_only_restored(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    job_dir = jobs_root / "bad"
    job_dir.mkdir()
    (job_dir / "job_manifest.json").write_bytes(b'{"status": "EXECUTING", "owner": {')
    before = tree_state(jobs_root)
    for force in (False, True):
        result = manager.recover_crashed_job("bad", force=force)
        assert result.outcome is Outcome.REFUSED
        assert "validate --fix" in result.message
    assert tree_state(jobs_root) == before


def test_a_job_owned_by_another_host_with_a_fresh_heartbeat_is_never_recovered(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    # the only fake: the host name of the recorded owner
    me = current_identity()
    job_dir = crashed_job(jobs_root, "far", me, owner=runner_block(me, host=OTHER_HOST))
    touch(job_dir / "heartbeat")
    assert manager.job("far").kind is VerdictKind.REMOTE
    for force in (False, True):
        assert manager.recover_crashed_job("far", force=force).outcome is Outcome.REFUSED
    assert read_job(jobs_root, "far")["status"] == "EXECUTING"


def test_in_a_root_that_refuses_every_write_actions_fail_as_permission_denied_and_change_nothing(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    (jobs_root / "c" / LEFTOVER).write_bytes(b"{")
    before = tree_state(jobs_root)
    [finding] = [f for f in manager.validate_job_consistency("c") if f.fix is not None]
    with unwritable(jobs_root, jobs_root / "c"):
        recovered = manager.recover_crashed_job("c")
        with pytest.raises(PermissionError):  # the bulk request cannot even be persisted
            manager.perform_bulk_recovery()
    assert (recovered.outcome, recovered.error) == (Outcome.FAILED, "PermissionDenied")
    assert tree_state(jobs_root) == before
    with unwritable(jobs_root, jobs_root / "c"):
        assert manager.fix(finding).outcome is Outcome.FAILED
    assert tree_state(jobs_root) == before
