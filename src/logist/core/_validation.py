"""Consistency findings, computed purely from a snapshot plus a few listed facts per job."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ._manifest import Problem, ProblemCode, Severity
from ._root import JobLocation, RootIssue
from ._scan import JobState, Snapshot
from ._states import DEPRECATED_STATES, Category, category_of


class FixKind(StrEnum):
    RESTORE_BACKUP = "restore-backup"
    REINDEX = "reindex"
    DROP_INDEX_ENTRY = "drop-index-entry"
    REMOVE_OLD_TEMP = "remove-old-temp"
    REMOVE_WRITE_LEFTOVERS = "remove-write-leftovers"
    RECONCILE_AUDIT = "reconcile-audit"


@dataclass(frozen=True, slots=True)
class Finding:
    job_id: str | None
    code: str
    severity: Severity
    message: str
    recommendation: str
    fix: FixKind | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "recommendation": self.recommendation,
            "fix": None if self.fix is None else str(self.fix),
        }


@dataclass(frozen=True, slots=True)
class DiskFacts:
    """What validation lists on disk for one job (gathered by the manager, not here)."""

    has_valid_backup: bool = False
    write_leftovers: tuple[str, ...] = ()
    old_temp_files: tuple[str, ...] = ()
    audit_missing: bool = False
    """The job's last recovery has no line in the audit log."""


SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

_ROOT_ISSUES: dict[str, tuple[Severity, str, FixKind | None]] = {
    "index-unreadable": (Severity.ERROR, "restore jobs_index.json or let Logist rebuild it", None),
    "index-bad-id": (Severity.WARNING, "remove the entry from jobs_index.json by hand", None),
    "index-bad-entry": (Severity.WARNING, "correct the entry in jobs_index.json by hand", None),
    "index-outside-root": (
        Severity.ERROR,
        "drop the entry; it points outside the jobs root",
        FixKind.DROP_INDEX_ENTRY,
    ),
    "index-dangling": (
        Severity.WARNING,
        "drop the index entry whose directory is gone",
        FixKind.DROP_INDEX_ENTRY,
    ),
    "index-path-mismatch": (Severity.WARNING, "correct the path in jobs_index.json", None),
    "job-dir-no-manifest": (
        Severity.INFO,
        "remove the directory once nothing holds its lock (it has no manifest)",
        None,
    ),
    "index-duplicate": (
        Severity.WARNING,
        "keep one of the two entries in jobs_index.json (by hand: either may be the one in use)",
        None,
    ),
    "job-dir-outside-root": (
        Severity.ERROR,
        "replace the symlink with the real directory, or remove it",
        None,
    ),
    "job-dir-symlink": (
        Severity.INFO,
        "prefer a real directory; symlinked jobs are read-only",
        None,
    ),
    "job-dir-bad-id": (Severity.WARNING, "rename or remove the directory", None),
    "write-leftovers": (
        Severity.WARNING,
        "remove them (the files they were replacing are intact)",
        FixKind.REMOVE_WRITE_LEFTOVERS,
    ),
}


def root_findings(issues: Iterable[RootIssue]) -> list[Finding]:
    findings = []
    for issue in issues:
        severity, recommendation, fix = _ROOT_ISSUES.get(
            issue.code, (Severity.WARNING, "inspect by hand", None)
        )
        findings.append(
            Finding(issue.job_id, issue.code, severity, issue.message, recommendation, fix)
        )
    return findings


_KEPT_AS_IS = {
    ProblemCode.TOO_LARGE: "over the reader's size cap, not corrupt: trim its history by hand "
    "(never replaced by a backup)",
    ProblemCode.UNREADABLE: "not readable by this user: inspect it with the job owner's rights "
    "(never replaced by a backup)",
    ProblemCode.NOT_REGULAR: "a special file where the manifest belongs: inspect by hand "
    "(never replaced)",
}
"""Recommendations for manifests whose bytes may be valid: a backup never replaces them."""


def job_findings(
    job: JobState, disk: DiskFacts | None = None, *, index_exists: bool
) -> list[Finding]:
    findings = manifest_findings(
        job.job_id,
        job.problems,
        job.facts.status,
        manifest_ok=job.manifest_ok,
        on_disk=job.location.on_disk,
        disk=disk,
    )
    findings += location_findings(job.job_id, job.location, index_exists=index_exists)
    if disk is not None:
        findings += disk_findings(job.job_id, disk)
    return findings


def manifest_findings(
    job_id: str,
    problems: Iterable[Problem],
    status: str | None,
    *,
    manifest_ok: bool,
    on_disk: bool = True,
    disk: DiskFacts | None = None,
) -> list[Finding]:
    """What a job's manifest alone says is wrong: the same for as long as the file is unchanged
    (the status summary keeps them by the manifest's stat)."""
    findings: list[Finding] = []
    for problem in problems:
        if problem.fatal:
            if problem.code is ProblemCode.MISSING and not on_disk:
                continue  # reported as a root issue already
            can_restore = disk is not None and disk.has_valid_backup
            findings.append(
                Finding(
                    job_id,
                    str(problem.code),
                    Severity.ERROR,
                    problem.message,
                    "restore the newest valid backup"
                    if can_restore
                    else _KEPT_AS_IS.get(
                        problem.code,
                        "no valid backup: inspect the file by hand (it is never re-run)",
                    ),
                    FixKind.RESTORE_BACKUP if can_restore else None,
                )
            )
        elif problem.code is ProblemCode.BAD_TIMESTAMP:
            findings.append(
                Finding(job_id, str(problem.code), Severity.INFO, problem.message, "ignored")
            )
        else:
            findings.append(
                Finding(
                    job_id,
                    str(problem.code),
                    Severity.WARNING,
                    problem.message,
                    "the field is ignored; correct it by hand",
                )
            )
    if manifest_ok:  # an unreadable manifest has no status to judge
        if category_of(status) is Category.UNKNOWN:
            findings.append(
                Finding(
                    job_id,
                    "unknown-status",
                    Severity.WARNING,
                    f"status {status!r} is not a Logist state",
                    "set a valid state with Logist's own tools",
                )
            )
        elif status in DEPRECATED_STATES:
            findings.append(
                Finding(
                    job_id,
                    "deprecated-status",
                    Severity.INFO,
                    f"status {status} is deprecated",
                    "Logist still reads it; no action needed",
                )
            )
    return findings


def location_findings(job_id: str, location: JobLocation, *, index_exists: bool) -> list[Finding]:
    """What is wrong with where a job lives (its root issues are `root_findings`)."""
    if index_exists and not location.indexed and location.on_disk:
        return [
            Finding(
                job_id,
                "not-indexed",
                Severity.WARNING,
                "job directory is not in jobs_index.json",
                "add it to the index",
                FixKind.REINDEX,
            )
        ]
    return []


def disk_findings(job_id: str, disk: DiskFacts) -> list[Finding]:
    findings: list[Finding] = []
    if disk.write_leftovers:
        findings.append(
            Finding(
                job_id,
                "write-leftovers",
                Severity.WARNING,
                f"{len(disk.write_leftovers)} temp file(s) left by an interrupted write",
                "remove them (the manifest itself is intact)",
                FixKind.REMOVE_WRITE_LEFTOVERS,
            )
        )
    if disk.audit_missing:
        findings.append(
            Finding(
                job_id,
                "audit-missing",
                Severity.WARNING,
                "the last recovery has no audit line (its recoverer died between the two writes)",
                "append the missing line from the CRASH_RECOVERY history entry",
                FixKind.RECONCILE_AUDIT,
            )
        )
    if disk.old_temp_files:
        findings.append(
            Finding(
                job_id,
                "old-temp-files",
                Severity.INFO,
                f"{len(disk.old_temp_files)} file(s) in temp/ older than 1 h",
                "remove them",
                FixKind.REMOVE_OLD_TEMP,
            )
        )
    return findings


def snapshot_findings(
    snapshot: Snapshot, disk: dict[str, DiskFacts] | None = None
) -> list[Finding]:
    """All findings of a snapshot, errors first."""
    disk = disk or {}
    findings = root_findings(snapshot.root_issues)
    for job in snapshot.jobs.values():
        findings.extend(root_findings(job.location.issues))
        findings.extend(job_findings(job, disk.get(job.job_id), index_exists=snapshot.index_exists))
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.job_id or "", f.code))
    return findings
