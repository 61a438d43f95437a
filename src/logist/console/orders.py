"""The jobs table's orders, kept by the poll worker: the natural one and one per column.

At 100,000 jobs a sort on the event loop took 85 to 200 ms, so the worker keeps every order
ready and the table only looks one up. A poll that changes some thousand jobs must not cost a
sort of them all either: each order keeps, next to its job ids, the values it is sorted by, so
that the rows that moved are found and put back by binary search in C (`bisect` on the values)
and the new order is spliced from slices of the old one, a few C-level copies.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import compress, repeat
from operator import gt, is_, itemgetter, lt, ne, not_
from typing import Any, NamedTuple

from logist._pace import pace

from .rows import JobRow, sort_value_parts, sort_values

NEW_ORDERS_PER_POLL = 3
"""Columns asked for whose order is made from scratch in one poll (~0.1 s of worker time each
at 100,000 jobs, most of it one sort holding the GIL). Those not asked for are not made: made
ahead, four of them were ~0.5 s of the two polls after the whole root was on screen, while
keys were pressed; the app asks for the columns the next two `s` go to."""
SPLICE_MAX_SHARE = 4
"""More than 1/SPLICE_MAX_SHARE of the rows moved: a new order, not a splice."""
SORT_SLICE = 8_192
"""Items in one C call of an order made from scratch (see `_sorted_in_slices`)."""
SPLICE_STEP = 1_024
"""Moved rows a splice places between two looks at `pace` (a few ms of Python calls)."""

_RANK = JobRow.RANK
_KEY = JobRow.KEY
_rank_of = sort_value_parts(_RANK)


class Sorted(NamedTuple):
    """One order: the job ids, and the values of their non-empty cells (first, in the same
    order; the natural order's: its keys). Ties, and the empty cells, are in order of their
    rows' ranks: a row compares with another job's as its rank (`JobRow.RANK`), so the rows
    the order was made from are what its bisections look at (no list of ranks: 100,000 rank
    tuples were 6.4 MB)."""

    keys: list[str]
    values: list[Any]


class JobOrders:
    """Every job id in the natural order and sorted by each column asked for (ascending, empty
    cells last, ties in natural order). Lists handed out are never changed: an update makes new
    ones (the table keeps the old ones until it takes the new)."""

    def __init__(self) -> None:
        self._natural = Sorted([], [])
        self._columns: dict[int, Sorted] = {}
        """Per column of the jobs table but the natural one, for the columns asked for."""

    @property
    def natural(self) -> list[str]:
        return self._natural.keys

    @property
    def orders(self) -> dict[int, list[str]]:
        """Per column of the jobs table, for the columns made so far (see `update`)."""
        return {
            column: self._natural.keys if position == _RANK else self._columns[column].keys
            for column, position in enumerate(JobRow.SORT_FIELDS)
            if position == _RANK or column in self._columns
        }

    def values(self, column: int) -> list[Any]:
        """The non-empty values of a column's order, in its order (what `descending_order`
        finds the runs of ties in)."""
        if JobRow.SORT_FIELDS[column] == _RANK:
            return self._natural.values
        return self._columns[column].values

    def update(
        self,
        rows: Mapping[str, JobRow],
        previous: Mapping[str, JobRow],
        changed: Sequence[str],
        removed: Sequence[str],
        wanted: frozenset[int] = frozenset(),
    ) -> None:
        """Follow a poll: `rows` are the new rows, `previous` the ones the orders were made
        from, `changed` the jobs new or with another row, `removed` the jobs gone.

        The natural order and the `wanted` columns' (the one on screen and the next two `s`
        goes to) follow: a few moved rows are spliced in, many make a new order. A column whose
        values and ranks did not change keeps its lists. A column no longer asked for is let go
        (three lists of every job, 2.4 MB at 100,000 jobs: kept for every column visited, they
        were 14 MB of the console's memory); made again when asked for again. At most
        NEW_ORDERS_PER_POLL orders a poll are made that were not there, none in a poll that
        changed most rows (the first): it is not delayed by them. A natural order made anew
        makes the job id column's with it (its first sort is by job id)."""
        most = len(rows) // SPLICE_MAX_SHARE
        # new jobs are moved ones: that many at least (every row of a first poll) make the
        # orders anew without a look at each changed row
        renewed = not self._natural.keys or len(rows) - len(previous) > most
        moved = list(changed) if renewed else _moved(rows, previous, changed, _RANK)
        by_id = None
        if renewed or len(moved) > most:
            # in slices but at the first poll (nothing on screen yet: the whole root sooner)
            self._natural, by_id = _made_natural(rows, in_slices=bool(self._natural.keys))
        elif moved or removed:
            self._natural = _spliced(self._natural, _RANK, rows, previous, moved, removed)
        columns: dict[int, Sorted] = {}
        budget = NEW_ORDERS_PER_POLL if len(changed) <= most else 0
        for column, position in enumerate(JobRow.SORT_FIELDS):
            if position == _RANK:
                continue
            if position == _KEY and by_id is not None:
                columns[column] = by_id  # made with the natural order, for nothing more
                continue
            old = self._columns.get(column)
            if column not in wanted:
                continue
            pace()  # a key on the event loop first (an order is ms to tens of ms of C calls)
            if old is not None:
                since: dict[str, JobRow | None] = {}
                for key in (*moved, *_moved(rows, previous, changed, position, moved)):
                    since.setdefault(key, previous.get(key))
                for key in removed:
                    since.setdefault(key, previous[key])
                if not since:
                    columns[column] = old
                elif len(since) <= most:
                    columns[column] = _caught_up(old, position, rows, previous, since)
                else:  # too many moved: made anew
                    columns[column] = _made(self._natural, rows, position)
                continue
            if budget:
                budget -= 1
                columns[column] = _made(self._natural, rows, position)
        self._columns = columns


def _moved(
    rows: Mapping[str, JobRow],
    previous: Mapping[str, JobRow],
    changed: Sequence[str],
    position: int,
    already: Sequence[str] = (),
) -> list[str]:
    """The changed jobs that are new or whose sort value `position` may have changed (what it
    is made of did; less `already`)."""
    skip = set(already)
    parts = sort_value_parts(position)
    return [
        key
        for key in changed
        if key not in skip
        and ((before := previous.get(key)) is None or parts(before) != parts(rows[key]))
    ]


def _caught_up(
    old: Sorted,
    position: int,
    rows: Mapping[str, JobRow],
    previous: Mapping[str, JobRow],
    since: dict[str, JobRow | None],
) -> Sorted:
    """`old` (made from `previous`) with the jobs that moved since (`since`: their rows then,
    None for new ones) moved."""
    parts = sort_value_parts(position)
    moved = [
        key
        for key, before in since.items()
        if key in rows
        and (
            before is None
            or parts(before) != parts(row := rows[key])
            or _rank_of(before) != _rank_of(row)
        )
    ]
    gone = [key for key, before in since.items() if before is not None and key not in rows]
    return _spliced(old, position, rows, previous, moved, gone)


def _made_natural(rows: Mapping[str, JobRow], *, in_slices: bool) -> tuple[Sorted, Sorted]:
    """The natural order made from scratch, and the job id column's, which its first sort
    gives (job ids are unique and never empty: ties and empty cells do not arise). One
    C-level sort of plain values each: a sort by the rank tuples took twice as long as three
    by their parts. `in_slices`: each sort and pass by C calls of a few ms (see
    `_sorted_in_slices`), else one call each (less CPU, a longer hold of the GIL)."""
    sort = _sorted_in_slices if in_slices else _sorted_at_once
    gather = _gathered if in_slices else _gathered_at_once
    keys = list(rows)
    found = list(rows.values())
    # by job id, then by activity, then by verdict: stable sorts, so (verdict, activity, id)
    # (a root listed in id order or its reverse, as tmpfs lists a root made in id order:
    # the sort by id is no sort)
    if _in_order(keys, lt):
        order, ids = list(range(len(keys))), keys
    elif _in_order(keys, gt):
        order, ids = list(range(len(keys) - 1, -1, -1)), keys[::-1]
    else:
        order = sort(list(range(len(keys))), keys.__getitem__, keys)
        ids = gather(keys.__getitem__, order)
    by_id = Sorted(ids, ids)
    for part in (JobRow.RANK_ACTIVITY, JobRow.VERDICT):
        values = gather(itemgetter(part), found)
        order = sort(order, values.__getitem__, values)
    natural = gather(keys.__getitem__, order)
    return Sorted(natural, natural), by_id


def _in_order(keys: list[str], before: Callable[[str, str], bool]) -> bool:
    """Whether each of `keys` is `before` the next (`lt`: strictly increasing, `gt`: strictly
    decreasing), by C-level passes of SORT_SLICE keys (a sort of 100,000 ids in slices is ~15
    ms; this ~2 ms, and stops at the first pair out of order)."""
    for start in range(0, len(keys) - 1, SORT_SLICE):
        end = start + SORT_SLICE
        if not all(map(before, keys[start:end], keys[start + 1 : end + 1])):
            return False
        pace()
    return True


def _sorted_at_once(
    items: list[Any], key: Callable[[Any], Any], values: list[Any] | None = None
) -> list[Any]:
    return sorted(items, key=key)


def _gathered_at_once(getter: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return list(map(getter, items))


def _made(natural: Sorted, rows: Mapping[str, JobRow], position: int) -> Sorted:
    """An order made from scratch: the natural one's rows sorted by the field (a column's),
    empty cells last (see `_made_natural`). Each pass over the rows a slice of SORT_SLICE at
    a time, the worker stepping aside between two for a key (a pass over 100,000 in one C
    call held the GIL 2-5 ms, and six of them came one after another)."""
    keys = natural.keys
    present_keys: list[str] = []
    values: list[Any] = []
    absent_keys: list[str] = []
    for start in range(0, len(keys), SORT_SLICE):
        piece = keys[start : start + SORT_SLICE]
        piece_values = list(sort_values(map(rows.__getitem__, piece), position))
        missing = list(map(is_, piece_values, repeat(None)))
        if any(missing):
            present = list(map(not_, missing))
            absent_keys += compress(piece, missing)
            present_keys += compress(piece, present)
            values += compress(piece_values, present)
        else:
            present_keys += piece
            values += piece_values
        pace()
    # stable: ties in natural order
    order = _sorted_in_slices(list(range(len(values))), values.__getitem__, values)
    return Sorted(
        [*_gathered(present_keys.__getitem__, order), *absent_keys],
        _gathered(values.__getitem__, order),
    )


def _gathered(getter: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """`list(map(getter, items))`, a slice of SORT_SLICE at a time (one C call over 100,000
    items held the GIL 3-10 ms), the worker stepping aside between two for a key."""
    if len(items) <= SORT_SLICE:
        return list(map(getter, items))
    gathered: list[Any] = []
    for start in range(0, len(items), SORT_SLICE):
        gathered += map(getter, items[start : start + SORT_SLICE])
        pace()
    return gathered


def _sorted_in_slices(
    items: list[Any], key: Callable[[Any], Any], values: list[Any] | None = None
) -> list[Any]:
    """`sorted(items, key=key)`, the very same list, by C calls that each hold the GIL a few
    ms (one sort of 100,000 held it 16 ms, and 40-110 ms on a loaded machine: the longest wait
    of the event loop in a tick that brings an order). Slices of SORT_SLICE are sorted one by
    one, then cut by the same values (pivots sampled from them) into buckets: a bucket holds
    every item of its range of values, the slices' pieces in the order of the slices, and is
    sorted alone (its pieces are sorted runs: merged). Equal values are in one bucket, each
    piece keeps the order of its slice and the sort is stable, so ties keep the order of
    `items`, as one stable sort does. ~1.6-1.9x the CPU of one sort. Values that are not
    equal to themselves (a NaN cost in a manifest) order nothing consistently: then one sort,
    as before, for exactly its order. `values`: the keys of every item, in any order (`key`
    is `values.__getitem__` over indexes into it), looked at for those as they are (gathered
    through `key` they were 100,000 calls more a sort)."""
    if len(items) <= SORT_SLICE:
        return sorted(items, key=key)
    keyed = _gathered(key, items) if values is None else values
    for start in range(0, len(keyed), SORT_SLICE):
        part = keyed[start : start + SORT_SLICE]
        if any(map(ne, part, part)):
            return sorted(items, key=key)
        pace()
    del keyed
    runs = []
    for start in range(0, len(items), SORT_SLICE):
        runs.append(sorted(items[start : start + SORT_SLICE], key=key))
        pace()
    step = max(1, SORT_SLICE // 16)
    sample = sorted([key(run[at]) for run in runs for at in range(0, len(run), step)])
    every = max(1, len(sample) // len(runs))
    pivots = sample[every::every]
    cuts = [[bisect_left(run, pivot, key=key) for pivot in pivots] + [len(run)] for run in runs]
    ordered: list[Any] = []
    starts = [0] * len(runs)
    for bucket in range(len(pivots) + 1):
        piece: list[Any] = []
        for number, run in enumerate(runs):
            end = cuts[number][bucket]
            piece += run[starts[number] : end]
            starts[number] = end
        ordered += sorted(piece, key=key)
        pace()
    return ordered


def _spliced(
    old: Sorted,
    position: int,
    rows: Mapping[str, JobRow],
    previous: Mapping[str, JobRow],
    moved: list[str],
    removed: Sequence[str],
) -> Sorted:
    """`old` (made from the `previous` rows) without the `removed` and `moved` jobs (at the
    places of their previous rows, if any) and with the moved ones where their new rows
    belong: each found by bisection on the values (ties, and empty cells, by a bisection on
    the previous rows of the keys, which compare as their ranks), all in C; then the new
    lists put together from slices of the old ones."""
    keys, values = old
    natural = position == _RANK
    present, end = len(values), len(keys)
    row_of = previous.__getitem__

    def place(value: Any, rank: tuple[Any, ...]) -> int:
        """Where a row with this value and rank is in (or goes into) the old order. A rank
        (three fields) is below its own job's row there (the row is longer), as below an
        equal rank: bisect_left finds the place of that row."""
        if natural:
            return bisect_left(keys, rank, key=row_of)
        if value is None:
            return bisect_left(keys, rank, present, end, key=row_of)
        low = bisect_left(values, value)
        if low == present or values[low] != value:
            return low  # no tie: one bisection (most values of most columns)
        if low + 1 == present or values[low + 1] != value:
            return low if rank <= row_of(keys[low]) else low + 1
        return bisect_left(keys, rank, low, bisect_right(values, value, low + 1), key=row_of)

    # placed SPLICE_STEP rows at a time, `pace()` between (a whole poll's 20,000 moved rows
    # were 50-100 ms of the worker competing for the GIL with a key on the event loop)
    before = [row for row in map(previous.get, (*moved, *removed)) if row is not None]
    cuts: list[int] = []
    for piece in _pieces(before):
        cuts += map(place, sort_values(piece, position), map(_rank_of, piece))
        pace()
    cuts.sort()
    del before
    now = list(map(rows.__getitem__, moved))
    # in the order they go in: by place, then as the order sorts (non-empty first: the place
    # doubled, plus one for an empty cell; by value, by rank; values at one place are alike,
    # compared only when not equal). A row stands for its rank there: two are of two jobs,
    # told apart by their first three fields. Three fields an entry: at 20,000 moved rows
    # five and a rank tuple each were ~3 MB more of the poll's peak
    added: list[tuple[int, Any, JobRow]] = []
    for piece in _pieces(now):
        added += (
            (place(value, _rank_of(row)) * 2 + (value is None), value, row)
            for value, row in zip(sort_values(piece, position), piece, strict=True)
        )
        pace()
    added.sort()
    del now
    new_keys: list[str] = []
    new_values: list[Any] = new_keys if natural else []
    start = 0
    # the places cut and added merged (at one place the added rows come before the old row
    # there, which may be cut), not a list of both sorted: at 20,000 moved rows its tuples
    # were ~3.5 MB of the poll's peak, left as holes in pymalloc's pools once freed
    next_cut = iter(cuts)
    cut = next(next_cut, end)

    def keep_until(at: int) -> None:
        """The old entries from `start` up to place `at`, less those cut."""
        nonlocal start, cut
        while cut < at:
            if cut > start:
                new_keys.extend(keys[start:cut])
                if not natural:
                    new_values.extend(values[start:cut])
            start = cut + 1
            cut = next(next_cut, end)
        if at > start:
            new_keys.extend(keys[start:at])
            if not natural:
                new_values.extend(values[start:at])
            start = at

    for piece in _pieces(added):
        for doubled, value, row in piece:
            keep_until(doubled >> 1)
            new_keys.append(row[_KEY])
            if not doubled & 1 and not natural:
                new_values.append(value)
        pace()
    keep_until(end)
    return Sorted(new_keys, new_values)


def _pieces(items: list[Any]) -> Iterator[list[Any]]:
    """`items` in slices of SPLICE_STEP."""
    for start in range(0, len(items), SPLICE_STEP):
        yield items[start : start + SPLICE_STEP]
