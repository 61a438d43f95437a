"""The audit log: one JSON line per action taken, in `<root>/.logist/audit.jsonl`.

Read and appended only through `_safeio`: a FIFO audit log hung `validate` and `recover` while
they held the job lock, and a `/dev/zero` in its place exhausted memory (issue 8). An append is
whole or absent: a short write (disk full) is cut back and reported, never left torn.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import stat
from pathlib import Path
from typing import Any

from ._errors import LogistError, PermissionDenied
from ._manifest import now_naive_iso
from ._root import STATE_DIR
from ._safeio import APPEND_FLAGS, UnsafeFile, open_regular, read_tail

AUDIT_NAME = "audit.jsonl"
AUDIT_READ_CAP = 64 * 1024 * 1024
"""Bytes of the log read at most (validation's look for missing lines)."""
AUDIT_TAIL_BYTES = 4 * 1024 * 1024
"""Bytes from the log's end read for the Activity view."""
AUDIT_SPACE_NEEDED = 64 * 1024
"""Free bytes the log's file system must have before an action starts."""


class AuditUnavailable(LogistError):
    """The audit log cannot take a record: nothing is done without one."""


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


def check_audit_writable(root: Path) -> None:
    """AuditUnavailable unless a record could be appended now: asked before acting, so an
    action never happens without its line (a FIFO, a link, a full disk)."""
    try:
        directory = state_dir(root)
        try:
            st: os.stat_result | None = os.lstat(directory / AUDIT_NAME)
        except FileNotFoundError:
            st = None
    except PermissionError as exc:
        raise PermissionDenied(f"the audit log under {root / STATE_DIR}") from exc
    except OSError as exc:
        raise AuditUnavailable(f"the audit log cannot be written: {exc}") from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise AuditUnavailable(
            f"{directory / AUDIT_NAME} is not a regular file: nothing is done without an audit line"
        )
    try:
        free = os.statvfs(directory)
    except OSError as exc:
        raise AuditUnavailable(f"the audit log cannot be written: {exc}") from exc
    if free.f_bavail * free.f_frsize < AUDIT_SPACE_NEEDED:
        raise AuditUnavailable(f"no free space for the audit log under {directory}")


def append_audit(root: Path, record: dict[str, Any]) -> None:
    append_records(root, AUDIT_NAME, [record])


def append_records(root: Path, name: str, records: list[dict[str, Any]]) -> None:
    """Append whole lines to `<root>/.logist/<name>` in one write and one fsync, or none.

    O_APPEND plus an exclusive flock: lines of concurrent writers never interleave, and a
    short write (disk full) is cut back to where the lines began instead of left torn;
    AuditUnavailable says so. The audit and the watch's incident journal both use it (the
    journal hands a whole pass's events at once: one fsync, not one per job).
    """
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
    payload = b"".join(chunks)
    try:
        fd = open_regular(state_dir(root) / name, APPEND_FLAGS)
    except PermissionError as exc:
        raise PermissionDenied(f"the audit log under {root / STATE_DIR}") from exc
    except (OSError, UnsafeFile) as exc:
        raise AuditUnavailable(f"the audit log cannot be written: {exc}") from exc
    try:
        # The lock covers the write and its check only: a short write is cut back before any
        # other writer appends. The fsync comes after it, so concurrent recoveries (the watch
        # runs eight) still share the file system's journal commits.
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = os.fstat(fd).st_size
        try:
            written = os.write(fd, payload)
            if written != len(payload):
                raise OSError(28, f"short write ({written} of {len(payload)} bytes)")
        except OSError as exc:
            os.ftruncate(fd, start)  # never a torn line
            raise AuditUnavailable(f"the audit line could not be written: {exc}") from exc
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise AuditUnavailable(f"the audit line could not be synced: {exc}") from exc
    finally:
        os.close(fd)


def read_audit(root: Path, limit: int | None = 200) -> list[dict[str, Any]]:
    """The newest `limit` audit records (None: all), oldest first; damaged lines are skipped."""
    return read_records(root / STATE_DIR / AUDIT_NAME, limit)


def read_records(path: Path, limit: int | None) -> list[dict[str, Any]]:
    """The newest `limit` JSON-object lines of a file, oldest first; damaged lines skipped.

    At most the last AUDIT_TAIL_BYTES (all lines: AUDIT_READ_CAP) of a regular file."""
    try:
        cap = AUDIT_READ_CAP if limit is None else AUDIT_TAIL_BYTES
        data, start, _size = read_tail(path, cap)
    except (OSError, UnsafeFile):
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if start > 0:
        lines = lines[1:]  # a cut first line
    records = []
    for line in lines if limit is None else lines[-limit:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def audited_action_ids(root: Path) -> set[str]:
    """Every action id the audit log holds (validation looks for recoveries missing here)."""
    ids: set[str] = set()
    try:
        data, _start, _size = read_tail(root / STATE_DIR / AUDIT_NAME, AUDIT_READ_CAP)
    except (OSError, UnsafeFile):
        return ids
    for line in data.decode("utf-8", "replace").splitlines():
        if '"action_id": "' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("action_id"), str):
            ids.add(record["action_id"])
    return ids
