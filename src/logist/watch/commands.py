"""`logist watch` and `logist events`: click commands over WatchService and the journal.

Registered on the main group by `logist.cli`; uses its shared helpers (`_die`, `_guard`,
`_emit_json`) so that errors and JSON look like every other command's.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from logist.cli import _die, _emit_json, _guard, _parse_since, _safe, json_option, root_option
from logist.core import JobNotFound, JobRecoveryManager
from logist.core._root import validate_job_id

from ._auto import AutoMode, AutoPolicy

EVENT_KINDS = (
    "verdict",
    "auto-recovery",
    "brake-on",
    "brake-off",
    "watch-start",
    "watch-stop",
    "root-back",
    "hook-failed",
)
FOLLOW_POLL_S = 0.25


@click.command()
@root_option
@click.option(
    "--auto-recover",
    "auto",
    type=click.Choice([m.value for m in AutoMode]),
    default="off",
    show_default=True,
    is_flag=False,
    flag_value="proven",
    help="Recover by itself: proven crashes, or also inferred ones (stalled, remote-stale).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between passes over what events cannot see (events act at once).",
)
@click.option(
    "--full-every",
    type=click.FloatRange(1, 86400),
    default=30.0,
    show_default=True,
    help="Seconds between whole-root scans (events and --interval passes cover the rest).",
)
@click.option(
    "--max-per-minute",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Automatic recoveries per minute (0: no limit).",
)
@click.option(
    "--brake-share",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Pause auto-recovery when more than this share of active jobs crash in one "
    "pass (0: never).",
)
@click.option(
    "--brake-min",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="...and at least this many.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on this port.",
)
@click.option(
    "--metrics-addr", default="127.0.0.1", show_default=True, help="Address for --metrics-port."
)
@click.option(
    "--metrics-textfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write metrics here (node_exporter textfile collector).",
)
@click.option(
    "--on-event",
    "hooks",
    multiple=True,
    help="Run this command per event, the event's JSON on stdin (repeatable).",
)
@click.option(
    "--on-event-kind",
    "hook_kinds",
    multiple=True,
    type=click.Choice(EVENT_KINDS),
    help="Only these kinds of event for --on-event (repeatable; default: all).",
)
@click.option(
    "--hook-timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds a hook may run before its process group is killed.",
)
@click.option(
    "--resume-auto", is_flag=True, help="Release the storm brake of the root's watch and exit."
)
@_guard
def watch(
    root: str | None,
    auto: str,
    interval: float,
    full_every: float,
    max_per_minute: int,
    brake_share: float,
    brake_min: int,
    metrics_port: int | None,
    metrics_addr: str,
    metrics_textfile: Path | None,
    hooks: Sequence[str],
    hook_kinds: Sequence[str],
    hook_timeout: float,
    resume_auto: bool,
) -> None:
    """Watch the root: journal verdict changes, export metrics, optionally auto-recover."""
    if resume_auto:
        released = JobRecoveryManager(root).resume_auto_recovery()
        click.echo(
            "storm brake released: the watch resumes automatic recovery on its next pass"
            if released
            else "the storm brake is not engaged",
            err=True,
        )
        return
    from ._service import WatchBusy, WatchOptions, WatchService

    options = WatchOptions(
        interval=interval,
        full_every=full_every,
        auto=AutoPolicy(
            AutoMode(auto),
            max_per_minute=max_per_minute,
            brake_share=brake_share,
            brake_min_jobs=brake_min,
        ),
        metrics_port=metrics_port,
        metrics_addr=metrics_addr,
        metrics_textfile=metrics_textfile,
        hooks=tuple(hooks),
        hook_kinds=tuple(hook_kinds),
        hook_timeout=hook_timeout,
    )
    logging.basicConfig(level=logging.WARNING, format="logist watch: %(message)s")
    service = WatchService(root, options, say=lambda line: click.echo(_safe(line), err=True))
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: service.stop())
    try:
        service.run()
    except WatchBusy as exc:
        _die(str(exc))


@click.command()
@root_option
@click.option("--job", "job_id", default=None, help="Only this job's events.")
@click.option(
    "--since",
    default=None,
    callback=_parse_since,
    help="Only events since a local time (2026-12-01T09:30) or an age (90s, 10m, 2h, 1d).",
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing events as they come.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the newest N.")
@json_option
@_guard
def events(
    root: str | None,
    job_id: str | None,
    since: float | None,
    follow: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """The watch's incident journal. With --follow --json: one JSON object per line."""
    manager = JobRecoveryManager(root)
    if job_id is not None:
        validate_job_id(job_id)
    records = manager.events(job_id, since=since, limit=limit)
    if job_id is not None and not records and not follow and job_id not in manager.scan().jobs:
        raise JobNotFound(job_id)  # the one unknown-id answer of every command (exit 1)
    if as_json and not follow:
        _emit_json(records)
        return
    for record in records:
        _print_event(record, as_json)
    if not follow:
        return
    last = max((_ts(r) for r in records), default=since or time.time())
    seen = {json.dumps(r, sort_keys=True, default=str) for r in records if _ts(r) == last}
    try:
        while True:
            time.sleep(FOLLOW_POLL_S)
            fresh = manager.events(job_id, since=last)
            for record in fresh:
                key = json.dumps(record, sort_keys=True, default=str)
                if key in seen:
                    continue
                _print_event(record, as_json)
                if _ts(record) > last:
                    last, seen = _ts(record), set()
                seen.add(key)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return


def _ts(record: dict[str, Any]) -> float:
    ts = record.get("ts")
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else 0.0


def _print_event(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(record, default=str, ensure_ascii=False))
        return
    when = datetime.fromtimestamp(_ts(record)).strftime("%Y-%m-%d %H:%M:%S")
    kind = str(record.get("kind"))
    job = record.get("job_id")
    if kind == "verdict":
        latency = record.get("latency_s")
        what = f"{record.get('from') or 'new'} -> {record.get('to')}: {record.get('reason')}"
        if isinstance(latency, int | float):
            what += f" (seen {latency * 1000:.0f} ms after the exit)"
    elif kind == "auto-recovery":
        what = f"{record.get('outcome')}: {record.get('message')}"
    else:
        what = str(record.get("reason") or record.get("by") or "")
    click.echo(_safe(f"{when}  {kind:<13} {job or '-':<24} {what}"))
