"""What the original Logist records, as the scan reads it: the retry cap counts its own recoveries,
steps and tokens come from its history, the queue from its index, the warning level from the job."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import IMPOSSIBLE_PID, read_job, write_job
from corpus import core_index
from logist.core import JobRecoveryManager, Policy


def manager(root: Path) -> JobRecoveryManager:
    return JobRecoveryManager(root, policy=Policy(retry_cap=3), operator="tester")


def test_the_retry_cap_counts_the_originals_own_recovery_entries(jobs_root: Path) -> None:
    history = [
        {
            "timestamp": "2026-11-27T10:00:00",
            "event": "AUTOMATIC_RECOVERY",
            "new_status": "PENDING",
        },
        {"timestamp": "2026-11-27T11:00:00", "event": "CRASH_RECOVERY", "new_status": "PENDING"},
    ]
    write_job(jobs_root, "twice", status="EXECUTING", history=history, process_id=IMPOSSIBLE_PID)
    assert manager(jobs_root).job("twice").facts.crash_count == 2
    result = manager(jobs_root).recover_crashed_job("twice")
    assert result.to_status == "INTERVENTION_REQUIRED"  # the third crash reaches the cap of 3
    assert read_job(jobs_root, "twice")["recovery"]["crash_count"] == 3


def test_steps_tokens_and_warning_level_come_from_the_originals_records(jobs_root: Path) -> None:
    steps = [
        {"action": "COMPLETED", "metrics": {"token_input": 100, "token_output": 20}},
        {"action": "STUCK", "metrics": {"token_input": 5, "token_cache_read": 7}},
        {"event": "STATE_TRANSITION", "action": "ACTIVATED"},
    ]
    write_job(
        jobs_root,
        "metered",
        history=steps,
        metrics={"cumulative_cost": 8.0, "cumulative_time_seconds": 60},
        cost_threshold=10,
        warning_percentage=80,
        runner="direct",
    )
    facts = manager(jobs_root).job("metered").facts
    assert (facts.step_count, facts.recorded.tokens, facts.recorded.runner) == (2, 132, "direct")
    assert facts.at_warning(facts.cost, facts.cost_threshold)  # 8.0 >= 80 % of 10
    assert not facts.at_warning(7.9, facts.cost_threshold)
    write_job(jobs_root, "plain", metrics={"cumulative_cost": 7.5}, cost_threshold=10)
    assert manager(jobs_root).job("plain").facts.at_warning(7.5, 10)  # the default 75 %


def test_the_queue_position_is_the_originals_queue_order(jobs_root: Path) -> None:
    for job_id in ("a", "b", "c"):
        write_job(jobs_root, job_id)
    index = core_index({j: str(jobs_root / j) for j in ("a", "b", "c")})
    index["queue"] = ["c", "a"]
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    snapshot = manager(jobs_root).scan()
    positions = {j: s.location.queue_position for j, s in snapshot.jobs.items()}
    assert positions == {"a": 1, "b": None, "c": 0}
    assert snapshot.index_facts.queue == ("c", "a")
