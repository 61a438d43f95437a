"""What a repeated `logist status` loads: a monitor starts it every minute, and its imports
are part of every run's time (at 100,000 jobs the whole run is a few stat floors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import wait_for, write_job
from logist.core._manifest import MANIFEST_NAME

NOT_FOR_STATUS = (
    "filelock",
    "psutil",
    "textual",
    "logist.console",
    "logist.watch",
    "logist.core.recovery",
    "logist.core._acting",
    "logist.core._fixes",
    "logist.core._reattach",
)
"""The manager, the acting path and the services: what judging a root from its summary never
needs (a first run, which scans everything, may load the acting path's findings)."""


def test_a_repeated_status_loads_neither_the_manager_nor_the_services(jobs_root: Path) -> None:
    for job_id, status in (("a", "SUCCESS"), ("b", "PENDING")):
        manifest = write_job(jobs_root, job_id, status=status) / MANIFEST_NAME
        past = time.time() - 3600
        os.utime(manifest, (past, past))
    command = [sys.executable, "-X", "importtime", "-m", "logist", "status", "--root"]
    subprocess.run([*command, str(jobs_root)], capture_output=True, check=False)
    summaries = Path(os.environ["XDG_CACHE_HOME"], "logist")
    wait_for(lambda: list(summaries.glob("status-*")))  # written once the first report is out
    repeated = subprocess.run(
        [*command, str(jobs_root), "--json"], capture_output=True, text=True, check=False
    )
    assert json.loads(repeated.stdout)["job_count"] == 2
    loaded = {line.rsplit("|", 1)[-1].strip() for line in repeated.stderr.splitlines()}
    assert "logist.core._summary" in loaded
    unwanted = sorted(m for m in loaded if m.startswith(NOT_FOR_STATUS))
    assert unwanted == []
