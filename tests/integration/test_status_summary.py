"""`logist status` from its summary: a stat per job, and the very report a whole scan gives.

Each check compares the report of a fresh process reading the summary with the report of a
whole scan without any cache, on a real root: live owners holding their locks, owners killed
with SIGKILL, a corrupt manifest, a legacy pid, unknown, deprecated and waiting states, a job
missing from the index, and manifests edited between runs (a same-size rewrite that restores
the mtime, a rewrite inside the racy window, new and deleted jobs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import RunningJob, wait_for, write_job
from logist.core import JobRecoveryManager
from logist.core._manifest import MANIFEST_NAME

OLD = 3600
"""Seconds back: out of the racy window, so the summary may trust what it read."""

_STATUS = """
import json, sys
root = sys.argv[1]
seen = {"reads": 0, "listings": 0, "index_reads": 0}
def count(event, args):
    if event == "open" and str(args[0]).endswith("job_manifest.json"):
        seen["reads"] += 1
    elif event == "open" and str(args[0]).endswith("jobs_index.json"):
        seen["index_reads"] += 1
    elif event == "os.scandir" and str(args[0]) == root:
        seen["listings"] += 1
sys.addaudithook(count)
from logist.core._summary import status_report
report = status_report(root).to_dict()
print(json.dumps({**seen, "report": report}))
"""


def summary_status(root: Path) -> dict[str, Any]:
    """`status` as a fresh process computes it: the report, manifests and index read, root
    listings."""
    out = subprocess.run(
        [sys.executable, "-c", _STATUS, str(root)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return json.loads(out.stdout)


def whole_scan_report(root: Path) -> dict[str, Any]:
    """The report of a whole scan with no cache at all: the reference."""
    return JobRecoveryManager(root).get_recovery_status_report().to_dict()


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between any two runs: timing, load, free bytes, and the
    oldest crash's age (measured from each run's own clock: compared apart)."""
    kept = {
        k: v
        for k, v in report.items()
        if k not in ("scan_duration_s", "load_average", "oldest_crash_age_s")
    }
    kept["checks"] = [c for c in report["checks"] if c["name"] != "free-disk"]
    return kept


def assert_same_report(summary: dict[str, Any], whole: dict[str, Any]) -> None:
    assert json.dumps(comparable(summary)) == json.dumps(comparable(whole))  # order too
    ages = (summary["oldest_crash_age_s"], whole["oldest_crash_age_s"])
    assert (ages[0] is None) == (ages[1] is None)
    if ages[0] is not None:
        assert abs(ages[0] - ages[1]) < 60


def age(path: Path, seconds: float = OLD) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def mixed_root(jobs_root: Path, start_runner: Any) -> dict[str, RunningJob]:
    """A root of every kind of job, all of it (root, index, manifests) past the racy window."""
    for number in range(6):
        write_job(jobs_root, f"done-{number}", status="SUCCESS")
    write_job(jobs_root, "pending", status="PENDING")
    write_job(jobs_root, "paused", status="PAUSED")  # deprecated: an info finding
    write_job(
        jobs_root,
        "waiting",
        status="INTERVENTION_REQUIRED",
        history=[{"timestamp": None, "reason": "command exited with status 3"}],
    )
    write_job(jobs_root, "bogus", status="NOT_A_STATE")  # suspect, a warning finding
    write_job(jobs_root, "bad-time", status="SUCCESS", created_at="yesterday-ish")
    write_job(jobs_root, "legacy", status="EXECUTING", process_id=1)  # pid exists: suspect
    write_job(jobs_root, "corrupt", b'{"status": "SUCCESS", "hist')
    runners = {name: start_runner(name, "sleep", "60") for name in ("live", "doomed", "crashed")}
    runners["crashed"].kill_owner()
    index = {
        "jobs": {p.name: str(p) for p in sorted(jobs_root.iterdir()) if p.name != "bogus"},
        "queue": ["pending"],
    }
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))  # "bogus": not indexed
    for manifest in jobs_root.glob(f"*/{MANIFEST_NAME}"):
        age(manifest)
    age(jobs_root / "jobs_index.json")
    age(jobs_root)
    return runners


def test_status_from_the_summary_is_the_report_of_a_whole_scan(
    jobs_root: Path, cache_home: Path, mixed_root: dict[str, RunningJob]
) -> None:
    first = summary_status(jobs_root)
    assert first["reads"] >= 16  # no summary yet: a whole scan, which writes it
    whole = whole_scan_report(jobs_root)
    assert_same_report(first["report"], whole)
    counts = whole["counts_by_verdict"]
    assert counts["running"] == 2 and counts["crashed"] == 1 and counts["corrupt"] == 1
    assert whole["finding_counts"] == {"error": 1, "warning": 2, "info": 2}

    again = summary_status(jobs_root)
    assert (again["reads"], again["listings"]) == (0, 0)  # a stat per job, nothing more
    assert_same_report(again["report"], whole_scan_report(jobs_root))


def test_what_changed_since_the_last_run_is_in_the_next_report(
    jobs_root: Path, cache_home: Path, mixed_root: dict[str, RunningJob]
) -> None:
    summary_status(jobs_root)
    assert summary_status(jobs_root)["reads"] == 0

    # an owner died since the last run: its job is judged on fresh evidence, never cached
    mixed_root["doomed"].kill_owner()
    after_death = summary_status(jobs_root)
    assert after_death["reads"] == 0
    assert after_death["report"]["counts_by_verdict"]["crashed"] == 2
    assert_same_report(after_death["report"], whole_scan_report(jobs_root))

    # a same-size rewrite in place that restores the mtime (the inode stays): ctime tells
    pending = jobs_root / "pending" / MANIFEST_NAME
    stamp = pending.stat()
    text = pending.read_text().replace('"PENDING"', '"SUCCESS"')
    assert len(text) == stamp.st_size
    with open(pending, "r+") as stream:
        stream.write(text)
    os.utime(pending, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    # a changed manifest, a new job, a deleted job
    write_job(jobs_root, "done-1", status="FAILED")
    age(jobs_root / "done-1" / MANIFEST_NAME)
    write_job(jobs_root, "newcomer", status="CANCELED")
    age(jobs_root / "newcomer" / MANIFEST_NAME)
    shutil.rmtree(jobs_root / "done-2")
    changed = summary_status(jobs_root)
    assert changed["listings"] == 1  # the root changed: listed again
    assert changed["reads"] == 3  # pending, done-1, newcomer
    report = changed["report"]
    assert report["job_count"] == 17  # done-2 is gone but still indexed: a missing job now
    assert report["counts_by_verdict"]["corrupt"] == 2
    assert report["counts_by_status"]["FAILED"] == 1
    assert report["counts_by_status"]["CANCELED"] == 1
    assert "PENDING" not in report["counts_by_status"]
    assert_same_report(report, whole_scan_report(jobs_root))

    # the next run has it all in its summary again (the root is young: listed, not trusted)
    settled = summary_status(jobs_root)
    assert settled["reads"] == 0
    assert_same_report(settled["report"], whole_scan_report(jobs_root))


def test_a_manifest_written_inside_the_racy_window_is_read_until_it_is_old_enough(
    jobs_root: Path, cache_home: Path
) -> None:
    write_job(jobs_root, "old", status="SUCCESS")
    age(jobs_root / "old" / MANIFEST_NAME)
    fresh = write_job(jobs_root, "fresh", status="PENDING") / MANIFEST_NAME  # mtime: now
    summary_status(jobs_root)
    assert summary_status(jobs_root)["reads"] == 1  # "fresh" was not trusted: read again
    # rewritten in the same tick, same size, same mtime: seen, since it was never trusted
    stamp = fresh.stat()
    fresh.write_text(fresh.read_text().replace('"PENDING"', '"SUCCESS"'))
    os.utime(fresh, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    report = summary_status(jobs_root)["report"]
    assert report["counts_by_status"] == {"SUCCESS": 2}
    assert_same_report(report, whole_scan_report(jobs_root))


def test_a_damaged_or_foreign_summary_is_not_used(jobs_root: Path, cache_home: Path) -> None:
    for number in range(3):
        write_job(jobs_root, f"j{number}", status="SUCCESS")
        age(jobs_root / f"j{number}" / MANIFEST_NAME)
    summary_status(jobs_root)
    (summary,) = cache_home.glob("status-*")
    assert summary.stat().st_mode & 0o077 == 0
    for damage in (b"", b"\x00junk" * 50, summary.read_bytes()[:-9]):
        summary.write_bytes(damage)
        for scan_cache in cache_home.glob("scan-*"):  # so that a whole scan reads every job
            scan_cache.unlink()
        result = summary_status(jobs_root)
        assert result["reads"] == 3
        assert_same_report(result["report"], whole_scan_report(jobs_root))
        assert summary_status(jobs_root)["reads"] == 0  # written again by that whole scan
    os.chmod(summary, 0o666)  # writable by others: not ours to trust
    for scan_cache in cache_home.glob("scan-*"):
        scan_cache.unlink()
    assert summary_status(jobs_root)["reads"] == 3


def test_status_on_the_command_line_uses_the_summary(jobs_root: Path, cache_home: Path) -> None:
    write_job(jobs_root, "a", status="SUCCESS")
    write_job(jobs_root, "b", status="INTERVENTION_REQUIRED")
    age(jobs_root / "a" / MANIFEST_NAME)
    age(jobs_root / "b" / MANIFEST_NAME)
    status = [sys.executable, "-m", "logist", "status", "--root", str(jobs_root), "--json"]
    first = subprocess.run(status, capture_output=True, text=True)
    wait_for(lambda: list(cache_home.glob("status-*")))  # written once the report is out
    second = subprocess.run(status, capture_output=True, text=True)
    assert first.returncode == second.returncode == 1  # degraded: a job waits for a person
    assert comparable(json.loads(second.stdout)) == comparable(json.loads(first.stdout))


def test_a_first_status_reads_the_index_once(jobs_root: Path, cache_home: Path) -> None:
    for n in range(3):
        write_job(jobs_root, f"j{n}", status="SUCCESS")
    (jobs_root / "jobs_index.json").write_text(
        json.dumps({"jobs": {f"j{n}": f"j{n}" for n in range(3)}})
    )
    first = summary_status(jobs_root)
    assert (first["reads"], first["index_reads"]) == (3, 1)
