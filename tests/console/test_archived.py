"""`X`: the original's archived jobs in their own list, never dropped and never read as markup."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from conftest import write_job
from corpus import core_index
from logist.console.screens.archived import ArchivedScreen
from logist.console.screens.help import HelpScreen

from .support import make_app, settle, synchronously


@synchronously
async def test_x_lists_the_originals_archived_jobs_as_plain_text(
    jobs_root: Path, tmp_path: Path
) -> None:
    write_job(jobs_root, "live")
    index = core_index({"live": str(jobs_root / "live")})
    index["archived_jobs"] = [
        {"job_id": "[bold red]gone[/]", "archived_at": "2026-11-27T10:00:00", "reason": "cleanup"},
        {"job_id": "esc\x1b[2Jape", "archived_at": "2026-11-27T11:00:00", "reason": "cleanup"},
    ]
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    (jobs_root / "backups").mkdir()
    (jobs_root / "backups" / "old_cleanup_20261127_100000.zip").write_bytes(b"PK")
    (tmp_path / "outside.zip").write_bytes(b"PK")
    (jobs_root / "backups" / "linked.zip").symlink_to(tmp_path / "outside.zip")

    app = make_app(jobs_root)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = "\n".join(str(s.render()) for s in app.screen.query(Static))
        assert "X" in help_text and "the original's archived jobs" in help_text
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("X")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ArchivedScreen)
        table = screen.query_one("#archived")
        lines = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "[bold red]gone[/]" in lines  # shown as written, not parsed as markup
        assert "esc\\x1b[2Jape" in lines  # the escape made visible, never sent to the terminal
        assert "backups/old_cleanup_20261127_100000.zip" in lines
        assert "linked.zip" not in lines  # a link is not an archive of this root
        assert "3 archived" in str(screen.query_one("#archived-pane").border_subtitle)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main_screen
