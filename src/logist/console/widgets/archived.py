"""The original's archived jobs as table rows: its index's `archived_jobs` (job id, when,
why), then the `backups/*.zip` its cleanup left in the root.

Pure formatting but for the table class at the end; every cell is untrusted text made safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..rows import Column, Row
from ..text import safe
from .keyed_table import KeyedTable

ARCHIVED_COLUMNS = (
    Column("Job", 28),
    Column("Archived at", 26),
    Column("Reason", 14),
    Column("Archive", flex=1),
)


def archived_rows(entries: Iterable[dict[str, Any]]) -> dict[str, Row]:
    """One row per entry, in the order the original keeps them (its index, then the zips)."""
    rows = {}
    for number, entry in enumerate(entries):
        job = entry.get("job_id")
        cells = tuple(
            safe(entry.get(name, "")) for name in ("job_id", "archived_at", "reason", "archive")
        )
        rows[f"a{number}"] = Row(
            key=f"a{number}",
            job_id=None,  # no longer a job of the root: nothing to act on
            cells=cells,
            styles=("", "dim", "", "dim"),
            sort_keys=cells,
            rank=(number,),
            search="\n".join(cells).lower(),
            facets=(("job", str(job).lower()),),
        )
    return rows


class ArchivedTable(KeyedTable):
    """In the original's order."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            columns=ARCHIVED_COLUMNS,
            marks=set(),
            placeholder="no archived job: the index lists none and backups/ holds no .zip",
            id=id,
        )
