"""The three job tables of the main screen: all jobs, the triage list, validation findings.

Each is a `KeyedTable` with its own columns; the rows are built by `logist.console.rows`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..rows import FINDING_COLUMNS, JOB_COLUMNS, TRIAGE_COLUMNS
from .keyed_table import KeyedTable


class JobsTable(KeyedTable):
    """Every job of the root: filterable, sortable, markable."""

    def __init__(
        self,
        *,
        marks: set[str],
        clock: Callable[[], float] = time.time,
        id: str | None = None,
    ) -> None:
        super().__init__(
            columns=JOB_COLUMNS, marks=marks, placeholder="no jobs", clock=clock, id=id
        )


class TriageTable(KeyedTable):
    """Jobs that need an operator, worst verdict first, then oldest activity first."""

    def __init__(
        self,
        *,
        marks: set[str],
        clock: Callable[[], float] = time.time,
        id: str | None = None,
    ) -> None:
        super().__init__(
            columns=TRIAGE_COLUMNS,
            marks=marks,
            placeholder="nothing to triage",
            clock=clock,
            id=id,
        )


class FindingsTable(KeyedTable):
    """Consistency findings, errors first; `f` applies a finding's fix."""

    def __init__(self, *, marks: set[str], id: str | None = None) -> None:
        super().__init__(columns=FINDING_COLUMNS, marks=marks, placeholder="no findings", id=id)
