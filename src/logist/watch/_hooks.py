"""`--on-event CMD`: a command per journal event, the event's JSON on its stdin.

Hooks run one at a time in a thread of their own, fed by a bounded queue, so a slow or stuck
hook never delays detection: when the queue is full the event is dropped and that is journalled.
Each hook runs in a session of its own with a timeout; on timeout, and on stop, its whole
process group is killed and reaped, so the watch never leaves a child behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import Any

from logist.core._identity import ProcessIdentity, identity_of
from logist.core._signals import kill_session

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
OUTPUT_CAP = 400


class Hooks:
    """Runs `commands` for every event whose kind is in `kinds` (all when empty)."""

    def __init__(
        self,
        commands: Iterable[str],
        *,
        kinds: Iterable[str] = (),
        timeout: float = 10.0,
        report: Callable[[dict[str, Any]], None],
    ) -> None:
        self.commands = [shlex.split(c) for c in commands if c.strip()]
        self.kinds = frozenset(kinds)
        self.timeout = timeout
        self._report = report
        """Called (from the hook thread) with a `hook-failed` event for the journal."""
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._current: tuple[subprocess.Popen[bytes], ProcessIdentity | None] | None = None
        self._current_lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.dropped = 0
        if self.commands:
            self._thread = threading.Thread(target=self._run, name="logist-hooks", daemon=True)
            self._thread.start()

    def submit(self, events: Iterable[dict[str, Any]]) -> None:
        if self._thread is None:
            return
        for record in events:
            if record.get("kind") == "hook-failed" or (
                self.kinds and record.get("kind") not in self.kinds
            ):
                continue  # a failing hook must not feed itself
            try:
                self._queue.put_nowait(record)
            except queue.Full:  # the hooks are far behind: never wait for them
                self.dropped += 1
                self._report(
                    {
                        "kind": "hook-failed",
                        "command": "(all hooks)",
                        "event_kind": record.get("kind"),
                        "job_id": record.get("job_id"),
                        "reason": f"{QUEUE_SIZE} events already waiting: this one dropped",
                    }
                )

    def stop(self, grace: float = 1.0) -> None:
        """Kill a running hook's process group and end the thread."""
        if self._thread is None:
            return
        self._stopping = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        with self._current_lock:
            if self._current is not None:  # the hook thread's communicate() reaps it
                _kill_session(*self._current)
        self._thread.join(grace)

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            if record is None or self._stopping:
                return
            payload = (json.dumps(record, default=str) + "\n").encode("utf-8", "replace")
            for argv in self.commands:
                if self._stopping:
                    return
                failure = self._run_one(argv, payload)
                if failure is not None and not self._stopping:
                    self._report(
                        {
                            "kind": "hook-failed",
                            "command": shlex.join(argv),
                            "event_kind": record.get("kind"),
                            "job_id": record.get("job_id"),
                            "reason": failure,
                        }
                    )

    def _run_one(self, argv: list[str], payload: bytes) -> str | None:
        """None on success, else why it failed."""
        try:
            with self._current_lock:
                if self._stopping:
                    return None
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                    close_fds=True,
                )
                # taken before anything reaps it: the identity the kills verify against
                leader = identity_of(proc.pid)
                self._current = (proc, leader)
        except OSError as exc:
            return f"cannot start: {exc.strerror or exc}"
        try:
            _, err = proc.communicate(payload, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, leader)
            return f"timed out after {self.timeout:g} s"
        except OSError as exc:  # the hook closed its stdin early
            _kill_group(proc, leader)
            return f"{exc.strerror or exc}"
        finally:
            with self._current_lock:
                self._current = None
        _kill_session(proc, leader)  # whatever it left running in its session
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip()[-OUTPUT_CAP:]
            return f"exit status {proc.returncode}" + (f": {tail}" if tail else "")
        return None


def _kill_session(proc: subprocess.Popen[bytes], leader: ProcessIdentity | None) -> None:
    """SIGKILL to a hook and what it left in its own session (`start_new_session`), gone or
    not, each process verified (a reaped hook's pid may be someone else's by now)."""
    kill_session(leader, proc.pid)


def _kill_group(proc: subprocess.Popen[bytes], leader: ProcessIdentity | None) -> None:
    """The hook and whatever it started (its own session): killed and reaped."""
    _kill_session(proc, leader)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.communicate(timeout=2.0)
