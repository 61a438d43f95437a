"""validate + fix on real damage, the health report, and the audit line of every fix."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, read_job, write_job
from corpus import core_index
from logist.core import (
    Finding,
    FixKind,
    Health,
    JobNotFound,
    JobRecoveryManager,
    Outcome,
    Policy,
    Severity,
)
from logist.core._audit import read_audit
from logist.core._manifest import backup_name
from staging import Processes, crashed_job, touch, unwritable

LEFTOVER = f".logist-tmp-job_manifest.json.{IMPOSSIBLE_PID}.0a1b2c3d"
"""A temp file of an atomic write whose writer is gone."""


def only(findings: list[Finding], code: str) -> Finding:
    [finding] = [f for f in findings if f.code == code]
    return finding


def add_backup(job_dir: Path, raw: bytes, age_s: float) -> Path:
    backups = job_dir / ".backups"
    backups.mkdir(exist_ok=True)
    path = backups / backup_name(datetime.fromtimestamp(1_790_000_000 - age_s))
    path.write_bytes(raw)
    return path


def test_a_corrupt_manifest_is_restored_from_the_newest_valid_backup_keeping_its_bytes(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "c", b'{"job_id": "c", "status": "PEND')
    add_backup(job_dir, json.dumps({"job_id": "c", "status": "DRAFT"}).encode(), age_s=300)
    add_backup(job_dir, json.dumps({"job_id": "c", "status": "PENDING"}).encode(), age_s=200)
    add_backup(job_dir, b"{broken too", age_s=100)
    manager = JobRecoveryManager(jobs_root, operator="tester")
    finding = only(manager.validate_job_consistency("c"), "manifest-invalid-json")
    assert (finding.severity, finding.fix) == (Severity.ERROR, FixKind.RESTORE_BACKUP)
    result = manager.fix(finding)
    assert result.outcome is Outcome.FIXED, result.message
    data = read_job(jobs_root, "c")
    assert data["status"] == "PENDING"
    assert data["history"][-1]["event"] == "MANIFEST_RESTORED"
    kept = [p for p in (job_dir / ".backups").iterdir() if p.name.endswith(".corrupt")]
    assert [p.read_bytes() for p in kept] == [b'{"job_id": "c", "status": "PEND']
    assert manager.validate_job_consistency("c") == []
    [line] = read_audit(jobs_root)
    assert (line["action"], line["job_id"], line["operator"]) == (
        "fix:restore-backup",
        "c",
        "tester",
    )


def test_a_corrupt_manifest_without_a_valid_backup_is_left_for_a_human(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "c", b"")
    add_backup(job_dir, b"\xff\xfe", age_s=10)
    manager = JobRecoveryManager(jobs_root)
    finding = only(manager.validate_job_consistency("c"), "manifest-empty")
    assert finding.fix is None
    assert "by hand" in finding.recommendation
    assert manager.fix(finding).outcome is Outcome.REFUSED
    assert (job_dir / "job_manifest.json").read_bytes() == b""


def test_restoring_a_job_whose_lock_is_held_is_refused(jobs_root: Path, procs: Processes) -> None:
    job_dir = write_job(jobs_root, "c", b"{")
    add_backup(job_dir, json.dumps({"job_id": "c", "status": "PENDING"}).encode(), age_s=10)
    holder = procs.lock_holder(job_dir / ".lock")
    manager = JobRecoveryManager(jobs_root)
    result = manager.fix(only(manager.validate_job_consistency("c"), "manifest-invalid-json"))
    assert (result.outcome, result.error) == (Outcome.REFUSED, "LockBusy")
    assert str(holder.pid) in result.message
    assert (job_dir / "job_manifest.json").read_bytes() == b"{"


def test_an_unindexed_job_is_reindexed_keeping_the_rest_of_the_index(jobs_root: Path) -> None:
    write_job(jobs_root, "known", status="PENDING")
    write_job(jobs_root, "stray", status="PENDING")
    index = core_index({"known": str(jobs_root / "known")})
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    manager = JobRecoveryManager(jobs_root)
    finding = only(manager.validate_job_consistency(), "not-indexed")
    assert (finding.job_id, finding.fix) == ("stray", FixKind.REINDEX)
    assert manager.fix(finding).outcome is Outcome.FIXED
    after = json.loads((jobs_root / "jobs_index.json").read_text())
    assert after == {**index, "jobs": {**index["jobs"], "stray": str(jobs_root / "stray")}}
    assert manager.validate_job_consistency() == []


def test_an_index_entry_whose_directory_is_gone_is_dropped_with_its_queue_entry(
    jobs_root: Path,
) -> None:
    write_job(jobs_root, "known", status="PENDING")
    index = core_index({"gone": str(jobs_root / "gone"), "known": str(jobs_root / "known")})
    assert index["queue"] == ["gone"]
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    manager = JobRecoveryManager(jobs_root)
    finding = only(manager.validate_job_consistency(), "index-dangling")
    assert manager.fix(finding).outcome is Outcome.FIXED
    after = json.loads((jobs_root / "jobs_index.json").read_text())
    assert (after["jobs"], after["queue"]) == ({"known": str(jobs_root / "known")}, [])
    assert set(manager.scan().jobs) == {"known"}


def test_leftovers_of_interrupted_writes_are_removed_but_a_live_writers_temp_file_is_not(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "j", status="PENDING")
    (job_dir / ".backups").mkdir()
    for leftover in (job_dir / LEFTOVER, job_dir / ".backups" / LEFTOVER):
        leftover.write_bytes(b'{"half": ')
    live = job_dir / f".logist-tmp-job_manifest.json.{os.getpid()}.feedbeef"
    live.write_bytes(b"{")
    manager = JobRecoveryManager(jobs_root)
    finding = only(manager.validate_job_consistency("j"), "write-leftovers")
    assert "2 temp file(s)" in finding.message
    assert manager.fix(finding).outcome is Outcome.FIXED
    assert not (job_dir / LEFTOVER).exists() and not (job_dir / ".backups" / LEFTOVER).exists()
    assert live.exists()


def test_temp_files_older_than_an_hour_are_removed_from_resting_jobs_only(
    jobs_root: Path, procs: Processes
) -> None:
    resting = write_job(jobs_root, "rest", status="PENDING")
    active = crashed_job(jobs_root, "act", procs.dead_identity())
    for job_dir in (resting, active):
        (job_dir / "temp").mkdir()
        touch(job_dir / "temp" / "old.bin", age=2 * 3600)
        touch(job_dir / "temp" / "new.bin")
    manager = JobRecoveryManager(jobs_root)
    findings = manager.validate_job_consistency()
    finding = only(findings, "old-temp-files")
    assert (finding.job_id, finding.severity) == ("rest", Severity.INFO)
    assert manager.fix(finding).message == "removed 1 file(s)"
    assert sorted(p.name for p in (resting / "temp").iterdir()) == ["new.bin"]
    assert sorted(p.name for p in (active / "temp").iterdir()) == ["new.bin", "old.bin"]


def test_validating_an_unknown_job_says_so(jobs_root: Path) -> None:
    with pytest.raises(JobNotFound):
        JobRecoveryManager(jobs_root).validate_job_consistency("nope")


def test_every_fix_is_an_audited_action(jobs_root: Path) -> None:
    write_job(jobs_root, "stray", status="PENDING")
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"gone": "/nowhere"}}))
    (jobs_root / "stray" / LEFTOVER).write_bytes(b"{")
    manager = JobRecoveryManager(jobs_root)
    fixable = [f for f in manager.validate_job_consistency() if f.fix is not None]
    assert all(manager.fix(f).ok for f in fixable)
    lines = read_audit(jobs_root)
    assert sorted(line["action"] for line in lines) == sorted(f"fix:{f.fix}" for f in fixable)
    assert len(lines) == 3
    assert all(line["at"] and line["pid"] == os.getpid() for line in lines)


def health(root: Path, **policy: float) -> tuple[Health, dict]:
    report = JobRecoveryManager(root, policy=Policy(**policy)).get_recovery_status_report()
    return report.overall, json.loads(json.dumps(report.to_dict()))


def test_a_root_of_resting_and_finished_jobs_is_healthy_with_every_check_passing(
    jobs_root: Path,
) -> None:
    write_job(jobs_root, "a", status="PENDING")
    write_job(jobs_root, "b", status="SUCCESS")
    overall, report = health(jobs_root)
    assert overall is Health.HEALTHY and Health.HEALTHY.exit_code == 0
    checks = {c["name"]: c["status"] for c in report["checks"]}
    assert {"root-exists", "root-readable", "root-writable", "filesystem", "free-disk"} <= set(
        checks
    )
    assert set(checks.values()) == {"ok"}
    assert report["counts_by_verdict"] == {"idle": 1, "done": 1}
    assert report["counts_by_status"] == {"PENDING": 1, "SUCCESS": 1}
    assert report["job_count"] == 2 and report["scan_duration_s"] >= 0


def test_a_stalled_job_degrades_the_root(jobs_root: Path) -> None:
    touch(write_job(jobs_root, "s", status="EXECUTING") / "job_manifest.json", age=600)
    assert health(jobs_root, stall_after=60)[0] is Health.DEGRADED
    assert Health.DEGRADED.exit_code == 1


def test_a_crashed_job_makes_the_root_critical_with_the_age_of_the_oldest_crash(
    jobs_root: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "c", procs.dead_identity())
    touch(job_dir / "job_manifest.json", age=900)
    overall, report = health(jobs_root)
    assert overall is Health.CRITICAL and Health.CRITICAL.exit_code == 2
    assert 890 < report["oldest_crash_age_s"] < 960
    assert report["summary"] == "1 jobs: 1 crashed"


def test_a_root_that_refuses_writes_is_degraded_with_a_warning(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    with unwritable(jobs_root):
        overall, report = health(jobs_root)
    assert overall is Health.DEGRADED
    assert {c["name"]: c["status"] for c in report["checks"]}["root-writable"] == "warning"


def test_a_root_that_vanishes_under_the_manager_reports_unknown(jobs_root: Path) -> None:
    manager = JobRecoveryManager(jobs_root)
    shutil.rmtree(jobs_root)
    report = manager.get_recovery_status_report()
    assert report.overall is Health.UNKNOWN and Health.UNKNOWN.exit_code == 3
    assert report.summary.startswith("scan failed")
    assert {c.name: c.status for c in report.checks}["root-exists"] is Severity.ERROR
