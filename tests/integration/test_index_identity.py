"""One job, one identity: index keys that differ from their directory, and the runner's entry in
the index the original enumerates from.

The original's `job create` on a directory holding a `sample-job.json` indexes the spec's job_id
(`sample-implementation`) over the directory's own name (`test_poststep_job/`); tests/compat
makes that root with the original itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, read_job, write_job
from corpus import cli_index, core_index, logist_cli_manifest, very_old_index
from logist.core import JobRecoveryManager, Outcome, Policy, VerdictKind
from logist.runner import run_job


def manager(root: Path) -> JobRecoveryManager:
    return JobRecoveryManager(root, policy=Policy(stall_after=5.0), operator="tester")


def spec_job(root: Path, key: str = "sample-implementation") -> None:
    """A crashed legacy job whose index key is not its directory's name."""
    directory = "test_poststep_job"
    write_job(root, directory, logist_cli_manifest(key, "EXECUTING"), process_id=IMPOSSIBLE_PID)
    (root / "jobs_index.json").write_text(json.dumps(cli_index({key: str(root / directory)})))


def test_a_job_indexed_under_another_name_is_listed_once_under_its_index_key(
    jobs_root: Path,
) -> None:
    spec_job(jobs_root)
    snapshot = manager(jobs_root).scan()
    assert list(snapshot.jobs) == ["sample-implementation"]
    job = snapshot.jobs["sample-implementation"]
    assert job.location.directory == str(jobs_root / "test_poststep_job")
    assert job.location.indexed and job.kind is VerdictKind.CRASHED
    assert manager(jobs_root).validate_job_consistency() == []


def test_it_is_recovered_once_and_fixing_never_indexes_it_twice(jobs_root: Path) -> None:
    spec_job(jobs_root)
    index_before = (jobs_root / "jobs_index.json").read_bytes()
    results = manager(jobs_root).perform_bulk_recovery()
    assert [(r.job_id, r.outcome) for r in results.results] == [
        ("sample-implementation", Outcome.RECOVERED)
    ]
    data = read_job(jobs_root, "test_poststep_job")
    assert [h.get("event") for h in data["history"]].count("CRASH_RECOVERY") == 1
    for finding in manager(jobs_root).validate_job_consistency():
        manager(jobs_root).fix(finding)
    assert (jobs_root / "jobs_index.json").read_bytes() == index_before
    assert not (jobs_root / "sample-implementation").exists()


def test_a_second_index_entry_for_the_same_directory_is_one_finding_not_a_job(
    jobs_root: Path,
) -> None:
    spec_job(jobs_root)
    index = json.loads((jobs_root / "jobs_index.json").read_text())
    index["jobs"]["alias"] = str(jobs_root / "test_poststep_job")
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    snapshot = manager(jobs_root).scan()
    assert list(snapshot.jobs) == ["sample-implementation"]
    findings = manager(jobs_root).validate_job_consistency()
    assert [(f.job_id, f.code) for f in findings] == [("alias", "index-duplicate")]


@pytest.mark.parametrize("schema", [core_index, cli_index, very_old_index])
def test_the_runner_registers_its_job_in_the_index_in_its_own_schema(
    jobs_root: Path, schema
) -> None:
    write_job(jobs_root, "old", status="SUCCESS")
    index = schema({"old": str(jobs_root / "old")})
    index["queue"] = ["old"]
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    assert run_job(jobs_root, "fresh", ["true"], heartbeat=30) == 0
    after = json.loads((jobs_root / "jobs_index.json").read_text())
    entry = after["jobs"]["fresh"]
    directory = entry["directory"] if isinstance(entry, dict) else entry
    assert directory == str(jobs_root / "fresh")
    assert isinstance(entry, dict) == (schema is very_old_index)
    del after["jobs"]["fresh"]
    assert after == index  # queue, current_job_id and everything else as they were


def test_no_index_is_created_and_an_unreadable_one_is_left_alone(jobs_root: Path) -> None:
    assert run_job(jobs_root, "a", ["true"], heartbeat=30) == 0
    assert not (jobs_root / "jobs_index.json").exists()
    (jobs_root / "jobs_index.json").write_bytes(b'{"jobs": {"x": ')
    assert run_job(jobs_root, "b", ["true"], heartbeat=30) == 0
    assert (jobs_root / "jobs_index.json").read_bytes() == b'{"jobs": {"x": '


def test_registration_waits_for_the_index_lock(jobs_root: Path) -> None:
    (jobs_root / "jobs_index.json").write_text(json.dumps(core_index({})))
    fd = os.open(jobs_root / ".jobs_index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as the original's JobLockManager holds it
    released: list[float] = []

    def release() -> None:
        time.sleep(0.5)
        released.append(time.time())
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    holder = threading.Thread(target=release)
    holder.start()
    assert run_job(jobs_root, "waited", ["true"], heartbeat=30) == 0
    holder.join()
    assert "waited" in json.loads((jobs_root / "jobs_index.json").read_text())["jobs"]
    assert (jobs_root / "jobs_index.json").stat().st_mtime >= released[0] - 0.01


def test_running_an_index_key_runs_in_the_directory_the_index_names(jobs_root: Path) -> None:
    write_job(jobs_root, "test_poststep_job", logist_cli_manifest("sample-implementation"))
    (jobs_root / "jobs_index.json").write_text(
        json.dumps(cli_index({"sample-implementation": str(jobs_root / "test_poststep_job")}))
    )
    assert run_job(jobs_root, "sample-implementation", ["true"], heartbeat=30) == 0
    assert not (jobs_root / "sample-implementation").exists()
    assert read_job(jobs_root, "test_poststep_job")["status"] == "SUCCESS"
    assert list(manager(jobs_root).scan().jobs) == ["sample-implementation"]
