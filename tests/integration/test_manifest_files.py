"""Manifests on disk: the tolerant read of real files, and the one atomic, backed-up write."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import write_job
from corpus import BROKEN, WRONG_TYPES, logist_cli_manifest, logist_core_manifest
from logist.core import JobRecoveryManager, ProblemCode, Severity, VerdictKind
from logist.core._manifest import (
    TEMP_PREFIX,
    atomic_write_bytes,
    list_backups,
    make_backup,
    read_manifest,
    write_manifest,
)


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_manifest_on_disk_is_a_corrupt_job_with_its_problem(
    jobs_root: Path, name: str
) -> None:
    raw, code = BROKEN[name]
    write_job(jobs_root, "broken", raw)
    state = JobRecoveryManager(jobs_root).job("broken")
    assert state.kind is VerdictKind.CORRUPT
    assert [p.code for p in state.problems] == [code]


def test_one_root_holding_the_whole_corpus_scans_every_job_and_hides_none(
    jobs_root: Path,
) -> None:
    for name, (raw, _code) in BROKEN.items():
        write_job(jobs_root, name, raw)
    write_job(jobs_root, "fine", status="PENDING")
    snapshot = JobRecoveryManager(jobs_root).scan()
    assert {job_id: job.kind for job_id, job in snapshot.jobs.items()} == {
        **dict.fromkeys(BROKEN, VerdictKind.CORRUPT),
        "fine": VerdictKind.IDLE,
    }


def test_a_missing_manifest_of_an_indexed_job_is_a_problem_not_a_crash(jobs_root: Path) -> None:
    (jobs_root / "gone").mkdir()
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"gone": "gone"}}))
    state = JobRecoveryManager(jobs_root).job("gone")
    assert state.kind is VerdictKind.CORRUPT
    assert state.problems[0].code is ProblemCode.MISSING


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink"])
def test_a_manifest_that_is_not_a_regular_file_is_never_followed_or_blocked_on(
    jobs_root: Path, outside: Path, kind: str
) -> None:
    job_dir = jobs_root / "odd"
    job_dir.mkdir()
    manifest = job_dir / "job_manifest.json"
    if kind == "fifo":
        os.mkfifo(manifest)
    elif kind == "directory":
        manifest.mkdir()
    else:
        manifest.symlink_to(outside / "job_manifest.json")
    read = read_manifest(manifest)
    assert read.data is None
    assert read.problems[0].code in (ProblemCode.NOT_REGULAR, ProblemCode.UNREADABLE)
    assert JobRecoveryManager(jobs_root).job("odd").kind is VerdictKind.CORRUPT


def test_wrong_field_types_are_warnings_and_the_job_is_still_judged(jobs_root: Path) -> None:
    write_job(
        jobs_root,
        "typed",
        status="PENDING",
        **{k: v for k, v in WRONG_TYPES.items() if k != "status"},
    )
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("typed").kind is VerdictKind.IDLE
    findings = manager.validate_job_consistency("typed")
    assert {f.code for f in findings} >= {"field-wrong-type"}
    assert all(f.severity is not Severity.ERROR for f in findings)


@pytest.mark.parametrize(
    "stamp",
    [None, "2026-11-27T22:56:31.343897", "2026-11-27T22:56:31+00:00", "2026-11-27T22:56:31Z"],
    ids=["null", "naive", "aware", "zulu"],
)
def test_null_naive_and_aware_timestamps_raise_no_finding(
    jobs_root: Path, stamp: str | None
) -> None:
    write_job(
        jobs_root,
        "t",
        status="PENDING",
        created_at=stamp,
        updated_at=stamp,
        history=[{"timestamp": stamp, "event": "JOB_CREATED"}],
    )
    assert JobRecoveryManager(jobs_root).validate_job_consistency("t") == []


def test_an_unparseable_timestamp_is_an_informational_finding_only(jobs_root: Path) -> None:
    write_job(jobs_root, "t", status="PENDING", created_at="last tuesday")
    findings = JobRecoveryManager(jobs_root).validate_job_consistency("t")
    assert [(f.code, f.severity) for f in findings] == [("timestamp-unparseable", Severity.INFO)]


@pytest.mark.parametrize(
    ("make", "kind"),
    # the original core manifest waits in INTERVENTION_REQUIRED: a person must look
    [(logist_core_manifest, VerdictKind.WAITING), (logist_cli_manifest, VerdictKind.IDLE)],
    ids=["core", "cli"],
)
def test_manifests_written_by_logist_tools_read_without_alarming_findings(
    jobs_root: Path, make, kind: VerdictKind
) -> None:
    data = make("orig")
    (jobs_root / "orig").mkdir()
    (jobs_root / "orig" / "job_manifest.json").write_text(json.dumps(data, indent=2))
    manager = JobRecoveryManager(jobs_root)
    state = manager.job("orig")
    assert state.kind is kind
    assert state.problems == ()
    assert manager.validate_job_consistency("orig") == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_an_atomic_write_keeps_the_files_mode_whatever_the_umask(
    jobs_root: Path, mode: int
) -> None:
    target = jobs_root / "file.json"
    target.write_text("{}")
    target.chmod(mode)
    old_umask = os.umask(0o077)
    try:
        atomic_write_bytes(target, b'{"a": 1}')
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_bytes() == b'{"a": 1}'
    assert [p.name for p in jobs_root.iterdir()] == ["file.json"]


def test_an_atomic_write_replaces_the_inode_so_readers_see_old_or_new_bytes(
    tmp_path: Path,
) -> None:
    target = tmp_path / "file.json"
    target.write_text("old")
    with open(target, "rb") as reader:
        atomic_write_bytes(target, b"new")
        assert reader.read() == b"old"
    assert target.read_bytes() == b"new"


def test_a_failed_atomic_write_leaves_the_original_and_no_temp_file(jobs_root: Path) -> None:
    target = jobs_root / "taken"
    target.mkdir()  # os.replace of a file onto a directory fails
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"x")
    assert target.is_dir()
    assert [p.name for p in jobs_root.iterdir()] == ["taken"]


def test_backups_made_in_the_same_microsecond_get_distinct_names(tmp_path: Path) -> None:
    made = [make_backup(tmp_path, f"v{i}".encode(), keep=50) for i in range(20)]
    assert len(set(made)) == 20
    assert sorted(p.read_bytes() for p in made) == sorted(f"v{i}".encode() for i in range(20))


def test_backups_rotate_to_the_newest_n(tmp_path: Path) -> None:
    for i in range(7):
        make_backup(tmp_path, f"v{i}".encode(), keep=3)
    assert [p.read_bytes() for p in list_backups(tmp_path)] == [b"v6", b"v5", b"v4"]


def test_writing_a_manifest_backs_up_the_previous_bytes_and_bumps_the_generation(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "w", status="PENDING", generation=7, unknown_key={"kept": 1})
    (job_dir / "job_manifest.json").chmod(0o640)
    read = read_manifest(job_dir / "job_manifest.json")
    assert read.data is not None
    data = {**read.data, "status": "EXECUTING"}
    write_manifest(job_dir, data, previous_raw=read.raw)
    after = json.loads((job_dir / "job_manifest.json").read_text())
    assert (after["status"], after["generation"], after["unknown_key"]) == (
        "EXECUTING",
        8,
        {"kept": 1},
    )
    assert stat.S_IMODE((job_dir / "job_manifest.json").stat().st_mode) == 0o640
    assert [p.read_bytes() for p in list_backups(job_dir)] == [read.raw]
    assert not [p for p in job_dir.iterdir() if p.name.startswith(TEMP_PREFIX)]
