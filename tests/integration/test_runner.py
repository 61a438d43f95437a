"""`logist run`: the job side, run as a real process and signalled for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RunningJob, read_job, wait_for, write_job
from corpus import logist_cli_manifest, logist_core_manifest
from logist.core import JobRecoveryManager, LockState, VerdictKind
from logist.core._identity import identity_of
from logist.core._locking import probe_lock


def events(data: dict) -> list[str]:
    return [h.get("event") for h in data["history"]]


def finish(job: RunningJob) -> int:
    return job.proc.wait(10)


def test_the_runner_records_its_identity_and_executing_before_the_command_starts(
    jobs_root: Path, start_runner
) -> None:
    look = (
        "import json; d = json.load(open('job_manifest.json')); "
        "print(d['status'], d['owner']['pid'], d['owner']['start_token'], d['owner']['host'])"
    )
    job = start_runner("seen", sys.executable, "-c", look)
    assert finish(job) == 0
    data = read_job(jobs_root, "seen")
    seen = (job.job_dir / "logs" / "runner.log").read_text().split()
    runner = data["last_owner"]
    assert seen == ["EXECUTING", str(job.runner_pid), str(runner["start_token"]), runner["host"]]


def test_a_command_that_exits_0_ends_success_with_its_history(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("ok", "sh", "-c", "echo out; echo err >&2")
    assert finish(job) == 0
    data = read_job(jobs_root, "ok")
    assert data["status"] == "SUCCESS"
    assert events(data)[-3:] == ["RUNNER_STARTED", "RUNNER_EXITED", "RUNNER_FINISHED"]
    assert [h.get("new_status") for h in data["history"][-3:]] == [
        "EXECUTING",
        "HARVESTING",
        "SUCCESS",
    ]
    assert "owner" not in data and data["last_owner"]["pid"] == job.runner_pid
    assert (job.job_dir / "logs" / "runner.log").read_text().split() == ["out", "err"]
    assert not (job.job_dir / "heartbeat").exists()
    assert probe_lock(job.job_dir / ".lock") is LockState.FREE


def test_a_command_that_exits_non_zero_ends_intervention_required_with_the_code(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("bad", "sh", "-c", "exit 3")
    assert finish(job) == 3
    data = read_job(jobs_root, "bad")
    assert data["status"] == "INTERVENTION_REQUIRED"
    last = data["history"][-1]
    assert (last["exit_code"], last["reason"]) == (3, "command exited with status 3")


def test_a_command_that_cannot_start_ends_intervention_required(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("nope", str(jobs_root / "no-such-program"))
    assert finish(job) == 127
    data = read_job(jobs_root, "nope")
    assert data["status"] == "INTERVENTION_REQUIRED"
    assert "could not start" in data["history"][-1]["reason"]


def test_the_heartbeat_file_is_refreshed_while_the_command_runs(start_runner) -> None:
    job = start_runner("beat", "sleep", "60", heartbeat=0.1)
    beat = job.job_dir / "heartbeat"
    first = wait_for(lambda: beat.exists() and beat.stat().st_mtime_ns)
    wait_for(lambda: beat.stat().st_mtime_ns > first)
    assert read_job(job.job_dir.parent, "beat")["owner"]["heartbeat_interval_s"] == 0.1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_runner_is_forwarded_and_recorded(
    jobs_root: Path, start_runner, signum: signal.Signals
) -> None:
    job = start_runner("sig", "sleep", "60")
    child = job.child_pid
    job.proc.send_signal(signum)
    assert finish(job) == 128 + signum
    data = read_job(jobs_root, "sig")
    assert data["status"] == "INTERVENTION_REQUIRED"
    assert data["history"][-1]["reason"] == f"command killed by signal {signum.name}"
    assert identity_of(child) is None


def test_a_sigkilled_runner_leaves_a_free_lock_and_its_identity_in_an_executing_manifest(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("killed", "sleep", "60")
    job.proc.kill()
    job.proc.wait()
    data = read_job(jobs_root, "killed")
    assert data["status"] == "EXECUTING"
    assert data["owner"]["pid"] == job.runner_pid
    assert probe_lock(job.job_dir / ".lock") is LockState.FREE
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("killed").verdict.kind is VerdictKind.DETACHED
    os.killpg(data["owner"]["child_pid"], signal.SIGKILL)
    wait_for(lambda: manager.job("killed").verdict.kind is VerdictKind.CRASHED)


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logist", "run", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_runner_refuses_a_job_another_runner_owns(jobs_root: Path, start_runner) -> None:
    start_runner("owned", "sleep", "60")
    done = run_cli(jobs_root, "--job-id", "owned", "--", "true")
    assert done.returncode == 2
    assert "locked by its owner" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_the_runner_refuses_to_run_a_finished_job_again(jobs_root: Path) -> None:
    write_job(jobs_root, "over", status="SUCCESS")
    done = run_cli(jobs_root, "--job-id", "over", "--", "true")
    assert done.returncode == 2
    assert "refusing to run it again" in done.stderr
    assert read_job(jobs_root, "over")["status"] == "SUCCESS"


@pytest.mark.parametrize("job_id", ["../escape", ".hidden", "a/b"])
def test_the_runner_refuses_an_unsafe_job_id_and_creates_nothing(
    jobs_root: Path, job_id: str
) -> None:
    done = run_cli(jobs_root, "--job-id", job_id, "--", "true")
    assert done.returncode == 2
    assert "invalid job id" in done.stderr and "Traceback" not in done.stderr
    assert set(jobs_root.parent.iterdir()) == {jobs_root, jobs_root.parent / "outside"}
    assert list(jobs_root.iterdir()) == []


@pytest.mark.parametrize("make", [logist_core_manifest, logist_cli_manifest], ids=["core", "cli"])
def test_the_runner_runs_a_job_logist_created_without_a_generation(
    jobs_root: Path, start_runner, make
) -> None:
    write_job(jobs_root, "pre", make("pre", status="PENDING"))
    job = start_runner("pre", "true")
    assert job.proc.wait(10) == 0
    data = read_job(jobs_root, "pre")
    assert data["status"] == "SUCCESS"
    assert data["description"] == make("pre")["description"]
    assert data["history"][: len(make("pre")["history"])] == make("pre")["history"]


def test_the_runner_refuses_a_job_whose_manifest_is_corrupt_and_leaves_it_as_is(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "bad", b'{"status": "PENDI')
    done = run_cli(jobs_root, "--job-id", "bad", "--", "true")
    assert done.returncode == 2
    assert "unreadable" in done.stderr and len(done.stderr.splitlines()) == 1
    assert (job_dir / "job_manifest.json").read_bytes() == b'{"status": "PENDI'
    assert not (job_dir / "logs").exists()


def test_a_runner_refuses_a_job_whose_log_is_a_symlink_out_of_the_root(
    jobs_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.log"
    outside.write_text("")
    job_dir = jobs_root / "linked"
    (job_dir / "logs").mkdir(parents=True)
    (job_dir / "logs" / "runner.log").symlink_to(outside)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "logist",
            "run",
            "--root",
            str(jobs_root),
            "--job-id",
            "linked",
            "--",
            "echo",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "symlink" in result.stderr and "Traceback" not in result.stderr
    assert outside.read_text() == ""


# ---- what Popen did for the runner, now that it starts the command with posix_spawn ----------


def test_a_descriptor_handed_to_logist_run_does_not_reach_the_command(jobs_root: Path) -> None:
    """close_fds: what the caller passed to `logist run` stays with the supervisor."""
    reader, writer = os.pipe()
    run = ["run", "--root", str(jobs_root), "--job-id", "fds", "--heartbeat", "0.2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "logist", *run, "--", "sleep", "60"],
        stdout=subprocess.DEVNULL,
        pass_fds=(writer,),
    )
    os.close(writer)
    try:

        def child_pid() -> int | None:
            try:
                return (read_job(jobs_root, "fds").get("owner") or {}).get("child_pid")
            except (OSError, ValueError):  # not written yet
                return None

        child = wait_for(child_pid, timeout=30)
        # past the gate (whose shell briefly opens /dev/null on its way): the command itself
        wait_for(lambda: Path(f"/proc/{child}/comm").read_text() == "sleep\n", timeout=30)
        pipe = f"pipe:[{os.fstat(reader).st_ino}]"
        holders = {
            pid: [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            for pid in (proc.pid, child)
        }
        assert pipe in holders[proc.pid]  # the supervisor keeps what it was given
        assert pipe not in holders[child]
        assert sorted(map(int, os.listdir(f"/proc/{child}/fd"))) == [0, 1, 2]
    finally:
        proc.terminate()
        proc.wait(30)
        os.close(reader)


def test_the_command_gets_the_default_sigpipe_that_python_ignores(jobs_root: Path) -> None:
    done = run_cli(jobs_root, "--job-id", "pipe", "--", "sh", "-c", "kill -PIPE $$; exit 7")
    assert done.returncode == 128 + signal.SIGPIPE, done.stderr
    assert "killed by signal SIGPIPE" in read_job(jobs_root, "pipe")["history"][-1]["reason"]


def test_the_command_runs_in_the_job_directory(jobs_root: Path) -> None:
    done = run_cli(jobs_root, "--job-id", "here", "--", "sh", "-c", "pwd -P > where")
    assert done.returncode == 0, done.stderr
    assert (jobs_root / "here" / "where").read_text().strip() == os.path.realpath(
        jobs_root / "here"
    )
