"""The keyed table: rows moved one by one end where a full sort puts them, in every order; the
jobs table's C-level filter keeps what the filter language keeps."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region

from conftest import write_job
from logist.console.orders import JobOrders
from logist.console.rows import (
    JOB_COLUMNS,
    Column,
    JobRow,
    Row,
    descending_order,
)
from logist.console.widgets import keyed_table
from logist.console.widgets.keyed_table import _NO_PASS, KeyedTable, _refinement
from logist.core import FilterQuery, VerdictKind

from .support import NOW, a_job_row, make_app, refresh, settle, synchronously

COLUMNS = (Column("Job", 10), Column("Status", 10), Column("Cost", 6, right=True))


def _row(number: int, rng: random.Random) -> Row:
    status = rng.choice(["EXECUTING", "PENDING", "SUCCESS"])
    cost = rng.choice([None, 1.0, 2.5, 7.0])
    key = f"job-{number:04d}"
    return Row(
        key,
        key,
        (key, status, "-" if cost is None else str(cost)),
        ("", "", ""),
        (key, status, cost),
        (rng.randint(0, 3), key),
        f"{key}\n{status}".lower(),
        (("status", status.lower()),),
    )


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(columns=COLUMNS, marks=set())


@synchronously
async def test_rows_repositioned_by_a_diff_are_where_a_full_sort_puts_them() -> None:
    rng = random.Random(7)
    app = _Host()
    async with app.run_test(size=(60, 20)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_row(n, rng) for n in range(600))}
        numbers = iter(range(600, 10_000))
        table.update_rows(rows)
        for sort, reverse, text in [
            (None, False, ""),
            (None, True, ""),
            (1, False, ""),
            (2, True, ""),
            (2, False, "-status:succ"),
            (1, True, "job-01 -job-012"),
        ]:
            table.sort_by(sort, reverse=reverse)
            table.set_query(FilterQuery.parse(text))
            for _ in range(15):
                rows = dict(rows)
                for key in rng.sample(sorted(rows), 6):
                    del rows[key]
                for _ in range(6):
                    fresh = next(numbers)
                    rows[f"job-{fresh:04d}"] = _row(fresh, rng)
                for key in rng.sample(sorted(rows), 20):
                    rows[key] = _row(int(key[4:]), rng)
                cursor = table.cursor_key
                table.update_rows(rows)
                incremental = table.shown_keys()
                table._reorder()
                assert incremental == table.shown_keys(), (sort, reverse, text)
                if cursor in table.shown_keys():
                    assert table.cursor_key == cursor


JOB_STATUSES = ["EXECUTING", "PENDING", "SUCCESS", None]
KINDS = [VerdictKind.CRASHED, VerdictKind.RUNNING, VerdictKind.DONE, VerdictKind.IDLE]


def _job(number: int, rng: random.Random, key: str | None = None) -> JobRow:
    """A jobs-table row with random values in every field a sort or filter reads."""
    key = key or f"{rng.choice(['etl', 'Report', 'crash'])}-{number:04d}"
    status = rng.choice(JOB_STATUSES)
    kind = rng.choice(KINDS)
    activity = rng.choice([None, -float(rng.randint(0, 50))])
    cost = rng.choice([None, 1.0, 2.5])
    phase = rng.choice([None, 1, 2])
    description = rng.choice(["nightly clickstream", "Backfill", ""])
    return a_job_row(
        key,
        kind,
        status=status,
        activity=activity,
        phase=phase,
        cost=cost,
        description=description,
    )


def _filled(
    table: KeyedTable, rng: random.Random, count: int
) -> tuple[dict[str, JobRow], list[str]]:
    """`count` random job rows in the table, 40 of them tagged as new arrivals."""
    rows = {row.key: row for row in (_job(n, rng) for n in range(count))}
    table.update_rows(rows)
    tagged = rng.sample(sorted(rows), 40)
    table.set_overlay({key: rows[key].tagged(True) for key in tagged})
    return rows, tagged


def _poll_applied(
    table: KeyedTable,
    rows: dict[str, JobRow],
    rng: random.Random,
    number: int,
    changed_count: int,
    removed_count: int,
    tagged: Iterable[str],
) -> dict[str, JobRow]:
    """A poll's diff applied as the console applies it: some rows changed, some gone, one new,
    then the new arrivals' rows tagged. Returns the rows after it."""
    rows = dict(rows)
    changed = rng.sample(sorted(rows), changed_count)
    for key in changed:
        rows[key] = _job(0, rng, key)
    removed = tuple(rng.sample(sorted(set(rows) - set(changed)), removed_count))
    for key in removed:
        del rows[key]
    fresh = _job(number, rng)
    rows[fresh.key] = fresh
    table.apply_diff(rows, [*changed, fresh.key], removed)
    table.set_overlay({k: rows[k].tagged(True) for k in tagged if k in rows})
    return rows


class _JobsHost(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(columns=JOB_COLUMNS, marks=set())


QUERIES = [
    "",
    "crash",
    "-crash",
    "verdict:crash,run",
    "-verdict:done status:pend",
    "status:exec,succ clickstream",
    "etl-00*",
    "id:report-0??",
    "-id:crash-*,etl",
    "is:new",
    "-is:new verdict:idle",
    "nosuch:thing",
    "-nosuch:thing backfill",
]


@synchronously
async def test_the_job_filter_keeps_exactly_what_the_filter_language_keeps_in_every_order() -> None:
    rng = random.Random(11)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_job(n, rng) for n in range(800))}
        table.update_rows(rows)
        tagged = rng.sample(sorted(rows), 30)
        table.set_overlay({key: rows[key].tagged(True) for key in tagged})
        natural = sorted(rows, key=lambda key: rows[key].rank)
        for text in QUERIES:
            query = FilterQuery.parse(text)
            table.set_query(query)
            for sort in (None, *range(len(JOB_COLUMNS))):
                table.sort_by(sort, reverse=sort == 3)
                wanted = [key for key in natural if query.matches(table._row(key))]
                assert sorted(table.shown_keys()) == sorted(wanted), text
                if sort is None:
                    assert table.shown_keys() == wanted
        assert table.cursor_row is not None


@synchronously
async def test_job_rows_applied_as_a_poll_diff_end_where_a_full_sort_puts_them() -> None:
    rng = random.Random(5)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_job(n, rng) for n in range(700))}
        kept = JobOrders()
        kept.update(rows, {}, list(rows), ())
        natural = kept.natural
        descending: dict[int, list[str]] = {}
        table.update_rows(rows, natural=natural)
        numbers = iter(range(700, 10_000))
        for sort, reverse, text in [
            (None, False, ""),
            (None, True, ""),
            (1, False, ""),
            (3, True, ""),
            (5, False, "-status:succ"),
            (0, False, "crash"),
            (6, True, ""),
            (5, True, "verdict:run,crash"),
        ]:
            table.sort_by(sort, reverse=reverse)
            table.set_query(FilterQuery.parse(text))
            for _ in range(12):
                previous, rows = rows, dict(rows)
                removed = tuple(rng.sample(sorted(rows), 5))
                for key in removed:
                    del rows[key]
                changed = []
                for _ in range(5):
                    fresh = _job(next(numbers), rng)
                    rows[fresh.key] = fresh
                    changed.append(fresh.key)
                for key in rng.sample(sorted(rows), rng.choice([0, 3, 15, 60])):
                    rows[key] = _job(0, rng, key)
                    changed.append(key)
                changed = list(dict.fromkeys(changed))  # a poll names each job once
                kept.update(rows, previous, changed, removed, frozenset(range(len(JOB_COLUMNS))))
                natural, orders = kept.natural, kept.orders
                assert natural == sorted(rows, key=lambda key: rows[key].rank)
                for column, order in orders.items():
                    present = [k for k in natural if rows[k].sort_value(column) is not None]
                    absent = [k for k in natural if rows[k].sort_value(column) is None]
                    by_value = sorted(present, key=lambda k: rows[k].sort_value(column))
                    assert order == by_value + absent, column
                    down = sorted(present, key=lambda k: rows[k].sort_value(column), reverse=True)
                    values = [rows[k].sort_value(column) for k in order]
                    descending[column] = descending_order(order, values)
                    assert descending[column] == down + absent, column
                cursor = table.cursor_key
                table.apply_diff(rows, changed, removed, natural, orders, descending)
                incremental = table.shown_keys()
                table._orders = table._descending_orders = {}  # made here, from the natural one
                table._reorder()
                assert incremental == table.shown_keys(), (sort, reverse, text)
                if cursor in table.shown_keys():
                    assert table.cursor_key == cursor


@synchronously
async def test_s_in_a_reversed_sort_finds_the_next_columns_descending_order_made(
    jobs_root: Path,
) -> None:
    """`s` keeps the direction: while the jobs table is reversed, the poll worker makes the
    next column's descending order too, and `s` only looks it up (at 100,000 jobs making it
    on the event loop took 110 ms of the 100 a sort may take)."""
    for index in range(12):
        write_job(jobs_root, f"job-{index:02}", status=("PENDING", "SUCCESS", "PAUSED")[index % 3])
    app = make_app(jobs_root, clock=lambda: NOW)  # ages that do not change every row
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s", "S")  # Job, descending
        write_job(jobs_root, "job-00", status="FAILED")  # news (another size): a poll applied
        await refresh(pilot)
        table = app.main_screen.table("jobs")
        assert table.sorting == (0, True)
        assert set(table._descending_orders) == {0, 1, 2}  # Job shown, Status and Verdict next
        await pilot.press("s")
        assert table.sorting == (1, True)
        shown = table.shown_keys()
        table._orders = table._descending_orders = {}  # the same order made on the spot
        table._reorder()
        assert shown == table.shown_keys()


TYPED = [
    "clickstream verdict:crashed",
    "-crash nightly",
    "status:exec,succ back",
    "id:etl-00*",
    "is:new run",
    "verdict:c,run x",
]
"""Typed a character at a time, then deleted: refinements narrow what is shown, the rest
(a character deleted, a negated or glob term, a value list widened) filter every row."""


@synchronously
async def test_a_filter_typed_a_character_at_a_time_shows_what_the_whole_filter_shows() -> None:
    rng = random.Random(23)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows, tagged = _filled(table, rng, 900)
        numbers = iter(range(900, 10_000))
        for typed, (sort, reverse) in zip(  # noqa: B905 (same length)
            TYPED, [(None, False), (2, False), (3, True), (None, True), (6, False), (1, True)]
        ):
            table.sort_by(sort, reverse=reverse)
            prefixes = [typed[:n] for n in range(len(typed) + 1)]
            for step, text in enumerate(prefixes + prefixes[::-1]):
                if step % 7 == 6:  # a poll between two keys: some rows changed, some went
                    rows = _poll_applied(table, rows, rng, next(numbers), 20, 3, tagged)
                query = FilterQuery.parse(text)
                table.set_query(query)
                typed_keys = table.shown_keys()
                kept_for, kept_of, _, kept = table._passed
                if kept_for == query and kept_of is rows:  # what a sort filters by
                    assert sorted(kept) == sorted(typed_keys), text
                table._passed = _NO_PASS  # forget what was typed before: the whole filter
                table._reorder()
                assert typed_keys == table.shown_keys(), (text, sort, reverse)
                natural = sorted(rows, key=lambda key: rows[key].rank)
                wanted = [key for key in natural if query.matches(table._row(key))]
                assert sorted(typed_keys) == sorted(wanted), text


@synchronously
@pytest.mark.parametrize("at_once", [2_000, 30])
async def test_a_filter_typed_in_a_small_table_shows_what_the_whole_filter_shows(
    at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when the rows are tested in two goes (the rows shown first, as at 100,000 jobs)."""
    monkeypatch.setattr(keyed_table, "ROWS_TESTED_AT_ONCE", at_once)
    rng = random.Random(29)
    app = _Host()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_row(n, rng) for n in range(400))}
        table.update_rows(rows)
        table._move(60)
        for typed in ("job-01 status:pend", "-pend job-0", "status:exec,succ 3"):
            table.sort_by(1)
            prefixes = [typed[:n] for n in range(len(typed) + 1)]
            for text in prefixes + prefixes[::-1]:
                query = FilterQuery.parse(text)
                table.set_query(query)
                wanted = [key for key in table.shown_keys() if query.matches(rows[key])]
                assert table.shown_keys() == wanted
                everything = sorted(key for key in rows if query.matches(rows[key]))
                assert sorted(table.shown_keys()) == everything, text
                shown = table.shown_keys()
                table._reorder()  # the same filter from scratch
                assert table.shown_keys() == shown, text


def test_a_query_refines_another_only_when_it_can_only_let_fewer_rows_through() -> None:
    def tested(before: str, after: str) -> str | None:
        refined = _refinement(FilterQuery.parse(before), FilterQuery.parse(after))
        return (
            None
            if refined is None
            else " ".join(
                ("-" if negated else "") + (f"{name}:" if name else "") + ",".join(values)
                for negated, name, values in refined.terms
            )
        )

    assert tested("c", "cr") == "cr"
    assert tested("cr", "c") is None  # a character deleted
    assert tested("", "c") == "c"  # every row, in the order shown
    assert tested("crash", "crash run") == "run"
    assert tested("rash", "crash") == "crash"  # contains the old text
    assert tested("verdict:c", "verdict:cr") == "verdict:cr"
    assert tested("verdict:cr", "verdict:cr,") is None or tested("verdict:cr", "verdict:cr,") == ""
    assert tested("verdict:cr", "verdict:cr,h") is None  # a value added: more rows
    assert tested("verdict:cr,h", "verdict:cr,hu") == "verdict:cr,hu"
    assert tested("-c", "-cr") is None  # a negated term typed further lets more through
    assert tested("id:etl-0", "id:etl-0*") is None  # a glob
    assert tested("is:n", "is:ne") is None
    assert tested("status:", "status:e") is None  # free text "status:" became a facet
    assert tested("crash run", "crash") is None


@synchronously
async def test_a_filter_lays_out_nothing_and_the_scrollbar_still_follows_the_row_count() -> None:
    """Rows shown change the table's scrollable height: its scrollbar follows, and the
    screen is laid out only when that scrollbar comes or goes (a layout repaints the screen)."""
    rng = random.Random(31)
    app = _Host()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(KeyedTable)
        screen = app.screen
        layouts = []
        refresh_layout = screen._refresh_layout
        screen._refresh_layout = lambda *a, **k: (layouts.append(1), refresh_layout(*a, **k))  # type: ignore[method-assign]
        table.update_rows({row.key: row for row in (_row(n, rng) for n in range(300))})
        await pilot.pause()
        assert table.show_vertical_scrollbar and table.max_scroll_y > 250
        table.action_last()
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y
        layouts.clear()
        for text in ("job-0", "job-01", "job-0", "pend"):
            table.set_query(FilterQuery.parse(text))
            await pilot.pause()
            assert (
                table.max_scroll_y == table.shown_count + 1 - table.scrollable_content_region.height
            )
        assert not layouts, "a filter that keeps the scrollbar laid out the screen"
        table.set_query(FilterQuery.parse("job-0001"))
        await pilot.pause()
        assert table.shown_count == 1 and not table.show_vertical_scrollbar
        assert layouts, "the scrollbar went: a layout gives the table its width back"
        table.set_query(FilterQuery())
        await pilot.pause()
        assert table.show_vertical_scrollbar and table.shown_count == 300


@synchronously
async def test_a_reversed_sort_without_its_order_at_hand_is_what_a_full_sort_gives() -> None:
    """`S` on a column whose order the poller did not make turns the shown rows around (runs
    of ties reversed as wholes): the same rows in the same order as a sort from scratch, both
    ways, filtered or not, after polls too."""
    rng = random.Random(37)
    for host, make in ((_JobsHost, _job), (_Host, _row)):
        app = host()
        async with app.run_test(size=(120, 20)):
            table = app.query_one(KeyedTable)
            rows = {row.key: row for row in (make(n, rng) for n in range(600))}
            table.update_rows(rows)
            for text in ("", "crash", "-status:succ", "job-01"):
                table.set_query(FilterQuery.parse(text))
                for column in range(len(table.columns)):
                    table.sort_by(column)
                    for _ in range(3):
                        if rng.random() < 0.5:  # a poll between two keys
                            rows = dict(rows)
                            changed = rng.sample(sorted(rows), 15)
                            for key in changed:
                                rows[key] = (
                                    make(0, rng, key) if make is _job else make(int(key[-4:]), rng)
                                )
                            table.apply_diff(rows, changed, ())
                        table.reverse_sort()
                        turned = table.shown_keys()
                        table._reorder()
                        assert turned == table.shown_keys(), (text, column, table.sorting)


@synchronously
async def test_a_typed_filter_first_shows_the_rows_of_a_whole_filter_then_tests_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A filter typed at 100,000 jobs tests the rows up to the cursor's and a screenful more
    before the next frame, the others after it. What is drawn before is what the whole
    filter draws, the cursor stays on its job, and the rest makes the order a filter from
    scratch makes; a poll applied before the rest was tested too. (Tables of up to
    TESTED_AT_ONCE rows are tested at once: lowered here, for 6,000 rows.)"""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 1000)
    rng = random.Random(41)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows, tagged = _filled(table, rng, 6000)
        numbers = iter(range(6000, 20_000))
        lazy = windows = 0
        for typed, (sort, reverse), cursor in zip(  # noqa: B905 (same length)
            TYPED,
            [(None, False), (2, False), (None, True), (3, True), (6, False), (None, False)],
            [0, 150, 2000, 40, 7, 900],
        ):
            table.set_query(FilterQuery())
            table.sort_by(sort, reverse=reverse)
            table._move(cursor)
            prefixes = [typed[:n] for n in range(1, len(typed) + 1)]
            for step, text in enumerate(prefixes + prefixes[-2::-1] + [""]):
                query = FilterQuery.parse(text)
                before, previous = table.cursor_key, table.shown_keys()
                narrowed = _refinement(table._query, query) is not None
                table.set_query(query)
                lazy += not table.counted
                drawn = [table.render_line(y).text for y in range(table.size.height)]
                tested, cursor_key = list(table._keys), table.cursor_key
                if step % 5 == 4:  # a poll before the rest was tested
                    rows = _poll_applied(table, rows, rng, next(numbers), 30, 4, tagged)
                else:
                    shown = table.shown_keys()  # the rest tested: before and after these
                    offset = shown.index(tested[0]) if tested else 0
                    assert shown[offset : offset + len(tested)] == tested, text
                    windows += offset > 0
                    lines = [table.render_line(y).text for y in range(table.size.height)]
                    assert lines == drawn, text  # the rest tested: the screen stays
                    assert table.cursor_key == cursor_key
                    if before is not None and query.matches(table._row(before)):
                        assert cursor_key == before, text  # on its job
                    elif narrowed and before is not None:  # on the next job shown, else last
                        after = previous[previous.index(before) + 1 :]
                        following = [k for k in after if query.matches(table._row(k))]
                        assert cursor_key == (following or shown[-1:] or [None])[0], text
                    else:
                        assert cursor_key in (shown or [None])
                shown = table.shown_keys()
                cursor_key = table.cursor_key
                table._passed = _NO_PASS  # the same filter from scratch
                table._reorder()
                assert table.shown_keys() == shown, (text, sort, reverse)
                assert table.cursor_key == cursor_key
                everything = sorted(k for k in rows if query.matches(table._row(k)))
                assert sorted(shown) == everything, text
                if step % 5 != 4:
                    assert [table.render_line(y).text for y in range(table.size.height)] == drawn
        assert lazy > 10  # (the first rows alone were tested before the frame, often)
        assert windows  # (and the rows around a cursor far down, sometimes)


def _mixed_root(root: Path, count: int, rng: random.Random) -> None:
    """Jobs of every status, descriptions to filter by, and corrupt manifests (findings)."""
    for number in range(count):
        job_id = f"{rng.choice(['etl', 'report', 'crunch'])}-{number:04d}"
        if number % 97 == 5:
            (root / job_id).mkdir(parents=True)
            (root / job_id / "job_manifest.json").write_bytes(b"{not json")
            continue
        write_job(
            root,
            job_id,
            status=rng.choice(["PENDING", "SUCCESS", "FAILED", "PAUSED", "EXECUTING"]),
            description=rng.choice(["nightly clickstream", "backfill", "cross-region copy"]),
        )


@synchronously
async def test_filters_typed_on_a_real_root_show_what_a_filter_from_scratch_shows(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real root, every pane shows what the filter keeps of every row, in order, with
    the counts said in its title, once the rows a typed filter left are tested, also when
    a poll (jobs changed, gone, new, turned corrupt) comes before they were; the cursor
    stays on its job. (TESTED_AT_ONCE lowered: 1,500 jobs are tested in two goes.)"""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 200)
    monkeypatch.setattr(keyed_table, "ROWS_TESTED_AT_ONCE", 20)
    rng = random.Random(43)
    _mixed_root(jobs_root, 1500, rng)
    app = make_app(jobs_root, clock=lambda: NOW)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        jobs = screen.table("jobs")
        await pilot.press(*["down"] * 25)
        field = screen.query_one("#filter")
        ids = sorted(jobs.rows)
        lazy = stayed = 0
        for round_, typed in enumerate(["cr", "crunch-01", "c -status:succ", "nightly"]):
            prefixes = [FilterQuery.parse(typed[:end]) for end in range(1, len(typed) + 1)]
            kept = [k for k in jobs.shown_keys() if all(q.matches(jobs._row(k)) for q in prefixes)]
            if len(kept) > 30:
                jobs.move_to_key(kept[30])  # a job every filter typed keeps, far down
            await pilot.press("slash")
            cursor = jobs.cursor_key
            for end in range(1, len(typed) + 1):
                field.value = typed[:end]  # as the keys do (see FilterField), lazily
                lazy += not jobs.counted
            if round_ % 2:  # a poll before the rest was tested: the console's own poll
                for job_id in rng.sample(ids, 20):
                    write_job(jobs_root, job_id, status="FAILED", description="crunched again")
                for job_id in rng.sample(ids, 3):
                    for path in (jobs_root / job_id).iterdir():
                        path.unlink()
                    (jobs_root / job_id).rmdir()
                    ids.remove(job_id)
                write_job(jobs_root, f"crunch-new-{round_}", status="FAILED")
                ids.append(f"crunch-new-{round_}")
                (jobs_root / ids[7] / "job_manifest.json").write_bytes(b"{not json either")
                app._apply(app._poller.poll())
            await settle(pilot)
            query = FilterQuery.parse(typed)
            for name in ("jobs", "triage", "findings"):
                table = screen.table(name)
                natural = sorted(table.rows, key=lambda key: table.rows[key].rank)
                wanted = [key for key in natural if query.matches(table._row(key))]
                assert table.shown_keys() == wanted, (typed, name)
                title = str(screen.query_one(f"#{name}-pane").border_title)
                assert f"{len(table.rows) - len(wanted):,} hidden" in title, (typed, name)
            if cursor in jobs.rows and all(q.matches(jobs._row(cursor)) for q in prefixes):
                assert jobs.cursor_key == cursor, typed  # no filter typed hid its job
                stayed += 1
            await pilot.press("escape")
            await settle(pilot)
            assert jobs.shown_keys() == sorted(jobs.rows, key=lambda key: jobs.rows[key].rank)
            assert "hidden" not in str(screen.query_one("#jobs-pane").border_title)
        assert lazy and stayed  # (some rows were left to test; a cursor's job was kept)


@synchronously
async def test_every_line_whose_drawing_changes_is_repainted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table repaints only the lines that would be drawn otherwise than they were (a
    filter typed further often leaves a pane's lines as they are): after filters typed and
    deleted (tested in two goes too), sorts, polls, new arrivals tagged, marks, cursor moves
    and scrolls, every line whose drawing changed was among those repainted, and some lines
    that did not change were left alone."""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 500)
    rng = random.Random(53)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)):
        table = app.query_one(KeyedTable)
        rows, tagged = _filled(table, rng, 3000)
        repainted: list[Region | None] = []
        refresh = table.refresh

        def recorded(*regions: Region, **options: bool) -> KeyedTable:
            repainted.extend(regions or [None])
            return refresh(*regions, **options)

        table.refresh = recorded  # type: ignore[method-assign]
        height = table.size.height

        def drawn() -> list[list[Segment]]:
            return [list(table.render_line(y)) for y in range(height)]

        numbers = iter(range(3000, 10_000))
        typed = iter("".join(TYPED * 3))
        text = ""

        def type_or_delete() -> None:
            nonlocal text
            text = text[:-1] if rng.random() < 0.3 else text + next(typed)
            table.set_query(FilterQuery.parse(text))

        def poll() -> None:
            nonlocal rows
            rows = _poll_applied(table, rows, rng, next(numbers), 20, 3, tagged)

        def mark() -> None:
            key = table.cursor_key or next(iter(rows))
            table.marks.symmetric_difference_update({key})
            table.marks_changed([key])

        steps = [
            type_or_delete,
            type_or_delete,
            type_or_delete,
            poll,
            mark,
            table._complete,
            table.cycle_sort,
            table.reverse_sort,
            lambda: table.set_query(FilterQuery()),
            lambda: table.set_overlay(
                {k: rows[k].tagged(True) for k in rng.sample(sorted(rows), 30)}
            ),
            table.action_cursor_down,
            table.action_page_down,
            table.action_page_up,
            table.action_first,
            lambda: table.scroll_to(y=rng.randint(0, 60), animate=False, immediate=True),
        ]
        screen = drawn()
        left_alone = 0
        for number in range(400):
            step = rng.choice(steps)
            repainted.clear()
            step()
            now = drawn()
            for y in range(height):
                covered = None in repainted or any(
                    region is not None and region.y <= y < region.bottom for region in repainted
                )
                if now[y] != screen[y]:
                    assert covered, (number, step, text, y)
                left_alone += not covered
            screen = now
        assert left_alone > 100


@synchronously
async def test_a_big_diff_with_orders_at_hand_draws_and_places_what_a_fresh_table_does() -> None:
    """A diff that moves rows, applied with the orders at hand (the console's whole poll),
    leaves no line drawn from a row it changed or removed, and every row where a full sort
    puts it: in natural order, sorted both ways, and filtered (looked at row by row)."""
    rng = random.Random(71)
    app = _JobsHost()
    async with app.run_test(size=(120, 30)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_job(n, rng) for n in range(3000))}
        kept = JobOrders()
        kept.update(rows, {}, list(rows), ())
        table.update_rows(rows, natural=kept.natural)
        numbers = iter(range(3000, 10_000))
        height = table.size.height
        for sort, reverse, text in [
            (None, False, ""),
            (None, True, ""),
            (1, False, ""),
            (3, True, ""),
            (0, False, "crash"),
        ]:
            table.sort_by(sort, reverse=reverse)
            table.set_query(FilterQuery.parse(text))
            for share in (0, 5, 40, 900, 1400):
                previous, rows = rows, dict(rows)
                removed = tuple(rng.sample(sorted(rows), rng.choice([0, 4])))
                for key in removed:
                    del rows[key]
                changed = rng.sample(sorted(rows), share)
                for key in changed:  # the same values but the rank or status: some stay put
                    rows[key] = _job(0, rng, key)
                fresh = _job(next(numbers), rng)
                rows[fresh.key] = fresh
                changed.append(fresh.key)
                columns = frozenset(range(len(JOB_COLUMNS)))
                kept.update(rows, previous, changed, removed, columns)
                descending = {
                    column: descending_order(order, [rows[k].sort_value(column) for k in order])
                    for column, order in kept.orders.items()
                }
                for _ in range(3):
                    table.action_page_down()
                for y in range(height):  # the lines drawn, their strips cached
                    table.render_line(y)
                table.apply_diff(rows, changed, removed, kept.natural, kept.orders, descending)
                incremental = table.shown_keys()
                drawn = [list(table.render_line(y)) for y in range(height)]
                table._strips.clear()
                assert drawn == [list(table.render_line(y)) for y in range(height)], (sort, share)
                table._orders = table._descending_orders = {}
                table._reorder()
                assert incremental == table.shown_keys(), (sort, reverse, text, share)


def _sorted_afresh(table: KeyedTable, column: int, reverse: bool) -> list[str]:
    """Every job sorted from scratch by a column's values: non-empty ones by value (either
    way), ties in natural order, empty cells last in natural order."""
    rows = table.rows
    natural = sorted(rows, key=lambda key: rows[key].rank)
    present = [key for key in natural if rows[key].sort_value(column) is not None]
    absent = [key for key in natural if rows[key].sort_value(column) is None]
    present.sort(key=lambda key: rows[key].sort_value(column), reverse=reverse)  # stable
    return present + absent


@synchronously
async def test_s_shows_what_a_fresh_descending_sort_gives_with_its_order_at_hand_or_not(
    jobs_root: Path,
) -> None:
    """The real console: `S` on each column of the jobs table shows every job as a fresh
    descending sort does (ties in natural order, empty cells last) and a second `S` the
    ascending one, whether the poll worker made that order or the table turns the one
    shown (as when `s` went to a column faster than the worker made its orders); a sort
    while reversed with only the ascending order at hand, the same."""
    statuses = ("PENDING", "SUCCESS", "PAUSED", "FAILED")
    for index in range(30):
        fields: dict[str, object] = {"status": statuses[index % 4]}
        if index % 3:  # ties in cost, and jobs without one (empty cells)
            fields["metrics"] = {"cumulative_cost": float(index % 4)}
        if index % 5 == 0:
            fields["current_phase"] = "transform"
            fields["phases"] = [{"name": "fetch"}, {"name": "transform"}]
        write_job(jobs_root, f"job-{index:02}", **fields)
    app = make_app(jobs_root, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.main_screen.table("jobs")
        for at_hand in ("both", "ascending", "neither"):
            for column in range(len(table.columns)):
                if at_hand == "ascending":  # the descending one made here, while reversed
                    table._descending_orders = {}
                    table.sort_by(column, reverse=True)
                    assert table.shown_keys() == _sorted_afresh(table, column, True), column
                if at_hand == "neither":  # sorted, then turned here
                    table._orders = table._descending_orders = {}
                table.sort_by(column)
                await pilot.press("S")
                assert table.sorting == (column, True)
                assert table.shown_keys() == _sorted_afresh(table, column, True), column
                await pilot.press("S")
                assert table.sorting == (column, False)
                assert table.shown_keys() == _sorted_afresh(table, column, False), column


@synchronously
async def test_the_rows_a_typed_filter_left_are_tested_a_slice_a_turn_and_end_as_one_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the first frame, the rows a typed filter left are tested TESTED_A_PIECE at a
    time, a turn of the event loop as long as TESTING_TURN_S (lowered here: 6,000 rows,
    pieces of 400, one a turn), those after the rows tested first, then those before a cursor
    far down: between turns the rows tested so far are shown in their order with the cursor
    on its job, and nothing on screen changes (the same lines, scrollbar and scroll: no turn
    but the last makes a frame); once all are tested the table shows what the same filter
    from scratch shows."""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 1000)
    monkeypatch.setattr(keyed_table, "TESTED_A_PIECE", 400)
    monkeypatch.setattr(keyed_table, "TESTING_TURN_S", 0.0)
    rng = random.Random(43)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(KeyedTable)
        rows, _ = _filled(table, rng, 6000)
        slices: list[list[str]] = []
        one_slice = table._complete_some

        above: list[int] = []

        def lines() -> list[str]:
            return [table.render_line(y).text for y in range(table.size.height)]

        def watched() -> None:
            slices.append(list(table._keys))
            above.append(table._untested[2] if table._untested else 0)
            height, scroll = table.virtual_size.height, table.scroll_y
            one_slice()
            assert table.cursor_key == cursor_key == table._keys[table._cursor]
            assert lines() == drawn  # (the same rows on the same lines)
            if not table.counted:
                assert (table.virtual_size.height, table.scroll_y) == (height, scroll)

        table._complete_some = watched  # type: ignore[method-assign]
        cases = [(None, False, 3), (2, False, 4000), (3, True, 10), (None, True, 5000)]
        for typed, (sort, reverse, cursor) in zip(TYPED, cases):  # noqa: B905
            table.set_query(FilterQuery())
            table.sort_by(sort, reverse=reverse)
            table._move(cursor)
            everything = table.shown_keys()
            query = FilterQuery.parse(typed[:2])
            table.set_query(query)
            cursor_key, drawn = table.cursor_key, lines()
            wanted = [k for k in everything if query.matches(table._row(k))]
            for _ in range(1000):  # (a turn of the loop a slice, each after a short timer)
                if table.counted:
                    break
                await pilot.pause(0.01)
            assert table.counted, typed
            assert len(slices) > 2, typed  # (5,000 rows and more left: several turns)
            for tested in slices:  # between turns: a window of the whole filter's order
                first = wanted.index(tested[0]) if tested else 0
                assert wanted[first : first + len(tested)] == tested, typed
            assert any(above) == (cursor > 1000), typed  # rows above a cursor far down
            slices.clear()
            above.clear()
            shown = table.shown_keys()
            assert table.cursor_key == cursor_key
            table._passed = _NO_PASS  # the same filter from scratch
            table._reorder()
            assert table.shown_keys() == shown, (typed, sort, reverse)
            assert sorted(shown) == sorted(k for k in rows if query.matches(table._row(k)))


@synchronously
async def test_a_turn_of_a_typed_filter_tests_pieces_until_its_time_is_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A turn ends with the piece that passes TESTING_TURN_S, whatever the rows cost: with a
    stand-in clock a second on at each look and a turn of 2.5 s, each turn tests three pieces
    (the clock is looked at as the turn starts and after each piece); the last turn takes
    what is left and the table then shows what the same filter from scratch shows."""
    ticks = itertools.count()
    monkeypatch.setattr(keyed_table, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 1000)
    monkeypatch.setattr(keyed_table, "TESTED_A_PIECE", 400)
    monkeypatch.setattr(keyed_table, "TESTING_TURN_S", 2.5)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(KeyedTable)
        rows, _ = _filled(table, random.Random(44), 6000)
        one_turn = table._complete_some
        through: list[int] = []

        def watched() -> None:
            one_turn()
            through.append(table._untested[3] if table._untested else len(rows))

        table._complete_some = watched  # type: ignore[method-assign]
        query = FilterQuery.parse(TYPED[0][:2])
        table.set_query(query)
        assert table._untested is not None
        through.append(table._untested[3])
        for _ in range(1000):
            if table.counted:
                break
            await pilot.pause(0.01)
        assert table.counted
        steps = [b - a for a, b in itertools.pairwise(through)]
        assert steps[:-1] == [1200] * (len(steps) - 1)
        assert 0 < steps[-1] <= 1200
        shown = table.shown_keys()
        table._passed = _NO_PASS  # the same filter from scratch
        table._reorder()
        assert table.shown_keys() == shown
        assert sorted(shown) == sorted(k for k in rows if query.matches(table._row(k)))


@synchronously
async def test_a_typed_filter_has_one_turn_to_come_however_fast_it_is_typed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Letters typed while the last one's rows are still tested leave one run of turns, each
    turn after the pause before it: the turns of an earlier letter do not go on beside the
    new ones (they came twice as often, and a key waited for more of them). A pause of 50 ms
    here, one piece a turn: after the new letters' first turn, the turns come 50 ms apart."""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 1000)
    monkeypatch.setattr(keyed_table, "TESTED_A_PIECE", 400)
    monkeypatch.setattr(keyed_table, "TESTING_TURN_S", 0.0)
    monkeypatch.setattr(keyed_table, "SLICE_PAUSE_S", 0.05)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(KeyedTable)
        _filled(table, random.Random(45), 6000)
        one_turn = table._complete_some
        starts: list[float] = []

        def watched() -> None:
            if table._untested is not None:
                starts.append(time.perf_counter())
            one_turn()

        table._complete_some = watched  # type: ignore[method-assign]
        table.set_query(FilterQuery.parse("e"))
        await pilot.pause(0.12)  # (a few turns of the first letter)
        for typed in ("et", "etl"):  # (two letters before a frame)
            table.set_query(FilterQuery.parse(typed))
        starts.clear()  # (the first turn comes after the frame; each other after a pause)
        for _ in range(2000):
            if table.counted:
                break
            await pilot.pause(0.01)
        assert table.counted
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert len(gaps) > 5
        assert min(gaps) >= 0.04, gaps


@synchronously
async def test_a_poll_of_a_few_rows_while_a_typed_filter_is_tested_tests_it_again_lazily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll that changes a few rows, with the natural order at hand, while a typed filter's
    rest is untested: the filter is tested again as when typed, the rows the next frame shows
    first and the rest in turns (testing that rest at once held the loop 40-100 ms at 100,000
    jobs); once tested, the table shows what the same filter from scratch shows on the new
    rows, the cursor on its job if the filter keeps it."""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 1000)
    rng = random.Random(46)
    app = _JobsHost()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(KeyedTable)
        rows, _ = _filled(table, rng, 6000)
        for sort, cursor in ((None, 30), (2, 3000)):
            table.set_query(FilterQuery())
            table.sort_by(sort)
            table._move(cursor)
            query = FilterQuery.parse("e")
            table.set_query(query)
            assert not table.counted
            before = table.cursor_key
            changed = rng.sample(sorted(rows), 5)
            rows = dict(rows)
            for key in changed:
                rows[key] = _job(0, rng, key)
            natural = sorted(rows, key=lambda key: rows[key].rank)
            orders = None
            if sort is not None:
                valued = [key for key in natural if rows[key].sort_value(sort) is not None]
                valued.sort(key=lambda key: rows[key].sort_value(sort))  # (stable)
                orders = {sort: valued + [k for k in natural if k not in set(valued)]}
            table.apply_diff(rows, changed, [], natural, orders)
            assert not table.counted  # (the rest still to test, in turns)
            for _ in range(1000):
                if table.counted:
                    break
                await pilot.pause(0.01)
            assert table.counted
            shown = table.shown_keys()
            if before in rows and query.matches(table._row(before)):
                assert table.cursor_key == before
            table._passed = _NO_PASS  # the same filter from scratch
            table._reorder()
            assert table.shown_keys() == shown
