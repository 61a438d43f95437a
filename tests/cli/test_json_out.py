"""`jobs --json` puts each job's text together from pieces (shared verdicts, facts written
without their dict): byte for byte what encoding each job's `to_dict()` gives, on a root with
every shape a scan meets."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

from conftest import IMPOSSIBLE_PID, write_job
from logist._json_out import _facts_text, _fast, write_jobs, write_listing
from logist.cli import _by_severity
from logist.core import JobRecoveryManager
from logist.core._recorded import ErrorRecord, Recorded
from logist.core._scan import NO_FACTS, JobFacts

STEPS = [
    {"timestamp": f"2026-11-27T10:0{n}:00", "event": "STEP_COMPLETED", "summary": f"step {n}"}
    for n in range(3)
]


def stage(root: Path) -> None:
    """Jobs of every shape: plain, NaN and Infinity, the original's records, wrong types,
    text that needs escapes, a corrupt manifest, a link, a name that is not UTF-8, a queue."""
    write_job(
        root,
        "plain",
        status="SUCCESS",
        history=STEPS,
        phases=[{"name": "fetch"}, {"name": "publish"}],
        current_phase="publish",
        metrics={"cumulative_cost": 7.0, "cumulative_time_seconds": 90, "step_count": 3},
        cost_threshold=10,
        time_threshold_minutes=1.5,
        created_at="2026-11-27T09:00:00",
        updated_at="2026-11-27T10:03:00.250000",
    )
    write_job(
        root,
        "not-finite",
        status="FAILED",
        cost_threshold=float("nan"),
        metrics={"cumulative_cost": float("inf"), "cumulative_time_seconds": -0.0},
    )
    write_job(
        root,
        "recorded",
        status="EXECUTING",
        process_id=IMPOSSIBLE_PID,
        runner="direct",
        agent="worker",
        warning_percentage=80,
        history=[
            {"event": "JOB_CREATED", "message": "made by hand"},
            {"action": "COMPLETED", "metrics": {"token_input": 10, "token_output": 5}},
            {
                "event": "EXECUTION_ERROR",
                "error_message": "boom",
                "error_classification": {"severity": "high", "can_retry": True},
            },
            {"event": "CRASH_RECOVERY", "new_status": "PENDING"},
        ],
    )
    write_job(
        root,
        "odd-types",
        status="PAUSED",
        generation=True,
        phases="fetch",
        current_phase=3,
        description=["not", "text"],
        time_threshold_minutes=True,
        cost_threshold=1e300,
        metrics={"step_count": 2.5, "cumulative_cost": 12},
        recovery={"crash_count": 2, "last_action_id": "a-1"},
    )
    write_job(
        root,
        "waiting",
        status="INTERVENTION_REQUIRED",
        description='naïve ✓ \u2028 "quoted" \\ back\x07',
        history=[{"event": "NEEDS_REVIEW", "reason": "look at \u00e9 this\nsecond line"}],
    )
    write_job(root, "queued", status="PENDING", created_at="someday")
    (root / "corrupt").mkdir()
    (root / "corrupt" / "job_manifest.json").write_text('{"status": ')
    (root / "linked").symlink_to(root / "plain")
    os.mkdir(os.fsencode(root) + b"/latin-\xe9")
    (Path(os.fsdecode(os.fsencode(root) + b"/latin-\xe9")) / "job_manifest.json").write_text(
        json.dumps({"status": "SUCCESS", "description": "a name that is not UTF-8"})
    )
    listed = {name: str(root / name) for name in ("plain", "recorded", "queued", "gone")}
    (root / "jobs_index.json").write_text(json.dumps({"jobs": listed, "queue": ["queued"]}))


def listings(root: Path) -> tuple[bytes, bytes]:
    snapshot = JobRecoveryManager(root).scan()
    rows = _by_severity(snapshot.jobs.values())
    head = {"root": str(snapshot.root), **snapshot.index_facts.to_dict()}
    pieces, dicts = io.BytesIO(), io.BytesIO()
    write_jobs(pieces, head, rows, pretty=False)
    write_listing(dicts, head, "jobs", (job.to_dict() for job in rows), pretty=False)
    return pieces.getvalue(), dicts.getvalue()


def test_the_listing_from_pieces_is_the_encoding_of_every_jobs_dict(jobs_root: Path) -> None:
    stage(jobs_root)
    pieces, dicts = listings(jobs_root)
    assert pieces == dicts
    jobs = {job["job_id"]: job for job in json.loads(pieces)["jobs"]}
    assert len(jobs) == 10  # every shape above made it into the listing
    assert jobs["not-finite"]["facts"]["cost"] is None  # Infinity written as null
    assert jobs["recorded"]["facts"]["recorded"]["last_error"]["message"] == "boom"
    assert jobs["plain"]["facts"]["time_warning"] and not jobs["plain"]["facts"]["cost_warning"]


def test_facts_of_types_no_scan_makes_are_written_as_their_dict_is() -> None:
    recorded = Recorded("direct", None, 80.0, 15, 1, None, ErrorRecord("t", "m", None), 1, 1)
    facts = [
        NO_FACTS,
        JobFacts("SUCCESS", "d", "p", 1, 2, cost=1.0, cost_threshold=1.0, recorded=recorded),
        JobFacts(generation=True, phase_count=2.0, crash_count=None),  # type: ignore[arg-type]
        JobFacts(phase_index=False, step_count=3.5),  # type: ignore[arg-type]
        JobFacts(cost=3, cost_threshold=4, time_s=5.5, time_threshold_s=5),  # type: ignore[arg-type]
        JobFacts(description=7, current_phase=8, last_event=True),  # type: ignore[arg-type]
        JobFacts(cost="12"),  # type: ignore[arg-type]
        JobFacts(cost=float("inf")),
        JobFacts(time_threshold_s=-float("inf")),
        JobFacts(time_s=float("nan")),
    ]
    for one in facts:
        assert outcome(_facts_text, one) == outcome(dict_text, one)
    assert outcome(_facts_text, facts[-1]) is ValueError  # the caller then writes null


def dict_text(facts: JobFacts) -> str:
    return _fast(facts.to_dict())


def outcome(encode: Callable[[JobFacts], str], facts: JobFacts) -> str | type[Exception]:
    """The text, or the kind of error raised instead (the caller's cue to copy out NaN)."""
    try:
        return encode(facts)
    except ValueError as exc:
        return type(exc)
