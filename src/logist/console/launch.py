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
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from logist.core import Health, JobRecoveryManager, RootNotFound

from .config import config_path, load_settings, save_settings
from .poller import Poller

DEFAULT_INTERVAL_S = 2.0

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
        if app.final_settings is not None:
            try:
                save_settings(settings_file, app.final_settings)
            except OSError as exc:
                print(f"logist: settings not saved: {settings_file}: {exc}", file=sys.stderr)
        return app.return_code or 0
    finally:
        remove_demo()


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
