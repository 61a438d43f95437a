"""Every open of a file a stranger may control asks what the file is (OpenSSH's `safe_path`).

A FIFO where a manifest, a backup, the index, the audit log, a heartbeat or a log should be
used to hang `status`, `validate` and the runner; a link to `/dev/zero` exhausted memory; a
`.backups` link led `validate --fix` out of the root (issue 8). Here a path is opened
non-blocking and without following a link, the descriptor (not the name) is checked to be a
regular file, and at most a cap is read. `confined` is the one confinement predicate: no
component below a base directory is a symlink.
"""

from __future__ import annotations

import os
import stat

from ._errors import LogistError, OutsideRoot

READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeFile(LogistError):
    """A path that should be a regular file is something else, or is larger than accepted."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = str(path)
        self.why = why


def file_kind(mode: int) -> str:
    """A human name of a file type, for findings and refusals."""
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISLNK, "symlink"),
    ):
        if test(mode):
            return name
    return "special file"


def open_regular(path: str | os.PathLike[str], flags: int = READ_FLAGS, mode: int = 0o644) -> int:
    """A descriptor of `path` once it is known to be a regular file; UnsafeFile otherwise.

    Opening a FIFO non-blocking never waits for a peer (a FIFO without reader refuses a writer
    with ENXIO); a symlink fails with ELOOP. Either way the caller gets UnsafeFile, not a hang.
    """
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeFile(path, "is a symlink; never followed") from exc
        if exc.errno == 6:  # ENXIO: a FIFO opened for writing with no reader
            raise UnsafeFile(path, "is a FIFO, not a regular file") from exc
        raise
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafeFile(path, f"is a {file_kind(st.st_mode)}, not a regular file")
    return fd


def read_regular(path: str | os.PathLike[str], cap: int) -> bytes:
    """The whole file, at most `cap` bytes; UnsafeFile when it is special or larger."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise UnsafeFile(path, f"is {size} bytes, over the {cap}-byte cap")
        data = read_at_most(fd, cap + 1, size)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise UnsafeFile(path, f"grew over the {cap}-byte cap")
    return data


def read_at_most(fd: int, limit: int, expected: int | None = None) -> bytes:
    """Up to `limit` bytes; one read() when the file is the `expected` size fstat said (the
    scan reads every manifest this way)."""
    if expected is not None:
        first = os.read(fd, min(expected + 1, limit))
        if len(first) <= expected:
            return first  # short read at EOF: the whole file
        chunks, remaining = [first], limit - len(first)
    else:
        chunks, remaining = [], limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_tail(
    path: str | os.PathLike[str], max_bytes: int, offset: int | None = None
) -> tuple[bytes, int, int]:
    """(data, start, size): from `offset` (or the last `max_bytes`) of a regular file."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - max_bytes) if offset is None else min(offset, size)
        os.lseek(fd, start, os.SEEK_SET)
        return read_at_most(fd, min(size - start, max_bytes)), start, size
    finally:
        os.close(fd)


def make_dir(path: str | os.PathLike[str]) -> None:
    """`Path.mkdir(exist_ok=True)` without pathlib (the runner's supervisor never imports it):
    a directory already there is fine, anything else there is an error."""
    try:
        os.mkdir(path)
    except OSError:
        if not os.path.isdir(path):
            raise


def confined(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether `path` lies below `base` with no symlink in any component after `base`.

    Components that do not exist yet are fine (they would be created, not followed).
    """
    current = os.path.abspath(base)
    base_parts = _parts(current)
    parts = _parts(os.path.abspath(path))
    if len(parts) <= len(base_parts) or parts[: len(base_parts)] != base_parts:
        return False
    for part in parts[len(base_parts) :]:
        if part in ("..", "."):
            return False
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return False
        except FileNotFoundError:
            return True
        except OSError:
            return False
    return True


def _parts(absolute: str) -> list[str]:
    """The components below `/` of an absolute path (not pathlib's `parts`: the runner's
    supervisor confines its job directory and never imports pathlib)."""
    return [part for part in absolute.split("/") if part]


def require_confined(
    job_id: str, base: str | os.PathLike[str], *paths: str | os.PathLike[str]
) -> None:
    """OutsideRoot unless every path is `confined` below `base` (and `base` is no link)."""
    if os.path.islink(base):
        raise OutsideRoot(job_id, base)
    for path in paths:
        if not confined(base, path):
            raise OutsideRoot(job_id, path)
