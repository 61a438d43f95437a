"""Backups of both projects in one `.backups/`: ordered by time, never by the names' spelling.

The original Logist names its backups `job_manifest_YYYYmmdd_HHMMSS.json.backup` (whole seconds,
mtime-ordered by its own code); ours are `job_manifest_YYYYmmddTHHMMSS_<usec>.json.backup`. On one
day `_` sorts after `T`, so a name sort called an hour-old original backup newer than ours.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from conftest import read_job, write_job
from logist.core import JobRecoveryManager, Policy
from logist.core._manifest import backup_name, backup_time, list_backups, make_backup

BASE = datetime(2026, 11, 30, 9, 15, 0).timestamp()


def original_backup(job_dir: Path, at: float, body: bytes, written: float | None = None) -> Path:
    """A backup as the original names it (to the second), its file written at `written`."""
    name = datetime.fromtimestamp(at).strftime("job_manifest_%Y%m%d_%H%M%S.json.backup")
    return _backup(job_dir, name, body, at if written is None else written)


def our_backup(job_dir: Path, at: float, body: bytes) -> Path:
    return _backup(job_dir, backup_name(datetime.fromtimestamp(at)), body, at)


def _backup(job_dir: Path, name: str, body: bytes, mtime: float) -> Path:
    path = job_dir / ".backups" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(body)
    os.utime(path, (mtime, mtime))
    return path


def bodies(job_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in list_backups(job_dir)]


def test_both_projects_names_parse_to_their_time() -> None:
    ours = backup_name(datetime.fromtimestamp(BASE + 0.25))
    assert backup_time(ours) == (BASE + 0.25, 0)
    assert backup_time(ours.replace(".json", "-2.json")) == (BASE + 0.25, 2)
    assert backup_time("job_manifest_20261130_091500.json.backup") == (BASE, 0)
    assert backup_time("job_manifest_latest.json.backup") is None


def test_a_newer_backup_of_ours_is_newer_than_an_older_original_one_of_the_same_day(
    tmp_path: Path,
) -> None:
    original_backup(tmp_path, BASE, b"theirs, 09:15:00")
    our_backup(tmp_path, BASE + 40, b"ours, 09:15:40")
    original_backup(tmp_path, BASE - 3600, b"theirs, 08:15:00")
    assert bodies(tmp_path) == [b"ours, 09:15:40", b"theirs, 09:15:00", b"theirs, 08:15:00"]


def test_within_one_second_the_mtime_decides_against_whole_second_names(tmp_path: Path) -> None:
    our_backup(tmp_path, BASE + 0.3, b"ours at .3")
    original_backup(tmp_path, BASE, b"theirs written at .8", written=BASE + 0.8)
    assert bodies(tmp_path) == [b"theirs written at .8", b"ours at .3"]


def test_names_without_a_stamp_are_ordered_by_mtime(tmp_path: Path) -> None:
    _backup(tmp_path, "job_manifest_manual.json.backup", b"manual", BASE + 10)
    our_backup(tmp_path, BASE, b"ours")
    assert bodies(tmp_path) == [b"manual", b"ours"]


def test_rotation_deletes_the_oldest_of_either_project_first(tmp_path: Path) -> None:
    now = datetime.now().timestamp()
    for age in (500, 400, 300):
        our_backup(tmp_path, now - age, f"ours {age}".encode())
    for age in (200, 100):
        original_backup(tmp_path, now - age, f"theirs {age}".encode())
    made = make_backup(tmp_path, b"new", keep=3)
    assert list_backups(tmp_path)[0] == made
    assert bodies(tmp_path) == [b"new", b"theirs 100", b"theirs 200"]


def test_future_dated_names_never_make_rotation_delete_the_new_backup(tmp_path: Path) -> None:
    now = datetime.now().timestamp()
    future = datetime(2099, 1, 1).timestamp()
    for n in range(4):  # a clock set back since, or files copied from a machine ahead of ours
        original_backup(tmp_path, future + n, f"future {n}".encode(), written=now - 60 + n)
        our_backup(tmp_path, future + 10 + n, f"future ours {n}".encode())
        os.utime(list_backups(tmp_path)[0], (now - 30 + n, now - 30 + n))
    made = make_backup(tmp_path, b"new", keep=3)
    assert made.exists() and list_backups(tmp_path)[0] == made
    assert len(list_backups(tmp_path)) == 3


def test_fix_restores_the_newest_backup_not_an_older_original_one(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "j", status="PENDING")
    old = {"job_id": "j", "status": "PENDING", "generation": 3, "history": [{"event": "a"}]}
    new = {**old, "generation": 4, "history": [{"event": "a"}, {"event": "b"}]}
    now = datetime.now().timestamp()
    original_backup(job_dir, now - 3, json.dumps(old).encode())
    our_backup(job_dir, now - 2, json.dumps(new).encode())
    (job_dir / "job_manifest.json").write_bytes(b'{"status": "PEND')
    manager = JobRecoveryManager(jobs_root, policy=Policy(), operator="tester")
    (finding,) = [f for f in manager.validate_job_consistency("j") if f.fix is not None]
    manager.fix(finding)
    restored = read_job(jobs_root, "j")
    assert restored["history"][:2] == new["history"] and restored["generation"] > 4
