"""The findings pane's natural order, kept by the poll worker as the findings come and go.

A root moved with its index has a finding per job (100,000 `index-path-mismatch` at 100,000
jobs): the table sorting them by a Python key on the event loop was 70 ms of every whole poll
that made any finding row again. A finding's rank is its severity, then its key (job, then
code: see `finding_row`), and only a finding that came, went or changed severity moves: the
order is kept per severity as a list of keys in plain string order (a sort of strings, or a
`bisect.insort` each when few came, all in C), and handed over whole. The columns the pane
is sorted by (and the next `s` goes to) are kept likewise: made from the natural order by a
stable sort on their values (in slices, as the jobs' orders), then only the rows that moved
in them taken out and put back by binary search on the values (ties by a binary search on
the ranks).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Collection, Iterable, Mapping
from itertools import chain, filterfalse
from operator import itemgetter
from typing import Any, NamedTuple

from .orders import _gathered, _sorted_in_slices
from .rows import Row, descending_order

INSERTED_MAX = 256
"""Up to this many new keys of one severity go in by binary search; more make a new sort
(a sort of keys mostly in order is a few ms at 100,000)."""


_SORT_KEYS = itemgetter(Row._fields.index("sort_keys"))
_RANK = itemgetter(Row._fields.index("rank"))


class Sorted(NamedTuple):
    """One column's order: the keys, their values in it and their ranks (ties' order)."""

    keys: list[str]
    values: list[Any]
    ranks: list[Any]


class FindingOrder:
    """Every finding key in the findings pane's natural order (its rows' `rank`). Lists handed
    out are never changed: an update that moves a key makes new ones."""

    def __init__(self) -> None:
        self._by_severity: dict[int, list[str]] = {}
        """Per severity rank: its keys, sorted (a rank's second part is the key)."""
        self.natural: list[str] = []
        self._columns: dict[int, Sorted] = {}
        """Per column asked for: every key sorted by it (ascending, ties in natural order)."""
        self.orders: dict[int, list[str]] = {}
        """Per column kept (see `update`): every key sorted by it. A new dict only when an
        order changed (the table takes the orders again only then)."""
        self.descending: dict[int, list[str]] = {}
        """The same, descending (ties still in natural order, as `descending_order` makes)."""

    def count(self, severity: int) -> int:
        """How many findings have this severity rank."""
        return len(self._by_severity.get(severity, ()))

    def update(
        self,
        rows: Mapping[str, Row],
        previous: Mapping[str, Row],
        changed: Iterable[str],
        removed: Iterable[str],
        columns: Collection[int] = (),
    ) -> None:
        """Follow a poll: `rows` the new rows, `previous` those the order was made from,
        `changed` the keys new or with another row, `removed` the keys gone; `columns`: the
        columns whose order to keep (others are let go: three lists of every finding each)."""
        changed, removed = list(changed), list(removed)
        self._natural_followed(rows, previous, changed, removed)
        kept = {}
        for column in columns:
            old = self._columns.get(column)
            if old is None:
                kept[column] = self._made(rows, column)
            else:
                kept[column] = self._followed(old, column, rows, previous, changed, removed)
        self._kept(kept)

    def asked(self, rows: Mapping[str, Row], columns: Collection[int]) -> bool:
        """Keep the orders of `columns` (of `rows`, those of the last `update`) and no others;
        whether that made or let go any."""
        if self._columns.keys() == set(columns):
            return False
        old = self._columns
        self._kept({c: old[c] if c in old else self._made(rows, c) for c in columns})
        return True

    def _kept(self, columns: dict[int, Sorted]) -> None:
        """Keep these orders; the ones handed out made again if any changed (a descending
        one only for an order that changed)."""
        old, self._columns = self._columns, columns
        if columns.keys() == old.keys() and all(columns[c] is old[c] for c in columns):
            return
        self.orders = {column: kept.keys for column, kept in columns.items()}
        before = self.descending
        self.descending = {
            column: before[column]
            if old.get(column) is kept and column in before
            else descending_order(kept.keys, kept.values)
            for column, kept in columns.items()
        }

    def _made(self, rows: Mapping[str, Row], column: int) -> Sorted:
        """A column's order from the natural one: a stable sort on plain values, in C calls
        of a few ms each as the jobs' orders are made (`_sorted_in_slices`, `_gathered`: one
        sort of 100,000 findings, in the poll worker, held the GIL 16 ms and more)."""
        keys = self.natural
        found = _gathered(rows.__getitem__, keys)
        values = _gathered(itemgetter(column), _gathered(_SORT_KEYS, found))
        order = _sorted_in_slices(list(range(len(keys))), values.__getitem__, values)
        ranks = _gathered(_RANK, found)
        return Sorted(
            _gathered(keys.__getitem__, order),
            _gathered(values.__getitem__, order),
            _gathered(ranks.__getitem__, order),
        )

    def _followed(
        self,
        old: Sorted,
        column: int,
        rows: Mapping[str, Row],
        previous: Mapping[str, Row],
        changed: list[str],
        removed: list[str],
    ) -> Sorted:
        """`old` with the rows that moved in it (value or rank another, new, gone) taken out
        and put back by binary search; made anew when many did."""
        moved = []
        for key in changed:
            row, before = rows[key], previous.get(key)
            if (
                before is None
                or _SORT_KEYS(before)[column] != _SORT_KEYS(row)[column]
                or before.rank != row.rank
            ):
                moved.append(key)
        if not moved and not removed:
            return old
        if len(moved) + len(removed) > INSERTED_MAX:
            return self._made(rows, column)
        keys, values, ranks = list(old.keys), list(old.values), list(old.ranks)
        for key in chain(removed, moved):
            before = previous.get(key)
            if before is None:
                continue  # (new: nothing to take out)
            at = _place(values, ranks, _SORT_KEYS(before)[column], before.rank)
            del keys[at], values[at], ranks[at]
        for key in moved:
            row = rows[key]
            value = _SORT_KEYS(row)[column]
            at = _place(values, ranks, value, row.rank)
            keys.insert(at, key)
            values.insert(at, value)
            ranks.insert(at, row.rank)
        return Sorted(keys, values, ranks)

    def _natural_followed(
        self,
        rows: Mapping[str, Row],
        previous: Mapping[str, Row],
        changed: list[str],
        removed: list[str],
    ) -> None:
        leaving: dict[int, list[str]] = {}
        coming: dict[int, list[str]] = {}
        for key in removed:
            leaving.setdefault(previous[key].rank[0], []).append(key)
        for key in changed:
            row, before = rows[key], previous.get(key)
            if before is not None:
                if before.rank == row.rank:
                    continue  # (the same key: the same place, unless its severity changed)
                leaving.setdefault(before.rank[0], []).append(key)
            coming.setdefault(row.rank[0], []).append(key)
        if not leaving and not coming:
            return
        by_severity = self._by_severity
        for severity in leaving.keys() | coming.keys():
            keys = by_severity.get(severity, [])
            gone = leaving.get(severity)
            if gone:
                keys = list(filterfalse(set(gone).__contains__, keys))
            new = coming.get(severity, [])
            if len(new) > INSERTED_MAX:
                keys = sorted(chain(keys, new))
            elif new:
                keys = keys.copy() if not gone else keys
                for key in new:
                    insort(keys, key)
            if keys:
                by_severity[severity] = keys
            else:
                by_severity.pop(severity, None)
        self.natural = list(chain.from_iterable(by_severity[s] for s in sorted(by_severity)))


def _place(values: list[Any], ranks: list[Any], value: Any, rank: Any) -> int:
    """Where a row with this value and rank is (or goes) in an order: by value, ties by rank."""
    low = bisect_left(values, value)
    high = bisect_right(values, value, low)
    return bisect_left(ranks, rank, low, high)
