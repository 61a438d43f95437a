"""Untrusted text reaches the operator literally: an action's toast and a history note that look
like markup are shown as written, never parsed (a `[@click=app.quit]` would act)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import read_job
from logist.console.screens.confirm import ConfirmScreen

from .support import crashed_legacy, make_app, settle, synchronously

MARKUP_ID = "x[bold]y[@click=app.quit]z"
MARKUP_NOTE = "[@click=app.quit]quit[/] [red]not red[/red]"


@synchronously
async def test_an_action_toast_about_a_job_named_like_markup_is_shown_literally(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, MARKUP_ID)
    app = make_app(jobs_root)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        await settle(pilot, polls=2)
        assert app.is_running
        toasts = [n for n in app._notifications if n.message.startswith(MARKUP_ID)]
        assert toasts and not toasts[0].markup, [n.message for n in app._notifications]
    assert read_job(jobs_root, MARKUP_ID)["status"] == "PENDING"


@synchronously
async def test_a_history_note_that_looks_like_markup_is_shown_literally(jobs_root: Path) -> None:
    job_dir = crashed_legacy(jobs_root, "noted")
    data = json.loads((job_dir / "job_manifest.json").read_text())
    data["history"] = [{"timestamp": None, "event": "NOTE", "summary": MARKUP_NOTE}]
    (job_dir / "job_manifest.json").write_text(json.dumps(data))
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        screen = app.export_screenshot()
        assert "[@click=app.quit]quit[/]" in screen.replace("&#160;", " "), "note not literal"
