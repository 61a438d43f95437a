"""Activity: every result of this session (refusals too) and the root's audit log.

The session list says what this console did and why something was refused; the audit log
(`manager.audit_log()`) says what was done to the root by anyone, this console included.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logist.core import ActionResult

from ..rows import Column, Row
from ..text import safe
from .keyed_table import KeyedTable

ACTIVITY_COLUMNS = (
    Column("When", 8),
    Column("Who", 10),
    Column("Action", 14),
    Column("Job", 20),
    Column("Result", 10),
    Column("Message", flex=1),
)
OUTCOME_STYLE = {
    "recovered": "bold green",
    "adopted": "bold green",
    "fixed": "bold green",
    "watching": "green",
    "no-op": "dim",
    "planned": "dim",
    "refused": "bold #af5f00",
    "failed": "bold red",
}


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """One result this console received, with when it arrived."""

    at: float
    result: ActionResult


def session_rows(entries: Iterable[SessionEntry]) -> dict[str, Row]:
    rows = {}
    for number, entry in enumerate(entries):
        result = entry.result
        outcome = str(result.outcome)
        message = result.message + (f" ({result.error})" if result.error else "")
        rows[f"s{number}"] = Row(
            key=f"s{number}",
            job_id=result.job_id,
            cells=(
                time.strftime("%H:%M:%S", time.localtime(entry.at)),
                "you",
                result.action,
                safe(result.job_id or "(root)"),
                outcome,
                safe(message),
            ),
            styles=("dim", "", "bold", "", OUTCOME_STYLE.get(outcome, ""), ""),
            sort_keys=(entry.at, "", result.action, result.job_id or "", outcome, message),
            rank=(-number,),
            search=f"{result.job_id}\n{result.action}\n{message}".lower(),
            facets=(("result", outcome),),
        )
    return rows


def audit_rows(records: Iterable[dict[str, Any]]) -> dict[str, Row]:
    rows = {}
    for number, record in enumerate(records):
        at = record.get("at")
        when = at[11:19] if isinstance(at, str) and len(at) >= 19 else "?"
        change = ""
        if record.get("from_status") or record.get("to_status"):
            change = f"{record.get('from_status')} -> {record.get('to_status')}: "
        result = safe(record.get("result") or "")
        job = record.get("job_id")
        rows[f"a{number}"] = Row(
            key=f"a{number}",
            job_id=job if isinstance(job, str) else None,
            cells=(
                safe(when),
                safe(record.get("operator") or "?"),
                safe(record.get("action") or "?"),
                safe(job or "(root)"),
                "done",
                safe(change) + result,
            ),
            styles=("dim", "", "bold", "", "green", ""),
            sort_keys=tuple(
                safe(c or "")
                for c in (at, record.get("operator"), record.get("action"), job, "", result)
            ),
            rank=(-number,),
            search=f"{job}\n{record.get('action')}\n{result}".lower(),
            facets=(),
        )
    return rows


class ActivityTable(KeyedTable):
    """Newest first."""

    def __init__(self, *, marks: set[str], placeholder: str, id: str | None = None) -> None:
        super().__init__(columns=ACTIVITY_COLUMNS, marks=marks, placeholder=placeholder, id=id)
