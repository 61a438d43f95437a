"""The filter of the jobs table over many rows at once, and the same filter tested in the poll
worker (no Textual here: the poller imports it, and starts before Textual is imported).

`FilterQuery.matches` is a Python call per row: at 100,000 jobs 100 ms and more. Here each term
is one C-level pass per field (`map`, `compress`). A whole poll that changed ~20,000 rows while
a filter is on used to have the event loop test the changed rows and filter the new order
(20-40 ms of its CPU, in the worst stalls left); the worker now tests them (`prefilter`) and
hands the table the rows that pass and the orders it brought, filtered.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from fnmatch import translate
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, NamedTuple

from logist._pace import pace
from logist.core import FilterQuery, is_glob

from .rows import JobRow, text_hits, verdict_names

NEW_FACET = "new"
STEP = 16_384
"""Rows in one C-level pass of `prefilter` (a few ms holding the GIL, as the poll's passes)."""


class Prefiltered(NamedTuple):
    """The jobs table's filter tested in the poll worker on a poll's rows: valid for that
    `query` and that very `rows` mapping only (the table checks both before using it)."""

    query: FilterQuery
    rows: Mapping[str, JobRow]
    passing: list[str]
    """Every key whose row passes `query`, in the order of `rows`."""
    orders: tuple[tuple[list[str], list[str]], ...]
    """(an order the poll hands over, the keys of it that pass in that order), the order by
    identity: the natural one and those of the sorted column."""


def worker_can_test(query: FilterQuery) -> bool:
    """Whether the rows that pass `query` follow from the rows alone: an `is:new` term looks
    at the new arrivals, which the event loop keeps."""
    return bool(query) and all(name != "is" for _, name, _ in query.terms)


def big_diff(changed: int, rows: int) -> bool:
    """Whether a poll that changed (or removed) `changed` of `rows` rows is taken by placing
    every line again from an order at hand rather than looking at each changed row (a
    Python step each: ~20,000 of them were 20-35 ms of the event loop at 100,000 jobs)."""
    return changed > rows // 20


def prefilter(
    query: FilterQuery, rows: Mapping[str, JobRow], orders: Iterable[list[str] | None]
) -> Prefiltered:
    """`query` tested on every row of `rows` (see `worker_can_test`), and the `orders`
    given filtered, in C-level passes of STEP rows with `pace()` between them."""
    if not worker_can_test(query):
        raise ValueError(f"not a filter the worker can test: {query.text!r}")
    keys, values = list(rows), list(rows.values())
    passing: list[str] = []
    for start in range(0, len(keys), STEP):
        pace()
        end = start + STEP
        passing += job_filter(query, keys[start:end], values[start:end], {})[0]
    wanted: set[str] = set()
    for start in range(0, len(passing), STEP):
        wanted.update(passing[start : start + STEP])
    filtered: list[tuple[list[str], list[str]]] = []
    for order in orders:
        if order is None or any(order is source for source, _ in filtered):
            continue
        kept: list[str] = []
        if len(passing) == len(keys):
            kept = order
        else:
            for start in range(0, len(order), STEP):
                pace()
                piece = order[start : start + STEP]
                kept += compress(piece, map(wanted.__contains__, piece))
        filtered.append((order, kept))
    return Prefiltered(query, rows, passing, tuple(filtered))


def job_filter(
    query: FilterQuery, keys: list[str], rows: list[JobRow], tagged: Mapping[str, object]
) -> tuple[list[str], list[JobRow]]:
    """`FilterQuery.matches` over many job rows at once, one C-level pass per term and field
    (at 100,000 jobs a few ms each; a Python call per row took 100 ms and more): the keys and
    rows that pass, in the order given. `tagged`: the keys shown as new arrivals (the `is:new`
    facet)."""
    for negate, name, values in query.terms:
        hits = term_hits(name, values, keys, rows, tagged)
        keys, rows = narrow(keys, rows, hits, negate)
    return keys, rows


def narrow(
    keys: list[str], rows: list[Any], hits: Iterable[object], negate: bool
) -> tuple[list[str], list[Any]]:
    """The keys and rows one term keeps (or, negated, drops), in two C-level passes."""
    chosen = list(map(operator.not_, hits) if negate else hits)
    return list(compress(keys, chosen)), list(compress(rows, chosen))


def term_hits(
    name: str | None,
    values: tuple[str, ...],
    keys: list[str],
    rows: list[JobRow],
    tagged: Mapping[str, object],
) -> Iterable[object]:
    """Per row, whether it has the term (truthy), as `logist.core`'s `_hit` decides."""
    if name is None:
        value = values[0]
        if is_glob(value):
            name, values = "id", values  # a free glob is matched whole against the job id
        else:
            return text_hits(rows, value)
    if name == "is":
        wanted = any(_starts(NEW_FACET, v) for v in values)
        return map(tagged.__contains__, keys) if wanted else repeat(False, len(keys))
    if name == "verdict":
        facet: Iterable[str] = verdict_names(rows)
    elif name == "id":
        facet = map(str.lower, keys)  # (the jobs table's keys are the job ids)
    elif name in JobRow.FACET_FIELDS:
        facet = map(itemgetter(JobRow.FACET_FIELDS[name]), rows)
        if name == "status":
            statuses = list(facet)
            lowered = {s: (s or "").lower() for s in set(statuses)}
            facet = map(lowered.__getitem__, statuses)
    else:
        return repeat(False, len(keys))  # no such facet: no row has it
    globs = [v for v in values if is_glob(v)]
    if not globs:
        return map(str.startswith, facet, repeat(values))
    pattern = re.compile(
        "|".join([translate(v) for v in globs] + [re.escape(v) for v in values if not is_glob(v)])
    )
    return map(pattern.match, facet)


def _starts(facet: str, wanted: str) -> bool:
    return (
        re.match(translate(wanted), facet) is not None
        if is_glob(wanted)
        else facet.startswith(wanted)
    )
