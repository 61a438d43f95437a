"""One poll of the root, done in a worker thread: scan, judge, and format every row.

The poller only reads (through the manager) and builds plain data; it never touches a widget.
It keeps the rows of the previous poll and hands back the very same row object for a job
whose shown values did not change, and says which jobs changed: the table applies that diff
(at 100,000 jobs a poll that changes 1,000 of them costs the event loop those 1,000, not a pass
over all). Only the jobs with a new state are looked at: rows hold no age text (the tables draw
it from the activity time, see `Column.age`), so time passing makes no row again; the orders of
the jobs table follow the moved rows (see `JobOrders`).
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import chain, compress, filterfalse, islice, repeat
from operator import attrgetter, eq, is_not, itemgetter, not_

from logist._gc import gc_paused
from logist._memory import give_back_freed_memory, one_heap
from logist._pace import pace
from logist.core import (
    SEVERITY_ORDER,
    TRIAGE_KINDS,
    FilterQuery,
    Finding,
    Health,
    HealthReport,
    JobRecoveryManager,
    JobState,
    Severity,
    Snapshot,
    VerdictKind,
    WatchStatus,
)

from .finding_order import FindingOrder
from .job_filter import Prefiltered, big_diff, prefilter, worker_can_test
from .orders import JobOrders
from .rows import (
    SEVERITY_RANK,
    JobRow,
    Row,
    descending_order,
    finding_key,
    finding_row,
    job_row,
    triage_row,
)

FIRST_LOOK = 400
"""Jobs read for the first frame of a big root (a screenful and more)."""
PACE_EVERY_ROW = 63
"""`pace()` between rows made when the row's number has none of these bits set (every 64
rows, ~1 ms: see `logist._pace`)."""
PASS_STEP = 16_384
"""Jobs in one C-level pass of a poll over every job (a few ms holding the GIL)."""
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
    ties in natural order), for the columns computed so far (see `JobOrders.update`)."""
    descending: dict[int, list[str]] = field(default_factory=dict)
    """The same, descending (ties still in natural order, empty cells still last), for the
    columns in `Poller.descending`."""
    jobs_prefiltered: Prefiltered | None = None
    """The jobs table's filter (`Poller.jobs_filter` as the poll ended) tested on `jobs`,
    and `natural` and the sorted column's orders filtered, for a poll that changed many rows
    (see `job_filter.prefilter`)."""
    triage: dict[str, Row] = field(default_factory=dict)
    findings: dict[str, Row] = field(default_factory=dict)
    """Every finding's row (never changed once handed over, as `jobs`)."""
    findings_base: dict[str, Row] | None = None
    """The `findings` of the poll before, which `findings_changed` and `findings_removed` are
    relative to (a root moved with its index has 100,000 findings: the pane takes the diff)."""
    findings_changed: tuple[str, ...] = ()
    findings_removed: tuple[str, ...] = ()
    findings_natural: list[str] | None = None
    """Every finding key in the findings pane's natural order (severity, then job and code)."""
    findings_orders: dict[int, list[str]] = field(default_factory=dict)
    """Per column of the findings pane in `Poller.finding_columns`: every key sorted by it
    (ties in natural order); `findings_descending` the same, descending."""
    findings_descending: dict[int, list[str]] = field(default_factory=dict)
    finding_errors: int = 0
    """Findings of error severity (the pane's title says how many)."""
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
        one_heap()  # before the poll threads start: their freed blocks, where all reuse them
        self.manager = manager
        self.clock = clock
        self.full_every = full_every
        self.full_polls = 0
        """Whole polls so far (tests check that a light tick stayed light)."""
        self._rows: dict[str, JobRow] = {}
        """The rows of the last poll (handed over: replaced, never changed in place)."""
        self._states: dict[str, JobState] = {}
        """The state each of those rows was made from (a new state object: look again)."""
        self._kept_states: dict[str, JobState] = {}
        """States a light tick re-judged and found showing as their rows do, over `_states`
        (a snapshot's own dict, never changed: a copy of it, 100,000 entries, was ~4 MB kept
        from the first tick after a whole poll to the next whole poll)."""
        self._triage: dict[str, Row] = {}
        """Triage rows of the last poll, in their order (handed over: replaced, not changed)."""
        self._restated: list[str] = []
        """The jobs whose state the last `_job_rows` found changed (their triage rows are made
        again, their findings' rows looked at again)."""
        self._counts: dict[VerdictKind, int] = {}
        """Jobs per verdict in the rows of the last poll."""
        self._finding_rows_of: dict[str, tuple[Finding, VerdictKind | None, str | None, Row]] = {}
        """Per finding: what its row was made from (the finding, its job's verdict and status)
        and the row, in the order of the findings."""
        self._finding_keys_of: dict[str, list[str]] = {}
        """The findings of each job, by key."""
        self._finding_result: dict[str, Row] = {}
        self._finding_order = FindingOrder()
        self._orders = JobOrders()
        self._descending: dict[int, list[str]] = {}
        self._descending_of: dict[int, list[str]] = {}
        self.descending: frozenset[int] = frozenset()
        """Columns whose descending order to keep: the sorted one (set by the app; read here)."""
        self.sorted_columns: frozenset[int] = frozenset()
        """The jobs table's sorted column and the next one (set by the app; read here)."""
        self.finding_columns: frozenset[int] = frozenset()
        """The same for the findings pane: the columns whose orders `FindingOrder` keeps."""
        self.jobs_filter = FilterQuery()
        """The jobs table's filter (set by the app as it changes; read as a poll ends)."""
        self.jobs_sorted: int | None = None
        """The jobs table's sorted column, None for the natural order (set by the app)."""
        self._upgrades: dict[str, Finding] = {}
        """Findings of the last full validation that replace a quick one (they know the fix)."""
        self._extra: dict[str, Finding] = {}
        """Findings only a full validation finds (leftover files): kept until the next one."""
        self._quick_seen: tuple[list[Finding], list[str]] = ([], [])
        """The last quick findings and their keys (see `_quick_keys`)."""
        self._merged: dict[str, Finding] | None = None
        """The last `_findings` (None: to be merged again from all, as after a validation)."""
        self._merged_hint: tuple[dict[str, Finding], dict[str, Finding], list[str]] | None = None
        """When the last `_findings` was merged from the one before: (that one, it, the keys
        of new objects), for `_finding_rows`."""
        self._finding_source: dict[str, Finding] | None = None
        """The findings the last `_finding_rows` was given."""
        self._prefetched: queue.SimpleQueue[PollResult | None] | None = None
        """The results of `prefetch` not taken yet (a None: its thread failed)."""
        self._last: PollResult | None = None
        """The last whole result (full or light), the base of the next light tick, without its
        `jobs_base` (the rows before it, applied by then: at 100,000 jobs a dict and the
        replaced rows, ~8 MB kept for nothing)."""
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

    @property
    def first_polls_coming(self) -> bool:
        """The results of `prefetch` are not all taken yet: the whole root is on its way."""
        return self._prefetched is not None

    def poll(self) -> PollResult:
        if (result := self._prefetched_result(wait=True)) is not None:
            return result
        self._saved_before()
        return self._poll()

    def prefetched_ready(self) -> PollResult | None:
        """The next result of `prefetch` if it is in already, without waiting (None: not yet,
        none coming, or its thread failed, which the next `poll()` makes up for)."""
        return self._prefetched_result(wait=False)

    def _prefetched_result(self, *, wait: bool) -> PollResult | None:
        prefetched = self._prefetched
        if prefetched is None:
            return None
        try:
            result = prefetched.get(block=wait)
        except queue.Empty:
            return None
        if result is None or result.complete:
            self._prefetched = None  # nothing more will come from the first polls
        return result

    def _saved_before(self) -> None:
        """Write the scan cache the last scan left due (its first complete one, then at most
        every `SAVE_EVERY_S`) at the start of the next poll, not in the scan: the first whole
        poll of a big root is on screen that much sooner (at 100,000 jobs the save is 0.3 to
        0.6 s of the worker, 0.1 s of it holding the GIL in `marshal.dumps`).

        Also the C heap's free pages back to the system: by now the poll before was applied and
        what it replaced freed (at 100,000 jobs the console's RSS grew by ~100 MB of freed heap
        over a few whole polls; `give_back_freed_memory`, a few ms without the GIL)."""
        give_back_freed_memory()
        self._save_scan_cache()

    def _first_look(self) -> PollResult:
        """The first FIRST_LOOK jobs of a big root, so that the first frame has jobs in it
        while the rest is read (measured at 10,000 jobs: jobs on screen at 1.11 s with a full
        first scan, 0.6 s with this). No health is judged on it."""
        started = time.perf_counter()
        # as in `_poll`, until the rows' `gc.freeze()`: the root's listing is long-lived (at
        # 100,000 jobs ~290 collections walked it as it was made, two of them full: ~50 ms)
        with gc_paused():
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
            if snapshot.jobs is not last.states:
                self._last = last = replace(last, states=snapshot.jobs)
            # the states re-judged, kept until the next tick, out of the collector's sight as
            # a whole poll's are: left young, the collections the event loop's allocations
            # started walked them (at 100,000 jobs ~4,000 jobs a tick: 5-15 ms each, in keys);
            # at every tick that judged jobs, as before, whether or not it kept them
            gc.freeze()
        if self._orders_asked_for(last):
            # the orders made (100,000 keys, and values, a column) live as long as a whole
            # poll's: out of the collector's sight as its are. Left young, the event loop's
            # next generation-1 collection walked them (12-20 ms, in keys' frames).
            gc.freeze()
            self._last = last = replace(
                last,
                jobs_base=last.jobs,
                jobs_changed=(),
                jobs_removed=(),
                findings_base=last.findings,
                findings_changed=(),
                findings_removed=(),
                findings_orders=self._finding_order.orders,
                findings_descending=self._finding_order.descending,
                orders=self._orders.orders,
                descending=self._descending_orders(),
            )
            return replace(
                last,
                taken_at=self.clock(),
                scan_s=time.perf_counter() - started,
                watch=self._watch_status(last.watch),
            )
        return replace(
            last,
            taken_at=self.clock(),
            unchanged=True,
            scan_s=time.perf_counter() - started,
            watch=self._watch_status(last.watch),
        )

    def _orders_asked_for(self, last: PollResult) -> bool:
        """Make the orders of the columns asked for (`sorted_columns`, `descending`: the
        sorted one and those the next `s` goes to) that `last` lacks; whether any was made.
        A tick that found every row as shown would otherwise hand over none until rows
        change or the next whole poll: meanwhile each `s` to such a column sorted 100,000
        rows on the event loop (175-260 ms of its CPU)."""
        findings = self._finding_order.asked(self._finding_result, self.finding_columns)
        if all(column in last.orders for column in self.sorted_columns) and all(
            column in last.descending for column in self.descending
        ):
            return findings
        rows = self._rows
        self._orders.update(rows, rows, (), (), self.sorted_columns)
        orders, descending = self._orders.orders, self._descending_orders()
        return (
            findings
            or orders.keys() != last.orders.keys()
            or descending.keys() != last.descending.keys()
        )

    def _same_rows(self, snapshot: Snapshot, due: frozenset[str]) -> bool:
        """True when every re-judged job shows as before (the job pane's row and verdict);
        the new states are kept for the rows they already match."""
        rows, made_from, kept = self._rows, self._states, self._kept_states
        for job_id in due:
            state = snapshot.jobs.get(job_id)
            if state is not None and (state is kept.get(job_id) or state is made_from.get(job_id)):
                continue  # judged alike again (`Scanner.rejudge`): the row it has
            cached = rows.get(job_id)
            if state is None and cached is None:
                continue
            if state is None or cached is None:
                return False
            if state.verdict.kind is not cached.kind:
                return False
            if job_row(state) != cached:
                return False
            kept[job_id] = state
        return True

    def _poll(self) -> PollResult:
        started = time.perf_counter()
        now = self.clock()
        # The collector paused from the scan to the rows' `gc.freeze()`, not in pieces: the
        # scan's own pause ended with every state it made young, and the first allocation
        # after it walked them all (at 100,000 jobs a collection of 65-85 ms that found
        # nothing, holding the GIL, in the first whole poll).
        with gc_paused():
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
        self._last = replace(result, jobs_base=None, findings_base=None, jobs_prefiltered=None)
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
            pace()  # each stage after a key the event loop is handling
            findings = self._findings(quick, states)
            findings_base = self._finding_result
            finding_rows, findings_changed, findings_removed = self._finding_rows(findings, states)
            base = self._rows
            jobs, changed, removed = self._job_rows(states)
            pace()
            counts = self._counts
            natural, orders = self._orders.natural, self._orders.orders
            descending = self._descending_orders()
            result = PollResult(
                taken_at=snapshot.taken_at,
                report=report,
                states=states,
                jobs=jobs,
                jobs_base=base,
                jobs_changed=changed,
                jobs_removed=removed,
                natural=natural,
                orders=orders,
                descending=descending,
                jobs_prefiltered=self._prefiltered(
                    jobs, changed, removed, natural, orders, descending
                ),
                triage=self._triage_rows(states, removed),
                findings=finding_rows,
                findings_base=findings_base,
                findings_changed=findings_changed,
                findings_removed=findings_removed,
                findings_natural=self._finding_order.natural,
                findings_orders=self._finding_order.orders,
                findings_descending=self._finding_order.descending,
                finding_errors=self._finding_order.count(SEVERITY_RANK[Severity.ERROR]),
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
        # The poll's own C-heap garbage (its lists and dicts of every job, the scan's) back
        # to the system as it ends, not a poll later: RSS sampled between two polls was 10-25
        # MB above what the next trim gave back at 100,000 jobs. A few ms, without the GIL.
        give_back_freed_memory()
        return result

    def _prefiltered(
        self,
        rows: dict[str, JobRow],
        changed: tuple[str, ...],
        removed: tuple[str, ...],
        natural: list[str] | None,
        orders: dict[int, list[str]],
        descending: dict[int, list[str]],
    ) -> Prefiltered | None:
        """The jobs table's filter tested here on a poll that changed many rows (the event
        loop then only looks its order up: see `job_filter`); the filter is read now, as the
        poll ends, the closest to the apply (typed since, the table tests it itself)."""
        query = self.jobs_filter
        if not worker_can_test(query) or not big_diff(len(changed) + len(removed), len(rows)):
            return None
        column = self.jobs_sorted
        shown = () if column is None else (orders.get(column), descending.get(column))
        return prefilter(query, rows, (natural, *shown))

    def _descending_orders(self) -> dict[int, list[str]]:
        """Descending orders of the columns asked for, made again only when the ascending one
        changed (about 40 ms at 100,000 jobs: here, not on the event loop at each poll)."""
        kept, made_of = {}, {}
        for column in self.descending:
            ascending = self._orders.orders.get(column)
            if ascending is None:
                continue
            pace()  # a key on the event loop first
            made = self._descending.get(column)
            if made is None or self._descending_of.get(column) is not ascending:
                made = descending_order(ascending, self._orders.values(column))
            kept[column], made_of[column] = made, ascending
        # only the columns kept: an ascending order kept here after its column left
        # `descending` was 0.8 MB at 100,000 jobs, for as long as the console ran
        self._descending, self._descending_of = kept, made_of
        return kept

    def _triage_rows(self, states: dict[str, JobState], removed: tuple[str, ...]) -> dict[str, Row]:
        """The triage pane's rows (jobs that need an operator, worst and oldest first), made
        again for the jobs whose state changed (`_job_rows` names them), the previous row
        object where nothing it shows changed (an unchanged row is no work for the table, and
        no garbage for the collector)."""
        touched = self._restated
        if not touched and not removed:
            return self._triage
        kept = dict(self._triage)
        moved = False  # a row came, went or changed rank: sorted again, else the same order
        for job_id in removed:
            moved |= kept.pop(job_id, None) is not None
        # which of them are in triage, by C-level passes (a first poll touches every job:
        # then in the order of `states`, their states taken as they are, no look-up each)
        touched_states = (
            states.values() if len(touched) == len(states) else map(states.__getitem__, touched)
        )
        triaged = list(map(_in_triage, map(_kind_of_state, touched_states)))
        # (the kept rows of jobs no longer triaged found by look-ups in `kept`: a set of the
        # others was ~10 ms of a first whole poll at 100,000 jobs)
        for job_id in list(filter(kept.__contains__, compress(touched, map(not_, triaged)))):
            del kept[job_id]
            moved = True
        for job_id in compress(touched, triaged):
            state = states[job_id]
            row = triage_row(state)
            before = kept.get(job_id)
            if before != row:
                kept[job_id] = row
                moved |= before is None or before.rank != row.rank
        if moved:
            ordered = sorted(kept.values(), key=_row_rank)
            self._triage = dict(zip(map(_row_key, ordered), ordered, strict=True))
        elif any(map(is_not, kept.values(), self._triage.values())):
            self._triage = {job_id: kept[job_id] for job_id in self._triage}
        return self._triage

    def _finding_rows(
        self, findings: dict[str, Finding], states: dict[str, JobState]
    ) -> tuple[dict[str, Row], tuple[str, ...], tuple[str, ...]]:
        """The findings pane's rows, reused as the triage rows are, the keys whose row is new
        or another, the keys gone; the natural order follows (`FindingOrder`). A finding's row
        shows the finding and, to filter on, its job's verdict and status. The same findings
        as last time (the very objects: kept by the manager for jobs that did not change) are
        looked at only for the jobs with another state, and the findings made again (the
        same keys in the same order, as a corrupt manifest's, looked up on disk at every poll:
        at 100,000 jobs a look at all 7,000 findings was 10-20 ms of every light tick).
        Findings that came or went are found by C-level passes, not a look at every finding
        (a root moved with its index has 100,000)."""
        previous = self._finding_rows_of
        shown = self._finding_result
        restated, self._restated = self._restated, []
        keys_of = self._finding_keys_of
        hint, self._merged_hint = self._merged_hint, None
        source, self._finding_source = self._finding_source, findings
        removed: tuple[str, ...] = ()
        if hint is not None and hint[0] is source and hint[1] is findings:
            # merged from the findings of last time, the same keys in the same order, new
            # objects under these keys only (`_findings`): no pass over all of them
            same_keys = True
            again = list(hint[2])
        else:
            again, removed, same_keys = self._findings_again(findings, previous)
        # (each finding once in `again` here: when it names them all, a first whole poll's,
        # the restated jobs' findings are among them)
        if len(again) < len(findings):
            # the findings of the jobs restated (every job of a first whole poll) by C-level
            # calls: a comprehension over 100,000 jobs was ~10 ms
            again += chain.from_iterable(map(keys_of.get, restated, repeat(())))
        if not again and not removed:
            self._finding_order.asked(shown, self.finding_columns)
            return shown, (), ()
        if same_keys:
            kept = previous.copy()
        else:  # in the order of `findings`, new ones given their entry below
            kept = dict(zip(findings, map(previous.get, findings, repeat(_NO_ENTRY)), strict=True))
        changed: list[str] = []
        for number, key in enumerate(dict.fromkeys(again)):
            if not number & PACE_EVERY_ROW:
                pace()  # the event loop first while it handles a key
            finding = findings[key]
            state = None if finding.job_id is None else states.get(finding.job_id)
            kind = None if state is None else state.verdict.kind
            status = None if state is None else state.facts.status
            cached = before = previous.get(key)
            if (
                cached is None
                or (cached[0] is not finding and cached[0] != finding)
                or cached[1] is not kind
                or cached[2] != status
            ):
                row = finding_row(finding, states)
                if cached is not None and cached[3] == row:
                    row = cached[3]
                cached = (finding, kind, status, row)
            kept[key] = cached
            if before is None or cached[3] is not before[3]:
                changed.append(key)
        self._finding_rows_of = kept
        if not changed and not removed:
            self._finding_order.asked(shown, self.finding_columns)
            return shown, (), ()
        if same_keys:  # (a copy keeps the order of the keys: that of `findings`)
            rows = shown.copy()
            made = map(itemgetter(3), map(kept.__getitem__, changed))
            rows.update(zip(changed, made, strict=True))
        else:
            rows = dict(zip(kept, map(itemgetter(3), kept.values()), strict=True))
        self._finding_order.update(rows, shown, changed, removed, self.finding_columns)
        self._finding_result = rows
        return rows, tuple(changed), removed

    def _findings_again(
        self,
        findings: dict[str, Finding],
        previous: dict[str, tuple[Finding, VerdictKind | None, str | None, Row]],
    ) -> tuple[list[str], tuple[str, ...], bool]:
        """The findings new or another object than last time, the keys gone (the lists of
        each job's keys follow), and whether the keys are the same in the same order; by
        C-level passes over all of them."""
        keys_of = self._finding_keys_of
        same_keys = len(findings) == len(previous) and all(map(eq, findings, previous))
        removed: tuple[str, ...] = ()
        if same_keys:
            firsts = map(itemgetter(0), previous.values())
        else:
            removed = tuple(filterfalse(findings.__contains__, previous))
            for key in removed:
                job_id = previous[key][0].job_id
                if job_id is not None:
                    keys = keys_of[job_id]
                    keys.remove(key)
                    if not keys:
                        del keys_of[job_id]
            for key in filterfalse(previous.__contains__, findings):
                job_id = findings[key].job_id
                if job_id is not None:
                    keys_of.setdefault(job_id, []).append(key)
            firsts = map(itemgetter(0), map(previous.get, findings, repeat(_NO_ENTRY)))
        return list(compress(findings, map(is_not, findings.values(), firsts))), removed, same_keys

    def set_validated(self, findings: Iterable[Finding], quick_keys: set[str]) -> None:
        """Keep a full validation's findings: upgrades of quick ones, and disk-only ones."""
        upgrades, extra = {}, {}
        for finding in findings:
            key = finding_key(finding)
            (upgrades if key in quick_keys else extra)[key] = finding
        self._upgrades, self._extra = upgrades, extra
        self._merged = None

    def forget_finding(self, key: str) -> None:
        """A fixed finding: the next poll shows it only if it is still there."""
        self._upgrades.pop(key, None)
        self._extra.pop(key, None)
        self._merged = None

    def _findings(self, quick: list[Finding], states: dict[str, JobState]) -> dict[str, Finding]:
        """The quick findings by key, a full validation's upgrades of them, and its findings
        of the jobs still there (or of the root). Made again from the last one when only some
        quick findings are new objects under the same keys (a tick that judged a few jobs):
        at 100,000 findings (a root moved with its index) a merge of all of them was ~70 ms
        of the worker at each such tick, and their keys as much."""
        upgrades, extra = self._upgrades, self._extra
        keys, other = self._quick_keys(quick)
        last = self._merged
        if other is not None and not extra and last is not None and len(last) == len(quick):
            # the same keys at the same places, none twice (the last merge has one per
            # finding): the findings at the other places put in (in place of the same key)
            if not other:
                self._merged_hint = (last, last, [])
                return last
            merged = last.copy()
            for at in other:
                key = keys[at]
                merged[key] = upgrades.get(key, quick[at])
            self._merged_hint = (last, merged, list(map(keys.__getitem__, other)))
        else:
            self._merged_hint = None
            merged = dict(zip(keys, quick, strict=True))
            if upgrades:  # (their keys looked up in the merge, not its 100,000 in theirs)
                for key in upgrades.keys() & merged.keys():
                    merged[key] = upgrades[key]
            for key, finding in extra.items():
                if finding.job_id is None or finding.job_id in states:
                    merged.setdefault(key, finding)
        self._merged = merged
        return merged

    def _quick_keys(self, quick: list[Finding]) -> tuple[list[str], list[int] | None]:
        """The key of each quick finding, made only for those that are not the very finding at
        the same place last time (the quick findings come in the same order each time, a job
        that did not change with the same objects); and those places, when the keys are the
        same as last time's (else None)."""
        before, kept = self._quick_seen
        keys: list[str] | None = None
        other: list[int] | None = None
        if len(quick) == len(before):
            other = list(compress(range(len(quick)), map(is_not, quick, before)))
            if len(other) <= len(quick) // 8:
                keys = kept
                for at in other:
                    key = finding_key(quick[at])
                    if key != keys[at]:
                        if keys is kept:
                            keys = kept.copy()
                        keys[at] = key
                if keys is not kept:
                    other = None  # a key another: merged again
            else:
                other = None
        if keys is None:
            keys = list(map(finding_key, quick))
        self._quick_seen = (quick, keys)
        return keys, other

    def _job_rows(
        self, states: dict[str, JobState]
    ) -> tuple[dict[str, JobRow], tuple[str, ...], tuple[str, ...]]:
        """Every job's row (the previous row object where nothing shown changed), the jobs
        whose row changed or is new, the jobs gone; the orders and the counts follow.

        Only the jobs with another state object than last time (the scan keeps the object of
        a job that did not change) are looked at: a poll costs its changes, not a pass of
        Python code over every job (at 100,000 jobs 0.6 s for a poll that changed nothing).
        Time passing changes no row: the ages are drawn by the tables (`Column.age`)."""
        previous, made_from = self._rows, self._states
        # a job a light tick kept a state of is looked at against that state; one whose
        # state is still `made_from`'s shows as its row (the tick found the kept one alike)
        kept_of = self._kept_states.get if self._kept_states else None
        if not previous:  # the first poll
            looked: list[str] = list(states)
            known: list[bool] | None = None
            removed: tuple[str, ...] = ()
        else:
            looked = _restated(states, made_from)
            known = list(map(previous.__contains__, looked))
            new = len(looked) - sum(known)
            removed = (
                ()
                if len(states) - new == len(previous)
                else tuple(filterfalse(states.__contains__, previous))
            )
        # every job looked at (a first poll, the first whole poll after the first look): in
        # the order of `states`, their states in that order too (no look-up per job)
        every = len(looked) == len(states)
        found = list(states.values()) if every else list(map(states.__getitem__, looked))
        changed: dict[str, JobRow] = {}
        touched: list[str] = []  # a new row made: a state that shows otherwise
        alike, row_before, before_of = _alike, previous.get, made_from.get
        make_row, step = job_row, PACE_EVERY_ROW + 1
        for start in range(0, len(looked), step):
            pace()  # the event loop first while it handles a key (every `step` rows, as ever)
            end = start + step
            piece = looked[start:end]
            if known is None or not any(known[start:end]):
                # jobs without a row (new, or every job of a first whole poll: 100,000 at
                # once): their rows made by C-level calls, no comparison with a row before,
                # which they have none of (at 100,000 jobs ~70 ms of Python steps a job)
                touched += piece
                changed.update(zip(piece, map(make_row, found[start:end]), strict=True))
                continue
            for job_id, state in zip(piece, found[start:end], strict=True):
                before = before_of(job_id)
                if kept_of is not None:
                    before = kept_of(job_id, before)
                if before is not None and alike(before, state):
                    continue  # same row
                touched.append(job_id)
                fresh = make_row(state)
                if fresh != row_before(job_id):
                    changed[job_id] = fresh
        del found
        self._states, self._kept_states = states, {}
        self._restated = touched
        if not changed and not removed:
            if len(self._orders.orders) < len(JobRow.SORT_FIELDS):  # made a few a poll
                self._orders.update(previous, previous, (), (), self.sorted_columns)
            return previous, (), ()
        if len(changed) == len(states):  # every row is new, made in the order of `states`
            rows = changed
            self._counts = _verdict_counts(rows.values())
        elif len(changed) > len(states) // 2:
            # in the order of `states`, each job's changed row or else its previous one (C-level
            # passes: at 100,000 jobs a comprehension was ~40 ms of the first whole poll)
            made = map(changed.get, states, map(previous.get, states))
            rows = dict(zip(states, made, strict=True))
            self._counts = _verdict_counts(rows.values())
        else:
            rows = previous.copy()
            counts = self._counts
            for job_id in removed:
                counts[rows.pop(job_id).kind] -= 1
            for job_id, row in changed.items():
                before = previous.get(job_id)
                if before is not None:
                    counts[before.kind] -= 1
                counts[row.kind] = counts.get(row.kind, 0) + 1
            rows.update(changed)
        self._orders.update(rows, previous, list(changed), removed, self.sorted_columns)
        self._rows = rows
        return rows, tuple(changed), removed


_NO_ENTRY = (None, None, None, None)
"""What `Poller._finding_rows_of` has for a finding not seen before."""
_kind_of_state = attrgetter("verdict.kind")
_in_triage = TRIAGE_KINDS.__contains__
_row_rank = attrgetter("rank")
_row_key = itemgetter(0)  # `Row.key`
_verdict_rank = itemgetter(JobRow.VERDICT)


def _verdict_counts(rows: Iterable[JobRow]) -> Counter[VerdictKind]:
    """Rows per verdict, in the order first met (a `Counter` of their verdicts), counted by
    the rows' verdict ranks, small ints: at 100,000 jobs ~4 ms where a `Counter` of the
    verdicts (strings) was ~10."""
    counts: Counter[VerdictKind] = Counter()
    for rank, count in Counter(map(_verdict_rank, rows)).items():
        counts[SEVERITY_ORDER[rank]] = count
    return counts


def _alike(before: JobState, state: JobState) -> bool:
    """Whether two states of a job show the same in every pane (its row, its triage row): a
    re-judged job whose verdict says the same is a new state object at every scan (at 100,000
    jobs, thousands of crashed jobs a poll)."""
    return (
        before.facts is state.facts
        and before.activity_at == state.activity_at
        and before.verdict.kind is state.verdict.kind
        and before.verdict.reason == state.verdict.reason
    )


def _restated(states: dict[str, JobState], made_from: dict[str, JobState]) -> list[str]:
    """The jobs of `states` whose state is not the very object `made_from` has (new ones too).

    A scan lists the jobs in the same order each time: compared place by place first (no
    look-up per job: at 100,000 jobs half the time of the look-ups). That is never wrong, as
    a state object is one job's, only slow when the jobs shifted (one came or went in the
    middle): then compared by key. Both by C-level passes over PASS_STEP jobs at a time (one
    pass of 100,000 look-ups held the GIL ~20 ms: a wait of the event loop)."""
    known = len(made_from)
    keys, values, before = list(states), list(states.values()), list(made_from.values())
    looked: list[str] = []
    for start in range(0, len(keys), PASS_STEP):
        end = start + PASS_STEP
        looked += compress(keys[start:end], map(is_not, values[start:end], before[start:end]))
        pace()  # a key on the event loop first
    if len(looked) > len(states) // 8:
        looked = []
        for start in range(0, len(keys), PASS_STEP):
            end = start + PASS_STEP
            piece = keys[start:end]
            looked += compress(piece, map(is_not, map(made_from.get, piece), values[start:end]))
            pace()
        return looked
    if len(states) > known:
        looked += islice(states, known, None)
    return looked
