"""A first look's child process stats the manifests for the whole scan that follows: the whole
scan is then the very snapshot a scanner that keeps nothing makes, on a real root (resting jobs
from the scan cache, a live owner holding its lock, a killed one, a corrupt manifest, manifests
rewritten, removed and added after the cache was saved, a symlinked job directory), and it is
the same when the child cannot run."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import IMPOSSIBLE_PID, RunningJob, write_job
from logist.core import JobFacts, _scan, _scan_cache, _stats_ahead
from logist.core._scan import Scanner
from logist.core._stats_ahead import NOT_TAKEN, StatsAhead
from logist.core._verdicts import Policy

OLD = 3600


def seen(snapshot: _scan.Snapshot) -> list[Any]:
    return [
        (
            job_id,
            state.location._seen(),
            state.facts,
            state.problems,
            state.stat,
            state.verdict.kind,
            # an active job's reason and activity follow its heartbeat and the time of the scan
            state.verdict if state.evidence is None else None,
            state.activity_at if state.evidence is None else None,
        )
        for job_id, state in snapshot.jobs.items()
    ]


def mixed_root(root: Path) -> None:
    for i in range(30):
        write_job(root, f"job-{i:02d}", status=("SUCCESS", "FAILED", "PENDING")[i % 3])
    write_job(root, "killed", status="EXECUTING", process_id=IMPOSSIBLE_PID)
    (root / "job-07" / "job_manifest.json").write_bytes(b'{"status": "SUCC')
    past = time.time() - OLD
    for job_dir in root.iterdir():
        manifest = job_dir / "job_manifest.json"
        if manifest.exists():
            os.utime(manifest, (past, past))


class Taken:
    """What the whole scans took from their children (the keys when each was stopped)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.results: list[dict[str, bytes]] = []
        results = self.results

        class Recorded(StatsAhead):
            def stop(self) -> None:
                super().stop()
                results.append(dict(self.keys))

        monkeypatch.setattr(_scan, "StatsAhead", Recorded)
        monkeypatch.setattr(_scan, "STATS_AHEAD_MIN", 1)


def first_look_then_whole(root: Path, between: Callable[[], object] = lambda: None) -> list[Any]:
    """A fresh console's scans: a first look at 3 jobs, `between`, the whole root; checked
    against a scanner that keeps nothing."""
    scanner = Scanner(root, Policy(), persistent=True)
    scanner.scan(limit=3)
    if scanner._ahead is not None and scanner._ahead._child is not None:
        scanner._ahead._child.wait()  # all taken (a child still at work is stopped: below)
    between()
    whole = scanner.scan()
    assert whole.complete
    reference = Scanner(root, Policy()).scan()
    assert seen(whole) == seen(reference)
    return seen(whole)


def test_the_whole_scan_takes_the_childs_stats_and_is_what_a_fresh_scan_gives(
    jobs_root: Path, start_runner: Callable[..., RunningJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    mixed_root(jobs_root)
    start_runner("live", heartbeat=60)
    taken = Taken(monkeypatch)
    Scanner(jobs_root, Policy(), persistent=True).scan()  # the scan cache
    assert taken.results == [], "no first look: no child"
    first_look_then_whole(jobs_root)
    assert len(taken.results) == 1
    assert len(taken.results[0]) == len(list(jobs_root.iterdir())), "every job's"
    assert NOT_TAKEN not in taken.results[0].values()
    for job_id, key in taken.results[0].items():
        st = os.stat(jobs_root / job_id / "job_manifest.json")
        assert key == _scan.stat_key(st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
    # rewritten, removed, added and corrupted since the cache was saved
    data = json.loads((jobs_root / "job-01" / "job_manifest.json").read_text())
    (jobs_root / "job-01" / "job_manifest.json").write_text(
        json.dumps({**data, "status": "PENDING"})
    )
    shutil.rmtree(jobs_root / "job-02")
    write_job(jobs_root, "job-new", status="FAILED")
    (jobs_root / "job-04" / "job_manifest.json").write_bytes(b"[]")
    os.symlink(jobs_root / "job-05", jobs_root / "job-link")
    jobs = first_look_then_whole(jobs_root)
    statuses = {job_id: facts.status for job_id, _, facts, *_ in jobs}
    assert statuses["job-01"] == "PENDING" and statuses["job-new"] == "FAILED"
    assert "job-02" not in statuses and "job-link" in statuses
    assert taken.results[-1].keys() == statuses.keys(), "each listed job's"


def test_a_manifest_gone_after_the_childs_stat_is_stat_again(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's stat failed (the manifest was not there yet): the whole scan stats it."""
    mixed_root(jobs_root)
    Taken(monkeypatch)
    Scanner(jobs_root, Policy(), persistent=True).scan()
    manifest = jobs_root / "job-10" / "job_manifest.json"
    kept = manifest.read_bytes()
    manifest.unlink()
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    scanner.scan(limit=3)
    assert scanner._ahead is not None and scanner._ahead._child is not None
    scanner._ahead._child.wait()
    scanner._ahead.refresh()
    assert not scanner._ahead.running and scanner._ahead.keys["job-10"] == NOT_TAKEN
    manifest.write_bytes(kept)
    scanner._ahead = StatsAhead(f"{jobs_root}/", ["job-10"], "/x")  # fails: stat itself
    whole = scanner.scan()
    reference = Scanner(jobs_root, Policy()).scan()
    assert seen(whole) == seen(reference)


def test_a_child_still_at_work_is_stopped_and_what_it_took_is_used(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never waited for: the whole scan takes the keys written so far, stats the rest."""
    mixed_root(jobs_root)
    taken = Taken(monkeypatch)
    monkeypatch.setattr(_stats_ahead, "CHUNK", 1)
    Scanner(jobs_root, Policy(), persistent=True).scan()
    for _ in range(5):
        scanner = Scanner(jobs_root, Policy(), persistent=True)
        scanner.scan(limit=3)
        whole = scanner.scan()  # at once: the child is stopped wherever it is
        assert seen(whole) == seen(Scanner(jobs_root, Policy()).scan())
        child = scanner._ahead
        assert child is None, "taken once"
    assert all(
        list(result) == list(whole.jobs)[: len(result)] for result in taken.results if result
    ), "the keys of the first jobs, in order"


@pytest.mark.parametrize("interpreter", ["/nonexistent/python", "/bin/false", ""])
def test_without_the_child_the_whole_scan_stats_each_manifest_itself(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch, interpreter: str
) -> None:
    mixed_root(jobs_root)
    taken = Taken(monkeypatch)
    Scanner(jobs_root, Policy(), persistent=True).scan()
    monkeypatch.setattr("sys.executable", interpreter)
    first_look_then_whole(jobs_root)
    assert taken.results == [{}], "no key: each stat made by the scan"


class Read:
    """What the scans took from their children's reads, per scan that had one (None: the
    child failed)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.results: list[dict[str, Any] | None] = []
        read = _scan.read_in_child

        def recorded(jobs: Iterable[tuple[str, str]]) -> Recording | None:
            given = read(jobs)
            taken: dict[str, Any] = {}
            self.results.append(None if given is None else taken)
            return None if given is None else Recording(given, taken)

        monkeypatch.setattr(_scan, "read_in_child", recorded)
        monkeypatch.setattr(_scan, "READ_IN_CHILD_MIN", 1)


class Recording:
    """A child's entries, each one the scan takes also kept in `taken`."""

    def __init__(self, given: _scan_cache.Ahead, taken: dict[str, Any]) -> None:
        self._given, self._taken = given, taken

    def pop(self, job_id: str) -> Any:
        entry = self._given.pop(job_id)
        if entry is not None:
            self._taken[job_id] = entry
        return entry


def taken_in_order(
    given: _scan_cache.Ahead | None, jobs: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """Every entry of a child's reads, taken in the order of the jobs it was given."""
    if given is None:
        return None
    return {job_id: entry for job_id, _ in jobs if (entry := given.pop(job_id)) is not None}


def rewrite(root: Path, job: str, past: float | None = None, **fields: Any) -> None:
    manifest = root / job / "job_manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, **fields}, indent=2))
    if past is not None:
        os.utime(manifest, (past, past))


@pytest.mark.parametrize("interpreter", [None, "/nonexistent/python"])
def test_manifests_changed_since_the_last_scan_read_by_a_child_are_what_a_fresh_scan_gives(
    jobs_root: Path,
    start_runner: Callable[..., RunningJob],
    monkeypatch: pytest.MonkeyPatch,
    interpreter: str | None,
) -> None:
    mixed_root(jobs_root)
    live = start_runner("live", heartbeat=60)
    read = Read(monkeypatch)
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    scanner.scan()
    assert read.results == [], "nothing changed: nothing to read"
    past = time.time() - OLD / 2
    rewrite(jobs_root, "job-00", past, status="PENDING")
    rewrite(jobs_root, "job-01", past, status="EXECUTING", process_id=IMPOSSIBLE_PID)
    rewrite(jobs_root, "job-03", past, job_id="another")  # an id mismatch
    rewrite(jobs_root, "job-04", past, created_at=None, description="no timestamps")
    rewrite(jobs_root, "job-05", None, status="FAILED")  # inside the racy window: read here
    (jobs_root / "job-06" / "job_manifest.json").write_bytes(b"{corrupt")
    (jobs_root / "job-08" / "job_manifest.json").unlink()  # a plain directory now
    rewrite(jobs_root, "job-09", past, status="WAITING_FOR_HUMAN")
    live.kill_owner()
    if interpreter is not None:
        monkeypatch.setattr("sys.executable", interpreter)
    whole = scanner.scan()
    reference = Scanner(jobs_root, Policy()).scan()
    assert seen(whole) == seen(reference)
    assert list(whole.jobs) == list(reference.jobs), "in the listing's order"
    entries = read.results[-1]
    if interpreter is None:
        assert entries is not None and {"job-00", "job-01", "job-03", "job-09"} <= entries.keys()
        assert not {"job-05", "job-06", "job-08"} & entries.keys(), "read by the scan itself"
    else:
        assert entries is None
    status = {job_id: state.facts.status for job_id, state in whole.jobs.items()}
    assert status["job-00"] == "PENDING" and "job-08" not in status
    again = scanner.scan()
    assert seen(again) == seen(Scanner(jobs_root, Policy()).scan()), "and kept right"


def test_a_childs_reads_come_back_in_frames_as_the_same_entries(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child hands its entries back in scan cache frames (each loaded in one short
    `marshal.loads`): frames of 2 entries give what one frame gives, and the scan that takes
    them what a fresh scan gives."""
    mixed_root(jobs_root)
    jobs = [
        (job_dir.name, str(job_dir / "job_manifest.json"))
        for job_dir in sorted(jobs_root.iterdir())
        if job_dir.is_dir()
    ]
    whole = taken_in_order(_stats_ahead.read_in_child(jobs), jobs)
    monkeypatch.setattr(_scan_cache, "CHUNK_ENTRIES", 2)
    framed = taken_in_order(_stats_ahead.read_in_child(iter(jobs)), jobs)
    assert whole is not None and len(whole) > 20, "most manifests read by the child"
    assert framed == whole and list(framed) == list(whole)
    read = Read(monkeypatch)
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    scanner.scan()
    past = time.time() - OLD / 2
    for number in range(0, 30, 2):
        rewrite(jobs_root, f"job-{number:02d}", past, status="WAITING_FOR_HUMAN")
    again = scanner.scan()
    entries = read.results[-1]
    assert entries is not None and len(entries) >= 14
    assert seen(again) == seen(Scanner(jobs_root, Policy()).scan())


def test_facts_a_child_read_again_keep_the_texts_and_times_the_manifest_says_again(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rewritten manifest mostly says its description and times again: the new facts keep
    those objects of the facts they replace (no second copy alive until the old ones go), and
    are still exactly what a fresh scan reads."""
    mixed_root(jobs_root)
    past = time.time() - OLD / 2
    said = {
        "created_at": "2026-11-30T10:00:00",
        "updated_at": "2026-11-30T11:00:00",
        "history": [{"event": "ASKED", "timestamp": "2026-11-30T11:00:00", "reason": "a look"}],
    }
    for number in range(10, 20):
        rewrite(jobs_root, f"job-{number:02d}", past - 60, status="WAITING_FOR_HUMAN", **said)
    read = Read(monkeypatch)
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    before = scanner.scan().jobs
    for number in range(10, 18):
        rewrite(jobs_root, f"job-{number:02d}", past, status="PENDING")
    rewrite(jobs_root, "job-18", past, description="said otherwise")
    rewrite(jobs_root, "job-19", past, created_at="2026-11-30T09:00:00")
    after = scanner.scan()
    assert seen(after) == seen(Scanner(jobs_root, Policy()).scan())
    taken = read.results[-1]
    assert taken is not None and set(taken) == {f"job-{number:02d}" for number in range(10, 20)}
    for job_id in taken:
        old, new = before[job_id].facts, after.jobs[job_id].facts
        assert new is not old
        for name in ("description", "created_at", "updated_at", "last_event_at"):
            if getattr(new, name) == getattr(old, name):
                assert getattr(new, name) is getattr(old, name), (job_id, name)
    assert after.jobs["job-18"].facts.description == "said otherwise"
    assert after.jobs["job-19"].facts.created_at != before["job-19"].facts.created_at
    assert after.jobs["job-12"].facts.last_event_at is before["job-12"].facts.updated_at
    assert after.jobs["job-18"].facts.waiting_reason is before["job-18"].facts.waiting_reason


def test_only_equal_values_of_the_same_type_and_sign_are_kept() -> None:
    """An equal text or non-zero float is the same value; 0.0 and -0.0, or 1 and 1.0, are
    equal without being the same: the new one stays."""
    names = [field.name for field in dataclasses.fields(JobFacts)][:-1]
    old = JobFacts(description="".join(["same ", "text"]), created_at=-0.0, updated_at=1.0)
    new = JobFacts(description="".join(["same", " text"]), created_at=0.0, updated_at=1)
    values = [getattr(new, name) for name in names]
    kept = dict(zip(names, _scan._kept_alike(old, values), strict=True))
    assert kept["description"] is old.description
    assert math.copysign(1.0, kept["created_at"]) == 1.0
    assert type(kept["updated_at"]) is int
    assert [kept[name] for name in names] == values


def niceness_while(child_pid: Callable[[], int | None], running: Callable[[], bool]) -> set[int]:
    """The CPU priorities a helper child was seen at while `running()` (looked every ms)."""
    seen: set[int] = set()
    while running():
        pid = child_pid()
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                seen.add(psutil.Process(pid).nice())
        time.sleep(0.001)
    return seen


def test_both_helpers_run_at_a_lower_cpu_priority_than_the_console(jobs_root: Path) -> None:
    """The stats child and the reader child lower their priority before their work: on a busy
    machine the console's event loop gets a core before them."""
    lowered = min(19, os.nice(0) + _stats_ahead.HELPER_NICENESS)
    ids = [f"none-{number}" for number in range(300_000)]  # (stats that fail: ~0.3 s of work)
    ahead = StatsAhead(f"{jobs_root}/", ids, "/job_manifest.json")
    child = ahead._child
    assert child is not None
    stats_child = niceness_while(lambda: child.pid, lambda: child.poll() is None)
    ahead.stop()
    assert lowered in stats_child, stats_child
    mixed_root(jobs_root)
    jobs = [
        (job_dir.name, str(job_dir / "job_manifest.json"))
        for job_dir in sorted(jobs_root.iterdir())
        if job_dir.is_dir()
    ]
    result: list[object] = []
    reading = threading.Thread(target=lambda: result.append(_stats_ahead.read_in_child(jobs)))
    reading.start()

    def reader() -> int | None:
        children = psutil.Process().children()
        return children[0].pid if len(children) == 1 else None

    reader_child = niceness_while(reader, reading.is_alive)
    reading.join()
    assert result and result[0] is not None, "the reader's entries came back"
    assert lowered in reader_child, reader_child


class Positions:
    """What each whole scan's child had taken when stopped, and how many of its keys were
    looked up by job id (`StatsAhead.keys`) rather than by their number in its order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, keep: int | None = None) -> None:
        self.results: list[tuple[int, int]] = []
        results = self.results

        class Recorded(StatsAhead):
            def refresh(self) -> None:
                super().refresh()
                if keep is not None:  # a child behind: no key past the first `keep`
                    del self.taken[keep:]

            def stop(self) -> None:
                super().stop()
                results.append((len(self.taken), self._keyed_upto))

        monkeypatch.setattr(_scan, "StatsAhead", Recorded)
        monkeypatch.setattr(_scan, "STATS_AHEAD_MIN", 1)
        monkeypatch.setattr(_scan, "LOOK_AGAIN", 1)


@pytest.mark.parametrize("behind", [None, 0, 7])
@pytest.mark.parametrize("delta", [False, True])
def test_a_first_whole_scan_from_frames_and_the_childs_keys_in_order_is_a_fresh_scan(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch, behind: int | None, delta: bool
) -> None:
    """A fresh scanner's first look, then its whole scan, from the cache file in frames of 2
    (most entries taken from the frame the scan is in, `Ahead.newest`; not while a delta
    file's entries are left to win over the frames'), the child's keys taken by their number
    (all of them, none, or the first 7: the rest stat by the scan) with manifests rewritten,
    corrupted and gone in place since the cache was saved and a symlinked job: exactly what
    a scanner that keeps nothing makes; the states it restored are kept as it ends (the next
    scan reads nothing and gives the same objects), though not as changes since."""
    mixed_root(jobs_root)
    os.symlink(jobs_root / "job-05", jobs_root / "job-link")
    monkeypatch.setattr(_scan_cache, "CHUNK_ENTRIES", 2)
    times = iter(range(10**9, 2 * 10**9, 3600))  # each save an hour on: a delta is saved
    saving = Scanner(jobs_root, Policy(), persistent=True)
    saving.scan(float(next(times)))
    if delta:
        for number in (3, 12, 21):
            rewrite(jobs_root, f"job-{number:02d}", time.time() - OLD / 2, status="CANCELED")
        saving.scan(float(next(times)))
        assert _scan_cache.delta_file(saving._persist_path).exists()  # type: ignore[arg-type]
    positions = Positions(monkeypatch, behind)
    past = time.time() - OLD / 2
    rewrite(jobs_root, "job-01", past, status="PENDING")
    rewrite(jobs_root, "job-20", past, description="a description much longer than before")
    (jobs_root / "job-04" / "job_manifest.json").write_bytes(b"[]")
    os.utime(jobs_root / "job-04" / "job_manifest.json", (past, past))
    (jobs_root / "job-08" / "job_manifest.json").unlink()
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    reads: list[str] = []
    read_facts = _scan.read_facts

    def counted(job_id: str, manifest: str) -> Any:
        reads.append(job_id)
        return read_facts(job_id, manifest)

    monkeypatch.setattr(_scan, "read_facts", counted)
    changed = {"job-01", "job-04", "job-08", "job-20"}
    scanner.scan(limit=5)
    looked_at = set(list(scanner._locations)[:5])
    assert set(reads) == changed & looked_at, "the first look's jobs from the cache file too"
    assert scanner._ahead is not None and scanner._ahead._child is not None
    scanner._ahead._child.wait()
    reads.clear()
    whole = scanner.scan()
    read_by_whole = set(reads)
    reference = Scanner(jobs_root, Policy()).scan()
    assert seen(whole) == seen(reference)
    assert list(whole.jobs) == list(reference.jobs), "in the listing's order"
    assert whole.jobs["job-01"].facts.status == "PENDING" and "job-08" not in whole.jobs
    taken, by_id = positions.results[-1]
    listed = len(list(jobs_root.iterdir()))
    assert taken == (listed if behind is None else behind) and by_id == 0, "by number"
    assert sorted(read_by_whole) == ["job-01", "job-04", "job-08", "job-20"], "changed only"
    assert not scanner._cache.over, "no change kept since the whole scan"
    reads.clear()
    again = scanner.scan()
    assert reads == ["job-08"], "nothing read again (but a directory without a manifest)"
    assert all(
        again.jobs[job_id] is state
        for job_id, state in whole.jobs.items()
        if state.evidence is None
    )
    assert seen(again) == seen(Scanner(jobs_root, Policy()).scan())
