"""`logist console --screenshot FILE.svg`: one frame of the console, headless, for CI.

The frame is the console an operator would see (same panes, same data) after the first full
poll, with nothing that ticks: no polling timer, no clock in the header, no notification. Two
runs on the same root at the same (frozen) time give the same bytes. The exit code is the one
`logist status` gives, so a pipeline gets the picture and the verdict from one step.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from logist.core import Health, JobRecoveryManager

from .app import ConsoleApp
from .config import Settings
from .widgets.header import HeaderBar

SETTLE_ROUNDS = 400
SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")


def parse_size(text: str) -> tuple[int, int]:
    """`120x40` -> (120, 40); at least 80x24, the smallest terminal the console is made for."""
    match = SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"size must look like 120x40, not {text!r}")
    width, height = int(match[1]), int(match[2])
    if width < 80 or height < 24:
        raise ValueError(f"size {text} is under the console's minimum of 80x24")
    return width, height


def take_screenshot(
    manager: JobRecoveryManager,
    path: Path,
    size: tuple[int, int],
    *,
    clock: Callable[[], float] = time.time,
    host: str | None = None,
    theme: str | None = None,
) -> int:
    """Render the console on `manager`'s root into `path`; returns the `status` exit code."""
    app = ConsoleApp(
        manager=manager,
        interval=None,
        clock=clock,
        host=host,
        bell=False,
        settings=Settings(theme=theme),
    )

    async def shoot(pilot) -> None:  # type: ignore[no-untyped-def]  # Pilot[int]
        for _ in range(SETTLE_ROUNDS):
            await pilot.pause()
            await app.workers.wait_for_complete()
            poll = app.last_poll
            if poll is not None and poll.complete and all(w.is_finished for w in app.workers):
                break
        await pilot.pause()
        app.clear_notifications()
        app.main_screen.query_one(HeaderBar).set_state(still=True)
        await pilot.pause()
        svg = app.export_screenshot(title=f"Logist console: {manager.root}")
        path.write_text(svg, encoding="utf-8")
        poll = app.last_poll
        report = None if poll is None else poll.report
        app.exit(return_code=(report.overall if report else Health.UNKNOWN).exit_code)

    app.run(headless=True, size=size, auto_pilot=shoot)
    return app.return_code if app.return_code is not None else Health.UNKNOWN.exit_code
