"""`reattach --follow`: starts at the log's tail (20 lines, `-n`), ends with the job's final
verdict and exit 1 unless it ended well; `--json` is JSON lines only. Real runners, real logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import RunningJob, wait_for

# 30 lines, then a pause during which the follower attaches, then one more line and the end.
SCRIPT = (
    "for i in $(seq 1 30); do echo line-$i; done; "
    "while [ ! -e go ]; do sleep 0.05; done; echo after; exit {code}"
)


def rest(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """What is left on stdout and stderr once the follower ends (read through the same buffered
    files as the lines before: communicate() would bypass what they already buffered)."""
    assert proc.stdout is not None and proc.stderr is not None
    deadline = threading.Timer(60, proc.kill)  # a follower that never ends fails, not hangs
    deadline.start()
    try:
        out = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(60)
    finally:
        deadline.cancel()
    return out, err


def follow(root: Path, job_id: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logist",
            "reattach",
            job_id,
            "--root",
            str(root),
            "--follow",
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def started(start_runner: Callable[..., RunningJob], job_id: str, code: int) -> RunningJob:
    job = start_runner(job_id, "sh", "-c", SCRIPT.format(code=code))
    log = job.job_dir / "logs" / "runner.log"
    wait_for(lambda: log.exists() and "line-30" in log.read_text())
    return job


def test_follow_starts_at_the_last_20_lines_and_ends_with_the_verdict_exit_1_on_failure(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = started(start_runner, "fails", 3)
    proc = follow(jobs_root, "fails")
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("fails: watch:")
    assert proc.stdout.readline().startswith("log: ")
    first = proc.stdout.readline().strip()
    (job.job_dir / "go").touch()
    out, err = rest(proc)
    lines = [first, *out.splitlines()]
    assert lines[:20] == [f"line-{i}" for i in range(11, 31)]
    assert lines[20] == "after"
    assert lines[-1] == "fails: ended waiting: INTERVENTION_REQUIRED: command exited with status 3"
    assert proc.returncode == 1, err


def test_follow_n_and_json_lines_and_exit_0_when_the_job_is_done(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = started(start_runner, "works", 0)
    proc = follow(jobs_root, "works", "-n", "3", "--json")
    assert proc.stdout is not None
    head = [json.loads(proc.stdout.readline()) for _ in range(4)]
    (job.job_dir / "go").touch()
    out, _ = rest(proc)
    records = head + [json.loads(line) for line in out.splitlines()]  # every line is JSON
    assert records[0]["mode"] == "watch"
    assert [r["line"] for r in records[1:-1]] == ["line-28", "line-29", "line-30", "after"]
    assert records[-1] == {
        "job_id": "works",
        "status": "SUCCESS",
        "verdict": "done",
        "reason": "SUCCESS: finished",
        "final": True,
    }
    assert proc.returncode == 0


def test_follow_of_a_job_whose_runner_is_killed_ends_crashed_exit_1(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = started(start_runner, "dies", 0)
    proc = follow(jobs_root, "dies", "-n", "0")
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("dies: watch:")
    os.killpg(os.getpgid(job.child_pid), signal.SIGKILL)  # the command's own group
    job.proc.kill()
    job.proc.wait(10)
    out, _ = rest(proc)
    assert out.splitlines()[-1].startswith("dies: ended crashed: ")
    assert "line-" not in out
    assert proc.returncode == 1
