"""Helpers of the console tests: apps without polling timers, settling, a deterministic root.

Every app here is built with `interval=None` (one poll, no timer), so the pilot never waits on a
running timer, and with a fixed host name. The snapshot root lives at a fixed path with fixed job
ids and mtimes, no live processes, and ages computed from a frozen clock (in UTC: see conftest).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from conftest import IMPOSSIBLE_PID, write_job
from logist.console.app import ConsoleApp
from logist.console.rows import VERDICT_RANK, JobRow
from logist.core import JobRecoveryManager, VerdictKind

NOW = 1_800_000_000.0
"""The frozen clock of the snapshot root (2027-01-15 08:00 UTC)."""
SNAPSHOT_ROOT = Path("/tmp/logist-console-snapshots/jobs")
CRASHES_ROOT = Path("/tmp/logist-console-snapshots/crashes")
"""A second fixed root (same lock): many proven crashes, for the bulk confirmation."""


def a_job_row(
    key: str,
    kind: VerdictKind,
    *,
    status: str | None = None,
    activity: float | None = None,
    phase: int | None = None,
    cost: float | None = None,
    description: str = "",
    reason: str = "reason",
) -> JobRow:
    """A jobs-table row of these values (what sorts and filters read; the others plain), made
    by field name: the tests do not spell out the row's layout. `activity`: minus the time."""
    values = {
        JobRow.VERDICT: VERDICT_RANK[kind],
        JobRow.RANK_ACTIVITY: activity or -0.0,
        JobRow.KEY: key,
        JobRow.PHASE: "-",
        JobRow.DESCRIPTION: description,
        JobRow.SHARED: (("",) * 7, f"{status}\n{kind.value}\n{reason}".lower()),
        JobRow.STATUS_KEY: status,
        JobRow.ACTIVITY: activity,
        JobRow.PHASE_INDEX: phase,
        JobRow.COST_VALUE: cost,
        JobRow.SEARCH: f"{description}\n{key}".lower(),
    }
    assert sorted(values) == list(range(len(values)))  # every field, once
    return JobRow(values[position] for position in range(len(values)))


def synchronously(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async Pilot test on its own event loop (no asyncio plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(root: Path, *, clock: Callable[[], float] | None = None, **options: Any) -> ConsoleApp:
    manager = JobRecoveryManager(root, clock=clock) if clock else JobRecoveryManager(root)
    return ConsoleApp(
        manager=manager,
        interval=None,
        host="test-host",
        **({"clock": clock} if clock else {}),
        **options,
    )


async def settle(pilot: Pilot[Any], *, polls: int = 1) -> None:
    """Wait until `polls` polls were applied and no worker is left running."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    for _ in range(400):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.poll_count >= polls and all(w.is_finished for w in app.workers):
            return
    raise AssertionError(f"the app did not settle (polls applied: {app.poll_count})")


async def refresh(pilot: Pilot[Any]) -> None:
    """ctrl+r, then wait for that poll to be applied."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    before = app.poll_count
    await pilot.press("ctrl+r")
    await settle(pilot, polls=before + 1)


def table_text(app: ConsoleApp, name: str) -> list[str]:
    """The visible lines of a pane's table, as the operator sees them."""
    table = app.main_screen.table(name)
    return [table.render_line(y).text for y in range(table.size.height)]


def crashed_legacy(root: Path, job_id: str, **fields: Any) -> Path:
    """A Logist job whose recorded pid cannot exist and whose lock is free: proven crashed."""
    return write_job(root, job_id, status="EXECUTING", process_id=IMPOSSIBLE_PID, **fields)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment).isoformat()


def _job(root: Path, job_id: str, age_s: float, **fields: Any) -> None:
    """A manifest whose mtime and last history entry are `age_s` before NOW."""
    at = NOW - age_s
    data = {
        "job_id": job_id,
        "description": fields.pop("description", f"Nightly {job_id}"),
        "status": "PENDING",
        "current_phase": "transform",
        "phases": [{"name": n} for n in ("fetch", "transform", "publish")],
        "created_at": _iso(at - 3600),
        "metrics": {"cumulative_cost": 1.25, "cumulative_time_seconds": 1800, "step_count": 4},
        "cost_threshold": 5.0,
        "time_threshold_minutes": 60,
        "history": [
            {"timestamp": _iso(at - 3600), "event": "JOB_CREATED"},
            {"timestamp": _iso(at - 600), "action": "step", "summary": "fetch: done"},
            {"timestamp": _iso(at), "action": "step", "summary": "transform: 2 of 5"},
        ],
        **fields,
    }
    job_dir = root / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    path = job_dir / "job_manifest.json"
    path.write_text(json.dumps(data, indent=2))
    os.utime(path, (at, at))


def build_snapshot_root() -> Path:
    """Every verdict that can be staged without processes, at a fixed path and fixed times."""
    root = SNAPSHOT_ROOT
    if root.parent.exists():
        shutil.rmtree(root.parent)
    root.mkdir(parents=True)
    _job(root, "render-report-q3", 95, status="EXECUTING", process_id=IMPOSSIBLE_PID)
    _job(
        root,
        "backfill-2024-06",
        1500,
        status="EXECUTING",
        process_id=IMPOSSIBLE_PID,
        metrics={"cumulative_cost": 6.5, "cumulative_time_seconds": 4000, "step_count": 9},
    )
    _job(root, "legacy-migrate-crm", 3 * 3600, status="EXECUTING")
    _job(root, "legacy-index-rebuild", 120, status="EXECUTING")
    for job_id, heartbeat_age in (("remote-train", 2.0), ("remote-etl", 900.0)):
        _job(
            root,
            job_id,
            30,
            status="EXECUTING",
            owner={
                "host": "node-b",
                "boot_id": "0000-boot",
                "pid": 4242,
                "start_token": 7,
                "heartbeat_interval_s": 5,
                "started_at": _iso(NOW - 3600),
            },
        )
        beat = root / job_id / "heartbeat"
        beat.touch()
        os.utime(beat, (NOW - heartbeat_age, NOW - heartbeat_age))
    for number in range(1, 9):
        _job(root, f"job-{number:03d}-done", 3600 * number, status="SUCCESS")
    _job(root, "job-009-pending", 7200)
    _job(root, "job-010-paused", 9000, status="PAUSED")
    corrupt = root / "corrupt-billing-export"
    corrupt.mkdir()
    (corrupt / "job_manifest.json").write_bytes(b'{"job_id": "corrupt-billing-export", "sta')
    os.utime(corrupt / "job_manifest.json", (NOW - 1800, NOW - 1800))
    index = {j.name: str(j) for j in sorted(root.iterdir()) if j.name != "job-009-pending"}
    (root / "jobs_index.json").write_text(json.dumps({"jobs": index, "queue": []}))
    return root


def build_crashes_root(count: int = 30) -> Path:
    """`count` proven crashes (a legacy pid that cannot exist), at a fixed path and fixed times."""
    root = CRASHES_ROOT
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for number in range(count):
        _job(
            root,
            f"nightly-{number:03d}",
            60 * (number + 1),
            status="EXECUTING",
            process_id=IMPOSSIBLE_PID,
        )
    return root
