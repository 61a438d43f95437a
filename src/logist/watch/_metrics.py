"""Prometheus metrics of the watch, on a registry of its own (never the process-global one).

Served by prometheus-client's HTTP server (`--metrics-port`, 127.0.0.1 unless `--metrics-addr`)
and/or written for node_exporter's textfile collector (`--metrics-textfile`; the library writes
a temp file and renames it, so the collector never reads half a file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    write_to_textfile,
)

from logist.core import SEVERITY_ORDER, Health, VerdictKind
from logist.core._audit import AUDIT_NAME
from logist.core._root import STATE_DIR

HEALTH_VALUE = {Health.HEALTHY: 0, Health.DEGRADED: 1, Health.CRITICAL: 2, Health.UNKNOWN: 3}
"""The same numbers as `logist status`'s exit code."""
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
AUDIT_READ_CAP = 4 * 1024 * 1024


class WatchMetrics:
    def __init__(self) -> None:
        disable_created_metrics()  # `_created` series per counter: noise for an alert writer
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge("logist_jobs", "Jobs in the root by verdict.", ["verdict"], registry=r)
        self.health = Gauge(
            "logist_health",
            "Root health: 0 healthy, 1 degraded, 2 critical, 3 unknown.",
            registry=r,
        )
        self.recoveries = Counter(
            "logist_recoveries",
            "Recoveries by outcome and actor (the watch's own, and others' from the audit log).",
            ["outcome", "actor"],
            registry=r,
        )
        self.detection_latency = Histogram(
            "logist_detection_latency_seconds",
            "From a local owner's exit (its pidfd turning readable) to the verdict journalled.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scan_duration = Gauge(
            "logist_scan_duration_seconds", "Duration of the last whole-root pass.", registry=r
        )
        self.last_pass = Gauge(
            "logist_last_pass_timestamp_seconds", "When the last pass finished.", registry=r
        )
        self.brake = Gauge(
            "logist_auto_recovery_brake_engaged",
            "1 while the storm brake holds automatic recovery paused.",
            registry=r,
        )
        self.auto_enabled = Gauge(
            "logist_auto_recovery_enabled", "1 when the watch recovers by itself.", registry=r
        )
        self.events = Counter(
            "logist_watch_events", "Journal events written, by kind.", ["kind"], registry=r
        )
        self.hook_failures = Counter(
            "logist_hook_failures", "--on-event commands that failed or timed out.", registry=r
        )
        self.watched = Gauge(
            "logist_watched_jobs",
            "Active jobs watched by events (pidfd), and left to the periodic pass.",
            ["how"],
            registry=r,
        )
        for kind in SEVERITY_ORDER:  # every series present from the start, at 0
            self.jobs.labels(verdict=str(kind))
        for outcome in ("recovered", "no-op", "refused", "failed"):
            self.recoveries.labels(outcome=outcome, actor="watch")
        self._audit_offset: int | None = None

    def set_counts(self, counts: dict[VerdictKind, int]) -> None:
        for kind in SEVERITY_ORDER:
            self.jobs.labels(verdict=str(kind)).set(counts.get(kind, 0))

    def count_events(self, events: Iterable[dict[str, Any]]) -> None:
        for record in events:
            self.events.labels(kind=str(record.get("kind"))).inc()

    def read_others_recoveries(self, root: Path, actor: str) -> None:
        """Count recoveries other actors wrote to the audit log since the last call."""
        path = root / STATE_DIR / AUDIT_NAME
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            size = os.fstat(fd).st_size
            if self._audit_offset is None or self._audit_offset > size:
                self._audit_offset = size  # start from now: the past is not this watch's count
                return
            if size == self._audit_offset:
                return
            os.lseek(fd, self._audit_offset, os.SEEK_SET)
            data = os.read(fd, min(size - self._audit_offset, AUDIT_READ_CAP))
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        self._audit_offset += end
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("action") != "recover":
                continue
            operator = str(record.get("operator"))
            if operator != actor:
                self.recoveries.labels(outcome=str(record.get("result")), actor=operator).inc()

    def write_textfile(self, path: Path) -> None:
        write_to_textfile(str(path), self.registry)
