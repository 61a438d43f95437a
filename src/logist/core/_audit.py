"""The audit log: one JSON line per action taken, in `<root>/.logist/audit.jsonl`."""

from __future__ import annotations

import getpass
import json
import os
from collections import deque
from pathlib import Path
from typing import Any

from ._manifest import now_naive_iso
from ._root import STATE_DIR

AUDIT_NAME = "audit.jsonl"


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def state_dir(root: Path) -> Path:
    path = root / STATE_DIR
    if path.is_symlink():
        raise OSError(f"{path} is a symlink; refusing to write through it")
    path.mkdir(exist_ok=True)
    return path


def append_audit(root: Path, record: dict[str, Any]) -> None:
    append_records(root, AUDIT_NAME, [record])


def append_records(root: Path, name: str, records: list[dict[str, Any]]) -> None:
    """Append lines to `<root>/.logist/<name>` in one O_APPEND write and one fsync: lines of
    concurrent writers never interleave. The audit and the watch's incident journal both use it
    (the journal hands a whole pass's events at once: one fsync, not one per job)."""
    at = now_naive_iso()
    chunks = []
    for record in records:
        entry = {"at": at, **record}
        try:
            line = (json.dumps(entry, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a job id that is not UTF-8): escape it
            line = (json.dumps(entry, default=str) + "\n").encode("ascii")
        chunks.append(line)
    if not chunks:
        return
    path = state_dir(root) / name
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        view = memoryview(b"".join(chunks))
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_audit(root: Path, limit: int | None = 200) -> list[dict[str, Any]]:
    """The newest `limit` audit records (None: all), oldest first; damaged lines are skipped."""
    return read_records(root / STATE_DIR / AUDIT_NAME, limit)


def read_records(path: Path, limit: int | None) -> list[dict[str, Any]]:
    """The newest `limit` JSON-object lines of a file, oldest first; damaged lines skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = deque(stream, maxlen=limit)
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def audited_action_ids(root: Path) -> set[str]:
    """Every action id the audit log holds (validation looks for recoveries missing here)."""
    path = root / STATE_DIR / AUDIT_NAME
    ids: set[str] = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if '"action_id": "' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("action_id"), str):
                    ids.add(record["action_id"])
    except OSError:
        pass
    return ids
