"""Table rows as plain data, built off the event loop (the filter that selects them is core's
`FilterQuery`, shared with the CLI).

A `Row` holds display strings (already made safe), per-column sort keys and what the filter
matches. Rows are compared by value, so the table can tell a changed job from an unchanged one
and repaint only what changed; the builders reuse a row object when nothing shown changed.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, NamedTuple

from logist._interning import Interner
from logist._pace import pace
from logist.core import SEVERITY_ORDER, Finding, JobState, Severity, VerdictKind

from .text import SEVERITY_STYLE, VERDICT_STYLE, money, phase, safe

_PASS_STEP = 16_384
"""Values compared in one C-level pass (a few ms holding the GIL)."""
_RUNS_STEP = 4_096
"""Runs of equal values `descending_order` turns between two looks at `pace`."""

VERDICT_RANK = {kind: rank for rank, kind in enumerate(SEVERITY_ORDER)}
VERDICT_NAME = {kind: kind.value for kind in SEVERITY_ORDER}
SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_SEVERITY_NAME = {severity: severity.value for severity in Severity}
"""A severity's name, looked up in C (the enum's `value` is a Python-level property)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: a fixed width, or a share of what the fixed columns leave (`flex`)."""

    label: str
    width: int = 0
    flex: int = 0
    right: bool = False
    hide_below: int = 0
    """Hidden when the table is narrower than this (cells of lesser value on small screens)."""
    age: bool = False
    """An age: the row's sort value for it is minus the activity time (None: no activity), and
    its text (`text.age`) is made by the table as it draws the line, at the table's clock: a
    row does not change as time passes (its cell in `cells` is left empty)."""


class Row(NamedTuple):
    """A tuple, not a frozen dataclass: 10,000 are built per cold poll, and compared per poll."""

    key: str
    job_id: str | None
    """The job the row is about (marks are per job), None for root-level findings."""
    cells: tuple[str, ...]
    styles: tuple[str, ...]
    sort_keys: tuple[Any, ...]
    """Per column: a plain value (compared fast) or None for an empty cell (shown last)."""
    rank: tuple[Any, ...]
    """The natural order of the table (its order before any `s`)."""
    search: str
    """Lower-case text that free-text filter terms are looked up in."""
    facets: tuple[tuple[str, str], ...]
    """(name, lower-case value) pairs for `name:value` filter terms."""

    def sort_value(self, column: int) -> Any:
        return self.sort_keys[column]


_new_row = tuple.__new__
"""`Row(...)` without the named tuple's Python-level `__new__`: `_new_row(Row, fields)`."""

JOB_COLUMNS = (
    Column("Job", 22),
    Column("Status", 13),
    Column("Verdict", 12),
    Column("Age", 5, right=True, age=True),
    Column("Ph", 5, right=True, hide_below=100),
    Column("Cost", 8, right=True, hide_below=100),
    Column("Description", flex=1),
)
TRIAGE_COLUMNS = (
    Column("Job", 22),
    Column("Verdict", 12),
    Column("Age", 5, right=True, age=True),
    Column("Reason", flex=1),
)
FINDING_COLUMNS = (
    Column("Sev", 7),
    Column("Job", 20),
    Column("Code", 22),
    Column("Message", flex=3),
    Column("Recommendation", flex=2),
)


_VERDICT_FACETS = {kind: ("verdict", kind.value) for kind in SEVERITY_ORDER}
_share = Interner(50_000)
"""Styles, statuses, phases and costs of rows, the reasons, recommendations and facets many
triage and finding rows show alike: references, not a copy per row."""


def _lower(text: str) -> str:
    """`text.lower()` without a copy when it is already lower-case (most job ids)."""
    lowered = text.lower()
    return text if lowered == text else lowered


def job_facets(state: JobState) -> tuple[tuple[str, str], ...]:
    """The facets of core's `job_facets` (what the CLI filters on), with shared objects."""
    return (
        _VERDICT_FACETS[state.verdict.kind],
        _share[("status", (state.facts.status or "").lower())],
        ("id", _lower(state.job_id)),
    )


class JobRow(tuple[Any, ...]):
    """A row of the jobs table as one flat tuple of shared values, not a graph of tuples.

    At 100,000 jobs every object per row is 100,000 objects: a `Row` (cells, styles, sort keys,
    rank, facets, an id facet: six tuples) cost ~900 bytes a job; this, one tuple of references
    to values the job's state already holds or that many rows share, ~350. What the table
    shows (`cells`, `styles`, `facets`) is put together only for the lines on screen; sorts and
    filters read single fields through `SORT_FIELDS` and `FACET_FIELDS` with C-level getters.
    """

    __slots__ = ()

    # field positions (11 fields: a tuple of 128 bytes, where 12 or 13 take 144; the id,
    # status and cost texts are made from the key, STATUS_KEY and COST_VALUE for the lines on
    # screen only, the id's lower case when a facet asks). The first three are the natural
    # rank: (verdict rank, minus the activity time or -0.0, job id). SHARED: the cell styles
    # and the search text's tail, one pair many rows share (`shared_part`).
    VERDICT, RANK_ACTIVITY, KEY, PHASE, DESCRIPTION, SHARED, STATUS_KEY = range(7)
    ACTIVITY, PHASE_INDEX, COST_VALUE, SEARCH = range(7, 11)
    RANK = 11
    """Not a field: the rank is the first three fields (`rank`; a row compares with another
    job's as its rank: their ids differ). A rank tuple of its own was 64 bytes a job (6.4 MB
    at 100,000 jobs). Past the last field, so that a getter that takes it for one fails."""

    SORT_FIELDS = (KEY, STATUS_KEY, RANK, ACTIVITY, PHASE_INDEX, COST_VALUE, SEARCH)
    """Per column of JOB_COLUMNS: the field it sorts by (None last). Verdict sorts by the
    whole natural rank (verdict first), which is what its ties fall back to anyway; the
    description by the job's own search text (`f"{description}\n{job_id}".lower()`)."""
    FACET_FIELDS = {"status": STATUS_KEY}
    """Facets read from a field (verdict, id and `is:new` are derived, see `facets`)."""
    new = False
    """Shown as a new arrival (`tagged`: a `NewJobRow`, a type, not a field)."""

    key = property(itemgetter(KEY))
    job_id = property(itemgetter(KEY))
    rank = property(itemgetter(VERDICT, RANK_ACTIVITY, KEY))
    """The natural order's sort key (what the other columns' ties are in order of)."""

    @property
    def kind(self) -> VerdictKind:
        return SEVERITY_ORDER[self[self.VERDICT]]

    @property
    def search(self) -> str:
        """Lower-case text that free-text filter terms are looked up in (the description, the
        id, the status, the verdict and its reason): made as it is read, from the job's own
        part (SEARCH: the description and the id, also the description column's sort key)
        and the tail many rows share (the status, the verdict and its reason; see
        `text_hits`, which tests the two parts as they are kept)."""
        return f"{self[self.SEARCH]}\n{self[self.SHARED][1]}"

    @property
    def cells(self) -> tuple[str, ...]:
        verdict = _NAMES[self[self.VERDICT]] + (NEW_TAG if self.new else "")
        # the age cell empty: the table makes it as it draws the line (see `Column.age`)
        job_id = self[self.KEY]
        description = self[self.DESCRIPTION]
        return (
            job_id if job_id.isprintable() else safe(job_id),  # `safe`'s own first test
            status_text(self[self.STATUS_KEY]),
            verdict,
            "",
            self[self.PHASE],
            money_text(self[self.COST_VALUE]),
            description if description.isprintable() else safe(description),
        )

    @property
    def styles(self) -> tuple[str, ...]:
        styles: tuple[str, ...] = self[self.SHARED][0]
        if not self.new:
            return styles
        tagged = f"{VERDICT_STYLE[self.kind]} underline"
        return (*styles[:2], tagged, *styles[3:])

    @property
    def facets(self) -> tuple[tuple[str, str], ...]:
        facets = (
            _VERDICT_FACETS[self.kind],
            ("status", (self[self.STATUS_KEY] or "").lower()),
            ("id", _lower(self[self.KEY])),
        )
        return (*facets, ("is", "new")) if self.new else facets

    def sort_value(self, column: int) -> Any:
        position = self.SORT_FIELDS[column]
        return self.rank if position == self.RANK else self[position]

    def tagged(self, new: bool) -> JobRow:
        """This row marked (or no longer marked) as a new arrival."""
        if self.new == new:
            return self
        return NewJobRow(self) if new else JobRow(self)


class NewJobRow(JobRow):
    """A jobs table row shown as a new arrival (the table's overlay): equal to the row it
    tags, as tuples are equal by their items."""

    __slots__ = ()
    new = True


NEW_TAG = " NEW"
_NAMES = tuple(kind.value for kind in SEVERITY_ORDER)
"""Per verdict rank, the verdict's name."""
_verdict_of = itemgetter(JobRow.VERDICT)
_rank_of = itemgetter(JobRow.VERDICT, JobRow.RANK_ACTIVITY, JobRow.KEY)
_own_text_of = itemgetter(JobRow.SEARCH)
_shared_of = itemgetter(JobRow.SHARED)
_tail_of = itemgetter(1)


def search_texts(rows: Iterable[JobRow]) -> Iterator[str]:
    """The rows' whole search texts (`JobRow.search`), made by C-level calls."""
    return map(_joined, map(_own_text_of, rows), map(_tail_of, map(_shared_of, rows)))


def _joined(own: str, tail: str) -> str:
    return f"{own}\n{tail}"


def text_hits(rows: list[JobRow], term: str) -> Iterator[bool]:
    """Per row, whether `term` is in its search text (`JobRow.search`), by C-level passes
    over the two parts the row keeps: the job's own (the description and the id) and the
    shared tail (the status, the verdict and its reason). They are joined by a newline,
    which a term made by `FilterQuery.parse` never holds (it splits on white space): such a
    term is in the whole text exactly when it is in one of the parts. A term with a newline
    is looked for in the whole text, made for it."""
    if "\n" in term:
        return map(str.__contains__, search_texts(rows), repeat(term))
    tails = map(_tail_of, map(_shared_of, rows))
    return map(
        operator.or_,
        map(str.__contains__, map(_own_text_of, rows), repeat(term)),
        map(str.__contains__, tails, repeat(term)),
    )


def sort_values(rows: Iterable[JobRow], position: int) -> Iterator[Any]:
    """The values of `rows` a column sorts by (`JobRow.SORT_FIELDS`), by C-level calls."""
    return map(_rank_of if position == JobRow.RANK else itemgetter(position), rows)


def verdict_names(rows: Iterable[JobRow]) -> Iterator[str]:
    """The rows' verdicts' names, by C-level calls."""
    return map(_NAMES.__getitem__, map(_verdict_of, rows))


def sort_value_parts(position: int) -> Callable[[JobRow], Any]:
    """A getter of a column's sort value (the rank's: of its three fields), one row at a
    time."""
    return _rank_of if position == JobRow.RANK else itemgetter(position)


_TEXT_CAP = 50_000
"""Entries a cache of shown texts keeps (a hostile root's endless distinct values are made one
by one past it)."""
_status_texts: dict[str | None, str] = {}
_phase_texts: dict[int, dict[int | None, str]] = {}
"""Per phase count, per phase index."""
_NO_TEXTS: dict[Any, str] = {}
_money_texts: dict[float | None, str] = {}
_styles: dict[bool, dict[VerdictKind, tuple[str, ...]]] = {False: {}, True: {}}
"""Per cost over budget, per verdict (a bounded number of both)."""
_SHARED_CAP = 8_192
"""Pairs `shared_part` keeps (emptied when full: the pairs rows hold stay theirs, the common
ones come back at their next use). A reason with a digit in it (a pid, an age: an active
job's, changing poll after poll) is not kept: a table of them would be garbage made again
and again."""
_DIGIT = re.compile(r"\d")
_shared_parts: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = {}


def _kept(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """`value`, remembered in `cache` under `key` while the cache is not full."""
    if len(cache) < _TEXT_CAP:
        cache[key] = value
    return value


def status_text(status: str | None) -> str:
    """A status as the jobs table shows it (made safe), one object per status."""
    text = _status_texts.get(status)
    if text is None:
        text = _kept(_status_texts, status, _share(safe(status or "?")))
    return text


def money_text(cost: float | None) -> str:
    """A cost as the jobs table shows it, one object per cost."""
    text = _money_texts.get(cost)
    if text is None:
        text = _kept(_money_texts, cost, _share(money(cost)))
    return text


def job_row(state: JobState) -> JobRow:
    """One row of the jobs table; on the cold path for every job (100,000 in a first poll), so
    kept to plain operations and to shared objects: at 100,000 jobs each byte per row is 100 KB
    of RSS. The texts many rows show alike (phase, styles) are looked up by what they are made
    from, made and shared once; the id, status and cost texts are not kept at all (`cells`
    makes them, for the lines on screen, from what the row holds anyway). No age text: the
    table makes it from the activity time as it draws the line (a row stays the same as time
    passes)."""
    facts = state.facts
    verdict = state.verdict
    kind = verdict.kind
    activity = state.activity_at
    job_id = state.job_id
    status = facts.status
    description = facts.description
    cost = facts.cost
    phase_index = facts.phase_index
    neg_activity = None if activity is None else -activity
    phase_count = facts.phase_count
    phase_text = _phase_texts.get(phase_count, _NO_TEXTS).get(phase_index)
    if phase_text is None:
        phase_text = _share(phase(phase_index, phase_count))
        if len(_phase_texts) < _TEXT_CAP:
            _kept(_phase_texts.setdefault(phase_count, {}), phase_index, phase_text)
    threshold = facts.cost_threshold
    over_budget = cost is not None and bool(threshold) and cost >= threshold
    shared = _shared_parts.get((over_budget, kind, status, verdict.reason))
    if shared is None or (type(status) is not str and status is not None):
        shared = shared_part(over_budget, kind, status, verdict.reason)
    return JobRow(
        (
            VERDICT_RANK[kind],
            neg_activity or -0.0,
            job_id,
            phase_text,
            description if type(description) is str else format(description),
            shared,
            status,
            neg_activity,
            phase_index,
            cost,
            f"{description}\n{job_id}".lower(),
        )
    )


def shared_part(
    over_budget: bool, kind: VerdictKind, status: Any, reason: str
) -> tuple[tuple[str, ...], str]:
    """A jobs row's SHARED field: (its cell styles, its search text's tail: the status, the
    verdict and its reason, lower-cased), one pair per distinct set of these (a bounded
    table). The tail is lowered apart from the job's own part: a newline joins them, and
    lower case depends on no neighbour across one (the final sigma looks past case-ignorable
    characters only), so the two lowered and joined are the whole text lowered."""
    styles = _styles[over_budget].get(kind)
    if styles is None:
        styles = _styles[over_budget][kind] = _row_styles(kind, over_budget)
    shared = (styles, f"{status}\n{VERDICT_NAME[kind]}\n{reason}".lower())
    if (
        (type(status) is str or status is None)
        and type(reason) is str
        and not _DIGIT.search(reason)
    ):
        # (only texts as keys: a status 1, 1.0 or True is equal to the others, not alike)
        if len(_shared_parts) >= _SHARED_CAP:
            _shared_parts.clear()
        _shared_parts[(over_budget, kind, status, reason)] = shared
    return shared


def _row_styles(kind: VerdictKind, over_budget: bool) -> tuple[str, ...]:
    """A jobs table row's cell styles: its verdict's, and the cost's when over the threshold."""
    return _share(("", "", VERDICT_STYLE[kind], "", "", "bold red" if over_budget else "", "dim"))


def triage_row(state: JobState) -> Row:
    """A row of the triage pane. Its rank is the order of `Snapshot.triage` (worst verdict,
    then oldest activity first), not a place in it: a job coming or going does not change
    the rows of all the others. Its age cell is made as the line is drawn (`Column.age`).
    Made for every triaged job of a first whole poll (~6,000 at 100,000 jobs): plain loads and
    subscripts (a verdict's name from `VERDICT_NAME`, not the enum's `value` property; the
    shared texts by `_share[...]`, not its Python-level call), the tuple made as `Row`'s."""
    job_id = state.job_id
    verdict = state.verdict
    kind = verdict.kind
    activity = state.activity_at
    reason = verdict.reason
    rank = VERDICT_RANK[kind]
    name = VERDICT_NAME[kind]
    return _new_row(
        Row,
        (
            job_id,
            job_id,
            (
                job_id if job_id.isprintable() else safe(job_id),  # `safe`'s own first test
                name,
                "",
                _share[reason if reason.isprintable() else safe(reason)],
            ),
            _share[("", VERDICT_STYLE[kind], "", "")],
            (job_id, rank, None if activity is None else -activity, _share[reason.lower()]),
            (rank, activity or 0.0, job_id),
            f"{job_id}\n{state.facts.status}\n{name}\n{reason}".lower(),
            job_facets(state),
        ),
    )


def finding_key(finding: Finding) -> str:
    return f"{finding.job_id or ''}\0{finding.code}"


def finding_row(finding: Finding, states: dict[str, JobState]) -> Row:
    """A row of the findings pane. Its rank is the severity, then the key (the job, then the
    code: `finding_key` puts a NUL between them, below any character of a job id), so that
    the poller keeps the natural order as lists of plain strings (`FindingOrder`). Made for
    every finding of a first whole poll (~7,000 at 100,000 jobs): plain loads and subscripts,
    as `triage_row`."""
    job_id = finding.job_id
    state = states.get(job_id) if job_id is not None else None
    facets = job_facets(state) if state is not None else ()
    severity = finding.severity
    severity_name = _SEVERITY_NAME[severity]
    code = finding.code
    message = finding.message
    recommendation = finding.recommendation
    key = f"{job_id or ''}\0{code}"  # `finding_key`
    return _new_row(
        Row,
        (
            key,
            job_id,
            (
                severity_name,
                # (`safe`'s own first test, `isprintable`, made here: three calls a finding)
                "(root)" if job_id is None else job_id if job_id.isprintable() else safe(job_id),
                code,
                message if message.isprintable() else safe(message),
                _share[
                    (recommendation if recommendation.isprintable() else safe(recommendation))
                    + (" [f]" if finding.fix is not None else "")
                ],
            ),
            _share[(SEVERITY_STYLE[severity], "", "", "", "dim")],
            (
                SEVERITY_RANK[severity],
                job_id or "",
                code,
                message.lower(),
                _share[recommendation.lower()],
            ),
            (SEVERITY_RANK[severity], key),
            f"{job_id}\n{code}\n{message}".lower(),
            (*facets, _share[("severity", severity_name)], _share[("code", code.lower())]),
        ),
    )


def descending_order(keys: list[str], values: list[Any]) -> list[str]:
    """An ascending order (ties in natural order, empty last) made descending with the same
    ties and the empty cells still last: its runs of equal values in reverse, found with
    C-level passes (a sort, even of sorted input, took 100 ms and more at 100,000). The same
    turns a descending order back. `values`: those of `keys`' cells, the non-empty ones at
    least (empty ones, if given, all at the end)."""
    present = _non_empty(values)
    absent = keys[present:]
    keys, values = keys[:present], values[:present]
    # neighbours compared a slice at a time (one pass over 100,000 held the GIL 15-35 ms)
    same: list[bool] = []
    for start in range(0, present - 1, _PASS_STEP):
        end = start + _PASS_STEP
        same += map(operator.eq, values[start:end], values[start + 1 : end + 1])
        pace()  # (made in the poll worker: a key on the event loop first)
    if not any(same):
        return keys[::-1] + absent
    starts = [0, *compress(range(1, present), map(operator.not_, same))]
    ends = [*starts[1:], present]
    starts.reverse()
    ends.reverse()
    shown: list[str] = []
    # (a Python loop over the runs was faster than one C call over 100,000 slice objects)
    for first in range(0, len(starts), _RUNS_STEP):
        last = first + _RUNS_STEP
        for start, end in zip(starts[first:last], ends[first:last], strict=True):
            shown += keys[start:end]
        pace()
    return shown + absent


def _non_empty(values: list[Any]) -> int:
    """How many of `values` are not None, the empty ones being all at the end: a bisection
    (`list.count(None)` compared every value with None: ~4 ms of 100,000)."""
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] is None:
            high = middle
        else:
            low = middle + 1
    return low
