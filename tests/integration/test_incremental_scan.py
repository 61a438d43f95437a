"""One manager scanning a changing root: the warm (incremental) scan must see every change."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import wait_for, write_job
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._identity import Liveness, identity_of, liveness
from logist.core._manifest import MANIFEST_NAME, atomic_write_bytes, dumps
from logist.core._scan import _LocationsOf


def kinds(manager: JobRecoveryManager) -> dict[str, VerdictKind]:
    return {job_id: job.kind for job_id, job in manager.scan().jobs.items()}


def test_jobs_that_come_and_go_between_scans_are_seen(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    write_job(jobs_root, "b", status="SUCCESS")
    assert kinds(manager) == {"a": VerdictKind.IDLE, "b": VerdictKind.DONE}
    shutil.rmtree(jobs_root / "a")
    assert kinds(manager) == {"b": VerdictKind.DONE}


def test_a_manifest_written_into_a_directory_that_was_empty_appears(jobs_root: Path) -> None:
    (jobs_root / "late").mkdir()
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {}
    write_job(jobs_root, "late", status="PENDING")
    assert kinds(manager) == {"late": VerdictKind.IDLE}


def test_a_manifest_replaced_or_rewritten_in_place_is_read_again(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "a", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    atomic_write_bytes(job_dir / "job_manifest.json", dumps({"job_id": "a", "status": "SUCCESS"}))
    assert kinds(manager) == {"a": VerdictKind.DONE}
    (job_dir / "job_manifest.json").write_text(json.dumps({"job_id": "a", "status": "DRAFT"}))
    assert kinds(manager) == {"a": VerdictKind.IDLE}
    assert manager.scan().jobs["a"].status == "DRAFT"
    (job_dir / "job_manifest.json").write_bytes(b"{")
    assert kinds(manager) == {"a": VerdictKind.CORRUPT}


def test_an_index_rewritten_between_scans_is_merged_again(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {"a": str(jobs_root / "a")}}))
    manager = JobRecoveryManager(jobs_root)
    assert set(kinds(manager)) == {"a"}
    index = {"jobs": {"a": str(jobs_root / "a"), "ghost": str(jobs_root / "ghost")}}
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    assert kinds(manager) == {"a": VerdictKind.IDLE, "ghost": VerdictKind.CORRUPT}


def test_an_owner_killed_between_two_scans_is_crashed_on_the_next_one(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("r", "sleep", "60", heartbeat=1.0)
    manager = JobRecoveryManager(jobs_root)
    assert kinds(manager) == {"r": VerdictKind.RUNNING}
    child = identity_of(job.child_pid)
    assert child is not None
    job.proc.kill()  # the runner first: killed second, it could record the command's death
    job.proc.wait()
    os.killpg(child.pid, signal.SIGKILL)
    wait_for(lambda: liveness(child) is Liveness.DEAD)
    assert kinds(manager) == {"r": VerdictKind.CRASHED}


def test_the_index_still_names_its_jobs_after_a_directory_appears(jobs_root: Path) -> None:
    """The scanner lets the index's jobs go once the root is enumerated; when a directory comes,
    the root is enumerated again from the index read anew, queue and dangling entries too."""
    write_job(jobs_root, "a", status="PENDING")
    index = {"jobs": {"a": str(jobs_root / "a"), "gone": str(jobs_root / "gone")}, "queue": ["a"]}
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    manager = JobRecoveryManager(jobs_root)
    first = manager.scan().jobs
    assert first["a"].location.indexed and first["a"].location.queue_position == 0
    write_job(jobs_root, "b", status="SUCCESS")  # the root's mtime moves, the index's does not
    jobs = manager.scan().jobs
    assert set(jobs) == {"a", "b", "gone"}
    assert jobs["a"].location.indexed and jobs["a"].location.queue_position == 0
    assert not jobs["b"].location.indexed
    assert jobs["gone"].kind is VerdictKind.CORRUPT and not jobs["gone"].location.on_disk


def test_a_resting_jobs_observation_is_made_again_from_what_its_state_keeps(
    jobs_root: Path,
) -> None:
    """Only an active job keeps its evidence; every other job's observation follows from its
    facts and problems, equal to what observing it would give."""
    write_job(jobs_root, "idle", status="PENDING")
    write_job(jobs_root, "done", status="SUCCESS")
    write_job(
        jobs_root,
        "waits",
        status="INTERVENTION_REQUIRED",
        history=[{"timestamp": "2026-11-27T22:56:31", "reason": "approve the export"}],
    )
    write_job(jobs_root, "broken", b'{"status": ')
    write_job(jobs_root, "active", status="EXECUTING")
    jobs = JobRecoveryManager(jobs_root).scan().jobs
    for job_id in ("idle", "done", "waits", "broken"):
        state = jobs[job_id]
        obs = state.observation
        assert state.evidence is None
        assert obs.job_id == job_id and obs.activity_at == state.activity_at
        assert obs.manifest_ok is state.manifest_ok and obs.category is state.category
        assert obs.status == state.facts.status
    assert jobs["waits"].observation.waiting_reason == "approve the export"
    assert jobs["waits"].kind is VerdictKind.WAITING
    assert not jobs["broken"].manifest_ok
    assert jobs["broken"].observation.manifest_problem == jobs["broken"].problems[0].message
    active = jobs["active"]
    assert active.evidence is not None and active.observation is active.evidence
    assert active.activity_at == active.evidence.activity_at


def test_a_rejudge_sees_each_job_as_a_fresh_whole_scan_does(jobs_root: Path, start_runner) -> None:
    """A light tick's `rejudge` trusts a manifest's stat as a whole scan does (no read when it
    is unchanged) and gathers an active job's evidence anew: an owner alive and beating, one
    SIGKILLed, one SIGSTOPped, manifests rewritten in place with the same size (in the clock
    tick of their read, and with their mtime put back), a job gone and one new."""
    long_ago = time.time() - 3 * 86400
    for job_id, status in (("rests", "PENDING"), ("done", "SUCCESS"), ("kept", "PENDING")):
        write_job(jobs_root, job_id, status=status)
        os.utime(jobs_root / job_id / MANIFEST_NAME, (long_ago, long_ago))
    write_job(jobs_root, "racy", status="PENDING")  # read in the tick it was written in
    write_job(jobs_root, "broken", b'{"status": ')
    write_job(jobs_root, "unowned", status="EXECUTING")
    write_job(jobs_root, "goes", status="SUCCESS")
    start_runner("beating", "sleep", "60", heartbeat=0.2)
    killed = start_runner("killed", "sleep", "60", heartbeat=5.0)
    stopped = start_runner("stopped", "sleep", "60", heartbeat=5.0)
    clock = Clock(time.time())  # both scans judge at this instant (the beats are within lease)
    manager = JobRecoveryManager(jobs_root, clock=clock)
    before = manager.scan().jobs
    assert before["beating"].kind is before["killed"].kind is VerdictKind.RUNNING

    killed.kill_owner()
    os.kill(stopped.runner_pid, signal.SIGSTOP)
    for job_id, status in (("racy", "SUCCESS"), ("kept", "SUCCESS")):  # same length
        path = jobs_root / job_id / MANIFEST_NAME
        seen = path.stat()
        rewritten = path.read_bytes().replace(b'"PENDING"', f'"{status}"'.encode())
        with open(path, "r+b") as stream:  # in place: the same inode and size
            stream.write(rewritten)
        os.utime(path, ns=(seen.st_atime_ns, seen.st_mtime_ns))  # the mtime as read
    shutil.rmtree(jobs_root / "goes")
    write_job(jobs_root, "new", status="PAUSED")

    light = manager.rejudge(frozenset([*before, "new"])).jobs
    fresh = JobRecoveryManager(jobs_root, clock=clock).scan().jobs
    assert set(light) == set(fresh) == set(before) - {"goes"} | {"new"}
    for job_id, state in fresh.items():
        judged = light[job_id]
        assert (judged.kind, judged.verdict.reason) == (state.kind, state.verdict.reason), job_id
        assert judged.facts == state.facts and judged.problems == state.problems, job_id
        assert judged.fingerprint == state.fingerprint, job_id
        if job_id != "beating":  # its heartbeat may move between the two looks
            assert judged == state, job_id
    assert light["killed"].kind is VerdictKind.CRASHED
    assert light["stopped"].kind is VerdictKind.RUNNING
    assert light["racy"].status == light["kept"].status == "SUCCESS"
    assert light["rests"].facts is before["rests"].facts  # unchanged: trusted, not read again
    os.kill(stopped.runner_pid, signal.SIGCONT)


class Clock:
    """A clock that stands still: two managers judge at the same instant."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


_PROC_READS = """
import json, sys
from logist.core import JobRecoveryManager
pids = {int(pid) for pid in sys.argv[2:]}
opened = []
counting = False
sys.addaudithook(
    lambda event, args: counting and event == "open"
    and str(args[0]).startswith("/proc/") and str(args[0]).endswith("/stat")
    and opened.append(int(str(args[0]).split("/")[2]))
)
manager = JobRecoveryManager(sys.argv[1])
first = {job_id: str(job.kind) for job_id, job in manager.scan().jobs.items()}
counting = True
again = {job_id: str(job.kind) for job_id, job in manager.scan().jobs.items()}
counting = False
fresh_jobs = JobRecoveryManager(sys.argv[1]).scan().jobs
fresh = {job_id: str(job.kind) for job_id, job in fresh_jobs.items()}
print(json.dumps([first, again, fresh, {pid: opened.count(pid) for pid in pids}]))
"""


def test_an_owner_found_dead_is_not_looked_up_again_and_stays_dead(
    jobs_root: Path, start_runner
) -> None:
    """Death is final for an identity (pid and start token): the next scan does not read the
    dead owner's /proc entry again, and judges every job as a fresh scan does; a live owner
    is looked at on every scan."""
    dead = start_runner("dead", "sleep", "60", heartbeat=5.0)
    start_runner("alive", "sleep", "60", heartbeat=5.0)
    write_job(jobs_root, "rests", status="PENDING")
    dead_pid = dead.runner_pid
    dead.kill_owner()
    alive_pid = read_job_owner_pid(jobs_root, "alive")
    out = subprocess.run(
        [sys.executable, "-c", _PROC_READS, str(jobs_root), str(dead_pid), str(alive_pid)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first, again, fresh, opened = json.loads(out)
    assert first == again == fresh
    assert first["dead"] == "crashed" and first["alive"] == "running"
    assert opened == {str(dead_pid): 0, str(alive_pid): 1}


def read_job_owner_pid(root: Path, job_id: str) -> int:
    return int(json.loads((root / job_id / MANIFEST_NAME).read_text())["owner"]["pid"])


def test_a_snapshot_held_never_changes_and_each_scan_is_a_fresh_ones(
    jobs_root: Path, start_runner
) -> None:
    """The scanner keeps its states in the last whole snapshot's own dict (`_KeptStates`):
    a snapshot a caller holds must stay as it was handed out through re-judged ticks, jobs
    re-read one by one, and scans of a root that changes (rewrites in and out of the read's
    clock tick, a corrupt manifest, an indexed job whose directory goes and comes back, a
    job gone, one new, an owner SIGKILLed), and every scan must be what a fresh scanner sees."""
    long_ago = time.time() - 3 * 86400
    for job_id, status in (("rests", "PENDING"), ("done", "SUCCESS"), ("kept", "PENDING")):
        write_job(jobs_root, job_id, status=status)
        os.utime(jobs_root / job_id / MANIFEST_NAME, (long_ago, long_ago))
    write_job(jobs_root, "racy", status="PENDING")  # read in the tick it was written in
    write_job(jobs_root, "goes", status="SUCCESS")
    write_job(jobs_root, "indexed", status="PAUSED")
    (jobs_root / "jobs_index.json").write_text(
        json.dumps({"jobs": {"indexed": str(jobs_root / "indexed")}})
    )
    killed = start_runner("killed", "sleep", "60", heartbeat=5.0)
    clock = Clock(time.time())
    manager = JobRecoveryManager(jobs_root, clock=clock)
    held: list[tuple[dict[str, object], dict[str, object]]] = []

    def look() -> dict[str, object]:
        """A whole scan, held with a copy of it, checked against a fresh scanner's."""
        jobs = manager.scan().jobs
        held.append((jobs, dict(jobs)))
        fresh = JobRecoveryManager(jobs_root, clock=clock).scan().jobs
        assert list(jobs) == list(fresh)  # the listing's order too
        for job_id, state in fresh.items():
            seen = jobs[job_id]
            assert (seen.kind, seen.verdict.reason) == (state.kind, state.verdict.reason), job_id
            assert seen.facts == state.facts and seen.problems == state.problems, job_id
            assert seen.fingerprint == state.fingerprint, job_id
        return jobs

    def unchanged() -> None:
        for jobs, copy in held:
            assert jobs.keys() == copy.keys()
            assert all(jobs[job_id] is state for job_id, state in copy.items())

    first = look()
    assert first["killed"].kind is VerdictKind.RUNNING
    manager.rejudge(frozenset(first))
    manager.job("rests")  # re-read alone (`scan_job`): what it keeps is dropped first
    unchanged()
    for job_id, status in (("racy", "SUCCESS"), ("kept", "SUCCESS")):  # in place, same size
        path = jobs_root / job_id / MANIFEST_NAME
        seen = path.stat()
        rewritten = path.read_bytes().replace(b'"PENDING"', f'"{status}"'.encode())
        with open(path, "r+b") as stream:
            stream.write(rewritten)
        os.utime(path, ns=(seen.st_atime_ns, seen.st_mtime_ns))  # the mtime as read
    shutil.rmtree(jobs_root / "goes")
    write_job(jobs_root, "new", status="PAUSED")
    write_job(jobs_root, "done", b'{"status": ')
    indexed = jobs_root / "indexed"
    os.rename(indexed, jobs_root.parent / "indexed-away")  # the index names it, absent
    killed.kill_owner()
    second = look()
    assert second["racy"].status == second["kept"].status == "SUCCESS"
    assert second["done"].kind is VerdictKind.CORRUPT
    assert not second["indexed"].manifest_ok and second["indexed"].kind is VerdictKind.CORRUPT
    assert second["killed"].kind is VerdictKind.CRASHED
    assert second["rests"] is first["rests"] or second["rests"].facts == first["rests"].facts
    manager.rejudge(frozenset([*second, "goes"]))
    unchanged()
    os.rename(jobs_root.parent / "indexed-away", indexed)  # back, its manifest as it was
    third = look()
    assert third["indexed"].kind is first["indexed"].kind
    assert third["indexed"].status == "PAUSED"
    write_job(jobs_root, "rests", status="SUCCESS")
    look()
    unchanged()


def test_the_listing_kept_as_the_states_locations_follows_the_root(jobs_root: Path) -> None:
    """A whole scan that found a job in every directory listed keeps the listing as its
    states' locations (`_LocationsOf`); a manifest that goes and comes back while the root
    directory's mtime stays (no new listing), a directory gone or new, are each seen as a
    fresh scanner sees them, in its order."""
    for number in range(6):
        write_job(jobs_root, f"job-{number}", status="PENDING")
    manager = JobRecoveryManager(jobs_root)

    def same_as_fresh() -> list[str]:
        jobs = manager.scan().jobs
        fresh = JobRecoveryManager(jobs_root).scan().jobs
        assert list(jobs) == list(fresh)
        assert all(jobs[job_id].kind is state.kind for job_id, state in fresh.items())
        return list(jobs)

    everyone = same_as_fresh()
    assert len(everyone) == 6
    assert isinstance(manager._scanner._locations, _LocationsOf)
    root_mtime = jobs_root.stat().st_mtime_ns
    (jobs_root / "job-2" / MANIFEST_NAME).unlink()  # a plain directory now: no job
    assert jobs_root.stat().st_mtime_ns == root_mtime
    assert "job-2" not in same_as_fresh()
    assert "job-2" not in same_as_fresh()
    write_job(jobs_root, "job-2", status="SUCCESS")
    assert same_as_fresh() == everyone
    assert manager.scan().jobs["job-2"].kind is VerdictKind.DONE
    shutil.rmtree(jobs_root / "job-4")
    write_job(jobs_root, "job-9", status="PENDING")
    assert set(same_as_fresh()) == set(everyone) - {"job-4"} | {"job-9"}
    assert manager.rejudge(frozenset(["job-9", "job-1"])).jobs.keys() == set(same_as_fresh())


def test_a_light_ticks_copy_is_what_the_scanner_keeps_after_it(
    jobs_root: Path, start_runner
) -> None:
    """A light tick that re-judged a job (an owner SIGKILLed) hands out a copy of the last
    snapshot; the scanner keeps its states and listing in that copy from then on
    (`Scanner.follow`), the snapshots held before stay as they were, and the next ticks and
    whole scans (a job rewritten in the read's clock tick, one gone, one new) are what a
    fresh scanner sees."""
    for number in range(4):
        write_job(jobs_root, f"job-{number}", status="PENDING")
    killed = start_runner("killed", "sleep", "60", heartbeat=5.0)
    clock = Clock(time.time())
    manager = JobRecoveryManager(jobs_root, clock=clock)
    first = manager.scan().jobs
    kept = dict(first)
    assert first["killed"].kind is VerdictKind.RUNNING
    killed.kill_owner()
    light = manager.rejudge(frozenset(["killed"])).jobs
    assert light is not first and light["killed"].kind is VerdictKind.CRASHED
    scanner = manager._scanner
    assert scanner._cache.base is light
    assert isinstance(scanner._locations, _LocationsOf) and scanner._locations.of is light
    assert first.keys() == kept.keys() and all(first[k] is v for k, v in kept.items())
    write_job(jobs_root, "job-1", status="SUCCESS")  # racy: read again by the next scan
    racy = manager.rejudge(frozenset(["job-1"])).jobs
    assert racy["job-1"].status == "SUCCESS"
    shutil.rmtree(jobs_root / "job-2")
    gone = manager.rejudge(frozenset(["job-2"])).jobs
    assert "job-2" not in gone and scanner._cache.base is gone
    write_job(jobs_root, "job-7", status="PAUSED")
    for jobs in (manager.rejudge(frozenset(["job-7"])).jobs, manager.scan().jobs):
        fresh = JobRecoveryManager(jobs_root, clock=clock).scan().jobs
        assert set(jobs) == set(fresh)  # a tick's new job comes last: the scan's, in place
        for job_id, state in fresh.items():
            assert jobs[job_id].kind is state.kind and jobs[job_id].facts == state.facts
    assert list(jobs) == list(fresh)  # the whole scan: in the listing's order
    assert first.keys() == kept.keys() and all(first[k] is v for k, v in kept.items())


def test_a_state_read_in_its_manifests_clock_tick_is_read_again_by_the_next_scan(
    jobs_root: Path,
) -> None:
    """Kept in the last snapshot's dict, a state read in the clock tick its manifest was
    written in is still not trusted (`_KeptStates`): the next whole scan, and the one after
    a light tick's copy, read it again; then it is trusted."""
    write_job(jobs_root, "calm", status="PENDING")
    os.utime(jobs_root / "calm" / MANIFEST_NAME, (time.time() - 60, time.time() - 60))
    manager = JobRecoveryManager(jobs_root)
    scanner = manager._scanner
    write_job(jobs_root, "racy", status="PENDING")
    first = manager.scan().jobs
    assert "racy" in first
    reads = scanner._reads
    manager.scan()
    assert scanner._reads == reads + 1  # "racy" only
    time.sleep(0.05)
    write_job(jobs_root, "racy", status="SUCCESS")
    assert manager.rejudge(frozenset(["racy", "calm"])).jobs["racy"].status == "SUCCESS"
    reads = scanner._reads
    manager.scan()
    assert scanner._reads == reads + 1
    long_ago = time.time() - 60  # out of the racy window: read once more, then trusted
    os.utime(jobs_root / "racy" / MANIFEST_NAME, (long_ago, long_ago))
    for more in (1, 0, 0):
        reads = scanner._reads
        assert manager.scan().jobs["racy"].status == "SUCCESS"
        assert scanner._reads == reads + more
