"""Job logs, read-only: which file is the job's log, its tail, and following it.

Every read goes through `_safeio`: a FIFO as the log hung the console's log view and
`reattach --follow`, and a log symlinked out of the job directory was read (issue 8).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._results import LogChunk
from ._safeio import UnsafeFile, confined, read_tail
from ._scan import JobState

LOG_READ_CAP = 256 * 1024
"""Bytes of a log read at most per call (a tail, or one step of following)."""


def log_path(state: JobState) -> str | None:
    """The job's log, only a regular file confined to the job directory: the runner's recorded
    log, else the newest `logs/*.log`."""

    def usable(candidate: str) -> bool:
        return confined(state.path, candidate) and os.path.isfile(candidate)

    if state.facts.log_path and usable(state.facts.log_path):
        return state.facts.log_path
    logs = state.path / "logs"
    if not confined(state.path, logs):
        return None
    try:
        with os.scandir(logs) as it:
            found = [
                (entry.stat(follow_symlinks=False).st_mtime, entry.path)
                for entry in it
                if entry.name.endswith(".log") and entry.is_file(follow_symlinks=False)
            ]
    except OSError:
        return None
    return max(found)[1] if found else None


def read_log(path: str, offset: int | None, max_bytes: int = LOG_READ_CAP) -> LogChunk:
    """Complete lines of a log from `offset` (None: its last `max_bytes`), for following.

    A line being written is never shown half.
    """
    try:
        size = os.stat(path, follow_symlinks=False).st_size
        restarted = offset is None or offset > size or size - offset > max_bytes
        data, start, _size = read_tail(path, max_bytes, None if restarted else offset)
    except (OSError, UnsafeFile):
        return LogChunk(path, (), offset or 0)
    end = data.rfind(b"\n") + 1
    skip = data.find(b"\n") + 1 if restarted and start > 0 else 0  # a cut first line
    lines = data[skip:end].decode("utf-8", errors="replace").splitlines()
    return LogChunk(path, tuple(lines), start + end if end else start, restarted)


def tail_file(path: Path, lines: int, max_bytes: int = LOG_READ_CAP) -> list[str]:
    """The last `lines` lines of a regular file, reading at most `max_bytes` from its end."""
    if lines <= 0:
        return []  # a [-0:] slice would keep every line
    try:
        data, _start, _size = read_tail(path, max_bytes)
    except (OSError, UnsafeFile):
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]
