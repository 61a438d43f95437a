"""The incident journal `<root>/.logist/events.jsonl`: one JSON object per line, size-capped.

Lines go through the audit's append (`append_records`: one O_APPEND write and one fsync per
pass); when the file passes its cap it is renamed to `.1` (and `.1` to `.2`) before the next
write. Only the root's one watch (it holds `watch.lock`) writes here, so rotating needs no
other lock. Readers (`logist events`, the console) read the rotated files too.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from pathlib import Path
from typing import Any

from logist.core._audit import append_records
from logist.core._journal import EVENTS_NAME, journal_paths
from logist.core._root import STATE_DIR

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class Journal:
    """Appends events; never raises (a journal that cannot be written is logged, not fatal)."""

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.written = 0
        self.failed = 0

    def write(self, events: list[dict[str, Any]]) -> bool:
        if not events:
            return True
        try:
            self._rotate_if_full()
            append_records(self.root, EVENTS_NAME, events)
        except OSError as exc:
            self.failed += len(events)
            log.warning("journal not written (%d events): %s", len(events), exc)
            return False
        self.written += len(events)
        return True

    def _rotate_if_full(self) -> None:
        """Names are renamed inside the state directory opened without following a link: a
        `.logist` that is a symlink out of the root is refused, never rotated through."""
        names = [path.name for path in journal_paths(self.root)]  # oldest first: .2, .1, current
        try:
            directory = os.open(
                self.root / STATE_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            )
        except FileNotFoundError:
            return
        try:
            try:
                size = os.stat(names[-1], dir_fd=directory, follow_symlinks=False).st_size
            except FileNotFoundError:
                return
            if size < self.max_bytes:
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(names[0], dir_fd=directory)
            for older, newer in itertools.pairwise(names):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(newer, older, src_dir_fd=directory, dst_dir_fd=directory)
        finally:
            os.close(directory)


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """One journal record: `kind`, `ts` (epoch seconds) and the given fields."""
    return {"kind": kind, "ts": round(time.time(), 6), **fields}
