"""The jobs root: index schemas merged with directories, the confinement fence, and proof that
reading a root writes nothing at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, read_job, write_job
from corpus import (
    BROKEN,
    cli_index,
    core_index,
    logist_cli_manifest,
    logist_core_manifest,
    very_old_index,
)
from logist.core import JobRecoveryManager, NotRecoverable, Outcome, Policy, VerdictKind
from logist.core._identity import identity_of
from staging import Processes, crashed_job, runner_block, touch, tree_state


def codes(manager: JobRecoveryManager) -> set[tuple[str | None, str]]:
    return {(f.job_id, f.code) for f in manager.validate_job_consistency()}


@pytest.mark.parametrize("schema", [core_index, cli_index, very_old_index])
def test_the_jobs_are_the_union_of_the_index_in_any_schema_and_the_directories(
    jobs_root: Path, schema
) -> None:
    write_job(jobs_root, "both", status="PENDING")
    write_job(jobs_root, "dir-only", status="PENDING")
    index = schema({"both": str(jobs_root / "both"), "index-only": str(jobs_root / "index-only")})
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    manager = JobRecoveryManager(jobs_root)
    jobs = manager.scan().jobs
    assert set(jobs) == {"both", "dir-only", "index-only"}
    assert (jobs["both"].location.indexed, jobs["dir-only"].location.indexed) == (True, False)
    assert jobs["index-only"].kind is VerdictKind.CORRUPT
    assert codes(manager) == {("dir-only", "not-indexed"), ("index-only", "index-dangling")}


def test_index_paths_relative_to_the_root_are_accepted(jobs_root: Path) -> None:
    write_job(jobs_root, "rel", status="PENDING")
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"rel": "rel"}}))
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("rel").location.indexed
    assert codes(manager) == set()


def test_a_plain_directory_without_job_files_is_not_a_job(jobs_root: Path) -> None:
    (jobs_root / "scratch").mkdir()
    write_job(jobs_root, "real", status="PENDING")
    assert set(JobRecoveryManager(jobs_root).scan().jobs) == {"real"}


@pytest.mark.parametrize("entry", ["ABS", "../outside", "rel/../../outside"])
def test_an_index_entry_leading_outside_the_root_is_reported_and_never_written(
    jobs_root: Path, outside: Path, entry: str
) -> None:
    path = str(outside) if entry == "ABS" else entry
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"esc": path}}))
    manager = JobRecoveryManager(jobs_root)
    state = manager.job("esc")
    assert state.kind is VerdictKind.CORRUPT
    assert "outside the root" in state.verdict.reason
    result = manager.recover_crashed_job("esc", force=True)
    assert result.outcome is Outcome.REFUSED
    findings = [f for f in manager.validate_job_consistency() if f.job_id == "esc"]
    assert [(f.code, str(f.severity)) for f in findings] == [("index-outside-root", "error")]
    assert manager.fix(findings[0]).outcome is Outcome.FIXED
    assert json.loads((jobs_root / "jobs_index.json").read_text())["jobs"] == {}


def test_index_entries_with_unsafe_ids_are_reported_and_ignored(jobs_root: Path) -> None:
    jobs = {"..": "/", "../up": "/tmp", ".hidden": "x", "ok": "ok"}
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": jobs}))
    write_job(jobs_root, "ok", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    assert set(manager.scan().jobs) == {"ok"}
    assert {code for _, code in codes(manager)} == {"index-bad-id"}


def test_a_job_directory_symlinked_outside_is_reported_never_read_or_written(
    jobs_root: Path, outside: Path
) -> None:
    (jobs_root / "link").symlink_to(outside)
    manager = JobRecoveryManager(jobs_root)
    state = manager.job("link")
    assert state.kind is VerdictKind.CORRUPT
    assert not state.location.writable
    assert ("link", "job-dir-outside-root") in codes(manager)
    assert manager.recover_crashed_job("link", force=True).outcome is Outcome.REFUSED
    with pytest.raises(NotRecoverable):
        manager.reattach_to_running_job("link")


def test_a_job_directory_symlinked_inside_the_root_is_read_but_not_written(
    jobs_root: Path, procs: Processes
) -> None:
    crashed_job(jobs_root, "real", procs.dead_identity())
    (jobs_root / "alias").symlink_to(jobs_root / "real")
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("alias").kind is VerdictKind.CRASHED
    before = tree_state(jobs_root)
    assert manager.recover_crashed_job("alias").outcome is Outcome.REFUSED
    assert tree_state(jobs_root) == before


def test_a_manifest_symlinked_outside_is_not_followed_and_restoring_replaces_only_the_link(
    jobs_root: Path, outside: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "ml", procs.dead_identity(), status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    manager.recover_crashed_job("ml")  # nothing to do, but proves the job is ours
    backups = job_dir / ".backups"
    backups.mkdir()
    (backups / "job_manifest_20260101T000000_000001.json.backup").write_text(
        json.dumps({"job_id": "ml", "status": "PENDING"})
    )
    (job_dir / "job_manifest.json").unlink()
    (job_dir / "job_manifest.json").symlink_to(outside / "job_manifest.json")
    assert manager.job("ml").kind is VerdictKind.CORRUPT
    [finding] = [f for f in manager.validate_job_consistency("ml") if f.fix is not None]
    assert manager.fix(finding).outcome is Outcome.FIXED
    assert not (job_dir / "job_manifest.json").is_symlink()
    assert read_job(jobs_root, "ml")["status"] == "PENDING"


def test_a_backups_directory_symlinked_outside_makes_recovery_fail_without_writing(
    jobs_root: Path, outside: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "bl", procs.dead_identity())
    (job_dir / ".backups").symlink_to(outside)
    before = (job_dir / "job_manifest.json").read_bytes()
    result = JobRecoveryManager(jobs_root).recover_crashed_job("bl")
    assert result.outcome is Outcome.FAILED
    assert (job_dir / "job_manifest.json").read_bytes() == before


def test_a_log_symlinked_outside_the_job_is_never_shown(jobs_root: Path, tmp_path: Path) -> None:
    job_dir = write_job(jobs_root, "lg", status="PENDING")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.log").write_text("secret\n")
    (job_dir / "logs").symlink_to(elsewhere)
    detail = JobRecoveryManager(jobs_root).detail("lg")
    assert (detail.log_path, detail.log_tail) == (None, ())


def stage_every_kind_of_job(root: Path, outside: Path, procs: Processes) -> None:
    """A root with one of everything a scan meets, none of it changing by itself."""
    for name, (raw, _code) in BROKEN.items():
        write_job(root, f"broken-{name}", raw)
    write_job(root, "logist-core", logist_core_manifest("logist-core"))
    write_job(root, "logist-cli", logist_cli_manifest("logist-cli"))
    write_job(root, "legacy-dead", status="EXECUTING", metadata={"pid": IMPOSSIBLE_PID})
    write_job(root, "legacy-live", status="EXECUTING", process_id=procs.sleeper().pid)
    stalled = write_job(root, "stalled", status="EXECUTING")
    touch(stalled / "job_manifest.json", age=3600)
    crashed_job(root, "crashed", procs.dead_identity())
    crashed_job(root, "zombie", procs.zombie())
    hung = root / "hung"
    hung.mkdir()
    holder = procs.lock_holder(hung / ".lock")
    owner = identity_of(holder.pid)
    assert owner is not None
    write_job(root, "hung", status="EXECUTING", owner=runner_block(owner, started_ago=60))
    touch(hung / "heartbeat", age=60)
    suspect = crashed_job(root, "held-by-other", procs.dead_identity())
    procs.lock_holder(suspect / ".lock")
    (root / "crashed" / ".lock").write_bytes(b"not empty")
    (root / "crashed" / ".logist-tmp-job_manifest.json.4194305.abcd").write_bytes(b"{")
    (root / "link-out").symlink_to(outside)
    write_job(root, "manifest-link")
    (root / "manifest-link" / "job_manifest.json").unlink()
    (root / "manifest-link" / "job_manifest.json").symlink_to(outside / "job_manifest.json")
    index = core_index({"logist-core": str(root / "logist-core"), "gone": str(root / "gone")})
    index["jobs"]["escape"] = str(outside)
    index["jobs"][".."] = "/"
    (root / "jobs_index.json").write_text(json.dumps(index))


def test_reading_a_root_in_every_way_changes_no_byte_mode_or_mtime_and_creates_nothing(
    jobs_root: Path, outside: Path, procs: Processes
) -> None:
    stage_every_kind_of_job(jobs_root, outside, procs)
    manager = JobRecoveryManager(jobs_root, policy=Policy(stall_after=60))
    before = tree_state(jobs_root.parent)
    snapshot = manager.scan()
    manager.scan()
    for job_id in snapshot.jobs:
        manager.job(job_id)
        manager.detail(job_id)
        manager.plan(job_id, force=True)
    manager.validate_job_consistency()
    manager.get_recovery_status_report()
    manager.detect_crashed_jobs()
    manager.audit_log()
    manager.pending_bulk_request()
    manager.perform_bulk_recovery(force=True, include_inferred=True, dry_run=True)
    assert tree_state(jobs_root.parent) == before
    kinds = {job_id: job.kind for job_id, job in snapshot.jobs.items()}
    assert kinds["crashed"] is kinds["zombie"] is kinds["legacy-dead"] is VerdictKind.CRASHED
    assert kinds["hung"] is VerdictKind.HUNG
    assert kinds["held-by-other"] is kinds["legacy-live"] is VerdictKind.SUSPECT
    assert kinds["stalled"] is VerdictKind.STALLED
    assert kinds["logist-core"] is VerdictKind.WAITING  # INTERVENTION_REQUIRED: a person must look
    assert kinds["logist-cli"] is VerdictKind.IDLE
    assert kinds["escape"] is kinds["link-out"] is kinds["manifest-link"] is VerdictKind.CORRUPT
    assert ".." not in kinds and os.path.exists(jobs_root / "gone") is False


def test_a_state_directory_symlinked_outside_refuses_actions_before_changing_anything(
    jobs_root: Path, outside: Path, procs: Processes
) -> None:
    job_dir = crashed_job(jobs_root, "c", procs.dead_identity())
    (jobs_root / ".logist").symlink_to(outside)
    before = tree_state(jobs_root)
    manager = JobRecoveryManager(jobs_root)
    result = manager.recover_crashed_job("c")
    assert result.outcome is Outcome.FAILED
    assert "symlink" in result.message
    assert tree_state(jobs_root) == before
    (job_dir / ".logist-tmp-job_manifest.json.4194305.abcd").write_bytes(b"{")
    [finding] = [f for f in manager.validate_job_consistency("c") if f.fix is not None]
    assert manager.fix(finding).outcome is Outcome.FAILED
    assert (job_dir / ".logist-tmp-job_manifest.json.4194305.abcd").exists()
