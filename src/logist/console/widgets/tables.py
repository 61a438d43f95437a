"""The three job tables of the main screen: all jobs, the triage list, validation findings.

Each is a `KeyedTable` with its own columns; the rows are built by `logist.console.rows`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from ..rows import FINDING_COLUMNS, JOB_COLUMNS, TRIAGE_COLUMNS, Column
from .keyed_table import KeyedTable


class _PaneTable(KeyedTable):
    """A table of the main screen: its columns and what it says when empty are the class's."""

    COLUMNS: ClassVar[tuple[Column, ...]]
    PLACEHOLDER: ClassVar[str]

    def __init__(
        self,
        *,
        marks: set[str],
        clock: Callable[[], float] = time.time,
        id: str | None = None,
    ) -> None:
        super().__init__(
            columns=self.COLUMNS, marks=marks, placeholder=self.PLACEHOLDER, clock=clock, id=id
        )


class JobsTable(_PaneTable):
    """Every job of the root: filterable, sortable, markable."""

    COLUMNS = JOB_COLUMNS
    PLACEHOLDER = "no jobs"


class TriageTable(_PaneTable):
    """Jobs that need an operator, worst verdict first, then oldest activity first."""

    COLUMNS = TRIAGE_COLUMNS
    PLACEHOLDER = "nothing to triage"


class FindingsTable(_PaneTable):
    """Consistency findings, errors first; `f` applies a finding's fix."""

    COLUMNS = FINDING_COLUMNS
    PLACEHOLDER = "no findings"
