"""The original Logist's `runner` field is its runner's name; our owner record has a key of its own.

Manifests written by earlier versions of this project, with the owner record under `runner`, are
read as before and migrated to OWNER_KEY by the next write.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import read_job, write_job
from logist.core import LAST_OWNER_KEY, OWNER_KEY, JobRecoveryManager, Policy, VerdictKind
from logist.core._manifest import parse_manifest
from logist.runner import run_job
from staging import Processes, crashed_job


def test_an_owner_record_under_the_old_runner_key_is_read_as_the_owner() -> None:
    record = {"host": "h", "boot_id": "b", "pid": 5, "start_token": 9}
    raw = json.dumps({"status": "EXECUTING", "runner": record, "last_runner": record}).encode()
    read = parse_manifest(raw)
    assert read.data is not None and not read.problems
    assert read.data == {"status": "EXECUTING", OWNER_KEY: record, LAST_OWNER_KEY: record}


def test_the_originals_runner_name_is_neither_moved_nor_a_finding() -> None:
    read = parse_manifest(json.dumps({"status": "PENDING", "runner": "podman"}).encode())
    assert read.data == {"status": "PENDING", "runner": "podman"}
    assert read.problems == ()


def test_recovery_keeps_the_runner_name_and_migrates_an_old_owner_record(
    jobs_root: Path, procs: Processes
) -> None:
    dead = procs.dead_identity()
    crashed_job(jobs_root, "new", dead, runner="podman")
    old = crashed_job(jobs_root, "old", dead)
    data = json.loads((old / "job_manifest.json").read_text())
    data["runner"] = data.pop(OWNER_KEY)  # as versions before the key change wrote it
    (old / "job_manifest.json").write_text(json.dumps(data))
    manager = JobRecoveryManager(jobs_root, policy=Policy(), operator="tester")
    assert manager.job("old").verdict.kind is VerdictKind.CRASHED
    assert not [f for f in manager.validate_job_consistency() if f.code == "field-wrong-type"]
    for job_id in ("new", "old"):
        manager.recover_crashed_job(job_id)
    assert read_job(jobs_root, "new")["runner"] == "podman"
    migrated = read_job(jobs_root, "old")
    assert "runner" not in migrated and OWNER_KEY not in migrated
    assert migrated[LAST_OWNER_KEY]["pid"] == dead.pid


def test_logist_run_keeps_the_runner_name_through_to_success(jobs_root: Path) -> None:
    write_job(jobs_root, "named", runner="direct", status="PENDING")
    assert run_job(jobs_root, "named", ["true"], heartbeat=0.2) == 0
    data = read_job(jobs_root, "named")
    assert (data["status"], data["runner"]) == ("SUCCESS", "direct")
    assert data[LAST_OWNER_KEY]["command"] == ["true"]


def test_a_fixed_manifest_keeps_the_runner_name(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "fixme", runner="podman", status="SUSPENDED")
    manager = JobRecoveryManager(jobs_root, policy=Policy(), operator="tester")
    backup = job_dir / ".backups" / "job_manifest_20260101_120000.json.backup"
    backup.parent.mkdir()
    backup.write_text((job_dir / "job_manifest.json").read_text())
    (job_dir / "job_manifest.json").write_text('{"status": "SUSP')
    (finding,) = [f for f in manager.validate_job_consistency("fixme") if f.fix is not None]
    manager.fix(finding)
    assert read_job(jobs_root, "fixme")["runner"] == "podman"
