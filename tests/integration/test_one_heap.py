"""The console's threads allocate from one glibc heap (`logist._memory.one_heap`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

ARENAS = r"""
import ctypes, os, sys, threading
if sys.argv[1] == "poller":
    import time
    from logist.console.poller import Poller
    from logist.core import JobRecoveryManager
    Poller(manager=JobRecoveryManager(sys.argv[2]), clock=time.time)
def allocate():
    kept = [bytearray(2000) for _ in range(2000)]
    del kept
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
os.dup2(1, 2)  # malloc_stats prints on stderr: one "Arena N:" line per arena in use
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, root: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, mode, root], capture_output=True, text=True, check=True
    )
    return done.stdout.count("Arena ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_console_poller_keeps_its_threads_on_one_heap(tmp_path) -> None:
    (tmp_path / "jobs_index.json").write_text('{"jobs": []}')
    # threads of a plain process get arenas of their own (the check can fail)
    assert arenas("plain", str(tmp_path)) > 1
    assert arenas("poller", str(tmp_path)) == 1
