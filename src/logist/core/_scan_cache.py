"""The persistent scan cache: what each manifest said, kept between runs of the CLI.

A monitoring check runs `logist status` every minute; without this file each run re-reads and
re-parses every manifest of the root. With it, a run stats each manifest and re-reads only those
whose stat changed, as git's index does:

- an entry is trusted only while its manifest's (inode, mtime, ctime, size) is what was read;
  ctime cannot be set back by `touch -d`, so an edit that restores the mtime is still seen;
- the racy-git rule: an entry whose manifest was modified within `RACY_NS` of being read is not
  trusted (a same-tick rewrite of the same size would keep the stat); it is simply read again;
- only what the manifest says is cached (facts and problems), never process evidence: locks,
  owners and heartbeats are observed on every run. The file is dropped after a reboot anyway,
  and when the format, the facts' shape or the code that derives them changes;
- it lives in the user's cache directory (`$XDG_CACHE_HOME/logist/`), never in the jobs root: a
  read-only monitoring user can use it, and nothing in the root changes. It is safe to delete;
  a file that is not ours, not private or not readable is ignored.

The format is `marshal` (the fastest loader of plain tuples in the standard library: 100,000
entries load in a fraction of a stat pass), in frames: the header, then the entries
CHUNK_ENTRIES at a time, each frame its length and one marshalled object. One `marshal.loads`
or `dumps` of 100,000 entries held the GIL for 0.14 s (a load) to 0.47 s (a dump): in the
console, a stall of the event loop and of every key pressed meanwhile. marshal trusts its
input, so the file is read only when it is a regular file owned by this user and not writable
by anyone else.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import marshal
import os
import secrets
import stat
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from ._identity import boot_id
from ._manifest import Problem, ProblemCode

FORMAT = 4
"""4: an entry's stat key packed as `JobState.stat` keeps it (3: a tuple of four numbers)."""
MAGIC = b"logist-cache-frames\n"
"""How a file of frames begins (a file of format 1 is one marshalled object: not used)."""
CHUNK_ENTRIES = 2_048
"""Entries per frame: each is loaded or dumped in a few ms (8,192 a frame held the GIL 11-17
ms a dump in the console's save at 100,000 jobs, a wait of its event loop each)."""
_LENGTH = struct.Struct("<Q")
RACY_NS = 2_000_000_000
"""Manifests modified this close to their read are not trusted later: the coarsest common
timestamp granularity (FAT's 2 s) fits inside it."""
SAVE_EVERY_S = 60.0
"""A long-lived scanner (the console) saves its first complete scan, then at most this often:
a save of 100,000 entries is a few tens of ms of CPU, not for every poll."""
CACHE_ENV = "LOGIST_SCAN_CACHE"
"""Set to `0` to never read or write the cache."""

Entry = tuple[Any, ...]
"""(stat key as `_scan.stat_key` makes it, facts fields, problems, manifest_ok, static): plain
data only, as marshal wants."""


def cache_file(root_real: str, kind: str = "scan") -> Path | None:
    """Where the cache of this root lives (`kind`: "scan", or "status" for the status summary
    of `_summary`); None when caching is switched off."""
    if os.environ.get(CACHE_ENV) == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(os.fsencode(root_real)).hexdigest()[:24]
    return Path(base) / "logist" / f"{kind}-{digest}.marshal"


def header(root_real: str, facts_type: type, code_stamp: bytes) -> tuple[Any, ...]:
    """What must match for the entries to be used: format, root, boot, facts shape, code."""
    names = tuple(f.name for f in fields(facts_type))
    return (FORMAT, root_real, boot_id(), names, zlib.crc32(code_stamp))


def is_racy(mtime_ns: int, read_at_ns: int) -> bool:
    return mtime_ns >= read_at_ns - RACY_NS


Stamp = tuple[int, int, int]
"""(inode, mtime_ns, size) of a cache file as written or read: what a delta file is bound to."""


def delta_file(path: Path) -> Path:
    """The file of the entries saved since `path` was (`save_delta`)."""
    return path.with_name(path.stem + ".delta" + path.suffix)


def _read_private(path: Path) -> tuple[bytes, Stamp] | None:
    """A file's bytes if it is a regular file of this user that nobody else may write
    (marshal trusts what it loads)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.geteuid()
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        ):
            return None
        with os.fdopen(os.dup(fd), "rb") as stream:
            blob = stream.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    return blob, (st.st_ino, st.st_mtime_ns, st.st_size)


def encode(
    file_header: tuple[Any, ...],
    entries: Mapping[str, Any] | Iterable[tuple[str, Any]],
    chunk_entries: int | None = None,
) -> bytes:
    """The bytes of a cache file (`write_frames`'s, in memory: for a small file, or a child
    whose memory is its own; ValueError: something in `entries` that marshal cannot write)."""
    stream = io.BytesIO()
    write_frames(stream, file_header, entries, chunk_entries)
    return stream.getvalue()


def write_frames(
    stream: BinaryIO,
    file_header: tuple[Any, ...],
    entries: Mapping[str, Any] | Iterable[tuple[str, Any]],
    chunk_entries: int | None = None,
) -> None:
    """Write a cache file to `stream` (seekable): a frame of its header, how many frames of
    entries follow and how many entries they hold, then those (ValueError: something in them
    that marshal cannot write).

    Each frame is written as it is made, and `entries` may be made as they are taken (pairs):
    only a frame's worth of either is alive at once. A whole save of 100,000 entries built them
    all first (~45 MB of tuples), and later all its frames and their join (2 x 23 MB): the
    console's RSS then held that peak until the C heap was next trimmed (a bench run's RSS
    read after such a save: 254-261 MB, else 206-235). The counts are known at the end: the
    header's frame is written again in its place then, of the same length (marshal writes
    an int below 2**31 in five bytes whatever its value). Frames of `chunk_entries`
    (CHUNK_ENTRIES by default)."""
    pairs = iter(entries.items() if isinstance(entries, Mapping) else entries)
    step = CHUNK_ENTRIES if chunk_entries is None else chunk_entries
    head_at = stream.tell() + len(MAGIC)
    head = marshal.dumps((file_header, 0, 0))
    stream.write(MAGIC + _LENGTH.pack(len(head)) + head)
    count = written = 0
    while chunk := dict(islice(pairs, step)):
        blob = marshal.dumps(chunk)
        count += len(chunk)
        del chunk
        stream.write(_LENGTH.pack(len(blob)))
        stream.write(blob)
        written += 1
        del blob
    counted = marshal.dumps((file_header, written, count))
    if len(counted) != len(head):
        raise ValueError("cache file: the counts do not fit the header's frame")
    end = stream.tell()
    stream.seek(head_at + _LENGTH.size)
    stream.write(counted)
    stream.seek(end)


def decode(
    blob: bytes, expected_header: tuple[Any, ...] | None = None
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The header and the entries of a cache file's bytes; None when they are not a whole
    file of ours (cut short, even between two frames, or longer), or (`expected_header`)
    carry another header: no entry is loaded then."""
    split = frames(blob, expected_header)
    if split is None:
        return None
    entries: dict[str, Any] = {}
    try:
        for frame in split[1]:
            chunk = marshal.loads(frame)
            if type(chunk) is not dict:
                return None
            entries.update(chunk)
    except (EOFError, ValueError, TypeError):
        return None
    return split[0], entries


def frames(
    blob: bytes, expected_header: tuple[Any, ...] | None = None
) -> tuple[tuple[Any, ...], list[memoryview], int] | None:
    """The header of a cache file's bytes, its frames of entries (not loaded) and how many
    entries they hold; None when they are not a whole file of ours, or (`expected_header`)
    carry another header."""
    view = memoryview(blob)
    if view[: len(MAGIC)] != MAGIC:
        return None
    at, end = len(MAGIC), len(view)
    first: Any = None
    found: list[memoryview] = []
    try:
        while at < end:
            (length,) = _LENGTH.unpack_from(view, at)
            at += _LENGTH.size
            if length > end - at:
                return None
            frame = view[at : at + length]
            at += length
            if first is not None:
                found.append(frame)
                continue
            first = marshal.loads(frame)
            if (
                type(first) is not tuple
                or len(first) != 3
                or type(first[1]) is not int
                or type(first[2]) is not int
            ):
                return None
            if expected_header is not None and first[0] != expected_header:
                return None
    except (EOFError, ValueError, TypeError, struct.error):
        return None
    if first is None or len(found) != first[1]:
        return None
    return first[0], found, first[2]


class Ahead:
    """The entries of frames (`frames`) taken in about the order they were written, a frame
    loaded when an entry is asked for that none loaded has, once an entry was taken from the
    last one loaded: a few frames' entries alive at a time, not all. All of them at once (a
    scan restored from the file at 100,000 jobs, or a whole poll's reads in a child) were as
    many holes in pymalloc's pools once freed (~10 MB of 80-byte blocks after a restore:
    entries and stat tuples, a size nothing kept fills again). An entry asked for far out of
    that order, or in a frame that does not load, is not found: the scan reads that manifest
    itself (an entry is only ever a shortcut)."""

    __slots__ = ("_frames", "_live", "_over", "_reached")

    LIVE = 3
    """Frames kept loaded: the entries never asked for (jobs gone from the root, or known
    already) go with their frame, past the next ones."""

    def __init__(self, written: list[memoryview], over: dict[str, Entry] | None = None) -> None:
        self._frames = written[::-1]
        """The frames not loaded yet, the next one last."""
        self._live: list[dict[str, Entry]] = []
        """The entries not taken yet of the frames loaded last, the newest last."""
        self._reached = True
        """An entry was taken from the newest frame loaded (or none is loaded yet)."""
        self._over = over or {}
        """Entries that win over the frames' (a delta file's), loaded at once."""

    def __bool__(self) -> bool:
        return bool(self._frames or self._over or any(self._live))

    def pop(self, key: str, default: Entry | None = None) -> Entry | None:
        """The entry of `key`, taken out (`default`: none found)."""
        over = self._over
        if over:
            entry = over.pop(key, None)
            if entry is not None:
                return entry
        live = self._live
        for frame in live:
            entry = frame.pop(key, None)
            if entry is not None:
                if frame is live[-1]:
                    self._reached = True
                return entry
        while self._reached and self._frames:
            try:
                chunk = marshal.loads(self._frames.pop())
            except (EOFError, ValueError, TypeError):
                continue
            if type(chunk) is not dict:
                continue
            live.append(chunk)
            if len(live) > self.LIVE:
                del live[0]
            entry = chunk.pop(key, None)
            self._reached = entry is not None
            if entry is not None:
                return entry
        return default

    def newest(self) -> dict[str, Entry] | None:
        """The entries not taken yet of the newest frame loaded, once one was taken from it
        and while no delta's entry is left to win over the frames': taking an entry from it
        is `pop`'s (a job's entry is in one frame), without `pop`'s call and its look through
        the delta and the older frames first (a scan reaches most jobs in their frames'
        order: ~25 ms of a whole scan at 100,000 jobs). None: ask `pop`."""
        if self._reached and self._live and not self._over:
            return self._live[-1]
        return None

    def clear(self) -> None:
        self._frames, self._live, self._over = [], [], {}


def _entries(blob: bytes, expected_header: tuple[Any, ...]) -> dict[str, Entry] | None:
    decoded = decode(blob, expected_header)
    return None if decoded is None else decoded[1]


def load(path: Path, expected_header: tuple[Any, ...]) -> dict[str, Entry]:
    """The entries of a cache file we wrote for this root (its delta file's over them), or
    nothing."""
    return restore(path, expected_header)[0]


def restore(
    path: Path, expected_header: tuple[Any, ...]
) -> tuple[dict[str, Entry], Stamp | None, int]:
    """The entries (a delta file's over the cache file's), the cache file's stamp (None: no
    file of ours) and how many entries it holds itself."""
    base = _read_private(path)
    if base is None:
        return {}, None, 0
    blob, stamp = base
    entries = _entries(blob, expected_header)
    del blob, base
    if entries is None:
        return {}, None, 0
    count = len(entries)
    delta = _read_private(delta_file(path))
    if delta is not None:
        newer = _entries(delta[0], (*expected_header, stamp))
        if newer:
            entries.update(newer)
    return entries, stamp, count


def restore_ahead(path: Path, expected_header: tuple[Any, ...]) -> tuple[Ahead, Stamp | None, int]:
    """`restore`'s entries as an `Ahead` (its frames loaded as a scan reaches them, the
    file's bytes kept until then), the stamp and how many entries the file holds."""
    base = _read_private(path)
    if base is None:
        return Ahead([]), None, 0
    blob, stamp = base
    split = frames(blob, expected_header)
    if split is None:
        return Ahead([]), None, 0
    delta = _read_private(delta_file(path))
    newer = None if delta is None else _entries(delta[0], (*expected_header, stamp))
    return Ahead(split[1], newer), stamp, split[2]


def _write(path: Path, write: Callable[[BinaryIO], None]) -> Stamp | None:
    """Replace `path` by what `write` writes to a file (temp file and rename: a reader sees the
    old or the new one); the new file's stamp, None when it could not be written.

    Not fsynced: after a power cut the file may be lost or empty, and then it is not used."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600
        )
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            st = os.fstat(fd)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def save(
    path: Path,
    file_header: tuple[Any, ...],
    entries: Mapping[str, Entry] | Iterable[tuple[str, Entry]],
) -> Stamp | None:
    """Replace the cache file; its stamp (None: not written). A delta file of the one it
    replaces is removed (it would not be used: it names the old file's stamp)."""
    # (ValueError: an unmarshallable value in a manifest: no cache this time)
    stamp = _write(path, lambda stream: write_frames(stream, file_header, entries))
    if stamp is not None:
        with contextlib.suppress(OSError):
            os.unlink(delta_file(path))
    return stamp


def save_delta(
    path: Path,
    file_header: tuple[Any, ...],
    base: Stamp,
    entries: Mapping[str, Entry] | Iterable[tuple[str, Entry]],
) -> bool:
    """Write the entries read since the cache file of stamp `base` was written or loaded, beside
    it: a save of what changed, not of the whole root (at 100,000 jobs a whole save was ~0.9 s
    of CPU, 0.3 s of it holding the GIL in `marshal.dumps`). False when that file is no longer
    the one on disk, or nothing could be written: then save the whole instead."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if (st.st_ino, st.st_mtime_ns, st.st_size) != base:
        return False
    delta_header = (*file_header, base)
    written = _write(delta_file(path), lambda stream: write_frames(stream, delta_header, entries))
    return written is not None


def problems_out(problems: Iterable[Problem]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((str(p.code), p.message, p.field) for p in problems)


def problems_in(rows: Iterable[tuple[str, str, str | None]]) -> tuple[Problem, ...]:
    return tuple(Problem(ProblemCode(code), message, name) for code, message, name in rows)
