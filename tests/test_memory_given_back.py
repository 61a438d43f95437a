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


MAPPED_PROBE = r"""
import os, sys
from logist._memory import map_big_blocks

def rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

done = map_big_blocks() if sys.argv[1] == "mapped" else True
huge = b"x" * (8 << 20)  # a big block freed: glibc raises its threshold to its size
del huge
blocks, pins = [], []
for _ in range(100):  # a poll's megabyte dicts and lists, among blocks that stay
    blocks.append(b"x" * (1 << 20))
    pins.append(b"x" * 1024)
before = rss_mb()
del blocks  # no malloc_trim: freed, and given back at once or not
print(done, round(before), round(rss_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_big_blocks_freed_go_back_to_the_system_at_once_once_mapped_apart() -> None:
    """With `map_big_blocks`, megabyte blocks freed leave the RSS at once; without it, once
    glibc raised its threshold, they stay in the heap behind what was allocated after them."""
    given_back = {}
    for how in ("mapped", "default"):
        out = subprocess.run(
            [sys.executable, "-c", MAPPED_PROBE, how], capture_output=True, text=True, check=True
        ).stdout.split()
        if out[0] != "True":
            pytest.skip("not glibc: no mallopt")
        given_back[how] = float(out[1]) - float(out[2])
    assert given_back["mapped"] > 80, given_back
    assert given_back["default"] < 50, given_back  # what the console had before
