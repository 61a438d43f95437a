"""Manifests as they are found in real roots: the broken ones, and those Logist's tools write.

Shared by the unit tests (bytes through `parse_manifest`) and the integration tests (the same
bytes on disk, read by a scan).
"""

from __future__ import annotations

from typing import Any

from logist.core import ProblemCode
from logist.core._manifest import DEFAULT_SIZE_CAP

BROKEN: dict[str, tuple[bytes, ProblemCode]] = {
    "empty": (b"", ProblemCode.EMPTY),
    "only-whitespace": (b" \n\t\n", ProblemCode.EMPTY),
    "truncated": (b'{"job_id": "a", "status": "EXEC', ProblemCode.INVALID_JSON),
    "truncated-after-key": (b'{"job_id": "a", "history": [', ProblemCode.INVALID_JSON),
    "invalid-utf8": (b'{"job_id": "\xff\xfe"}', ProblemCode.INVALID_UTF8),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", ProblemCode.INVALID_UTF8),
    "nul-bytes": (b"\x00" * 64, ProblemCode.INVALID_JSON),
    "trailing-garbage": (b'{"status": "PENDING"} }', ProblemCode.INVALID_JSON),
    "array": (b'[{"status": "EXECUTING"}]', ProblemCode.NOT_OBJECT),
    "string": (b'"EXECUTING"', ProblemCode.NOT_OBJECT),
    "number": (b"42", ProblemCode.NOT_OBJECT),
    "null": (b"null", ProblemCode.NOT_OBJECT),
    "nested-100000-arrays": (b"[" * 100_000 + b"]" * 100_000, ProblemCode.TOO_DEEP),
    "nested-100000-in-an-object": (
        b'{"config": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001,
        ProblemCode.TOO_DEEP,
    ),
    "integer-with-5000-digits": (b'{"generation": ' + b"9" * 5000 + b"}", ProblemCode.INVALID_JSON),
    "over-the-8-MiB-cap": (
        b'{"status": "PENDING", "pad": "' + b"x" * DEFAULT_SIZE_CAP + b'"}',
        ProblemCode.TOO_LARGE,
    ),
}
"""name -> (bytes, the problem they must produce under the default size cap)."""

WRONG_TYPES: dict[str, Any] = {
    "status": 5,
    "history": {"0": "x"},
    "phases": "planning",
    "metrics": [1, 2],
    "generation": "3",
    "process_id": True,
    "owner": "pid 5",
    "recovery": 3,
    "cost_threshold": "ten",
    "created_at": 1700000000,
}
"""Fields of the wrong type: each is a warning on its field, never a fatal problem."""


def logist_core_manifest(job_id: str = "core-job", status: str = "INTERVENTION_REQUIRED") -> dict:
    """A manifest as Logist's core library writes it: created_at, config, phases, metrics and a
    history with naive local timestamps, some null, events and step entries."""
    return {
        "job_id": job_id,
        "description": "Refactor the billing module",
        "status": status,
        "current_phase": "implementation",
        "phases": [
            {"name": "planning", "description": "Plan the change"},
            {"name": "implementation", "description": "Do it"},
            {"name": "review", "description": "Check it"},
        ],
        "created_at": "2026-11-27T22:50:01.123456",
        "updated_at": "2026-11-27T22:56:31.343897",
        "config": {"model": "grok-code-fast-1", "max_steps": 12, "workspace": "workspace"},
        "metrics": {"cumulative_cost": 0.0345, "cumulative_time_seconds": 123.4, "step_count": 3},
        "cost_threshold": 10.0,
        "time_threshold_minutes": 60,
        "history": [
            {"timestamp": "2026-11-27T22:50:01.123456", "event": "JOB_CREATED", "status": "DRAFT"},
            {
                "timestamp": "2026-11-27T22:51:12.000001",
                "action": "Executed worker step",
                "summary": "Wrote the plan",
                "new_status": "APPROVAL_REQUIRED",
                "role": "worker",
                "cost": 0.012,
            },
            {
                "timestamp": None,
                "event": "EXECUTION_ERROR",
                "error": "API rate limited",
                "error_classification": {
                    "category": "transient",
                    "severity": "medium",
                    "can_retry": True,
                    "user_message": "The provider is busy",
                },
            },
            {
                "timestamp": "2026-11-27T22:55:00.5",
                "event": "RESTEP",
                "from_phase": "review",
                "to_phase": "implementation",
            },
            {"timestamp": "2026-11-27T22:55:30", "event": "POSTSTEP_SIMULATION", "ok": True},
            {"timestamp": "2026-11-27T22:56:00.000001", "event": "WORKSPACE_CLEANUP", "files": 3},
            {
                "timestamp": "2026-11-27T22:56:31.343897",
                "event": "SENTINEL_INTERVENTION",
                "reason": "cost threshold approaching",
            },
        ],
        "metadata": {"pid": 2**22 + 1, "hostname": "build-1"},
    }


def logist_cli_manifest(job_id: str = "cli-job", status: str = "PENDING") -> dict:
    """A manifest as Logist's CLI writes it: no created_at and no config (that is normal)."""
    return {
        "job_id": job_id,
        "description": "Write the release notes",
        "status": status,
        "current_phase": None,
        "phases": [{"name": "draft"}, {"name": "polish"}],
        "metrics": {"cumulative_cost": 0, "cumulative_time_seconds": 0, "step_count": 0},
        "cost_threshold": 5,
        "time_threshold_minutes": 30.5,
        "history": [
            {"timestamp": "2026-11-27T21:00:00.000001", "event": "JOB_CREATED"},
            {"timestamp": None, "action": "Activated", "new_status": "PENDING"},
        ],
    }


def core_index(jobs: dict[str, str]) -> dict:
    return {
        "version": "1.0",
        "created_at": "2026-11-27T20:00:00.000001",
        "jobs": jobs,
        "queue": list(jobs)[:1],
        "archived_jobs": [],
    }


def cli_index(jobs: dict[str, str]) -> dict:
    return {"current_job_id": next(iter(jobs), None), "jobs": jobs, "queue": []}


def very_old_index(jobs: dict[str, str]) -> dict:
    return {
        "jobs": {
            job_id: {
                "job_id": job_id,
                "status": "PENDING",
                "created_at": "2025-01-01T00:00:00",
                "directory": directory,
            }
            for job_id, directory in jobs.items()
        }
    }
