"""The Logist console: live panes over JobRecoveryManager, with confirmed, keybound actions.

The app owns three things: polling, the marks, and actions. Polling is one thread worker at a
time, re-armed with `set_timer` only when it has finished, so polls never pile up; its result is
applied as a diff, and held back while a modal is open or the console is paused. Actions ask
the manager for plans in a worker, show them in a confirmation, then apply exactly those plans
in a worker; the manager re-checks every job before it writes. The console never touches a
file or a process itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from logist._gc import collect_frozen, gc_paused, let_go
from logist._pace import foreground_busy, foreground_done
from logist.core import (
    Action,
    ActionResult,
    FilterQuery,
    JobRecoveryManager,
    Outcome,
    ReattachResult,
    VerdictKind,
)

from .arrivals import Arrivals
from .config import Settings
from .messages import ActionFinished, ActionProgress, PollFinished, ProposalReady, Validated
from .poller import Poller, PollResult
from .rows import finding_key

# the screens pushed on a key and the actions' module are imported when first used, not before
# the first frame (see `screens.base`)
from .screens.base import FollowsPolls, ShowsJob
from .screens.main import PANES, ConsoleScreen
from .text import safe
from .widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.message import Message

    from logist.core import Watching

    from .operations import Proposal
    from .widgets.activity import SessionEntry

WRITE_ACTIONS = frozenset({"recover", "bulk_recover", "fix", "resume_auto"})
"""Disabled (and dimmed in the footer) by --read-only. Reattach stays on: watching a running
job changes nothing; adopting a detached one is refused in read-only mode when asked."""
APP_ACTIONS = frozenset(
    {
        "recover",
        "reattach",
        "bulk_recover",
        "validate",
        "fix",
        "logs",
        "activity",
        "pause",
        "help",
        "timeline",
        "resume_auto",
    }
)
"""The app's own keys, off while a modal screen is open (quit stays on)."""
WATCHING_FALLBACK_S = 3600.0
"""The watching component's own periodic wake: the poll timer already does that job."""
SWITCH_INTERVAL_S = 0.001
"""How long a thread may hold the GIL while another waits (see `on_mount`)."""
FOREGROUND_MAX_S = 0.1
"""The longest the poll worker steps aside for one key or click (until it is repainted, see
`logist._pace`): a flag left set costs the worker that pause, never more."""
_HANDLED_FIRST = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
"""Input the poll worker steps aside for (not mouse moves: a stream of them)."""


SWEEP_EVERY_S = 600.0
"""How often the poll worker frees the cycles that died frozen (`collect_frozen`)..."""
QUIET_BEFORE_SWEEP_S = 5.0
"""...once nobody pressed a key or moved the mouse for this long (it stops the event loop for
as long as it takes)..."""
SWEEP_OVERDUE_S = 3600.0
"""...or regardless, once this long went by without one: the garbage is bounded either way."""
NOTIFY_FAILURES_SHOWN = 5
NOTIFY_ARRIVALS_SHOWN = 5


def _columns_to_order(table: KeyedTable) -> frozenset[int]:
    """The columns whose orders the poll worker keeps for `table`: its sorted one and the
    next two `s` goes to."""
    column, count = table.sorting[0], len(table.columns)
    following = 0 if column is None else (column + 1) % count
    shown = frozenset(() if column is None else (column,))
    return shown | {following, (following + 1) % count}


@functools.cache
def _input_first(driver: type[Driver]) -> type[Driver]:
    """`driver` telling the poll worker to step aside (`foreground_busy`) as input arrives, in
    the driver's input thread, where `on_event` does it once the event loop gets to the event:
    a key that arrived during a whole poll at 100,000 jobs waited behind a typed filter's turn
    and a frame while the worker held the GIL two thirds of the time (83 ms to its repaint, 36
    of them the loop's CPU). `on_event` flags it again, and clears it once repainted."""

    class InputFirst(driver):  # type: ignore[valid-type, misc]
        def send_message(self, message: Message) -> None:
            if isinstance(message, _HANDLED_FIRST):
                foreground_busy(FOREGROUND_MAX_S)
            super().send_message(message)

    return InputFirst


class ConsoleApp(App[int]):
    """`interval=None` polls once and never again: for tests and screenshots."""

    CSS_PATH = Path(__file__).with_name("console.tcss")  # absolute: subclasses elsewhere work
    TITLE = "Logist console"

    BINDINGS = [
        Binding("r", "recover", "Recover", tooltip="Recover the selected or marked jobs"),
        Binding(
            "a",
            "reattach",
            "Reattach",
            tooltip="Reattach: watch a running job, adopt a detached one",
        ),
        Binding(
            "B",
            "bulk_recover",
            "Bulk",
            tooltip="Bulk recover the marked jobs, or else every proven crash",
        ),
        Binding("v", "validate", "Validate", show=False, tooltip="Validate the whole root"),
        Binding("f", "fix", "Fix", tooltip="Fix: apply the automatic fix of a finding"),
        Binding("l", "logs", "Logs", show=False, tooltip="Logs: follow the selected job's log"),
        Binding("A", "activity", "Activity", show=False, tooltip="Activity: results, audit log"),
        Binding("T", "timeline", "Timeline", show=False, tooltip="Timeline: the watch's journal"),
        Binding(
            "X",
            "archived",
            "Archived",
            show=False,
            tooltip="Archived: the original's archived jobs",
        ),
        Binding(
            "W",
            "resume_auto",
            "Resume auto-recovery",
            show=False,
            tooltip="Release the watch's storm brake (confirmed first)",
        ),
        Binding("p", "pause", "Pause", show=False, tooltip="Pause or resume refreshing"),
        Binding("ctrl+r", "refresh", "Refresh now", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]
    """Keys not shown in the footer are in `?` help and ctrl+p. The footer must fit 80 columns
    with `q Quit` last: short descriptions (at 80x24 `q` once slid under the palette hint)."""

    def __init__(
        self,
        *,
        manager: JobRecoveryManager,
        read_only: bool = False,
        interval: float | None = 2.0,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        demo: bool = False,
        poller: Poller | None = None,
        on_hangup: Callable[[], object] | None = None,
        bell: bool = True,
        settings: Settings | None = None,
        settings_problem: str | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.read_only = read_only
        self.interval = interval
        self.clock = clock
        self.host = host or socket.gethostname()
        self.demo = demo
        self.marks: set[str] = set()
        self.arrivals = Arrivals()
        self.settings = settings or Settings()
        """Theme and sorts to start with (the XDG config file, `--theme`)."""
        self._settings_problem = settings_problem
        self.final_settings: Settings | None = None
        """The settings when the console was asked to exit: saved for the next run."""
        self.ring_bell = bell
        """Ring the terminal bell once per poll that finds new crashes (`--no-bell`: never)."""
        self.session: list[SessionEntry] = []
        self.paused = False
        self.poll_count = 0
        """Polls applied so far (tests wait on it)."""
        self.last_poll: PollResult | None = None
        self._poller = poller or Poller(manager=manager, clock=clock)
        """Given when a first poll was started before the app (see `launch`)."""
        self._on_hangup = on_hangup
        """Clean-up to run when the terminal goes away (the demo's processes)."""
        self._console: ConsoleScreen | None = None
        self._polling = False
        self._poll_again = False
        self._manual = False
        self._held: PollResult | None = None
        self._frozen = False
        self._poll_timer: Timer | None = None
        self._acting = False
        self._watching: Watching | None = None
        """Event-driven detection: a death or a manifest change polls at once (see `_wake`)."""
        self._woken: set[str] = set()
        """Jobs the watching thread named since the last poll took them (under `_woken_lock`)."""
        self._woken_lock = threading.Lock()
        self._replaced: list[object] = []
        """Results an apply replaced, let go by the next poll's worker (`let_go`), not on the
        event loop (under `_woken_lock`)."""
        self._full_next = True
        """The next poll reads the whole root: first, asked for, acted, or the root changed."""
        self.sweep_every_s = SWEEP_EVERY_S
        self.quiet_before_sweep_s = QUIET_BEFORE_SWEEP_S
        self.sweep_overdue_s = SWEEP_OVERDUE_S
        self._swept_at = self._last_input_at = time.monotonic()

    # ---- screens ------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        self._console = ConsoleScreen(
            manager=self.manager,
            marks=self.marks,
            arrivals=self.arrivals,
            host=self.host,
            clock=self.clock,
            open_detail=self._open_detail,
            on_filter=self._filter_changed,
            on_mounted=self._take_first_look,
            read_only=self.read_only,
            demo=self.demo,
        )
        return self._console

    @property
    def main_screen(self) -> ConsoleScreen:
        assert self._console is not None
        return self._console

    def on_mount(self) -> None:
        # The poll worker runs Python code for seconds at 100,000 jobs; each time the event
        # loop wakes (a key, a timer) it waits for the worker to hand over the GIL, up to the
        # switch interval (5 ms by default), and a key's handling wakes it several times.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self.exit)
            loop.add_signal_handler(signal.SIGHUP, self._hang_up)
        self.call_after_refresh(self._poll_first)  # once the main screen is mounted
        self.call_after_refresh(self._apply_settings)
        if self.interval is not None:
            self.set_interval(1.0, self.main_screen.tick)
            self._start_watching()

    def _take_first_look(self) -> None:
        """The panes are mounted and not drawn yet: a first look the prefetch has ready is
        applied now, so that the first frame shows jobs. At 10,000 jobs it was ready long
        before (0.25 s from process start against 0.6-0.8 s for the mount), and taken by the
        first poll's worker, whose message came after frames of empty panes (0.1-0.2 s)."""
        if not self._polling and (result := self._poller.prefetched_ready()) is not None:
            self._poll_finished(result)

    def _poll_first(self) -> None:
        """The first poll, unless polls were applied already: the first polls a prefetch
        brings can be on screen before the screen's first refresh (the mount or a wake took
        them, see `_take_first_look`), and their end asked for what follows (another whole
        poll then was ~1 s of the worker at 100,000 jobs, right after the whole root was
        shown)."""
        if self.poll_count == 0:
            self.poll_now()

    def on_unmount(self) -> None:
        watching, self._watching = self._watching, None
        if watching is not None:
            self.manager.follow_events(None)
            watching.interrupt()  # its thread sees `_watching` gone, closes it and ends

    # ---- event-driven detection -----------------------------------------------------------

    def _start_watching(self) -> None:
        """Wait on the core's pidfds and inotify in a thread; the poll timer stays the fallback
        for what events cannot see (other hosts, network filesystems)."""
        from logist.core import Watching  # loads inotify: not needed before the first paint

        try:
            self._watching = Watching(self.manager.root, interval=WATCHING_FALLBACK_S)
        except OSError:
            return  # no eventfd/epoll here: polling alone, as before
        self.manager.follow_events(self._watching.quiet)
        threading.Thread(
            target=self._wake, args=(self._watching,), name="logist-watching", daemon=True
        ).start()

    def _poll_on_event(self) -> None:
        if self.is_running and self._watching is not None:  # not while shutting down
            self.poll_now(full=False)

    def _wake(self, watching: Watching) -> None:
        """Thread: poll now whenever a tracked process exits or a watched file changes."""
        try:
            while self._watching is watching:
                wake = watching.wait()
                if self._watching is not watching:
                    break
                if wake.jobs or wake.everything:
                    with self._woken_lock:
                        self._woken |= wake.jobs
                        self._full_next |= wake.everything
                    self.call_from_thread(self._poll_on_event)
        except RuntimeError:  # the app's loop is gone
            pass
        finally:
            watching.close()

    def _apply_settings(self) -> None:
        """Start with the theme and sorts of the last run (or `--theme`); an unknown theme or
        column is said and skipped, never fatal."""
        settings = self.settings
        if self._settings_problem:
            self.notify(self._settings_problem, title="Settings", severity="warning", markup=False)
        if settings.theme is not None:
            if settings.theme in self.available_themes:
                self.theme = settings.theme
            else:
                known = ", ".join(sorted(self.available_themes))
                self.notify(
                    f"unknown theme {safe(settings.theme)}; themes: {known}",
                    severity="warning",
                    markup=False,
                )
        for pane, (label, reverse) in settings.sort.items():
            if pane in PANES:
                table = self.main_screen.table(pane)
                labels = [column.label for column in table.columns]
                if label is None or label in labels:
                    table.sort_by(None if label is None else labels.index(label), reverse=reverse)
        self.main_screen.sorted()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        """Note the settings to keep while the panes still exist (they are gone after)."""
        if self._console is not None and self._console.is_mounted:
            self.final_settings = self.current_settings()
        super().exit(*args, **kwargs)

    def current_settings(self) -> Settings:
        """What to remember for the next run: theme, each pane's sort, the interval."""
        return Settings(
            theme=self.theme,
            interval=self.interval,
            sort={pane: self.main_screen.table(pane).sort_state for pane in PANES},
        )

    def _hang_up(self) -> None:
        """The terminal is gone (SSH dropped, tmux killed): leave at once.

        A graceful exit writes terminal resets to the dead tty, and Textual's shutdown then
        blocked forever on its output queue (seen: a console left behind, never exiting). Nothing
        here needs a graceful exit: every write of an action is atomic and crash-safe.
        """
        if self._on_hangup is not None:
            with contextlib.suppress(Exception):
                self._on_hangup()
        os._exit(128 + signal.SIGHUP)

    def _filter_changed(self, query: FilterQuery) -> None:
        """The panes' filter changed: a poll ending from now on tests it in the worker for
        the jobs table (see `Poller.jobs_filter`)."""
        self._poller.jobs_filter = query

    def _open_detail(self, job_id: str) -> None:
        from .screens.detail import DetailScreen

        self.push_screen(DetailScreen(job_id=job_id, manager=self.manager, clock=self.clock))

    # ---- polling ------------------------------------------------------------------------

    def poll_now(self, *, full: bool = True) -> None:
        """Poll as soon as possible; never two polls at once. `full=False` (the timer, a wake):
        a light tick when events watch the root (see `_poll_in_thread`).

        A whole poll asked for while the first polls are under way (the mount's, the first
        look's) is the whole poll they bring: at 100,000 jobs it was made again at once, ~1 s
        of the worker holding the GIL right after the whole root was on screen."""
        if full and self._polling and self._poller.first_polls_coming:
            return
        if full:
            with self._woken_lock:
                self._full_next = True
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._polling:
            self._poll_again = True
            return
        self._polling = True
        if self._console is not None and self._console.is_mounted:
            # orders made in the worker and kept fresh, both ways, for the sorted column and
            # the next two `s` goes to (`s s` is two keys in half a second, less than a poll;
            # `S` is a look-up too, also right after them; `s` keeps the direction): the table
            # only looks them up. Sorted on the event loop, with a lookup per row, 100,000 rows
            # took 160 to 240 ms; a descending order there 90 to 170 ms, in the worker a few C
            # passes over its kept values (~15 ms). The same for the findings pane (a root
            # moved with its index has 100,000).
            jobs = self._console.table("jobs")
            columns = _columns_to_order(jobs)
            self._poller.sorted_columns = self._poller.descending = columns
            self._poller.jobs_sorted = jobs.sorting[0]
            self._poller.finding_columns = _columns_to_order(self._console.table("findings"))
        self.run_worker(self._poll_in_thread, thread=True, group="poll", exit_on_error=False)

    def _poll_in_thread(self) -> None:
        try:
            # The collector paused for the whole poll, not stage by stage: what the scan made
            # was walked by the collections between its pause and the poller's (a generation-0
            # collection of 80 ms in the worker, holding the GIL: the event loop's longest
            # stall at 100,000 jobs); the poller freezes what a poll made as it ends.
            with gc_paused():
                result = self._light_or_full_poll()
        except Exception as exc:  # a poll must always report back, or polling would stop
            result = PollResult(self.clock(), None, f"{type(exc).__name__}: {exc}")
        self.post_message(PollFinished(result))
        if self._sweep_due():
            collect_frozen()
            self._swept_at = time.monotonic()

    def _sweep_due(self) -> bool:
        now = time.monotonic()
        since, quiet = now - self._swept_at, now - self._last_input_at
        if since >= self.sweep_overdue_s:
            return True
        return since >= self.sweep_every_s and quiet >= self.quiet_before_sweep_s

    def get_driver_class(self) -> type[Driver]:
        """The platform's driver, flagging input as it arrives (`_input_first`)."""
        return _input_first(super().get_driver_class())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._last_input_at = time.monotonic()  # the sweep waits for a quiet moment
            if isinstance(event, _HANDLED_FIRST):
                # the poll worker steps aside (`pace`) until this input is repainted: after
                # the refresh that follows the one after now (the focused widget handles the
                # key in its own task, maybe after the next refresh)
                token = foreground_busy(FOREGROUND_MAX_S)
                self.call_after_refresh(self.call_after_refresh, foreground_done, token)
        await super().on_event(event)

    def _light_or_full_poll(self) -> PollResult:
        """With events watching the root, re-judge only the jobs a wake named plus those due
        by time (`Watching.due`: the rule of `logist watch`'s light pass); else, or when asked,
        read the whole root. The poller reads it whole every FULL_POLL_S anyway."""
        with self._woken_lock:
            woken, self._woken = self._woken, set()
            full, self._full_next = self._full_next, False
            replaced, self._replaced = self._replaced, []
        let_go(replaced)
        watching, last = self._watching, self.last_poll
        if full or watching is None or last is None or self.interval is None:
            return self._poller.poll()
        due = watching.due(
            last.states,
            lease_factor=self.manager.policy.lease_factor,
            interval=self.interval,
            now=time.time(),
        )
        return self._poller.poll_light(due | woken)

    def on_poll_finished(self, message: PollFinished) -> None:
        self._poll_finished(message.result)

    def _poll_finished(self, result: PollResult) -> None:
        self._polling = False
        if not self.is_running:
            return  # shutting down: the panes may be gone already
        if isinstance(self.screen, ModalScreen) or (self.paused and not self._manual):
            held, kept = self._held, result
            if held is not None and not held.unchanged and result.unchanged:
                # the rows of `held` (an unchanged tick is the poller's last result again),
                # with what the tick learned: `held` has the base its diff is relative to
                kept = replace(
                    held,
                    taken_at=result.taken_at,
                    states=result.states,
                    watch=result.watch,
                    scan_s=result.scan_s,
                )
            self._held = kept
        else:
            self._apply(result)
        self._manual = False
        if not result.complete:  # a first look: the rest now
            self._poll_again = False
            self.poll_now()
        elif self._poll_again:
            # asked for while this one ran: a light tick unless a whole poll was asked for
            # (`_full_next` says so). A wake during a poll used to make the next one whole.
            self._poll_again = False
            self.poll_now(full=False)
        else:
            self._arm()

    def _arm(self) -> None:
        if self.interval is None or self.paused or self._poll_timer is not None:
            return
        self._poll_timer = self.set_timer(self.interval, self._timer_fired)

    def _timer_fired(self) -> None:
        self._poll_timer = None
        try:
            screen = self.screen
        except ScreenStackError:
            return  # the app is shutting down: its screens are gone, nothing to poll for
        if isinstance(screen, ModalScreen):
            self._arm()  # no refresh while a modal is open
        else:
            self.poll_now(full=False)

    def _release_held(self) -> None:
        """A modal closed: show what was polled meanwhile."""
        if self._held is not None and not self.paused:
            self._apply(self._held)

    def _apply(self, result: PollResult) -> None:
        self._held = None
        self.poll_count += 1
        if result.unchanged and self.last_poll is not None:
            # a light tick found every row as shown: only the header learns something
            self.last_poll = replace(self.last_poll, states=result.states, watch=result.watch)
            self.main_screen.checked(result.taken_at, result.watch)
            return
        if result.complete and not self._frozen:
            # The first full poll allocated the whole root (10,000 jobs and their rows): move it
            # out of the cyclic GC's sight; full collections of it stalled the loop ~50 ms
            # (measured, and in the middle of the first paint).
            gc.freeze()
            self._frozen = True
        arrived: list[tuple[str, VerdictKind]] = []
        # a tick that only brought orders (see `Poller.poll_light`) has the states shown:
        # nothing arrived, nothing more to follow (at 100,000 jobs ~40 ms of the event loop)
        restated = self.last_poll is None or result.states is not self.last_poll.states
        if result.error is None:
            # without the rows before it, applied now (~8 MB at 100,000 jobs); what it and the
            # rows before held alone freed in the worker (`let_go`), not here
            with self._woken_lock:
                self._replaced += (self.last_poll, result)
            self.last_poll = replace(
                result, jobs_base=None, findings_base=None, jobs_prefiltered=None
            )
            gone = [job for job in self.marks if job not in result.states]
            if gone:
                self.marks.difference_update(gone)
            if result.complete and restated:
                arrived = self.arrivals.observe(result.states, result.triage)
        self.main_screen.apply_poll(result, arrived)
        if arrived:
            self._announce(arrived)
        if self._watching is not None and result.error is None and result.complete and restated:
            self._watching.follow(result.states)
        for screen in self.screen_stack:
            if isinstance(screen, FollowsPolls):
                screen.poll_applied()

    def _announce(self, arrived: list[tuple[str, VerdictKind]]) -> None:
        """Name each new crash (a few, then a count) and ring the bell once for the poll."""
        lines = [f"{safe(job_id)}: {kind}" for job_id, kind in arrived[:NOTIFY_ARRIVALS_SHOWN]]
        if len(arrived) > NOTIFY_ARRIVALS_SHOWN:
            lines.append(f"… and {len(arrived) - NOTIFY_ARRIVALS_SHOWN} more (n: go to the newest)")
        self.notify(
            "\n".join(lines),
            title=f"{len(arrived)} newly crashed, hung or detached",
            severity="error",
            timeout=15,
            markup=False,
        )
        if self.ring_bell:
            self.bell()

    # ---- targets ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.read_only and action in WRITE_ACTIONS:
            return None  # shown dimmed: the operator sees that the key exists but is off
        # a confirmation or help on screen has the keys to itself
        return not (isinstance(self.screen, ModalScreen) and action in APP_ACTIONS)

    def on_key(self, event: events.Key) -> None:
        """A disabled action key says why it does nothing (the dimmed footer is easy to miss)."""
        if self.read_only and event.key in self._write_keys:
            self.notify(f"read-only: {event.key} is disabled", severity="warning", timeout=3)

    @property
    def _write_keys(self) -> frozenset[str]:
        return frozenset(
            key
            for binding, _ in self._listed_bindings()
            if binding.action in WRITE_ACTIONS
            for key in binding.key.split(",")
        )

    def _cursor_job(self) -> str | None:
        screen = self.screen
        if isinstance(screen, ShowsJob):
            return screen.job_id
        return self.main_screen.cursor_job_id()

    def _targets(self) -> list[str]:
        """Marked jobs when there are any, else the job under the cursor."""
        if self.marks:
            return sorted(self.marks)
        job = self._cursor_job()
        return [] if job is None else [job]

    # ---- actions ------------------------------------------------------------------------

    def action_recover(self) -> None:
        targets = self._targets()
        if not targets:
            self.notify("No job under the cursor and none marked.", severity="warning")
            return
        from .operations import propose_recovery

        self._propose(lambda: propose_recovery(self.manager, targets), "recover")

    def action_bulk_recover(self) -> None:
        from .operations import propose_bulk

        marked = sorted(self.marks) or None
        self._propose(lambda: propose_bulk(self.manager, marked), "bulk recover")

    def action_fix(self) -> None:
        """The finding under the cursor, or every fixable finding of the selected jobs."""
        from .operations import propose_fix

        only_key = None
        targets: list[str | None]
        key = self.main_screen.cursor_finding_key() if self.screen is self.main_screen else None
        if self.marks:
            targets = list(sorted(self.marks))
        elif key is not None and self.last_poll is not None:
            finding = self.last_poll.finding_objects[key]
            targets, only_key = [finding.job_id], key
        else:
            job = self._cursor_job()
            if job is None:
                self.notify("No finding or job selected.", severity="warning")
                return
            targets = [job]
        self._propose(lambda: propose_fix(self.manager, targets, only_key), "fix")

    def action_reattach(self) -> None:
        job = self._cursor_job()
        if job is None:
            self.notify("No job under the cursor.", severity="warning")
            return
        if self._acting:
            self.notify("Another action is still running.", severity="warning")
            return
        self._acting = True
        self.run_worker(
            partial(self._reattach_in_thread, job), thread=True, group="action", exit_on_error=False
        )

    def _reattach_in_thread(self, job_id: str) -> None:
        """Watching a running job changes nothing: no confirmation. Adopting does: confirm."""
        from .operations import propose_adopt, reattach

        try:
            kind = self.manager.job(job_id).verdict.kind
            if kind is VerdictKind.RUNNING:
                result, attached = reattach(self.manager, job_id)
                self.post_message(ActionFinished([result], label="reattach", attached=attached))
            elif self.read_only:
                why = f"read-only: adopting a {kind} job is disabled; a only watches running jobs"
                self.post_message(ActionFinished([_refused(job_id, why)], label="reattach"))
            else:
                self.post_message(ProposalReady(propose_adopt(self.manager, job_id)))
        except Exception as exc:  # report every failure; never leave the action pending
            self.post_message(ActionFinished([_failed(job_id, "reattach", exc)], label="reattach"))

    def _propose(self, make: Callable[[], Proposal], label: str) -> None:
        if self._acting:
            self.notify("Another action is still running.", severity="warning")
            return
        self._acting = True

        def work() -> None:
            try:
                self.post_message(ProposalReady(make()))
            except Exception as exc:  # report every failure; never leave the action pending
                self.post_message(ActionFinished([_failed(None, label, exc)], label=label))

        self.run_worker(work, thread=True, group="action", exit_on_error=False)

    def on_proposal_ready(self, message: ProposalReady) -> None:
        proposal = message.proposal
        if not proposal.items:
            self._acting = False
            refused = _skipped_results(proposal)
            if refused:
                self._report(refused, proposal.title)
            else:
                self.notify("Nothing to do: no job is eligible.", title=proposal.title)
            return
        from .screens.confirm import ConfirmScreen

        self.push_screen(
            ConfirmScreen(proposal=proposal), callback=partial(self._confirmed, proposal)
        )

    def _confirmed(self, proposal: Proposal, confirmed: bool | None) -> None:
        self._release_held()
        if not confirmed:
            self._acting = False
            self.notify("Cancelled: nothing was changed.", title=proposal.title)
            return
        self.run_worker(
            partial(self._carry_out_in_thread, proposal),
            thread=True,
            group="action",
            exit_on_error=False,
        )

    def _carry_out_in_thread(self, proposal: Proposal) -> None:
        from .operations import carry_out, reattach

        attached = None
        try:
            if proposal.kind is Action.ADOPT:
                job_id = proposal.items[0].job_id or ""
                result, attached = reattach(self.manager, job_id)
                results = [result]
            else:
                results = carry_out(
                    self.manager,
                    proposal,
                    lambda done, total, result: self.post_message(
                        ActionProgress(done, total, result)
                    ),
                )
        except Exception as exc:  # report every failure; never leave the action pending
            results = [_failed(None, str(proposal.kind), exc)]
        self.post_message(
            ActionFinished(
                _skipped_results(proposal) + results, label=proposal.title, attached=attached
            )
        )

    def on_action_progress(self, message: ActionProgress) -> None:
        if message.total > 1:
            self.main_screen.show_progress(message.done, message.total)

    def on_action_finished(self, message: ActionFinished) -> None:
        self._acting = False
        self.main_screen.hide_progress()
        self._report(message.results, message.label)
        for result in message.results:
            if result.ok and result.action == "fix" and self.last_poll is not None:
                for key, finding in self.last_poll.finding_objects.items():
                    if finding.job_id == result.job_id:
                        self._poller.forget_finding(key)
        if self.marks and any(r.outcome is not Outcome.WATCHING for r in message.results):
            marked = list(self.marks)
            self.marks.clear()
            self.main_screen.marks_changed(marked)
        if message.attached is not None and message.attached.job_id:
            self._open_logs(message.attached.job_id, message.attached)
        self.poll_now()

    def _report(self, results: list[ActionResult], label: str) -> None:
        """Every result goes to the Activity view; notifications summarise."""
        from .widgets.activity import SessionEntry

        now = self.clock()
        self.session.extend(SessionEntry(now, result) for result in results)
        if len(results) == 1:
            result = results[0]
            self.notify(
                f"{safe(result.job_id or '(root)')}: {result.outcome}: {safe(result.message)}",
                title=label,
                severity="information" if result.ok else "error",
                timeout=5 if result.ok else 12,
                markup=False,
            )
            return
        counts = Counter(str(r.outcome) for r in results)
        failed = [r for r in results if not r.ok]
        lines = [", ".join(f"{n} {outcome}" for outcome, n in counts.items())]
        lines += [
            f"{safe(r.job_id or '(root)')}: {safe(r.message)}"
            for r in failed[:NOTIFY_FAILURES_SHOWN]
        ]
        if len(failed) > NOTIFY_FAILURES_SHOWN:
            lines.append(f"… {len(failed) - NOTIFY_FAILURES_SHOWN} more in Activity (A)")
        self.notify(
            "\n".join(lines),
            title=label,
            severity="warning" if failed else "information",
            timeout=12 if failed else 6,
            markup=False,
        )

    def action_validate(self) -> None:
        self.notify("Validating the whole root…", timeout=2)
        self.run_worker(
            self._validate_in_thread, thread=True, group="validate", exit_on_error=False
        )

    def _validate_in_thread(self) -> None:
        try:
            findings = self.manager.validate_job_consistency(None)
            quick = {
                finding_key(f) for f in self.manager.quick_findings(self.manager.last_snapshot())
            }
        except Exception as exc:  # a failed validation is reported, not raised
            self.notify(f"Validation failed: {safe(exc)}", severity="error", markup=False)
            return
        self.post_message(Validated(findings, quick))

    def on_validated(self, message: Validated) -> None:
        self._poller.set_validated(message.findings, message.quick_keys)
        severities = Counter(str(f.severity) for f in message.findings)
        fixable = sum(1 for f in message.findings if f.fix is not None)
        summary = ", ".join(f"{n} {s}" for s, n in severities.items()) or "no findings"
        self.notify(
            f"{summary}; {fixable} with an automatic fix (f)", title="Validation", markup=False
        )
        self.poll_now()

    def action_logs(self) -> None:
        job = self._cursor_job()
        if job is None:
            self.notify("No job under the cursor.", severity="warning")
            return
        self._open_logs(job, None)

    def _open_logs(self, job_id: str, attached: ReattachResult | None) -> None:
        from .screens.logs import LogsScreen

        self.push_screen(
            LogsScreen(
                job_id=job_id,
                manager=self.manager,
                clock=self.clock,
                follow=self.interval is not None,
                attached=attached,
            )
        )

    def action_activity(self) -> None:
        from .screens.activity import ActivityScreen

        if not isinstance(self.screen, ActivityScreen):
            self.push_screen(
                ActivityScreen(manager=self.manager, session=self.session, marks=self.marks)
            )

    def action_timeline(self) -> None:
        from .screens.timeline import TimelineScreen

        if not isinstance(self.screen, TimelineScreen):
            self.push_screen(TimelineScreen(manager=self.manager, marks=self.marks))

    def action_archived(self) -> None:
        from .screens.archived import ArchivedScreen

        if not isinstance(self.screen, ArchivedScreen):
            self.push_screen(ArchivedScreen(manager=self.manager))

    def action_resume_auto(self) -> None:
        watch = self.last_poll.watch if self.last_poll is not None else None
        if watch is None or not watch.brake:
            self.notify("The watch's storm brake is not engaged.", markup=False)
            return
        from .screens.resume_auto import ResumeAutoScreen

        self.push_screen(ResumeAutoScreen(reason=watch.brake_reason), self._resume_confirmed)

    def _resume_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self.run_worker(self._resume_in_thread, thread=True, exit_on_error=False)

    def _resume_in_thread(self) -> None:
        try:
            released = self.manager.resume_auto_recovery()
            message = (
                "Storm brake released: the watch resumes automatic recovery on its next pass."
                if released
                else "The storm brake was already released."
            )
            self.call_from_thread(self.notify, message, markup=False)
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"Brake not released: {exc}", severity="error", markup=False
            )
        self.call_from_thread(self.poll_now)

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.main_screen.set_modes(paused=self.paused)
        if self.paused:
            if self._poll_timer is not None:
                self._poll_timer.stop()
                self._poll_timer = None
        else:
            self.poll_now()

    def action_refresh(self) -> None:
        self._manual = True
        self.poll_now()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(
            HelpScreen(keys=self.key_help(), read_only=self.read_only),
            callback=lambda _: self._release_held(),
        )

    # ---- keys ---------------------------------------------------------------------------

    def _listed_bindings(self) -> Iterable[tuple[Binding, str]]:
        """(binding, namespace) for every key worth listing: app, main screen, tables."""
        for binding in self.BINDINGS:
            if isinstance(binding, Binding):
                yield binding, "app"
        for binding in ConsoleScreen.BINDINGS:
            if isinstance(binding, Binding):
                yield binding, "screen"
        for binding in KeyedTable.BINDINGS:
            if isinstance(binding, Binding):
                yield binding, "table"

    def key_display(self, binding: Binding) -> str:
        return ", ".join(
            self.get_key_display(replace(binding, key=k)) for k in binding.key.split(",")
        )

    def key_help(self) -> list[tuple[str, str]]:
        """(keys, what they do) for `?` help, from the live bindings."""
        keys = [
            (self.key_display(binding), binding.tooltip or binding.description)
            for binding, _ in self._listed_bindings()
        ]
        keys.append(("tab", "Next pane"))
        keys.append(("ctrl+p", "Command palette"))
        return keys

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save the screen as SVG in the current directory (Textual's default is a downloads
        folder an operator on SSH never looks in), and say where."""
        saved = self.save_screenshot(filename, path or os.getcwd())
        self.notify(f"Screenshot saved: {safe(saved)}", title="Screenshot", markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands and the console's keys, each listed once."""
        ours = list(self._key_commands(screen))
        titles = {command.title for command in ours}
        for command in super().get_system_commands(screen):
            if command.title not in titles:
                yield command
        yield from ours

    def _key_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for binding, namespace in self._listed_bindings():
            if namespace == "table" or (namespace == "screen" and screen is not self.main_screen):
                continue
            if namespace == "app" and self.check_action(binding.action, ()) is None:
                continue
            target = self if namespace == "app" else self.main_screen
            yield SystemCommand(
                binding.description,
                f"{self.key_display(binding)}: {binding.tooltip or binding.description}",
                partial(self.run_action, binding.action, target),
            )


def _failed(job_id: str | None, action: str, exc: Exception) -> ActionResult:
    return ActionResult(job_id, action, Outcome.FAILED, str(exc), error=type(exc).__name__)


def _refused(job_id: str, why: str) -> ActionResult:
    return ActionResult(job_id, "reattach", Outcome.REFUSED, why, error="ReadOnly")


def _skipped_results(proposal: Proposal) -> list[ActionResult]:
    return [
        ActionResult(job_id, str(proposal.kind), Outcome.REFUSED, why, error="NotRecoverable")
        for job_id, why in proposal.skipped
    ]
