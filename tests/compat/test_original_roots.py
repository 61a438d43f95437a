"""Both directions against the original Logist's own code (see conftest.py).

We read theirs: every root the original writes (its core library, its CLI, the very old index
schema, its example manifests) is listed job for job with no false finding. They read ours:
after our recover, bulk, fix and run, the original loads every manifest and the index, lists each
job once, and accepts the next move of its own state machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import read_job
from logist.core import (
    LAST_OWNER_KEY,
    OWNER_KEY,
    JobRecoveryManager,
    Outcome,
    Policy,
    VerdictKind,
)
from logist.core._states import ACTIVE_STATES, safe_state
from logist.runner import run_job

from .conftest import Original

KINDS = ("core", "cli", "very-old")
TRUE_FINDINGS = {"deprecated-status"}
"""The only findings a root the original wrote may have: it does use deprecated states."""
CARRY_ON = {"STEP_START", "RESUBMIT", "RESUME", "COMPLETED", "APPROVE"}
"""Actions that take a job up again in the original (as opposed to SUSPEND/CANCEL/STUCK)."""


def make_root(original: Original, tmp_path: Path, kind: str) -> tuple[Path, dict[str, str]]:
    """A root written by the original's own code; the very old index schema (dict entries) is
    no longer written by any of its code, so that index is converted from its core one."""
    root = tmp_path / "jobs"
    if kind == "cli":
        return root, original.run("make_cli", root, str(original.examples))
    made = original.run("make_core", root)
    if kind == "very-old":
        index_path = root / "jobs_index.json"
        index = json.loads(index_path.read_text())
        index["jobs"] = {
            job_id: {
                "job_id": job_id,
                "status": made[job_id],
                "created_at": "2025-01-01T00:00:00",
                "directory": path,
            }
            for job_id, path in index["jobs"].items()
        }
        index_path.write_text(json.dumps(index, indent=2))
    return root, made


def manager(root: Path, **policy: float) -> JobRecoveryManager:
    return JobRecoveryManager(root, policy=Policy(**policy), operator="compat")


def false_findings(root: Path) -> list[tuple[str | None, str, str]]:
    return [
        (f.job_id, f.code, f.message)
        for f in manager(root).validate_job_consistency()
        if f.code not in TRUE_FINDINGS
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_we_read_every_root_the_original_writes_without_false_findings(
    original: Original, tmp_path: Path, kind: str
) -> None:
    root, made = make_root(original, tmp_path, kind)
    snapshot = manager(root).scan()
    assert {job_id: job.status for job_id, job in snapshot.jobs.items()} == made
    assert false_findings(root) == []
    for job in snapshot.jobs.values():  # nothing the original wrote is a crash without proof
        assert job.kind in (
            VerdictKind.IDLE,
            VerdictKind.WAITING,
            VerdictKind.DONE,
            VerdictKind.UNVERIFIED,
        ), (job.job_id, job.kind)
    if kind == "cli":
        assert snapshot.jobs["sample-implementation"].path.name == "test_poststep_job"


@pytest.mark.parametrize("kind", KINDS)
def test_after_our_recover_fix_and_run_the_original_reads_every_job_once_and_carries_on(
    original: Original, tmp_path: Path, kind: str
) -> None:
    root, made = make_root(original, tmp_path, kind)
    ours = manager(root, stall_after=0.0)
    active = sorted(j for j, s in made.items() if s in ACTIVE_STATES)
    bulk = ours.perform_bulk_recovery(include_inferred=True)
    assert sorted(r.job_id for r in bulk.results if r.outcome is Outcome.RECOVERED) == active
    victim = "cli-pending" if kind == "cli" else "core-pending"
    (ours.job(victim).path / "job_manifest.json").write_bytes(b'{"status": "PEND')
    (restore,) = [f for f in ours.validate_job_consistency(victim) if f.fix is not None]
    assert ours.fix(restore).outcome is Outcome.FIXED
    draft = "cli-draft" if kind == "cli" else "core-draft"
    assert run_job(root, draft, ["true"], heartbeat=30) == 0
    assert run_job(root, "ours-new", ["true"], heartbeat=30) == 0
    statuses = {job_id: job.status for job_id, job in manager(root).scan().jobs.items()}
    assert set(statuses) == {*made, "ours-new"}

    theirs = original.run("load_all", root)
    assert theirs["loaded"] == statuses
    if kind == "very-old":  # its list_jobs cannot read this schema, ours or not: its own bug
        assert theirs["listed"].startswith("failed: TypeError")
    else:
        listed = [job_id for job_id, _ in theirs["listed"]]
        assert sorted(listed) == sorted(statuses)  # each job once
    moved = original.run("carry_on", root)
    refused = {job_id: m for job_id, m in moved.items() if str(m[2]).startswith("refused")}
    assert refused == {}
    assert false_findings(root) == []


def test_every_safe_state_lets_the_original_carry_on(original: Original, tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    root.mkdir()
    safe = {
        status: {safe_state(status, 1), safe_state(status, 99)} for status in sorted(ACTIVE_STATES)
    }
    targets = sorted(set().union(*safe.values()))
    accepted = original.run("actions", root, ",".join(targets))
    for status, states in safe.items():
        for state in states:
            assert CARRY_ON & set(accepted[state]), (status, state, accepted[state])
            assert accepted[state].get("CANCEL") == "CANCELED", (status, state)


def test_the_two_recovery_managers_agree_on_the_states_the_original_recovers(
    original: Original, tmp_path: Path
) -> None:
    theirs_root, _ = make_root(original, tmp_path / "theirs", "core")
    ours_root, _ = make_root(original, tmp_path / "ours", "core")
    theirs = original.run("original_recovery", theirs_root)
    assert sorted(theirs["crashed"]) == ["core-reviewing", "core-running"]
    ours = manager(ours_root, stall_after=0.0)
    for job_id in theirs["crashed"]:
        assert ours.job(job_id).kind is VerdictKind.STALLED
        assert ours.recover_crashed_job(job_id).to_status == theirs["after"][job_id]
    # what the original's recovery wrote is read without a false finding
    assert false_findings(theirs_root) == []


def test_the_runner_stops_when_the_original_cancels_its_job(
    original: Original, tmp_path: Path, start_runner
) -> None:
    root, _ = make_root(original, tmp_path, "core")
    job = start_runner("core-pending", "sleep", "60", heartbeat=0.1, root=root)
    original.run("set_status", root, "core-pending=CANCELED")
    assert job.proc.wait(20) == 128 + signal.SIGTERM
    data = read_job(root, "core-pending")
    assert data["status"] == "CANCELED"
    assert data["history"][-1]["event"] == "RUNNER_STOPPED"
    assert "HARVESTING" not in [h.get("new_status") for h in data["history"]]
    assert original.run("load_all", root)["loaded"]["core-pending"] == "CANCELED"


def test_jobs_json_shows_what_the_original_records(original: Original, tmp_path: Path) -> None:
    core, _ = make_root(original, tmp_path / "a", "core")
    cli, _ = make_root(original, tmp_path / "b", "cli")
    listing = {root: json.loads(_jobs_json(root)) for root in (core, cli)}
    jobs = {j["job_id"]: j for root in listing.values() for j in root["jobs"]}
    error = jobs["core-error"]["facts"]["recorded"]["last_error"]
    assert error["message"] == "agent timed out"
    assert set(error["classification"]) == {
        "severity",
        "category",
        "user_message",
        "suggested_action",
        "correlation_id",
        "can_retry",
    }
    created = jobs["core-draft"]["facts"]["recorded"]["created_message"]
    assert created == "Job directory created for core-draft"
    recorded = jobs["cli-pending"]["facts"]["recorded"]
    assert (recorded["runner"], recorded["agent"]) == (
        "podman",
        "aider-chat",
    )
    assert jobs["test-job"]["facts"]["recorded"] is None  # its example records nothing
    assert jobs["test_error_job_sim"]["facts"]["recorded"]["errors"] == 1  # its ERROR entry
    assert jobs["core-error"]["facts"]["recorded"]["warning_percentage"] == 75.0
    # what its job directory holds: the outcome its save_latest_outcome wrote, its backups
    files = jobs["core-error"]["facts"]["files"]
    assert files["latest_outcome"]["action"] == "COMPLETED"
    backups = sorted((core / "core-error" / ".backups").glob("*.json.backup"))
    assert backups and files["backups"] == len(backups)
    assert jobs["test-job"]["facts"]["files"]["latest_outcome"] is None
    archived = listing[core]["archived"]
    assert archived[0]["job_id"] == "core-archived"
    assert archived[1]["archive"].startswith("backups/core-archived_cleanup_")
    assert listing[cli]["current_job_id"] == "sample-implementation"


def _jobs_json(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(root), "--json", "--files"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_originals_lock_directory_for_an_index_key_does_not_split_the_job(
    original: Original, tmp_path: Path
) -> None:
    root, _ = make_root(original, tmp_path, "cli")
    original.run("set_status", root, "test_poststep_job=RUNNING")
    theirs = original.run("original_recovery", root)
    assert "sample-implementation" not in theirs["crashed"]  # its manager misses the job...
    assert (root / "sample-implementation" / ".lock").exists()  # ...and leaves a stray lock dir
    index_before = (root / "jobs_index.json").read_bytes()
    ours = manager(root)
    job = ours.job("sample-implementation")
    assert (job.path.name, job.status) == ("test_poststep_job", "RUNNING")
    assert [j for j in ours.scan().jobs if "poststep" in j] == []
    findings = ours.validate_job_consistency()
    assert [(f.job_id, f.code) for f in findings if f.code not in TRUE_FINDINGS] == [
        ("sample-implementation", "job-dir-no-manifest")
    ]
    for finding in findings:
        ours.fix(finding)
    assert (root / "jobs_index.json").read_bytes() == index_before


def test_our_owner_keys_are_keys_the_original_never_writes(original: Original) -> None:
    sources = [p.read_text() for p in (original.source / "src").rglob("*.py")]
    assert len(sources) > 20  # its whole package, not an empty glob
    for key in (OWNER_KEY, LAST_OWNER_KEY):
        assert not [s for s in sources if f'"{key}"' in s or f"'{key}'" in s]


def test_the_originals_backup_restore_picks_our_newest_backup(
    original: Original, tmp_path: Path
) -> None:
    root, _ = make_root(original, tmp_path, "core")
    ours = manager(root, stall_after=0.0)
    ours.recover_crashed_job("core-executing")  # backs up its EXECUTING manifest, ours-named
    (root / "core-executing" / "job_manifest.json").write_bytes(b'{"status": "PEND')
    restored = original.run("restore_backup", root, "core-executing")
    assert restored.startswith("job_manifest_") and "T" in restored  # our backup, not its own
    assert read_job(root, "core-executing")["status"] == "EXECUTING"  # the bytes we backed up
