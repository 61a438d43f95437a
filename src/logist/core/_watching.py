"""Event-driven detection: which jobs to re-judge now, shared by `logist watch` and the console.

One selector, one thread, no polling of `/proc`:
- a pidfd per local owner of an active job (and per command of a detached job): it turns
  readable when that process exits, so a death is known within the wake-up of one `epoll_wait`;
- one inotify descriptor (inotify_simple) with non-recursive watches on the root (jobs and the
  index coming and going) and on the directories of active jobs (manifest replaced, heartbeat
  touched while the job is judged hung);
- the periodic pass, for whatever cannot be watched: owners on other hosts, a root on a network
  filesystem (no inotify across hosts), more owners than descriptors, inotify limits, and
  verdicts that change with time alone (a heartbeat growing old, a job going quiet).

Every selector and inotify change happens in the thread that waits; `follow()` from another
thread (the console's poll worker) only hands over the new job list and wakes the waiter.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import selectors
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import attrgetter, is_, is_not, or_
from pathlib import Path

from inotify_simple import INotify, flags

from logist._pace import pace

from ._health import NETWORK_FS, filesystem_type
from ._identity import Liveness, boot_id, host_name, identity_from_record, read_proc_stat
from ._manifest import MANIFEST_NAME, Fingerprint
from ._root import INDEX_NAME
from ._scan import HEARTBEAT_NAME, JobState
from ._states import ACTIVE_STATES, Category
from ._verdicts import VerdictKind

log = logging.getLogger(__name__)

ROOT_MASK = (
    flags.CREATE
    | flags.DELETE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.CLOSE_WRITE
    | flags.DELETE_SELF
    | flags.MOVE_SELF
    | flags.ONLYDIR
)
FILE_MASK = flags.CLOSE_WRITE | flags.ATTRIB | flags.DELETE_SELF | flags.MOVE_SELF
"""On a job's manifest itself, not its directory: written in place (Logist's tools), replaced
(our atomic rename drops the old inode's link count: ATTRIB) or deleted. A directory watch
would also wake us for every heartbeat: 1,000 runners beating every 5 s, 200 times a second
to learn nothing. The heartbeat file is watched only while its job is judged hung."""
REPROBE_S = 30.0
"""`quiet()` answers "none" this often, so that a scan probes every job in full again: what
no event reports (a live owner releasing its lock) is still seen within this."""
RESERVED_FDS = 64
"""Descriptors left for everything else (manifests read, sockets, hooks)."""


@dataclass(frozen=True, slots=True)
class Wake:
    """Why `wait()` returned."""

    jobs: frozenset[str] = frozenset()
    """Re-judge these jobs now."""
    everything: bool = False
    """Rescan the whole root: jobs or the index came or went, the root came back, overflow."""
    periodic: bool = False
    """The periodic pass is due: re-judge what events cannot see (see `watched`, `tracked`)."""
    exits: dict[str, float] = field(default_factory=dict)
    """Job -> wall-clock time its tracked process was seen exiting (for the death latency)."""
    interrupted: bool = False
    """`interrupt()` was called (stop, or a request from another thread)."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """What is watched by events and what is left to the periodic pass (status and metrics)."""

    pidfds: int
    job_files: int
    root_watched: bool
    unwatched: int
    """Active jobs left to the periodic pass (remote owner, no identity, limits)."""
    reason: str | None = None
    """Why the root is not watched by events at all (network filesystem, no inotify)."""


@dataclass(frozen=True, slots=True)
class _Tracked:
    pid: int
    start_token: int
    jobs: tuple[tuple[str, bool], ...]
    """Every job this process runs, each with whether it is the job's owner (else the command
    of a detached job). One process may own many jobs: one pidfd for all of them (with one
    per process and job kept, all but one of 200 jobs of one owner were due at every pass)."""


PASS_STEP = 4_096
"""States in one C-level pass (~1 ms holding the GIL: 16,384 states scattered in memory were
~4 ms, and the console's watching thread, which makes these passes for every new dict of
states a poll brings, does not step aside for a key between them otherwise: `pace`)."""
PACE_EVERY_JOB = 255
"""`pace()` every 256 active jobs followed (see `logist._pace`)."""


def _maybe_active(states: Iterable[JobState]) -> list[JobState]:
    """The states that may be active, found by C-level passes: those with evidence (what an
    active job's judgement keeps) or an active status. The rest cannot be (`JobState.category`);
    a Python look at each of 100,000 states was ~60 ms of every light tick. PASS_STEP states
    a pass: one pass over 100,000 held the GIL 15-20 ms (a wait of the console's event loop)."""
    states = list(states)
    found: list[JobState] = []
    for start in range(0, len(states), PASS_STEP):
        pace()  # a key on the console's event loop first
        piece = states[start : start + PASS_STEP]
        candidates = map(
            or_,
            map(is_not, map(_EVIDENCE, piece), repeat(None)),
            map(ACTIVE_STATES.__contains__, map(_STATUS, piece)),
        )
        found += compress(piece, candidates)
    return found


def _active(states: Iterable[JobState]) -> list[JobState]:
    return [state for state in _maybe_active(states) if state.category is Category.ACTIVE]


_EVIDENCE = attrgetter("evidence")
_STATUS = attrgetter("facts.status")


class Watching:
    """Waits for the next reason to re-judge jobs; see the module docstring."""

    def __init__(
        self,
        root: Path,
        *,
        interval: float = 2.0,
        max_pidfds: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.interval = interval
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._wakeup = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._selector.register(self._wakeup, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._pending: dict[str, JobState] | list[JobState] | None = None
        self._interrupted = False
        self._max_pidfds = _pidfd_budget() if max_pidfds is None else max_pidfds
        self._pidfds: dict[tuple[int, int], tuple[int, _Tracked]] = {}
        """(pid, start token) -> its pidfd and the jobs it runs; the selector's data is the key."""
        self._exited: dict[str, float] = {}
        self._changed: set[str] = set()
        """Jobs whose manifest changed before its watch was (re-)added."""
        self._inotify: INotify | None = None
        self._root_wd: int | None = None
        self._files: dict[str, tuple[int, ...]] = {}
        """Job -> the watch descriptors of its manifest (and heartbeat while hung)."""
        self._wd_job: dict[int, str] = {}
        self._unwatched = 0
        self._reason: str | None = None
        self._next_pass = self._clock() + interval
        self._quiet: frozenset[str] = frozenset()
        self._tracked: frozenset[str] = frozenset()
        self._watched: frozenset[str] = frozenset()
        self._active_memo: tuple[dict[str, JobState], list[JobState]] | None = None
        """The active states of the dict `due()` or `follow()` was last given (the same dict
        is given to both: found once). States never change."""
        self._followed: list[JobState] = []
        """The active states `_track` last followed, as they were then."""
        self._dropped = False
        """A pidfd or a file watch was let go since `_track` (it is to be taken again)."""
        self._beats: dict[str, float] = {}
        """Job -> its newest heartbeat seen by `due()` (one caller thread: the pass's)."""
        self._reprobed_at = self._clock()
        self._everything = False
        """The root was (re-)watched: whatever happened before is unknown, read it all."""
        self._open_inotify()

    # ---- any thread ------------------------------------------------------------------------

    def follow(self, jobs: Mapping[str, JobState] | Iterable[JobState]) -> None:
        """The jobs as just judged: watch their owners and directories from now on. A dict
        (job id -> state) is never changed after, as in `due()`."""
        pending = (
            jobs
            if isinstance(jobs, dict)
            else list(jobs.values() if isinstance(jobs, Mapping) else jobs)
        )
        with self._lock:
            self._pending = pending
        os.eventfd_write(self._wakeup, 1)

    def interrupt(self) -> None:
        """Make `wait()` return now (stop, a key pressed, a setting changed)."""
        with self._lock:
            self._interrupted = True
        os.eventfd_write(self._wakeup, 1)

    def quiet(self) -> frozenset[str]:
        """Jobs whose owner is alive by its pidfd and whose manifest is unwritten since it was
        judged: a scan need not probe their lock and identity again (`Scanner.quiet`). Safe
        from any thread (a frozenset rebuilt by the waiting thread)."""
        now = self._clock()
        if now - self._reprobed_at >= REPROBE_S:
            self._reprobed_at = now
            return frozenset()
        return self._quiet

    def tracked(self) -> frozenset[str]:
        """Jobs whose owner (or detached command) is held by a pidfd: a death wakes us. Safe
        from any thread, like `quiet()`."""
        return self._tracked

    def watched(self) -> frozenset[str]:
        """Jobs whose manifest is watched: a write wakes us. Safe from any thread."""
        return self._watched

    def due(
        self,
        states: Mapping[str, JobState] | Iterable[JobState],
        *,
        lease_factor: float,
        interval: float,
        now: float,
    ) -> frozenset[str]:
        """Jobs a light pass must re-judge: what no event of ours can have told us about.

        The one rule of `logist watch`'s light pass and the console's light tick. A job whose
        manifest is watched and whose owner (or detached command) is held by a pidfd changes
        verdict without an event only when its heartbeat grows old (hung): one stat of the
        heartbeat says whether it may be past its lease before the next pass (`interval`
        seconds on). A crashed job with a watched manifest cannot change without a write.
        Every other active job (remote owners, legacy and unowned jobs, suspects, whatever
        could not be watched) is due each time; resting jobs wait for the next whole pass.
        `states` as a dict (job id -> state) never changed after (a snapshot's jobs): its
        active states are kept until another dict comes (a light tick that changed no job
        hands on the same one)."""
        tracked, watched = self.tracked(), self.watched()
        due = []
        beats, self._beats = self._beats, {}
        for state in self._active_states(states):
            job_id, kind = state.job_id, state.verdict.kind
            if job_id in watched and (
                kind is VerdictKind.CRASHED
                or (job_id in tracked and kind in (VerdictKind.HUNG, VerdictKind.DETACHED))
                or (
                    job_id in tracked
                    and kind is VerdictKind.RUNNING
                    and not self._heartbeat_due(state, beats, lease_factor, interval, now)
                )
            ):
                continue
            due.append(job_id)
        return frozenset(due)

    def _active_states(self, states: Mapping[str, JobState] | Iterable[JobState]) -> list[JobState]:
        """The active ones of `states`; of a dict, kept with it (a pass over 100,000 states,
        ~20 ms of every light tick, made again only for another dict)."""
        if isinstance(states, Mapping):
            memo = self._active_memo  # one tuple, set by either thread
            if memo is not None and memo[0] is states:
                return memo[1]
            found = _active(states.values())
            if isinstance(states, dict):
                self._active_memo = (states, found)
            return found
        return _active(states)

    def _heartbeat_due(
        self,
        state: JobState,
        beats: dict[str, float],
        lease_factor: float,
        interval: float,
        now: float,
    ) -> bool:
        """True when the heartbeat may be past its lease within `interval` seconds.

        A heartbeat only moves forward: the newest beat known (judged, or stat'ed by an
        earlier call) far enough from its lease needs no stat. At 1,000 runners beating every
        5 s this stats about a fifth of them per call instead of all."""
        beat_every = state.observation.heartbeat_interval
        if beat_every is None:
            return True
        margin = lease_factor * beat_every - interval
        job_id = state.job_id
        known = max(beats.get(job_id, 0.0), state.observation.heartbeat_at or 0.0)
        if now - known <= margin:
            self._beats[job_id] = known
            return False
        try:
            beat = os.stat(
                os.path.join(state.location.directory, HEARTBEAT_NAME), follow_symlinks=False
            ).st_mtime
        except OSError:
            return True
        self._beats[job_id] = beat
        return now - beat > margin

    def coverage(self) -> Coverage:
        return Coverage(
            len(self._pidfds),
            len(self._files),
            self._root_wd is not None,
            self._unwatched,
            self._reason,
        )

    # ---- the waiting thread ----------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> Wake:
        """Block until jobs need re-judging, the periodic pass is due, or `interrupt()`."""
        jobs: set[str] = set()
        everything = False
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            self._apply_pending()
            if self._root_wd is None and self._inotify is not None:
                self._watch_root()  # the root came back
            exits, self._exited = self._exited, {}
            jobs.update(exits)
            jobs.update(self._changed)
            self._changed.clear()
            everything |= self._everything
            self._everything = False
            now = self._clock()
            if now >= self._next_pass:
                self._next_pass = now + self.interval
                return Wake(frozenset(jobs), everything, periodic=True, exits=exits)
            if jobs or everything:
                return Wake(frozenset(jobs), everything, exits=exits)
            with self._lock:
                interrupted, self._interrupted = self._interrupted, False
            if interrupted:
                return Wake(interrupted=True)
            if deadline is not None and now >= deadline:
                return Wake()
            until = self._next_pass if deadline is None else min(self._next_pass, deadline)
            wait_s = until - now
            ready = self._selector.select(max(0.0, wait_s))
            seen_at = time.time()
            for key, _ in ready:
                if key.fd == self._wakeup:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wakeup)
                elif self._inotify is not None and key.fd == self._inotify.fileno():
                    everything |= self._read_inotify(jobs)
                else:
                    entry = self._pidfds.get(key.data)
                    if entry is not None:
                        for job_id, _ in entry[1].jobs:
                            self._exited[job_id] = seen_at
                    self._drop_pidfd(key.data)
                    self._dropped = True
            if ready:
                self._update_quiet()

    def close(self) -> None:
        for fd, _ in list(self._pidfds.values()):
            self._close_fd(fd)
        self._pidfds.clear()
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._selector.close()
        os.close(self._wakeup)

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._track(pending)

    def _track(self, jobs: dict[str, JobState] | list[JobState]) -> None:
        # C-level passes: a Python look at 100,000 jobs was ~20 ms
        active = self._active_states(jobs)
        followed, self._followed = self._followed, active
        if not self._dropped and len(active) == len(followed) and all(map(is_, active, followed)):
            return  # the same active states as followed: the same owners and files (~20 ms)
        self._dropped = False
        wanted: dict[tuple[int, int], list[tuple[str, bool]]] = {}
        files: dict[str, tuple[tuple[str, ...], Fingerprint | None]] = {}
        unwatched = 0
        host, boot = host_name(), boot_id()
        for number, job in enumerate(active):
            if not number & PACE_EVERY_JOB:
                pace()  # a key on the console's event loop first
            obs = job.observation
            owner = job.facts.owner
            role = None
            is_owner = obs.owner is Liveness.ALIVE
            if is_owner:
                role = ("pid", "start_token")
            elif job.verdict.kind is VerdictKind.DETACHED:
                role = ("child_pid", "child_start_token")
            identity = identity_from_record(owner, *role) if owner and role else None
            if identity is not None and identity.host == host and identity.boot_id == boot:
                key = (identity.pid, identity.start_token)
                wanted.setdefault(key, []).append((job.job_id, is_owner))
            elif obs.owner is not Liveness.DEAD:
                unwatched += 1  # remote, legacy or unknown owner: the periodic pass decides
            manifest = os.path.join(job.location.directory, MANIFEST_NAME)
            if job.verdict.kind is VerdictKind.HUNG:
                heartbeat = os.path.join(job.location.directory, HEARTBEAT_NAME)
                files[job.job_id] = ((manifest, heartbeat), job.fingerprint)
            else:
                files[job.job_id] = ((manifest,), job.fingerprint)
        for key in [k for k in self._pidfds if k not in wanted]:
            self._drop_pidfd(key)
        for key, jobs in wanted.items():
            tracked = _Tracked(key[0], key[1], tuple(jobs))
            held = self._pidfds.get(key)
            if held is not None:
                if held[1] != tracked:
                    self._pidfds[key] = (held[0], tracked)
                continue
            if len(self._pidfds) >= self._max_pidfds or not self._open_pidfd(key, tracked):
                unwatched += len(jobs)  # more owners than descriptors: the periodic pass decides
        self._unwatched = unwatched + self._watch_files(files)
        self._update_quiet()

    def _update_quiet(self) -> None:
        """Rebuild the sets other threads read (never the dicts this thread changes)."""
        files = self._files
        self._quiet = frozenset(
            job_id
            for _, t in self._pidfds.values()
            for job_id, owner in t.jobs
            if owner and job_id in files
        )
        self._tracked = frozenset(job_id for _, t in self._pidfds.values() for job_id, _ in t.jobs)
        self._watched = frozenset(files)

    def _open_pidfd(self, key: tuple[int, int], tracked: _Tracked) -> bool:
        try:
            fd = os.pidfd_open(tracked.pid)
        except ProcessLookupError:
            self._exit_all(tracked)  # gone already: re-judge now
            return True
        except OSError as exc:
            log.debug("pidfd_open(%d): %s", tracked.pid, exc)
            return False
        # Checked after opening: if the token still matches, the descriptor holds our process
        # and a recycled pid can no longer be mistaken for it.
        stat = read_proc_stat(tracked.pid)
        if stat is None or stat.start_token != tracked.start_token:
            self._close_fd(fd)
            self._exit_all(tracked)
            return True
        self._selector.register(fd, selectors.EVENT_READ, key)
        self._pidfds[key] = (fd, tracked)
        return True

    def _exit_all(self, tracked: _Tracked) -> None:
        seen_at = time.time()
        for job_id, _ in tracked.jobs:
            self._exited[job_id] = seen_at

    def _drop_pidfd(self, key: tuple[int, int]) -> None:
        entry = self._pidfds.pop(key, None)
        if entry is not None:
            self._close_fd(entry[0])

    def _close_fd(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)
        os.close(fd)

    # ---- inotify -----------------------------------------------------------------------------

    def _open_inotify(self) -> None:
        fs_type = filesystem_type(self.root)
        if fs_type in NETWORK_FS:
            self._reason = f"root on {fs_type}: changes by other hosts raise no inotify event"
            return
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError as exc:
            self._reason = f"inotify unavailable: {exc.strerror or exc}"
            return
        self._selector.register(self._inotify.fileno(), selectors.EVENT_READ, None)
        self._watch_root()

    def _watch_root(self) -> None:
        assert self._inotify is not None
        try:
            self._root_wd = self._inotify.add_watch(self.root, ROOT_MASK)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("cannot watch %s: %s", self.root, exc)
            self._root_wd = None
            return
        self._everything_soon()

    def _everything_soon(self) -> None:
        self._everything = True

    def _watch_files(self, wanted: dict[str, tuple[tuple[str, ...], Fingerprint | None]]) -> int:
        """Add and remove the jobs' file watches; returns how many jobs could not be watched.

        A job whose file changed was dropped from `_files` when the event came: its watch is
        added again here, on the file now at that path (a rename installs a new inode). A
        manifest that is no longer the one the job was judged on (written between that
        judgement and this watch) makes the job due again: no change falls in the gap."""
        if self._inotify is None:
            return len(wanted)
        for job_id in [j for j in self._files if j not in wanted]:
            for wd in self._files.pop(job_id):
                self._wd_job.pop(wd, None)
                with contextlib.suppress(OSError):
                    self._inotify.rm_watch(wd)
        failed = 0
        for job_id, (paths, judged) in wanted.items():
            current = self._files.get(job_id)
            if current is not None and len(current) == len(paths):
                continue
            wds = []
            for path in paths:
                try:
                    wd = self._inotify.add_watch(path, FILE_MASK)
                except OSError as exc:  # ENOSPC: max_user_watches; ENOENT: not written yet
                    if exc.errno == errno.ENOSPC:
                        log.warning("inotify watch limit: %s left to the periodic pass", job_id)
                    continue
                wds.append(wd)
                self._wd_job[wd] = job_id
            if wds:
                self._files[job_id] = tuple(wds)
            else:
                failed += 1
            if judged is not None and _fingerprint(paths[0]) != judged:
                self._changed.add(job_id)
        return failed

    def _read_inotify(self, jobs: set[str]) -> bool:
        """Sort pending events into jobs to re-judge; True when the whole root must be re-read."""
        assert self._inotify is not None
        everything = False
        for event in self._inotify.read(timeout=0):
            if event.mask & flags.Q_OVERFLOW:
                everything = True
                continue
            if event.wd == self._root_wd:
                if event.mask & (flags.DELETE_SELF | flags.MOVE_SELF | flags.IGNORED):
                    self._root_wd = None  # the root went away; re-added when it is back
                    everything = True
                elif event.name == INDEX_NAME or not event.name.startswith("."):
                    everything = True  # a job directory or the index came or went
                continue
            job_id = self._wd_job.get(event.wd)
            if event.mask & flags.IGNORED:
                self._wd_job.pop(event.wd, None)
            if job_id is None:
                continue
            jobs.add(job_id)
            self._files.pop(job_id, None)  # watched again on the next follow()
            self._dropped = True
        return everything


def _fingerprint(path: str) -> Fingerprint | None:
    try:
        return Fingerprint.of(os.stat(path, follow_symlinks=False))
    except OSError:
        return None


def _pidfd_budget() -> int:
    """How many pidfds we may hold: the soft descriptor limit, raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return max(0, soft - RESERVED_FDS)
