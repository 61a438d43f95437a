"""New arrivals: jobs that turned crashed, hung or detached while the console was open.

An operator once watched the count of crashes go up for 12 s while none of five new crashes
appeared on screen: the triage list put the oldest first, and the jobs table kept its view on
the rows already shown. So a poll that finds a job newly in one of these verdicts announces it
(the app notifies and rings the bell), and the job stays *new* (marked in every table, listed
first in the triage pane, counted in the header) until the operator's cursor lands on it.

The first full poll only sets the baseline: jobs already crashed when the console opened are
not news. Pure bookkeeping on plain data; nothing here touches a widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import compress
from operator import attrgetter, is_not

from logist.core import JobState, VerdictKind

from .rows import NEW_TAG, JobRow, Row
from .text import VERDICT_STYLE

ANNOUNCED = frozenset({VerdictKind.CRASHED, VerdictKind.HUNG, VerdictKind.DETACHED})
"""Verdicts worth interrupting an operator for: something died or stopped answering."""
_kind_of = attrgetter("verdict.kind")


class Arrivals:
    """Which jobs are new (arrival order) and what each was when it arrived."""

    def __init__(self) -> None:
        self._before: dict[str, VerdictKind] | None = None
        """Announced verdicts of the last full poll; None until the baseline is taken."""
        self.new: dict[str, VerdictKind] = {}

    def observe(
        self, states: Mapping[str, JobState], triage: Iterable[str]
    ) -> list[tuple[str, VerdictKind]]:
        """Take in a full poll (`triage`: the ids of its triage rows, a superset of the
        announced jobs); returns the jobs that arrived in it, as (job id, verdict)."""
        # C-level passes: a whole poll at 100,000 jobs has ~6,000 triage rows, a Python step
        # each was ~5 ms of its apply on the event loop
        ids = list(triage)
        kinds = list(map(_kind_of, map(states.__getitem__, ids)))
        announced = list(map(ANNOUNCED.__contains__, kinds))
        now = dict(zip(compress(ids, announced), compress(kinds, announced), strict=True))
        before, self._before = self._before, now
        for job_id in [job for job in self.new if job not in now]:
            del self.new[job_id]  # recovered, finished or gone: no longer news
        if before is None:
            return []
        arrived = list(compress(now.items(), map(is_not, map(before.get, now), now.values())))
        for job_id, kind in arrived:
            self.new.pop(job_id, None)  # a second arrival counts from now
            self.new[job_id] = kind
        return arrived

    def seen(self, job_id: str | None) -> bool:
        """The operator looked at this job; returns whether it was new."""
        return job_id is not None and self.new.pop(job_id, None) is not None


def tagged_jobs(rows: Mapping[str, JobRow], new: Mapping[str, VerdictKind]) -> dict[str, JobRow]:
    """The jobs table's rows of the new jobs, tagged (shown over the table's own rows)."""
    return {job_id: rows[job_id].tagged(True) for job_id in new if job_id in rows}


def tag_new(
    rows: dict[str, Row], new: Mapping[str, VerdictKind], column: int, *, first: bool
) -> dict[str, Row]:
    """`rows` with the new jobs' verdict cells tagged (the word NEW, underlined: it reads
    without colour) and, with `first`, ranked before every other row, newest arrival first."""
    if not new:
        return rows
    tagged = dict(rows)
    count = len(new)
    for order, (job_id, kind) in enumerate(new.items()):
        row = tagged.get(job_id)
        if row is None:
            continue
        cells = list(row.cells)
        styles = list(row.styles)
        cells[column] += NEW_TAG
        styles[column] = f"{VERDICT_STYLE[kind]} underline"
        tagged[job_id] = row._replace(
            cells=tuple(cells),
            styles=tuple(styles),
            rank=(-1, count - order, *row.rank) if first else row.rank,
            facets=(*row.facets, ("is", "new")),
        )
    return tagged
