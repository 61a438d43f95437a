"""Crash points of the unattended watch: SIGKILL in the middle of its automatic recoveries.

The watch recovers through the manager's guarded path (whose every step is swept by
test_crash_points.py); here the whole service is killed while it works through a batch, at
several moments, and what it leaves must be whole: every manifest parses, each job is crashed
or recovered once (never between, never twice), the journal and the audit parse line by line,
the lock is free for the next watch, and that next watch finishes the batch.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_for
from logist.core import JobRecoveryManager
from logist.core._journal import read_events
from logist.watch._service import RECOVERY_WORKERS
from reliability._support import (
    add_figure,
    audit_records,
    crashed_manifest,
    history_events,
    job_dirs,
    read_job,
    run_cli,
    write_job,
)

JOBS = 40


def _start_watch(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "logist", "watch", "--root", str(root), "--auto-recover",
            "--brake-share", "0", "--max-per-minute", "0", "--interval", "0.3",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _recovered(root: Path) -> int:
    return sum(1 for r in audit_records(root) if r.get("operator") == "watch")


@pytest.mark.parametrize("after", [0, 1, JOBS // 2])
def test_a_watch_killed_mid_recovery_leaves_every_job_whole_and_the_next_watch_finishes(
    tmp_path: Path, after: int
) -> None:
    root = tmp_path / "jobs"
    root.mkdir()
    for n in range(JOBS):
        write_job(root, f"job{n:02d}", crashed_manifest(f"job{n:02d}"))
    watch = _start_watch(root)
    try:
        if after:
            wait_for(lambda: _recovered(root) >= after, timeout=30)
        else:
            wait_for(lambda: (root / ".logist" / "watch.lock").exists(), timeout=30)
            time.sleep(0.05)
    finally:
        watch.send_signal(signal.SIGKILL)
        watch.wait()
    done = _recovered(root)
    add_figure("watch crash points", 1)

    recovered = []
    for job_dir in job_dirs(root):
        data = read_job(root, job_dir.name)  # parses, or the assertion names the job
        recoveries = history_events(data).count("CRASH_RECOVERY")
        assert recoveries in (0, 1), f"{job_dir.name} recovered {recoveries} times"
        assert data["status"] == ("PENDING" if recoveries else "EXECUTING"), job_dir.name
        if recoveries:
            recovered.append(job_dir.name)
    # The manifest is written before its audit line: a kill between them leaves a job
    # recovered without its line (one per recovering thread), which validation reports and its
    # fix writes.
    assert done <= len(recovered) <= done + RECOVERY_WORKERS
    for path in (root / ".logist").glob("events.jsonl*"):
        for line in path.read_text().splitlines():
            json.loads(line)

    restarted = _start_watch(root)
    try:
        wait_for(lambda: _recovered(root) >= JOBS - len(recovered), timeout=60)
        wait_for(lambda: all(read_job(root, d.name)["status"] == "PENDING" for d in job_dirs(root)))
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(10) == 0
    for job_dir in job_dirs(root):
        assert history_events(read_job(root, job_dir.name)).count("CRASH_RECOVERY") == 1
    fixed = run_cli("validate", "--root", str(root), "--fix", "--yes", "--json")
    assert fixed.returncode in (0, 1), fixed.stderr
    manager = JobRecoveryManager(root)
    assert not [f for f in manager.validate_job_consistency() if str(f.severity) == "error"]
    audited = [r["job_id"] for r in audit_records(root) if r.get("action") == "recover"]
    assert sorted(audited) == sorted(d.name for d in job_dirs(root)), "one audit line per job"
    starts = [e for e in read_events(root) if e["kind"] == "watch-start"]
    assert len(starts) == 2
