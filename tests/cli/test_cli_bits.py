"""Small things an operator trips on: a pipe closed early, numbers and ages that read like a
person writes them, one JSON shape for a job id that names no job."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from conftest import write_job
from logist.cli import main
from staging import Processes, crashed_job, touch


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


def test_status_speaks_humanize_counts_with_commas_ages_in_words(
    jobs_root: Path, procs: Processes
) -> None:
    for n in range(1200):
        write_job(jobs_root, f"job-{n:05d}", status="PENDING")
    touch(
        crashed_job(jobs_root, "old", procs.dead_identity()) / "job_manifest.json",
        age=3 * 3600 + 60,
    )
    result = CliRunner().invoke(main, ["status", "--root", str(jobs_root)])
    lines = result.stdout.splitlines()
    assert lines[0] == "CRITICAL: 1,201 jobs: 1 crashed, 1,200 idle"
    assert "oldest crash: 3 hours ago" in lines
    [disk] = [line for line in lines if "free-disk" in line]
    assert re.search(r"\d+(\.\d)? [KMGT]iB free \(\d+%\)", disk), disk


def test_unknown_job_ids_share_one_json_shape_across_commands(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    shapes = set()
    for command in (
        ["recover", "nope", "--yes"],
        ["reattach", "nope"],
        ["validate", "nope"],
        ["audit", "--job", "nope"],
        ["events", "--job", "nope"],
    ):
        result = CliRunner().invoke(main, [*command, "--root", str(jobs_root), "--json"])
        assert result.exit_code == 1, command
        [error] = json.loads(result.stdout)["errors"]
        shapes.add(tuple(sorted(error.items())))
    assert shapes == {
        (
            ("error", "JobNotFound"),
            ("job_id", "nope"),
            ("message", "no job 'nope' in this root"),
            ("ok", False),
        )
    }
