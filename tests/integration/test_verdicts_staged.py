"""Every row of the verdict table (DESIGN section 4) staged with real processes and real locks.

The only fake is the host name of a runner on another machine (remote, remote-stale).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, RunningJob, read_job, wait_for, write_job
from corpus import logist_core_manifest
from logist.core import JobRecoveryManager, Outcome, Policy, VerdictKind
from logist.core._identity import identity_of
from staging import OTHER_HOST, Processes, edit_manifest, runner_block, touch


@pytest.fixture
def manager(jobs_root: Path) -> JobRecoveryManager:
    return JobRecoveryManager(jobs_root, policy=Policy(stall_after=5.0))


def job_runner(job: RunningJob) -> dict:
    return read_job(job.job_dir.parent, job.job_id)["owner"]


def kill_runner_and_command(job: RunningJob) -> None:
    child = job.child_pid
    job.proc.kill()  # the runner first: killed second, it could record the command's death
    job.proc.wait()
    os.killpg(child, signal.SIGKILL)


def test_running_a_live_runner_with_a_fresh_heartbeat(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("r", "sleep", "60", heartbeat=1.0)
    state = manager.job("r")
    assert state.kind is VerdictKind.RUNNING
    assert state.verdict.evidence["owner_pid"] == job.runner_pid
    assert state.verdict.evidence["lock"] == "held"


def test_crashed_runner_and_command_killed(manager: JobRecoveryManager, start_runner) -> None:
    kill_runner_and_command(start_runner("c", "sleep", "60"))
    state = wait_for(lambda: (s := manager.job("c")).kind is VerdictKind.CRASHED and s)
    assert state.verdict.proven
    assert state.verdict.evidence["lock"] == "free"


def test_hung_a_stopped_runner_once_the_heartbeat_lease_has_passed(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("h", "sleep", "60", heartbeat=0.1)
    wait_for((job.job_dir / "heartbeat").exists)
    job.proc.send_signal(signal.SIGSTOP)
    state = wait_for(lambda: (s := manager.job("h")).kind is VerdictKind.HUNG and s)
    assert state.verdict.evidence["heartbeat_age_s"] >= 0.3
    assert state.verdict.evidence["owner_pid"] == job.runner_pid


def test_detached_the_runner_killed_while_its_command_lives(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("d", "sleep", "60")
    child = job.child_pid
    job.proc.kill()
    job.proc.wait()
    state = manager.job("d")
    assert state.kind is VerdictKind.DETACHED
    assert (state.verdict.evidence["child_pid"], state.verdict.evidence["child"]) == (
        child,
        "alive",
    )


def test_stalled_an_unowned_executing_job_quiet_for_longer_than_stall_after(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    job_dir = write_job(jobs_root, "s", status="EXECUTING")
    touch(job_dir / "job_manifest.json", age=60)
    assert manager.job("s").kind is VerdictKind.STALLED


def test_unverified_an_unowned_executing_job_with_recent_activity(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    write_job(jobs_root, "u", status="EXECUTING")
    assert manager.job("u").kind is VerdictKind.UNVERIFIED


def test_a_fresh_log_line_counts_as_activity_of_an_unowned_job(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    job_dir = write_job(jobs_root, "u", status="EXECUTING")
    touch(job_dir / "job_manifest.json", age=60)
    (job_dir / "logs").mkdir()
    touch(job_dir / "logs" / "step.log")
    assert manager.job("u").kind is VerdictKind.UNVERIFIED


def test_suspect_a_legacy_logist_pid_that_exists_but_cannot_be_verified(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    write_job(jobs_root, "l", status="EXECUTING", process_id=procs.sleeper().pid)
    assert manager.job("l").kind is VerdictKind.SUSPECT


def test_suspect_the_lock_held_by_a_process_that_is_not_the_dead_owner(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = write_job(
        jobs_root, "x", status="EXECUTING", owner=runner_block(procs.dead_identity())
    )
    holder = procs.lock_holder(job_dir / ".lock")
    state = manager.job("x")
    assert state.kind is VerdictKind.SUSPECT
    assert state.verdict.evidence["lock_holders"] == [holder.pid]


def test_running_while_a_killed_owner_is_still_exiting_and_holds_its_lock(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    """A SIGKILLed runner's main thread turns Z before its heartbeat thread has let go of the
    lock: neither "dead owner, lock held by someone else" (suspect) nor crashed yet."""
    job_dir = jobs_root / "z"
    job_dir.mkdir()
    proc = procs.lock_holder_whose_leader_exited(job_dir / ".lock")
    owner = identity_of(proc.pid)
    assert owner is not None
    write_job(jobs_root, "z", status="EXECUTING", owner=runner_block(owner))
    touch(job_dir / "heartbeat")
    assert manager.job("z").kind is VerdictKind.RUNNING
    proc.kill()
    state = wait_for(lambda: (s := manager.job("z")).kind is VerdictKind.CRASHED and s)
    assert state.verdict.evidence["lock"] == "free"


def test_suspect_the_owner_alive_but_the_lock_free(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    owner = identity_of(procs.sleeper().pid)
    assert owner is not None
    job_dir = write_job(jobs_root, "f", status="EXECUTING", owner=runner_block(owner))
    touch(job_dir / "heartbeat")
    assert manager.job("f").kind is VerdictKind.SUSPECT


def test_remote_a_runner_on_another_host_with_a_fresh_heartbeat(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("rem", "sleep", "60", heartbeat=1.0)
    # The only fake: the runner is real and keeps beating; only its host name says "elsewhere".
    edit_manifest(job.job_dir, owner={**job_runner(job), "host": OTHER_HOST})
    state = manager.job("rem")
    assert state.kind is VerdictKind.REMOTE
    assert state.verdict.evidence["owner_host"] == OTHER_HOST


def test_remote_stale_a_runner_on_another_host_whose_heartbeat_lease_passed(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("rs", "sleep", "60", heartbeat=0.1)
    # The only fake: the host name. The heartbeat really stops: the runner is stopped.
    edit_manifest(job.job_dir, owner={**job_runner(job), "host": OTHER_HOST})
    job.proc.send_signal(signal.SIGSTOP)
    wait_for(lambda: manager.job("rs").kind is VerdictKind.REMOTE_STALE)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("PENDING", VerdictKind.IDLE),
        ("DRAFT", VerdictKind.IDLE),
        ("INTERVENTION_REQUIRED", VerdictKind.WAITING),
        ("DETACHED", VerdictKind.IDLE),
    ],
)
def test_idle_a_resting_job_even_with_a_dead_runner_recorded(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes, status: str, kind: VerdictKind
) -> None:
    write_job(jobs_root, "i", status=status, owner=runner_block(procs.dead_identity()))
    assert manager.job("i").kind is kind


@pytest.mark.parametrize("status", ["SUCCESS", "CANCELED", "FAILED"])
def test_done_a_terminal_job(manager: JobRecoveryManager, jobs_root: Path, status: str) -> None:
    write_job(jobs_root, "t", status=status)
    assert manager.job("t").kind is VerdictKind.DONE


def test_corrupt_an_unreadable_manifest_of_a_job_whose_runner_is_alive(
    manager: JobRecoveryManager, start_runner
) -> None:
    job = start_runner("bad", "sleep", "60")
    (job.job_dir / "job_manifest.json").write_bytes(b'{"status": "EXECU')
    state = manager.job("bad")
    assert state.kind is VerdictKind.CORRUPT
    assert "not valid JSON" in state.verdict.reason


def test_a_recycled_pid_is_not_the_owner_the_job_is_crashed_and_the_process_untouched(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    unrelated = procs.sleeper()
    identity = identity_of(unrelated.pid)
    assert identity is not None
    recorded = identity._replace(start_token=identity.start_token - 7)
    write_job(jobs_root, "reuse", status="EXECUTING", owner=runner_block(recorded))
    assert manager.job("reuse").kind is VerdictKind.CRASHED
    assert manager.recover_crashed_job("reuse", force=True).outcome is Outcome.RECOVERED
    assert unrelated.poll() is None


def test_a_zombie_owner_is_dead_and_its_job_crashed(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    write_job(jobs_root, "z", status="EXECUTING", owner=runner_block(procs.zombie()))
    assert manager.job("z").kind is VerdictKind.CRASHED


def test_an_owner_recorded_with_an_impossible_pid_is_dead(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    dead = procs.dead_identity()._replace(pid=IMPOSSIBLE_PID)
    write_job(jobs_root, "imp", status="EXECUTING", owner=runner_block(dead))
    assert manager.job("imp").kind is VerdictKind.CRASHED


def test_a_lock_kept_by_an_inherited_descriptor_after_the_owner_died_is_suspect_not_crashed(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = jobs_root / "inh"
    job_dir.mkdir()
    taker, child = procs.inherited_lock_holder(job_dir / ".lock")
    write_job(jobs_root, "inh", status="EXECUTING", owner=runner_block(taker))
    state = manager.job("inh")
    assert state.kind is VerdictKind.SUSPECT
    result = manager.recover_crashed_job("inh")
    assert result.outcome is Outcome.REFUSED
    assert identity_of(child) is not None


def test_a_legacy_job_whose_logist_pid_exists_and_holds_the_lock_is_running(
    manager: JobRecoveryManager, jobs_root: Path, procs: Processes
) -> None:
    job_dir = write_job(jobs_root, "lr", status="EXECUTING")
    holder = procs.lock_holder(job_dir / ".lock")
    edit_manifest(job_dir, metadata={"pid": holder.pid})
    assert manager.job("lr").kind is VerdictKind.RUNNING


def test_a_logist_core_job_whose_recorded_pid_is_gone_is_crashed(
    manager: JobRecoveryManager, jobs_root: Path
) -> None:
    write_job(jobs_root, "lc", logist_core_manifest("lc", status="EXECUTING"))
    state = manager.job("lc")
    assert state.kind is VerdictKind.CRASHED
    assert state.verdict.evidence["legacy_pid"] == IMPOSSIBLE_PID
