"""`logist watch`: judge a root continuously, journal verdict changes, recover proven crashes.

One thread detects: it waits on the core's `Watching` (pidfds, inotify, the periodic pass),
re-judges what changed, journals, updates metrics and the status file, and decides what to
recover. Recoveries run in a second thread through the manager's guarded recover path (the
same as a person's, audited with the actor `watch`), so a slow disk never delays detection.
Hooks run in a third (see `_hooks`). Only the detecting thread writes the journal.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logist.core import (
    Category,
    Health,
    JobNotFound,
    JobRecoveryManager,
    JobState,
    LogistError,
    Outcome,
    Snapshot,
    VerdictKind,
    Watching,
)
from logist.core._audit import state_dir
from logist.core._health import build_health_report
from logist.core._journal import WATCH_LOCK, WATCH_STATUS, brake_record, read_brake, write_brake
from logist.core._locking import unlock_and_close
from logist.core._manifest import atomic_write_bytes
from logist.core._verdicts import TRIAGE_KINDS

from ._auto import AUTO_KINDS, AutoMode, AutoPolicy, AutoState, brake_check
from ._hooks import Hooks
from ._journal import DEFAULT_MAX_BYTES, Journal, event
from ._metrics import HEALTH_VALUE, WatchMetrics
from ._systemd import SystemdNotifier

log = logging.getLogger(__name__)

ACTOR = "watch"
RECOVERY_WORKERS = 8
"""Recoveries in flight at once. A recovery is five fsyncs (backup, its directory, manifest,
its directory, audit); concurrent ones share the filesystem's journal commits: measured here
19 ms per job alone, 3.2 ms with 8 threads (benchmarks/bench_watch.py, simulated reboot)."""
SUCCESS_OUTCOMES = frozenset({Outcome.RECOVERED, Outcome.NOOP})
HOLD_SHARE = 0.75
"""A new crash waits this share of `--interval` before auto-recovery (the next whole pass)."""


class WatchBusy(LogistError):
    """Another watch holds this root's watch lock."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    interval: float = 2.0
    """Seconds between passes over what events cannot see (see `_light_pass`)."""
    full_every: float = 30.0
    """Seconds between whole-root scans: resting jobs are not watched (one inotify watch per
    job of a 100k root is too many), so a resting job resumed in place is seen by these."""
    auto: AutoPolicy = field(default_factory=AutoPolicy)
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    metrics_textfile: Path | None = None
    hooks: tuple[str, ...] = ()
    hook_kinds: tuple[str, ...] = ()
    hook_timeout: float = 10.0
    journal_max_bytes: int = DEFAULT_MAX_BYTES


class WatchService:
    """Run with `run()` (blocks); `stop()` from a signal handler or another thread."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        options: WatchOptions,
        *,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.manager = JobRecoveryManager(root, operator=ACTOR)
        self.root = self.manager.root
        self.options = options
        self._say = say
        """One human line per journalled event (the CLI prints them on stderr)."""
        self.journal = Journal(self.root, max_bytes=options.journal_max_bytes)
        self.metrics = WatchMetrics()
        self._auto = AutoState()
        self._stopping = threading.Event()
        self._watching: Watching | None = None
        self._lock_fd: int | None = None
        self._states: dict[str, JobState] = {}
        self._rejudged = False
        """Jobs were judged (or dropped) since `Watching.follow` last saw them: follow again.
        An idle light pass judges none; following 1,000 jobs cost 7.4 ms of CPU (0.37 % of a
        core every 2 s, measured with the benchmark's root)."""
        self._inbox: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        """Events from the other threads (recoveries, hook failures) for the journal."""
        self._todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._in_flight: set[str] = set()
        self._brake: dict[str, Any] | None = None
        self._crash_times: deque[float] = deque()
        """When jobs turned crashed, over the last interval (the storm brake's window)."""
        self._crashed_since: dict[str, float] = {}
        """Crashed job -> when it turned crashed: recovered only once held `HOLD_SHARE` of an
        interval, so that the brake sees a whole storm before the first of it is recovered."""
        self._root_missing = False
        self._last_pass_at: float | None = None
        self._next_full = 0.0
        self._notifier = SystemdNotifier()
        self._hooks = Hooks(
            options.hooks,
            kinds=options.hook_kinds,
            timeout=options.hook_timeout,
            report=self._from_thread,
        )

    # ---- life cycle ------------------------------------------------------------------------

    def stop(self) -> None:
        """Safe from a signal handler: sets a flag and wakes the waiting thread."""
        self._stopping.set()
        if self._watching is not None:
            self._watching.interrupt()

    def run(self) -> None:
        self._take_lock()
        recoverers: list[threading.Thread] = []
        try:
            self._watching = Watching(self.root, interval=self.options.interval)
            if self.options.metrics_port is not None:
                from prometheus_client import start_http_server

                start_http_server(
                    self.options.metrics_port, self.options.metrics_addr, self.metrics.registry
                )
            self._brake = read_brake(self.root)
            self.metrics.auto_enabled.set(self.options.auto.mode is not AutoMode.OFF)
            if self.options.auto.mode is not AutoMode.OFF:
                recoverers = [
                    threading.Thread(
                        target=self._recover_loop, name=f"logist-recover-{n}", daemon=True
                    )
                    for n in range(RECOVERY_WORKERS)
                ]
                for thread in recoverers:
                    thread.start()
            coverage = self._watching.coverage()
            self._record(
                [
                    event(
                        "watch-start",
                        pid=os.getpid(),
                        auto=str(self.options.auto.mode),
                        brake=self._brake is not None,
                        events=coverage.reason or "pidfd + inotify",
                    )
                ]
            )
            self._loop()
        finally:
            for _ in recoverers:
                self._todo.put(None)
            deadline = time.monotonic() + 1.5
            for thread in recoverers:  # recoveries in flight finish (each is atomic either way)
                thread.join(max(0.0, deadline - time.monotonic()))
            self._hooks.stop()
            self._drain_inbox()
            self._record([event("watch-stop", pid=os.getpid())])
            self._notifier.notify("STOPPING=1")
            self._write_status(stopped=True)
            if self._watching is not None:
                self._watching.close()
            self._notifier.close()
            if self._lock_fd is not None:
                unlock_and_close(self._lock_fd)

    def _take_lock(self) -> None:
        path = state_dir(self.root) / WATCH_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                status = self.manager.watch_status()
                who = f" (pid {status.pid} on {status.host})" if status and status.pid else ""
                raise WatchBusy(f"another watch is running on {self.root}{who}") from exc
            raise
        self._lock_fd = fd

    # ---- detecting ---------------------------------------------------------------------------

    def _loop(self) -> None:
        assert self._watching is not None
        watchdog = self._notifier.watchdog_s
        ready = False
        while not self._stopping.is_set():
            wake = self._watching.wait(timeout=watchdog)
            if self._stopping.is_set():
                break
            events: list[dict[str, Any]] = []
            if wake.jobs and ready:
                self._rejudge(wake.jobs, events, wake.exits)
            now = time.monotonic()
            passed = wake.periodic or wake.everything or not ready
            full_due = wake.periodic and (now >= self._next_full or self._root_missing)
            if wake.everything or not ready or full_due:
                self._next_full = now + max(self.options.interval, self.options.full_every)
                self._full_pass(events)
            elif wake.periodic:
                self._light_pass(events)
            self._drain_inbox(events)
            self._check_brake_reset(events)
            self._record(events)  # journalled before any recovery of what it reports starts
            if passed:
                self._write_status()
                self._notifier.notify(f"STATUS={self._status_line()}")
                if not ready:
                    self._notifier.notify("READY=1")
                    ready = True
            if watchdog is not None:
                self._notifier.notify("WATCHDOG=1")
            self._auto_recover()
            if self._rejudged:  # else the watches in place are for these very states
                self._rejudged = False
                self._watching.follow(self._states.values())

    def _full_pass(self, events: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        try:
            snapshot = self.manager.scan()
        except (OSError, LogistError) as exc:
            if not self._root_missing:
                self._root_missing = True
                self._say(f"root unreadable: {exc}; retrying every {self.options.interval:g} s")
                self.metrics.health.set(HEALTH_VALUE[Health.UNKNOWN])
            return
        if self._root_missing:
            self._root_missing = False
            self._retake_lock_if_lost()
            events.append(event("root-back"))
        first = not self._states and self._last_pass_at is None
        self._diff(snapshot.jobs, events, first=first)
        for job_id in [j for j in self._states if j not in snapshot.jobs]:
            del self._states[job_id]
            self._rejudged = True
            self._crashed_since.pop(job_id, None)
        self._check_storm(events)
        self._last_pass_at = time.time()
        self._update_metrics(snapshot, time.perf_counter() - started)

    def _light_pass(self, events: list[dict[str, Any]]) -> None:
        """Between whole passes: re-judge only what events cannot have told us about
        (`Watching.due`, the rule the console's light tick shares). Measured at 1,000 running
        jobs: a whole pass cost ~100 ms of CPU; this one ~5 ms."""
        assert self._watching is not None
        started = time.perf_counter()
        due = self._watching.due(
            self._states.values(),
            lease_factor=self.manager.policy.lease_factor,
            interval=self.options.interval,
            now=time.time(),
        )
        self._rejudge(due, events, {})
        self._last_pass_at = time.time()
        self.metrics.set_counts(self._verdict_counts())
        self.metrics.scan_duration.set(time.perf_counter() - started)
        self.metrics.last_pass.set(self._last_pass_at)

    def _rejudge(
        self, job_ids: frozenset[str], events: list[dict[str, Any]], exits: dict[str, float]
    ) -> None:
        fresh: dict[str, JobState] = {}
        for job_id in job_ids:
            try:
                fresh[job_id] = self.manager.job(job_id)
            except JobNotFound:
                self._states.pop(job_id, None)
                self._rejudged = True
            except (OSError, LogistError) as exc:
                log.debug("re-judging %s: %s", job_id, exc)
        self._diff(fresh, events, exits=exits)
        self._check_storm(events)

    def _diff(
        self,
        states: dict[str, JobState],
        events: list[dict[str, Any]],
        *,
        first: bool = False,
        exits: dict[str, float] | None = None,
    ) -> None:
        """Journal verdict changes; note when jobs turn crashed (storm window, hold)."""
        detected_at = time.time()
        seen = time.monotonic()
        for job_id, state in states.items():
            before = self._states.get(job_id)
            self._states[job_id] = state
            self._rejudged = True
            kind = state.verdict.kind
            old = before.verdict.kind if before is not None else None
            if kind is not VerdictKind.CRASHED:
                self._crashed_since.pop(job_id, None)
            if old is kind or (old is None and kind not in TRIAGE_KINDS):
                continue
            if kind is VerdictKind.CRASHED:
                self._crashed_since[job_id] = seen
                self._crash_times.append(seen)
            record = event(
                "verdict",
                job_id=job_id,
                **{"from": None if old is None else str(old), "to": str(kind)},
                status=state.facts.status,
                reason=state.verdict.reason,
                evidence=_summary(state),
                detected_at=round(detected_at, 6),
            )
            exited_at = (exits or {}).get(job_id)
            if exited_at is not None:
                latency = max(0.0, detected_at - exited_at)
                record["exited_at"] = round(exited_at, 6)
                record["latency_s"] = round(latency, 6)
                self.metrics.detection_latency.observe(latency)
            if first:
                record["at_start"] = True
            events.append(record)

    # ---- auto-recovery -----------------------------------------------------------------------

    def _check_storm(self, events: list[dict[str, Any]]) -> None:
        """After every judgement: too many crashes within one interval engage the brake.

        A window in time, not per wake-up: deaths seen one pidfd at a time are one storm."""
        policy = self.options.auto
        window_start = time.monotonic() - self.options.interval
        while self._crash_times and self._crash_times[0] < window_start:
            self._crash_times.popleft()
        if policy.mode is AutoMode.OFF or self._brake is not None or not self._crash_times:
            return
        active = sum(1 for j in self._states.values() if j.category is Category.ACTIVE)
        check = brake_check(len(self._crash_times), active, policy)
        if not check.trips:
            return
        self._brake = {"engaged": True, "since": time.time(), "reason": check.reason}
        try:
            write_brake(self.root, self._brake)
        except OSError as exc:
            log.warning("brake not persisted: %s", exc)
        events.append(event("brake-on", reason=check.reason))

    def _check_brake_reset(self, events: list[dict[str, Any]]) -> None:
        if self._brake is None:
            return
        if self._root_missing or read_brake(self.root) is not None:
            return
        self._brake = None
        by = (brake_record(self.root) or {}).get("reset_by")
        events.append(event("brake-off", by=str(by) if by else None))

    def _auto_recover(self) -> None:
        policy = self.options.auto
        self.metrics.brake.set(self._brake is not None)
        if policy.mode is AutoMode.OFF or self._brake is not None or self._root_missing:
            return
        kinds = AUTO_KINDS[policy.mode]
        now = time.monotonic()
        hold = HOLD_SHARE * self.options.interval
        candidates = sorted(
            (
                s
                for s in self._states.values()
                if s.verdict.kind in kinds
                and s.job_id not in self._in_flight
                and now - self._crashed_since.get(s.job_id, 0.0) >= hold
            ),
            key=lambda s: (s.activity_at or 0.0, s.job_id),
        )
        chosen = self._auto.choose([s.job_id for s in candidates], now, policy)
        for job_id in chosen:
            self._in_flight.add(job_id)
            self._todo.put(job_id)

    def _recover_loop(self) -> None:
        """A recovering thread: its own manager, the guarded recover path, actor `watch`."""
        manager = JobRecoveryManager(self.root, operator=ACTOR)
        while True:
            job_id = self._todo.get()
            if job_id is None or self._stopping.is_set():
                return
            result = manager.recover_crashed_job(job_id, actor=ACTOR)
            self._from_thread(
                {
                    **event(
                        "auto-recovery",
                        job_id=job_id,
                        outcome=str(result.outcome),
                        message=result.message,
                        **{"from": result.from_status, "to": result.to_status},
                    ),
                    "_done": job_id,
                }
            )

    def _finish_recovery(self, record: dict[str, Any]) -> str:
        job_id: str = record.pop("_done")
        self._in_flight.discard(job_id)
        outcome = Outcome(record["outcome"])
        self.metrics.recoveries.labels(outcome=str(outcome), actor=ACTOR).inc()
        if outcome in SUCCESS_OUTCOMES:
            self._auto.succeeded(job_id)
        else:
            delay = self._auto.failed(job_id, time.monotonic(), self.options.auto)
            record["retry_in_s"] = round(delay, 1)
        return job_id

    # ---- recording ---------------------------------------------------------------------------

    def _from_thread(self, record: dict[str, Any]) -> None:
        self._inbox.put(record if "ts" in record else event(record.pop("kind"), **record))
        if self._watching is not None:
            self._watching.interrupt()

    def _drain_inbox(self, events: list[dict[str, Any]] | None = None) -> None:
        drained: list[dict[str, Any]] = []
        done = set()
        while True:
            try:
                record = self._inbox.get_nowait()
            except queue.Empty:
                break
            if "_done" in record:
                done.add(self._finish_recovery(record))
            drained.append(record)
        if events is None:
            self._record(drained)
            return
        events.extend(drained)
        # Re-judged now, not when the manifest's inotify event is read: until then the job
        # still looks crashed and would be queued again (a second, no-op, recovery).
        self._rejudge(frozenset(done), events, {})

    def _record(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        if not self._root_missing:
            self.journal.write(events)
        self.metrics.count_events(events)
        self.metrics.hook_failures.inc(sum(1 for e in events if e.get("kind") == "hook-failed"))
        self._hooks.submit(events)
        for record in events:
            self._say(_human(record))
        if self.options.metrics_textfile is not None:
            self._write_textfile()

    def _update_metrics(self, snapshot: Snapshot, duration: float) -> None:
        self.metrics.set_counts(dict(snapshot.counts()))
        report = build_health_report(self.root, snapshot, [])
        self.metrics.health.set(HEALTH_VALUE[report.overall])
        self.metrics.scan_duration.set(duration)
        self.metrics.last_pass.set(time.time())
        self.metrics.read_others_recoveries(self.root, ACTOR)
        if self._watching is not None:
            coverage = self._watching.coverage()
            self.metrics.watched.labels(how="pidfd").set(coverage.pidfds)
            self.metrics.watched.labels(how="periodic").set(coverage.unwatched)
        if self.options.metrics_textfile is not None:
            self._write_textfile()

    def _write_textfile(self) -> None:
        assert self.options.metrics_textfile is not None
        try:
            self.metrics.write_textfile(self.options.metrics_textfile)
        except OSError as exc:
            log.warning("metrics textfile not written: %s", exc)

    def _write_status(self, *, stopped: bool = False) -> None:
        if self._root_missing:
            return
        coverage = self._watching.coverage() if self._watching else None
        status = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "last_pass_at": self._last_pass_at,
            "auto": str(self.options.auto.mode),
            "stopped": stopped,
            "coverage": None
            if coverage is None
            else {
                "pidfds": coverage.pidfds,
                "job_files": coverage.job_files,
                "unwatched": coverage.unwatched,
                "reason": coverage.reason,
            },
        }
        with contextlib.suppress(OSError):
            atomic_write_bytes(
                state_dir(self.root) / WATCH_STATUS, (json.dumps(status) + "\n").encode()
            )

    def _status_line(self) -> str:
        counts = {str(k): n for k, n in self._verdict_counts().items() if n}
        brake = "; BRAKE ON" if self._brake is not None else ""
        return f"{len(self._states)} jobs {counts}; auto {self.options.auto.mode}{brake}"

    def _verdict_counts(self) -> dict[VerdictKind, int]:
        counts: dict[VerdictKind, int] = {}
        for state in self._states.values():
            counts[state.verdict.kind] = counts.get(state.verdict.kind, 0) + 1
        return counts

    def _retake_lock_if_lost(self) -> None:
        """The root came back (remounted, restored): our lock was on the old inode."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        try:
            self._take_lock()
        except WatchBusy as exc:
            self._say(f"{exc}; stopping")
            self.stop()


def _summary(state: JobState) -> dict[str, Any]:
    """The evidence a reader of the journal needs, not the whole observation."""
    obs = state.observation
    summary: dict[str, Any] = {"lock": str(obs.lock), "owner": str(obs.owner)}
    if obs.owner_pid is not None:
        summary["owner_pid"] = obs.owner_pid
    if obs.owner_host is not None:
        summary["host"] = obs.owner_host
    if obs.child_pid is not None:
        summary["child"] = f"{obs.child_pid} {obs.child}"
    if obs.heartbeat_at is not None:
        summary["heartbeat_age_s"] = round(time.time() - obs.heartbeat_at, 1)
    return summary


def _human(record: dict[str, Any]) -> str:
    kind = record.get("kind")
    job = record.get("job_id")
    if kind == "verdict":
        latency = record.get("latency_s")
        extra = f" ({latency * 1000:.0f} ms after exit)" if latency is not None else ""
        return f"{job}: {record.get('from') or 'new'} -> {record.get('to')}{extra}"
    if kind == "auto-recovery":
        return f"{job}: auto-recovery {record.get('outcome')}: {record.get('message')}"
    detail = record.get("reason") or record.get("by") or ""
    return f"{kind}{f' {job}' if job else ''}{f': {detail}' if detail else ''}"
