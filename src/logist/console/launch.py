"""`logist console`: find the root (or stage the demo), start the first scan, run the app.

This module does not import Textual at import time: the first, cold scan of the root starts
before Textual is imported, so that at 10,000 jobs it overlaps the whole start-up.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logist.core import Health, JobRecoveryManager, RootNotFound

from .config import config_path, load_settings, save_settings
from .poller import Poller

DEFAULT_INTERVAL_S = 2.0
CONSOLE_FLAGS = ("--demo", "--read-only", "--no-bell")
CONSOLE_VALUES = ("--root", "--interval", "--theme")
"""The options of `logist console` that `console_options` reads (the click command declares
the same, and `--screenshot` and `--size`, which it leaves to click)."""
INTERVAL_RANGE = (0.2, 3600.0)

if TYPE_CHECKING:
    from logist.demo import DemoRoot


def run_console(
    *,
    root: str | None,
    demo: bool,
    read_only: bool,
    interval: float | None,
    bell: bool = True,
    theme: str | None = None,
) -> int:
    """Open the console on a root, or on a freshly staged demo root; returns the exit code.

    With `demo`, every process the demo started is stopped when the console exits, however it
    exits, and its temporary root is removed. Theme, sorts and interval come from the XDG
    config file unless given, and are saved back on exit.
    """
    settings_file = config_path()
    settings, problem = load_settings(settings_file)
    settings = replace(settings, theme=theme or settings.theme)
    staged = None
    remove_demo: Callable[[], object] = lambda: None  # noqa: E731
    try:
        if demo:
            from logist.demo import stage_demo

            print("staging the demo root (real processes)…", file=sys.stderr)
            staged = stage_demo(None)
            root = str(staged.root)
            remove_demo = partial(_remove_demo, staged)
            # until the app takes over SIGHUP: a terminal lost during start-up stops the demo too
            signal.signal(signal.SIGHUP, _hang_up_before_start(remove_demo))
        try:
            # the scan cache: a big root is on screen after a stat per job, not a read of each
            manager = JobRecoveryManager(root, scan_cache=True)
        except RootNotFound as exc:
            print(f"logist: {exc}", file=sys.stderr)
            return 2
        poller = Poller(manager=manager, clock=time.time)
        poller.prefetch()
        from .app import ConsoleApp

        app = ConsoleApp(
            manager=manager,
            read_only=read_only,
            interval=interval or settings.interval or DEFAULT_INTERVAL_S,
            demo=staged is not None,
            poller=poller,
            on_hangup=None if staged is None else remove_demo,
            bell=bell,
            settings=settings,
            settings_problem=problem,
        )
        app.run()
        _ignore_hangup_if(staged is not None)
        if app.final_settings is not None:
            try:
                save_settings(settings_file, app.final_settings)
            except OSError as exc:
                print(f"logist: settings not saved: {settings_file}: {exc}", file=sys.stderr)
        return app.return_code or 0
    finally:
        _ignore_hangup_if(staged is not None)
        remove_demo()


def _ignore_hangup_if(demo: bool) -> None:
    """From the app's end to the demo's removal, a lost terminal must not end the process:
    the app's SIGHUP handler went with its event loop, and the default action stopped it
    half-way, the demo's processes left running or its temporary root half-deleted."""
    if demo:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def console_options(args: Sequence[str]) -> dict[str, Any] | None:
    """`run_console`'s arguments as the click `console` command reads `args`, or None when
    click should read them (help, a screenshot, usage errors, anything unusual).

    `logist console` starts here, before click is imported (`logist.__main__`): click and the
    CLI's module were ~15 ms of the event loop's start-up, on the GIL the first whole poll of a
    big root needs. tests/cli/test_console_dispatch.py holds the two readings equal."""
    from logist._launch import directory_option_ok, number_within, option_value

    flags: set[str] = set()
    values: dict[str, str] = {}
    rest = list(args)
    while rest:
        name, has_value, value = rest.pop(0).partition("=")
        if name in CONSOLE_FLAGS and not has_value:
            flags.add(name)
            continue
        taken = option_value(has_value, value, rest) if name in CONSOLE_VALUES else None
        if taken is None:
            return None
        values[name] = taken
    root = values.get("--root")
    if root is not None and not directory_option_ok(root):
        return None
    interval = number_within(values.get("--interval"), INTERVAL_RANGE)
    if interval is None and "--interval" in values:
        return None
    return {
        "root": root,
        "demo": "--demo" in flags,
        "read_only": "--read-only" in flags,
        "interval": interval,
        "bell": "--no-bell" not in flags,
        "theme": values.get("--theme"),
    }


def _remove_demo(staged: DemoRoot) -> None:
    """Stop the demo's processes, then delete the temporary directory `stage_demo` made."""
    staged.stop()
    shutil.rmtree(staged.root.parent, ignore_errors=True)


def _hang_up_before_start(stop: Callable[[], object]) -> Callable[[int, object], None]:
    def hang_up(_signum: int, _frame: object) -> None:
        stop()
        os._exit(128 + signal.SIGHUP)

    return hang_up


def screenshot_console(
    *, root: str | None, path: Path, size: tuple[int, int], theme: str | None = None
) -> int:
    """`console --screenshot`: one headless frame into `path`; exits like `logist status`."""
    try:
        manager = JobRecoveryManager(root)
    except RootNotFound as exc:
        print(f"logist: {exc}", file=sys.stderr)
        return Health.UNKNOWN.exit_code
    from .screenshot import take_screenshot

    return take_screenshot(manager, path, size, theme=theme)
