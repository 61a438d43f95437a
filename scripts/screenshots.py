"""Regenerate the SVGs in screenshots/ from a live demo root (real processes, stopped after).

    uv run python scripts/screenshots.py

Each picture is taken headlessly with `App.save_screenshot` on a console that polled once (no
timer), after the demo's hung job has had time to go stale.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from logist.console.app import ConsoleApp
from logist.core import JobRecoveryManager, VerdictKind
from logist.demo import stage_demo

OUT = Path(__file__).resolve().parent.parent / "screenshots"
HUNG = "scrape-catalog"


async def shoot(
    root: Path,
    name: str,
    size: tuple[int, int],
    *,
    select: str | None = None,
    keys: Sequence[str] = (),
    shows: Sequence[str] = (),
) -> None:
    """`shows`: words the picture must contain (what its caption in README promises)."""
    # the real host name, as in the evidence the panes show (a made-up one disagreed with it)
    app = ConsoleApp(manager=JobRecoveryManager(root), interval=None)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        if select is not None:
            app.main_screen.table("jobs").move_to_key(select)
            await pilot.pause(0.3)  # the side detail follows the cursor after a short debounce
            await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        app.save_screenshot(f"{name}.svg", path=str(OUT))
    picture = (OUT / f"{name}.svg").read_text()
    missing = [word for word in shows if word not in picture]
    if missing:
        raise SystemExit(f"screenshots/{name}.svg does not show {missing}")
    print(f"screenshots/{name}.svg")


async def settle(app: ConsoleApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        if app.poll_count and all(w.is_finished for w in app.workers):
            await pilot.pause(0.05)
            return


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    demo = stage_demo(None)
    try:
        manager = JobRecoveryManager(demo.root)
        deadline = time.monotonic() + 15
        while manager.job(HUNG).verdict.kind is not VerdictKind.HUNG:
            if time.monotonic() > deadline:
                raise SystemExit(f"{HUNG} did not go stale")
            time.sleep(0.2)
        time.sleep(2)  # a few more log lines
        root = demo.root
        await shoot(root, "main", (160, 50), select=HUNG)
        await shoot(root, "main-80x24", (80, 24))
        await shoot(root, "triage", (120, 40), keys=["2"])
        await shoot(
            root,
            "detail",
            (110, 60),
            select="ingest-invoices",
            keys=["enter"],
            shows=("Evidence", "Plan", "History", "Log"),
        )
        await shoot(root, "confirmation", (120, 40), select=HUNG, keys=["r"])
        await shoot(root, "help", (100, 44), keys=["question_mark"])
    finally:
        demo.stop()
        shutil.rmtree(demo.root.parent, ignore_errors=True)  # the temporary dir stage_demo made


if __name__ == "__main__":
    asyncio.run(main())
