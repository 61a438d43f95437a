"""A table keyed by job, drawn with the line API: only the visible lines are ever rendered.

Why not DataTable: at 10,000 rows it costs seconds to fill, a relayout per removed row, and a
repaint of the whole table per changed cell, and its cursor is a row position (after a sort it
silently points at another job). Here the rows live in a dict (at 100,000 jobs the poller's own,
adopted as it is: a poll hands over the keys that changed, not a new table), the visible order
is a list of keys recomputed only when filter, sort or membership changes, the cursor is a key,
and an update repaints only the lines of rows whose shown values changed. Columns have fixed
widths (one or more columns share what is left), so nothing is ever measured.

Every pass over all rows on the event loop is a chain of C-level calls (`map`, `compress`,
`sorted` on precomputed values): a filter or a sort of 100,000 jobs is tens of ms, not the
second a Python call per row costs. The natural order of a big table comes from the poller.

Cells are plain segments: untrusted text is never parsed as markup.
"""

from __future__ import annotations

import contextlib
import math
import operator
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from itertools import compress, filterfalse, repeat
from operator import itemgetter
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from logist.core import FilterQuery, is_glob

from ..job_filter import Prefiltered, big_diff
from ..job_filter import job_filter as _job_filter
from ..job_filter import narrow as _narrow
from ..rows import Column, JobRow, Row, descending_order, sort_values
from ..text import age_since
from .lean import LeanLines, LeanScrollBars
from .quiet import QuietScrolling

MARK = "●"
GAP = 1
MARK_WIDTH = 2
REPOSITION_MAX = 200
"""Up to this many moved rows (and at most 5% of the table) are put back one by one; more are
re-sorted (filter and sort are C-level passes; one by one is a Python bisect each)."""

AnyRow = Row | JobRow
Term = tuple[bool, str | None, tuple[str, ...]]
"""One term of a `FilterQuery`: (negated, facet name or None for free text, values)."""
_Pass = tuple[FilterQuery, Mapping[str, AnyRow], dict[str, AnyRow], list[str]]
_NO_PASS: _Pass = (FilterQuery(), {}, {}, [])
_Untested = tuple[FilterQuery, list[str], int, int, list[str]]
_Unfiltered = tuple[Mapping[str, AnyRow], dict[str, AnyRow], int | None, bool, list[str], int]
_Turn = tuple[Mapping[str, AnyRow], int, bool, list[str], list[Any] | None, list[str] | None]
FIRST_CHUNK = 128
"""Rows a typed filter tests past the cursor's before the first frame (then twice as many
each time up to TESTED_A_PIECE, until the screen is full: doubling on, a filter that lets
few rows through tested up to twice the rows it needed); the rest after that frame."""
TESTED_AT_ONCE = 20_000
"""Up to this many rows a typed filter tests all at once (at 10,000 jobs a few ms): the
counts in the titles come in the same frame, not in a second one."""
ROWS_TESTED_AT_ONCE = 2_000
"""The same for the triage and findings panes, whose rows cost more to test (a facet term is
a Python call per row; ~1 µs a row: 6,000 triage rows at 100,000 jobs were ~6 ms a key)."""
TESTED_A_PIECE = 2_048
"""Rows a typed filter tests between two looks at the clock once its first frame is out
(2-4 ms at 100,000 jobs); what needs them all (a sort, a poll, a cursor jump) tests what is
left at once."""
TESTING_TURN_S = 0.010
"""How long one turn of the event loop tests such pieces (the turn ends with the piece that
passes it). A count of rows a turn did not hold: 16,384 rows took 22-33 ms at 100,000 jobs
after a whole poll had brought new rows (visited in the order shown, scattered in memory:
1.5 us a row against 1 on a fresh root), and a key pressed then waited for the turn (81 ms
once, against a budget of 50). Turns of 3 ms (pieces of 1,024) were ~35 for a letter, which
was not done when the next came 0.3 s later: the letters' keys took more, not less (90th
percentile 27 ms against 19 with 10 ms turns, `console_bench.py` at 100,000 jobs)."""
SLICE_PAUSE_S = 0.002
"""Between two such turns: the event loop's other tasks run."""
AGE_MARGIN_S = 0.01
"""A drawn age is looked at again this much before its text may change (`age_since`): more
than the float rounding of the times it is worked out from."""
_Drawn = tuple[Strip, tuple[str, ...], float]
"""A row's strip, the age texts drawn in it, and the time up to which they stand."""


@lru_cache(maxsize=256)
def _style(name: str) -> Style:
    return Style.parse(name) if name else Style()


def _fit(text: str, width: int, right: bool) -> str:
    """Pad or cut `text` to exactly `width` cells, with an ellipsis when cut."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else "…"
    if length == width:
        return text
    padding = " " * (width - length)
    return padding + text if right else text + padding


def _refinement(before: FilterQuery, after: FilterQuery) -> FilterQuery | None:
    """The terms of `after` still to test on the rows `before` lets through, when `after` can
    only let fewer through (a first term, a term typed further, a term added: what typing a
    filter does); None when it may let others through (a character deleted, a negated or glob
    term changed). From no filter at all every row is tested, but the rows shown are already
    in their order: a sort without its order at hand is not done again."""
    if len(after.terms) < len(before.terms):
        return None
    tested = []
    for position, term in enumerate(after.terms):
        if position < len(before.terms):
            if term == before.terms[position]:
                continue
            if not _narrows(before.terms[position], term):
                return None
        tested.append(term)
    return FilterQuery(after.text, tuple(tested))


def _narrows(before: Term, after: Term) -> bool:
    """Whether every row `after` lets through `before` lets through too: free text that
    contains the old text, or a facet whose every value extends one of the old values (facets
    match by prefix). Negated, glob and `is:` terms only when unchanged."""
    negated, name, values = before
    if negated or after[0] or after[1] != name or name == "is":
        return False
    if any(map(is_glob, values + after[2])):
        return False
    if name is None:
        return values[0] in after[2][0]
    return all(value.startswith(values) for value in after[2])


def _row_filter(query: FilterQuery, keys: list[str], rows: list[Row]) -> list[str]:
    """`FilterQuery.matches` over many rows: free-text terms (what typing a filter makes) in
    one C-level pass each, the others row by row (the triage and findings panes hold
    thousands of rows at 100,000 jobs: a Python call per row per term was 40 ms a keystroke)."""
    for negate, name, values in query.terms:
        if name is None and not is_glob(values[0]):
            hits: Iterable[object] = map(
                str.__contains__, map(_row_search, rows), repeat(values[0])
            )
        else:
            term = FilterQuery(query.text, ((False, name, values),))
            hits = map(term.matches, rows)
        keys, rows = _narrow(keys, rows, hits, negate)
    return keys


def _index_of(keys: list[str], key: str) -> int | None:
    """Where `key` is in `keys`, None if nowhere (C-level; callers that know where it was
    look there first: among 100,000 keys scattered in memory a scan is up to ~10 ms)."""
    with contextlib.suppress(ValueError):
        return keys.index(key)
    return None


_row_search = itemgetter(Row._fields.index("search"))
_row_sort_keys = itemgetter(Row._fields.index("sort_keys"))


class KeyedTable(LeanLines, LeanScrollBars, QuietScrolling, ScrollView, can_focus=True):
    """Rows by key, a filter, a sort, a cursor that follows its key, and marks shared by job."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES = {
        "keyed-table--header",
        "keyed-table--cursor",
        "keyed-table--cursor-blurred",
        "keyed-table--mark",
        "keyed-table--placeholder",
    }

    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .keyed-table--header { text-style: bold; background: $panel; }
        & > .keyed-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .keyed-table--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .keyed-table--mark { color: $accent; text-style: bold; }
        & > .keyed-table--placeholder { color: $text-muted; text-style: italic; }
    }
    """

    class CursorMoved(Message):
        """The job under the cursor changed (not merely its position)."""

        def __init__(self, table: KeyedTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class Counted(Message):
        """A filter typed was tested on every row: the count of rows shown is known."""

        def __init__(self, table: KeyedTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(
        self,
        *,
        columns: tuple[Column, ...],
        marks: set[str],
        placeholder: str = "",
        clock: Callable[[], float] = time.time,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = columns
        self.marks = marks
        """The app's set of marked job ids (shared by every table, never replaced)."""
        self.placeholder = placeholder
        self.clock = clock
        """The time ages are drawn at (the app's: a test's frozen clock draws the same ages)."""
        self._aged = tuple(index for index, column in enumerate(columns) if column.age)
        """The age columns, drawn from the rows' activity times (see `Column.age`)."""
        self._now = clock()
        """The time of the frame being drawn (one for all its lines)."""
        self._ages_looked_at = self._now
        """When `show_ages` last looked (a clock that went back: every line looked at)."""
        self._rows: Mapping[str, AnyRow] = {}
        """Every row by key; never changed in place (a new mapping replaces it)."""
        self._overlay: dict[str, AnyRow] = {}
        """Rows shown instead of theirs (new arrivals tagged), same rank and sort values."""
        self._natural: list[str] | None = None
        """Every key in natural order; None until needed again after rows moved."""
        self._orders: Mapping[int, list[str]] = {}
        """Every key by a column, for the columns the last `apply_diff` brought."""
        self._descending_orders: Mapping[int, list[str]] = {}
        """The same, descending, for the columns the last `apply_diff` brought."""
        self._turn: _Turn | None = None
        """(rows, column, reversed, keys, their non-empty values, the keys turned) of the last
        order sorted here, or turned here (then without values, with the order it came from):
        `reverse_sort` of those keys, while they are shown, needs no look-up of a row."""
        self._keys: list[str] = []
        """The keys shown (after filter and sort); never changed in place. While a typed
        filter is being tested (`_untested`), only those of the rows tested so far: read
        `_order` for all of them."""
        self._untested: _Untested | None = None
        """While a typed filter is tested in two goes (the rows a frame shows first, the
        others after it): (query, candidate keys in the order shown, where the candidates
        tested start and end, the keys before those that were tested and pass, held back
        until all are tested). `_keys` holds the other tested ones that pass; with rows
        before them untested or held back, indexes (`_cursor`, `scroll_y`) count from the
        first of `_keys` until `_complete` puts those before in front."""
        self._next_turn: Timer | bool | None = None
        """The turn of `_complete_some` to come: its timer, True while the first is due after
        the next refresh, None if none is. One at a time: a filter typed further while the
        last one's turns went on started turns of its own beside them, and they came twice
        as often (a key waited for more of them)."""
        self._unfiltered: _Unfiltered | None = None
        """(rows, overlay, sort, reversed, keys, the cursor's index) of the order shown
        before a filter was typed: closing the filter shows it again while nothing it
        depends on changed (the cursor found there at once if still on that job)."""
        self._cursor = 0
        self._cursor_key: str | None = None
        self._query = FilterQuery()
        self._passed: _Pass = _NO_PASS
        """(query, rows, overlay, the keys that pass the query, in any order) for a jobs
        table: what a sort while filtered filters by; stale as soon as the rows or the
        overlay are replaced."""
        self._prefiltered: Prefiltered | None = None
        """The filter the poll worker tested on the rows it brought with their orders (see
        `job_filter.prefilter`): used while its query and rows are the table's."""
        self._sort: int | None = None
        self._reverse = False
        self._strips: LRUCache[str, _Drawn] = LRUCache(512)
        """Drawn rows by key: one is drawn again when the rows change, or when the age
        text it shows is no longer the one at the time a frame is drawn."""
        self._styles: dict[str, Style] = {}
        """The table's own style ("") and its components', by name: see `_style_of`."""
        self._drawn: dict[int, tuple[str | None, bool]] = {}
        """Per line on screen, what it was last drawn with: (key of its row, None if none;
        whether the cursor was on it). See `_repaint_changed`."""
        self._ages_drawn: dict[int, tuple[str, tuple[str, ...], float]] = {}
        """Per line on screen showing a row, the ages it was last drawn with: (key of its
        row, age texts, the time up to which they stand). See `show_ages`."""
        self._widths: tuple[int, tuple[tuple[int, int], ...]] = (-1, ())

    # ---- public -------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        return self._cursor_key

    @property
    def cursor_row(self) -> AnyRow | None:
        return None if self._cursor_key is None else self._row(self._cursor_key)

    @property
    def row_count(self) -> int:
        """Rows in the table, filtered out or not."""
        return len(self._rows)

    @property
    def shown_count(self) -> int:
        """Rows that pass the filter."""
        return len(self._order)

    @property
    def counted(self) -> bool:
        """Whether every row was tested against the filter (`shown_count` is then at hand;
        asked before, it tests the rest at once)."""
        return self._untested is None

    @property
    def _order(self) -> list[str]:
        """Every key shown, in order (the rows a typed filter had left to test tested)."""
        self._complete()
        return self._keys

    @property
    def sort_label(self) -> str:
        if self._sort is None:
            return "natural order" + (" (reversed)" if self._reverse else "")
        return f"{self.columns[self._sort].label} {'▼' if self._reverse else '▲'}"

    @property
    def sorting(self) -> tuple[int | None, bool]:
        """(index of the sorted column, or None for the natural order; reversed)."""
        return self._sort, self._reverse

    @property
    def sort_state(self) -> tuple[str | None, bool]:
        """(label of the sorted column, or None for the natural order; reversed)."""
        return (None if self._sort is None else self.columns[self._sort].label, self._reverse)

    def shown_keys(self) -> list[str]:
        """Keys in the order shown (after filter and sort)."""
        return list(self._order)

    @property
    def rows(self) -> Mapping[str, AnyRow]:
        """Every row by key, filtered out or not (a poll's diff says what changed from it)."""
        return self._rows

    def update_rows(
        self,
        rows: Mapping[str, AnyRow],
        *,
        natural: list[str] | None = None,
        orders: Mapping[int, list[str]] | None = None,
        descending: Mapping[int, list[str]] | None = None,
        prefiltered: Prefiltered | None = None,
    ) -> None:
        """Apply new rows (all of them) as a diff: repaint the changed ones; move only the rows
        whose place may have changed (a full sort only when many did). The diff is found by a
        pass over every row: for small tables, and the first poll of a big one."""
        old = self._rows
        if rows is old:  # (a poll that changed none of them: no pass over them)
            if orders is not None:  # (orders of these rows: the order shown stands)
                self._orders, self._descending_orders = orders, descending or {}
            return
        # (C-level passes: a held-back poll's 100,000 findings were 30-40 ms as comprehensions)
        gone = list(filterfalse(rows.__contains__, old))
        changed = list(compress(rows, map(operator.is_not, rows.values(), map(old.get, rows))))
        if not gone and not changed:
            return
        self.apply_diff(rows, changed, gone, natural, orders, descending, prefiltered)

    def apply_diff(
        self,
        rows: Mapping[str, AnyRow],
        changed: Iterable[str],
        removed: Iterable[str],
        natural: list[str] | None = None,
        orders: Mapping[int, list[str]] | None = None,
        descending: Mapping[int, list[str]] | None = None,
        prefiltered: Prefiltered | None = None,
    ) -> None:
        """Take `rows` (every row; the table keeps the mapping and never changes it) where only
        the `changed` keys (new or with a new row) and the `removed` ones differ from before;
        `natural`: every key in natural order, `orders`: every key sorted by a column
        (ascending, empty last, ties in natural order), when the caller has them (the poller
        does); `prefiltered`: the filter tested on `rows` and those orders in the worker."""
        old = self._rows
        self._orders = orders or {}
        self._descending_orders = descending or {}
        self._prefiltered = prefiltered
        column = self._sort
        changed, removed = list(changed), list(removed)
        query = self._query
        afresh = len(changed) > len(rows) // 2  # most rows are new (a first poll)
        at_hand = (
            column in (self._descending_orders if self._reverse else self._orders)
            if column is not None
            else natural is not None
        )
        placed = afresh or (
            (not query or big_diff(len(changed) + len(removed), len(rows))) and at_hand
        )
        if not placed and at_hand and self._untested is not None:
            # a few rows changed while a typed filter's rest was untested: the filter is
            # tested again on the new order at hand as when typed (the rows the next frame
            # shows, the rest in turns), where testing that rest at once held the event loop
            # 40-100 ms at 100,000 jobs
            self._untested = None
            self._unfiltered = None
            self._rows, self._passed = rows, _NO_PASS
            self._forget_drawn(old, rows)
            if natural is not None:
                self._natural = natural
            base = self._unfiltered_order()
            assert base is not None  # (`at_hand`)
            self._filter_lazily(base, query)
            return
        if placed:  # every line placed again from the new rows: the old ones left untested
            self._drop_untested()
        else:
            self._complete()  # (the rows left to test are the old ones)
        self._unfiltered = None
        if afresh:
            self._rows, self._natural = rows, natural
            self._passed = self._prefiltered_pass()
            self._strips.clear()
            self._reorder()
            return
        if placed:
            # every line is placed again by an order at hand: which rows changed matters only
            # for the lines drawn (`_forget_drawn`), not a look at each (a whole poll at
            # 100,000 jobs: ~20,000 rows compared and their cached drawings looked up, 20-30
            # ms; a root moved with its index has as many findings, each made again); with a
            # filter, the rows that pass from the worker's test, else from the changed rows
            self._rows = rows
            self._passed = self._passed_after(old, changed, removed) if query else _NO_PASS
            self._forget_drawn(old, rows)
            if natural is not None:
                self._natural = natural
            if column is not None or query:
                self._reorder()  # the order shown is at hand: a lookup (filtered)
            else:
                natural = self._natural_order()
                self._order_changed(natural[::-1] if self._reverse else natural)
            return
        moved: list[str] = list(removed)
        repaint: list[str] = []
        for key in changed:
            row, before = rows[key], old.get(key)
            if before is None:
                moved.append(key)
            elif before != row:
                repaint.append(key)
                if (
                    before.rank != row.rank
                    or (column is not None and before.sort_value(column) != row.sort_value(column))
                    # what the filter sees: only with one (a job's status changed has a
                    # new row for each of its findings, each in the same place)
                    or (query and (before.search != row.search or before.facets != row.facets))
                ):
                    moved.append(key)
        self._rows = rows
        self._passed = self._passed_after(old, changed, removed)
        for key in repaint:
            self._strips.discard(key)
        for key in moved:
            self._strips.discard(key)
        if moved:
            self._natural = natural
        if not moved:
            if natural is not None:
                self._natural = natural
            self._refresh_keys(repaint)
        elif self._natural is not None and not query and column is None:
            self._order_changed(self._natural[::-1] if self._reverse else self._natural)
        elif len(moved) > min(REPOSITION_MAX, max(1, len(rows) // 20)):
            self._reorder()
        else:
            self._reposition(moved)

    def _forget_drawn(self, old: Mapping[str, AnyRow], rows: Mapping[str, AnyRow]) -> None:
        """The cached drawings of the rows a diff changed or removed dropped, found from the
        cache's keys (the lines drawn: a few hundred), not from the diff's: a row object
        that is not the one drawn from is compared (a set of the diff's 20,000 keys was 4
        ms of a whole poll's apply at 100,000 jobs)."""
        strips = self._strips
        for key in list(strips.keys()):
            before, row = old.get(key), rows.get(key)
            if before is not row and (before is None or row is None or before != row):
                strips.discard(key)

    def _passed_after(
        self, old: Mapping[str, AnyRow], changed: list[str], removed: list[str]
    ) -> _Pass:
        """The rows that pass the filter after a poll's diff (the new rows taken): the poll
        worker's when it tested this filter, else the old ones followed through the diff."""
        found = self._prefiltered_pass()
        if found is _NO_PASS:
            found = self._pass_followed(old, self._rows, changed, removed)
        return found

    def _prefiltered_pass(self) -> _Pass:
        """The rows that pass the filter as the poll worker found them, when it tested this
        query on these rows, or one this query refines (typed further since the worker read
        it: its terms still to test, on the rows that passed there); else none known."""
        pre, query, rows = self._prefiltered, self._query, self._rows
        if pre is None or not query or pre.rows is not rows:
            return _NO_PASS
        if pre.query == query:
            return (query, rows, self._overlay, pre.passing)
        further = _refinement(pre.query, query)
        if further is None:
            return _NO_PASS
        found: list[JobRow] = list(map(rows.__getitem__, pre.passing))  # type: ignore[arg-type]
        return (
            query,
            rows,
            self._overlay,
            _job_filter(further, pre.passing, found, self._overlay)[0],
        )

    def _pass_followed(
        self,
        old: Mapping[str, AnyRow],
        rows: Mapping[str, AnyRow],
        changed: list[str],
        removed: Iterable[str],
    ) -> _Pass:
        """The rows that pass the filter, kept through a poll's diff: the changed and removed
        ones taken out, the changed ones that pass put back (a sort after a poll filters by
        these, not by a pass over every row again: at 100,000 jobs 5 ms, not 50)."""
        query, of_rows, overlay, keys = self._passed
        if not query or query != self._query or of_rows is not old or overlay is not self._overlay:
            return _NO_PASS  # (a stale pass would also keep the old rows alive)
        dropped = set(changed)
        dropped.update(removed)
        staying = map(operator.not_, map(dropped.__contains__, keys))
        fresh = [key for key in changed if key in rows]
        fresh_rows: list[JobRow] = list(map(rows.__getitem__, fresh))  # type: ignore[arg-type]
        added = _job_filter(query, fresh, fresh_rows, overlay)[0]
        return (query, rows, overlay, list(compress(keys, staying)) + added)

    def set_overlay(self, overlay: dict[str, AnyRow]) -> None:
        """Show these rows instead of the table's own (same rank and sort values: only what a
        row shows and what the filter sees may differ); keys without a row are left out."""
        overlay = {key: row for key, row in overlay.items() if key in self._rows}
        if overlay == self._overlay:
            return
        self._complete()
        self._unfiltered = None
        touched = set(overlay).symmetric_difference(self._overlay)
        touched.update(k for k, row in overlay.items() if self._overlay.get(k) is not row)
        self._overlay = overlay
        self._passed = _NO_PASS
        for key in touched:
            self._strips.discard(key)
        if self._query:
            self._reorder()
        else:
            self._refresh_keys(touched)

    def set_query(self, query: FilterQuery) -> None:
        """Filter by `query`, testing before the next frame only the rows it shows.

        A query typed further is tested on the rows shown only; a first character, or one
        deleted, on the order shown before the filter (kept for that, or the poller's). At
        100,000 jobs a pass over every row is 20 to 40 ms: the rows up to the cursor's and a
        screenful after it are tested at once, the others after that frame (`_complete`);
        closing the filter shows the kept order again, with nothing to test."""
        if query == self._query:
            return
        before, self._query = self._query, query
        self._passed = _NO_PASS
        pre = self._prefiltered
        if pre is not None and pre.query != query and _refinement(pre.query, query) is None:
            self._prefiltered = None  # of no more use (its lists: up to 3 of every job)
        if not before:
            shown = (self._keys, self._cursor)
            self._unfiltered = (self._rows, self._overlay, self._sort, self._reverse, *shown)
        if _refinement(before, query) is not None:  # fewer rows: among those shown
            pending = self._untested
            candidates, at = self._keys, self._cursor
            if pending is not None:
                _, left, start, through, held = pending
                candidates = left[:start] + held + candidates + left[through:]
                at += start + len(held)
            self._filter_lazily(candidates, query, at)
            return
        base = self._unfiltered_order()
        kept = self._unfiltered
        at = None if kept is None or kept[4] is not base else kept[5]
        if base is None:
            self._reorder()
        elif not query:
            found = at is not None and at < len(base) and base[at] == self._cursor_key
            self._order_changed(base, None, at if found else None)
        else:
            self._filter_lazily(base, query, at)

    def _unfiltered_order(self) -> list[str] | None:
        """Every key in the order shown without a filter, when at hand: the one kept when
        the filter was typed (if rows, overlay and sort are still those), else the natural
        order or the poller's order of the sorted column; None if it takes a sort."""
        kept = self._unfiltered
        if kept is not None:
            rows, overlay, sort, reverse, keys, _ = kept
            if rows is self._rows and overlay is self._overlay and (sort, reverse) == self.sorting:
                return keys
            self._unfiltered = None
        column = self._sort
        if column is None:
            natural = self._natural_order()
            return natural[::-1] if self._reverse else natural
        return (self._descending_orders if self._reverse else self._orders).get(column)

    def _test(self, query: FilterQuery, keys: list[str]) -> list[str]:
        """The keys whose rows pass `query`, in the order given (C-level passes). For many
        keys of a jobs table, the rows are tested in the mapping's order and the keys kept
        by a set: at 100,000 jobs rows visited in the order shown, scattered in memory, took
        four times as long (40 ms against 10 for a text term)."""
        if not keys or not query:
            return keys
        rows = self._rows
        if not isinstance(next(iter(rows.values())), JobRow):
            get = self._row if self._overlay else rows.__getitem__
            return _row_filter(query, keys, list(map(get, keys)))  # type: ignore[arg-type]
        if len(keys) * 3 > len(rows) and query == self._query:
            wanted = set(self._passing())
            return list(compress(keys, map(wanted.__contains__, keys)))
        found: list[JobRow] = list(map(rows.__getitem__, keys))  # type: ignore[arg-type]
        return _job_filter(query, keys, found, self._overlay)[0]

    def _filter_lazily(
        self, candidates: list[str], query: FilterQuery, at: int | None = None
    ) -> None:
        """Show the `candidates` (keys in the order shown) that pass `query`: before the next
        frame only those it shows, the others after it (`_complete`). The cursor stays on
        its job, or if the filter hides it, goes to the next job shown after it (else the
        last), on the same screen line.

        A cursor near the top: the candidates are tested through its job and a screenful
        beyond. A cursor far down (after a sort, say): the candidates around its job, as
        many above as the screen shows and a screenful below; those above are put in front
        after the frame, the cursor and the scroll moved down by as many (the screen stays
        the same). `at`: where the cursor's job may be among the candidates (a lookup in
        100,000 keys scattered in memory is ~5 ms)."""
        rows = self._rows
        jobs = bool(rows) and isinstance(next(iter(rows.values())), JobRow)
        at_once = len(candidates) <= (TESTED_AT_ONCE if jobs else ROWS_TESTED_AT_ONCE)
        key = self._cursor_key
        through = 0
        if key is not None and at is not None and at < len(candidates) and candidates[at] == key:
            through = at + 1
        elif key is not None:
            found = _index_of(candidates, key)
            through = 0 if found is None else found + 1
        start = 0
        if through > FIRST_CHUNK and not at_once:  # the rows above the cursor's, as shown
            above = self._cursor - int(self.scroll_y)
            start = through - 1
            shown: list[str] = []
            step = FIRST_CHUNK
            while len(shown) < above and start > 0:
                first = max(0, start - step)
                shown = self._test(query, candidates[first:start]) + shown
                start, step = first, min(step * 2, TESTED_A_PIECE)
            shown += self._test(query, candidates[through - 1 : through])
        else:
            shown = self._test(query, candidates[:through])
        passed = through > 0 and bool(shown) and shown[-1] == key
        cursor = len(shown) - 1 if passed else len(shown)
        step = len(candidates) if at_once else FIRST_CHUNK
        while (at_once or len(shown) <= cursor + self.size.height) and through < len(candidates):
            shown += self._test(query, candidates[through : through + step])
            through += step
            step = min(step * 2, TESTED_A_PIECE)
        pending = None
        if start or through < len(candidates):
            pending = (query, candidates, start, min(through, len(candidates)), [])
        self._order_changed(shown, pending, max(0, min(cursor, len(shown) - 1)))
        if pending is None:
            self._counted()
            return
        if isinstance(self._next_turn, Timer):
            self._next_turn.stop()  # (the turns start again after the next frame)
        if self._next_turn is not True:
            self._next_turn = True
            self.call_after_refresh(self._complete_some)

    def _extend(self, count: int) -> None:
        """Test the rows a typed filter left after those tested until `count` keys are shown
        (or none is left): what the screen shows before `_complete` has run."""
        while self._untested is not None and len(self._keys) < count:
            query, candidates, start, through, held = self._untested
            if through >= len(candidates):
                break
            step = max(FIRST_CHUNK, count - len(self._keys))
            self._keys = self._keys + self._test(query, candidates[through : through + step])
            through = min(through + step, len(candidates))
            self._untested = (query, candidates, start, through, held)
            if not start and through == len(candidates):
                self._complete()

    def _complete_some(self) -> None:
        """Test the rows a typed filter left, TESTED_A_PIECE at a time for TESTING_TURN_S,
        then let the event loop go on: keys and polls in between see the rows tested so far
        (`_untested`). Those after the rows tested first, then those before, from the nearest
        up. Until the last turn nothing on screen changes, so no turn but the last makes a
        frame (at 100,000 jobs a frame is 5-15 ms: one after each turn, for the scrollbar's
        height or the rows put in front, took as long as the turns): the scrollbar keeps the
        height of the rows that may pass, and the rows before are held back; the last turn
        puts them in front, the cursor and the scroll moved down by as many (the screen
        stays)."""
        self._next_turn = None
        pending = self._untested
        if pending is None:
            return
        query, candidates, start, through, held = pending
        after: list[str] = []
        ends = time.perf_counter() + TESTING_TURN_S
        while start or through < len(candidates):
            if through < len(candidates):
                end = min(through + TESTED_A_PIECE, len(candidates))
                after += self._test(query, candidates[through:end])
                through = end
            else:
                first = max(0, start - TESTED_A_PIECE)
                held = self._test(query, candidates[first:start]) + held
                start = first
            if time.perf_counter() >= ends:
                break
        self._keys = self._keys + after
        self._untested = (query, candidates, start, through, held)
        if start or through < len(candidates):
            # a timer, not `call_later`: the widget's queued callbacks run back to back,
            # without the event loop's other tasks (input, the poll's apply) in between
            self._next_turn = self.set_timer(SLICE_PAUSE_S, self._complete_some)
        else:
            self._complete()

    def _drop_untested(self) -> None:
        """Forget the rows a typed filter left untested (a poll places every line again from
        its new rows): only those before the rows tested are tested, to count the cursor's
        and the scroll's index from the first row as `_complete` does (a few hundred rows,
        where the rest was up to every row: 20-40 ms of a whole poll's apply)."""
        pending = self._untested
        if pending is None:
            return
        query, candidates, start, _, held = pending
        self._untested = None
        before = self._test(query, candidates[:start]) + held
        self._keys = before + self._keys
        self._moved_down(len(before))

    def _complete(self) -> None:
        """Test every row a typed filter left (after the frame that showed the first): those
        after the rows tested go after them; those before, in front with those held back,
        the cursor and the scroll moved down by as many."""
        pending = self._untested
        if pending is None:
            return
        query, candidates, start, through, held = pending
        self._untested = None
        before = self._test(query, candidates[:start]) + held
        self._keys = before + self._keys + self._test(query, candidates[through:])
        self._counted()
        self._moved_down(len(before))

    def _moved_down(self, rows: int) -> None:
        """`rows` were put in front of those shown: the cursor and the scroll follow, so the
        same rows stay on the same lines (nothing is repainted)."""
        if rows:
            self._cursor += rows
            self.scroll_to(y=self.scroll_y + rows, animate=False, immediate=True)

    def _counted(self) -> None:
        """Every row was tested: the scrollable height is the rows shown; the screen, which
        says how many the filter hides, is told; a sort while filtered filters by them."""
        rows = self._rows
        if self._query and rows and isinstance(next(iter(rows.values())), JobRow):
            self._passed = (self._query, rows, self._overlay, self._keys)
        self.virtual_size = Size(self.size.width, len(self._keys) + 1)
        self.post_message(self.Counted(self))

    def cycle_sort(self) -> None:
        """Natural order, then each column in turn."""
        self._complete()
        self._unfiltered = None
        self._sort = 0 if self._sort is None else self._sort + 1
        if self._sort >= len(self.columns):
            self._sort = None
        self._reorder()

    def reverse_sort(self) -> None:
        """The other direction. Without that order at hand (the poller makes the sorted
        column's ahead of time, but not one `s` just went to), the rows shown are turned
        around: their runs of equal values reversed as wholes, so that ties stay in natural
        order and empty cells last (at 100,000 jobs 40 ms, against 200 for a sort)."""
        self._complete()
        self._unfiltered = None
        self._reverse = not self._reverse
        column = self._sort
        ready = self._descending_orders if self._reverse else self._orders
        if column is None or column in ready:
            self._reorder()
            return
        shown = self._order
        turn = self._turn
        if (
            turn is None
            or turn[0] is not self._rows
            or turn[3] is not shown
            or turn[1:3] != (column, not self._reverse)
        ):
            turn = (self._rows, column, not self._reverse, shown, None, None)
        _, _, _, _, values, turned = turn
        if turned is None and self._unique(column):
            turned = shown[::-1]  # no ties, no empty cell: the order read backwards
        elif turned is None:
            # the values kept by the sort that made `shown`, else looked up (100,000 rows
            # looked up were 10-25 ms of the key's 40-54 at 100,000 jobs)
            if values is None:
                values = self._sort_values(column, shown)
            turned = descending_order(shown, values)
        self._turn = (self._rows, column, self._reverse, turned, None, shown)
        self._order_changed(turned)

    def _unique(self, column: int) -> bool:
        """Whether the jobs table's column sorts by a field no two rows share and none lacks
        (the job id, the natural rank: at 100,000 rows, the neighbours' comparisons of the
        rank's tuples that find no tie were 15-30 ms)."""
        rows = self._rows
        return bool(rows) and (
            isinstance(next(iter(rows.values())), JobRow)
            and JobRow.SORT_FIELDS[column] in (JobRow.KEY, JobRow.RANK)
        )

    def sort_by(self, column: int | None, *, reverse: bool = False) -> None:
        self._complete()
        self._unfiltered = None
        self._sort, self._reverse = column, reverse
        self._reorder()

    def move_to_key(self, key: str) -> bool:
        index = self._position(key)
        if index is None:
            return False
        self._move(index)
        return True

    def reveal(self, key: str) -> None:
        """Scroll this row into view without moving the cursor off its row: with the cursor
        too when both fit on screen, else the row alone."""
        index = self._position(key)
        if index is None:
            return
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if top <= index < top + visible:
            return
        low, high = min(index, self._cursor), max(index, self._cursor)
        self.scroll_to(y=low if high - low < visible else index, animate=False, immediate=True)

    def marks_changed(self, job_ids: Iterable[str]) -> None:
        """Repaint the rows of these jobs after their marks changed: only drawn rows can show
        a mark (the strip cache and the screen), so only those are looked at."""
        wanted = set(job_ids)
        for key in list(self._strips.keys()):
            row = self._rows.get(key)
            if row is None or row.job_id in wanted:
                self._strips.discard(key)
        self._refresh_keys(k for k in self._visible_keys() if self._row(k).job_id in wanted)

    # ---- ordering -----------------------------------------------------------------------

    def _row(self, key: str) -> AnyRow:
        row = self._overlay.get(key)
        return self._rows[key] if row is None else row

    def _position(self, key: str) -> int | None:
        """Where `key` is shown (a C-level scan: no index is kept that every reorder would
        have to rebuild)."""
        order = self._order
        if self._cursor < len(order) and order[self._cursor] == key:
            return self._cursor
        try:
            return order.index(key)
        except ValueError:
            return None

    def _before(self, a: AnyRow, b: AnyRow) -> bool:
        """Whether `a` is shown above `b`: by the sorted column (empty cells last in both
        directions), then in natural order."""
        if self._sort is None:
            return a.rank > b.rank if self._reverse else a.rank < b.rank
        va, vb = a.sort_value(self._sort), b.sort_value(self._sort)
        if va != vb:
            if va is None or vb is None:
                return vb is None
            return va > vb if self._reverse else va < vb
        return a.rank < b.rank

    def _natural_order(self) -> list[str]:
        if self._natural is None:
            rows = self._rows
            self._natural = sorted(rows, key=lambda key: rows[key].rank)
        return self._natural

    def _reorder(self) -> None:
        """Filter and sort every row: the natural order, then a stable sort on the column's
        values (C-level passes: at 100,000 rows tens of ms)."""
        column = self._sort
        if column is not None and self._reverse and column in self._descending_orders:
            self._order_changed(self._filtered(self._descending_orders[column]))
            return
        ready = None if column is None else self._orders.get(column)
        keys = self._filtered(self._natural_order() if ready is None else ready)
        if column is None:
            shown = keys[::-1] if self._reverse else keys
        elif ready is not None and not self._reverse:
            shown = keys
        elif ready is not None and self._unique(column):
            shown = keys[::-1]
        elif ready is not None:  # the values only to find the runs of ties to keep in order
            values = self._sort_values(column, keys)
            shown = descending_order(keys, values)
        else:
            values = self._sort_values(column, keys)
            missing = list(map(operator.is_, values, repeat(None)))
            if any(missing):
                present = list(compress(keys, map(operator.not_, missing)))
                absent = list(compress(keys, missing))
                values = [value for value in values if value is not None]
            else:
                present, absent = keys, []
            order = sorted(range(len(present)), key=values.__getitem__, reverse=self._reverse)
            shown = list(map(present.__getitem__, order))
            shown += absent
            # for an `S` before the poller brings the other way (a C-level gather, ~2 ms)
            self._turn = (
                self._rows,
                column,
                self._reverse,
                shown,
                list(map(values.__getitem__, order)),
                None,
            )
        self._order_changed(shown)

    def _sort_values(self, column: int, keys: list[str]) -> list[Any]:
        """The values the column sorts `keys` by, in their order (C-level getters: a Python
        call per row was ~30 ms of a sort of 100,000 findings)."""
        rows = self._rows
        found = map(rows.__getitem__, keys)
        if rows and isinstance(next(iter(rows.values())), JobRow):
            return list(sort_values(found, JobRow.SORT_FIELDS[column]))
        return list(map(itemgetter(column), map(_row_sort_keys, found)))

    def _filtered(self, keys: list[str]) -> list[str]:
        """The keys whose rows pass the filter, in the same order."""
        query = self._query
        if not query:
            return keys
        rows = self._rows
        if not rows or not isinstance(next(iter(rows.values())), JobRow):
            return _row_filter(query, keys, list(map(self._row, keys)))
        pre = self._prefiltered
        if pre is not None and pre.rows is rows:
            for source, kept in pre.orders:  # (filtered in the worker)
                if source is keys and pre.query == query:
                    return kept
                if source is keys and _refinement(pre.query, query) is not None:
                    keys = kept  # (the rows that pass are among these, in this order)
                    break
        passed = self._passing()
        if len(passed) == len(rows):
            return keys
        wanted = set(passed)
        return list(compress(keys, map(wanted.__contains__, keys)))

    def _passing(self) -> list[str]:
        """The keys of the jobs table's rows that pass the filter, in the mapping's order:
        computed once per query and rows (a sort while filtered reuses them)."""
        query, rows, overlay, passed = self._passed
        if query == self._query and rows is self._rows and overlay is self._overlay:
            return passed
        self._passed = self._prefiltered_pass()
        if self._passed is not _NO_PASS:
            return self._passed[3]
        rows, overlay = self._rows, self._overlay
        # the rows in the mapping's own order: no lookup per key (at 100,000 rows scattered
        # in memory a lookup per key doubled the pass)
        every: list[JobRow] = list(rows.values())  # type: ignore[arg-type]
        passed = _job_filter(self._query, list(rows), every, overlay)[0]
        self._passed = (self._query, rows, overlay, passed)
        return passed

    def _reposition(self, moved: list[str]) -> None:
        """Take out the rows that came, went or changed place, and put back each in its place
        by binary search: a poll that changes a few jobs never sorts them all."""
        gone = set(moved)
        order = [key for key in self._order if key not in gone]
        query = self._query
        rows = self._rows
        before = self._before
        for key in moved:
            row = rows.get(key)
            if row is None:
                continue
            shown = self._row(key)
            if query and not query.matches(shown):
                continue
            low, high = 0, len(order)
            while low < high:
                middle = (low + high) // 2
                if before(rows[order[middle]], row):
                    low = middle + 1
                else:
                    high = middle
            order.insert(low, key)
        self._order_changed(order)

    def _order_changed(
        self, keys: list[str], untested: _Untested | None = None, cursor: int | None = None
    ) -> None:
        """The shown order is new: keep the cursor on its job, and on the same screen line.
        `untested`: the rows a typed filter has still to test, `cursor`: where it put the
        cursor (see `_filter_lazily`)."""
        previous_key, previous_offset = self._cursor_key, self._cursor - int(self.scroll_y)
        self._keys = keys
        self._untested = untested
        self.virtual_size = Size(self.size.width, self._virtual_rows())
        index = cursor
        if index is None and previous_key is not None:  # (only the rows tested so far)
            if self._cursor < len(keys) and keys[self._cursor] == previous_key:
                index = self._cursor
            else:
                index = _index_of(keys, previous_key)
        if index is None:
            index = min(self._cursor, len(keys) - 1)
        self._set_cursor(max(0, index))
        # keep the cursor where the operator's eyes are: same line on screen
        self.scroll_to(y=max(0, self._cursor - previous_offset), animate=False, immediate=True)
        self._scroll_to_cursor()
        self._repaint_changed(header=True)

    # ---- cursor -------------------------------------------------------------------------

    def _virtual_rows(self) -> int:
        """The scrollable height: the header and the rows shown (while a typed filter is
        tested, those that may be: it shrinks once they were)."""
        pending = self._untested
        if pending is None:
            return len(self._keys) + 1
        _, candidates, start, through, held = pending
        return len(self._keys) + 1 + start + len(candidates) - through + len(held)

    def _visible_keys(self) -> list[str]:
        """The keys of the rows on screen (tested first if a typed filter left them)."""
        top = int(self.scroll_y)
        self._extend(top + self.size.height)
        return self._keys[top : top + self.size.height]

    def _set_cursor(self, index: int) -> None:
        self._cursor = index
        key = self._keys[index] if self._keys else None
        if key != self._cursor_key:
            self._cursor_key = key
            self.post_message(self.CursorMoved(self, key))

    def _move(self, index: int) -> None:
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        if index == self._cursor and self._order[index] == self._cursor_key:
            return
        before = self._cursor
        self._set_cursor(index)
        self._refresh_lines((before, index))
        self._scroll_to_cursor()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._complete()  # (indexes count from its first row tested until then)
        self._move(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._complete()  # (indexes count from its first row tested until then)
        self._move(self._cursor + 1)

    def action_page_up(self) -> None:
        self._complete()  # (indexes count from its first row tested until then)
        self._move(self._cursor - self._page())

    def action_page_down(self) -> None:
        self._complete()  # (indexes count from its first row tested until then)
        self._move(self._cursor + self._page())

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._order) - 1)

    def on_click(self, event: events.Click) -> None:
        self._complete()
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                same = column == self._sort
                self.sort_by(column, reverse=same and not self._reverse)
            return
        self._move(int(self.scroll_y) + event.y - 1)

    def watch_has_focus(self, has_focus: bool) -> None:
        """No restyle when the focus comes or goes (Widget's restyles): no style of a table
        depends on it, and a Textual restyle lays the table out again and drops its rendered
        rows. The cursor, whose colour does depend on it, is repainted by `on_focus`/`on_blur`."""

    def on_focus(self) -> None:
        self._refresh_lines((self._cursor,))

    def on_blur(self) -> None:
        self._refresh_lines((self._cursor,))

    # ---- rendering ----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._styles.clear()

    def _style_of(self, component: str = "") -> Style:
        """The table's style (`rich_style`), or one of its components', looked up once per
        style update, as the rows drawn with them are: Textual's walks every ancestor of the
        table at each call and drops its component styles at every repaint (at 200x60, once
        per line was ~0.1 ms a line, a tenth of a filtered frame)."""
        style = self._styles.get(component)
        if style is None:
            style = self.get_component_rich_style(component) if component else self.rich_style
            self._styles[component] = style
        return style

    def on_resize(self) -> None:
        if self._widths[0] != self.size.width:
            self._strips.clear()  # rows are cut to the width; a change of height keeps them
        self.virtual_size = Size(self.size.width, self._virtual_rows())

    def _layout(self, width: int) -> tuple[tuple[int, int], ...]:
        """(column index, cells) of the columns shown at this width, computed once per width."""
        if self._widths[0] == width:
            return self._widths[1]
        shown = [(i, c) for i, c in enumerate(self.columns) if width >= c.hide_below]
        fixed = sum(c.width for _, c in shown if not c.flex) + GAP * (len(shown) - 1)
        spare = max(0, width - MARK_WIDTH - fixed)
        weights = sum(c.flex for _, c in shown) or 1
        layout, given, flex_seen = [], 0, 0
        for index, column in shown:
            if column.flex:
                flex_seen += column.flex
                share = spare * flex_seen // weights - given
                given += share
                layout.append((index, share))
            else:
                layout.append((index, column.width))
        self._widths = (width, tuple(layout))
        return self._widths[1]

    def _column_at(self, x: int) -> int | None:
        position = MARK_WIDTH
        for index, cells in self._layout(self.size.width):
            if position <= x < position + cells + GAP:
                return index
            position += cells + GAP
        return None

    def _line_of(self, index: int) -> int:
        return index - int(self.scroll_y) + 1

    def _refresh_lines(self, indexes: Iterable[int]) -> None:
        width = self.size.width
        height = self.size.height
        regions = []
        for index in indexes:
            y = self._line_of(index)
            if 1 <= y < height:
                regions.append(Region(0, y, width, 1))
        if regions:
            self.refresh(*regions)

    def _refresh_keys(self, keys: Iterable[str]) -> None:
        """Repaint the lines of these keys that are on screen (the only ones drawn)."""
        top = int(self.scroll_y)
        shown = {key: top + line for line, key in enumerate(self._visible_keys())}
        self._refresh_lines(shown[k] for k in keys if k in shown)

    def show_ages(self) -> None:
        """Repaint the lines on screen whose age text changed since drawn (the app calls this
        once a second): a poll no longer makes rows again as their ages change (at 100,000
        jobs that was ~20,000 rows a second after a whole poll rewrote them), and only the
        lines whose drawn age is due to change (`age_since`) are worked out again. Judged by
        what each line was drawn with, whatever else kept it or repainted it since."""
        if not self._aged:
            return
        now = self._now = self.clock()
        went_back = now < self._ages_looked_at
        self._ages_looked_at = now
        height, width = self.size.height, self.size.width
        regions = []
        for y, (key, ages, turn) in self._ages_drawn.items():
            if y >= height or not (went_back or now >= turn - AGE_MARGIN_S):
                continue
            row = self._overlay.get(key) or self._rows.get(key)
            if row is not None and self._ages(row, now)[0] != ages:
                regions.append(Region(0, y, width, 1))
        if regions:
            self.refresh(*regions)

    def _ages(self, row: AnyRow, now: float) -> tuple[tuple[str, ...], float]:
        """The age texts of a row at `now`, and the time up to which they all stand."""
        texts = []
        turn = math.inf
        for column in self._aged:
            text, until = age_since(row.sort_value(column), now)
            texts.append(text)
            turn = min(turn, until)
        return tuple(texts), turn

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """ScrollView's, repainting only the lines that show another row (see
        `_repaint_changed`): the rest a typed filter puts in front scrolls by as many, and
        the screen stays the same."""
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            self._repaint_changed()

    def _repaint_changed(self, *, header: bool = False) -> None:
        """Repaint the lines on screen that would be drawn otherwise than they were: another
        row or none, the cursor come or gone, a row drawn again since (its strip dropped);
        and the header if asked (a sort). A filter typed further, or a poll, often leaves
        the crashed and findings panes' lines as they were (at 200x60 a whole table's
        repaint is 5 to 10 ms of a key's frame, three of them for a filter)."""
        top = int(self.scroll_y)
        keys = self._visible_keys()
        drawn, strips, cursor = self._drawn, self._strips, self._cursor
        lines = [0] if header else []
        for y in range(1, self.size.height):
            key = keys[y - 1] if y - 1 < len(keys) else None
            if drawn.get(y) != (key, top + y - 1 == cursor and key is not None) or (
                key is not None and key not in strips
            ):
                lines.append(y)
        width = self.size.width
        regions: list[Region] = []
        for y in lines:  # runs of lines as one region each
            if regions and regions[-1].bottom == y:
                last = regions.pop()
                regions.append(Region(0, last.y, width, last.height + 1))
            else:
                regions.append(Region(0, y, width, 1))
        if regions:
            self.refresh(*regions)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._now = self.clock()  # one time for every line of a frame
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._header(width)
        index = int(self.scroll_y) + y - 1
        base = self._style_of()
        if index >= len(self._keys):
            self._extend(index + 1)
        if index >= len(self._keys):
            self._drawn[y] = (None, False)
            self._ages_drawn.pop(y, None)
            if index == 0 and self.placeholder:
                style = self.get_component_rich_style("keyed-table--placeholder")
                return Strip([Segment(_fit(f"  {self.placeholder}", width, False), style)])
            return Strip.blank(width, base)
        key = self._keys[index]
        self._drawn[y] = (key, index == self._cursor)
        drawn = self._strips.get(key)
        if self._aged:
            row = self._row(key)
            ages, turn = self._ages(row, self._now)
            if drawn is None or drawn[1] != ages:
                drawn = (self._render_row(row, width, base, ages), ages, turn)
                self._strips.set(key, drawn)
            self._ages_drawn[y] = (key, ages, turn)
        elif drawn is None:
            drawn = (self._render_row(self._row(key), width, base), (), math.inf)
            self._strips.set(key, drawn)
        strip = drawn[0]
        if index == self._cursor:
            name = "keyed-table--cursor" if self.has_focus else "keyed-table--cursor-blurred"
            cursor = self._style_of(name)
            strip = Strip(list(Segment.apply_style(strip, post_style=cursor)), width)
        return strip

    def _header(self, width: int) -> Strip:
        style = self._style_of() + self._style_of("keyed-table--header")
        labels = []
        for index, cells in self._layout(width):
            column = self.columns[index]
            label = column.label
            if index == self._sort:
                label = f"{label}{'▼' if self._reverse else '▲'}"
            labels.append(_fit(label, cells, column.right))
        text = " " * MARK_WIDTH + (" " * GAP).join(labels)
        return Strip([Segment(_fit(text, width, False), style)], width)

    def _render_row(
        self, row: AnyRow, width: int, base: Style, ages: tuple[str, ...] = ()
    ) -> Strip:
        """One row as few segments as possible: the compositor's cost grows with them.
        `ages`: the texts of the age columns, in order."""
        texts = row.cells
        if ages:
            shown = list(texts)
            for column, text in zip(self._aged, ages, strict=True):
                shown[column] = text
            texts = tuple(shown)
        marked = row.job_id is not None and row.job_id in self.marks
        segments = [
            Segment(
                f"{MARK} " if marked else " " * MARK_WIDTH,
                base + self._style_of("keyed-table--mark") if marked else base,
            )
        ]
        layout = self._layout(width)
        last = len(layout) - 1
        used = MARK_WIDTH
        for position, (index, cells) in enumerate(layout):
            text = _fit(texts[index], cells, self.columns[index].right)
            if position < last:
                text += " " * GAP  # the gap takes the cell's style: fewer segments, same look
            used += len(text) if text.isascii() else cell_len(text)
            segments.append(Segment(text, base + _style(row.styles[index])))
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(Segment.simplify(segments), width).crop(0, width)
