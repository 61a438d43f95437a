"""One manager scanning a changing root: the warm (incremental) scan must see every change."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

from conftest import wait_for, write_job
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._identity import Liveness, identity_of, liveness
from logist.core._manifest import atomic_write_bytes, dumps


def kinds(manager: JobRecoveryManager) -> dict[str, VerdictKind]:
    return {job_id: job.kind for job_id, job in manager.scan().jobs.items()}


def test_jobs_that_come_and_go_between_scans_are_seen(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    write_job(jobs_root, "b", status="SUCCESS")
    assert kinds(manager) == {"a": VerdictKind.IDLE, "b": VerdictKind.DONE}
    shutil.rmtree(jobs_root / "a")
    assert kinds(manager) == {"b": VerdictKind.DONE}


def test_a_manifest_written_into_a_directory_that_was_empty_appears(jobs_root: Path) -> None:
    (jobs_root / "late").mkdir()
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {}
    write_job(jobs_root, "late", status="PENDING")
    assert kinds(manager) == {"late": VerdictKind.IDLE}


def test_a_manifest_replaced_or_rewritten_in_place_is_read_again(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "a", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    atomic_write_bytes(job_dir / "job_manifest.json", dumps({"job_id": "a", "status": "SUCCESS"}))
    assert kinds(manager) == {"a": VerdictKind.DONE}
    (job_dir / "job_manifest.json").write_text(json.dumps({"job_id": "a", "status": "DRAFT"}))
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    assert manager.scan().jobs["a"].status == "DRAFT"
    (job_dir / "job_manifest.json").write_bytes(b"{")
    assert kinds(manager) == {"a": VerdictKind.CORRUPT}


def test_an_index_rewritten_between_scans_is_merged_again(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"a": str(jobs_root / "a")}}))
    manager = JobRecoveryManager(jobs_root)
    assert set(kinds(manager)) == {"a"}
    index = {"jobs": {"a": str(jobs_root / "a"), "ghost": str(jobs_root / "ghost")}}
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    assert kinds(manager) == {"a": VerdictKind.IDLE, "ghost": VerdictKind.CORRUPT}


def test_an_owner_killed_between_two_scans_is_crashed_on_the_next_one(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("r", "sleep", "60", heartbeat=1.0)
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"r": VerdictKind.RUNNING}
    child = identity_of(job.child_pid)
    assert child is not None
    job.proc.kill()  # the runner first: killed second, it could record the command's death
    job.proc.wait()
    os.killpg(child.pid, signal.SIGKILL)
    wait_for(lambda: liveness(child) is Liveness.DEAD)
    assert kinds(manager) == {"r": VerdictKind.CRASHED}
