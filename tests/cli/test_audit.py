"""`logist audit [--job ID] [--since T] [--json]` reads the audit log the acting path writes."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import RunningJob, read_job, wait_for
from logist.cli import main
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._manifest import now_naive_iso
from staging import Processes, crashed_job


def logist(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def recovered(jobs_root: Path, procs: Processes) -> Path:
    for job_id in ("a", "b"):
        crashed_job(jobs_root, job_id, procs.dead_identity())
    done = logist("recover", "a", "b", "--root", str(jobs_root), "--yes")
    assert done.exit_code == 0, done.stderr
    return jobs_root


def test_audit_json_lists_every_recovery_with_its_states(recovered: Path) -> None:
    result = logist("audit", "--root", str(recovered), "--json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)["records"]
    assert [(r["action"], r["job_id"], r["from_status"], r["to_status"]) for r in records] == [
        ("recover", "a", "EXECUTING", "PENDING"),
        ("recover", "b", "EXECUTING", "PENDING"),
    ]


def test_audit_text_is_one_line_per_action_with_a_human_time(recovered: Path) -> None:
    lines = logist("audit", "--root", str(recovered)).stdout.splitlines()
    assert len(lines) == 2
    assert "recover a EXECUTING -> PENDING" in lines[0]
    assert "seconds ago" in lines[0] or "now" in lines[0]


def test_audit_of_one_job(recovered: Path) -> None:
    records = json.loads(logist("audit", "--root", str(recovered), "--job", "b", "--json").stdout)
    assert [r["job_id"] for r in records["records"]] == ["b"]


def test_audit_since_an_age_or_a_time(recovered: Path) -> None:
    def count(since: str) -> int:
        result = logist("audit", "--root", str(recovered), "--since", since, "--json")
        assert result.exit_code == 0, result.stderr
        return len(json.loads(result.stdout)["records"])

    assert count("1h") == 2
    assert count(now_naive_iso(time.time() - 60)) == 2
    assert count(now_naive_iso(time.time() + 3600)) == 0


def test_audit_of_an_unknown_job_is_the_usual_unknown_id(recovered: Path) -> None:
    result = logist("audit", "--root", str(recovered), "--job", "nope", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["error"] == "JobNotFound"


def test_audit_of_a_bad_since_is_a_usage_error(recovered: Path) -> None:
    result = logist("audit", "--root", str(recovered), "--since", "last tuesday")
    assert result.exit_code == 2
    assert "give an age" in result.stderr


def test_audit_of_a_force_recovery_shows_the_end_state_on_disk_and_the_pids_signalled(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = start_runner("hung", "sleep", "60", heartbeat=0.1)
    runner_pid, child_pid = job.runner_pid, job.child_pid
    job.proc.send_signal(signal.SIGSTOP)
    wait_for(lambda: JobRecoveryManager(jobs_root).job("hung").kind is VerdictKind.HUNG)
    done = logist("recover", "hung", "--force", "--yes", "--root", str(jobs_root))
    assert done.exit_code == 0, done.stderr
    job.proc.wait(10)

    [record] = json.loads(logist("audit", "--root", str(jobs_root), "--json").stdout)["records"]
    on_disk = read_job(jobs_root, "hung")["status"]
    assert record["to_status"] == on_disk  # what the job ended as, not what the plan said
    assert set(record["signalled"]) <= {runner_pid, child_pid} and record["signalled"]
    [line] = logist("audit", "--root", str(jobs_root)).stdout.splitlines()
    assert f"recover hung EXECUTING -> {on_disk} signalled {record['signalled']}" in line
