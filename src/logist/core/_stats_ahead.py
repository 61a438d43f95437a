"""Manifests' stats taken, and changed manifests read, by a child process: on another core,
and out of the way of the GIL that the console's event loop needs.

A console's first whole scan of a big root restored from the scan cache is mostly a stat per
manifest (at 100,000 jobs ~0.4 s of CPU, most of it in the kernel) and Python work that holds
the GIL, which Textual's start-up also wants. A child process started at the first look stats
the manifests on another core meanwhile; the whole scan that follows takes its stats instead
of making them, as far as the child got, looking again as it goes: it is never waited for (on
a loaded machine it may be far behind), the scan stats the rest itself and stops it. Each stat
is then as old as if the whole scan had reached that job at the first look, which a scan's
stats spread over a second are anyway.

The child is the same interpreter in isolated mode without site (`-I -S`: no import beyond the
built-in modules): job ids in on a file, packed stat keys out on another in the ids' order,
CHUNK at a time, zeros where the stat failed or did not fit (the scan stats that one itself).

A whole scan that finds many manifests changed has a child read them (`read_in_child`): the
same interpreter, importing this package from where this process has it, hands back scan
cache entries (in the scan cache's frames), and the scan makes the states from them as from
the scan cache's.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from itertools import islice
from operator import itemgetter
from typing import IO

from . import _scan_cache

HELPER_NICENESS = 10
"""How much lower than the console's the helpers' CPU priority is (`os.nice`). Their work is
a shortcut the scan takes (it never waits for the stats) or a whole poll's reads, which the
next refresh waits for; the console's event loop (a key, a frame) is what a user waits for.
On two cores a reader of 20,000 manifests, the event loop and one more busy process are three
at once. Measured at 100,000 jobs (console bench, 3 runs each, keys pressed during a whole
poll): a key's wait beyond its own CPU, 90th percentile 13 -> 9 ms, the slowest such key 68 ->
53 ms."""
_LOWERED = f"""
import os
try:
    os.nice({HELPER_NICENESS})
except OSError:
    pass
"""
"""The first lines of each helper's script: its priority lowered before it does anything."""

_CHILD = r"""
import os, struct, sys
CHUNK = int(sys.argv[3])
pack = struct.Struct(sys.argv[4]).pack
prefix, tail = sys.argv[1], sys.argv[2]
ids = sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\n")
stat, out, written = os.stat, [], sys.stdout.buffer
failed = bytes(struct.calcsize(sys.argv[4]))
for job_id in ids:
    try:
        st = stat(prefix + job_id + tail, follow_symlinks=False)
        out.append(pack(st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size))
    except (OSError, ValueError, struct.error):
        out.append(failed)
    if len(out) == CHUNK:
        written.write(b"".join(out))
        written.flush()
        out = []
written.write(b"".join(out))
"""
CHUNK = 2_048
"""Keys the child writes at once: what it took so far is there to be taken."""
KEY_FORMAT = "<QqqI"
"""`_scan._STAT`'s format (this module is imported by it): the child packs as the scan does."""
KEY_SIZE = struct.calcsize(KEY_FORMAT)
_cut_keys = struct.Struct(f"{KEY_SIZE}s").iter_unpack
_first = itemgetter(0)
NOT_TAKEN = bytes(KEY_SIZE)
"""A job's key when the child could not stat its manifest (or it did not fit)."""


class StatsAhead:
    """The stat keys (`_scan.stat_key`'s packed form) of `prefix + job_id + tail` for each
    job id, taken by a child process from now on: `taken` holds those written when last looked
    (`refresh`), in the ids' order (`keys`: by id); `stop` ends the child wherever it is."""

    def __init__(self, prefix: str, job_ids: list[str], tail: str) -> None:
        self.job_ids = job_ids
        """The job ids given, in their order (not to be changed)."""
        self.taken: list[bytes] = []
        """The keys so far, in the ids' order (NOT_TAKEN: stat it yourself): a scan that
        reaches the jobs in that order takes a job's key by its number, not through a dict
        (at 100,000 jobs the dict's inserts and look-ups were ~60 ms of the whole scan)."""
        self._keyed: dict[str, bytes] = {}
        self._keyed_upto = 0
        """How many of `taken` are in `_keyed`."""
        self._taken = 0
        """Bytes of the child's output in `taken`."""
        self._out: IO[bytes] | None = None
        self._child: subprocess.Popen[bytes] | None = None
        listed = "\n".join(job_ids)
        if not sys.executable or not job_ids or listed.count("\n") != len(job_ids) - 1:
            return  # (a job id with a newline in it: not one per line)
        try:
            with tempfile.TemporaryFile() as ids:
                ids.write(listed.encode("utf-8", "surrogateescape"))
                ids.seek(0)
                self._out = tempfile.TemporaryFile()  # noqa: SIM115 (kept open until `stop`)
                self._child = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-S",
                        "-c",
                        _LOWERED + _CHILD,
                        prefix,
                        tail,
                        str(CHUNK),
                        KEY_FORMAT,
                    ],
                    stdin=ids,
                    stdout=self._out,
                    stderr=subprocess.DEVNULL,
                    close_fds=True,
                )
        except (OSError, ValueError, subprocess.SubprocessError):
            self._close()

    @property
    def keys(self) -> dict[str, bytes]:
        """Each job id's key so far (NOT_TAKEN: stat it yourself), for a job reached out of
        the ids' order: made when first asked for."""
        keyed, taken, done = self._keyed, self.taken, self._keyed_upto
        if done < len(taken):
            keyed.update(zip(self.job_ids[done : len(taken)], taken[done:], strict=True))
            self._keyed_upto = len(taken)
        return keyed

    @property
    def running(self) -> bool:
        """Whether more keys may come (the child was still at work when last looked)."""
        return self._child is not None

    def refresh(self) -> None:
        """Take the keys the child wrote since the last look."""
        child, out = self._child, self._out
        if out is None:
            return
        done = child is None or child.poll() is not None  # (before the read: all is in it)
        try:
            blob = os.pread(out.fileno(), KEY_SIZE * len(self.job_ids) - self._taken, self._taken)
        except OSError:
            blob = b""
            done = True
        whole = len(blob) - len(blob) % KEY_SIZE  # (a chunk being written)
        if whole:
            # each key a `bytes` of its own, cut in C (slices of the blob: 20 -> 7 ms a
            # 100,000 keys)
            self.taken += map(_first, _cut_keys(memoryview(blob)[:whole]))
            self._taken += whole
        if done:
            self._close()

    def stop(self) -> None:
        """End the child wherever it is; the keys it wrote are kept."""
        child = self._child
        if child is not None:
            with contextlib.suppress(OSError):
                if child.poll() is None:
                    child.kill()
                child.wait()
            self.refresh()
        self._close()

    def _close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
        self._out = None
        self._child = None


_READER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from logist.core._scan import entries_read
from logist.core._scan_cache import encode
listed = sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\n")[:-1]
entries = entries_read(zip(listed[::2], listed[1::2]))
sys.stdout.buffer.write(encode(("read",), entries, int(sys.argv[2])))
"""
_READ_HEADER = ("read",)
"""The header of what the reader child writes: scan cache frames (`_scan_cache.encode`), each
loaded in one short `marshal.loads` as its entries are taken (all 20,000 entries of a whole
poll at 100,000 jobs with churn in one held the GIL 20-25 ms: a wait of the console's event
loop)."""


def read_in_child(jobs: Iterable[tuple[str, str]]) -> _scan_cache.Ahead | None:
    """`_scan.entries_read(jobs)`, computed by a child process (this one's thread waits
    without the GIL), to be taken in the order of `jobs`; None when the child failed. The
    child imports this package from where this process has it. `jobs` is taken a chunk at a
    time: at 100,000 jobs a list of the pairs of a whole poll and their texts was ~4 MB alive
    through the child's work."""
    if not sys.executable:
        return None
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    pairs = iter(jobs)
    try:
        with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as out:
            while chunk := list(islice(pairs, CHUNK)):
                listed = "".join([f"{job_id}\n{manifest}\n" for job_id, manifest in chunk])
                if listed.count("\n") != 2 * len(chunk):
                    return None  # (a newline in an id or a path: not one per line)
                given.write(listed.encode("utf-8", "surrogateescape"))
            if not given.tell():
                return None
            given.seek(0)
            done = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-c",
                    _LOWERED + _READER,
                    package_parent,
                    str(_scan_cache.CHUNK_ENTRIES),
                ],
                stdin=given,
                stdout=out,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                check=False,
            )
            if done.returncode != 0:
                return None
            out.seek(0)
            split = _scan_cache.frames(out.read(), _READ_HEADER)
    except (OSError, ValueError, EOFError, TypeError, subprocess.SubprocessError):
        return None
    return None if split is None else _scan_cache.Ahead(split[1])
