"""The persistent scan cache: a fresh process re-reads only what changed, and never trusts what
it cannot prove unchanged (same-tick rewrites, restored mtimes, foreign files)."""

from __future__ import annotations

import json
import marshal
import math
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_for, write_job
from logist.core import JobFacts, JobRecoveryManager, VerdictKind, _scan, _scan_cache
from logist.core._identity import Liveness, identity_of, liveness
from logist.core._manifest import MANIFEST_NAME
from logist.core._scan import Scanner

# Manifests whose mtime is this far back are past the racy window.
OLD = 3600


def write_old(
    root: Path, job_id: str, manifest: dict[str, object] | None = None, **fields: object
) -> Path:
    job_dir = write_job(root, job_id, manifest, **fields)
    manifest = job_dir / MANIFEST_NAME
    past = time.time() - OLD
    os.utime(manifest, (past, past))
    return manifest


_COUNT_READS = """
import sys
from logist.core import JobRecoveryManager
reads = []
sys.addaudithook(
    lambda event, args: event == "open" and str(args[0]).endswith("job_manifest.json")
    and reads.append(str(args[0]))
)
snapshot = JobRecoveryManager(sys.argv[1], scan_cache=True).scan()
print(len(reads), " ".join(f"{j}={s.facts.status}" for j, s in sorted(snapshot.jobs.items())))
"""


def fresh_scan(root: Path) -> tuple[int, dict[str, str]]:
    """Scan in a fresh process with the cache: (manifests opened, status per job)."""
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_READS, str(root)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout.split()
    return int(out[0]), dict(pair.split("=", 1) for pair in out[1:])


def test_a_second_process_reads_only_the_manifests_that_changed(
    jobs_root: Path, cache_home: Path
) -> None:
    for number in range(20):
        write_old(jobs_root, f"j{number}", status="SUCCESS")
    assert fresh_scan(jobs_root)[0] == 20
    assert fresh_scan(jobs_root)[0] == 0
    changed = write_old(jobs_root, "j3", status="FAILED")
    assert changed.exists()
    reads, statuses = fresh_scan(jobs_root)
    assert reads == 1
    assert statuses["j3"] == "FAILED"
    assert statuses["j4"] == "SUCCESS"


def test_a_rewrite_that_restores_size_and_mtime_is_still_seen(
    jobs_root: Path, cache_home: Path
) -> None:
    manifest = write_old(jobs_root, "j", status="PENDING")
    fresh_scan(jobs_root)
    stamp = manifest.stat()
    text = manifest.read_text().replace('"PENDING"', '"SUCCESS"')
    assert len(text) == stamp.st_size
    with open(manifest, "r+") as stream:  # in place: the inode stays
        stream.write(text)
    os.utime(manifest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert manifest.stat().st_ino == stamp.st_ino
    assert fresh_scan(jobs_root) == (1, {"j": "SUCCESS"})


def test_a_manifest_modified_in_the_same_tick_as_its_read_is_read_again(
    jobs_root: Path, cache_home: Path
) -> None:
    write_old(jobs_root, "old", status="SUCCESS")
    write_job(jobs_root, "new", status="PENDING")  # mtime: now
    assert fresh_scan(jobs_root)[0] == 2
    reads, _ = fresh_scan(jobs_root)
    assert reads == 1  # "new" is racy: not trusted from the cache


def test_the_cache_lives_outside_the_root_and_a_damaged_one_is_ignored(
    jobs_root: Path, cache_home: Path
) -> None:
    write_old(jobs_root, "a", status="SUCCESS")
    write_old(jobs_root, "b", status="PENDING")
    before = sorted(str(p.relative_to(jobs_root)) for p in jobs_root.rglob("*"))
    fresh_scan(jobs_root)
    after = sorted(str(p.relative_to(jobs_root)) for p in jobs_root.rglob("*"))
    assert before == after
    (cache_file,) = cache_home.iterdir()
    assert cache_file.stat().st_mode & 0o077 == 0
    for damage in (b"", b"\x00garbage" * 100, cache_file.read_bytes()[:-7]):
        cache_file.write_bytes(damage)
        assert fresh_scan(jobs_root) == (2, {"a": "SUCCESS", "b": "PENDING"})
    os.chmod(cache_file, 0o666)  # writable by others: not ours to trust
    assert fresh_scan(jobs_root)[0] == 2
    cache_file.unlink()
    assert fresh_scan(jobs_root) == (2, {"a": "SUCCESS", "b": "PENDING"})


def test_a_cache_of_many_frames_is_read_whole_and_a_cut_one_not_at_all(
    jobs_root: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are written a frame at a time (one marshal call each: no long hold of the
    GIL); every frame is read back, and a file cut anywhere, even between two frames, or a
    frame that is not ours, is not used at all (its manifests are read)."""
    monkeypatch.setattr(_scan_cache, "CHUNK_ENTRIES", 2)
    statuses = {f"j{number}": ("SUCCESS", "PENDING", "FAILED")[number % 3] for number in range(7)}
    for job_id, status in statuses.items():
        write_old(jobs_root, job_id, status=status)
    manager = JobRecoveryManager(jobs_root, scan_cache=True)
    manager.scan()
    (cache_file,) = cache_home.iterdir()
    whole = cache_file.read_bytes()
    decoded = _scan_cache.decode(whole)
    assert decoded is not None and sorted(decoded[1]) == sorted(statuses)
    assert fresh_scan(jobs_root) == (0, statuses)
    header = decoded[0]
    frame = _scan_cache._LENGTH
    boundaries = []  # where each frame ends
    at = len(_scan_cache.MAGIC)
    while at < len(whole):
        (length,) = frame.unpack_from(whole, at)
        at += frame.size + length
        boundaries.append(at)
    assert len(boundaries) == 5  # the header's frame, then 7 entries 2 a frame
    for damage in (
        *(whole[:at] for at in boundaries[:-1]),
        whole[: len(whole) // 2],
        whole[:-1],
        whole + b"\x01",
        whole + frame.pack(3) + b"abc",
        _scan_cache.MAGIC + frame.pack(1 << 40) + whole[len(_scan_cache.MAGIC) :],
        _scan_cache.encode(header, {}) + whole[len(_scan_cache.encode(header, {})) :],
    ):
        assert _scan_cache.decode(damage, header) is None
        cache_file.write_bytes(damage)
        assert fresh_scan(jobs_root) == (7, statuses)


def test_entries_taken_in_about_their_order_are_loaded_a_few_frames_at_a_time() -> None:
    """`Ahead` (how a scan takes the cache file's entries, and its reader child's) loads a
    frame when an entry none loaded has is asked for and the newest loaded was reached, and
    keeps a few: those entries alive, not all. A key never written, or far out of order, or
    in a frame that is not entries, is not found (the scan reads that manifest itself); the
    entries of keys never asked for go with their frame."""
    entries = {f"j{number:02d}": (number, f"text {number}") for number in range(20)}
    split = _scan_cache.frames(_scan_cache.encode(("h",), entries, 2), ("h",))
    assert split is not None and split[0] == ("h",) and len(split[1]) == 10 and split[2] == 20
    given = _scan_cache.Ahead(split[1])
    assert given.pop("j00") == entries["j00"]
    assert len(given._frames) == 9, "the first frame loaded only"
    assert given.pop("j01") == entries["j01"]
    assert given.pop("new job") is None, "not written: one frame more looked at"
    assert len(given._frames) == 8
    assert given.pop("another new job") is None
    assert len(given._frames) == 8, "none more before the scan reaches the one loaded"
    # j02 is never asked for (a job gone); j04 comes before j03 (a little out of order)
    assert given.pop("j04") is None, "two frames on: not loaded yet"
    assert given.pop("j03") == entries["j03"] and given.pop("j04") == entries["j04"]
    assert [given.pop(f"j{number:02d}") for number in range(5, 14)] == [
        entries[f"j{number:02d}"] for number in range(5, 14)
    ]
    assert len(given._live) == _scan_cache.Ahead.LIVE
    assert given.pop("j02") is None, "its frame let go"
    assert given.pop("j00") is None, "taken already"
    assert [given.pop(f"j{number:02d}") for number in range(14, 20)] == [
        entries[f"j{number:02d}"] for number in range(14, 20)
    ]
    assert not given._frames and not given
    over = _scan_cache.Ahead(split[1], {"j05": ("newer",), "x": (1,)})
    assert (
        over.pop("j05") == ("newer",) and over.pop("x") == (1,) and over.pop("j00") == (0, "text 0")
    )
    length = _scan_cache._LENGTH.pack
    frames = [
        marshal.dumps((("h",), 4, 4)),
        marshal.dumps({"a": 1, "b": 2}),
        marshal.dumps(["not", "entries"]),
        b"\xffnot marshal",
        marshal.dumps({"c": 3, "d": 4}),
    ]
    damaged = _scan_cache.MAGIC + b"".join(length(len(frame)) + frame for frame in frames)
    split = _scan_cache.frames(damaged, ("h",))
    assert split is not None, "the frames are whole; what is in them is seen when taken"
    assert _scan_cache.decode(damaged, ("h",)) is None, "not a cache file to use whole"
    given = _scan_cache.Ahead(split[1])
    assert [given.pop(key) for key in ("a", "b", "c", "d")] == [1, 2, 3, 4]
    assert _scan_cache.frames(damaged, ("other",)) is None
    assert _scan_cache.frames(damaged[:-1], ("h",)) is None


def test_a_whole_save_makes_its_entries_a_frame_at_a_time(
    jobs_root: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entries of a whole save are made as each frame is written, not all first (at
    100,000 jobs ~45 MB of tuples at once, a peak the console's memory kept), and the file is
    the same whole file: every job read back from it."""
    monkeypatch.setattr(_scan_cache, "CHUNK_ENTRIES", 2)
    statuses = {f"j{number}": ("SUCCESS", "PENDING", "FAILED")[number % 3] for number in range(7)}
    for job_id, status in statuses.items():
        write_old(jobs_root, job_id, status=status)
    events: list[str] = []
    made = Scanner.cache_row

    def cache_row(self: Scanner, job_id: str) -> object:
        events.append("entry")
        return made(self, job_id)

    class Marshal:  # the real marshal, its dumps counted
        loads = staticmethod(marshal.loads)

        @staticmethod
        def dumps(value: object) -> bytes:
            events.append("frame")
            return marshal.dumps(value)

    monkeypatch.setattr(Scanner, "cache_row", cache_row)
    monkeypatch.setattr(_scan_cache, "marshal", Marshal)
    JobRecoveryManager(jobs_root, scan_cache=True).scan()
    # the header's frame, 7 entries 2 a frame, then the header's frame again, saying how many
    # frames follow
    assert "".join("e" if event == "entry" else "F" for event in events) == "FeeFeeFeeFeFF"
    monkeypatch.undo()
    assert fresh_scan(jobs_root) == (0, statuses)


def test_a_save_holds_one_frame_at_a_time_not_the_file(tmp_path: Path) -> None:
    """Each frame is written as it is made: a save's memory is a frame's, not the whole file's
    (its frames and their join were 2 x 23 MB at 100,000 jobs, which the console's RSS kept
    until the C heap was trimmed). The file is whole: its header counts every entry."""
    path = tmp_path / "cache.marshal"
    count = 20_000
    entries = ((f"job-{number:06d}", (number, f"{number:0200d}")) for number in range(count))
    tracemalloc.start()
    try:
        stamp = _scan_cache.save(path, ("h",), entries)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = path.stat().st_size
    assert stamp is not None and stamp[2] == size
    assert size > 4_000_000
    assert peak < size / 3, f"{peak:,} bytes at the peak of a save of {size:,}"
    decoded = _scan_cache.decode(path.read_bytes(), ("h",))
    assert decoded is not None and len(decoded[1]) == count
    assert decoded[1]["job-012345"] == (12345, f"{12345:0200d}")
    split = _scan_cache.frames(path.read_bytes(), ("h",))
    assert split is not None and split[2] == count
    assert len(split[1]) == -(-count // _scan_cache.CHUNK_ENTRIES)


def test_a_save_that_meets_an_unmarshallable_value_leaves_the_file_before(tmp_path: Path) -> None:
    """A value marshal cannot write, in a frame after others were written: no file is
    replaced and no temporary file is left (the scan then runs without a cache this time)."""
    path = tmp_path / "cache" / "cache.marshal"
    assert _scan_cache.save(path, ("h",), {"a": (1,)}) is not None
    before = path.read_bytes()
    entries = [(f"j{number}", (number,)) for number in range(5_000)] + [("bad", (object(),))]
    assert _scan_cache.save(path, ("h",), entries) is None
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["cache.marshal"]


def test_a_cache_written_for_another_boot_or_another_code_is_not_used(
    jobs_root: Path, cache_home: Path
) -> None:
    write_old(jobs_root, "a", status="SUCCESS")
    fresh_scan(jobs_root)
    (cache_file,) = cache_home.iterdir()
    header = _scan_cache.header(str(jobs_root.resolve()), JobFacts, b"other code")
    assert _scan_cache.load(cache_file, header) == {}

    decoded = _scan_cache.decode(cache_file.read_bytes())
    assert decoded is not None
    found_header, entries = decoded
    assert entries
    stale = (found_header[0], found_header[1], "another-boot-id", *found_header[3:])
    cache_file.write_bytes(_scan_cache.encode(stale, entries))
    assert fresh_scan(jobs_root)[0] == 1


def test_process_evidence_is_observed_again_in_every_process(
    jobs_root: Path, cache_home: Path, start_runner
) -> None:
    job = start_runner("r", "sleep", "60", heartbeat=1.0)
    manifest = jobs_root / "r" / MANIFEST_NAME
    past = time.time() - OLD
    os.utime(manifest, (past, past))  # out of the racy window: its facts come from the cache
    assert JobRecoveryManager(jobs_root, scan_cache=True).scan().jobs["r"].kind is (
        VerdictKind.RUNNING
    )
    child = identity_of(job.child_pid)
    assert child is not None
    job.proc.kill()
    job.proc.wait()
    os.killpg(child.pid, signal.SIGKILL)
    wait_for(lambda: liveness(child) is Liveness.DEAD)
    reads, statuses = fresh_scan(jobs_root)
    assert reads == 0 and statuses == {"r": "EXECUTING"}
    snapshot = JobRecoveryManager(jobs_root, scan_cache=True).scan()
    assert snapshot.jobs["r"].kind is VerdictKind.CRASHED


def test_switched_off_by_the_environment(jobs_root: Path, cache_home: Path) -> None:
    write_old(jobs_root, "a", status="SUCCESS")
    os.environ[_scan_cache.CACHE_ENV] = "0"
    try:
        fresh_scan(jobs_root)
        assert fresh_scan(jobs_root)[0] == 1
        assert not cache_home.exists()
    finally:
        del os.environ[_scan_cache.CACHE_ENV]


def test_jobs_json_is_compact_strict_and_sorted_worst_first(jobs_root: Path) -> None:
    write_old(jobs_root, "done", status="SUCCESS")
    write_old(jobs_root, "nan", status="PENDING", cost_threshold=float("nan"))
    (jobs_root / "broken").mkdir()
    (jobs_root / "broken" / MANIFEST_NAME).write_text('{"status": ')
    # what the listing puts together from pieces: a queue, a job missing from the index, a
    # job reached through a symlink (an issue), a bad timestamp (a problem), shared verdicts
    write_old(jobs_root, "queued", status="PENDING", created_at="someday")
    write_old(jobs_root, "unlisted", status="SUCCESS", description='naïve ✓ \u2028 "quoted"')
    write_old(jobs_root, "real", status="SUCCESS")
    (jobs_root / "linked").symlink_to(jobs_root / "real")
    listed = {name: str(jobs_root / name) for name in ("done", "nan", "broken", "queued", "real")}
    (jobs_root / "jobs_index.json").write_text(json.dumps({"jobs": listed, "queue": ["queued"]}))
    out = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(jobs_root), "--json"],
        capture_output=True,
        check=True,
    ).stdout
    assert out.count(b"\n") == 1 and b": " not in out.split(b'"jobs":')[0]
    document = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in output"))
    assert [j["job_id"] for j in document["jobs"]] == [
        "broken",
        "nan",
        "queued",
        "done",
        "linked",
        "real",
        "unlisted",
    ]
    assert document["jobs"][1]["facts"]["cost_threshold"] is None
    assert document["jobs"][2]["queue_position"] == 0 and document["jobs"][2]["problems"]
    assert document["jobs"][4]["issues"] and not document["jobs"][6]["indexed"]
    pretty = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(jobs_root), "--json", "--pretty"],
        capture_output=True,
        check=True,
    ).stdout
    assert json.loads(pretty) == document
    assert pretty.count(b"\n") > 20


def test_jobs_json_writes_the_scan_cache_after_its_output_is_out(
    jobs_root: Path, cache_home: Path
) -> None:
    for number in range(5):
        write_old(jobs_root, f"j{number}", status="SUCCESS")
    out = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(jobs_root), "--json"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout  # returns at the command's exit: the write happens in a child after it
    jobs = json.loads(out)["jobs"]
    assert [j["job_id"] for j in jobs] == [f"j{n}" for n in range(5)]
    assert "files" not in jobs[0]["facts"]  # what directories hold: only with --files
    wait_for(lambda: list(cache_home.glob("scan-*")))
    wait_for(lambda: fresh_scan(jobs_root)[0] == 0)
    with_files = subprocess.run(
        [sys.executable, "-m", "logist", "jobs", "--root", str(jobs_root), "--json", "--files"],
        capture_output=True,
        check=True,
    ).stdout
    files = json.loads(with_files)["jobs"][0]["facts"]["files"]
    assert files == {"backups": 0, "latest_outcome": None, "workspace": "none"}


def _mixed_root(root: Path) -> None:
    """Jobs of every kind a restore must judge as a read does (manifests past the racy window)."""
    write_old(root, "done", status="SUCCESS")
    lately = datetime.now().isoformat()  # newer than the manifest's mtime: the activity
    write_old(
        root,
        "failed",
        status="FAILED",
        history=[{"event": "ERROR", "reason": "boom", "timestamp": lately}],
    )
    write_old(root, "waiting", status="INTERVENTION_REQUIRED", history=[{"reason": "look"}])
    write_old(root, "pending", status="PENDING", created_at="not a time")  # a problem, not fatal
    write_old(root, "elsewhere", {"job_id": "another-id"}, status="SUCCESS")  # id mismatch
    write_old(root, "odd", status="NO_SUCH_STATUS")
    write_old(root, "legacy", status="EXECUTING", process_id=2**22 + 7)  # no such pid: evidence
    write_old(
        root,
        "recorded",
        status="CANCELED",
        runner="podman",
        history=[
            {"event": "JOB_CREATED", "message": "made"},
            {"action": "COMPLETED", "metrics": {"token_input": 5}},
            {"event": "EXECUTION_ERROR", "error_message": "bad", "error_classification": "x"},
        ],
    )
    write_job(root, "corrupt", b'{"status": "SUCC')
    past = time.time() - OLD
    os.utime(root / "corrupt" / MANIFEST_NAME, (past, past))


def test_a_restored_job_is_judged_exactly_as_a_freshly_read_one(
    jobs_root: Path, cache_home: Path
) -> None:
    _mixed_root(jobs_root)
    now = time.time()  # one clock for every scan: the evidence's ages are counted from it
    JobRecoveryManager(jobs_root, clock=lambda: now, scan_cache=True).scan()  # writes the cache
    restoring = JobRecoveryManager(jobs_root, clock=lambda: now, scan_cache=True)
    restored = restoring.scan().jobs
    assert restoring._scanner._reads == 0  # every state came from the cache file
    fresh = JobRecoveryManager(jobs_root, clock=lambda: now).scan().jobs
    assert restored.keys() == fresh.keys() and len(fresh) == 9
    for job_id, state in fresh.items():
        again = restored[job_id]
        assert again == state, job_id
        assert again.to_dict() == state.to_dict(), job_id
        assert again.facts.recorded == state.facts.recorded, job_id
        assert (again.activity_at, again.category, again.manifest_ok) == (
            state.activity_at,
            state.category,
            state.manifest_ok,
        ), job_id
        assert again.observation == state.observation, job_id
        assert (again.evidence is None) is (state.evidence is None), job_id


def test_a_long_lived_scanner_keeps_a_state_only_while_its_manifest_stat_is_the_read_one(
    jobs_root: Path, cache_home: Path
) -> None:
    manifest = write_old(jobs_root, "a", status="PENDING")
    write_old(jobs_root, "b", status="SUCCESS")
    manager = JobRecoveryManager(jobs_root, scan_cache=True)
    scanner = manager._scanner
    first = manager.scan().jobs
    reads = scanner._reads
    again = manager.scan().jobs
    assert scanner._reads == reads and again["a"] is first["a"]  # kept: not read again

    stamp = manifest.stat()
    text = manifest.read_text().replace('"PENDING"', '"SUCCESS"')
    assert len(text) == stamp.st_size
    with open(manifest, "r+") as stream:  # in place, same size, mtime put back: ctime tells
        stream.write(text)
    os.utime(manifest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert manager.scan().jobs["a"].facts.status == "SUCCESS"

    before = manager.scan().jobs["a"]
    reads = scanner._reads
    os.chmod(manifest, 0o640)  # the ctime alone changes
    after = manager.scan().jobs["a"]
    assert scanner._reads == reads + 1
    assert after.manifest_ctime_ns != before.manifest_ctime_ns and after.facts == before.facts

    write_job(jobs_root, "new", status="PENDING")  # modified now: racy, never kept
    manager.scan()
    reads = scanner._reads
    assert manager.scan().jobs["new"].facts.status == "PENDING"
    assert scanner._reads == reads + 1


def test_a_later_save_writes_only_the_jobs_read_since_the_whole_file(
    jobs_root: Path, cache_home: Path
) -> None:
    for number in range(6):
        write_old(jobs_root, f"j{number}", status="SUCCESS")
    times = iter(range(10**9, 2 * 10**9, 3600))  # each scan an hour on: every one saves
    manager = JobRecoveryManager(jobs_root, clock=lambda: float(next(times)), scan_cache=True)
    manager.scan()  # cold: reads all, writes the whole file
    whole = cache_home / next(p.name for p in cache_home.iterdir() if p.name.startswith("scan-"))
    delta = _scan_cache.delta_file(whole)
    written = whole.read_bytes()
    assert not delta.exists()

    write_old(jobs_root, "j2", status="FAILED")
    write_old(jobs_root, "j9", status="PENDING")
    assert manager.scan().jobs["j2"].facts.status == "FAILED"
    assert whole.read_bytes() == written and delta.exists()  # the two read jobs, beside it
    _, entries = _scan_cache.decode(delta.read_bytes()) or ((), {})
    assert sorted(entries) == ["j2", "j9"]
    assert fresh_scan(jobs_root) == (
        0,
        {f"j{n}": "SUCCESS" for n in range(6)}
        | {
            "j2": "FAILED",
            "j9": "PENDING",
        },
    )

    stale = delta.read_bytes()
    whole.unlink()  # lost: the next run reads every manifest and writes the whole file anew
    write_old(jobs_root, "j2", status="CANCELED")
    assert fresh_scan(jobs_root)[0] == 7
    assert whole.exists() and not delta.exists()  # a whole save drops the delta
    delta.write_bytes(stale)  # a delta of the file replaced: never used
    os.chmod(delta, 0o600)
    header, entries = _scan_cache.decode(whole.read_bytes()) or ((), {})
    assert _scan_cache.load(whole, header) == entries
    assert fresh_scan(jobs_root) == (
        0,
        {f"j{n}": "SUCCESS" for n in range(6)}
        | {
            "j2": "CANCELED",
            "j9": "PENDING",
        },
    )


def test_a_delta_is_not_trusted_for_a_manifest_changed_since(
    jobs_root: Path, cache_home: Path
) -> None:
    manifest = write_old(jobs_root, "a", status="SUCCESS")
    write_old(jobs_root, "b", status="SUCCESS")
    times = iter(range(10**9, 2 * 10**9, 3600))
    manager = JobRecoveryManager(jobs_root, clock=lambda: float(next(times)), scan_cache=True)
    manager.scan()
    write_old(jobs_root, "a", status="PENDING")
    manager.scan()  # a's new entry goes to the delta
    assert any(p.name.startswith("scan-") and ".delta" in p.name for p in cache_home.iterdir())
    stamp = manifest.stat()
    text = manifest.read_text().replace('"PENDING"', '"FAILED1"')
    assert len(text) == stamp.st_size
    with open(manifest, "r+") as stream:  # in place, same size, mtime put back: ctime tells
        stream.write(text)
    os.utime(manifest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert fresh_scan(jobs_root) == (1, {"a": "FAILED1", "b": "SUCCESS"})


def test_jobs_in_the_root_and_a_symlinked_one_are_restored_and_kept_by_their_own_manifest(
    jobs_root: Path, cache_home: Path
) -> None:
    """The scan builds the manifest path of a job directory found in the root from the root's
    string and the id: each job's stat is its own manifest's, a symlinked job directory (its
    own path, not the root's) too, whether restored from the cache file or kept in memory."""
    _mixed_root(jobs_root)
    (jobs_root / "alias").symlink_to(jobs_root / "failed")  # read, never written
    JobRecoveryManager(jobs_root, scan_cache=True).scan()  # reads all, writes the cache
    manager = JobRecoveryManager(jobs_root, scan_cache=True)
    restored = manager.scan().jobs
    assert manager._scanner._reads == 0
    assert not restored["alias"].location.writable
    assert restored["alias"].location.directory == str(jobs_root / "alias")
    fresh = JobRecoveryManager(jobs_root).scan().jobs
    assert restored == fresh and len(fresh) == 10

    # each changed manifest is read again (by its own path), no other
    for job_id, status in (("done", "CANCELED"), ("failed", "SUCCESS")):
        manifest = jobs_root / job_id / MANIFEST_NAME
        data = json.loads(manifest.read_text())
        data["status"] = status
        manifest.write_text(json.dumps(data))
        past = time.time() - OLD
        os.utime(manifest, (past, past))
    again = manager.scan().jobs
    assert again["done"].facts.status == "CANCELED"
    assert again["failed"].facts.status == again["alias"].facts.status == "SUCCESS"
    kept = {j for j, state in restored.items() if state.evidence is None}
    kept -= {"done", "failed", "alias"}
    assert kept and all(again[j] is restored[j] for j in kept)
    assert again == JobRecoveryManager(jobs_root).scan().jobs


def test_equal_costs_and_times_are_one_object_with_the_values_and_signs_the_manifests_say(
    jobs_root: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Costs, times and thresholds many jobs have alike are one float (memory at 100,000
    jobs), and a job's equal timestamps one too; each value is still the manifest's, -0.0
    stays negative and 0.0 positive, read from the manifest, from the cache file and by the
    reader child alike."""
    stamp = "2026-11-30T10:00:00"
    costs = {"a": 2.5, "b": 2.5, "c": -0.0, "d": 0.0, "e": 0, "f": float("nan"), "g": None}
    for job_id, cost in costs.items():
        write_old(
            jobs_root,
            job_id,
            status="SUCCESS",
            created_at=stamp,
            updated_at=stamp,
            history=[{"timestamp": stamp, "event": "DONE"}],
            metrics={"cumulative_cost": cost, "cumulative_time_seconds": 90},
            cost_threshold=10,
            time_threshold_minutes=1.5,
        )
    expected = datetime.fromisoformat(stamp).timestamp()

    def check(jobs: dict[str, Any]) -> None:
        for job_id, cost in costs.items():
            facts = jobs[job_id].facts
            if cost is None:
                assert facts.cost is None
            elif cost != cost:
                assert facts.cost != facts.cost  # NaN
            else:
                assert facts.cost == cost and type(facts.cost) is float
                assert math.copysign(1, facts.cost) == math.copysign(1, cost)
            assert facts.created_at == facts.updated_at == facts.last_event_at == expected
            assert facts.created_at is facts.updated_at is facts.last_event_at
            assert facts.time_s == facts.time_threshold_s == 90.0
            assert facts.cost_threshold == 10.0 and type(facts.cost_threshold) is float
        assert jobs["a"].facts.cost is jobs["b"].facts.cost
        assert jobs["a"].facts.time_s is jobs["b"].facts.time_s
        # thresholds (and the other fields most jobs have alike) in one tuple for both jobs
        assert jobs["a"].facts._shared is jobs["b"].facts._shared
        assert jobs["d"].facts.cost is jobs["e"].facts.cost

    read = JobRecoveryManager(jobs_root, scan_cache=True).scan().jobs
    check(read)
    restored = JobRecoveryManager(jobs_root, scan_cache=True).scan().jobs
    check(restored)
    assert {k: v for k, v in restored.items() if k != "f"} == {  # (NaN: never equal)
        k: v for k, v in read.items() if k != "f"
    }
    # the reader child: every manifest rewritten (same values) and read again by it
    monkeypatch.setattr(_scan, "READ_IN_CHILD_MIN", 1)
    manager = JobRecoveryManager(jobs_root, scan_cache=True)
    manager.scan()
    for job_id in costs:
        path = jobs_root / job_id / MANIFEST_NAME
        path.write_bytes(path.read_bytes() + b" ")
        past = time.time() - OLD
        os.utime(path, (past, past))
    check(manager.scan().jobs)


def test_more_jobs_read_than_a_delta_takes_make_a_whole_save_and_are_not_all_remembered(
    jobs_root: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to `_DELTA_MIN` jobs read since the whole file are saved beside it; one more and the
    save is whole, the jobs read past that not remembered one by one (memory at 100,000)."""
    monkeypatch.setattr(_scan, "_DELTA_MIN", 2)
    for number in range(8):
        write_old(jobs_root, f"j{number}", status="SUCCESS")
    times = iter(range(10**9, 2 * 10**9, 3600))  # each scan an hour on: every one saves
    manager = JobRecoveryManager(jobs_root, clock=lambda: float(next(times)), scan_cache=True)
    manager.scan()  # cold: reads all, writes the whole file
    scanner = manager._scanner
    whole = cache_home / next(p.name for p in cache_home.iterdir() if p.name.startswith("scan-"))
    delta = _scan_cache.delta_file(whole)
    for job_id in ("j0", "j1"):
        write_old(jobs_root, job_id, status="FAILED")
    written = whole.read_bytes()
    manager.scan()
    assert whole.read_bytes() == written and delta.exists()  # two: a delta
    assert scanner._read_since_base == {"j0", "j1"}
    for job_id in ("j2", "j3", "j4", "j5"):
        write_old(jobs_root, job_id, status="PENDING")
    scanner.defer_persist = True  # the save after the scan, to see what it was told first
    manager.scan()
    assert len(scanner._read_since_base) == 3, "two, and one past: enough to tell"
    scanner.persist_pending()
    assert whole.read_bytes() != written and not delta.exists()  # six: a whole save
    assert scanner._read_since_base == set()
    expected = {f"j{n}": "SUCCESS" for n in range(8)}
    expected |= {"j0": "FAILED", "j1": "FAILED", "j2": "PENDING", "j3": "PENDING"}
    expected |= {"j4": "PENDING", "j5": "PENDING"}
    assert fresh_scan(jobs_root) == (0, expected)
