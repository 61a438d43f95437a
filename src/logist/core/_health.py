"""The health report: overall state, counts, and checks of the root itself."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from itertools import compress, repeat
from operator import attrgetter, is_
from pathlib import Path
from typing import Any

from ._manifest import Severity
from ._root import not_a_jobs_root
from ._scan import Snapshot
from ._validation import Finding
from ._verdicts import SEVERITY_ORDER, VerdictKind

NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse",
        "fuseblk",
        "sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
    }
)
LOW_DISK_FRACTION = 0.05
CRITICAL_KINDS = frozenset(
    {VerdictKind.CRASHED, VerdictKind.HUNG, VerdictKind.DETACHED, VerdictKind.CORRUPT}
)
DEGRADED_KINDS = frozenset(
    {VerdictKind.SUSPECT, VerdictKind.STALLED, VerdictKind.REMOTE_STALE, VerdictKind.WAITING}
)


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def exit_code(self) -> int:
        return {"healthy": 0, "degraded": 1, "critical": 2, "unknown": 3}[self.value]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Severity | None
    """None when the check passed."""
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": "ok" if self.status is None else str(self.status),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    root: str
    overall: Health
    summary: str
    counts_by_verdict: dict[str, int]
    counts_by_status: dict[str, int]
    job_count: int
    oldest_crash_age_s: float | None
    checks: tuple[Check, ...]
    finding_counts: dict[str, int]
    scan_duration_s: float | None
    load_average: tuple[float, float, float] | None
    root_problem: str | None = None
    """Why the directory is not a jobs root ("not a jobs root; did you mean DIR/jobs?"), for
    the CLI and the console to show as it is; None for a jobs root."""
    suggested_root: str | None = None
    """The jobs root the operator probably meant, when the directory holds one."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "overall": str(self.overall),
            "summary": self.summary,
            "job_count": self.job_count,
            "counts_by_verdict": self.counts_by_verdict,
            "counts_by_status": self.counts_by_status,
            "oldest_crash_age_s": self.oldest_crash_age_s,
            "checks": [c.to_dict() for c in self.checks],
            "finding_counts": self.finding_counts,
            "scan_duration_s": self.scan_duration_s,
            "load_average": self.load_average,
            "root_problem": self.root_problem,
            "suggested_root": self.suggested_root,
        }


def filesystem_type(path: Path) -> str | None:
    """The type of the mount holding `path` (longest mount point that contains it)."""
    try:
        real = os.path.realpath(path)
        mounts = _mounts()
    except OSError:
        return None
    best, best_type = "", None
    for mount_point, fstype in mounts:
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fstype
    return best_type


def _mounts() -> list[tuple[str, str]]:
    """(mount point, type) of every mount: `/proc/self/mounts` read directly (importing psutil
    for it cost `logist status` 8-40 ms of its start), psutil where there is no /proc."""
    try:
        with open("/proc/self/mounts", "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        import psutil

        return [(p.mountpoint, p.fstype) for p in psutil.disk_partitions(all=True)]
    found = []
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        fields = line.split(" ")
        if len(fields) >= 3:  # spaces in a mount point are written \040 (octal escapes)
            found.append((_unescape(fields[1]), fields[2]))
    return found


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def root_checks(root: Path) -> list[Check]:
    checks = []
    exists = root.is_dir()
    checks.append(
        Check(
            "root-exists",
            None if exists else Severity.ERROR,
            f"{root} exists" if exists else f"{root} does not exist",
        )
    )
    if not exists:
        return checks
    readable = os.access(root, os.R_OK | os.X_OK)
    checks.append(
        Check(
            "root-readable",
            None if readable else Severity.ERROR,
            "readable" if readable else "not readable",
        )
    )
    writable = os.access(root, os.W_OK)
    checks.append(
        Check(
            "root-writable",
            None if writable else Severity.WARNING,
            "writable" if writable else "read-only: scans work, actions will fail",
        )
    )
    fs = filesystem_type(root)
    if fs is None:
        checks.append(Check("filesystem", Severity.INFO, "filesystem type unknown"))
    elif fs.split(".")[0] in NETWORK_FS:
        checks.append(
            Check(
                "filesystem",
                Severity.WARNING,
                f"{fs}: flock may not exclude across hosts; run one recoverer",
            )
        )
    else:
        checks.append(Check("filesystem", None, fs))
    import humanize  # here, not at the top: `import logist.core` stays light for the runner

    try:
        usage = shutil.disk_usage(root)
        free = usage.free / usage.total if usage.total else 1.0
        low = free < LOW_DISK_FRACTION
        checks.append(
            Check(
                "free-disk",
                Severity.WARNING if low else None,
                f"{humanize.naturalsize(usage.free, binary=True)} free ({free:.0%})",
            )
        )
    except OSError as exc:
        checks.append(Check("free-disk", Severity.INFO, f"unknown: {exc.strerror}"))
    return checks


@dataclass(frozen=True, slots=True)
class Tally:
    """What the health report judges, however it was counted: from every job's objects
    (`tally_of`), or from the rows the status summary keeps (`_summary`). Counts come in a
    fixed order (verdicts worst first, statuses by name), so both give the same document."""

    job_count: int
    verdicts: dict[str, int]
    statuses: dict[str, int]
    oldest_crash_age_s: float | None
    finding_counts: dict[str, int]
    """Findings per severity, errors first."""
    index_errors: int
    """Error findings of the root itself (no job): the index check fails on them."""
    index_exists: bool
    duration_s: float | None


FINDING_SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_KIND = attrgetter("verdict.kind")
_STATUS = attrgetter("facts.status")


def ordered_counts(
    verdicts: Counter[str], statuses: Counter[str], severities: Counter[str]
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The three counts of a tally in their fixed order, without zeros."""
    return (
        {str(k): verdicts[str(k)] for k in SEVERITY_ORDER if verdicts[str(k)]},
        {name: statuses[name] for name in sorted(statuses) if statuses[name]},
        {str(s): severities[str(s)] for s in FINDING_SEVERITIES if severities[str(s)]},
    )


def tally_of(snapshot: Snapshot, findings: list[Finding]) -> Tally:
    """Count a whole snapshot and its findings (by C loops: at 100,000 jobs a loop of our own
    cost the watch's pass 90-130 ms)."""
    states = snapshot.jobs.values()
    kinds = list(map(_KIND, states))
    verdicts: Counter[str] = Counter(kinds)
    statuses: Counter[str | None] = Counter(map(_STATUS, states))
    for status in [s for s in statuses if not s]:  # None and "": counted as "?"
        statuses["?"] += statuses.pop(status)
    oldest: float | None = None
    for job in compress(states, map(is_, kinds, repeat(VerdictKind.CRASHED))):
        at = job.activity_at
        if at is not None:
            age = snapshot.taken_at - at
            oldest = age if oldest is None else max(oldest, age)
    index_errors = sum(1 for f in findings if f.job_id is None and f.severity is Severity.ERROR)
    by_verdict, by_status, by_severity = ordered_counts(
        verdicts,
        statuses,  # type: ignore[arg-type]  # no None left
        Counter(str(f.severity) for f in findings),
    )
    return Tally(
        len(snapshot.jobs),
        by_verdict,
        by_status,
        oldest,
        by_severity,
        index_errors,
        snapshot.index_exists,
        snapshot.duration_s,
    )


def build_health_report(
    root: Path,
    snapshot: Snapshot | None,
    findings: list[Finding],
    *,
    error: str | None = None,
    tally: Tally | None = None,
) -> HealthReport:
    """`tally`: the snapshot's and the findings' counts when the caller kept them
    (`_quick_status`), instead of counting every job again."""
    checks = root_checks(root)
    load = _load_average()
    # Only a root in which no job was found can be something else: a real root pays nothing.
    shape = not_a_jobs_root(root) if snapshot is None or not snapshot.jobs else None
    if shape is not None:
        message, suggestion = shape
        checks.insert(1, Check("jobs-root", Severity.ERROR, message))
        return HealthReport(
            str(root),
            Health.UNKNOWN,
            message,
            {},
            {},
            0,
            None,
            tuple(checks),
            {},
            None if snapshot is None else snapshot.duration_s,
            load,
            message,
            None if suggestion is None else str(suggestion),
        )
    if snapshot is None:
        return HealthReport(
            str(root),
            Health.UNKNOWN,
            f"scan failed: {error}",
            {},
            {},
            0,
            None,
            tuple(checks),
            {},
            None,
            load,
        )
    return _judged(root, tally or tally_of(snapshot, findings), checks, load)


def health_report_of(root: Path, tally: Tally) -> HealthReport:
    """The report of a root in which jobs were counted (`tally.job_count` > 0)."""
    return _judged(root, tally, root_checks(root), _load_average())


def _load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def _judged(
    root: Path, tally: Tally, checks: list[Check], load: tuple[float, float, float] | None
) -> HealthReport:
    verdicts = tally.verdicts
    if tally.index_exists:
        checks.append(
            Check(
                "index",
                Severity.ERROR if tally.index_errors else None,
                "jobs_index.json unreadable" if tally.index_errors else "jobs_index.json ok",
            )
        )
    if any(c.status is Severity.ERROR for c in checks) or any(
        verdicts.get(str(k)) for k in CRITICAL_KINDS
    ):
        overall = Health.CRITICAL
    elif (
        any(verdicts.get(str(k)) for k in DEGRADED_KINDS)
        or any(c.status is Severity.WARNING for c in checks)
        or tally.finding_counts.get("error")
    ):
        overall = Health.DEGRADED
    else:
        overall = Health.HEALTHY
    from humanize import intcomma

    worst = [f"{intcomma(verdicts[str(k)])} {k}" for k in SEVERITY_ORDER if verdicts.get(str(k))]
    summary = f"{intcomma(tally.job_count)} jobs: " + (", ".join(worst) if worst else "none")
    return HealthReport(
        str(root),
        overall,
        summary,
        dict(verdicts),
        dict(tally.statuses),
        tally.job_count,
        tally.oldest_crash_age_s,
        tuple(checks),
        dict(tally.finding_counts),
        tally.duration_s,
        load,
    )
