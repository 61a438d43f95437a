"""The jobs table's filter tested in the poll worker (`job_filter.prefilter`): it keeps what the
filter language keeps, and a table that takes a poll with it shows what a table filtering
afresh shows (rows, order, cursor, lines drawn), in every order; one made for another filter
or other rows is not used."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import write_job
from logist.console import job_filter
from logist.console.job_filter import Prefiltered, prefilter, worker_can_test
from logist.console.orders import JobOrders
from logist.console.rows import JOB_COLUMNS, JobRow, descending_order
from logist.console.widgets import keyed_table
from logist.console.widgets.keyed_table import _NO_PASS, KeyedTable, _refinement
from logist.core import FilterQuery

from .support import NOW, make_app, refresh, settle, synchronously
from .test_keyed_table import QUERIES, _job, _JobsHost, _mixed_root


def _afresh(table: KeyedTable) -> list[str]:
    """The order the table shows, made from scratch: every row tested, no order at hand."""
    table._orders = table._descending_orders = {}
    table._natural = None
    table._prefiltered = None
    table._passed = _NO_PASS
    table._reorder()
    return table.shown_keys()


def _orders(rows: dict[str, JobRow]) -> tuple[list[str], dict[int, list[str]]]:
    """The natural order and every column's ascending order, as a sort from scratch gives."""
    natural = sorted(rows, key=lambda key: rows[key].rank)
    orders = {}
    for column in range(len(JOB_COLUMNS)):
        present = [k for k in natural if rows[k].sort_value(column) is not None]
        absent = [k for k in natural if rows[k].sort_value(column) is None]
        orders[column] = sorted(present, key=lambda k: rows[k].sort_value(column)) + absent
    return natural, orders


def test_the_worker_keeps_what_the_filter_language_keeps_in_every_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(job_filter, "STEP", 7)  # passes of a few rows: the slices joined
    rng = random.Random(3)
    rows = {row.key: row for row in (_job(n, rng) for n in range(500))}
    natural, orders = _orders(rows)
    tested = 0
    for text in QUERIES:
        query = FilterQuery.parse(text)
        if not worker_can_test(query):
            assert not query or any(name == "is" for _, name, _ in query.terms)
            with pytest.raises(ValueError):
                prefilter(query, rows, [natural])
            continue
        sources = [natural, orders[3], natural, orders[5][::-1], None]
        made = prefilter(query, rows, sources)
        assert made.query == query and made.rows is rows
        assert made.passing == [key for key in rows if query.matches(rows[key])], text
        assert [source for source, _ in made.orders] == [natural, orders[3], orders[5][::-1]]
        assert made.orders[0][0] is natural  # (by identity: the table looks them up so)
        for source, kept in made.orders:
            assert kept == [key for key in source if query.matches(rows[key])], text
        tested += 1
    assert tested >= 8


@synchronously
async def test_a_big_diff_with_the_workers_filter_shows_what_a_fresh_table_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whole polls changing many rows while a filter is on, applied with the filter the worker
    tested (or one the table's filter refines, typed further since; or one made for another
    filter or other rows, or none), some while the rows a typed filter left were still
    untested: the order, the cursor's job and the lines drawn are those of a table that
    filters from scratch. (TESTED_AT_ONCE lowered: 3,000 rows are tested in two goes.)"""
    monkeypatch.setattr(keyed_table, "TESTED_AT_ONCE", 200)
    rng = random.Random(29)
    app = _JobsHost()
    async with app.run_test(size=(120, 30)):
        table = app.query_one(KeyedTable)
        rows = {row.key: row for row in (_job(n, rng) for n in range(3000))}
        kept = JobOrders()
        kept.update(rows, {}, list(rows), ())
        table.update_rows(rows, natural=kept.natural)
        tagged = set(rng.sample(sorted(rows), 40))  # new arrivals, left as they are
        table.set_overlay({key: rows[key].tagged(True) for key in tagged})
        numbers = iter(range(3000, 10_000))
        height = table.size.height
        used = refined = 0
        for sort, reverse, text, made_for in [
            (None, False, "crash", "same"),
            (None, True, "-verdict:done status:pend", "same"),
            (1, False, "etl", "same"),
            (3, True, "crash", "same"),
            (5, False, "status:exec,succ clickstream", "same"),
            (6, True, "-crash", "same"),
            (0, False, "crash", "other query"),
            (None, False, "etl", "other rows"),
            (3, False, "is:new", "none"),
            (None, False, "crash", "none"),
            (None, True, "crash", "cr"),
            (2, False, "-verdict:done status:pend", "-verdict:done status:p"),
            (4, True, "status:exec,succ clickstream", "status:e,succ"),
            (0, False, "etl is:new", "etl"),
            (None, False, "-crash", "crash"),
        ]:
            table.sort_by(sort, reverse=reverse)
            query = FilterQuery.parse(text)
            table.set_query(query)
            for share in (40, 160, 900, 1400):
                previous, rows = rows, dict(rows)
                removed = tuple(rng.sample(sorted(rows.keys() - tagged), rng.choice([0, 20])))
                for key in removed:
                    del rows[key]
                changed = rng.sample(sorted(rows.keys() - tagged), share)
                for key in changed:  # other values, or the same but the rank or status
                    rows[key] = _job(0, rng, key)
                fresh = _job(next(numbers), rng)
                rows[fresh.key] = fresh
                changed.append(fresh.key)
                kept.update(rows, previous, changed, removed, frozenset(range(len(JOB_COLUMNS))))
                descending = {
                    column: descending_order(order, [rows[k].sort_value(column) for k in order])
                    for column, order in kept.orders.items()
                }
                shown = []
                if sort is not None:
                    shown = [kept.orders[sort], descending[sort]]
                pre: Prefiltered | None = None
                if made_for == "same":
                    pre = prefilter(query, rows, [kept.natural, *shown])
                elif made_for == "other query":
                    pre = prefilter(FilterQuery.parse("etl"), rows, [kept.natural, *shown])
                elif made_for == "other rows":
                    pre = prefilter(query, previous, [kept.natural, *shown])
                elif made_for != "none":  # a filter typed before this one
                    pre = prefilter(FilterQuery.parse(made_for), rows, [kept.natural, *shown])
                if share in (160, 1400):  # typed again: the rest tested after the frame
                    table.set_query(FilterQuery())
                    table.set_query(query)
                    assert not table.counted
                table.action_page_down()
                for y in range(height):  # the lines drawn, their strips cached
                    table.render_line(y)
                cursor = table.cursor_key
                table.apply_diff(rows, changed, removed, kept.natural, kept.orders, descending, pre)
                if pre is not None and pre.rows is rows and pre.query == query:
                    assert table._passed[3] is pre.passing  # (taken, not tested again)
                    used += 1
                elif pre is not None and pre.rows is rows and _refinement(pre.query, query):
                    refined += 1
                incremental = table.shown_keys()
                drawn = [list(table.render_line(y)) for y in range(height)]
                if cursor in incremental:
                    assert table.cursor_key == cursor, (sort, text, share)
                table._strips.clear()
                assert drawn == [list(table.render_line(y)) for y in range(height)], (sort, share)
                assert incremental == _afresh(table), (sort, reverse, text, made_for, share)
                assert sorted(incremental) == sorted(
                    key for key in rows if query.matches(table._row(key))
                )
        assert used == 24
        assert refined == 16


@synchronously
async def test_a_whole_poll_with_a_filter_on_shows_what_a_filter_from_scratch_shows(
    jobs_root: Path,
) -> None:
    """The real app on a real root: with a filter on, a whole poll that rewrote many manifests
    (and removed and added jobs) has the worker test the filter, and the jobs pane shows
    what the filter keeps of every row, in natural order and sorted both ways; a filter
    typed after the worker read it is tested by the table (the worker's is not used)."""
    rng = random.Random(61)
    _mixed_root(jobs_root, 600, rng)
    app = make_app(jobs_root, clock=lambda: NOW)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        jobs = screen.table("jobs")
        ids = sorted(jobs.rows)
        taken = 0
        for number, (sorts, typed, later) in enumerate(
            [
                (0, "crunch", None),
                (2, "-status:succ backfill", None),
                (3, "nightly", None),
                (0, "cr", "crunch"),
            ]
        ):
            await pilot.press(*"s" * sorts, "slash", *typed, "enter")
            await settle(pilot)
            for job_id in rng.sample(ids, 120):
                if (jobs_root / job_id / "job_manifest.json").exists():
                    status = rng.choice(["FAILED", "SUCCESS", "PENDING"])
                    write_job(jobs_root, job_id, status=status, description="crunched again")
            for job_id in rng.sample(ids, 3):
                for path in (jobs_root / job_id).iterdir():
                    path.unlink()
                (jobs_root / job_id).rmdir()
                ids.remove(job_id)
            write_job(jobs_root, f"crunch-new-{number}", status="FAILED")
            ids.append(f"crunch-new-{number}")
            cursor = jobs.cursor_key
            if later is None:  # the console's own whole poll
                await refresh(pilot)
                pre = jobs._prefiltered
                assert pre is not None and pre.rows is jobs.rows
                assert len(pre.orders) == (1 if jobs.sorting[0] is None else 3)
            else:  # a filter typed further while the poll's result was on its way
                result = app._poller.poll()
                pre = result.jobs_prefiltered
                assert pre is not None and pre.rows is result.jobs
                await pilot.press("slash", *later[len(typed) :], "enter")
                await settle(pilot)
                app._apply(result)
                await settle(pilot)
            assert pre.query == FilterQuery.parse(typed)
            query = FilterQuery.parse(later or typed)
            taken += jobs._passed[3] is pre.passing
            for reverse in (False, True):
                if reverse:
                    await pilot.press("S")
                natural = sorted(jobs.rows, key=lambda key: jobs.rows[key].rank)
                column, backwards = jobs.sorting
                assert backwards is reverse
                if column is not None:
                    present = [k for k in natural if jobs.rows[k].sort_value(column) is not None]
                    absent = [k for k in natural if jobs.rows[k].sort_value(column) is None]
                    present.sort(key=lambda k: jobs.rows[k].sort_value(column), reverse=reverse)
                    natural = present + absent
                elif reverse:
                    natural.reverse()
                wanted = [key for key in natural if query.matches(jobs._row(key))]
                assert jobs.shown_keys() == wanted, (typed, reverse)
                title = str(screen.query_one("#jobs-pane").border_title)
                assert f"{len(jobs.rows) - len(wanted):,} hidden" in title, typed
            if cursor in jobs.rows and query.matches(jobs._row(cursor)):
                assert jobs.cursor_key == cursor, typed
            await pilot.press("S", "escape")
            await settle(pilot)
            assert app._poller.jobs_filter == FilterQuery()
            assert jobs._prefiltered is None  # (not kept past its filter)
        assert taken == 3  # (the last poll's filter was typed further: not taken)
