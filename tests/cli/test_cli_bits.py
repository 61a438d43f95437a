"""Small things an operator trips on: a pipe closed early, ..."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import write_job


def test_jobs_into_a_pipe_that_closes_early_ends_quietly(jobs_root: Path) -> None:
    """`logist jobs | head`: more output than a pipe buffer holds, reader gone after one line."""
    for n in range(2000):
        write_job(jobs_root, f"job-{n:05d}", status="PENDING")
    env = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "logist", "jobs", "--root", str(jobs_root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    errors = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) != 0
    assert errors == ""
