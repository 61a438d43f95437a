"""The keyed table: rows moved one by one end where a full sort puts them, in every order."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult

from logist.console.rows import Column, Row
from logist.console.widgets.keyed_table import KeyedTable
from logist.core import FilterQuery

from .support import synchronously

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
