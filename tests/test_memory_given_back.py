"""Freed C-heap memory goes back to the system (`logist._memory`), which glibc does not do by
itself for free blocks below the heap's top: a long-lived console's RSS otherwise kept every
poll's high-water mark (measured: 110 MB free in the heap after 40 s of polls at 100,000 jobs)."""

import subprocess
import sys

import pytest

PROBE = r"""
import os, sys
from logist._memory import give_back_freed_memory

def rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

blocks = [bytes(1024) for _ in range(150_000)]  # >512 bytes: glibc's heap, not pymalloc
pin = bytes(1024)  # allocated last, at the heap's top: freeing the rest cannot shrink it
del blocks
before = rss_mb()
done = give_back_freed_memory()
after = rss_mb()
print(done, round(before), round(after))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_freed_below_the_heaps_top_is_given_back_to_the_system() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    done, before, after = out[0] == "True", float(out[1]), float(out[2])
    if not done:
        pytest.skip("not glibc: no malloc_trim")
    assert before - after > 100, f"RSS {before} MB before, {after} MB after: not given back"
