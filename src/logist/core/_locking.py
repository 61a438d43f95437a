"""Job locks: hold one (runner, recovery) or probe one (scan) without disturbing it.

The probe never creates, deletes, touches or truncates `.lock`: it opens an existing file
O_RDONLY (enough for flock) and tries a non-blocking shared lock that it drops at once.

Every lock is dropped with an explicit unlock before the close (`unlock_and_close`): a flock
belongs to the open file, and a child forked by another thread (a subprocess starting, in the
console or the test runner) holds a copy of every descriptor until it execs. Closed without
the unlock, a lock outlived its release for as long as that child took: a recovery returned
and the next look still saw the job's lock held "by an unknown process"
(tests/reliability/test_crash_points.py, under load).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from enum import StrEnum

from ._errors import LockBusy, OutsideRoot

TYPE_CHECKING = False  # typing's, without importing typing into the runner's supervisor
if TYPE_CHECKING:
    from types import TracebackType

LOCK_NAME = ".lock"


class LockState(StrEnum):
    FREE = "free"
    HELD = "held"
    UNKNOWN = "unknown"
    """The probe could not tell (permission, odd file type, no flock on this filesystem)."""


def probe_lock(path: str | os.PathLike[str]) -> LockState:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return LockState.FREE
    except OSError:
        return LockState.UNKNOWN
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            return LockState.HELD
        return LockState.UNKNOWN
    else:
        return LockState.FREE
    finally:
        unlock_and_close(fd)  # the probe's own shared lock, if it got one


def unlock_and_close(fd: int) -> None:
    """Drop the flock held through `fd`, then close it.

    The unlock frees the lock of the open file itself, also in a forked child that still has a
    copy of the descriptor (until it execs); a close alone frees it only with the last copy.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)  # a descriptor that holds no lock: a no-op
    except OSError:
        pass  # no flock on this filesystem (a probe said "unknown"): nothing to drop
    finally:
        os.close(fd)


def lock_holder_pids(path: str | os.PathLike[str]) -> list[int]:
    """Pids that /proc/locks names as holding a flock on this file's inode.

    The kernel records the process that took the lock; a child that inherited the descriptor
    keeps it held without appearing here. Read raw: psutil has no view of /proc/locks.
    """
    try:
        st = os.stat(path, follow_symlinks=False)
        with open("/proc/locks", encoding="ascii", errors="replace") as stream:
            lines = stream.readlines()
    except OSError:
        return []
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1998 fe:00:2146416 0 EOF" ("->" marks waiters)
        if len(fields) >= 6 and fields[1] != "->" and fields[5] == wanted:
            try:
                pids.append(int(fields[4]))
            except ValueError:
                continue
    return pids


def lock_exclusive(path: str | os.PathLike[str], timeout: float, retry_s: float = 0.01) -> int:
    """Open (creating it) and exclusively `flock` a lock file; the descriptor holds the lock
    until `unlock_and_close`. TimeoutError when someone else holds it past `timeout`; ELOOP for
    a link.

    A plain flock on our own close-on-exec descriptor: the runner holds one for hours, and the
    `filelock` package alone cost it ~10 MB of RSS to import.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{path} is locked by another process") from None
                time.sleep(retry_s)
    except BaseException:
        os.close(fd)
        raise


class JobLock:
    """An exclusive hold on a job's `.lock`, released on exit.

    The descriptor is close-on-exec, so a command started by the holder never inherits the
    lock: when the holder dies, the lock is free.
    """

    def __init__(
        self, job_dir: str | os.PathLike[str], job_id: str, *, timeout: float = 0.0
    ) -> None:
        self._path = os.path.join(job_dir, LOCK_NAME)
        self._job_id = job_id
        self._timeout = timeout
        self._fd: int | None = None

    @property
    def path(self) -> str:
        return self._path

    def acquire(self) -> JobLock:
        if self._fd is not None:
            return self
        try:
            # a probe may hold a shared lock for microseconds: retry briefly even without a timeout
            self._fd = lock_exclusive(self._path, max(self._timeout, 0.05))
        except TimeoutError:
            holders = lock_holder_pids(self._path)
            raise LockBusy(self._job_id, holders[0] if holders else None) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # never lock through a link (flock would follow it)
                raise OutsideRoot(self._job_id, self._path) from None
            raise
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            unlock_and_close(fd)

    def __enter__(self) -> JobLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
