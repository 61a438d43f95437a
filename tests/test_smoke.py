"""The shortest path through the product: run a job, kill its runner, see it crashed, recover."""

import os
import signal
from pathlib import Path

from conftest import read_job, wait_for
from logist.core import JobRecoveryManager, VerdictKind


def test_a_runner_killed_with_sigkill_is_reported_crashed_and_recovers_to_pending(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("smoke", "sleep", "60")
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("smoke").verdict.kind is VerdictKind.RUNNING
    child = job.child_pid
    job.proc.send_signal(signal.SIGKILL)  # the runner first: it would record the child's death
    job.proc.wait()
    os.killpg(child, signal.SIGKILL)
    wait_for(lambda: manager.job("smoke").verdict.kind is VerdictKind.CRASHED)
    result = manager.recover_crashed_job("smoke")
    assert result.ok, result.message
    data = read_job(jobs_root, "smoke")
    assert data["status"] == "PENDING"
    assert data["history"][-1]["event"] == "CRASH_RECOVERY"
    assert "owner" not in data and data["last_owner"]["pid"] == job.runner_pid
