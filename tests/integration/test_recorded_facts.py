"""What the original Logist records, as the scan reads it: the retry cap counts its own recoveries,
steps and tokens come from its history, the queue from its index, the warning level from the job;
`jobs --json` shows its backups, saved outcome and workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import IMPOSSIBLE_PID, read_job, write_job
from corpus import core_index
from logist.core import JobRecoveryManager, Policy, _scan_cache


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


def _files_in_jobs_json(root: Path) -> dict[str, dict[str, Any]]:
    """Each job's `facts.files` from `logist jobs --json` in a fresh process (as an operator's
    monitor runs it: the listing cache persists between runs); a hang is a failure."""
    done = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(root), "--json", "--files"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {j["job_id"]: j["facts"]["files"] for j in json.loads(done.stdout)["jobs"]}


def test_jobs_json_shows_backups_outcome_and_workspace_never_through_a_link(
    jobs_root: Path, tmp_path: Path
) -> None:
    write_job(jobs_root, "kept")
    kept = jobs_root / "kept"
    (kept / ".backups").mkdir()
    for stamp in ("20261127_100000", "20261127_110000"):
        (kept / ".backups" / f"job_manifest_{stamp}.json.backup").write_text("{}")
    (kept / ".backups" / "notes.txt").write_text("not a backup")
    (kept / "latest-outcome.json").write_text(
        json.dumps({"action": "STUCK", "summary_for_supervisor": "[red]x[/]", "files": ["a"]})
    )
    (kept / "workspace").mkdir()
    (kept / "workspace" / "main.py").write_text("")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "backups").mkdir(parents=True)
    (elsewhere / "backups" / "job_manifest_20261127_100000.json.backup").write_text("{}")
    (elsewhere / "outcome.json").write_text(json.dumps({"action": "COMPLETED"}))
    write_job(jobs_root, "linked")
    linked = jobs_root / "linked"
    (linked / ".backups").symlink_to(elsewhere / "backups")
    (linked / "latest-outcome.json").symlink_to(elsewhere / "outcome.json")
    (linked / "workspace").symlink_to(elsewhere)
    write_job(jobs_root, "fifo")
    os.mkfifo(jobs_root / "fifo" / "latest-outcome.json")
    (jobs_root / "fifo" / "workspace").mkdir()
    write_job(jobs_root, "bare")

    files = _files_in_jobs_json(jobs_root)
    assert files["kept"] == {
        "backups": 2,
        "latest_outcome": {"action": "STUCK", "summary_for_supervisor": "[red]x[/]"},
        "workspace": "present",
    }
    assert files["linked"] == {"backups": 0, "latest_outcome": None, "workspace": "none"}
    assert files["fifo"] == {"backups": 0, "latest_outcome": None, "workspace": "empty"}
    assert files["bare"] == {"backups": 0, "latest_outcome": None, "workspace": "none"}

    # Listings younger than the racy window are not kept: wait it out so that the next run keeps
    # them, then change each job the way the original does (a file rewritten in place, a backup
    # added to an existing .backups/, a workspace made) and check no stale listing is served.
    time.sleep(_scan_cache.RACY_NS / 1e9 + 0.1)
    assert _files_in_jobs_json(jobs_root) == files
    (kept / ".backups" / "job_manifest_20261127_120000.json.backup").write_text("{}")
    with open(kept / "latest-outcome.json", "w") as stream:  # as its save_latest_outcome does
        json.dump({"action": "COMPLETED"}, stream)
    (kept / "workspace" / "main.py").unlink()
    (jobs_root / "bare" / "workspace").mkdir()
    (jobs_root / "bare" / "workspace" / "notes").write_text("")
    files = _files_in_jobs_json(jobs_root)
    assert files["kept"] == {
        "backups": 3,
        "latest_outcome": {"action": "COMPLETED"},
        "workspace": "empty",
    }
    assert files["bare"] == {"backups": 0, "latest_outcome": None, "workspace": "present"}
