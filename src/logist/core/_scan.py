"""Scanning a root: gather evidence per job (I/O), then classify it (pure).

Incremental: a manifest whose (inode, mtime_ns, size) did not change is not re-read, and a job in
a resting or terminal state is not probed at all. Evidence is gathered cheapest first and only
what the state needs: lock probe, identity and heartbeat only for active states.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._identity import (
    Liveness,
    identity_from_record,
    legacy_liveness,
    liveness,
)
from ._locking import LOCK_NAME, LockState, lock_holder_pids, probe_lock
from ._manifest import (
    BACKUP_DIR,
    MANIFEST_NAME,
    Fingerprint,
    Problem,
    ProblemCode,
    parse_timestamp,
    read_manifest,
)
from ._root import INDEX_NAME, IndexRead, JobLocation, RootIssue, enumerate_jobs, read_index
from ._states import Category, category_of
from ._verdicts import (
    SEVERITY_RANK,
    TRIAGE_KINDS,
    Observation,
    Policy,
    Verdict,
    VerdictKind,
    classify,
)

HEARTBEAT_NAME = "heartbeat"


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the manifest says, flattened for display and plans (no I/O needed to use it)."""

    status: str | None = None
    description: str = ""
    current_phase: str | None = None
    phase_index: int | None = None
    phase_count: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    generation: int = 0
    crash_count: int = 0
    cost: float | None = None
    cost_threshold: float | None = None
    time_s: float | None = None
    time_threshold_s: float | None = None
    step_count: int | None = None
    last_event: str | None = None
    last_event_at: float | None = None
    history_count: int = 0
    runner: dict[str, Any] | None = field(default=None, compare=False)
    legacy_pid: int | None = None
    log_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "current_phase": self.current_phase,
            "phase_index": self.phase_index,
            "phase_count": self.phase_count,
            "generation": self.generation,
            "crash_count": self.crash_count,
            "cost": self.cost,
            "cost_threshold": self.cost_threshold,
            "time_s": self.time_s,
            "time_threshold_s": self.time_threshold_s,
            "last_event": self.last_event,
            "history_count": self.history_count,
        }


@dataclass(frozen=True, slots=True)
class JobState:
    """One job in a snapshot: where it is, what its manifest says, the evidence, the verdict."""

    job_id: str
    path: Path
    location: JobLocation
    facts: JobFacts
    problems: tuple[Problem, ...]
    fingerprint: Fingerprint | None
    observation: Observation
    verdict: Verdict

    @property
    def status(self) -> str | None:
        return self.facts.status

    @property
    def kind(self) -> VerdictKind:
        return self.verdict.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.facts.status,
            "verdict": str(self.verdict.kind),
            "reason": self.verdict.reason,
            "action": str(self.verdict.action),
            "path": str(self.path),
            "indexed": self.location.indexed,
            "evidence": dict(self.verdict.evidence),
            "facts": self.facts.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
            "issues": [
                {"code": i.code, "message": i.message, "path": i.path} for i in self.location.issues
            ],
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole root at one moment."""

    root: Path
    taken_at: float
    duration_s: float
    jobs: dict[str, JobState]
    root_issues: tuple[RootIssue, ...]
    index_exists: bool

    def counts(self) -> Counter[VerdictKind]:
        return Counter(job.verdict.kind for job in self.jobs.values())

    def by_verdict(self, *kinds: VerdictKind) -> list[JobState]:
        wanted = set(kinds)
        return [job for job in self.jobs.values() if job.verdict.kind in wanted]

    def triage(self) -> list[JobState]:
        """Jobs that need an operator: worst verdict first, then oldest activity first."""
        picked = [job for job in self.jobs.values() if job.verdict.kind in TRIAGE_KINDS]
        picked.sort(
            key=lambda j: (
                SEVERITY_RANK[j.verdict.kind],
                j.observation.activity_at or 0.0,
                j.job_id,
            )
        )
        return picked


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def facts_from(data: dict[str, Any]) -> JobFacts:
    """Flatten a parsed manifest; wrong-typed fields are ignored (they are findings elsewhere)."""
    status = data.get("status")
    phases = data.get("phases")
    phases = phases if isinstance(phases, list) else []
    current = data.get("current_phase")
    phase_index = None
    names = [p.get("name") if isinstance(p, dict) else p for p in phases]
    if current is not None and current in names:
        phase_index = names.index(current) + 1
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    history = data.get("history") if isinstance(data.get("history"), list) else []
    last_event = last_event_at = None
    for entry in reversed(history):
        if isinstance(entry, dict):
            label = entry.get("event") or entry.get("action") or entry.get("new_status")
            last_event = str(label) if label is not None else None
            last_event_at = parse_timestamp(entry.get("timestamp"))
            break
    recovery = data.get("recovery") if isinstance(data.get("recovery"), dict) else {}
    crash_count = recovery.get("crash_count")
    runner = data.get("runner") if isinstance(data.get("runner"), dict) else None
    legacy_pid = data.get("process_id")
    metadata = data.get("metadata")
    if legacy_pid is None and isinstance(metadata, dict):
        legacy_pid = metadata.get("pid")
    if not isinstance(legacy_pid, int) or isinstance(legacy_pid, bool) or legacy_pid <= 0:
        legacy_pid = None
    generation = data.get("generation")
    minutes = _num(data.get("time_threshold_minutes"))
    description = data.get("description")
    step_count = metrics.get("step_count")
    log_path = runner.get("log_path") if runner else None
    return JobFacts(
        status=status if isinstance(status, str) else None,
        description=description if isinstance(description, str) else "",
        current_phase=None if current is None else str(current),
        phase_index=phase_index,
        phase_count=len(phases),
        created_at=parse_timestamp(data.get("created_at")),
        updated_at=parse_timestamp(data.get("updated_at")),
        generation=generation if isinstance(generation, int) else 0,
        crash_count=crash_count if isinstance(crash_count, int) else 0,
        cost=_num(metrics.get("cumulative_cost")),
        cost_threshold=_num(data.get("cost_threshold")),
        time_s=_num(metrics.get("cumulative_time_seconds")),
        time_threshold_s=None if minutes is None else minutes * 60,
        step_count=step_count if isinstance(step_count, int) else None,
        last_event=last_event,
        last_event_at=last_event_at,
        history_count=len(history),
        runner=runner,
        legacy_pid=legacy_pid,
        log_path=log_path if isinstance(log_path, str) else None,
    )


@dataclass(slots=True)
class _CacheEntry:
    fingerprint: Fingerprint | None
    facts: JobFacts
    problems: tuple[Problem, ...]
    manifest_ok: bool
    manifest_mtime: float | None
    state: JobState | None = None


def _newest_log_mtime(job_dir: Path) -> float | None:
    newest = None
    try:
        with os.scandir(job_dir / "logs") as it:
            for entry in it:
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                newest = mtime if newest is None or mtime > newest else newest
    except OSError:
        return None
    return newest


def _mtime(path: Path) -> float | None:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return None


def observe(
    job_id: str,
    job_dir: Path,
    facts: JobFacts,
    manifest_ok: bool,
    manifest_problem: str | None,
    manifest_mtime: float | None,
) -> Observation:
    """Gather the evidence one job's state calls for (I/O), cheapest first."""
    category = category_of(facts.status) if manifest_ok else Category.UNKNOWN
    if not manifest_ok or category is not Category.ACTIVE:
        return Observation(
            job_id=job_id,
            manifest_ok=manifest_ok,
            status=facts.status,
            category=category,
            manifest_problem=manifest_problem,
            activity_at=max(filter(None, (manifest_mtime, facts.last_event_at)), default=None),
        )
    lock = probe_lock(job_dir / LOCK_NAME)
    runner = facts.runner
    owner = identity_from_record(runner) if runner else None
    child = identity_from_record(runner, "child_pid", "child_start_token") if runner else None
    has_runner = owner is not None
    owner_state = Liveness.NONE
    child_state = Liveness.NONE
    heartbeat_at = interval = started_at = None
    if has_runner:
        owner_state = liveness(owner)
        if owner_state is Liveness.DEAD and child is not None:
            child_state = liveness(child)
        heartbeat_at = _mtime(job_dir / HEARTBEAT_NAME)
        interval = _num(runner.get("heartbeat_interval_s"))
        started_at = parse_timestamp(runner.get("started_at"))
    elif facts.legacy_pid is not None:
        owner_state = legacy_liveness(facts.legacy_pid)
    holders: tuple[int, ...] = ()
    if lock is LockState.HELD and owner_state is not Liveness.ALIVE and has_runner:
        holders = tuple(lock_holder_pids(job_dir / LOCK_NAME))
    activity = [manifest_mtime, facts.last_event_at, heartbeat_at]
    if not has_runner:
        activity.append(_newest_log_mtime(job_dir))
    return Observation(
        job_id=job_id,
        manifest_ok=True,
        status=facts.status,
        category=category,
        has_runner=has_runner,
        owner=owner_state,
        owner_pid=owner.pid if owner else facts.legacy_pid,
        owner_host=owner.host if owner else None,
        child=child_state,
        child_pid=child.pid if child else None,
        legacy_pid=None if has_runner else facts.legacy_pid,
        lock=lock,
        lock_holders=holders,
        heartbeat_at=heartbeat_at,
        heartbeat_interval=interval,
        started_at=started_at,
        activity_at=max(filter(None, activity), default=None),
    )


class Scanner:
    """Scans one root repeatedly, re-reading only what changed."""

    def __init__(self, root: Path, policy: Policy) -> None:
        self.root = root
        self.policy = policy
        self._cache: dict[str, _CacheEntry] = {}
        self._root_real = os.path.realpath(root)
        self._index_key: tuple[int, int, int] | None = None
        self._index: IndexRead | None = None
        self._locations: dict[str, JobLocation] = {}
        self._location_issues: tuple[RootIssue, ...] = ()
        self._root_mtime: int | None = None

    def forget(self, job_id: str) -> None:
        """Drop one job's cached state, e.g. after we wrote to it."""
        self._cache.pop(job_id, None)

    def _read_index(self) -> IndexRead:
        try:
            st = os.stat(self.root / INDEX_NAME, follow_symlinks=False)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if self._index is None or key != self._index_key:
            self._index = read_index(self.root)
            self._index_key = key
            self._root_mtime = None  # the union must be recomputed
        return self._index

    def _enumerate(self, index: IndexRead) -> dict[str, JobLocation]:
        # The root's mtime changes when job directories come and go: skip the scandir otherwise.
        root_mtime = os.stat(self.root).st_mtime_ns
        if root_mtime != self._root_mtime or not self._locations:
            self._locations, self._location_issues = enumerate_jobs(
                self.root, index, root_real=self._root_real
            )
            self._root_mtime = root_mtime
        return self._locations

    def scan(self, now: float | None = None) -> Snapshot:
        started = time.perf_counter()
        now = time.time() if now is None else now
        index = self._read_index()
        locations = self._enumerate(index)
        jobs: dict[str, JobState] = {}
        for job_id, location in locations.items():
            state = self._state_for(job_id, location, now)
            if state is not None:
                jobs[job_id] = state
        issues = (*index.issues, *self._location_issues)
        return Snapshot(self.root, now, time.perf_counter() - started, jobs, issues, index.exists)

    def scan_job(self, job_id: str, now: float | None = None) -> JobState | None:
        """One job, re-read from disk now (no cache): what actions plan and re-check against."""
        now = time.time() if now is None else now
        self._cache.pop(job_id, None)
        index = self._read_index()
        location = self._enumerate(index).get(job_id)
        if location is None:
            self._root_mtime = None  # maybe created since the last scan
            location = self._enumerate(index).get(job_id)
        if location is None:
            return None
        return self._state_for(job_id, location, now)

    def _state_for(self, job_id: str, location: JobLocation, now: float) -> JobState | None:
        entry = self._cache.get(job_id)
        manifest = location.path / MANIFEST_NAME
        if not location.on_disk or (not location.writable and not _inside_ok(location)):
            return self._absent(job_id, location, now)
        try:
            st = os.stat(manifest, follow_symlinks=False)
            key: Fingerprint | None = Fingerprint(st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        except OSError:
            key = Fingerprint(-1, -1, -1)  # unreadable: read it to learn the problem
        if entry is None or key is None or entry.fingerprint != key:
            entry = self._load(job_id, location, manifest, key)
            if entry is None:
                return None
            self._cache[job_id] = entry
        state = entry.state
        if (
            state is not None
            and state.location is location
            and (not entry.manifest_ok or category_of(entry.facts.status) is not Category.ACTIVE)
        ):
            return state  # nothing time-dependent: reuse as is
        problem = next((p.message for p in entry.problems if p.fatal), None)
        obs = observe(
            job_id, location.path, entry.facts, entry.manifest_ok, problem, entry.manifest_mtime
        )
        state = JobState(
            job_id,
            location.path,
            location,
            entry.facts,
            entry.problems,
            entry.fingerprint,
            obs,
            classify(obs, self.policy, now),
        )
        entry.state = state
        return state

    def _load(
        self, job_id: str, location: JobLocation, manifest: Path, key: Fingerprint | None
    ) -> _CacheEntry | None:
        read = read_manifest(manifest)
        # a plain directory is a job only if it has job files or is indexed
        if (
            not read.ok
            and read.problems[0].code is ProblemCode.MISSING
            and not location.indexed
            and not (
                os.path.lexists(location.path / LOCK_NAME)
                or os.path.isdir(location.path / BACKUP_DIR)
            )
        ):
            return None
        facts = facts_from(read.data) if read.data is not None else JobFacts()
        problems = read.problems
        if read.data is not None:
            recorded = read.data.get("job_id")
            if isinstance(recorded, str) and recorded != job_id:
                problems = (
                    *problems,
                    Problem(
                        ProblemCode.ID_MISMATCH,
                        f"manifest says job_id {recorded!r} but lives in {job_id!r}",
                        "job_id",
                    ),
                )
        mtime = read.fingerprint.mtime_ns / 1e9 if read.fingerprint else None
        return _CacheEntry(
            read.fingerprint if key is not None else None, facts, problems, read.ok, mtime
        )

    def _absent(self, job_id: str, location: JobLocation, now: float) -> JobState:
        """A job named by the index whose directory is gone or outside the root."""
        reason = location.issues[0].message if location.issues else "job directory is missing"
        obs = Observation(job_id=job_id, manifest_ok=False, manifest_problem=reason)
        problem = Problem(ProblemCode.MISSING, reason)
        return JobState(
            job_id,
            location.path,
            location,
            JobFacts(),
            (problem,),
            None,
            obs,
            classify(obs, self.policy, now),
        )


def _inside_ok(location: JobLocation) -> bool:
    """A symlinked job directory inside the root may be read (not written)."""
    return any(i.code == "job-dir-symlink" for i in location.issues)


__all__ = ["JobFacts", "JobState", "Scanner", "Snapshot", "VerdictKind"]
