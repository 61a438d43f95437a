"""The runner and writes that keep no `generation`: the original Logist's `update_job_manifest`
rewrites the manifest in place without one. Here such a write is made the same way (plain
`open(..., "w")` + `json.dump`, generation untouched); tests/compat does it with the original."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from conftest import read_job, wait_for, write_job
from logist.core._states import original_allows
from logist.runner import RunnerError, run_job

WAIT_FOR_GO = "while [ ! -e go ]; do sleep 0.02; done"


def foreign_write(job_dir: Path, **changes: object) -> None:
    """Change the manifest as the original does: in place, no generation, no lock."""
    path = job_dir / "job_manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    with open(path, "w") as stream:
        json.dump(data, stream, indent=2)


def moves(data: dict) -> list[tuple[str, str]]:
    return [
        (h["previous_status"], h["new_status"])
        for h in data["history"]
        if h.get("tool") == "logist-runner" and "previous_status" in h
    ]


def test_a_job_canceled_by_another_tool_stops_its_command_and_stays_canceled(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("c", "sh", "-c", "sleep 60", heartbeat=0.1)
    command = job.child_pid
    foreign_write(job.job_dir, status="CANCELED")
    assert job.proc.wait(20) == 128 + signal.SIGTERM
    wait_for(lambda: not os.path.exists(f"/proc/{command}") or _zombie(command))
    data = read_job(jobs_root, "c")
    assert data["status"] == "CANCELED"
    last = data["history"][-1]
    assert (last["event"], last["status"]) == ("RUNNER_STOPPED", "CANCELED")
    assert "owner" not in data and data["last_owner"]["child_pid"] == command
    assert all(new != "HARVESTING" for _, new in moves(data))


def test_a_job_suspended_after_its_command_ended_gets_no_harvesting(jobs_root: Path) -> None:
    write_job(jobs_root, "s", status="PENDING")
    script = (
        "import json; p = 'job_manifest.json'; d = json.load(open(p)); "
        "d['status'] = 'SUSPENDED'; json.dump(d, open(p, 'w'))"
    )
    assert run_job(jobs_root, "s", ["python3", "-c", script], heartbeat=30) == 0
    data = read_job(jobs_root, "s")
    assert data["status"] == "SUSPENDED"
    assert data["history"][-1]["event"] == "RUNNER_STOPPED"
    assert [new for _, new in moves(data)] == ["PROVISIONING", "EXECUTING"]


def test_other_foreign_edits_are_kept_and_the_job_runs_on(jobs_root: Path, start_runner) -> None:
    job = start_runner("e", "sh", "-c", WAIT_FOR_GO, heartbeat=0.1)
    foreign_write(job.job_dir, prompt="edited by the original", runner="podman")
    (job.job_dir / "go").touch()
    assert job.proc.wait(20) == 0
    data = read_job(jobs_root, "e")
    assert (data["status"], data["prompt"], data["runner"]) == (
        "SUCCESS",
        "edited by the original",
        "podman",
    )


def test_every_move_the_runner_writes_is_one_the_original_allows(jobs_root: Path) -> None:
    for status in ("PENDING", "INTERVENTION_REQUIRED", "SUSPENDED", "APPROVAL_REQUIRED", "DRAFT"):
        write_job(jobs_root, status.lower(), status=status)
        assert run_job(jobs_root, status.lower(), ["true"], heartbeat=30) == 0
        data = read_job(jobs_root, status.lower())
        assert data["status"] == "SUCCESS"
        assert moves(data)[0][0] == status
        assert all(original_allows(a, b) for a, b in moves(data)), moves(data)
    write_job(jobs_root, "fail", status="PENDING")
    assert run_job(jobs_root, "fail", [str(jobs_root / "no-such-program")], heartbeat=30) == 127
    data = read_job(jobs_root, "fail")
    assert [new for _, new in moves(data)][-2:] == ["HARVESTING", "INTERVENTION_REQUIRED"]
    assert all(original_allows(a, b) for a, b in moves(data))


def test_a_job_the_original_lets_nothing_leave_is_not_run(jobs_root: Path) -> None:
    write_job(jobs_root, "d", status="DETACHED")
    before = (jobs_root / "d" / "job_manifest.json").read_bytes()
    with pytest.raises(RunnerError, match="no way from DETACHED"):
        run_job(jobs_root, "d", ["true"], heartbeat=30)
    assert (jobs_root / "d" / "job_manifest.json").read_bytes() == before


def _zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    except OSError:
        return True
