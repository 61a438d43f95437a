"""The poll worker keeps its rows, orders and triage rows from poll to poll, looking only at what
changed: after every poll they must be exactly what a computation from scratch gives (changed,
new, removed and corrupt jobs; time passing across the units of ages; ties and empty cells in
every sorted column), and a row nothing shown changed in stays the same object."""

from __future__ import annotations

import gc
import os
import random
import shutil
import time
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import logist.console.orders as orders_module
import logist.console.poller as poller_module
import logist.console.rows as rows_module
from conftest import write_job
from logist.console.job_filter import job_filter as _job_filter
from logist.console.orders import JobOrders
from logist.console.poller import FIRST_LOOK, Poller, PollResult, _restated
from logist.console.rows import (
    JOB_COLUMNS,
    VERDICT_NAME,
    VERDICT_RANK,
    JobRow,
    Row,
    descending_order,
    finding_key,
    finding_row,
    job_row,
    search_texts,
    triage_row,
)
from logist.console.text import _UNSAFE, SEVERITY_STYLE, VERDICT_STYLE, age, age_until, money, safe
from logist.core import (
    TRIAGE_KINDS,
    FilterQuery,
    JobRecoveryManager,
    JobView,
    Severity,
    VerdictKind,
    _quick_status,
)
from logist.core._fixes import quick_findings
from logist.core._manifest import backup_name
from logist.core._quick_status import QuickStatus
from logist.core._scan import Snapshot
from staging import Processes, crashed_job, procs

from .support import a_job_row, make_app, settle, synchronously

__all__ = ["procs"]

COLUMNS = frozenset(range(len(JOB_COLUMNS)))


class Clock:
    """A clock the test moves: ages are about time, and the test must cross their units
    (59 s to 1 min, 59 min to 1 h, 48 h to 2 d) at instants it picks, not wait for them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _ascending(rows: dict[str, JobRow], column: int) -> list[str]:
    """A column's order by its definition: by value, ties by rank, empty cells last."""
    present = [key for key in rows if rows[key].sort_value(column) is not None]
    absent = [key for key in rows if rows[key].sort_value(column) is None]
    present.sort(key=lambda key: (rows[key].sort_value(column), rows[key].rank))
    absent.sort(key=lambda key: rows[key].rank)
    return present + absent


def _descending(rows: dict[str, JobRow], column: int) -> list[str]:
    """Descending by value, ties still by rank, empty cells still last."""
    present = [key for key in rows if rows[key].sort_value(column) is not None]
    present.sort(key=lambda key: rows[key].rank)
    present.sort(key=lambda key: rows[key].sort_value(column), reverse=True)
    return present + _ascending(rows, column)[len(present) :]


def _assert_from_scratch(result: PollResult, before: PollResult | None) -> None:
    """Everything the poll handed over is what its snapshot gives when made from nothing."""
    states = result.states
    shown = {job_id: job_row(state) for job_id, state in states.items()}
    assert result.jobs == shown
    for job_id, state in states.items():  # the natural rank, by its definition
        rank = (VERDICT_RANK[state.verdict.kind], -(state.activity_at or 0.0), job_id)
        assert shown[job_id].rank == rank and shown[job_id].kind is state.verdict.kind
    assert list(result.natural or ()) == sorted(shown, key=lambda key: shown[key].rank)
    for column, order in result.orders.items():  # none but the natural one in a first poll
        assert order == _ascending(shown, column), column
    for column, order in result.descending.items():
        assert order == _descending(shown, column), column
    assert set(result.descending) == set(result.orders)
    triage = [state for state in states.values() if state.verdict.kind in TRIAGE_KINDS]
    triage.sort(key=lambda s: (VERDICT_RANK[s.verdict.kind], s.activity_at or 0.0, s.job_id))
    assert list(result.triage) == [state.job_id for state in triage]
    for state in triage:
        made = triage_row(state)
        assert result.triage[state.job_id] == made
    findings = result.finding_objects
    assert result.findings == {key: finding_row(found, states) for key, found in findings.items()}
    assert list(result.findings) == list(findings)
    made = result.findings
    assert result.findings_natural == sorted(made, key=lambda key: made[key].rank)
    errors = sum(found.severity is Severity.ERROR for found in findings.values())
    assert result.finding_errors == errors
    for column, order in result.findings_orders.items():
        assert order == sorted(made, key=lambda k: (made[k].sort_value(column), made[k].rank))
        descending = sorted(made, key=lambda key: made[key].rank)
        descending.sort(key=lambda key: made[key].sort_value(column), reverse=True)
        assert result.findings_descending[column] == descending
    counts = {}
    for state in states.values():
        counts[state.verdict.kind] = counts.get(state.verdict.kind, 0) + 1
    assert dict(result.counts) == counts
    if before is None:
        return
    base = before.findings
    if result.findings is base:
        assert result.findings_changed == result.findings_removed == ()
    else:
        assert result.findings_base is base
        assert set(result.findings_removed) == set(base) - set(made)
        assert set(result.findings_changed) == {k for k, row in made.items() if base.get(k) != row}
        assert len(set(result.findings_changed)) == len(result.findings_changed)
    for key, row in made.items():
        if base.get(key) == row:
            assert row is base[key], key  # the pane repaints what is a new object
    old = before.jobs
    assert result.jobs_base is old
    assert set(result.jobs_changed) == {key for key, row in shown.items() if old.get(key) != row}
    assert set(result.jobs_removed) == set(old) - set(shown)
    for key, row in result.jobs.items():
        if old.get(key) == row:
            assert row is old[key], key  # the table repaints what is a new object


def _write(root: Path, job_id: str, rng: random.Random, modified: float, **fields: Any) -> None:
    """A job with values that tie and cells that are empty (no cost, no phases)."""
    phases = rng.choice([[], [{"name": "a"}, {"name": "b"}], [{"name": "a"}]])
    manifest = {
        "status": rng.choice(["PENDING", "SUCCESS", "FAILED", "PAUSED", "EXECUTING"]),
        "description": rng.choice(["nightly", "Backfill", "", "ledger export"]),
        "phases": phases,
        **({"current_phase": phases[0]["name"]} if phases and rng.random() < 0.5 else {}),
        **({"cost": rng.choice([0.5, 1.25, 7.0])} if rng.random() < 0.6 else {}),
        **fields,
    }
    write_job(root, job_id, manifest)
    path = root / job_id / "job_manifest.json"
    os.utime(path, (modified, modified))


def test_rows_and_orders_kept_from_poll_to_poll_equal_those_made_from_scratch(
    jobs_root: Path,
) -> None:
    _polls_checked_from_scratch(jobs_root)


def test_polls_made_in_short_passes_equal_those_made_from_scratch(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C-level passes over every job made a slice at a time (to hold the GIL a few ms
    each at 100,000 jobs), here slices of 2 and 3 jobs: the same rows, orders, counts."""
    monkeypatch.setattr(poller_module, "PASS_STEP", 3)
    monkeypatch.setattr(rows_module, "_PASS_STEP", 2)
    monkeypatch.setattr(rows_module, "_RUNS_STEP", 2)
    monkeypatch.setattr(_quick_status, "PASS_STEP", 3)
    monkeypatch.setattr(_quick_status, "SUSPECT_STEP", 2)
    monkeypatch.setattr(orders_module, "SORT_SLICE", 4)
    monkeypatch.setattr(orders_module, "SPLICE_STEP", 2)
    snapshots = _polls_checked_from_scratch(jobs_root)
    for before, after in pairwise(snapshots):
        short = _restated(after.jobs, before.jobs)
        differ = [job for job, state in after.jobs.items() if before.jobs.get(job) is not state]
        assert set(short) >= set(differ)
        monkeypatch.setattr(poller_module, "PASS_STEP", 1 << 30)
        assert _restated(after.jobs, before.jobs) == short
        monkeypatch.setattr(poller_module, "PASS_STEP", 3)
    for snapshot in snapshots:
        short_status = QuickStatus().update(snapshot)
        monkeypatch.setattr(_quick_status, "PASS_STEP", 1 << 30)
        monkeypatch.setattr(_quick_status, "SUSPECT_STEP", 1 << 30)
        assert QuickStatus().update(snapshot) == short_status
        monkeypatch.setattr(_quick_status, "PASS_STEP", 3)
        monkeypatch.setattr(_quick_status, "SUSPECT_STEP", 2)
    values = [1, 1, 2, 3, 3, 3, 4, None, None]
    keys = [f"k{number}" for number in range(len(values))]
    assert descending_order(keys, values) == ["k6", "k3", "k4", "k5", "k2", "k0", "k1", "k7", "k8"]


@pytest.mark.parametrize("piece", [63, 3, 0])
def test_a_first_whole_poll_after_a_first_look_equals_rows_and_orders_made_from_scratch(
    jobs_root: Path, procs: Processes, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    """A whole poll makes the rows of jobs that had none (every job of a first whole poll)
    by C-level calls, PACE_EVERY_ROW + 1 jobs at a time, with no comparison with a row before;
    the jobs the first look showed are compared with their rows. With pieces of 64, 4 and 1
    jobs (all new, or new beside the look's, one of them rewritten to show otherwise, one
    rewritten alike), on a mixed root (ties, empty cells, costs over their threshold,
    corrupt manifests, crashed owners, a live one, control characters): the rows, the jobs
    changed in the snapshot's order, the natural order, the orders, the triage and finding
    rows and the counts are those made from scratch, a row shown alike is the look's own
    object, and a poller that never looked first hands over the same."""
    monkeypatch.setattr(poller_module, "FIRST_LOOK", 7)
    monkeypatch.setattr(poller_module, "PACE_EVERY_ROW", piece)
    rng = random.Random(41)
    now = float(int(time.time()))
    dead = procs.dead_identity()
    descriptions = ["nightly", "Backfill", "", "\x1b[31mred", "tab\tend", "ΟΔΥΣΣΕΑΣ"]
    for number in range(150):
        job_id = f"job-{number:03d}"
        if number % 10 == 3:
            crashed_job(jobs_root, job_id, dead)
        elif number % 10 == 7:
            write_job(jobs_root, job_id, b'{"status": ')
        else:
            threshold = {"cost_threshold": 1.0} if number % 4 == 0 else {}
            modified = now - rng.choice([5.0, 30.0, 4000.0]) - number % 7
            _write(
                jobs_root, job_id, rng, modified, description=rng.choice(descriptions), **threshold
            )
    sleeper = procs.sleeper()
    live = write_job(jobs_root, "job-live", status="EXECUTING", process_id=sleeper.pid)
    procs.lock_holder(live / ".lock")
    # one clock for both pollers: an unverified job's reason says its age in seconds, which
    # two polls made a second apart would say otherwise
    frozen = time.time()
    manager = JobRecoveryManager(jobs_root, clock=lambda: frozen)
    poller = Poller(manager=manager, clock=time.time)
    poller.sorted_columns = poller.descending = COLUMNS
    poller.finding_columns = frozenset({1, 3})
    first = poller._first_look()
    assert not first.complete and len(first.jobs) == 7
    _assert_from_scratch(first, None)
    looked = sorted(first.jobs)
    alike = jobs_root / looked[1] / "job_manifest.json"
    kept = alike.stat()
    alike.write_bytes(alike.read_bytes())  # read again (another ctime), shown alike
    os.utime(alike, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    write_job(jobs_root, looked[2], status="FAILED", description="rewritten")
    whole = poller.poll()
    assert whole.complete and len(whole.jobs) == 151
    kinds = {state.verdict.kind for state in whole.states.values()}
    assert {VerdictKind.CRASHED, VerdictKind.CORRUPT, VerdictKind.RUNNING} <= kinds
    _assert_from_scratch(whole, first)
    assert list(whole.jobs) == list(whole.states)
    assert whole.jobs[looked[1]] is first.jobs[looked[1]]
    assert whole.jobs[looked[2]] != first.jobs[looked[2]]
    shown = whole.jobs
    assert whole.jobs_changed == tuple(k for k in whole.states if first.jobs.get(k) != shown[k])
    afresh = Poller(manager=JobRecoveryManager(jobs_root, clock=lambda: frozen), clock=time.time)
    afresh.sorted_columns = afresh.descending = COLUMNS
    afresh.finding_columns = poller.finding_columns
    alone = afresh.poll()
    _assert_from_scratch(alone, None)
    assert alone.jobs == whole.jobs and list(alone.jobs) == list(whole.jobs)
    assert alone.jobs_changed == tuple(alone.jobs)
    assert alone.natural == whole.natural and alone.orders == whole.orders
    assert alone.triage == whole.triage and alone.counts == whole.counts
    assert alone.findings == whole.findings


def _polls_checked_from_scratch(jobs_root: Path) -> list[Snapshot]:
    """Polls and light ticks of a root that changes, each checked against what its snapshot
    gives when made from nothing; their snapshots."""
    snapshots: list[Snapshot] = []
    rng = random.Random(20261201)
    clock = Clock(float(int(time.time())) - 0.6)
    ages = [0.2, 30.0, 59.2, 59.6, 3599.3, 3600.0 + 179.0, 47 * 3600.0 + 3599.0, 3 * 86400.0]
    for number in range(60):
        _write(jobs_root, f"job-{number:03d}", rng, clock.now - ages[number % len(ages)] - number)
    _write(jobs_root, "edge-minute", rng, clock.now - 59.2)
    _write(jobs_root, "edge-hour", rng, clock.now - 3599.2)
    _write(jobs_root, "edge-days", rng, clock.now - 48 * 3600.0 + 0.8)
    manager = JobRecoveryManager(jobs_root, clock=clock)
    poller = Poller(manager=manager, clock=clock)
    poller.sorted_columns = poller.descending = COLUMNS  # every order kept: all are checked
    poller.finding_columns = frozenset({1, 3, 4})
    before: PollResult | None = None
    steps = [0.0, 0.5, 0.5, 0.3, 1.0, 29.0, 61.0, 3000.0, -120.0, 6 * 3600.0, 86400.0, 0.0]
    for step, advance in enumerate(steps):
        clock.now += advance
        if step >= 3:  # some jobs change, some come, some go, one turns corrupt
            names = sorted(path.name for path in jobs_root.iterdir())
            for job_id in rng.sample(names, 4):
                _write(jobs_root, job_id, rng, clock.now - rng.choice([0.0, 10.0, 5000.0]))
            _write(jobs_root, f"new-{step:02d}", rng, clock.now - rng.choice(ages))
            shutil.rmtree(jobs_root / rng.choice([n for n in names if n.startswith("job-")]))
            if step == 5:
                (jobs_root / "job-007" / "job_manifest.json").write_bytes(b"{not json")
        result = poller.poll()
        _assert_from_scratch(result, before)
        snapshot = manager.last_snapshot()
        assert snapshot is not None
        fresh = {finding_key(found): found for found in quick_findings(snapshot)}
        assert list(result.finding_objects.items()) == list(fresh.items())
        snapshots.append(snapshot)
        assert step < 3 or set(result.orders) == COLUMNS
        assert set(result.findings_orders) == poller.finding_columns
        if step >= 2 and step % 2 == 0:  # a light tick in between: the next poll builds on it
            clock.now += 0.25
            light = poller.poll_light(frozenset(rng.sample(sorted(result.states), 5)))
            if not light.unchanged:
                _assert_from_scratch(light, result)
                judged = manager.last_snapshot()
                assert judged is not None and judged.jobs is light.states
                fresh = {finding_key(found): found for found in quick_findings(judged)}
                assert list(light.finding_objects.items()) == list(fresh.items())
                result = light
        before = result
    return snapshots


def test_a_poll_with_nothing_changed_hands_back_the_same_rows_and_orders(jobs_root: Path) -> None:
    """However much time passed: the rows hold no age (the tables draw it), so jobs whose
    ages cross a unit (seconds, minutes, hours, days) between polls keep their rows, in the
    jobs table and in triage, and a light tick finds them as shown."""
    rng = random.Random(3)
    clock = Clock(float(int(time.time())))
    ages = [0.2, 30.4, 59.2, 3599.2, 47 * 3600.0 + 3599.0, 86400.0 * 3]
    for number in range(30):
        status = ("SUCCESS", "FAILED")[number % 2]  # verdicts time does not change
        modified = clock.now - ages[number % len(ages)] - number
        _write(jobs_root, f"job-{number:02d}", rng, modified, status=status)
    for number, seconds in enumerate(ages):  # corrupt: in triage, whatever the time
        broken = write_job(jobs_root, f"broken-{number}", b'{"status": ') / "job_manifest.json"
        os.utime(broken, (clock.now - seconds, clock.now - seconds))
    poller = Poller(manager=JobRecoveryManager(jobs_root, clock=clock), clock=clock)
    poller.sorted_columns = COLUMNS
    first = poller.poll()
    assert len(first.triage) == len(ages)
    for _ in range(3):  # the orders are made a few a poll after the first
        clock.now += 1.0
        poller.poll()
    clock.now += 1.0
    kept = poller.poll()
    for advance in (1.0, 0.5, 61.0, 3600.0, 2 * 86400.0):
        clock.now += advance
        again = poller.poll()
        assert again.jobs is kept.jobs is first.jobs
        assert again.jobs_changed == again.jobs_removed == ()
        assert again.natural is kept.natural
        assert all(again.orders[column] is kept.orders[column] for column in COLUMNS)
        assert again.triage is kept.triage
        clock.now += 0.5
        light = poller.poll_light(frozenset(rng.sample(sorted(again.states), 6)))
        assert light.unchanged and light.jobs is first.jobs


def test_an_age_is_shown_the_same_until_the_instant_age_until_names() -> None:
    """`age_until` is what a table looks at a drawn age again by: the text must not change
    before it (else a line would show a stale age), and does change just after."""
    rng = random.Random(5)
    samples = [rng.uniform(-5.0, 4e6) for _ in range(4000)]
    samples += [rng.uniform(-1.0, 200.0) for _ in range(2000)]
    samples += [n + 0.5 for n in range(60)] + [(n + 0.5) * 360 for n in range(10, 480)]
    samples += [59.5, 60.0, 3599.999, 3600.0, 48 * 3600.0 - 0.001, 48 * 3600.0, 86400.0 * 5]
    for seconds in samples:
        text, until = age_until(seconds)
        assert text == age(seconds)
        assert until > seconds - 1e-6, seconds
        for point in (seconds, (seconds + until) / 2, until - 1e-3):
            if seconds <= point < until - 1e-6:
                assert age(point) == text, (seconds, point, until)
        assert age(until + 1e-6) != text, (seconds, until)


@pytest.mark.parametrize("sort_slice", [None, 16, 3])
def test_orders_spliced_poll_after_poll_equal_orders_made_from_scratch(
    sort_slice: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that tie, rows with empty cells, rows moving a little and a lot, coming and
    going: every column's order (and the natural one) handed out after each update is the
    sort, those asked for at once, the others when they have caught up. Orders made from
    scratch are sorted a slice at a time (`_sorted_in_slices`, 8,192 items by default), and
    splices place the moved rows a slice at a time (1,024): with slices of 16 and 3, the
    same orders."""
    if sort_slice is not None:
        monkeypatch.setattr(orders_module, "SORT_SLICE", sort_slice)
        monkeypatch.setattr(orders_module, "SPLICE_STEP", sort_slice)
    rng = random.Random(9)
    kinds = list(VERDICT_RANK)

    def made(key: str) -> JobRow:
        kind = rng.choice(kinds)
        activity = rng.choice([None, -float(rng.randint(0, 40)), -rng.random()])
        status = rng.choice([None, "PENDING", "SUCCESS"])
        cost = rng.choice([None, 1.0, 2.5, 2.5])
        phase = rng.choice([None, 1, 2])
        description = rng.choice(["a", "b", "B", "nightly", ""])
        return a_job_row(
            key,
            kind,
            status=status,
            activity=activity,
            phase=phase,
            cost=cost,
            description=description,
            reason=rng.choice(["reason", "Reason"]),
        )

    rows = {key: made(key) for key in (f"job-{n:04d}" for n in range(500))}
    kept = JobOrders()
    kept.update(rows, {}, list(rows), (), COLUMNS)
    serial = 500
    for round_ in range(40):
        previous, rows = rows, dict(rows)
        removed = tuple(rng.sample(sorted(rows), rng.choice([0, 1, 7])))
        for key in removed:
            del rows[key]
        changed = []
        for _ in range(rng.choice([0, 2, 9])):
            serial += 1
            key = f"job-{serial:04d}"
            rows[key] = made(key)
            changed.append(key)
        moving = rng.choice([0, 1, 5, 40, 200])  # 200: more than a quarter, made anew
        for key in rng.sample(sorted(rows), min(moving, len(rows))):
            if key not in changed:
                rows[key] = made(key)
                changed.append(key)
        # all asked for at first (made a few an update), then some: the others let go
        wanted = COLUMNS if round_ < 3 else rng.choice([COLUMNS, frozenset(), frozenset({1, 4})])
        kept.update(rows, previous, changed, removed, wanted)
        assert kept.natural == sorted(rows, key=lambda key: rows[key].rank), round_
        orders = kept.orders
        if round_ >= 2 and len(changed) <= len(rows) // 4 and len(wanted) <= 2:
            assert wanted <= set(orders)  # as the app asks: the column shown and the next
        for column, order in orders.items():
            assert order == _ascending(rows, column), (round_, column)


@pytest.mark.parametrize("listed", ["in id order", "reversed", "shuffled", "one out of order"])
def test_a_natural_order_made_anew_is_the_sort_of_the_ranks_however_the_jobs_are_listed(
    listed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The natural and job id orders made from scratch (slices of 16, and at once) equal the
    sorts by definition, whether the rows come in id order or its reverse (no sort by id is
    made then), in any order, or in id order but for one job."""
    rng = random.Random(31)
    monkeypatch.setattr(orders_module, "SORT_SLICE", 16)
    keys = [f"job-{number:04d}" for number in range(200)]
    if listed == "reversed":
        keys.reverse()
    elif listed == "shuffled":
        rng.shuffle(keys)
    elif listed == "one out of order":
        keys.insert(150, keys.pop(20))
    kinds = list(VERDICT_RANK)
    rows = {
        key: a_job_row(key, rng.choice(kinds), activity=rng.choice([None, 1.0, 2.0, 2.0, 5.0]))
        for key in keys
    }
    for in_slices in (True, False):
        natural, by_id = orders_module._made_natural(rows, in_slices=in_slices)
        assert natural.keys == sorted(rows, key=lambda key: rows[key].rank)
        assert by_id.keys == by_id.values == sorted(rows)


def test_a_sort_in_slices_is_the_stable_sort_even_of_values_that_do_not_order() -> None:
    """Ties keep their order; values not equal to themselves (NaN: a manifest's cost) order
    nothing consistently, and get the one sort's order exactly (it is made then)."""
    rng = random.Random(11)
    for values in (
        [rng.choice([1.0, 2.5, 2.5, 7.0]) for _ in range(300)],
        [rng.choice(["b", "a", "nightly", ""]) for _ in range(300)],
        [rng.choice([1.0, float("nan"), 0.5, 2.0]) for _ in range(300)],
        [rng.random() for _ in range(300)],
    ):
        items = rng.sample(range(len(values)), len(values))
        for size in (3, 16, 300):
            orders_module.SORT_SLICE, before = size, orders_module.SORT_SLICE
            try:
                made = orders_module._sorted_in_slices(items, values.__getitem__)
                given = orders_module._sorted_in_slices(items, values.__getitem__, values)
            finally:
                orders_module.SORT_SLICE = before
            assert made == given == sorted(items, key=values.__getitem__), size


def test_every_character_safe_escapes_is_one_isprintable_refuses() -> None:
    """`safe` searches only the texts `str.isprintable` refuses (at 100,000 jobs, three
    regular-expression searches a row were a fifth of the first poll's rows): that is right
    only while every character `safe` escapes is one `isprintable` refuses."""
    everything = "".join(map(chr, [*range(0xD800), *range(0xE000, 0x110000)]))
    escaped = _UNSAFE.findall(everything)
    assert len(escaped) > 60
    assert not any(character.isprintable() for character in escaped)


def _triage_row_defined(state: Any) -> Row:
    """A triage row by its definition (as `triage_row` made it before it was tuned)."""
    job_id, kind, reason = state.job_id, state.verdict.kind, state.verdict.reason
    activity = state.activity_at
    return Row(
        key=job_id,
        job_id=job_id,
        cells=(safe(job_id), kind.value, "", safe(reason)),
        styles=("", VERDICT_STYLE[kind], "", ""),
        sort_keys=(
            job_id,
            VERDICT_RANK[kind],
            None if activity is None else -activity,
            reason.lower(),
        ),
        rank=(VERDICT_RANK[kind], activity or 0.0, job_id),
        search=f"{job_id}\n{state.facts.status}\n{kind.value}\n{reason}".lower(),
        facets=_facets_defined(state),
    )


def _facets_defined(state: Any) -> tuple[tuple[str, str], ...]:
    return (
        ("verdict", state.verdict.kind.value),
        ("status", (state.facts.status or "").lower()),
        ("id", state.job_id.lower()),
    )


def _finding_row_defined(finding: Any, states: dict[str, Any]) -> Row:
    """A finding's row by its definition (as `finding_row` made it before it was tuned)."""
    state = states.get(finding.job_id) if finding.job_id is not None else None
    facets = _facets_defined(state) if state is not None else ()
    severity = finding.severity
    return Row(
        key=f"{finding.job_id or ''}\0{finding.code}",
        job_id=finding.job_id,
        cells=(
            severity.value,
            "(root)" if finding.job_id is None else safe(finding.job_id),
            finding.code,
            safe(finding.message),
            safe(finding.recommendation) + (" [f]" if finding.fix is not None else ""),
        ),
        styles=(SEVERITY_STYLE[severity], "", "", "", "dim"),
        sort_keys=(
            {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[severity],
            finding.job_id or "",
            finding.code,
            finding.message.lower(),
            finding.recommendation.lower(),
        ),
        rank=(
            {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[severity],
            f"{finding.job_id or ''}\0{finding.code}",
        ),
        search=f"{finding.job_id}\n{finding.code}\n{finding.message}".lower(),
        facets=(*facets, ("severity", severity.value), ("code", finding.code.lower())),
    )


def test_triage_and_finding_rows_are_their_definitions(jobs_root: Path, procs: Processes) -> None:
    """The triage and finding rows (made for every triaged job and finding of a first whole
    poll, by plain loads and subscripts) are `Row`s equal to their definitions, on a root with
    crashed owners, corrupt manifests, unknown statuses with control characters, jobs the
    index does not name, an index naming ids of no directory; and a reason and a message not
    printable as they are (core quotes the texts it puts there), a finding of the root (a
    full validation's) and one of a job gone, made by hand."""
    dead = procs.dead_identity()
    statuses = ["PENDING", "SUCCESS", "FAILED", "\x1b[31mWEIRD", "Ünknown\u200b", None]
    for number in range(40):
        job_id = f"Job-{number:02d}-ΣΑ" if number % 7 == 0 else f"job-{number:02d}"
        if number % 5 == 1:
            crashed_job(jobs_root, job_id, dead, description="tab\tend")
        elif number % 9 == 2:
            write_job(jobs_root, job_id, b'{"status": "\x1b[2J')
        else:
            status = statuses[number % len(statuses)]
            write_job(jobs_root, job_id, description="\x1b[31mred", status=status)
    index = '{"jobs": {"job-00": "job-00", "bad id\\u001b": "x"}}'  # an id not printable
    (jobs_root / "jobs_index.json").write_text(index)
    result = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time).poll()
    states = result.states
    triaged = [state for state in states.values() if state.verdict.kind in TRIAGE_KINDS]
    assert len(triaged) >= 10
    # (core quotes what it puts in a reason or a message: texts it would not quote made here)
    triaged.append(replace(triaged[0], verdict=replace(triaged[0].verdict, reason="a\x1b[2Jb")))
    for state in triaged:
        row = triage_row(state)
        assert type(row) is Row and row == _triage_row_defined(state), state.job_id
    for state in triaged[:-1]:
        assert result.triage[state.job_id] == triage_row(state)
    findings = list(result.finding_objects.values())
    assert any(found.job_id is not None and not found.job_id.isprintable() for found in findings)
    findings.append(replace(findings[0], job_id=None))  # the root's (a full validation's)
    findings.append(replace(findings[0], job_id="gone"))  # of a job gone since
    findings.append(replace(findings[0], message="m\x1b[2J", recommendation="r\u200b"))
    assert any(found.fix is not None for found in findings)
    for found in findings:
        row = finding_row(found, states)
        assert type(row) is Row and row == _finding_row_defined(found, states), found


def _search_as_kept(state: Any) -> str:
    """The search text by its definition (the one a `Row` keeps too)."""
    facts, verdict = state.facts, state.verdict
    text = f"{facts.description}\n{state.job_id}\n{facts.status}\n{VERDICT_NAME[verdict.kind]}"
    return f"{text}\n{verdict.reason}".lower()


def test_a_rows_search_text_is_its_definition(jobs_root: Path) -> None:
    """A row's search text (as rows read it one by one, by C-level passes, and as the filter
    tests its two kept parts) is its job's description, id, status, verdict and reason,
    lower-cased, for texts whose lower case depends on their neighbours (a final sigma), that
    grow when lowered (İ), with control characters and newlines, no status, a corrupt
    manifest; the free-text filter (plain, negated, with quotes, with a newline or across the
    id and the status) passes what the whole text passes, and the description column sorts
    by the job's own part as it did by the whole text."""
    descriptions = [
        "ΟΔΥΣΣΕΑΣ", "ΑΣ", "Σ", "İstanbul", "tab\tend", "\x1b[31mred", "", "Plain",
        "two\nLINES", 'say "crash"', "ends in ΑΣ",
    ]  # fmt: skip
    statuses = [None, "RUNNING", "Ünïcode", "COMPLETED", "ΣΤΑΣΙΣ"]
    rng = random.Random(5)
    for number in range(80):
        job_id = f"Job-{number:02d}-ΣΑ" if number % 7 == 0 else f"job-{number:02d}"
        status = rng.choice(statuses)
        description = rng.choice(descriptions)
        write_job(jobs_root, job_id, description=description, status=status)
        if status is None:
            manifest = jobs_root / job_id / "job_manifest.json"
            manifest.write_text(manifest.read_text().replace('"status": null,', ""))
    write_job(jobs_root, "Job-\u03a3\u0391", description="ΑΣ", status="RUNNING")
    write_job(jobs_root, "job-corrupt", b"{ not json")
    result = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time).poll()
    rows, states = result.jobs, result.states
    assert len(rows) == 82
    assert any(states[key].facts.status is None for key in rows)
    kept = {key: _search_as_kept(states[key]) for key in rows}
    assert {key: row.search for key, row in rows.items()} == kept
    assert list(search_texts(list(rows.values()))) == list(kept.values())
    for key, row in rows.items():  # the own part is the text up to the id, the rest shared
        state = states[key]
        assert row[JobRow.SEARCH] == f"{state.facts.description}\n{key}".lower()
    tails = [row[JobRow.SHARED][1] for row in rows.values()]
    kept_alike = [tail for tail in tails if not any(map(str.isdigit, tail))]  # (not ages, pids)
    assert len(set(map(id, kept_alike))) == len(set(kept_alike)) < len(kept_alike) // 4
    description = len(JOB_COLUMNS) - 1
    by_text = sorted(rows, key=lambda key: (kept[key], rows[key].rank))
    orders = JobOrders()
    orders.update(rows, {}, list(rows), (), frozenset({description}))
    orders.update(rows, rows, (), (), frozenset({description}))
    assert orders.orders[description] == by_text
    sigmas, dotted = "\u03c3 \u03b1\u03c2 \u03c2\n-\u03c3", "i\u0307 -i\u0307stanbul"
    texts = [sigmas, dotted, "tab", "job-0", "ünï", "none", "-crash", "7", "-ΣΑ", "στασις"]
    texts += ['"crash"', '-"crash', "lines", "-lines", "ας", "-ς\njob", "done", "-corrupt"]
    queries = [FilterQuery.parse(text) for text in texts]
    spanning = ("two\nlines", "\u03a3\u0391\nrunning", "\nnone\n", "\n", "lines\njob-", "a\nb")
    for term in spanning:
        for negate in (False, True):  # not made by `parse` (it splits on white space)
            queries.append(FilterQuery(term, ((negate, None, (term.lower(),)),)))
    for query in queries:
        passing = _job_filter(query, list(rows), list(rows.values()), {})[0]
        expected = [key for key in rows if query.matches(JobView(kept[key], ()))]
        assert passing == expected, query
    hits = {query.terms: _job_filter(query, list(rows), list(rows.values()), {})[0]
            for query in queries}  # fmt: skip
    hit = {term: hits[((False, None, (term.lower(),)),)] for term in spanning}
    assert hit["two\nlines"] and hit["\u03a3\u0391\nrunning"] and hit["\nnone\n"]
    assert hits[((False, None, ("lines",)),)]
    assert not hit["a\nb"]  # (what makes these tests able to fail)
    assert 0 < len(hits[((True, None, ("crash",)),)]) < len(rows)


def test_the_description_column_ties_only_jobs_whose_own_texts_are_equal(jobs_root: Path) -> None:
    """The description column sorts by the job's own part of the search text (description
    and id, lower-cased), ties in natural order. The whole text sorted the same but for
    jobs whose own parts are equal (ids differing only in case, descriptions alike) or one
    extends the other by a character up to a newline: those its tail (status, verdict,
    reason) ordered; now they are ties, in natural order like every column's ties."""
    write_job(jobs_root, "Job-A", description="Same", status="ZEBRA")
    write_job(jobs_root, "job-a", description="same", status="RUNNING")
    write_job(jobs_root, "job-b", description="same", status="PENDING")
    write_job(jobs_root, "job-c", description="other", status="FAILED")
    result = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time).poll()
    rows = result.jobs
    description = len(JOB_COLUMNS) - 1
    orders = JobOrders()
    orders.update(rows, {}, list(rows), (), frozenset({description}))
    orders.update(rows, rows, (), (), frozenset({description}))
    own = {key: row[JobRow.SEARCH] for key, row in rows.items()}
    assert own["Job-A"] == own["job-a"] == "same\njob-a"
    expected = sorted(rows, key=lambda key: (own[key], rows[key].rank))
    assert orders.orders[description] == expected
    assert expected[0] == "job-c" and expected[-1] == "job-b"
    tied = expected[1:3]
    assert tied == sorted(tied, key=lambda key: rows[key].rank)
    whole = sorted(rows, key=lambda key: (rows[key].search, rows[key].rank))
    assert whole == [*expected[:1], *tied[::-1], *expected[3:]]  # the tail ordered these two


def test_a_jobs_row_shows_its_untrusted_texts_escaped(jobs_root: Path) -> None:
    write_job(jobs_root, "job-evil", description="\x1b[31mred\u202eevil\tend", status="RUN\x07")
    write_job(jobs_root, "job-plain", description="plain words", status="PENDING")
    result = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time).poll()
    row = result.jobs["job-evil"]
    assert row.cells[6] == "\\x1b[31mred\\u202eevil end"
    assert row.cells[1] == "RUN\\x07"
    assert row.cells[0] == "job-evil"
    for job_id, row in result.jobs.items():  # what `safe` gives, printable texts as they are
        facts = result.states[job_id].facts
        assert row.cells[0] == safe(job_id) and row.cells[6] == safe(facts.description)
        assert row.cells[1] == safe(facts.status or "?") and row.cells[5] == money(facts.cost)
        assert row[JobRow.DESCRIPTION] is facts.description  # the state's own (no copy)
    assert result.jobs["job-plain"].cells[6] is result.states["job-plain"].facts.description


def test_only_the_orders_asked_for_are_made_and_the_job_id_one_comes_with_the_natural() -> None:
    """A natural order made anew gives the job id column's too (its first sort); other
    columns are made only when asked for, and then equal their sort; a column no longer asked
    for is let go (memory), and made again, equal, when asked for again."""
    rng = random.Random(11)
    kinds = list(VERDICT_RANK)
    rows = {}
    for number in range(300):
        key = f"job-{rng.randrange(10**6):06d}-{number}"
        kind = rng.choice(kinds)
        activity = -float(rng.randint(0, 30))
        cost = rng.choice([None, 1.0, 2.5])
        rows[key] = a_job_row(key, kind, status="SUCCESS", activity=activity, cost=cost)
    kept = JobOrders()
    kept.update(rows, {}, list(rows), (), frozenset({5}))  # a first poll: every row new
    natural_column = JobRow.SORT_FIELDS.index(JobRow.RANK)
    assert set(kept.orders) == {0, natural_column}
    assert kept.orders[0] == _ascending(rows, 0)
    for _ in range(3):  # nothing changes: the column asked for is made, no other
        kept.update(rows, rows, (), (), frozenset({5}))
    assert set(kept.orders) == {natural_column, 5}  # the job id one let go: not asked for
    assert kept.orders[5] == _ascending(rows, 5)
    kept.update(rows, rows, (), (), frozenset({0, 2}))  # asked for again: made again
    assert set(kept.orders) == {0, 2, natural_column}
    assert all(kept.orders[column] == _ascending(rows, column) for column in (0, 2))


def test_a_light_tick_that_finds_every_row_as_shown_still_makes_the_orders_asked_for(
    jobs_root: Path,
) -> None:
    """`s` asks for the orders of the next columns: a light tick that found nothing new makes
    those not made yet (up to NEW_ORDERS_PER_POLL a tick) and hands them over with the same
    rows, as a diff of nothing; with every one made, it hands over nothing again. Both ways,
    each is what a sort from scratch gives. Those made are out of the collector's sight as a
    whole poll's are (young, the event loop's collections walked them: 12-20 ms)."""
    rng = random.Random(29)
    clock = Clock(float(int(time.time())))
    for number in range(80):
        _write(jobs_root, f"job-{number:03d}", rng, clock.now - rng.choice([5.0, 90.0, 8000.0]))
    poller = Poller(manager=JobRecoveryManager(jobs_root, clock=clock), clock=clock)
    poller.sorted_columns = poller.descending = frozenset({1})
    whole = poller.poll()
    asked = frozenset(sorted(COLUMNS - set(whole.orders))[-3:])  # (a first poll makes none)
    assert len(asked) == 3
    poller.sorted_columns = poller.descending = asked
    clock.now += 1.0
    light = poller.poll_light(frozenset())
    assert not light.unchanged
    assert light.jobs is whole.jobs and light.jobs_base is whole.jobs
    assert light.jobs_changed == light.jobs_removed == ()
    for column in asked:
        assert light.orders[column] == _ascending(light.jobs, column), column
        assert light.descending[column] == _descending(light.jobs, column), column
    young = {id(thing) for thing in gc.get_objects()}
    made = [light.orders[column] for column in asked] + [light.descending[c] for c in asked]
    assert not any(id(order) in young for order in made), "frozen as a whole poll's orders"
    clock.now += 1.0
    again = poller.poll_light(frozenset())
    assert again.unchanged and again.orders.keys() == light.orders.keys()


def test_a_corrupt_jobs_finding_follows_its_backup_from_poll_to_poll(jobs_root: Path) -> None:
    """A corrupt manifest's findings are made again at every poll (whether a valid backup is
    there is looked up on disk): the same key with a new finding object; its row changes when
    a backup comes or goes, and stays the same row object while nothing it shows changed."""
    clock = Clock(float(int(time.time())))
    for number in range(6):
        write_job(jobs_root, f"job-{number}", status="SUCCESS")
    job_dir = write_job(jobs_root, "broken", b'{"status": ')
    poller = Poller(manager=JobRecoveryManager(jobs_root, clock=clock), clock=clock)
    poller.sorted_columns = poller.descending = COLUMNS
    before = poller.poll()
    _assert_from_scratch(before, None)
    clock.now += 1.0
    same = poller.poll()
    _assert_from_scratch(same, before)
    assert same.findings is before.findings  # new finding objects, every row as shown
    backups = job_dir / ".backups"
    backups.mkdir()
    (backups / backup_name(datetime.fromtimestamp(1_790_000_000))).write_text(
        '{"job_id": "broken", "status": "PENDING"}'
    )
    clock.now += 1.0
    offered = poller.poll()
    _assert_from_scratch(offered, same)
    assert offered.findings != same.findings  # the restore is offered now
    shutil.rmtree(backups)
    clock.now += 1.0
    gone = poller.poll()
    _assert_from_scratch(gone, offered)
    assert gone.findings == before.findings


def test_a_whole_poll_starts_no_collection_before_its_rows_are_frozen(jobs_root: Path) -> None:
    """The collector stays paused from the scan to the poll's `gc.freeze()`: a collection
    between them walked every state the scan had just made (at 100,000 jobs 65-85 ms that
    found nothing, holding the GIL), and the first look's listing of the root likewise. What
    is alive after a poll is out of its sight."""
    for number in range(FIRST_LOOK + 100):
        write_job(jobs_root, f"job-{number:03d}", status=("SUCCESS", "FAILED")[number % 2])
    poller = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time)
    started: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        first = poller._first_look()
        result = poller.poll()
    finally:
        gc.callbacks.remove(record)
    assert len(first.jobs) == FIRST_LOOK and not first.complete
    assert len(result.jobs) == FIRST_LOOK + 100 and result.complete
    assert started == []
    assert gc.isenabled()  # paused only while polling


def test_a_light_tick_leaves_the_states_it_judged_out_of_the_collectors_sight(
    jobs_root: Path,
) -> None:
    """The states a light tick re-judged are kept until the next one, as a whole poll's are:
    frozen with them, not left young for the collections the event loop's allocations start
    to walk (at 100,000 jobs ~4,000 states a tick, 5-15 ms a collection, in keys' frames)."""
    for number in range(40):
        write_job(jobs_root, f"job-{number:03d}", status=("SUCCESS", "EXECUTING")[number % 2])
    poller = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time)
    whole = poller.poll()
    due = frozenset(sorted(whole.states)[::3])
    light = poller.poll_light(due)
    judged = [light.states[job_id] for job_id in due]
    assert all(light.states[job_id] is not whole.states[job_id] for job_id in due)
    assert all(gc.is_tracked(state) for state in judged)
    young = {id(thing) for thing in gc.get_objects()}
    assert not any(id(state) in young for state in judged)


@synchronously
async def test_a_tick_that_only_brings_orders_is_applied_as_orders_alone(jobs_root: Path) -> None:
    """The console applies such a tick as the table's new orders (an `s` there is a lookup):
    the states are those shown, so nothing is looked at for new arrivals again (a pass over
    every job), which a whole poll still does."""
    rng = random.Random(31)
    for number in range(60):
        _write(jobs_root, f"job-{number:03d}", rng, time.time() - rng.choice([5.0, 9000.0]))
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        poller, jobs = app._poller, app.main_screen.table("jobs")
        observed: list[int] = []
        observe = app.arrivals.observe
        app.arrivals.observe = lambda states, triage: observed.append(1) or observe(states, triage)  # type: ignore[method-assign]
        asked = frozenset(sorted(COLUMNS - set(app.last_poll.orders))[:2])
        poller.sorted_columns = poller.descending = asked
        light = poller.poll_light(frozenset())
        assert not light.unchanged and light.states is app.last_poll.states
        app._apply(light)
        await pilot.pause()
        assert not observed and asked <= set(jobs._orders) and jobs.rows is light.jobs
        app._apply(poller.poll())
        assert observed


def _judgements(states: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """What a state says of its job: verdict, evidence, activity, manifest and place."""
    return {
        job_id: (
            state.verdict,
            state.verdict.evidence.get("lock"),
            state.evidence,
            state.activity_at,
            state.stat,
            state.location.directory,
        )
        for job_id, state in states.items()
    }


def test_legacy_owners_are_judged_at_every_light_tick_as_a_fresh_scan_judges_them(
    jobs_root: Path, procs: Processes
) -> None:
    """Jobs with a legacy pid (no start token: no pidfd can follow them) are due at every
    light tick; one found as it was judged is kept as it is (the same state, no row made), and
    every tick's states are those of a fresh scan: a legacy owner killed shows crashed at the
    next tick (two jobs naming it, one /proc read), a lock taken, a log written and a manifest
    rewritten are seen at once."""
    shared, other = procs.sleeper(), procs.sleeper()
    for name, pid in [("a", shared.pid), ("b", shared.pid), ("c", other.pid), ("d", other.pid)]:
        job_dir = write_job(jobs_root, f"legacy-{name}", status="EXECUTING", process_id=pid)
        (job_dir / ".lock").touch()
        (job_dir / "logs").mkdir()
        (job_dir / "logs" / "runner.log").write_text("step 1\n")
        old = time.time() - 600
        for path in (job_dir / "job_manifest.json", job_dir / "logs" / "runner.log"):
            os.utime(path, (old, old))
    for number in range(20):
        write_job(jobs_root, f"rest-{number:02d}", status=("SUCCESS", "PENDING")[number % 2])
    poller = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time)
    shown = poller.poll()
    legacy = frozenset(job_id for job_id in shown.states if job_id.startswith("legacy"))

    def tick() -> PollResult:
        light = poller.poll_light(legacy)
        fresh = JobRecoveryManager(jobs_root).scan().jobs
        assert _judgements(light.states) == _judgements(dict(fresh))
        return light

    assert {shown.states[job].verdict.kind for job in legacy} == {VerdictKind.SUSPECT}
    light = tick()
    assert light.unchanged and all(light.states[job] is shown.states[job] for job in legacy)

    shared.kill()
    shared.wait()
    light = tick()
    kinds = {job: light.states[job].verdict.kind for job in legacy}
    assert kinds == {
        "legacy-a": VerdictKind.CRASHED,
        "legacy-b": VerdictKind.CRASHED,
        "legacy-c": VerdictKind.SUSPECT,
        "legacy-d": VerdictKind.SUSPECT,
    }
    assert light.jobs["legacy-a"].cells != shown.jobs["legacy-a"].cells
    assert light.states["legacy-c"] is shown.states["legacy-c"]

    holder = procs.lock_holder(jobs_root / "legacy-c" / ".lock")
    light = tick()
    assert light.states["legacy-c"].verdict.kind is VerdictKind.RUNNING
    holder.kill()
    holder.wait()
    light = tick()
    assert light.states["legacy-c"].verdict.kind is VerdictKind.SUSPECT

    before = light.states["legacy-d"].activity_at
    (jobs_root / "legacy-d" / "logs" / "runner.log").write_text("step 2\n")
    light = tick()
    assert light.states["legacy-d"].activity_at != before

    write_job(jobs_root, "legacy-d", status="EXECUTING", process_id=other.pid, description="x")
    light = tick()
    assert light.states["legacy-d"].facts.description == "x"
    assert tick().unchanged


def test_states_a_light_tick_kept_are_what_the_next_whole_poll_compares_with(
    jobs_root: Path,
) -> None:
    """A tick whose re-judged jobs show as their rows keeps their new states beside the whole
    poll's (whose dict it no longer copies: ~4 MB at 100,000 jobs): the next whole poll gives
    what a poll from scratch gives, with the row objects of the jobs that show the same. The
    tick's snapshot is the manager's with new state objects of equal content for the due jobs
    (what `rejudge` hands back when an active job's evidence changed and its row did not)."""
    rng = random.Random(17)
    clock = Clock(float(int(time.time())))
    for number in range(40):
        status = ("SUCCESS", "EXECUTING", "PENDING")[number % 3]
        _write(jobs_root, f"job-{number:03d}", rng, clock.now - 50.0 - number, status=status)
    manager = JobRecoveryManager(jobs_root, clock=clock)
    poller = Poller(manager=manager, clock=clock)
    poller.sorted_columns = poller.descending = COLUMNS
    for _ in range(3):  # the orders are made a few a poll
        whole = poller.poll()
    due = frozenset(sorted(whole.states)[::4])
    judged = {job_id: replace(whole.states[job_id]) for job_id in due}
    snapshot = replace(manager.last_snapshot(), jobs={**whole.states, **judged})
    assert poller._same_rows(snapshot, due)
    assert poller._states is whole.states  # not copied
    assert poller._kept_states == judged
    assert all(poller._kept_states[job_id] is judged[job_id] for job_id in due)
    assert poller._same_rows(snapshot, due)  # again: the kept ones are found as they are
    changed = [*sorted(due)[:2], "job-001", "job-002"]
    for job_id in changed:
        _write(jobs_root, job_id, rng, clock.now - 5.0, status=rng.choice(["SUCCESS", "FAILED"]))
    clock.now += 1.0
    again = poller.poll()
    _assert_from_scratch(again, whole)
    assert poller._kept_states == {} and poller._states is again.states


def test_quick_findings_changed_under_their_keys_merge_as_from_scratch(jobs_root: Path) -> None:
    """The findings of a poll are merged from the last poll's when only some are new objects
    at the same places: a finding whose message changes under its key (a deprecated status
    for another, a corrupt manifest broken elsewhere), one whose key changes at its place (a
    deprecated status turned unknown), one unchanged but made again. Each poll's findings
    are what the snapshot gives from scratch, in its order; the pane's rows follow."""
    rng = random.Random(3)
    clock = Clock(float(int(time.time())))

    def aged(job_dir: Path) -> None:  # (not written in the scan's clock tick: not re-read)
        moment = clock.now - rng.randint(100, 5000)
        os.utime(job_dir / "job_manifest.json", (moment, moment))

    for number in range(300):
        aged(write_job(jobs_root, f"job-{number:03d}", status=rng.choice(["FAILED", "PAUSED"])))
    broken = [b'{"status": ', b"{not json", b'{"a": 1,', b"[1, 2]", b""]  # (last two: other codes)
    for number in range(3):
        (jobs_root / f"broken-{number}").mkdir()
        (jobs_root / f"broken-{number}" / "job_manifest.json").write_bytes(broken[number])
        aged(jobs_root / f"broken-{number}")
    manager = JobRecoveryManager(jobs_root, clock=clock)
    poller = Poller(manager=manager, clock=clock)
    poller.sorted_columns = poller.descending = COLUMNS
    poller.finding_columns = frozenset({3})
    before = poller.poll()
    for step in range(12):
        statuses = ["FAILED", "PAUSED"] if step % 3 else ["BOGUS"]  # (another key, or not)
        for job_id in rng.sample([f"job-{n:03d}" for n in range(300)], 3):
            aged(write_job(jobs_root, job_id, status=rng.choice(statuses)))
        job_dir = jobs_root / f"broken-{rng.randrange(3)}"
        (job_dir / "job_manifest.json").write_bytes(rng.choice(broken))
        aged(job_dir)
        clock.now += 1.0
        result = poller.poll()
        snapshot = manager.last_snapshot()
        assert snapshot is not None
        fresh = {finding_key(found): found for found in quick_findings(snapshot)}
        assert list(result.finding_objects.items()) == list(fresh.items()), step
        made = {finding_key(found): found for found in manager.quick_findings(snapshot)}
        assert all(result.finding_objects[key] is found for key, found in made.items()), step
        _assert_from_scratch(result, before)
        before = result
