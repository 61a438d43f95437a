"""One poll of the root, done in a worker thread: scan, judge, and format every row.

The poller only reads (through the manager) and builds plain data; it never touches a widget.
It keeps the rows of the previous poll and hands back the very same row object for a job
whose shown values did not change, and says which jobs changed: the table applies that diff
(at 100,000 jobs a poll that changes 1,000 of them costs the event loop those 1,000, not a pass
over all). The natural order of the jobs is kept here too, merged rather than re-sorted.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

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

from .rows import JobRow, Row, descending_order, finding_key, finding_row, job_row, triage_row
from .text import age

NEW_ORDERS_PER_POLL = 3
"""Columns whose order is made from scratch in one poll (~0.1 s of worker time each at
100,000 jobs)."""
REBISECT_MAX = 200
"""Moved rows put back one by one into a column's order (a list insert each); more: a new one."""
SORT_SLICE = 4096
"""Rows sorted in one go by the worker: a few ms of GIL each (see `natural_order`)."""
_job_rank = itemgetter(JobRow.RANK)

FIRST_LOOK = 400
"""Jobs read for the first frame of a big root (a screenful and more)."""
FULL_POLL_S = 30.0
"""A whole poll at least this often, however light the ticks between (see `poll_light`):
resting jobs resumed in place, ages, and anything an event could not report show within it."""


@dataclass(frozen=True, slots=True)
class PollResult:
    """Everything one poll learned, ready to be applied on the event loop."""

    taken_at: float
    report: HealthReport | None
    error: str | None = None
    """Why the root could not be scanned (the console keeps retrying and keeps the old data)."""
    states: dict[str, JobState] = field(default_factory=dict)
    jobs: dict[str, JobRow] = field(default_factory=dict)
    """Every job's row (never changed once handed over: the jobs table keeps it as it is)."""
    jobs_base: dict[str, JobRow] | None = None
    """The `jobs` of the poll before, which `jobs_changed` and `jobs_removed` are relative to."""
    jobs_changed: tuple[str, ...] = ()
    jobs_removed: tuple[str, ...] = ()
    natural: list[str] | None = None
    """Every job id in the jobs table's natural order (worst verdict first, then newest)."""
    orders: dict[int, list[str]] = field(default_factory=dict)
    """Per column of the jobs table: every job id sorted by it (ascending, empty cells last,
    ties in natural order), for the columns computed so far (see `column_orders`)."""
    descending: dict[int, list[str]] = field(default_factory=dict)
    """The same, descending (ties still in natural order, empty cells still last), for the
    columns in `Poller.descending`."""
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
    unchanged: bool = False
    """A light tick that re-judged the due jobs and found every row as shown: only the
    header's refresh time and watch status are new (the rest is the previous poll's)."""


class Poller:
    """Turns the manager's view of the root into table rows, reusing unchanged rows."""

    def __init__(
        self,
        *,
        manager: JobRecoveryManager,
        clock: Callable[[], float],
        full_every: float = FULL_POLL_S,
    ) -> None:
        self.manager = manager
        self.clock = clock
        self.full_every = full_every
        self.full_polls = 0
        """Whole polls so far (tests check that a light tick stayed light)."""
        self._rows: dict[str, JobRow] = {}
        """The rows of the last poll (handed over: replaced, never changed in place)."""
        self._states: dict[str, JobState] = {}
        """The state each of those rows was made from (a new state object: look again)."""
        self._natural: list[str] = []
        self._triage: dict[str, tuple[JobState, int, str, Row]] = {}
        """Triage rows of the last poll, with what each was made from (state, place, age)."""
        self._finding_rows_of: dict[str, tuple[Finding, JobState | None, Row]] = {}
        self._orders: dict[int, list[str]] = {}
        self._descending: dict[int, list[str]] = {}
        self._descending_of: dict[int, list[str]] = {}
        self.descending: frozenset[int] = frozenset()
        """Columns whose descending order to keep: the sorted one (set by the app; read here)."""
        self.sorted_columns: frozenset[int] = frozenset()
        """The jobs table's sorted column and the next one (set by the app; read here)."""
        self._upgrades: dict[str, Finding] = {}
        """Findings of the last full validation that replace a quick one (they know the fix)."""
        self._extra: dict[str, Finding] = {}
        """Findings only a full validation finds (leftover files): kept until the next one."""
        self._prefetched: queue.SimpleQueue[PollResult | None] | None = None
        """The results of `prefetch` not taken yet (a None: its thread failed)."""
        self._last: PollResult | None = None
        """The last whole result (full or light), the base of the next light tick."""
        self._full_at = float("-inf")
        self._save_scan_cache = manager.save_scan_cache_later()
        """Writes the scan cache a scan left due (see `_saved_before`)."""

    def prefetch(self) -> None:
        """Start the first polls in a thread now; the next `poll()` calls return their results.

        The first scan of a big root is cold and the slowest; started before Textual is even
        imported, it overlaps the whole start-up instead of following it. On a big root the
        first look is followed at once, in the same thread, by the whole poll: it used to wait
        for the app to mount and show the first look (at 100,000 jobs 1 to 2 s of the time to
        the whole root on screen).
        """
        results: queue.SimpleQueue[PollResult | None] = queue.SimpleQueue()

        def first_polls() -> None:
            try:
                first = self._first_look()
                results.put(first)
                if not first.complete:
                    results.put(self._poll())
            except Exception:  # the caller's own poll does it again, and reports what failed
                results.put(None)

        threading.Thread(target=first_polls, name="logist-first-poll", daemon=True).start()
        self._prefetched = results

    def poll(self) -> PollResult:
        prefetched = self._prefetched
        if prefetched is not None:
            result = prefetched.get()
            if result is None or result.complete:
                self._prefetched = None  # nothing more will come from the first polls
            if result is not None:
                return result
        self._saved_before()
        return self._poll()

    def _saved_before(self) -> None:
        """Write the scan cache the last scan left due (its first complete one, then at most
        every `SAVE_EVERY_S`) at the start of the next poll, not in the scan: the first whole
        poll of a big root is on screen that much sooner (at 100,000 jobs the save is 0.3 to
        0.6 s of the worker, 0.1 s of it holding the GIL in `marshal.dumps`)."""
        self._save_scan_cache()

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

    def poll_light(self, due: frozenset[str]) -> PollResult:
        """Re-judge only `due` (the jobs a wake named, plus `Watching.due`: the same rule as
        `logist watch`'s light pass) on top of the last poll; a whole poll when none is kept
        or `full_every` seconds have passed. A whole poll of 1,000 running jobs is ~50 ms of
        CPU (scan, health, findings, rows); a tick with nothing due reads one status file."""
        self._saved_before()
        last = self._last
        if last is None or time.monotonic() - self._full_at >= self.full_every:
            return self._poll()
        started = time.perf_counter()
        try:
            snapshot = self.manager.rejudge(due) if due else None
        except Exception:  # the whole poll says what is wrong, in the banner
            return self._poll()
        if snapshot is not None and not self._same_rows(snapshot, due):
            return self._judged(snapshot, started)
        if snapshot is not None:
            self._last = last = replace(last, states=snapshot.jobs)
        return replace(
            last,
            taken_at=self.clock(),
            unchanged=True,
            scan_s=time.perf_counter() - started,
            watch=self._watch_status(last.watch),
        )

    def _same_rows(self, snapshot: Snapshot, due: frozenset[str]) -> bool:
        """True when every re-judged job shows as before (the job pane's row and verdict);
        the new states are kept for the rows they already match."""
        rows = self._rows
        now = snapshot.taken_at
        for job_id in due:
            state = snapshot.jobs.get(job_id)
            cached = rows.get(job_id)
            if state is None and cached is None:
                continue
            if state is None or cached is None:
                return False
            if state.verdict.kind is not cached[JobRow.KIND]:
                return False
            activity = state.activity_at
            shown_age = age(None if activity is None else now - activity)
            if job_row(state, shown_age) != cached:
                return False
            self._states[job_id] = state
        return True

    def _poll(self) -> PollResult:
        started = time.perf_counter()
        now = self.clock()
        try:
            report, quick = self.manager.status()
        except Exception as exc:  # any failure becomes the banner; the next poll retries
            return PollResult(now, None, f"{type(exc).__name__}: {exc}")
        if report.overall is Health.UNKNOWN and report.scan_duration_s is None:
            return PollResult(now, report, report.summary)
        self._full_at = time.monotonic()
        self.full_polls += 1
        return self._judged(self.manager.last_snapshot(), started, report, quick)

    def _judged(
        self,
        snapshot: Snapshot,
        started: float,
        report: HealthReport | None = None,
        quick: list[Finding] | None = None,
    ) -> PollResult:
        """A whole result (health, findings, rows) for a complete snapshot; kept as the base
        of the next light tick."""
        if report is None:
            report, quick = self.manager.status(snapshot)
        result = self._result(snapshot, report, started, quick)
        result = replace(result, watch=self._watch_status(None))
        self._last = result
        return result

    def _watch_status(self, fallback: WatchStatus | None) -> WatchStatus | None:
        try:
            return self.manager.watch_status()
        except OSError:
            return fallback

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
            base = self._rows
            jobs, changed, removed = self._job_rows(states, snapshot.taken_at)
            result = PollResult(
                taken_at=snapshot.taken_at,
                report=report,
                states=states,
                jobs=jobs,
                jobs_base=base,
                jobs_changed=changed,
                jobs_removed=removed,
                natural=self._natural,
                orders=self._orders,
                descending=self._descending_orders(),
                triage=self._triage_rows(snapshot),
                findings=self._finding_rows(findings, states),
                finding_objects=findings,
                counts=tuple((kind, counts[kind]) for kind in SEVERITY_ORDER if counts.get(kind)),
                scan_s=time.perf_counter() - started,
                complete=snapshot.complete,
                total=snapshot.total,
            )
            # What a poll made (new states, rows, orders) lives until the next poll replaces
            # it, and it is not cyclic: out of the collector's sight with it. Left in, the
            # first collection after the pause walked all of it at once, holding the GIL (at
            # 100,000 jobs 130-200 ms: the event loop's longest stall).
            gc.freeze()
        return result

    def _descending_orders(self) -> dict[int, list[str]]:
        """Descending orders of the columns asked for, made again only when the ascending one
        changed (about 40 ms at 100,000 jobs: here, not on the event loop at each poll)."""
        kept = {}
        for column in self.descending:
            ascending = self._orders.get(column)
            if ascending is None:
                continue
            made = self._descending.get(column)
            if made is None or self._descending_of.get(column) is not ascending:
                position = JobRow.SORT_FIELDS[column]
                made = descending_order(ascending, [self._rows[k][position] for k in ascending])
                self._descending_of[column] = ascending
            kept[column] = made
        self._descending = kept
        return kept

    def _triage_rows(self, snapshot: Snapshot) -> dict[str, Row]:
        """The triage pane's rows, the previous row object where nothing it shows changed (an
        unchanged row is no work for the table, and no garbage for the collector)."""
        now = snapshot.taken_at
        previous = self._triage
        kept: dict[str, tuple[JobState, int, str, Row]] = {}
        for position, state in enumerate(snapshot.triage()):
            activity = state.activity_at
            shown_age = age(None if activity is None else now - activity)
            cached = previous.get(state.job_id)
            if (
                cached is None
                or cached[0] is not state
                or cached[1] != position
                or cached[2] != shown_age
            ):
                row = triage_row(state, now, position)
                if cached is not None and cached[3] == row:
                    row = cached[3]
                cached = (state, position, shown_age, row)
            kept[state.job_id] = cached
        self._triage = kept
        return {job_id: entry[3] for job_id, entry in kept.items()}

    def _finding_rows(
        self, findings: dict[str, Finding], states: dict[str, JobState]
    ) -> dict[str, Row]:
        """The findings pane's rows, reused as the triage rows are."""
        previous = self._finding_rows_of
        kept: dict[str, tuple[Finding, JobState | None, Row]] = {}
        for key, finding in findings.items():
            state = None if finding.job_id is None else states.get(finding.job_id)
            cached = previous.get(key)
            if cached is None or cached[1] is not state or cached[0] != finding:
                row = finding_row(finding, states)
                if cached is not None and cached[2] == row:
                    row = cached[2]
                cached = (finding, state, row)
            kept[key] = cached
        self._finding_rows_of = kept
        return {key: entry[2] for key, entry in kept.items()}

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

    def _job_rows(
        self, states: dict[str, JobState], now: float
    ) -> tuple[dict[str, JobRow], tuple[str, ...], tuple[str, ...]]:
        """Every job's row (the previous row object where nothing shown changed), the jobs
        whose row changed or is new, the jobs gone; the natural order follows."""
        previous, made_from = self._rows, self._states
        rows: dict[str, JobRow] = {}
        changed: list[str] = []
        for job_id, state in states.items():
            row = previous.get(job_id)
            activity = state.activity_at
            shown_age = age(None if activity is None else now - activity)
            if row is None or made_from.get(job_id) is not state or row[JobRow.AGE] != shown_age:
                fresh = job_row(state, shown_age)
                if fresh != row:
                    row = fresh
                    changed.append(job_id)
            rows[job_id] = row  # type: ignore[assignment]
        removed = tuple(job_id for job_id in previous if job_id not in rows)
        self._states = dict(states)
        if not changed and not removed:
            if len(self._orders) < len(JobRow.SORT_FIELDS):
                self._orders = column_orders(self._orders, self._natural, rows, previous, [], ())
            return previous, (), ()
        self._natural = _merged_order(self._natural, rows, previous, changed, removed)
        self._orders = column_orders(
            self._orders, self._natural, rows, previous, changed, removed, self.sorted_columns
        )
        self._rows = rows
        return rows, tuple(changed), removed


def _merged_order(
    natural: list[str],
    rows: dict[str, JobRow],
    previous: dict[str, JobRow],
    changed: list[str],
    removed: tuple[str, ...],
) -> list[str]:
    """The new natural order: the old one without the rows that moved, merged with them
    (`sorted` finds the two sorted runs and merges them in one C-level pass); a new order when
    most rows moved (the first poll)."""
    moved = [
        job_id
        for job_id in changed
        if (before := previous.get(job_id)) is None
        or before[JobRow.RANK] != rows[job_id][JobRow.RANK]
    ]
    if not moved and not removed:
        return natural
    if len(moved) > len(rows) // 4:
        return list(natural_order(rows))
    gone = set(moved).union(removed)
    kept = [job_id for job_id in natural if job_id not in gone]
    moved.sort(key=lambda job_id: rows[job_id][JobRow.RANK])
    return sorted(kept + moved, key=lambda job_id: rows[job_id][JobRow.RANK])


def column_orders(
    orders: dict[int, list[str]],
    natural: list[str],
    rows: dict[str, JobRow],
    previous: dict[str, JobRow],
    changed: list[str],
    removed: tuple[str, ...],
    wanted: frozenset[int] = frozenset(),
) -> dict[int, list[str]]:
    """Every column's order, kept up to date in the worker so that a sort on the event loop is
    a lookup (at 100,000 jobs a sort of job ids there took 85 to 200 ms). A column whose values
    and ranks did not change keeps its list; a few moved rows are put back by bisection; a new
    order is made from sorted slices (see `_column_order`) for the `wanted` columns (the one
    on screen and the next `s` goes to) and at most NEW_ORDERS_PER_POLL others a poll (~0.1 s
    each at 100,000 jobs), none in the first poll: it is not delayed by them."""
    fresh: dict[int, list[str]] = {}
    # none new in a poll that changed most rows (the first): the table waits for no order
    budget = NEW_ORDERS_PER_POLL if len(changed) <= len(rows) // 4 else 0
    for column, position in enumerate(JobRow.SORT_FIELDS):
        if position == JobRow.RANK:
            fresh[column] = natural  # sorted by the natural rank: the natural order
            continue
        old = orders.get(column)
        if old is not None:
            moved = [
                job_id
                for job_id in changed
                if (before := previous.get(job_id)) is None
                or before[position] != rows[job_id][position]
                or before[JobRow.RANK] != rows[job_id][JobRow.RANK]
            ]
            if not moved and not removed:
                fresh[column] = old
                continue
            if len(moved) <= REBISECT_MAX:
                fresh[column] = _reinserted(old, rows, position, moved, removed)
                continue
            if column in wanted:
                fresh[column] = _column_order(natural, rows, position)
                continue
        if budget:
            budget -= 1
            fresh[column] = _column_order(natural, rows, position)
    return fresh


def _order_key(rows: dict[str, JobRow], position: int) -> Callable[[str], tuple[Any, ...]]:
    """Ascending by the field, empty (None) last, ties in natural order."""

    def key(job_id: str) -> tuple[Any, ...]:
        row = rows[job_id]
        value = row[position]
        return (True, 0, row[JobRow.RANK]) if value is None else (False, value, row[JobRow.RANK])

    return key


def _reinserted(
    order: list[str],
    rows: dict[str, JobRow],
    position: int,
    moved: list[str],
    removed: tuple[str, ...],
) -> list[str]:
    gone = set(moved).union(removed)
    kept = [job_id for job_id in order if job_id not in gone]
    key = _order_key(rows, position)
    for job_id in moved:
        bisect.insort(kept, job_id, key=key)
    return kept


def _column_order(natural: list[str], rows: dict[str, JobRow], position: int) -> list[str]:
    values = list(map(itemgetter(position), map(rows.__getitem__, natural)))
    missing = list(map(operator.is_, values, repeat(None)))
    present = list(compress(natural, map(operator.not_, missing)))
    values = list(compress(values, map(operator.not_, missing)))
    # Slices of the natural order sorted stably, then one stable sort of their concatenation:
    # C merges the sorted runs (ties keep the earlier slice first: the natural order), with
    # C-level keys throughout. One sort of 100,000 ids held the GIL 85 ms; `heapq.merge` with
    # a Python key cost 250 ms and more of worker time a column.
    runs: list[int] = []
    for start in range(0, len(present), SORT_SLICE):
        end = min(len(present), start + SORT_SLICE)
        runs += sorted(range(start, end), key=values.__getitem__)
    order = sorted(runs, key=values.__getitem__)
    return [*map(present.__getitem__, order), *compress(natural, missing)]


def natural_order(rows: dict[str, JobRow]) -> dict[str, JobRow]:
    """The rows in the table's natural order, sorted in slices merged by `heapq.merge` (Python
    code, so the GIL changes hands every few ms): one `sorted()` of 100,000 rows holds the GIL
    ~250 ms, and the event loop, waiting for it, stalled as long.
    """
    if len(rows) <= SORT_SLICE:
        return {row[JobRow.KEY]: row for row in sorted(rows.values(), key=_job_rank)}
    values = list(rows.values())
    slices = [
        sorted(values[start : start + SORT_SLICE], key=_job_rank)
        for start in range(0, len(values), SORT_SLICE)
    ]
    return {row[JobRow.KEY]: row for row in heapq.merge(*slices, key=_job_rank)}
