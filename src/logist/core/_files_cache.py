"""`JobFiles` of every job for `logist jobs --json` at about a stat per job.

Listing each job directory for its backups, `latest-outcome.json` and workspace cost `jobs
--json` 13 % at 10,000 jobs (a listing is ~8 us, a stat ~2 us). Which of the three a directory
holds is kept between runs beside the scan cache (same rules: the user's cache directory, ours
only, dropped after a reboot), trusted while the directory's (inode, mtime, ctime) is what was
listed: adding, removing or renaming an entry changes them. What the entries hold (the backup
count, the outcome, whether the workspace is empty) is read on every run, only for the jobs that
have them. A directory changed within `RACY_NS` of its listing is not trusted later.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from . import _scan_cache
from ._identity import boot_id
from ._recorded import FILE_NAMES, NO_FILES, JobFiles, job_files, present_names

FORMAT = 1


class JobFilesReader:
    """Reads `JobFiles` for many jobs; `save()` keeps what was listed for the next run."""

    def __init__(self, root_real: str, *, persistent: bool) -> None:
        scan_file = _scan_cache.cache_file(root_real) if persistent else None
        self._path: Path | None = (
            scan_file.with_name(scan_file.name.replace("scan-", "files-", 1))
            if scan_file is not None
            else None
        )
        self._header = (FORMAT, root_real, boot_id(), FILE_NAMES)
        self._listed: dict[str, Any] = (
            _scan_cache.load(self._path, self._header) if self._path is not None else {}
        )
        self._changed = False
        self._seen: set[str] = set()
        self._now_ns = time.time_ns()

    def read(self, job_dir: str) -> JobFiles:
        self._seen.add(job_dir)
        try:
            st = os.stat(job_dir)
        except OSError:
            return NO_FILES
        key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        cached = self._listed.get(job_dir)
        if cached is not None and cached[0] == key:
            return job_files(job_dir, cached[1]) if cached[1] else NO_FILES
        present = present_names(job_dir)
        if present is not None and self._path is not None:
            if _scan_cache.is_racy(max(st.st_mtime_ns, st.st_ctime_ns), self._now_ns):
                self._listed.pop(job_dir, None)
            else:
                self._listed[job_dir] = (key, present)
            self._changed = True
        return job_files(job_dir, present)

    def save(self) -> None:
        """Keep the listings of the directories read this run: removed jobs leave the file."""
        if self._changed and self._path is not None:
            seen = self._seen
            kept = {job_dir: e for job_dir, e in self._listed.items() if job_dir in seen}
            _scan_cache.save(self._path, self._header, kept)
            self._changed = False
