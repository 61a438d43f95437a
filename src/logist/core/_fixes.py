"""Validation on disk and its fixes: what is found is pure (`snapshot_findings`), what is on
disk is listed here, and every fix is carried out by the acting path (`_acting`)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ._acting import Acting, newest_valid_backup, restorable
from ._audit import audited_action_ids
from ._errors import JobNotFound
from ._manifest import BACKUP_DIR, TEMP_PREFIX
from ._results import ActionResult, Outcome
from ._root import STATE_DIR, RootIssue, validate_job_id
from ._safeio import confined
from ._scan import JobState, Snapshot
from ._states import Category
from ._validation import DiskFacts, Finding, FixKind, snapshot_findings

OLD_TEMP_AGE_S = 3600.0
"""Files in a resting job's `temp/` older than this are offered for removal."""


def findings(
    snapshot: Snapshot, root: Path, now: float, job_id: str | None = None
) -> list[Finding]:
    """Findings for one job, or for the whole root when `job_id` is None."""
    if job_id is not None:
        validate_job_id(job_id)
        if job_id not in snapshot.jobs:
            raise JobNotFound(job_id)
        jobs = [snapshot.jobs[job_id]]
    else:
        jobs = list(snapshot.jobs.values())
        leftovers = root_leftovers(root, now)
        if leftovers:  # an interrupted write of the index or of a bulk request
            names = ", ".join(os.path.relpath(p, root) for p in leftovers)
            issue = RootIssue(
                "write-leftovers",
                f"{len(leftovers)} temp file(s) left by an interrupted write: {names}",
            )
            snapshot = replace(snapshot, root_issues=(*snapshot.root_issues, issue))
    audited = audited_action_ids(root)
    disk = {j.job_id: disk_facts(j, now, audited) for j in jobs if j.location.on_disk}
    found = snapshot_findings(snapshot, disk)
    if job_id is not None:
        found = [f for f in found if f.job_id == job_id]
    return found


def quick_findings(snapshot: Snapshot) -> list[Finding]:
    """Findings cheap enough for every poll: the snapshot's own, plus a backup look-up for
    corrupt jobs only (rare), so their finding can offer the restore."""
    disk = {
        job.job_id: DiskFacts(has_valid_backup=restore_offered(job))
        for job in snapshot.jobs.values()
        if not job.manifest_ok and job.location.on_disk
    }
    return snapshot_findings(snapshot, disk)


def root_leftovers(root: Path, now: float) -> list[str]:
    """Temp files of interrupted writes outside the job directories (index, bulk request)."""
    found = []
    for directory in (root, root / STATE_DIR):
        if directory.is_symlink():
            continue
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found += [
            str(directory / name)
            for name in names
            if name.startswith(TEMP_PREFIX) and _writer_gone(name, directory / name, now)
        ]
    return found


def disk_facts(job: JobState, now: float, audited: set[str] | None = None) -> DiskFacts:
    """What validation lists on disk for one job; `audited`: the audit log's action ids."""
    leftovers = []
    for directory in (job.path, job.path / BACKUP_DIR):
        if not confined(job.path, directory) and directory != job.path:
            continue
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.startswith(TEMP_PREFIX) and _writer_gone(name, directory / name, now):
                leftovers.append(str(directory / name))
    old_temp = []
    if job.category is not Category.ACTIVE and confined(job.path, job.path / "temp"):
        try:
            with os.scandir(job.path / "temp") as it:
                for entry in it:
                    try:
                        if now - entry.stat(follow_symlinks=False).st_mtime > OLD_TEMP_AGE_S:
                            old_temp.append(entry.path)
                    except OSError:
                        continue
        except OSError:
            pass
    has_backup = restore_offered(job)
    action_id = job.facts.last_action_id
    missing = audited is not None and action_id is not None and action_id not in audited
    return DiskFacts(has_backup, tuple(leftovers), tuple(old_temp), missing)


def apply_fix(acting: Acting, finding: Finding, now: float) -> ActionResult:
    """Carry out a finding's fix through the acting path."""
    job_id = finding.job_id
    if finding.fix is None:
        return ActionResult(
            job_id,
            "fix",
            Outcome.REFUSED,
            f"{finding.code}: no automatic fix",
            error="NotRecoverable",
        )
    if finding.fix in (FixKind.REINDEX, FixKind.DROP_INDEX_ENTRY):
        assert job_id is not None
        return acting.edit_index(job_id, add=finding.fix is FixKind.REINDEX)
    if finding.fix is FixKind.RESTORE_BACKUP:
        assert job_id is not None
        return acting.restore_backup(job_id)
    if finding.fix is FixKind.RECONCILE_AUDIT:
        assert job_id is not None
        return acting.reconcile_audit(job_id)
    if finding.fix is FixKind.REMOVE_WRITE_LEFTOVERS and job_id is None:
        return acting.remove_files(
            None, str(finding.fix), lambda _: root_leftovers(acting.root, now)
        )
    leftovers = finding.fix is FixKind.REMOVE_WRITE_LEFTOVERS

    def paths_now(state: JobState | None) -> tuple[str, ...]:
        assert state is not None
        fresh = disk_facts(state, now)
        return fresh.write_leftovers if leftovers else fresh.old_temp_files

    return acting.remove_files(job_id, str(finding.fix), paths_now)


def restore_offered(job: JobState) -> bool:
    """A restore is offered only over a manifest a backup may replace, when one parses."""
    fatal = next((p for p in job.problems if p.fatal), None)
    return (
        fatal is not None
        and restorable(job.path, fatal.code)
        and newest_valid_backup(job.path) is not None
    )


def _writer_gone(name: str, path: Path, now: float) -> bool:
    """A temp file is a leftover when the pid in its name is gone, or it is over a minute old."""
    parts = name.split(".")
    try:
        pid = int(parts[-2])
    except (IndexError, ValueError):
        pid = None
    if pid is not None and not os.path.exists(f"/proc/{pid}"):
        return True
    try:
        return now - os.stat(path, follow_symlinks=False).st_mtime > 60
    except OSError:
        return False
