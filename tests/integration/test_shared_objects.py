"""What a long-lived scanner and poller keep (states built from the scan cache, shared verdicts,
shared numbers and texts, rows reused from poll to poll) is exactly what a fresh computation
gives, on a real mixed root that changes between polls; and a change to one job never shows in
another that shares objects with it."""

from __future__ import annotations

import copy
import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import pytest

from conftest import RunningJob, write_job
from logist.console.poller import Poller, PollResult
from logist.core import JobRecoveryManager, JobState, VerdictKind, _scan
from logist.core._manifest import MANIFEST_NAME
from logist.core._root import (
    InRoot,
    JobLocation,
    RootIssue,
    enumerate_jobs,
    listed_locations,
    plain_listing,
    read_index,
)
from logist.core._verdicts import Policy

WORDS = "the same words, long enough for a manifest past 256 bytes (a shared number) " * 4
OLD = 3600.0
"""Manifests written this long ago: past the racy window, so their states are kept."""


def write_old(
    root: Path, job_id: str, manifest: dict[str, object] | bytes | None = None, **fields: object
) -> None:
    write_job(root, job_id, manifest, **fields)
    past = time.time() - OLD
    os.utime(root / job_id / MANIFEST_NAME, (past, past))


def rewrite(root: Path, job_id: str, **fields: object) -> None:
    """Change a manifest as a writer does (a temp file renamed over it), keeping its age."""
    path = root / job_id / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(fields)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data, indent=2))
    os.replace(temp, path)
    past = time.time() - OLD / 2
    os.utime(path, (past, past))


def mixed_root(root: Path) -> None:
    """Twins (equal manifests but for their ids: equal sizes, statuses, verdicts), a job waiting
    for a person, an unknown status, a corrupt manifest, one with problems."""
    for job_id in ("twin-a", "twin-b", "twin-c"):
        write_old(root, job_id, status="SUCCESS", description=WORDS)
    for job_id in ("idle-a", "idle-b"):
        write_old(root, job_id, status="PENDING", description=WORDS)
    write_old(root, "waiting", status="INTERVENTION_REQUIRED", history=[{"reason": "look"}])
    write_old(root, "odd", status="NO_SUCH_STATUS")
    write_old(root, "pending", status="PENDING", created_at="not a time")
    write_old(root, "broken", b'{"status": "SUCC')


def polls(root: Path, clock: Callable[[], float]) -> tuple[JobRecoveryManager, Poller]:
    manager = JobRecoveryManager(root, scan_cache=True, clock=clock)
    return manager, Poller(manager=manager, clock=clock)


def assert_same(kept: PollResult, fresh: PollResult) -> None:
    """Every state and row of `kept` equal to a fresh computation's."""
    assert kept.states.keys() == fresh.states.keys()
    for job_id, state in fresh.states.items():
        again = kept.states[job_id]
        assert again == state, job_id
        assert again.to_dict() == state.to_dict(), job_id
        assert again.verdict.to_dict() == state.verdict.to_dict(), job_id
        assert again.observation == state.observation, job_id
        assert again.fingerprint == state.fingerprint, job_id
        assert again.manifest_ctime_ns == state.manifest_ctime_ns, job_id
        assert kept.jobs[job_id] == fresh.jobs[job_id], job_id
    assert kept.jobs.keys() == fresh.jobs.keys()
    assert kept.triage == fresh.triage and kept.counts == fresh.counts
    assert kept.findings == fresh.findings and list(kept.findings) == list(fresh.findings)


def test_a_long_lived_poller_shows_what_a_fresh_one_computes_after_the_root_changed(
    jobs_root: Path, cache_home: Path, start_runner: Callable[..., RunningJob]
) -> None:
    mixed_root(jobs_root)
    live = start_runner("live", heartbeat=60.0)  # no beat between the polls compared
    doomed = start_runner("doomed", heartbeat=60.0)
    now = [time.time()]

    def clock() -> float:
        return now[0]

    # the cache file of a first process, then a long-lived one restored from it
    writer = polls(jobs_root, clock)[1]
    writer.poll()
    writer.poll()  # a poller writes the cache file a poll left due at its next poll
    manager, poller = polls(jobs_root, clock)
    first = poller.poll()
    assert manager._scanner._reads < len(first.states)  # restored from the cache file
    fresh_manager, fresh_poller = polls(jobs_root, clock)
    fresh_manager._scanner._persist_path = None  # reads every manifest
    assert_same(first, fresh_poller.poll())
    twins = [first.states[j] for j in ("twin-a", "twin-b", "twin-c")]
    assert twins[0].verdict is twins[1].verdict is twins[2].verdict  # one shared verdict
    assert all(type(twin.stat) is bytes for twin in twins)  # the compact stat, not a tuple

    rewrite(jobs_root, "twin-b", status="FAILED", description="other words")
    rewrite(jobs_root, "idle-a", status="INTERVENTION_REQUIRED", history=[{"reason": "why"}])
    shutil.rmtree(jobs_root / "idle-b")
    write_old(jobs_root, "newcomer", status="SUCCESS", description=WORDS)
    (jobs_root / "twin-c" / MANIFEST_NAME).write_bytes(b'{"status": ')
    doomed.kill_owner()
    now[0] += 120.0
    second = poller.poll()
    fresh_manager, fresh_poller = polls(jobs_root, clock)
    fresh_manager._scanner._persist_path = None
    assert_same(second, fresh_poller.poll())

    states = second.states
    assert "idle-b" not in states and "newcomer" in states
    assert states["twin-b"].facts.status == "FAILED"
    assert states["twin-b"].facts.description == "other words"
    assert states["twin-c"].verdict.kind is VerdictKind.CORRUPT
    assert states["idle-a"].verdict.kind is VerdictKind.WAITING
    assert states["doomed"].verdict.kind is VerdictKind.CRASHED
    assert states["live"].verdict.kind is VerdictKind.RUNNING
    # what the changed jobs shared with the others did not change for them
    untouched: JobState = states["twin-a"]
    assert untouched.facts is first.states["twin-a"].facts  # not read again
    assert untouched.facts.status == "SUCCESS"
    assert untouched.verdict.kind is VerdictKind.DONE
    assert untouched.facts.description == WORDS
    assert second.jobs["twin-a"] is first.jobs["twin-a"]  # its row not even made again
    assert states["newcomer"].verdict == untouched.verdict
    assert live.runner_pid > 0


def test_a_job_directory_in_the_root_is_the_same_location_as_one_given_its_whole_path(
    jobs_root: Path,
) -> None:
    """The directories found in the root share the root's path (`InRoot`) instead of a string
    each: every way a location is read, compared or printed is what the whole path gives."""
    for job_id in ("a", "b"):
        write_old(jobs_root, job_id, status="SUCCESS")
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": {}, "queue": ["b"]}))
    locations = enumerate_jobs(jobs_root, read_index(jobs_root)).locations
    a, b = locations["a"], locations["b"]
    assert isinstance(a.place, InRoot) and a.place is b.place  # one string for both
    whole = JobLocation("a", os.path.join(jobs_root, "a"), False, True, True)
    assert a.directory == whole.directory == str(jobs_root / "a")
    assert a.path == whole.path == jobs_root / "a"
    assert a == whole and hash(a) == hash(whole) and repr(a) == repr(whole)
    assert a != JobLocation("a", os.path.join(jobs_root, "b"), False, True, True)
    assert b.queue_position == 0 and b.directory == str(jobs_root / "b")  # replaced, kept
    assert replace(a, writable=False).directory == a.directory
    scanned = JobRecoveryManager(jobs_root).scan().jobs["a"]
    assert scanned.to_dict()["path"] == str(jobs_root / "a")
    assert scanned.location.directory == str(jobs_root / "a")


def test_locations_in_the_root_share_all_but_their_id_and_are_the_dataclass_they_were(
    jobs_root: Path,
) -> None:
    """A location keeps its job id and a `Where` that the directories of the root share (one
    indexed, one not), listed or taken from a kept listing alike; to every caller it is still
    the frozen dataclass of seven fields: fields, `replace`, copies, immutability."""
    for job_id in ("a", "b", "c", "d"):
        write_old(jobs_root, job_id, status="SUCCESS")
    index = {"jobs": {"a": str(jobs_root / "a"), "b": str(jobs_root / "b")}, "queue": ["b"]}
    (jobs_root / "jobs_index.json").write_text(json.dumps(index))
    enumerated = enumerate_jobs(jobs_root, read_index(jobs_root))
    assert enumerated.plain
    listing = plain_listing((0, 0, 0, 0), None, read_index(jobs_root), enumerated.locations)
    _, kept = listed_locations(jobs_root, listing)
    for locations in (enumerated.locations, kept):
        a, b, c, d = (locations[job_id] for job_id in "abcd")
        assert a._where is not c._where and c._where is d._where, "indexed or not: two"
        assert b.queue_position == 0 and b._where is not a._where, "queued: its own"
        assert (a.indexed, c.indexed) == (True, False) and sys.getsizeof(a) <= 48
        for job_id, location in locations.items():
            whole = JobLocation(
                job_id,
                str(jobs_root / job_id),
                location.indexed,
                True,
                True,
                (),
                0 if job_id == "b" else None,
            )
            assert location == whole and hash(location) == hash(whole)
            assert repr(location) == repr(whole)
    assert kept == enumerated.locations
    assert [f.name for f in fields(JobLocation)] == [
        "job_id",
        "place",
        "indexed",
        "on_disk",
        "writable",
        "issues",
        "queue_position",
    ]
    a = enumerated.locations["a"]
    for copied in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert type(copied) is JobLocation and copied == a and copied.place == a.place
    moved = replace(a, writable=False, issues=(RootIssue("x", "y"),))
    assert (moved.writable, moved.issues, moved.directory) == (
        False,
        (RootIssue("x", "y"),),
        a.directory,
    )
    assert a.writable and a.issues == (), "the shared tuple unchanged"
    for name in ("job_id", "place", "writable", "_where"):
        with pytest.raises(FrozenInstanceError):
            setattr(a, name, None)
        with pytest.raises(FrozenInstanceError):
            delattr(a, name)


def test_a_cache_entry_keeps_the_stat_key_as_the_state_does_and_restores_the_state_read(
    jobs_root: Path,
) -> None:
    """A scan cache entry's key is the state's packed stat (compared as it is), or its plain
    numbers when they do not pack: a manifest of 4 GiB or more, not staged here (a tmpfs file
    that size is the machine's memory), so its key is made from the real stat with such a
    size. Either way the state made from the entry is the one read, and an entry of another
    stat is not used: the manifest is read."""
    write_old(jobs_root, "big", status="SUCCESS")
    scanner = _scan.Scanner(jobs_root, Policy())
    read = scanner.scan().jobs["big"]
    row = scanner.cache_row("big")
    assert row is not None and type(row[0]) is bytes and row[0] == read.stat
    now = time.time()
    restored = scanner._from_row("big", read.location, None, row, read.stat, now)
    assert restored == read and restored is not read
    st = os.stat(jobs_root / "big" / MANIFEST_NAME)
    plain = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size + 2**32)
    assert _scan.stat_key(*plain) == plain and type(_scan.stat_key(*plain)) is tuple
    entry = _scan._entry(plain, read.facts, read.problems, True)
    assert scanner._from_row("big", read.location, None, entry, plain, now) == replace(
        read, stat=plain
    ), "the activity from the plain numbers' mtime"
    assert scanner._from_row("big", read.location, None, entry, read.stat, now) == read, "read"
    assert scanner._from_row("big", read.location, None, row, plain, now) == read, "read"


def test_a_manifest_stat_past_64_bits_is_kept_and_compared_exactly(jobs_root: Path) -> None:
    """An mtime after the year 2262 (ext4 and tmpfs take it) does not fit the packed stat: it is
    kept as plain numbers, and a change is still seen."""
    write_job(jobs_root, "future", status="SUCCESS")
    manifest = jobs_root / "future" / MANIFEST_NAME
    far = 2**63 + 10**18
    try:
        os.utime(manifest, ns=(far, far))
    except (OverflowError, OSError):
        pytest.skip("this filesystem cannot hold such a time")
    if os.stat(manifest).st_mtime_ns != far:
        pytest.skip("this filesystem cut the time")
    manager = JobRecoveryManager(jobs_root)
    state = manager.scan().jobs["future"]
    assert type(state.stat) is tuple and state.fingerprint.mtime_ns == far
    st = os.stat(manifest)
    assert state.fingerprint == (st.st_ino, far, st.st_size)
    assert state.manifest_ctime_ns == st.st_ctime_ns
    assert manager.scan().jobs["future"] == state  # (read again: a future mtime is racy)
    rewrite(jobs_root, "future", status="FAILED")
    os.utime(manifest, ns=(far, far))
    assert manager.scan().jobs["future"].facts.status == "FAILED"
