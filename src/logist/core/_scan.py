"""Scanning a root: gather evidence per job (I/O), then classify it (pure).

Incremental: a manifest whose (inode, mtime_ns, size) did not change is not re-read, and a job in
a resting or terminal state is not probed at all. Evidence is gathered cheapest first and only
what the state needs: lock probe, identity and heartbeat only for active states.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter, eq, is_
from pathlib import Path
from typing import Any

from .._gc import gc_paused
from .._interning import Interner
from .._pace import pace
from . import _scan_cache
from ._facts import JobFacts, facts_of_row, facts_row, new_facts
from ._frozen import quick_constructor
from ._identity import (
    Liveness,
    ProcessIdentity,
    identity_from_record,
    legacy_liveness,
    liveness,
)
from ._locking import LOCK_NAME, LockState, lock_holder_pids, probe_lock
from ._manifest import (
    BACKUP_DIR,
    FATAL_CODES,
    HEARTBEAT_NAME,
    MANIFEST_NAME,
    OWNER_KEY,
    Fingerprint,
    ManifestRead,
    Problem,
    ProblemCode,
    parse_timestamp,
    read_manifest,
    timestamp_problems,
)
from ._recorded import NOTHING_RECORDED, Recorded, recorded_from
from ._root import (
    INDEX_NAME,
    IndexFacts,
    IndexRead,
    InRoot,
    JobLocation,
    Listing,
    RootIssue,
    Where,
    enumerate_jobs,
    index_facts,
    listed_locations,
    plain_listing,
    read_index,
)
from ._states import ACTIVE_STATES, WAITING_STATES, Category, category_of
from ._stats_ahead import KEY_FORMAT, NOT_TAKEN, StatsAhead, read_in_child
from ._verdicts import (
    SEVERITY_RANK,
    TRIAGE_KINDS,
    Observation,
    Policy,
    Verdict,
    VerdictKind,
    classify,
)

_new_facts = new_facts
_facts_of_row = facts_of_row
_new_observation = quick_constructor(Observation)
NO_FACTS = JobFacts()
"""The facts of a job whose manifest could not be read: one object for all."""


StatKey = bytes | tuple[int, int, int, int]
"""A manifest's (inode, mtime_ns, ctime_ns, size), packed in 28 bytes (the size in 32 bits:
a 61-byte `bytes` is a 64-byte block of pymalloc, where 32 bytes of fields made an 80-byte
one); a plain tuple only for numbers past that (an mtime after the year 2262 can be set on
ext4, a manifest can be 4 GiB): equal keys are equal fields either way."""
_STAT = struct.Struct(KEY_FORMAT)
_pack_stat = _STAT.pack
_mtime_ns_of = struct.Struct("<8xq").unpack_from
"""The mtime (ns) of a packed stat key, as a 1-tuple."""
if _mtime_ns_of(_STAT.pack(1, -2, 3, 4)) != (-2,):
    raise TypeError("_mtime_ns_of must read the mtime of KEY_FORMAT")
_new_fingerprint = tuple.__new__
"""`Fingerprint(a, b, c)` without the namedtuple's Python-level `__new__`: `(type, tuple)`."""


def stat_key(inode: int, mtime_ns: int, ctime_ns: int, size: int) -> StatKey:
    """What `JobState.stat` keeps of a manifest's stat: equal exactly when the four are."""
    try:
        return _STAT.pack(inode, mtime_ns, ctime_ns, size)
    except struct.error:
        return (inode, mtime_ns, ctime_ns, size)


def stat_fields(stat: StatKey) -> tuple[int, int, int, int]:
    """(inode, mtime_ns, ctime_ns, size) of a `stat_key`."""
    return _STAT.unpack(stat) if type(stat) is bytes else stat  # type: ignore[return-value]


def _stat_of(fingerprint: Fingerprint | None, ctime_ns: int) -> StatKey | None:
    if fingerprint is None:
        return None
    return stat_key(fingerprint.inode, fingerprint.mtime_ns, ctime_ns, fingerprint.size)


@dataclass(frozen=True, slots=True)
class JobState:
    """One job in a snapshot: where it is, what its manifest says, the evidence, the verdict."""

    job_id: str
    location: JobLocation
    facts: JobFacts
    problems: tuple[Problem, ...]
    stat: StatKey | None
    """The manifest's (inode, mtime_ns, ctime_ns, size) as read, packed (`stat_key`); None: not
    read. Read `fingerprint` and `manifest_ctime_ns`: one object of 61 bytes a job where a
    Fingerprint, its ints and the ctime's were ~170 (17 MB at 100,000 jobs)."""
    verdict: Verdict
    activity_at: float | None = None
    """The newest sign of activity (manifest mtime, last history entry; for an active job also
    its heartbeat, or its logs when it has no owner record), epoch seconds."""
    evidence: Observation | None = None
    """What was observed of an active job (lock, owner, heartbeat); None for every other job,
    whose `observation` follows from its facts alone and is not kept per job."""

    @property
    def fingerprint(self) -> Fingerprint | None:
        """What identifies the version of the manifest that was read (None: none was)."""
        stat = self.stat
        if stat is None:
            return None
        inode, mtime_ns, _, size = stat_fields(stat)
        return _new_fingerprint(Fingerprint, (inode, mtime_ns, size))

    @property
    def manifest_ctime_ns(self) -> int:
        """The manifest's ctime when it was read (0: not read). With the fingerprint, what tells
        the scanner the manifest changed: `touch -d` can restore an mtime, never a ctime."""
        stat = self.stat
        return 0 if stat is None else stat_fields(stat)[2]

    @property
    def path(self) -> Path:
        return self.location.path

    @property
    def status(self) -> str | None:
        return self.facts.status

    @property
    def kind(self) -> VerdictKind:
        return self.verdict.kind

    @property
    def manifest_ok(self) -> bool:
        """Whether the manifest could be read (parsed into an object)."""
        return self.evidence is not None or _fatal_problem(self.problems) is None

    @property
    def category(self) -> Category:
        """The status's category; UNKNOWN when the manifest could not be read."""
        if self.evidence is not None:
            return self.evidence.category
        if _fatal_problem(self.problems) is not None:
            return Category.UNKNOWN
        return category_of(self.facts.status)

    @property
    def observation(self) -> Observation:
        """Everything gathered about the job. A resting, finished or unreadable job needs no
        evidence: its observation is made again on demand (at 100,000 jobs one kept per job
        was 21 MB for what the facts say anyway). Per-job loops read `activity_at`,
        `manifest_ok` and `category` from the state instead."""
        if self.evidence is not None:
            return self.evidence
        problem = _fatal_problem(self.problems)
        status = self.facts.status
        return _new_observation(
            job_id=self.job_id,
            manifest_ok=problem is None,
            status=status,
            category=Category.UNKNOWN if problem is not None else category_of(status),
            manifest_problem=problem,
            waiting_reason=self.facts.waiting_reason,
            activity_at=self.activity_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.facts.status,
            "verdict": str(self.verdict.kind),
            "reason": self.verdict.reason,
            "action": str(self.verdict.action),
            "path": self.location.directory,
            "indexed": self.location.indexed,
            "queue_position": self.location.queue_position,
            "evidence": dict(self.verdict.evidence),
            "facts": self.facts.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
            "issues": [
                {"code": i.code, "message": i.message, "path": i.path} for i in self.location.issues
            ],
        }


def _fatal_problem(problems: tuple[Problem, ...]) -> str | None:
    """The message of the problem that made the manifest unreadable, if any."""
    for problem in problems:
        if problem.code in FATAL_CODES:
            return problem.message
    return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole root at one moment."""

    root: Path
    taken_at: float
    duration_s: float
    jobs: dict[str, JobState]
    root_issues: tuple[RootIssue, ...]
    index_exists: bool
    total: int = 0
    """Job locations in the root; more than `len(jobs)` only in a partial snapshot."""
    complete: bool = True
    """False for a first look at part of the root (`scan(limit=...)`): never judge health on it."""
    index_facts: IndexFacts = field(default_factory=IndexFacts, compare=False)
    """The original's selection, queue and archived jobs (its index, `backups/*.zip`)."""

    def counts(self) -> Counter[VerdictKind]:
        return Counter(job.verdict.kind for job in self.jobs.values())

    def triage(self) -> list[JobState]:
        """Jobs that need an operator: worst verdict first, then oldest activity first."""
        picked = [job for job in self.jobs.values() if job.verdict.kind in TRIAGE_KINDS]
        picked.sort(
            key=lambda j: (
                SEVERITY_RANK[j.verdict.kind],
                j.activity_at or 0.0,
                j.job_id,
            )
        )
        return picked


_share = Interner(10_000)
"""Labels (statuses, phases, events, thresholds) shared across the jobs of a root."""
_floats = Interner(10_000)
"""Costs and times many jobs of a root have alike: one float (32 bytes of pymalloc) each, not
one per job. Only non-zero ones: 0.0 and -0.0 are equal keys, and one must not become the
other (zero is `_ZERO`)."""
_ZERO = 0.0


def _shared_num(value: object) -> float | None:
    """`_num(value)`, one object for equal values (see `_floats`)."""
    number = _num(value)
    if number:  # (NaN too: never equal, kept as it is once the interner is full)
        return _floats[number]  # type: ignore[no-any-return]
    if number == 0.0 and math.copysign(1.0, number) > 0:
        return _ZERO
    return number


def _num(value: object) -> float | None:
    kind = type(value)
    if kind is float:  # what JSON gives: no conversion, no new object
        return value  # type: ignore[return-value]
    if kind is bool or not isinstance(value, int | float):
        return None
    return float(value)


def facts_from(data: dict[str, Any]) -> JobFacts:
    """Flatten a parsed manifest; wrong-typed fields are ignored (they are findings elsewhere).

    On the cold-scan path for every job: kept to plain lookups.
    """
    get = data.get
    status = get("status")
    phases = get("phases")
    if type(phases) is not list:
        phases = ()
    current = get("current_phase")
    phase_index = None
    if type(current) is str:  # found by C's comparisons (for a str, `is` implies `==`)
        names = [phase.get("name") if type(phase) is dict else phase for phase in phases]
        if current in names:
            phase_index = names.index(current) + 1
    elif current is not None:
        for position, phase in enumerate(phases, 1):
            name = phase.get("name") if type(phase) is dict else phase
            if name == current:
                phase_index = position
                break
    metrics = get("metrics")
    if type(metrics) is not dict:
        metrics = {}
    history = get("history")
    if type(history) is not list:
        history = ()
    last_event = last_event_at = None
    for entry in reversed(history):
        if type(entry) is dict:
            label = entry.get("event") or entry.get("action") or entry.get("new_status")
            last_event = None if label is None else _share[str(label)]
            last_event_at = parse_timestamp(entry.get("timestamp"))
            break
    recovery = get("recovery")
    crash_count = last_action_id = None
    if type(recovery) is dict:
        crash_count = recovery.get("crash_count")
        last_action_id = recovery.get("last_action_id")
    owner = get(OWNER_KEY)
    if type(owner) is not dict:
        owner = None
    legacy_pid = get("process_id")
    if legacy_pid is None:
        metadata = get("metadata")
        if type(metadata) is dict:
            legacy_pid = metadata.get("pid")
    if type(legacy_pid) is not int or legacy_pid <= 0:
        legacy_pid = None
    generation = get("generation")
    minutes = _num(get("time_threshold_minutes"))
    created_at = parse_timestamp(get("created_at"))
    updated_at = parse_timestamp(get("updated_at"))
    # equal times as one object (a manifest's last history entry is often its update)
    if last_event_at is not None and last_event_at == updated_at:
        last_event_at = updated_at
    if created_at is not None and created_at == updated_at:
        created_at = updated_at
    description = get("description")
    step_count = metrics.get("step_count")
    log_path = owner.get("log_path") if owner else None
    recorded = recorded_from(data, history)
    if type(step_count) is not int and recorded.steps:
        step_count = recorded.steps  # the original's CLI writes no step_count: count the steps
    crash_count = crash_count if type(crash_count) is int else 0
    if recorded.recoveries > crash_count:  # the original's own recoveries count toward the cap
        crash_count = recorded.recoveries
    return _new_facts(
        _share[status] if type(status) is str else None,
        description if type(description) is str else "",
        None if current is None else _share[str(current)],
        phase_index,
        len(phases),
        created_at,
        updated_at,
        generation if type(generation) is int else 0,
        crash_count,
        _shared_num(metrics.get("cumulative_cost")),
        _shared_num(get("cost_threshold")),
        _shared_num(metrics.get("cumulative_time_seconds")),
        None if minutes is None else _shared_num(minutes * 60),
        step_count if type(step_count) is int else None,
        last_event,
        last_event_at,
        len(history),
        owner,
        legacy_pid,
        log_path if type(log_path) is str else None,
        last_action_id if type(last_action_id) is str else None,
        waiting_reason_from(history) if type(status) is str and status in WAITING_STATES else None,
        recorded,
    )


REASON_KEYS = ("reason", "error_message", "description", "summary", "message")
"""History entry fields that say why, ours first (`reason`), then the original's."""


def waiting_reason_from(history: Sequence[Any]) -> str | None:
    """The newest history entry's reason (first line, bounded): what the person must look at."""
    for entry in reversed(history):
        if type(entry) is not dict:
            continue
        for key in REASON_KEYS:
            value = entry.get(key)
            if type(value) is str and value.strip():
                line = value.strip().splitlines()[0]
                return line if len(line) <= 200 else line[:199] + "…"
    return None


def _newest_log_mtime(job_dir: str) -> float | None:
    newest = None
    try:
        with os.scandir(os.path.join(job_dir, "logs")) as it:
            for entry in it:
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                newest = mtime if newest is None or mtime > newest else newest
    except OSError:
        return None
    return newest


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return None


def _newest(first: float | None, second: float | None) -> float | None:
    """The later of two times, either of which may be unknown (None, or 0: never set)."""
    if not first:
        return second or None
    if not second:
        return first
    return first if first >= second else second


def observe(
    job_id: str,
    job_dir: str,
    facts: JobFacts,
    manifest_mtime: float | None,
    dead: set[ProcessIdentity] | None = None,
    legacy: dict[int, Liveness] | None = None,
) -> Observation:
    """Gather the evidence an active job's state calls for (I/O), cheapest first. `dead`: the
    identities found dead by earlier looks (a scanner's), taken as dead without a look;
    `legacy`: legacy pids already looked at in this pass (one /proc read per distinct pid)."""
    lock_path = os.path.join(job_dir, LOCK_NAME)
    lock = probe_lock(lock_path)
    record = facts.owner
    owner = identity_from_record(record) if record else None
    child = identity_from_record(record, "child_pid", "child_start_token") if record else None
    has_owner = owner is not None
    owner_state = Liveness.NONE
    child_state = Liveness.NONE
    heartbeat_at = interval = started_at = None
    if has_owner:
        owner_state = _liveness(owner, dead)
        if owner_state is Liveness.DEAD and child is not None:
            child_state = _liveness(child, dead)
        heartbeat_at = _mtime(os.path.join(job_dir, HEARTBEAT_NAME))
        interval = _num(record.get("heartbeat_interval_s"))
        started_at = parse_timestamp(record.get("started_at"))
    elif facts.legacy_pid is not None:
        if legacy is None:
            owner_state = legacy_liveness(facts.legacy_pid)
        else:
            owner_state = legacy.get(facts.legacy_pid) or legacy.setdefault(
                facts.legacy_pid, legacy_liveness(facts.legacy_pid)
            )
    holders: tuple[int, ...] = ()
    if lock is LockState.HELD and owner_state is not Liveness.ALIVE and has_owner:
        holders = tuple(lock_holder_pids(Path(lock_path)))
    activity = [manifest_mtime, facts.last_event_at, heartbeat_at]
    if not has_owner:
        activity.append(_newest_log_mtime(job_dir))
    return _new_observation(  # `Observation(...)`, without its frozen __init__ (~5 us a job)
        job_id=job_id,
        manifest_ok=True,
        status=facts.status,
        category=Category.ACTIVE,
        has_owner=has_owner,
        owner=owner_state,
        owner_pid=owner.pid if owner else facts.legacy_pid,
        owner_host=owner.host if owner else None,
        child=child_state,
        child_pid=child.pid if child else None,
        legacy_pid=None if has_owner else facts.legacy_pid,
        lock=lock,
        lock_holders=holders,
        heartbeat_at=heartbeat_at,
        heartbeat_interval=interval,
        started_at=started_at,
        activity_at=max(filter(None, activity), default=None),
    )


_DEAD_KEPT = 100_000
"""Identities a scanner remembers as dead (a hostile root's endless owners are looked at
every time past it)."""


def _liveness(identity: ProcessIdentity | None, dead: set[ProcessIdentity] | None) -> Liveness:
    """`liveness`, remembering the dead in `dead`: death is final for an identity (the same
    pid with the same start token never runs again, nor on the same boot once it rebooted),
    so a crashed job's owner is not read from /proc at every scan (at 100,000 jobs thousands
    of crashed jobs each poll)."""
    if dead is None or identity is None:
        return liveness(identity)
    if identity in dead:
        return Liveness.DEAD
    found = liveness(identity)
    if found is Liveness.DEAD and len(dead) < _DEAD_KEPT:
        dead.add(identity)
    return found


class _KeptStates:
    """The state a scanner keeps of each job whose manifest's stat tells a change: the last
    whole scan's own dict of jobs (`base`, the snapshot's, never changed once handed out)
    under the changes made since (`over`; None: none kept). A dict of its own beside the
    snapshot's, the same states, was ~4 MB at 100,000 jobs."""

    __slots__ = ("base", "over")

    def __init__(self) -> None:
        self.base: dict[str, JobState] = {}
        self.over: dict[str, JobState | None] = {}

    def get(self, job_id: str) -> JobState | None:
        state = self.over.get(job_id, _UNSET)
        return self.base.get(job_id) if state is _UNSET else state  # type: ignore[return-value]

    def __contains__(self, job_id: str) -> bool:
        return self.get(job_id) is not None

    def __setitem__(self, job_id: str, state: JobState) -> None:
        self.over[job_id] = state

    def pop(self, job_id: str, default: None = None) -> None:
        """Keep nothing of the job (its state in `base` stays as the snapshot has it; one a
        scan is making goes into the next `base` as not kept)."""
        self.over[job_id] = None

    def adopt(self, jobs: dict[str, JobState]) -> None:
        """Take a whole scan's jobs as the base: every job of it whose state is not kept was
        marked so as it was made (a racy read, an absent directory); jobs gone go."""
        self.over = {
            job_id: state
            for job_id, state in self.over.items()
            if job_id in jobs and jobs[job_id] is not state
        }
        self.base = jobs


_UNSET: Any = object()


class _LocationsOf(Mapping[str, JobLocation]):
    """Each job's location as the states of a whole scan's jobs hold it: what the scanner
    keeps of the root's listing when that scan found a job in every directory listed, in the
    listing's order (a dict of its own, the same locations, was ~3.7 MB at 100,000 jobs)."""

    __slots__ = ("_jobs",)

    def __init__(self, jobs: dict[str, JobState]) -> None:
        self._jobs = jobs

    @property
    def of(self) -> dict[str, JobState]:
        """The jobs whose states' locations these are."""
        return self._jobs

    def __getitem__(self, job_id: str) -> JobLocation:
        return self._jobs[job_id].location

    def get(self, job_id: str, default: Any = None) -> Any:
        state = self._jobs.get(job_id)
        return default if state is None else state.location

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def items(self) -> Any:
        """In C: a whole scan iterates them."""
        return zip(self._jobs, map(_LOCATION, self._jobs.values()), strict=True)

    def values(self) -> Any:
        return map(_LOCATION, self._jobs.values())


_LOCATION = attrgetter("location")


class Scanner:
    """Scans one root repeatedly, re-reading only what changed.

    With `persistent`, what the manifests said is also kept between processes in the user's
    cache directory (`_scan_cache`): a fresh process then stats every manifest and reads only
    the changed ones.
    """

    def __init__(
        self, root: Path, policy: Policy, *, persistent: bool = False, keep_index: bool = False
    ) -> None:
        self.root = root
        self.policy = policy
        self._keep_index = keep_index
        """Keep the index's jobs after enumerating (a one-shot `status` checks their paths in
        `listing`; a long-lived scanner lets them go)."""
        self.quiet: Callable[[], frozenset[str]] | None = None
        """Jobs an event source (`Watching.quiet`) vouches for: owner alive by its pidfd and
        manifest unwritten by its inotify watch. Their lock and identity are not probed again;
        only their heartbeat is re-read (a console poll of 1,000 active jobs: 77 -> 43 ms of
        CPU, measured with the machine loaded)."""
        self._cache = _KeptStates()
        """The last state of each job whose manifest's stat tells a change: its fingerprint
        (with the ctime) is what was read, and the read was not in the same clock tick as a
        write (racy-git: a same-size rewrite in that tick would keep the stat)."""
        self._restored: dict[str, _scan_cache.Entry] | _scan_cache.Ahead = {}
        """Entries of the cache file a scan has not reached yet: made into a state only for a
        job still there whose manifest's stat is the same."""
        self._root_real = os.path.realpath(root)
        self._persist_path = _scan_cache.cache_file(self._root_real) if persistent else None
        self._persist_header: tuple[Any, ...] = ()
        self._reads = 0
        """Manifests read since the cache file was loaded or saved: save only after reads."""
        self._base: tuple[_scan_cache.Stamp, int] | None = None
        """The stamp of the cache file loaded or written whole, and its count of entries: a
        save then writes only the jobs read since (`_scan_cache.save_delta`)."""
        self._read_since_base: set[str] = set()
        """Jobs read since that file: the only ones whose entries there may be out of date.
        At most `_delta_most` + 1 of them: past that the save is a whole one anyway (a set of
        every job read after some minutes of churn was 2-4 MB at 100,000 jobs, for nothing)."""
        self._delta_most = _DELTA_MIN
        """The most jobs read since the file that a save of them only (a delta) is made for."""
        self._saved_at: float | None = None
        self.defer_persist = False
        """Leave the cache file to `persist_pending` (the CLI writes it once its output is out)."""
        self._unsaved: dict[str, JobState] | None = None
        self._dead: set[ProcessIdentity] = set()
        self._legacy: dict[int, Liveness] | None = None
        """During `rejudge`: the legacy pids looked at in it (many jobs may name one pid)."""
        """Owners and commands found dead (see `_liveness`)."""
        self._static_verdicts: dict[tuple[str | None, str | None, str | None], Verdict] = {}
        """One verdict per distinct (status, waiting reason, fatal problem) of the jobs whose
        verdict cannot change with time: most of a big root shares a handful."""
        self._index_key: tuple[int, int, int] | None = None
        self._index: IndexRead | None = None
        self._locations: Mapping[str, JobLocation] = {}
        self._location_issues: tuple[RootIssue, ...] = ()
        self._root_mtime: int | None = None
        self._listing_path = (
            _scan_cache.cache_file(self._root_real, "listing") if persistent else None
        )
        """The root's plain listing kept between processes (`_root.plain_listing`): a fresh
        console at 100,000 jobs neither parses the index nor lists the root when neither
        changed (~0.3 s of its first look). Written by any persistent scanner, taken only by
        one that lets the index's jobs go (`listing()` needs them)."""
        self._index_seen: tuple[tuple[int, int, int, int] | None, int] | None = None
        """The index's stat key as it was read, and when (before the read)."""
        self._listing_unsaved: Listing | None = None
        """A plain listing made since the last save, true for stat keys not racy."""
        self._listing_racy = False
        """The last listing was plain but made within the racy window of a change."""
        self._ahead: StatsAhead | None = None
        """The manifests' stats a child takes from a first look on, for the whole scan."""
        self.relist_racy = False
        """Make a racy listing again when saving (`_listing_now`): `status` saves after its
        output, by then often out of the window (a root just made, a job just added)."""

    def forget(self, job_id: str) -> None:
        """Drop one job's cached state, e.g. after we wrote to it."""
        self._cache.pop(job_id, None)
        self._restored.pop(job_id, None)

    def _read_index(self) -> IndexRead:
        read_at = time.time_ns()
        try:
            st = os.stat(self.root / INDEX_NAME, follow_symlinks=False)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            full_key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        except OSError:
            key = full_key = None
        if (
            self._index is None
            and self._listing_path is not None
            and not self._keep_index
            and self._take_listing(full_key)
        ):
            self._index_key = key
            self._index_seen = (full_key, read_at)  # what the kept listing's index was
            return self._index  # type: ignore[return-value]
        if self._index is None or key != self._index_key:
            self._index = read_index(self.root)
            self._index_key = key
            self._index_seen = (full_key, read_at)
            self._root_mtime = None  # the union must be recomputed
        return self._index

    def _take_listing(self, index_key: tuple[int, int, int, int] | None) -> bool:
        """Take the kept listing when the root directory and the index still have the stat
        keys it was made for (a job directory that came or went, or an index rewritten, or
        put back with its old mtime, changes them); False: list the root."""
        assert self._listing_path is not None
        kept = _scan_cache.load(self._listing_path, _listing_header(self._root_real))
        listing = kept.get("listing")
        if listing is None:
            return False
        try:
            st = os.stat(self.root)
            root_key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            if type(listing) is not tuple or listing[:2] != (root_key, index_key):
                return False
            self._index, self._locations = listed_locations(self.root, listing)
        except (OSError, TypeError, ValueError):
            return False
        self._location_issues = ()
        self._root_mtime = st.st_mtime_ns
        return True

    def _enumerate(self, index: IndexRead) -> Mapping[str, JobLocation]:
        # The root's mtime changes when job directories come and go: skip the scandir otherwise.
        listed_at = time.time_ns()
        st = os.stat(self.root)
        root_mtime = st.st_mtime_ns
        if root_mtime != self._root_mtime or not self._locations:
            if _slimmed(index):
                index = read_index(self.root)  # its entries were let go: read them again
            enumerated = enumerate_jobs(self.root, index, root_real=self._root_real)
            self._locations, self._location_issues = enumerated.locations, enumerated.issues
            self._root_mtime = root_mtime
            seen = self._index_seen
            if self._listing_path is not None and enumerated.plain and seen is not None:
                racy = _scan_cache.is_racy(root_mtime, listed_at) or (
                    seen[0] is not None and _scan_cache.is_racy(seen[0][1], seen[1])
                )
                if not racy:
                    root_key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
                    self._listing_unsaved = plain_listing(root_key, seen[0], index, self._locations)
                self._listing_racy = racy
            if self._keep_index:
                return self._locations
            # Keep the index without its jobs (a path per job: 35 MB at 100,000 jobs, used
            # again only when job directories come or go, when it is read anew).
            self._index = IndexRead(
                {},
                index.issues,
                index.exists,
                None
                if index.data is None
                else {key: value for key, value in index.data.items() if key != "jobs"},
            )
        return self._locations

    def listing(
        self,
    ) -> tuple[IndexRead, Mapping[str, JobLocation], dict[str, str | None], tuple[RootIssue, ...]]:
        """The index, each job's location and manifest path (None: not to be read), and the
        root's issues, as a scan sees them (re-read only when the root or the index changed);
        the scan before it read the index once, with its entries."""
        if not self._keep_index:
            raise ValueError("listing() needs a scanner made with keep_index=True")
        index = self._read_index()
        locations = self._enumerate(index)
        manifests = {job_id: _manifest_of(location) for job_id, location in locations.items()}
        return index, locations, manifests, (*index.issues, *self._location_issues)

    def scan(self, now: float | None = None, *, limit: int | None = None) -> Snapshot:
        """Every job, or with `limit` only the first that many (a quick first look at a big
        root: what is read is cached, so the full scan that follows does not read it again)."""
        started = time.perf_counter()
        now = time.time() if now is None else now
        index = self._read_index()
        locations = self._enumerate(index)
        complete = limit is None or limit >= len(locations)
        items: Iterable[tuple[str, JobLocation]] = (
            locations.items() if complete else itertools.islice(locations.items(), limit)
        )
        jobs: dict[str, JobState] = {}
        quiet = self.quiet() if self.quiet is not None else frozenset()
        state_for = self._state_for
        from_row = self._from_row
        # `_KeptStates.get`, inline: the changes since the last whole scan, then its jobs
        cached, cached_before, unset = self._cache.over.get, self._cache.base.get, _UNSET
        stat = os.stat
        pack_stat = _pack_stat
        # the manifest path of a job directory found in the root, made from the root's one
        # string (`JobLocation.directory` is made at each access: ~10 % of this loop's time)
        in_root = _in_root_place(locations)
        in_root_prefix = f"{in_root}/"
        ahead: StatsAhead | None = None
        with gc_paused():
            if self._persist_path is not None and not self._persist_header:
                # for a first look too: its jobs' entries are in the file's first frame
                # (`Ahead` loads no other), ~10 ms where 400 reads were ~40 ms at 100,000
                # jobs; the whole scan after it goes on with the same entries
                self._restore()
                if not complete and len(locations) >= STATS_AHEAD_MIN and in_root is not None:
                    self._ahead = StatsAhead(in_root_prefix, list(locations), _MANIFEST_TAIL)
            if complete:
                ahead, self._ahead = self._ahead, None
            restored = self._restored.pop if self._restored else None
            # the entries of the frame the scan is in (`Ahead.newest`): most jobs' entry is
            # there, taken without `Ahead.pop`'s look through the frames loaded and the delta
            frames = self._restored if type(self._restored) is _scan_cache.Ahead else None
            newest_pop = None
            if ahead is not None:
                ahead.refresh()
            # the child's keys in the order it was given the jobs (the listing's, as a whole
            # scan after a first look has it): a job's key taken by its number, not its id
            ahead_ids: Sequence[str] = () if ahead is None else ahead.job_ids
            ahead_keys: list[bytes] = [] if ahead is None else ahead.taken
            ahead_count, taken_count = len(ahead_ids), len(ahead_keys)  # (the latter: as taken)
            missed = 0
            # kept states whose manifest changed: read after the loop, many in a child
            # (the ids and their stat keys, no tuple per job: 20,000 of them alive through the
            # child's read were as many holes in pymalloc's pools once it was done)
            again: list[str] = []
            again_keys: list[StatKey] = []
            for number, (job_id, location) in enumerate(items):
                if not number & PACE_EVERY:
                    pace()  # the console's event loop first while it handles a key
                # Inline, the common case of a big root: a job with nothing time-dependent
                # whose manifest's stat is what was read (`_state_for` again, without its
                # calls: at 100,000 jobs they were twice the stat's own cost).
                state = cached(job_id, unset)
                # a whole scan's state of a job with no change kept since the last whole scan
                # need not be kept as a change: its jobs are kept as it ends (`adopt`)
                keep = state is not unset or not complete
                if state is unset:
                    state = cached_before(job_id)
                kept = state is not None and state.evidence is None and state.location is location
                # (read in place of its properties; its fields by number: a named field is a
                # descriptor looked up at each read)
                where = location._where
                row = None
                if state is None and restored is not None and where[_WRITABLE]:
                    # and the first scan from the cache file: `_state_for`'s restore, inline
                    # (at 100,000 jobs its calls were 0.1 s of the whole root's first poll)
                    if newest_pop is not None:
                        row = newest_pop(job_id, None)
                    if row is None:
                        row = restored(job_id, None)
                        if frames is not None:
                            newest = frames.newest()
                            newest_pop = None if newest is None else newest.pop
                    if not where[_ON_DISK]:
                        row = None
                if kept or row is not None:
                    in_place = where[_PLACE] is in_root
                    key = None
                    if in_place and ahead is not None:
                        if number < ahead_count and ahead_ids[number] is job_id:
                            if number >= taken_count and ahead.running:
                                missed += 1
                                if missed >= LOOK_AGAIN:  # the child is behind: how far?
                                    missed = 0
                                    ahead.refresh()
                                    taken_count = len(ahead_keys)
                            if number < taken_count:
                                key = ahead_keys[number]
                        else:  # out of the child's order (the root was listed again)
                            key = ahead.keys.get(job_id)
                            if key is None and ahead.running:
                                missed += 1
                                if missed >= LOOK_AGAIN:
                                    missed = 0
                                    ahead.refresh()
                                    taken_count = len(ahead_keys)
                                    key = ahead.keys.get(job_id)
                    manifest = None  # made only for a stat or a read
                    if key is None or key == NOT_TAKEN:
                        manifest = (
                            f"{in_root_prefix}{location.job_id}{_MANIFEST_TAIL}"
                            if in_place
                            else f"{location.directory}/{MANIFEST_NAME}"
                        )
                        try:
                            st = stat(manifest, follow_symlinks=False)
                        except OSError:
                            key = None
                        else:
                            numbers = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
                            try:
                                key = pack_stat(*numbers)  # `stat_key`, inline
                            except struct.error:
                                key = numbers
                    if key is not None and row is not None:
                        state = from_row(job_id, location, manifest, row, key, now, None, keep)
                        if state is not None:
                            jobs[job_id] = state
                        continue
                    seen = state.stat if kept else None
                    if (
                        key is not None
                        and seen is not None
                        and where[_WRITABLE]
                        and where[_ON_DISK]
                    ):
                        # unchanged: the state as it is; else read again (what `_state_for`
                        # does after a stat of its own: ~20,000 more in a poll of much churn)
                        if seen != key:
                            again.append(job_id)
                            again_keys.append(key)
                        jobs[job_id] = state  # its place in the order, until read again
                        continue
                state = state_for(job_id, location, now, quiet)
                if state is not None:
                    jobs[job_id] = state
            if ahead is not None:
                ahead.stop()
            if again:
                self._read_again(again, again_keys, locations, jobs, now)
            if complete:
                self._restored = {}  # entries of jobs that are gone
                self._cache.adopt(jobs)
                if (
                    not self._keep_index
                    and locations is self._locations
                    and len(jobs) == len(locations)
                    and all(map(eq, jobs, locations))
                    and all(map(is_, map(_LOCATION, jobs.values()), locations.values()))
                ):
                    self._locations = _LocationsOf(jobs)  # the same, without a dict of its own
        if (
            complete
            and self._persist_path is not None
            and (
                self._reads
                or self._listing_unsaved is not None
                or (self._listing_racy and self.relist_racy)
            )
            and (self._saved_at is None or now - self._saved_at >= _scan_cache.SAVE_EVERY_S)
        ):
            if self.defer_persist:
                self._unsaved = jobs
            else:
                self._persist(jobs)
            self._saved_at = now
        issues = (*index.issues, *self._location_issues)
        return Snapshot(
            self.root,
            now,
            time.perf_counter() - started,
            jobs,
            issues,
            index.exists,
            len(locations),
            complete,
            index_facts(self.root, index),
        )

    def scan_job(self, job_id: str, now: float | None = None) -> JobState | None:
        """One job, re-read from disk now (no cache): what actions plan and re-check against."""
        now = time.time() if now is None else now
        self.forget(job_id)
        index = self._read_index()
        location = self._enumerate(index).get(job_id)
        if location is None:
            self._root_mtime = None  # maybe created since the last scan
            location = self._enumerate(index).get(job_id)
        if location is None:
            return None
        return self._state_for(job_id, location, now)

    def rejudge(self, job_ids: Iterable[str], now: float) -> dict[str, JobState | None]:
        """These jobs now (None: gone), each as a whole scan sees it: its manifest read again
        only when its stat says it changed, its evidence gathered anew when it is active (no
        job is taken as quiet: a wake named it). A console's light tick re-judges the jobs no
        event can watch; read again each time, ~1,000 of them at 100,000 jobs were ~0.2 s of
        the worker every second."""
        index = self._read_index()
        locations = self._enumerate(index)
        if any(job_id not in locations for job_id in job_ids):
            self._root_mtime = None  # maybe created since the last listing
            locations = self._enumerate(index)
        judged: dict[str, JobState | None] = {}
        cache = self._cache
        self._legacy = {}
        try:
            for number, job_id in enumerate(job_ids):
                if not number & PACE_EVERY_READ:
                    pace()
                location = locations.get(job_id)
                if location is None:
                    judged[job_id] = None
                    continue
                kept = cache.get(job_id)
                if kept is not None and self._legacy_as_judged(kept, location):
                    judged[job_id] = kept
                    continue
                state = self._state_for(job_id, location, now)
                if state is not kept and kept is not None and _judged_alike(kept, state):
                    cache[job_id] = state = kept
                judged[job_id] = state
        finally:
            self._legacy = None
        return judged

    def follow(
        self, before: dict[str, JobState], after: dict[str, JobState], judged: Iterable[str]
    ) -> None:
        """`after`, a copy of the whole snapshot `before` with the states `rejudge` gave of
        `judged` (a light tick's), is now what callers hold: keep the states and the listing
        in it, not in `before` (otherwise alive beside it, ~3.7 MB each at 100,000 jobs, until
        the next whole scan). Each of its states is trusted as `before`'s was, or as `rejudge`
        left it."""
        if self._cache.base is not before:
            return  # a whole scan came between: what it kept is newer
        self._cache.adopt(after)
        locations = self._locations
        if (
            type(locations) is _LocationsOf
            and locations.of is before
            # the same jobs, so in the same order (a copy where only `judged` came or went),
            # each at the same location
            and all(
                job_id in before
                and job_id in after
                and after[job_id].location is before[job_id].location
                for job_id in judged
            )
        ):
            self._locations = _LocationsOf(after)

    def _legacy_as_judged(self, kept: JobState, location: JobLocation) -> bool:
        """True when a job with a legacy pid (no owner record) would be judged as it was: its
        manifest's stat, lock, pid and newest log as then. Its verdict follows from these
        alone, not from the clock (`classify`: only its evidence's ages do, as in every job
        not judged again); looked at without the judgement's objects, ~20 us a job less (at
        100,000 jobs ~1,000 such jobs are due at every light tick: they cannot be watched)."""
        evidence = kept.evidence
        if (
            evidence is None
            or evidence.has_owner
            or evidence.legacy_pid is None
            or kept.location is not location
            or kept.stat is None
        ):
            return False
        manifest = _manifest_of(location)
        if manifest is None:
            return False
        directory = location.directory
        try:
            st = os.stat(manifest, follow_symlinks=False)
        except OSError:
            return False
        if kept.stat != stat_key(st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size):
            return False
        legacy, pid = self._legacy, evidence.legacy_pid
        owner = None if legacy is None else legacy.get(pid)
        if owner is None:
            owner = legacy_liveness(pid)
            if legacy is not None:
                legacy[pid] = owner
        if owner is not evidence.owner or probe_lock(f"{directory}/{LOCK_NAME}") is not (
            evidence.lock
        ):
            return False
        activity = (st.st_mtime_ns / 1e9, kept.facts.last_event_at, _newest_log_mtime(directory))
        return max(filter(None, activity), default=None) == evidence.activity_at

    def _state_for(
        self, job_id: str, location: JobLocation, now: float, quiet: frozenset[str] = frozenset()
    ) -> JobState | None:
        manifest = _manifest_of(location)
        if manifest is None:
            self._cache.pop(job_id)  # nothing read: a whole scan's jobs keep it, not the cache
            return self._absent(job_id, location)
        state = self._cache.get(job_id)
        if state is None and not self._restored:
            # never read: no stat first, the read's own fstat is the key of what was read
            return self._load(job_id, location, manifest, now)
        try:
            st = os.stat(manifest, follow_symlinks=False)
        except OSError:  # gone or unreadable: read it to learn the problem
            return self._load(job_id, location, manifest, now)
        if state is None:
            row = self._restored.pop(job_id, None)
            if row is None:
                return self._load(job_id, location, manifest, now)
            return self._from_row(
                job_id,
                location,
                manifest,
                row,
                stat_key(st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size),
                now,
            )
        seen = state.stat
        if seen is None or seen != stat_key(st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size):
            return self._load(job_id, location, manifest, now)
        if state.evidence is None:  # nothing time-dependent: reuse as is
            if state.location is not location:
                state = _moved_or_judged(state, location, state.verdict, state.activity_at, None)
                self._cache[job_id] = state
            return state
        if job_id in quiet and state.location is location:
            obs = _beat_again(state.evidence, location.directory)
            state = _moved_or_judged(
                state, location, classify(obs, self.policy, now), obs.activity_at, obs
            )
        else:
            state = self._judge(
                job_id,
                location,
                state.facts,
                state.problems,
                seen,
                now,
            )
        self._cache[job_id] = state
        return state

    def _judge(
        self,
        job_id: str,
        location: JobLocation,
        facts: JobFacts,
        problems: tuple[Problem, ...],
        stat: StatKey | None,
        now: float,
    ) -> JobState:
        """The state of a job from what its manifest said: evidence only for an active one."""
        problem = _fatal_problem(problems)
        mtime = stat_fields(stat)[1] / 1e9 if stat is not None else None
        if problem is None and category_of(facts.status) is Category.ACTIVE:
            obs = observe(job_id, location.directory, facts, mtime, self._dead, self._legacy)
            verdict = classify(obs, self.policy, now)
            return _new_state(
                job_id,
                location,
                facts,
                problems,
                stat,
                verdict,
                obs.activity_at,
                obs,
            )
        verdict = self._static_verdict(facts, problem)
        activity = _newest(mtime, facts.last_event_at)
        return _new_state(job_id, location, facts, problems, stat, verdict, activity, None)

    def _static_verdict(self, facts: JobFacts, problem: str | None) -> Verdict:
        """The verdict of a job that is not active (or unreadable): it follows from the status,
        the waiting reason and the problem alone, so equal ones share one object."""
        key = (facts.status, facts.waiting_reason, problem)
        verdict = self._static_verdicts.get(key)
        if verdict is None:
            obs = Observation(
                job_id="",
                manifest_ok=problem is None,
                status=facts.status,
                category=Category.UNKNOWN if problem is not None else category_of(facts.status),
                manifest_problem=problem,
                waiting_reason=facts.waiting_reason,
            )
            verdict = classify(obs, self.policy, 0.0)
            if len(self._static_verdicts) < _STATIC_VERDICTS_KEPT:
                self._static_verdicts[key] = verdict
        return verdict

    def _load(
        self, job_id: str, location: JobLocation, manifest: str, now: float
    ) -> JobState | None:
        read, facts, problems, read_at = read_facts(job_id, manifest)
        self._reads += 1
        since = self._read_since_base
        if self._base is not None and len(since) <= self._delta_most:
            since.add(job_id)
        # a plain directory is a job only if it has job files or is indexed
        if (
            not read.ok
            and read.problems[0].code is ProblemCode.MISSING
            and not location.indexed
            and not (
                os.path.lexists(os.path.join(location.directory, LOCK_NAME))
                or os.path.isdir(os.path.join(location.directory, BACKUP_DIR))
            )
        ):
            self._cache.pop(job_id, None)
            return None
        fingerprint = read.fingerprint
        state = self._judge(
            job_id, location, facts, problems, _stat_of(fingerprint, read.ctime_ns), now
        )
        # Kept only when the stat can tell a later change: not modified in the clock tick of
        # the read (racy-git: a same-size rewrite in that tick would keep the stat).
        if fingerprint is not None and not _scan_cache.is_racy(fingerprint.mtime_ns, read_at):
            self._cache[job_id] = state
        else:
            self._cache.pop(job_id, None)
        return state

    def _from_row(
        self,
        job_id: str,
        location: JobLocation,
        manifest: str | None,
        row: _scan_cache.Entry,
        stat_now: StatKey,
        now: float,
        before: JobFacts | None = None,
        keep: bool = True,
    ) -> JobState | None:
        """A job's state from its cache file entry, if its manifest's stat (`stat_key`) is the
        row's; `manifest`: its path (None: `_manifest_in`'s, made only for a read); `before`:
        the job's facts until now, whose texts and numbers equal to the entry's are kept
        (`_kept_alike`); `keep` False: the state is not put in the scanner's cache (a whole
        scan's jobs become it as it ends, `_KeptStates.adopt`)."""
        try:
            key, facts_row, problems = row[0], row[1], row[2]
            if key != stat_now:  # (packed alike: `_entry`)
                return self._load(job_id, location, manifest or _manifest_in(location), now)
            recorded_row = facts_row[-1]  # the last field (checked at import)
            if recorded_row is _nothing_rows[0]:  # a cache frame's rows share the one tuple
                recorded = NOTHING_RECORDED
            elif recorded_row == _NOTHING_ROW:  # most jobs: `Recorded.from_row`'s first test
                recorded = NOTHING_RECORDED
                _nothing_rows[0] = recorded_row
            else:
                recorded = Recorded.from_row(recorded_row)
            if len(facts_row) != _FACT_COUNT:
                raise ValueError("not a facts row")
            facts = _facts_of_row(
                facts_row if before is None else _kept_alike(before, facts_row), recorded
            )
            status = facts.status
            if not problems and status not in ACTIVE_STATES:
                # `_judge`'s static branch, inline (with `category_of`, `_static_verdict`'s
                # look-up and `_newest`): most of a big root (0.6 s -> 0.2 s of a 100,000-job
                # restore, and ~20 % of what was left)
                # (the row's waiting reason: the facts' own, or one equal to it)
                verdict = self._static_verdicts.get((status, facts_row[_WAITING_AT], None))
                if verdict is None:
                    verdict = self._static_verdict(facts, None)
                mtime = (
                    _mtime_ns_of(stat_now)[0] if type(stat_now) is bytes else stat_now[1]
                ) / 1e9
                last = facts.last_event_at
                if not mtime:
                    activity = last or None
                elif not last or mtime >= last:
                    activity = mtime
                else:
                    activity = last
                # the stat key the scan made (equal to the entry's), as `_new_state` makes it
                made = _StateDraft(job_id, location, facts, (), stat_now, verdict, activity, None)
                made.__class__ = JobState  # type: ignore[assignment]
                state = made  # type: ignore[assignment]
            else:
                state = self._judge(
                    job_id,
                    location,
                    facts,
                    _scan_cache.problems_in(problems) if problems else (),
                    stat_now,
                    now,
                )
        except (TypeError, ValueError, IndexError):  # not what we wrote: read it
            return self._load(job_id, location, manifest or _manifest_in(location), now)
        if keep:
            self._cache[job_id] = state
        return state

    def _read_again(
        self,
        again: list[str],
        keys: list[StatKey],
        locations: Mapping[str, JobLocation],
        jobs: dict[str, JobState],
        now: float,
    ) -> None:
        """The states of kept jobs whose manifest changed, each in its place in `jobs`. Many
        are read by a child process (`read_in_child`: at 100,000 jobs 30 s of the benchmark's
        churn changed ~20,000 manifests, ~1 s of reads and parses holding the GIL that the
        event loop waited for), their states made from its entries as from the scan cache's:
        an entry whose key is not the manifest's stat here (rewritten again since), or none
        (racy, unreadable), and the manifest is read here."""
        entries = None
        if len(again) >= READ_IN_CHILD_MIN:
            entries = read_in_child((job_id, _manifest_in(locations[job_id])) for job_id in again)
        load, from_row = self._load, self._from_row
        # the child's entries taken out one by one (a frame of them loaded at a time), each
        # freed before the next state is made: a state (its facts a tuple of the same size as
        # an entry's facts row) is made where the entry before was, not beside 20,000 entries
        # alive at once; pymalloc's pools then hold the changed jobs' states once, not their
        # states and a hole per entry
        take = None if entries is None else entries.pop
        for number, (job_id, key) in enumerate(zip(again, keys, strict=True)):
            if not number & PACE_EVERY_READ:
                pace()
            location = locations[job_id]
            manifest = _manifest_in(location)
            entry = None if take is None else take(job_id)
            if entry is None:
                state = load(job_id, location, manifest, now)
            else:
                self._reads += 1
                since = self._read_since_base
                if self._base is not None and len(since) <= self._delta_most:
                    since.add(job_id)
                # (the kept state the scan left in the job's place)
                state = from_row(job_id, location, manifest, entry, key, now, jobs[job_id].facts)
            if state is None:
                del jobs[job_id]
            else:
                jobs[job_id] = state

    def _restore(self) -> None:
        """Take the cache file's entries; a file that does not fit is not used."""
        assert self._persist_path is not None
        self._persist_header = cache_header(self._root_real)
        if self._restored:  # rows given before (the status summary's): the file's over them
            rows, stamp, count = _scan_cache.restore(self._persist_path, self._persist_header)
            self.restore_rows(rows)
        else:
            # loaded a few frames at a time as the scan reaches their jobs (`Ahead`): at
            # 100,000 jobs all the entries at once were ~10 MB of holes in pymalloc's pools
            # after the scan (entries and stat tuples: a size nothing kept fills again)
            self._restored, stamp, count = _scan_cache.restore_ahead(
                self._persist_path, self._persist_header
            )
        self._set_base(stamp, count)
        self._reads = 0

    def restore_rows(self, rows: Mapping[str, _scan_cache.Entry]) -> None:
        """Take rows of `cache_row` (the scan cache's, or the status summary's) for the jobs
        not cached yet: each is made a state when a scan reaches its job, if its manifest's
        stat is still the row's."""
        restored = self._restored
        if not isinstance(restored, dict):  # a scan's restore cut short: its entries go
            self._restored = restored = {}
        for job_id, row in rows.items():
            if job_id not in self._cache:
                restored[job_id] = row

    def cache_key(self, job_id: str) -> StatKey | None:
        """The stat key (`stat_key`, a cache entry's first field) under which a job's cached
        facts are trusted (None: not trusted)."""
        state = self._cache.get(job_id)
        return None if state is None else state.stat

    def cache_row(self, job_id: str) -> _scan_cache.Entry | None:
        """What the cache file keeps of one job (None: nothing read that can be trusted later)."""
        state = self._cache.get(job_id)
        return None if state is None else _row_of(state)

    def state_at(self, location: JobLocation, now: float) -> JobState | None:
        """One job at a location the caller enumerated itself (the status summary's listing,
        kept while the root and its index are unchanged)."""
        return self._state_for(location.job_id, location, now)

    def persist_pending(self) -> None:
        """Write the cache file a scan left unwritten (`defer_persist`)."""
        if self._unsaved is not None:
            self._persist(self._unsaved)
            self._unsaved = None

    def _persist(self, jobs: dict[str, JobState]) -> None:
        """Save the jobs read since the cache file, then the root's plain listing when one was
        made since (the cache first: a console started as `status` ends, while its child still
        saves, wants the cache sooner, and a listing made again takes ~0.5 s)."""
        try:
            if self._reads:
                self._persist_reads(jobs)
        finally:
            listing, self._listing_unsaved = self._listing_unsaved, None
            if listing is None and self._listing_racy and self.relist_racy:
                listing = self._listing_now()
            self._listing_racy = False
            if listing is not None and self._listing_path is not None:
                _scan_cache.save(
                    self._listing_path, _listing_header(self._root_real), {"listing": listing}
                )

    def _persist_reads(self, jobs: dict[str, JobState]) -> None:
        """Save the jobs read since the cache file beside it, or the whole when there is no
        such file of ours or those jobs are many (an entry left there of a job read since, or
        gone, is not wrong: its stat key no longer matches any manifest)."""
        assert self._persist_path is not None
        base = self._base
        since = self._read_since_base
        if base is not None and len(since) <= self._delta_most:
            # made as the save takes them, a frame at a time (up to 12,500 entries at 100,000
            # jobs, ~450 bytes each of tuples: made all first, they were as many holes in
            # pymalloc's pools after the save)
            rows = (
                (job_id, row)
                for job_id in since
                if job_id in jobs and (row := self.cache_row(job_id)) is not None
            )
            if _scan_cache.save_delta(self._persist_path, self._persist_header, base[0], rows):
                self._reads = 0
                return
        saved = 0

        def entries() -> Iterator[tuple[str, _scan_cache.Entry]]:
            """Made as the save takes them, a frame at a time (see `_scan_cache.encode`)."""
            nonlocal saved
            for job_id in jobs:
                row = self.cache_row(job_id)
                if row is not None:
                    saved += 1
                    yield job_id, row

        stamp = _scan_cache.save(self._persist_path, self._persist_header, entries())
        self._set_base(stamp, saved)
        self._reads = 0

    def _set_base(self, stamp: _scan_cache.Stamp | None, count: int) -> None:
        """The cache file now on disk (None: none of ours), of `count` entries: none read since."""
        self._base = None if stamp is None else (stamp, count)
        self._delta_most = max(_DELTA_MIN, count // _DELTA_SHARE)
        self._read_since_base = set()

    def _listing_now(self) -> Listing | None:
        """A plain listing made now (the scanner's own left as it is), if the root and the
        index are out of the racy window: their keys taken first, as `_read_index` and
        `_enumerate` take them."""
        listed_at = time.time_ns()
        try:
            st = os.stat(self.root / INDEX_NAME, follow_symlinks=False)
            index_key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        except OSError:
            index_key = None
        try:
            st = os.stat(self.root)
        except OSError:
            return None
        if _scan_cache.is_racy(st.st_mtime_ns, listed_at) or (
            index_key is not None and _scan_cache.is_racy(index_key[1], listed_at)
        ):
            return None
        index = read_index(self.root)
        enumerated = enumerate_jobs(self.root, index, root_real=self._root_real)
        if not enumerated.plain:
            return None
        root_key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        return plain_listing(root_key, index_key, index, enumerated.locations)

    def _absent(self, job_id: str, location: JobLocation) -> JobState:
        """A job named by the index whose directory is gone or outside the root."""
        reason = location.issues[0].message if location.issues else "job directory is missing"
        return _new_state(
            job_id,
            location,
            NO_FACTS,
            (Problem(ProblemCode.MISSING, reason),),
            None,
            self._static_verdict(NO_FACTS, reason),
        )


READ_IN_CHILD_MIN = 2_000
"""Changed manifests from which a scan has a child process read them (its start is ~0.1 s
of another core)."""
LOOK_AGAIN = 1_024
"""Jobs the stat child had no key for yet, stat here, before looking how far it got."""
STATS_AHEAD_MIN = 20_000
"""Jobs from which a first look has a child stat the manifests for the whole scan (below, its
start costs about what it saves)."""
PACE_EVERY = 255
"""`pace()` in a whole scan's loop when the job's number has none of these bits set: every 256
jobs, ~1 ms of a scan restored from the cache (see `logist._pace`)."""
PACE_EVERY_READ = 31
"""The same for loops whose every job is a read or a judgement (~30 us each): every 32."""
_STATIC_VERDICTS_KEPT = 10_000
"""Bound of the shared static verdicts: a hostile root's endless distinct reasons are not kept."""
_DELTA_MIN = 1_000
_DELTA_SHARE = 8
"""A save writes only the jobs read since the whole cache file while they are at most
`_DELTA_MIN` or an eighth of its entries; past that, the whole (and the delta starts anew)."""
_FACT_NAMES = tuple(f.name for f in fields(JobFacts))
_FACT_COUNT = len(_FACT_NAMES)
_RECORDED_AT = _FACT_NAMES.index("recorded")
if _FACT_NAMES[-1] != "recorded":
    raise TypeError("JobFacts.recorded must stay its last field (Scanner._from_row)")
_facts_row = facts_row
_ALIKE_NAMES = (
    "description",
    "created_at",
    "updated_at",
    "last_event_at",
    "log_path",
    "last_action_id",
    "waiting_reason",
)
"""The facts' texts and times of one job each (labels, costs and thresholds are shared by
the jobs of a frame of entries), what a rewritten manifest mostly says again."""
_ALIKE_AT = tuple(map(_FACT_NAMES.index, _ALIKE_NAMES))
_alike_of = attrgetter(*_ALIKE_NAMES)
_NOTHING_ROW = NOTHING_RECORDED.as_row()
_nothing_rows: list[Any] = [_NOTHING_ROW]
"""A tuple equal to `_NOTHING_ROW` met last (marshal loads one a cache frame, shared by its
rows): told by identity, not by comparing its nine values at every job."""
_new_state = quick_constructor(JobState)
_WAITING_AT = _FACT_NAMES.index("waiting_reason")


class _StateDraft:
    """A mutable twin of `JobState`'s slots (as `quick_constructor` makes one), made a
    `JobState` where a whole scan makes most of them (`Scanner._from_row`): without
    `_new_state`'s call through `*args` and the generated `__init__`'s defaults."""

    __slots__ = JobState.__slots__

    def __init__(
        self,
        job_id: str,
        location: JobLocation,
        facts: JobFacts,
        problems: tuple[Problem, ...],
        stat: StatKey | None,
        verdict: Verdict,
        activity_at: float | None,
        evidence: Observation | None,
    ) -> None:
        self.job_id = job_id
        self.location = location
        self.facts = facts
        self.problems = problems
        self.stat = stat
        self.verdict = verdict
        self.activity_at = activity_at
        self.evidence = evidence


object.__new__(_StateDraft).__class__ = JobState  # a layout that differs fails here, at import


def _kept_alike(before: JobFacts, values: Sequence[Any]) -> list[Any]:
    """A facts row (`values`, without `recorded`) with each text and float equal to `before`'s
    taken from `before`: the object kept, not a copy. At 100,000 jobs a whole poll after 30 s
    of churn makes ~20,000 new facts whose descriptions and times are those of the facts they
    replace; made anew they were ~4 MB more alive until the old ones were freed, and as many
    holes in pymalloc's pools after. Only a non-empty text, or a non-zero float (an equal one
    is the same value: 0.0 and -0.0 are equal, not the same), of the same type."""
    kept = list(values)
    for at, old in zip(_ALIKE_AT, _alike_of(before), strict=True):
        new = kept[at]
        if new is not old and new == old and new and type(new) is type(old):
            kept[at] = old
    return kept


def _listing_header(root_real: str) -> tuple[Any, ...]:
    """What a kept listing of this root must carry to be used: the code that lists, too."""
    code = enumerate_jobs.__code__.co_code + listed_locations.__code__.co_code
    return (*_scan_cache.header(root_real, JobLocation, code), "listing")


def cache_header(root_real: str) -> tuple[Any, ...]:
    """What a cache file of this root must carry to be used (`_scan_cache.header`)."""
    return _scan_cache.header(root_real, JobFacts, facts_from.__code__.co_code)


def _row_of(state: JobState) -> _scan_cache.Entry:
    seen = state.stat
    assert seen is not None  # a cached state is one of a manifest that was read
    return _entry(seen, state.facts, state.problems, state.evidence is None)


def _entry(
    key: StatKey,
    facts: JobFacts,
    problems: tuple[Problem, ...],
    static: bool,
) -> _scan_cache.Entry:
    """A scan cache entry: what `Scanner._from_row` makes a state from again; `key` as
    `JobState.stat` keeps it (packed: marshal loads 28 bytes, not a tuple of four numbers,
    two of them past 30 bits, and the scan compares it with its own stat as it is)."""
    row = list(_facts_row(facts))  # in C: a generator of getattr cost ~1 s at 100,000
    recorded = row[_RECORDED_AT]
    # one tuple for every job the original recorded nothing of: marshal writes it once
    row[_RECORDED_AT] = _NOTHING_ROW if recorded is NOTHING_RECORDED else recorded.as_row()
    return (
        key,
        tuple(row),
        _scan_cache.problems_out(problems) if problems else (),
        not problems or _fatal_problem(problems) is None,
        static,
    )


def read_facts(
    job_id: str, manifest: str
) -> tuple[ManifestRead, JobFacts, tuple[Problem, ...], int]:
    """What a job's manifest says, read now: the read, the facts, the problems (the read's,
    and the timestamps' and job id's), and when the read began (time.time_ns)."""
    read_at = time.time_ns()
    read = read_manifest(manifest)
    facts = facts_from(read.data) if read.data is not None else NO_FACTS
    problems = read.problems
    if read.data is not None:
        found = (
            timestamp_problems(
                read.data, {"created_at": facts.created_at, "updated_at": facts.updated_at}
            )
            if facts.created_at is None or facts.updated_at is None
            else []
        )
        recorded = read.data.get("job_id")
        if isinstance(recorded, str) and recorded != job_id:
            found.append(
                Problem(
                    ProblemCode.ID_MISMATCH,
                    f"manifest says job_id {recorded!r} but lives in {job_id!r}",
                    "job_id",
                )
            )
        if found:
            problems = (*problems, *found)
    return read, facts, problems, read_at


def entries_read(jobs: Iterable[tuple[str, str]]) -> dict[str, _scan_cache.Entry]:
    """(job id, manifest) pairs read now, as scan cache entries, for `Scanner._from_row`
    (run by `read_in_child`). Left out, for the scanner to read itself: a manifest not read,
    and one modified within the racy window of its read (not to be kept: see `_load`)."""
    entries = {}
    for job_id, manifest in jobs:
        read, facts, problems, read_at = read_facts(job_id, manifest)
        fingerprint = read.fingerprint
        if fingerprint is None or _scan_cache.is_racy(fingerprint.mtime_ns, read_at):
            continue
        key = stat_key(fingerprint.inode, fingerprint.mtime_ns, read.ctime_ns, fingerprint.size)
        entries[job_id] = _entry(key, facts, problems, True)
    return entries


def _beat_again(obs: Observation, job_dir: str) -> Observation:
    """The same evidence with the heartbeat read again: all that time changes for a job whose
    owner is known alive and whose manifest is known unchanged."""
    heartbeat_at = _mtime(os.path.join(job_dir, HEARTBEAT_NAME))
    activity = max(filter(None, (obs.activity_at, heartbeat_at)), default=None)
    fresh = copy.copy(obs)  # dataclasses.replace introspects the fields: 29 us a call
    object.__setattr__(fresh, "heartbeat_at", heartbeat_at)
    object.__setattr__(fresh, "activity_at", activity)
    return fresh


def _moved_or_judged(
    state: JobState,
    location: JobLocation,
    verdict: Verdict,
    activity_at: float | None,
    evidence: Observation | None,
) -> JobState:
    """`state` with what its manifest said kept (facts, problems, stat) and a new
    location or judgement."""
    return _new_state(
        state.job_id,
        location,
        state.facts,
        state.problems,
        state.stat,
        verdict,
        activity_at,
        evidence,
    )


def _judged_alike(kept: JobState, state: JobState) -> bool:
    """True when a job judged again found what it was judged on before: the same manifest,
    place and evidence, and a verdict of the same kind, reason and action. Only the ages in the
    verdict's evidence differ (now minus the same times, as in every job not judged again); the
    kept state is kept, so a light tick that learned nothing makes no new state nor row."""
    return (
        kept.stat == state.stat
        and kept.location is state.location
        and kept.evidence == state.evidence
        and kept.activity_at == state.activity_at
        and kept.verdict == state.verdict  # kind, reason, action, proven: not the evidence
    )


def _slimmed(index: IndexRead) -> bool:
    """Whether the scanner let this index's jobs go (see `Scanner._enumerate`)."""
    return index.data is not None and "jobs" not in index.data and index.exists


_MANIFEST_TAIL = f"/{MANIFEST_NAME}"
_PLACE, _ON_DISK, _WRITABLE = map(Where._fields.index, ("place", "on_disk", "writable"))
"""Where `Where`'s fields are: a whole scan reads them by number."""


def _in_root_place(locations: Mapping[str, JobLocation]) -> InRoot | None:
    """The `InRoot` the job directories found in the root share (one object per enumeration),
    if any."""
    for location in locations.values():
        if type(location.place) is InRoot:
            return location.place  # type: ignore[return-value]
    return None


def _manifest_in(location: JobLocation) -> str:
    """The manifest of a job directory found on disk and in the root (`_manifest_of`'s)."""
    return f"{location.directory}/{MANIFEST_NAME}"


def _manifest_of(location: JobLocation) -> str | None:
    """The manifest to read of a job (None: its directory is absent or leads outside)."""
    if location.on_disk and (location.writable or _inside_ok(location)):
        return f"{location.directory}/{MANIFEST_NAME}"
    return None


def _inside_ok(location: JobLocation) -> bool:
    """A symlinked job directory inside the root may be read (not written)."""
    return any(i.code == "job-dir-symlink" for i in location.issues)


__all__ = ["JobFacts", "JobState", "Scanner", "Snapshot", "VerdictKind"]
