"""One poll of the root, done in a worker thread: scan, judge, and format every row.

The poller only reads (through the manager) and builds plain data; it never touches a widget.
It keeps the rows of the previous poll and hands back the very same `Row` object for a job
whose shown values did not change, so the table's diff is an identity check per job.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter

from logist._gc import gc_paused
from logist.core import (
    SEVERITY_ORDER,
    Finding,
    Health,
    HealthReport,
    JobRecoveryManager,
    JobState,
    Snapshot,
    VerdictKind,
    WatchStatus,
)

from .rows import Row, finding_key, finding_row, job_row, triage_row
from .text import age

SORT_SLICE = 4096
"""Rows sorted in one go by the worker: a few ms of GIL each (see `natural_order`)."""
_rank = attrgetter("rank")

FIRST_LOOK = 400
"""Jobs read for the first frame of a big root (a screenful and more)."""


@dataclass(frozen=True, slots=True)
class PollResult:
    """Everything one poll learned, ready to be applied on the event loop."""

    taken_at: float
    report: HealthReport | None
    error: str | None = None
    """Why the root could not be scanned (the console keeps retrying and keeps the old data)."""
    states: dict[str, JobState] = field(default_factory=dict)
    jobs: dict[str, Row] = field(default_factory=dict)
    triage: dict[str, Row] = field(default_factory=dict)
    findings: dict[str, Row] = field(default_factory=dict)
    finding_objects: dict[str, Finding] = field(default_factory=dict)
    counts: tuple[tuple[VerdictKind, int], ...] = ()
    scan_s: float = 0.0
    complete: bool = True
    """False for the quick first look at a big root: the full poll follows at once."""
    total: int = 0
    """Jobs in the root (more than `jobs` in a first look)."""
    watch: WatchStatus | None = None
    """The root's `logist watch`, if one ever ran there."""


class Poller:
    """Turns the manager's view of the root into table rows, reusing unchanged rows."""

    def __init__(self, *, manager: JobRecoveryManager, clock: Callable[[], float]) -> None:
        self.manager = manager
        self.clock = clock
        self._rows: dict[str, tuple[JobState, str, Row]] = {}
        self._upgrades: dict[str, Finding] = {}
        """Findings of the last full validation that replace a quick one (they know the fix)."""
        self._extra: dict[str, Finding] = {}
        """Findings only a full validation finds (leftover files): kept until the next one."""
        self._prefetched: tuple[threading.Thread, list[PollResult]] | None = None

    def prefetch(self) -> None:
        """Start the first poll in a thread now; the next `poll()` returns its result.

        The first scan of a big root is cold and the slowest; started before Textual is even
        imported, it overlaps the whole start-up instead of following it.
        """
        box: list[PollResult] = []
        thread = threading.Thread(
            target=lambda: box.append(self._first_look()), name="logist-first-poll", daemon=True
        )
        thread.start()
        self._prefetched = (thread, box)

    def poll(self) -> PollResult:
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None:
            thread, box = prefetched
            thread.join()
            if box:
                return box[0]
        return self._poll()

    def _first_look(self) -> PollResult:
        """The first FIRST_LOOK jobs of a big root, so that the first frame has jobs in it
        while the rest is read (measured at 10,000 jobs: jobs on screen at 1.11 s with a full
        first scan, 0.6 s with this). No health is judged on it."""
        started = time.perf_counter()
        try:
            snapshot = self.manager.scan(limit=FIRST_LOOK)
        except Exception:  # the full poll that follows reports it
            return self._poll()
        if snapshot.complete:
            return self._poll()  # a small root: the whole of it at once (re-read from cache)
        return self._result(snapshot, None, started)

    def _poll(self) -> PollResult:
        started = time.perf_counter()
        now = self.clock()
        try:
            report, quick = self.manager.status()
        except Exception as exc:  # any failure becomes the banner; the next poll retries
            return PollResult(now, None, f"{type(exc).__name__}: {exc}")
        if report.overall is Health.UNKNOWN and report.scan_duration_s is None:
            return PollResult(now, report, report.summary)
        result = self._result(self.manager.last_snapshot(), report, started, quick)
        try:
            return replace(result, watch=self.manager.watch_status())
        except OSError:
            return result

    def _result(
        self,
        snapshot: Snapshot,
        report: HealthReport | None,
        started: float,
        quick: list[Finding] | None = None,
    ) -> PollResult:
        """Rows for a snapshot; `quick`: its quick findings when the health report already
        computed them (a pass over every job not to repeat on each poll)."""
        states = snapshot.jobs
        if quick is None:
            quick = self.manager.quick_findings(snapshot)
        with gc_paused():
            findings = self._findings(quick, states)
            counts = snapshot.counts()
            return PollResult(
                taken_at=snapshot.taken_at,
                report=report,
                states=states,
                jobs=self._job_rows(states.values(), snapshot.taken_at),
                triage={
                    job.job_id: triage_row(job, snapshot.taken_at, position)
                    for position, job in enumerate(snapshot.triage())
                },
                findings={key: finding_row(f, states) for key, f in findings.items()},
                finding_objects=findings,
                counts=tuple((kind, counts[kind]) for kind in SEVERITY_ORDER if counts.get(kind)),
                scan_s=time.perf_counter() - started,
                complete=snapshot.complete,
                total=snapshot.total,
            )

    def set_validated(self, findings: Iterable[Finding], quick_keys: set[str]) -> None:
        """Keep a full validation's findings: upgrades of quick ones, and disk-only ones."""
        upgrades, extra = {}, {}
        for finding in findings:
            key = finding_key(finding)
            (upgrades if key in quick_keys else extra)[key] = finding
        self._upgrades, self._extra = upgrades, extra

    def forget_finding(self, key: str) -> None:
        """A fixed finding: the next poll shows it only if it is still there."""
        self._upgrades.pop(key, None)
        self._extra.pop(key, None)

    def _findings(self, quick: list[Finding], states: dict[str, JobState]) -> dict[str, Finding]:
        upgrades, extra = self._upgrades, self._extra
        merged = {}
        for finding in quick:
            key = finding_key(finding)
            merged[key] = upgrades.get(key, finding)
        for key, finding in extra.items():
            if finding.job_id is None or finding.job_id in states:
                merged.setdefault(key, finding)
        return merged

    def _job_rows(self, states: Iterable[JobState], now: float) -> dict[str, Row]:
        previous = self._rows
        current: dict[str, tuple[JobState, str, Row]] = {}
        rows: dict[str, Row] = {}
        for state in states:
            activity = state.observation.activity_at
            shown_age = age(None if activity is None else now - activity)
            cached = previous.get(state.job_id)
            if cached is not None and cached[0] is state and cached[1] == shown_age:
                entry = cached
            else:
                row = job_row(state, shown_age)
                if cached is not None and cached[2] == row:
                    row = cached[2]
                entry = (state, shown_age, row)
            current[state.job_id] = entry
            rows[state.job_id] = entry[2]
        self._rows = current
        return natural_order(rows)


def natural_order(rows: dict[str, Row]) -> dict[str, Row]:
    """The rows in the table's natural order, so that the table's own sort of them (on the
    event loop) meets one sorted run: a linear pass, not 100,000 rows sorted while keys wait.

    Sorted here in slices merged by `heapq.merge` (Python code, so the GIL changes hands every
    few ms): one `sorted()` of 100,000 rows holds the GIL ~250 ms, and the event loop, waiting
    for it, stalled as long.
    """
    if len(rows) <= SORT_SLICE:
        return {row.key: row for row in sorted(rows.values(), key=_rank)}
    values = list(rows.values())
    slices = [
        sorted(values[start : start + SORT_SLICE], key=_rank)
        for start in range(0, len(values), SORT_SLICE)
    ]
    return {row.key: row for row in heapq.merge(*slices, key=_rank)}
