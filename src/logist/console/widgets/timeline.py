"""The watch's incident journal as table rows: one row per event, newest first.

Pure formatting (no Textual but the table class at the end): the timeline screen and a job's
detail show the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..rows import Column, Row
from ..text import safe
from .keyed_table import KeyedTable

TIMELINE_COLUMNS = (
    Column("When", 19),
    Column("Event", 13),
    Column("Job", 20),
    Column("Change", 22),
    Column("What", flex=1),
)
KIND_STYLE = {
    "verdict": "bold",
    "auto-recovery": "bold green",
    "brake-on": "bold red",
    "brake-off": "bold yellow",
    "hook-failed": "yellow",
    "watch-start": "dim",
    "watch-stop": "dim",
    "root-back": "yellow",
}
BAD_VERDICTS = frozenset({"crashed", "hung", "detached", "corrupt", "suspect"})


def _when(record: dict[str, Any]) -> tuple[str, float]:
    ts = record.get("ts")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)), float(ts)
    return "?", 0.0


def incident_text(record: dict[str, Any]) -> tuple[str, str]:
    """(change, what) of one event, for a cell or a line of a job's detail."""
    kind = record.get("kind")
    if kind == "verdict":
        change = f"{record.get('from') or 'new'} -> {record.get('to')}"
        what = str(record.get("reason") or "")
        latency = record.get("latency_s")
        if isinstance(latency, int | float):
            what += f" (seen {latency * 1000:.0f} ms after the exit)"
        return change, what
    if kind == "auto-recovery":
        change = f"{record.get('from') or '?'} -> {record.get('to') or '?'}"
        return change, f"{record.get('outcome')}: {record.get('message')}"
    if kind == "hook-failed":
        return "", f"{record.get('command')}: {record.get('reason')}"
    return "", str(record.get("reason") or record.get("by") or "")


def event_rows(records: Iterable[dict[str, Any]]) -> dict[str, Row]:
    rows = {}
    for number, record in enumerate(records):
        when, ts = _when(record)
        kind = str(record.get("kind") or "?")
        job = record.get("job_id")
        change, what = incident_text(record)
        style = KIND_STYLE.get(kind, "")
        if kind == "verdict" and record.get("to") in BAD_VERDICTS:
            style = "bold red"
        rows[f"e{number}"] = Row(
            key=f"e{number}",
            job_id=job if isinstance(job, str) else None,
            cells=(when, safe(kind), safe(job or "-"), safe(change), safe(what)),
            styles=("dim", style, "", style, ""),
            sort_keys=(ts, kind, safe(job or ""), safe(change), safe(what)),
            rank=(-number,),
            search=f"{job}\n{kind}\n{change}\n{what}".lower(),
            facets=(("kind", kind), ("job", str(job).lower())),
        )
    return rows


class TimelineTable(KeyedTable):
    """Newest first."""

    def __init__(self, *, marks: set[str], id: str | None = None) -> None:
        super().__init__(
            columns=TIMELINE_COLUMNS,
            marks=marks,
            placeholder="no incident journalled: is `logist watch` running on this root?",
            id=id,
        )
