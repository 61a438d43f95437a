"""Writing the jobs index the way the original Logist reads it.

The original enumerates jobs from `jobs_index.json` alone, so a job it is not told about does not
exist for it. Writers take `<root>/.jobs_index.lock` (an exclusive flock, as the original's
`JobDirectoryManager` does), re-read the index, change one entry in the index's own schema, and
replace the file atomically. An index that is missing or unreadable is never created or rewritten
here: that is the original's file, and a guess would lose what it holds.
"""

from __future__ import annotations

import json
import os

from ._locate import INDEX_LOCK_NAME, INDEX_NAME
from ._locking import lock_exclusive, unlock_and_close
from ._manifest import atomic_write_bytes, now_naive_iso
from ._safeio import UnsafeFile, read_regular

TYPE_CHECKING = False  # typing's, without importing typing into the runner's supervisor
if TYPE_CHECKING:
    from typing import Any

INDEX_SIZE_CAP = 64 * 1024 * 1024


def indexed_directory(root: str | os.PathLike[str], job_id: str) -> str | None:
    """The directory the index names for `job_id` when it is another directory of the root
    (the original's `job create` indexes a spec's job_id over the directory's own name)."""
    try:
        data = _read_index_data(os.path.join(root, INDEX_NAME))
    except OSError:  # no index, or none that can be read: no other directory is named
        return None
    path = _entry_path(data["jobs"].get(job_id)) if data is not None else None
    if path is None:
        return None
    candidate = path if os.path.isabs(path) else os.path.join(root, path)
    resolved = os.path.realpath(candidate)
    if os.path.dirname(resolved) != os.path.realpath(root) or not os.path.isdir(resolved):
        return None
    return os.path.join(root, os.path.basename(resolved))


def register_job(
    root: str | os.PathLike[str], job_id: str, status: str | None, *, timeout: float = 5.0
) -> bool:
    """Add `job_id` (directory `<root>/<job_id>`) to an existing index; True when added.

    Nothing is written when there is no index, it cannot be read, or it already names the job
    or its directory under any key. The queue and `current_job_id` are left alone: a job run by
    `logist run` is not the original's to execute or select.
    """
    index_path = os.path.join(root, INDEX_NAME)
    lock_path = os.path.join(root, INDEX_LOCK_NAME)
    if not os.path.isfile(index_path) or os.path.islink(index_path) or os.path.islink(lock_path):
        return False
    directory = os.path.join(root, job_id)
    try:
        lock = lock_exclusive(lock_path, timeout)
        try:
            data = _read_index_data(index_path)
            if data is None:
                return False
            jobs = data["jobs"]
            if job_id in jobs or any(_names(value, directory, root) for value in jobs.values()):
                return False
            old_schema = bool(jobs) and all(isinstance(v, dict) for v in jobs.values())
            jobs[job_id] = (
                {
                    "job_id": job_id,
                    "status": status,
                    "created_at": now_naive_iso(),
                    "directory": directory,
                }
                if old_schema
                else directory
            )
            payload = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
            atomic_write_bytes(index_path, payload)
        finally:
            unlock_and_close(lock)
    except (OSError, UnicodeEncodeError) as exc:  # TimeoutError included
        import logging  # only on this path: the runner's supervisor stays light

        logging.getLogger(__name__).warning(
            "job %s not registered in %s: %s", job_id, INDEX_NAME, exc
        )
        return False
    return True


def _read_index_data(index_path: str) -> dict[str, Any] | None:
    try:
        raw = read_regular(index_path, INDEX_SIZE_CAP)
    except UnsafeFile:  # a FIFO, a device, a link, or over the cap: never guessed at
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    jobs = data.setdefault("jobs", {})
    return data if isinstance(jobs, dict) else None


def _entry_path(value: object) -> str | None:
    """The directory an index entry names, in the index's schemas: a path, or (very old) an
    object with a `directory`."""
    path = value.get("directory") if isinstance(value, dict) else value
    return path if isinstance(path, str) and path else None


def _names(value: object, directory: str, root: str | os.PathLike[str]) -> bool:
    path = _entry_path(value)
    if path is None:
        return False
    candidate = path if os.path.isabs(path) else os.path.join(root, path)
    return os.path.realpath(candidate) == os.path.realpath(directory)
