"""The quick findings and the health tally of a long-lived manager, kept per job between polls.

A console polls a root of 100,000 jobs every few seconds, and between two polls few jobs
change: the scanner hands back the very same (frozen) `JobState` for a job whose manifest did
not change and whose verdict cannot change with time. A whole `quick_findings` + `tally_of`
pass cost 150-300 ms of CPU per poll at 100,000 jobs; here each job's part (its findings, its
verdict, status and crash time) is kept by the identity of its state and redone only for new
or changed states. What depends on more than one job is made from the kept parts: the totals
move by each changed job's part, the root's own issues are taken from each snapshot, and all
findings are sorted again when one of them changed. What depends on the disk (a corrupt
manifest's backup look-up) is redone on every poll. The result is exactly the full
computation's (`tests/integration/test_quick_status.py` compares the two).

What a job's quick findings depend on: its problems, status, location (with its issues) and the
snapshot's `index_exists`, all in the frozen state but the last (a change of it starts over);
and, for a manifest that cannot be read, whether a valid backup is on disk now (looked up on
every poll, as the full computation does). None depends on the time or on another job.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from itertools import compress, count, repeat
from operator import attrgetter, eq, is_, is_not, itemgetter, ne

from .._gc import gc_paused
from .._pace import pace
from ._fixes import restore_offered
from ._frozen import quick_constructor
from ._health import FINDING_SEVERITIES, Tally, ordered_counts
from ._manifest import Severity
from ._root import RootIssue
from ._scan import JobState, Snapshot
from ._validation import (
    SEVERITY_RANK,
    DiskFacts,
    Finding,
    job_findings,
    location_findings,
    manifest_findings,
    root_findings,
)
from ._verdicts import VerdictKind

PASS_STEP = 16_384
"""Jobs in one C-level pass over every job (a few ms holding the GIL)."""
SUSPECT_STEP = 4_096
"""Jobs looked at in Python between two looks at `pace` (a few ms)."""

_STATUSES_KEPT = 1_000
"""Statuses whose own findings are remembered: a root has a handful; a hostile one with a
status per job must not grow the dictionary without bound."""

REBUILD_ABOVE = 1 / 8
"""Past this share of jobs with a new state, all are counted anew (the root was listed again,
as when the index is rewritten: every state then has a new location)."""

_NONE: tuple[Finding, ...] = ()
_new_finding = quick_constructor(Finding)
_KIND = attrgetter("verdict.kind")
_STATUS = attrgetter("facts.status")
_SEVERITY = attrgetter("severity")
_JOB_ID = attrgetter("job_id")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_CRASHED = VerdictKind.CRASHED


def finding_order(finding: Finding) -> tuple[int, str, str]:
    """The order of `snapshot_findings`: errors first, then by job, then by code."""
    return (SEVERITY_RANK[finding.severity], finding.job_id or "", finding.code)


class QuickStatus:
    """One manager's quick findings and tally, brought up to date with each snapshot given."""

    def __init__(self, rebuild_above: float = REBUILD_ABOVE) -> None:
        self._rebuild_above = rebuild_above
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, index_exists: bool | None) -> None:
        self._index_exists = index_exists
        self._jobs: dict[str, JobState] = {}
        """The last snapshot's own dict of jobs (never changed once handed out): two lists of
        its ids and states were 1.6 MB more at 100,000 jobs."""
        self._positions: dict[str, int] | None = None
        """Job id -> its place in the last snapshot, made when the findings' order needs it."""
        self._found: dict[str, tuple[Finding, ...]] = {}
        """The findings of each job that has any: its location's, then its own."""
        self._keyed: dict[str, list[tuple[tuple[int, str, str], Finding]]] = {}
        """The same, each with its sort key."""
        self._foreign: set[str] = set()
        """Jobs with a finding that names another job, or none (a directory listed under
        another name): the order between jobs matters then."""
        self._unreadable: dict[str, JobState] = {}
        """Jobs whose findings depend on the disk (a backup to restore): redone every poll."""
        self._verdicts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._crashed: dict[str, float] = {}
        """The activity time of each crashed job that has one (for the oldest crash's age)."""
        self._status_findings: dict[str | None, tuple[Finding, ...]] = {}
        self._redone: set[str] = set()
        """Jobs whose findings this update made already."""
        self._root_issues: tuple[RootIssue, ...] | None = None
        self._dirty = True
        self._findings: list[Finding] = []
        self._severities: dict[str, int] = {}
        self._index_errors = 0

    def update(self, snapshot: Snapshot) -> tuple[list[Finding], Tally]:
        """The snapshot's quick findings (`_fixes.quick_findings`) and its tally (`tally_of`),
        the same as the full computation gives, from what changed since the last call."""
        with self._lock, gc_paused():  # nothing cyclic is made: no collection mid-way
            jobs = snapshot.jobs
            if snapshot.index_exists is not self._index_exists:
                self._reset(snapshot.index_exists)
            self._redone = set()
            old = self._jobs
            if old and len(jobs) == len(old) and all(map(eq, jobs, old)):
                # the same jobs in the same order (most polls)
                changed = list(compress(jobs, map(is_not, jobs.values(), old.values())))
                if len(changed) <= len(old) * self._rebuild_above:
                    for job_id in changed:
                        self._replace(job_id, old[job_id], jobs[job_id])
                    self._jobs = jobs
                else:
                    self._rebuild(jobs)
            else:
                self._relist(jobs)
            for job_id, state in list(self._unreadable.items()):
                if job_id not in self._redone:  # a backup may have come or gone meanwhile
                    self._set_found(job_id, self._findings_of(state))
            if snapshot.root_issues != self._root_issues:
                self._root_issues = snapshot.root_issues
                self._dirty = True
            if self._dirty:
                self._collect()
            by_verdict, by_status, _ = ordered_counts(self._verdicts, self._statuses, Counter())
            tally = Tally(
                len(jobs),
                by_verdict,
                by_status,
                self._oldest_crash(snapshot),
                dict(self._severities),
                self._index_errors,
                snapshot.index_exists,
                snapshot.duration_s,
            )
            return list(self._findings), tally

    # ---- per job -------------------------------------------------------------------------

    def _relist(self, jobs: dict[str, JobState]) -> None:
        """Jobs came or went (a light tick drops the gone ones): match them by id."""
        kept = self._jobs
        if not kept:  # the first snapshot: all new (no match made: ~15 ms at 100,000 jobs)
            self._rebuild(jobs)
            return
        ids = list(jobs)
        states = list(jobs.values())
        befores = list(map(kept.get, ids))
        gone = [(job_id, kept[job_id]) for job_id in kept.keys() - jobs.keys()]
        changed = list(compress(count(), map(is_not, states, befores)))
        if len(changed) + len(gone) > len(ids) * self._rebuild_above:
            self._rebuild(jobs)  # the root listed again (all new)
            return
        for place in changed:
            self._replace(ids[place], befores[place], states[place])
        for job_id, before in gone:
            self._drop(job_id, before)
        if self._foreign:
            self._dirty = True  # the order between jobs matters: it changed
        self._jobs = jobs
        self._positions = None

    def _rebuild(self, jobs: dict[str, JobState]) -> None:
        """Every job anew, with as little done per job as can be: the counts by C loops, the
        findings only of the few jobs that may have any (a problem, a location issue, a job
        missing from the index, a status that is unknown or deprecated)."""
        self._jobs = jobs
        states = list(jobs.values())
        # C-level passes of PASS_STEP jobs (one Counter of 100,000 held the GIL ~15 ms, a wait of
        # the console's event loop), the same counts in the same order
        kinds: list[VerdictKind] = []
        verdicts: Counter[VerdictKind] = Counter()
        statuses: Counter[str | None] = Counter()
        for start in range(0, len(states), PASS_STEP):
            piece = states[start : start + PASS_STEP]
            kinds += map(_KIND, piece)
            verdicts.update(kinds[start:])
            statuses.update(map(_STATUS, piece))
            pace()  # the console's event loop first while it handles a key
        self._verdicts = verdicts
        odd = {status for status in statuses if self._said(status)}
        for status in [s for s in statuses if not s]:  # None and "": counted as "?"
            statuses["?"] += statuses.pop(status)
        self._statuses = statuses  # type: ignore[assignment]  # no None left
        self._crashed = {
            state.job_id: state.activity_at
            for state in compress(states, map(is_, kinds, repeat(_CRASHED)))
            if state.activity_at is not None
        }
        # a pass over every job in Python: slices of SUSPECT_STEP, `pace()` between (at
        # 100,000 jobs 30-50 ms of a whole poll's worker, competing with keys for the GIL)
        indexed = self._index_exists
        suspects: list[JobState] = []
        for start in range(0, len(states), SUSPECT_STEP):
            suspects += [
                state
                for state in states[start : start + SUSPECT_STEP]
                if state.problems
                or state.location.issues
                or (indexed and not state.location.indexed)
                or state.facts.status in odd
            ]
            pace()
        self._found = {}
        self._keyed = {}
        self._foreign = set()
        self._unreadable = {}
        self._positions = None
        self._dirty = True
        for state in suspects:
            self._set_found(state.job_id, self._findings_of(state))
        self._redone.update(self._unreadable)

    def _replace(self, job_id: str, before: JobState | None, after: JobState) -> None:
        """A job's new state in place of its last one (None: a new job)."""
        kind = after.verdict.kind
        if before is not None:
            if _alike(before, after):  # an active job re-judged: only its crash time may move
                if kind is _CRASHED:
                    self._crashed.pop(job_id, None)
                    if after.activity_at is not None:
                        self._crashed[job_id] = after.activity_at
                if job_id in self._unreadable:
                    self._unreadable[job_id] = after
                return
            self._drop(job_id, before)
        self._verdicts[kind] += 1
        self._statuses[after.facts.status or "?"] += 1
        if kind is _CRASHED and after.activity_at is not None:
            self._crashed[job_id] = after.activity_at
        self._set_found(job_id, self._findings_of(after))
        self._redone.add(job_id)

    def _drop(self, job_id: str, before: JobState) -> None:
        """What a job's last state counted, taken away."""
        _take(self._verdicts, before.verdict.kind)
        _take(self._statuses, before.facts.status or "?")
        self._crashed.pop(job_id, None)
        self._unreadable.pop(job_id, None)
        self._set_found(job_id, _NONE)

    def _findings_of(self, state: JobState) -> tuple[Finding, ...]:
        """One job's part of `snapshot_findings`; without a pass through it for a job with no
        problem and no location issue (nearly every job of a root): its status's own findings
        are the same for every job (`_said`), and it is indexed or not."""
        location = state.location
        if not state.problems and not location.issues:
            said = self._said(state.facts.status)
            unindexed = self._index_exists and not location.indexed and location.on_disk
            if not said and not unindexed:
                return _NONE
            job_id = state.job_id
            found = [
                _new_finding(job_id, f.code, f.severity, f.message, f.recommendation, f.fix)
                for f in said
            ]
            if unindexed:
                found += location_findings(job_id, location, index_exists=True)
            return tuple(found)
        disk = None
        if location.on_disk and not state.manifest_ok:
            disk = DiskFacts(has_valid_backup=restore_offered(state))
            self._unreadable[state.job_id] = state
        found = root_findings(location.issues)
        found += job_findings(state, disk, index_exists=bool(self._index_exists))
        return tuple(found)

    def _said(self, status: str | None) -> tuple[Finding, ...]:
        """What a readable manifest's status says by itself (unknown, deprecated; nothing for
        most), made once per status, with no job named."""
        said = self._status_findings.get(status)
        if said is None:
            said = tuple(manifest_findings("", (), status, manifest_ok=True))
            if len(self._status_findings) < _STATUSES_KEPT:
                self._status_findings[status] = said
        return said

    def _set_found(self, job_id: str, found: tuple[Finding, ...]) -> None:
        before = self._found.get(job_id, _NONE)
        if found == before:
            return
        if found:
            self._found[job_id] = found
            self._keyed[job_id] = [(finding_order(f), f) for f in found]
            if any(map(ne, map(_JOB_ID, found), repeat(job_id))):  # (no generator a job)
                self._foreign.add(job_id)
            else:
                self._foreign.discard(job_id)
        else:
            del self._found[job_id], self._keyed[job_id]
            self._foreign.discard(job_id)
        self._dirty = True

    # ---- across jobs ---------------------------------------------------------------------

    def _collect(self) -> None:
        """The findings in `snapshot_findings`' order: the root's, then each job's in the
        snapshot's order, sorted stably (equal keys keep that order, as there). Only a job
        with a finding that names another job (or none) can tie with another job's: without
        one, the order between jobs is the key's alone."""
        keyed = [(finding_order(f), f) for f in root_findings(self._root_issues or ())]
        if self._foreign:
            if self._positions is None:
                self._positions = dict(zip(self._jobs, count()))
            for job_id in sorted(self._keyed, key=self._positions.__getitem__):
                keyed += self._keyed[job_id]
        else:
            for pairs in self._keyed.values():
                keyed += pairs
        keyed.sort(key=_FIRST)
        findings = list(map(_SECOND, keyed))
        self._findings = findings
        severities = Counter(map(_SEVERITY, findings))
        self._severities = {str(s): severities[s] for s in FINDING_SEVERITIES if severities[s]}
        self._index_errors = sum(
            1
            for f in compress(findings, map(is_, map(_JOB_ID, findings), repeat(None)))
            if f.severity is Severity.ERROR
        )
        self._dirty = False

    def _oldest_crash(self, snapshot: Snapshot) -> float | None:
        """`tally_of`'s oldest crash age: the largest `taken_at - activity_at` is the one of
        the smallest activity time (a rounded subtraction is monotonic), unless one is NaN,
        whose place in the snapshot then decides, as there."""
        times = self._crashed.values()
        if not times:
            return None
        if not any(map(math.isnan, times)):
            return snapshot.taken_at - min(times)
        oldest: float | None = None
        for state in snapshot.jobs.values():
            if state.verdict.kind is VerdictKind.CRASHED and state.activity_at is not None:
                age = snapshot.taken_at - state.activity_at
                oldest = age if oldest is None else max(oldest, age)
        return oldest


def _alike(before: JobState, after: JobState) -> bool:
    """Whether two states of a job give the same findings and counts: the same verdict kind,
    location, problems, status and readability (the crash time is apart)."""
    return (
        after.verdict.kind is before.verdict.kind
        and after.location is before.location
        and after.problems is before.problems
        and after.facts.status == before.facts.status
        and (not after.problems or after.manifest_ok is before.manifest_ok)
    )


def _take(counter: Counter[str], key: str) -> None:
    """One less of `key`, gone at zero (a root's statuses come and go; zeros would pile up)."""
    left = counter[key] - 1
    if left:
        counter[key] = left
    else:
        del counter[key]
