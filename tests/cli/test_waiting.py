"""Jobs waiting for a person (INTERVENTION_REQUIRED: a command failed, could not start, or ended
with an outcome nobody could know) degrade health, appear in triage with the reason from their
history, and have their own verdict to filter on. `logist run` names its job and how it failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write_job
from logist.core import JobRecoveryManager, VerdictKind


def logist(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "logist", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_run_prints_the_job_id_and_one_line_on_how_the_command_failed(jobs_root: Path) -> None:
    done = logist("run", "--root", str(jobs_root), "--heartbeat", "0.2", "--", "sh", "-c", "exit 3")
    assert done.returncode == 3
    [job_id] = done.stdout.split()
    assert (jobs_root / job_id).is_dir()
    assert done.stderr == (
        f"logist: job {job_id}: command exited with status 3 (INTERVENTION_REQUIRED)\n"
    )


def test_run_of_a_command_that_cannot_start_says_so_in_one_line(jobs_root: Path) -> None:
    done = logist("run", "--root", str(jobs_root), "--job-id", "nostart", "--", "/no/such/cmd")
    assert (done.returncode, done.stdout) == (127, "nostart\n")
    [line] = done.stderr.splitlines()
    assert line.startswith("logist: job nostart: command could not start:")


def test_a_successful_run_prints_only_its_job_id(jobs_root: Path) -> None:
    done = logist("run", "--root", str(jobs_root), "--job-id", "fine", "--", "true")
    assert (done.returncode, done.stdout, done.stderr) == (0, "fine\n", "")


def test_failed_runs_wait_for_a_person_degrade_health_and_show_their_reason(
    jobs_root: Path,
) -> None:
    logist("run", "--root", str(jobs_root), "--job-id", "failed", "--", "sh", "-c", "exit 3")
    logist("run", "--root", str(jobs_root), "--job-id", "nostart", "--", "/no/such/cmd")
    write_job(
        jobs_root,
        "unknown-outcome",
        status="INTERVENTION_REQUIRED",
        history=[
            {"event": "RUNNER_ADOPTED", "timestamp": "2026-11-30T10:00:00"},
            {"event": "RUNNER_EXITED", "timestamp": "2026-11-30T11:00:00"},
            {
                "event": "RUNNER_FINISHED",
                "timestamp": "2026-11-30T11:00:00",
                "reason": "adopted command exited; its exit status is unknown",
            },
        ],
    )
    write_job(jobs_root, "resting", status="PENDING")

    status = logist("status", "--root", str(jobs_root), "--json")
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert (report["overall"], report["counts_by_verdict"]) == (
        "degraded",
        {"waiting": 3, "idle": 1},
    )

    triage = {j.job_id: j.verdict.reason for j in JobRecoveryManager(jobs_root).triage()}
    assert triage == {
        "failed": "INTERVENTION_REQUIRED: command exited with status 3",
        "nostart": triage["nostart"],
        "unknown-outcome": (
            "INTERVENTION_REQUIRED: adopted command exited; its exit status is unknown"
        ),
    }
    assert "command could not start" in triage["nostart"]

    listed = logist("jobs", "--root", str(jobs_root), "--verdict", "waiting", "--json")
    jobs = json.loads(listed.stdout)["jobs"]
    assert sorted(j["job_id"] for j in jobs) == ["failed", "nostart", "unknown-outcome"]
    assert {j["verdict"] for j in jobs} == {str(VerdictKind.WAITING)}


def test_recovering_a_waiting_job_is_a_no_op_it_needs_a_person(jobs_root: Path) -> None:
    write_job(jobs_root, "w", status="INTERVENTION_REQUIRED")
    done = logist("recover", "w", "--root", str(jobs_root), "--yes", "--json")
    assert done.returncode == 0
    [result] = json.loads(done.stdout)["results"]
    assert (result["outcome"], result["message"]) == (
        "no-op",
        "job waits for a person, not for recovery (nothing to recover)",
    )


def test_run_refuses_a_directory_that_is_not_a_jobs_root(tmp_path: Path) -> None:
    write_job(tmp_path / "jobs", "a", status="PENDING")
    (tmp_path / "README").write_text("a project")
    done = logist("run", "--root", str(tmp_path), "--", "true")
    assert done.returncode == 2
    assert f"did you mean {tmp_path / 'jobs'}?" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README", "jobs"]
