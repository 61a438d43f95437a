"""What the unattended watch leaves in `<root>/.logist/`, read by the CLI and the console.

- `events.jsonl` (+ `.1`, `.2` rotated): the incident journal, one JSON object per line;
- `watch.lock`: flock held by the one running watch of the root;
- `watch-status.json`: its pid, last pass, auto-recovery mode and brake, rewritten each pass;
- `watch-brake.json`: the storm brake, persisted so that a restart does not release it.

The watch (logist.watch) writes them; this module only reads, and resets the brake for an
operator, so that the console and `logist events` need nothing above logist.core.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._audit import AUDIT_READ_CAP, state_dir
from ._locking import LockState, probe_lock
from ._manifest import atomic_write_bytes, parse_timestamp
from ._root import STATE_DIR
from ._safeio import UnsafeFile, read_regular, read_tail

EVENTS_NAME = "events.jsonl"
WATCH_LOCK = "watch.lock"
WATCH_STATUS = "watch-status.json"
BRAKE_NAME = "watch-brake.json"
ROTATED_KEPT = 2
STATUS_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """The root's watch as it last described itself, and whether it still holds its lock."""

    active: bool
    pid: int | None
    host: str | None
    last_pass_at: float | None
    auto: str
    """off | proven | inferred"""
    brake: bool
    brake_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "pid": self.pid,
            "host": self.host,
            "last_pass_at": self.last_pass_at,
            "auto": self.auto,
            "brake": self.brake,
            "brake_reason": self.brake_reason,
        }


def journal_paths(root: Path) -> list[Path]:
    """The journal's files, oldest first."""
    current = root / STATE_DIR / EVENTS_NAME
    rotated = [current.with_name(f"{EVENTS_NAME}.{n}") for n in range(ROTATED_KEPT, 0, -1)]
    return [*rotated, current]


def read_events(
    root: Path,
    *,
    job_id: str | None = None,
    since: float | None = None,
    limit: int | None = None,
    max_bytes: int | None = None,
) -> list[dict[str, Any]]:
    """Journal records, oldest first, filtered by job and by time (`ts`, epoch seconds).

    `max_bytes`: read only that much of the journal's end (the console's views re-read it
    after every poll; the whole journal may be 3 x 16 MiB)."""
    chunks: list[bytes] = []
    budget = max_bytes
    for path in reversed(journal_paths(root)):
        if budget is not None and budget <= 0:
            break
        data = _tail(path, budget)
        if data is None:
            continue
        chunks.append(data)
        if budget is not None:
            budget -= len(data)
    records = []
    for data in reversed(chunks):
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a damaged line, or one cut by the byte budget
            if not isinstance(record, dict):
                continue
            if job_id is not None and record.get("job_id") != job_id:
                continue
            if since is not None and _ts(record) < since:
                continue
            records.append(record)
    return records[-limit:] if limit else records


def _tail(path: Path, max_bytes: int | None) -> bytes | None:
    """The file's last `max_bytes` (all of it, up to the audit's read cap), read safely."""
    try:
        data, _start, _size = read_tail(path, AUDIT_READ_CAP if max_bytes is None else max_bytes)
    except (OSError, UnsafeFile):
        return None
    return data


def _ts(record: dict[str, Any]) -> float:
    ts = record.get("ts")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return float(ts)
    return parse_timestamp(record.get("at")) or 0.0


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        raw = read_regular(path, STATUS_CAP)
    except (OSError, UnsafeFile):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_brake(root: Path) -> dict[str, Any] | None:
    """The persisted brake when engaged, else None."""
    data = brake_record(root)
    return data if data is not None and data.get("engaged") is True else None


def brake_record(root: Path) -> dict[str, Any] | None:
    """The brake file as written, engaged or released (who released it, when)."""
    return _read_json(root / STATE_DIR / BRAKE_NAME)


def write_brake(root: Path, record: dict[str, Any]) -> None:
    payload = (json.dumps(record, default=str, ensure_ascii=True) + "\n").encode("ascii")
    atomic_write_bytes(state_dir(root) / BRAKE_NAME, payload)


def watch_status(root: Path) -> WatchStatus | None:
    """None when no watch ever ran on this root; `active` False when its lock is free."""
    data = _read_json(root / STATE_DIR / WATCH_STATUS)
    if data is None:
        return None
    active = probe_lock(root / STATE_DIR / WATCH_LOCK) is LockState.HELD
    brake = read_brake(root)
    pid, last, auto = data.get("pid"), data.get("last_pass_at"), data.get("auto")
    return WatchStatus(
        active,
        pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        str(data["host"]) if isinstance(data.get("host"), str) else None,
        float(last) if isinstance(last, int | float) and not isinstance(last, bool) else None,
        auto if auto in ("off", "proven", "inferred") else "off",
        brake is not None,
        str(brake.get("reason")) if brake is not None else None,
    )
