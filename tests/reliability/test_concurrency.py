"""Concurrency: many recoverers at once, a runner racing a recovery, a poller racing writers.

All the contenders are real processes started together behind a file barrier; the assertions
are on what is on disk afterwards (history entries, audit lines) and on everything the poller
saw while the writers were at work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from logist.core import JobRecoveryManager, VerdictKind
from logist.core._manifest import dumps
from reliability._support import (
    Processes,
    audit_records,
    crashed_manifest,
    history_events,
    read_job,
    temp_leftovers,
    write_job,
)

RECOVERERS = 4
JOBS = 20

RECOVERER = textwrap.dedent(
    """
    import json, os, random, sys, time
    from logist.core import BulkInProgress, JobRecoveryManager
    root, go, mode, delay, *jobs = sys.argv[1:]
    manager = JobRecoveryManager(root, operator=f"recoverer-{os.getpid()}")
    while not os.path.exists(go):
        time.sleep(0.001)
    time.sleep(float(delay))
    if mode == "bulk":
        try:
            results = manager.perform_bulk_recovery().results
        except BulkInProgress:  # one bulk run at a time per root: a racer is turned away whole
            results = []
    else:
        random.shuffle(jobs)
        results = [manager.recover_crashed_job(job_id) for job_id in jobs]
    print(json.dumps([r.to_dict() for r in results]))
    """
)

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from logist.core._locking import JobLock
    from logist.core._manifest import (
        atomic_write_bytes, dumps, history_entry, read_manifest, write_manifest,
    )
    root, go, seconds, least, *jobs = sys.argv[1:]
    root = Path(root)
    while not os.path.exists(go):
        time.sleep(0.001)
    deadline, writes = time.monotonic() + float(seconds), 0
    while time.monotonic() < deadline or writes < int(least):  # a loaded machine: go on
        for job_id in jobs:
            with JobLock(root / job_id, job_id, timeout=2):
                read = read_manifest(root / job_id / "job_manifest.json")
                data = read.data
                data["status"] = "SUSPENDED" if data["status"] == "PENDING" else "PENDING"
                data["history"].append(history_entry("WRITE", new_status=data["status"]))
                write_manifest(root / job_id, data, previous_raw=read.raw)
                writes += 1
        if jobs[0].endswith("-0"):  # one writer also rewrites the index, as Logist does
            index = {"jobs": {j: str(root / j) for j in os.listdir(root) if j[0] == "w"},
                     "queue": [str(writes)]}
            atomic_write_bytes(root / "jobs_index.json", dumps(index))
    print(writes)
    """
)


def start(procs: Processes, code: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.track(proc)
    return proc


def outputs(procs: list[subprocess.Popen[str]]) -> list[str]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(out)
    return results


@pytest.mark.parametrize("mode", ["bulk", "one-by-one"])
def test_recoverers_racing_over_the_same_jobs_recover_each_job_exactly_once(
    jobs_root: Path, tmp_path: Path, procs: Processes, mode: str
) -> None:
    ids = [f"job-{i:02d}" for i in range(JOBS)]
    for job_id in ids:
        write_job(jobs_root, job_id, crashed_manifest(job_id))
    go = tmp_path / "go"
    racers = [start(procs, RECOVERER, jobs_root, go, mode, 0, *ids) for _ in range(RECOVERERS)]
    time.sleep(0.3)  # let every racer import and wait at the barrier
    go.touch()

    results = [r for out in outputs(racers) for r in json.loads(out)]

    outcomes = Counter((r["job_id"], r["outcome"]) for r in results)
    for job_id in ids:
        assert outcomes[(job_id, "recovered")] == 1, f"{job_id}: {outcomes}"
        data = read_job(jobs_root, job_id)
        assert history_events(data).count("CRASH_RECOVERY") == 1
        assert data["generation"] == 4 and data["recovery"]["crash_count"] == 1
        assert len(list((jobs_root / job_id / ".backups").iterdir())) == 1
    losers = {r["outcome"] for r in results if r["outcome"] != "recovered"}
    assert losers <= {"no-op", "refused"}, [r for r in results if r["outcome"] == "failed"]
    lines = Counter(r["job_id"] for r in audit_records(jobs_root) if r["action"] == "recover")
    assert lines == Counter(ids), "one audit line per job, no more, no less"
    assert temp_leftovers(jobs_root) == []


def test_a_runner_starting_on_a_job_while_it_is_recovered_never_sees_it_reset_under_it(
    jobs_root: Path, tmp_path: Path, procs: Processes
) -> None:
    runner_code = textwrap.dedent(
        """
        import os, sys, time
        from logist.cli import main
        root, go, job_id, delay = sys.argv[1:]
        sys.argv = ["logist", "run", "--root", root, "--job-id", job_id, "--heartbeat", "0.1",
                    "--", "sleep", "0.2"]
        while not os.path.exists(go):
            time.sleep(0.001)
        time.sleep(float(delay))
        main()
        """
    )
    seen: Counter[tuple[str, int]] = Counter()
    # who goes first is left to the scheduler, nudged both ways by small head starts
    head_starts = [0.0, 0.0, 0.002, -0.002, 0.005, -0.005, 0.01, -0.01, 0.02, -0.02]
    for attempt, head_start in enumerate(head_starts):
        job_id = f"race-{attempt}"
        write_job(jobs_root, job_id, crashed_manifest(job_id))
        go = tmp_path / f"go-{attempt}"
        recoverer = start(
            procs, RECOVERER, jobs_root, go, "one-by-one", max(0.0, head_start), job_id
        )
        runner = start(procs, runner_code, jobs_root, go, job_id, max(0.0, -head_start))
        time.sleep(0.3)
        go.touch()
        (recovered,) = json.loads(outputs([recoverer])[0])
        runner.communicate(timeout=30)

        data = read_job(jobs_root, job_id)
        events = history_events(data)
        seen[(recovered["outcome"], runner.returncode)] += 1
        assert runner.returncode in (0, 2), f"runner exit {runner.returncode}"
        if runner.returncode == 0:  # it ran: the recovery, if any, came before it started
            assert data["status"] == "SUCCESS"
            started = len(events) - 1 - events[::-1].index("RUNNER_STARTED")
            assert "CRASH_RECOVERY" not in events[started:], events
        else:  # refused the busy lock: the recovery held it, and the job is recovered
            assert recovered["outcome"] == "recovered" and data["status"] == "PENDING"
        assert events.count("CRASH_RECOVERY") == (recovered["outcome"] == "recovered")
        assert recovered["outcome"] in ("recovered", "no-op", "refused"), recovered
    assert sum(seen.values()) == len(head_starts)


def test_a_poller_never_reports_a_torn_manifest_while_writers_replace_them(
    jobs_root: Path, tmp_path: Path, procs: Processes
) -> None:
    groups = [[f"w{w}-{i}" for i in range(5)] for w in range(3)]
    for job_id in (j for group in groups for j in group):
        write_job(jobs_root, job_id, dumps(crashed_manifest(job_id, status="PENDING")))
    go = tmp_path / "go"
    writers = [start(procs, WRITER, jobs_root, go, 2.0, 50, *group) for group in groups]
    time.sleep(0.3)
    manager = JobRecoveryManager(jobs_root)
    go.touch()

    scans, generations, histories = 0, Counter(), Counter()
    while any(w.poll() is None for w in writers):
        snapshot = manager.scan()
        scans += 1
        assert not [i for i in snapshot.root_issues if i.code.startswith("index")], (
            snapshot.root_issues
        )
        for job in snapshot.jobs.values():
            assert job.verdict.kind is VerdictKind.IDLE, (job.job_id, job.verdict.reason)
            assert not [p for p in job.problems if p.fatal], job.problems
            assert job.facts.generation >= generations[job.job_id], "generation went back"
            assert job.facts.history_count >= histories[job.job_id], "history shrank"
            generations[job.job_id] = job.facts.generation
            histories[job.job_id] = job.facts.history_count
        if scans % 10 == 0:
            findings = manager.validate_job_consistency()
            assert [f for f in findings if f.severity.value != "info"] == [], findings
    writes = sum(int(out) for out in outputs(writers))

    assert writes > 100 and scans > 20, (writes, scans)
    final = manager.scan()
    for job in final.jobs.values():
        assert job.facts.history_count == len(read_job(jobs_root, job.job_id)["history"])
    assert temp_leftovers(jobs_root) == []
