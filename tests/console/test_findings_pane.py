"""The findings pane takes a whole poll's findings as a diff, with the natural order the poll
worker keeps (a root moved with its index has a finding per job: 100,000 at 100,000 jobs).
After every poll it must show exactly what a table built afresh from all its rows shows: the
same rows, order, lines, cursor, filter and marks, on a real root whose findings come, go and
change between polls (index entries moved, left out, corrupt; manifests corrupt and mended;
statuses deprecated, unknown, fine; jobs removed and added)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from conftest import write_job
from logist.console import orders as orders_module
from logist.console.finding_order import FindingOrder
from logist.console.rows import FINDING_COLUMNS, Row, descending_order, finding_row
from logist.console.widgets import keyed_table
from logist.console.widgets.keyed_table import _NO_PASS, KeyedTable
from logist.core import Finding, Severity

from .support import NOW, make_app, settle, synchronously

STATUSES = ["PENDING", "SUCCESS", "FAILED", "PAUSED", "BOGUS", "EXECUTING"]
"""Fine, deprecated (an info finding), not a Logist state (a warning)."""
PANES = [
    (None, False, ""),
    (None, False, ""),
    (None, True, ""),
    (None, False, "job-0"),
    (None, True, "-severity:info"),
    (0, False, ""),
    (1, True, ""),
    (2, False, "code:index"),
    (3, False, ""),
    (3, True, "status:fail"),
    (4, False, "mismatch job-1"),
    (4, True, ""),
]
"""The pane as the operator left it before a poll: (sorted column, reversed, filter typed)."""


PLACES = ["here", "here", "old", "older", "absent"]
"""Where the index puts a job: at its directory, at an old path (as after a move: the
finding's message says which), or nowhere (not indexed)."""


def _index(root: Path, placed: dict[str, str], unreadable: bool) -> None:
    if unreadable:
        (root / "jobs_index.json").write_text("{not json")
        return
    entries = {
        job_id: str((root if where == "here" else root.parent / where) / job_id)
        for job_id, where in placed.items()
        if where != "absent"
    }
    (root / "jobs_index.json").write_text(json.dumps({"jobs": entries, "queue": []}))


def _corrupt(root: Path, job_id: str, rng: random.Random) -> None:
    """A corrupt manifest; the finding's message says where it broke."""
    broken = rng.choice([b'{"status": ', b"{not json", b'{"a": 1,', b"[1, 2"])
    (root / job_id / "job_manifest.json").write_bytes(broken)


def _change(
    root: Path, placed: dict[str, str], rng: random.Random, number: int, seen: list[str]
) -> None:
    """A round of changes: a few jobs' statuses, manifests corrupt and mended, index entries,
    jobs gone and new, some of them jobs whose findings are on screen (`seen`); now and then
    the whole root at once (moved, put back, its index unreadable): findings by the hundred."""
    jobs = sorted(placed)
    for job_id in rng.sample(seen, min(len(seen), 4)):
        _corrupt(root, job_id, rng)  # (another message, or the same)
    if rng.random() < 0.25:
        where = rng.choice(["here", "old", "older", "unreadable"])
        for job_id in jobs:
            placed[job_id] = "here" if where == "unreadable" else where
        _index(root, placed, where == "unreadable")
        return
    for job_id in rng.sample(jobs, 8):
        write_job(root, job_id, status=rng.choice(STATUSES))
    for job_id in rng.sample(jobs, 6):
        _corrupt(root, job_id, rng)
    for job_id in rng.sample(jobs, 6):
        placed[job_id] = rng.choice(PLACES)
    for job_id in rng.sample(jobs, 3):
        shutil.rmtree(root / job_id)
        del placed[job_id]
    for extra in range(rng.choice([0, 2, 5])):
        job_id = f"job-{number:02d}{extra}-new"
        write_job(root, job_id, status=rng.choice(STATUSES))
        placed[job_id] = rng.choice(PLACES)
    _index(root, placed, False)


def _expected_order(table: KeyedTable) -> list[str]:
    """The keys a table built from its rows alone shows: the filter's, in natural order (by
    rank), or sorted by the column (ties in natural order), either way."""
    rows = table.rows
    query = table._query
    natural = [k for k in sorted(rows, key=lambda k: rows[k].rank) if query.matches(rows[k])]
    column, reverse = table.sorting
    if column is None:
        return natural[::-1] if reverse else natural
    ascending = sorted(natural, key=lambda key: rows[key].sort_value(column))
    if not reverse:
        return ascending
    return descending_order(ascending, [rows[key].sort_value(column) for key in ascending])


def _lines(table: KeyedTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize("seed", [7, 11])
@synchronously
async def test_the_findings_pane_after_each_poll_is_what_a_fresh_table_shows(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(keyed_table, "ROWS_TESTED_AT_ONCE", 20)  # filters tested in two goes
    rng = random.Random(seed)
    placed = {f"job-{number:03d}": rng.choice(PLACES) for number in range(240)}
    for job_id in placed:
        write_job(jobs_root, job_id, status=rng.choice(STATUSES))
        if rng.random() < 0.05:
            _corrupt(jobs_root, job_id, rng)
    _index(jobs_root, placed, False)
    app = make_app(jobs_root, clock=lambda: NOW)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        table = screen.table("findings")
        await pilot.press("3")
        field = screen.query_one("#filter")
        diffs = 0
        apply_diff = table.apply_diff

        def counted(*args: object, **kwargs: object) -> None:
            nonlocal diffs
            diffs += 1
            apply_diff(*args, **kwargs)  # type: ignore[arg-type]

        table.apply_diff = counted  # type: ignore[method-assign]
        panes = rng.sample(PANES, len(PANES))
        for number in range(len(panes)):
            # the pane as an operator left it: sorted or not, either way, filtered or not,
            # the cursor somewhere, a job marked, its lines drawn (cached)
            column, reverse, typed = panes[number]
            while table.sorting[0] != column:
                await pilot.press("s")
            if table.sorting[1] != reverse:
                await pilot.press("S")
            if typed:
                await pilot.press("slash")
                field.value = typed
                await pilot.press("enter")
            await pilot.press(*["down"] * rng.randint(0, 30))
            if table.cursor_key is not None and rng.random() < 0.5:
                await pilot.press("space")
            await pilot.pause()
            _lines(table)
            cursor = table.cursor_key
            seen = {table.rows[key].job_id for key in table._visible_keys()}
            _change(jobs_root, placed, rng, number, sorted(filter(None, seen)))
            polls = app.poll_count
            app.poll_now(full=True)
            await settle(pilot, polls=polls + 1)
            last = app.last_poll
            assert last is not None
            made = {key: finding_row(f, last.states) for key, f in last.finding_objects.items()}
            assert dict(table.rows) == made, number
            shown = table.shown_keys()
            assert shown == _expected_order(table), (number, table.sorting, typed)
            landed = table.cursor_key
            assert landed == cursor if cursor in shown else landed in (shown or [None]), number
            drawn = _lines(table)
            errors = sum(f.severity is Severity.ERROR for f in last.finding_objects.values())
            title = str(screen.query_one("#findings-pane").border_title)
            assert (f" · {errors} error" in title) == bool(errors), title
            # the same table built afresh from its rows: the same order, cursor and lines
            table._natural = None
            table._orders = table._descending_orders = {}
            table._passed = _NO_PASS
            table._strips.clear()
            table._reorder()
            assert table.shown_keys() == shown, number
            assert table.cursor_key == landed, number
            assert _lines(table) == drawn, number
            if typed:
                await pilot.press("escape")
            if rng.random() < 0.3:
                await pilot.press("escape")  # the marks cleared too
        assert diffs >= 9  # (most polls came as a diff: the others are a first poll's)
    assert table.row_count > 0


def _finding(job: str | None, code: str, severity: Severity, says: str) -> Finding:
    """A finding whose message ties with many others' (sorted by it, ties in natural order)."""
    return Finding(job, code, severity, f"{code}{says}", "look")


@pytest.mark.parametrize("sort_slice", [None, 3, 2])
def test_the_natural_order_kept_through_comings_goings_and_severity_changes(
    sort_slice: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`FindingOrder` after each change is the rows sorted by rank, from nothing, including
    root findings (no job), job ids that are prefixes of others, and a finding whose
    severity or message changes under the same key; the orders of the columns asked for are
    the rows sorted by value, ties by rank, both ways. Orders made from scratch are sorted a
    slice at a time (`_sorted_in_slices`, 8,192 items by default): with slices of 3 and 2,
    the same orders."""
    if sort_slice is not None:
        monkeypatch.setattr(orders_module, "SORT_SLICE", sort_slice)
    rng = random.Random(5)
    jobs = [None, "a", "a-b", "a\tb", "ab", "b", *(f"job-{n:03d}" for n in range(300))]
    codes = ["index-path-mismatch", "deprecated-status", "manifest-invalid-json", "x"]
    order = FindingOrder()
    rows: dict[str, Row] = {}
    for step in range(60):
        previous = dict(rows)
        many = step in (0, 13, 27)
        for _ in range(600 if many else rng.randint(0, 30)):
            job, code = rng.choice(jobs), rng.choice(codes)
            found = _finding(job, code, rng.choice(list(Severity)), rng.choice(["", "x", "y"]))
            row = finding_row(found, {})
            rows[row.key] = row
        for key in rng.sample(sorted(rows), min(len(rows), 500 if step == 20 else 5)):
            del rows[key]
        changed = [key for key, row in rows.items() if previous.get(key) is not row]
        removed = [key for key in previous if key not in rows]
        before, kept = order.natural, list(order.natural)
        handed = {column: list(keys) for column, keys in order.orders.items()}
        columns = set(rng.sample(range(len(FINDING_COLUMNS)), rng.randint(0, 3)))
        if step % 5 == 4:  # the columns asked for change, the rows do not
            other = columns != set(order.orders)
            assert order.asked(previous, columns) == other
        order.update(rows, previous, changed, removed, columns)
        assert order.natural == sorted(rows, key=lambda key: rows[key].rank), step
        assert before == kept  # a list handed out is never changed
        assert all(order_ == handed[column] for column, order_ in handed.items())
        assert set(order.orders) == set(order.descending) == columns
        for column in columns:
            ascending = sorted(rows, key=lambda key: (rows[key].sort_value(column), rows[key].rank))
            assert order.orders[column] == ascending, (step, column)
            descending = sorted(rows, key=lambda key: rows[key].rank)
            descending.sort(key=lambda key: rows[key].sort_value(column), reverse=True)
            assert order.descending[column] == descending, (step, column)
        for severity in range(3):
            assert order.count(severity) == sum(r.rank[0] == severity for r in rows.values())
