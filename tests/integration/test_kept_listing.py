"""The root's plain listing kept between processes: taken only while the root directory and the
index keep their stat keys, and then the very listing a fresh enumeration makes.

Each check compares a persistent scanner's snapshot (fresh each time, as a new console is) with
a scanner that keeps nothing, on a real root: indexed and unindexed jobs, a queue, a corrupt
manifest, job directories added and removed, the index rewritten, a change hidden by putting
the root's mtime back, symlinked job directories (one dangling until its target appears), an
index path elsewhere, and a root changed inside the racy window.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import write_job
from logist.core import _scan
from logist.core._scan import Scanner
from logist.core._scan_cache import cache_file
from logist.core._verdicts import Policy

OLD = 3600
"""Seconds back: out of the racy window, so the listing may be kept."""


def index(root: Path, jobs: dict[str, str | None], queue: list[str] | None = None) -> None:
    data: dict[str, Any] = {"jobs": jobs}
    if queue is not None:
        data["queue"] = queue
    (root / "jobs_index.json").write_text(json.dumps(data, indent=2))


def age(root: Path) -> None:
    """The root directory and its index modified an hour ago (their ctime stays now)."""
    past = time.time() - OLD
    for path in (root, root / "jobs_index.json"):
        if path.exists():
            os.utime(path, (past, past), follow_symlinks=False)


def listing_file(root: Path) -> Path:
    found = cache_file(os.path.realpath(root), "listing")
    assert found is not None
    return found


def seen(snapshot: _scan.Snapshot) -> list[Any]:
    """All a snapshot says of the root's listing, in order."""
    return [
        [
            (job_id, state.location._seen(), str(state.verdict.kind))
            for job_id, state in snapshot.jobs.items()
        ],
        [(i.code, i.message, i.job_id, i.path) for i in snapshot.root_issues],
        snapshot.index_facts.to_dict(),
        snapshot.index_exists,
        snapshot.total,
    ]


class Listings:
    """Counts the root's enumerations and index reads of the scanners made meanwhile."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.enumerated = 0
        self.index_reads = 0
        enumerate_jobs, read_index = _scan.enumerate_jobs, _scan.read_index

        def counted_enumerate(*args: Any, **kwargs: Any) -> Any:
            self.enumerated += 1
            return enumerate_jobs(*args, **kwargs)

        def counted_read(*args: Any, **kwargs: Any) -> Any:
            self.index_reads += 1
            return read_index(*args, **kwargs)

        monkeypatch.setattr(_scan, "enumerate_jobs", counted_enumerate)
        monkeypatch.setattr(_scan, "read_index", counted_read)

    def scan(self, root: Path, *, limit: int | None = None) -> tuple[list[Any], bool]:
        """A fresh persistent scanner's snapshot, and whether it listed the root itself; the
        snapshot is checked against a scanner that keeps nothing."""
        before = self.enumerated
        snapshot = Scanner(root, Policy(), persistent=True).scan(limit=limit)
        reference = Scanner(root, Policy()).scan(limit=limit)
        assert seen(snapshot) == seen(reference)
        return seen(snapshot), self.enumerated - before - 1 > 0


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> Listings:
    return Listings(monkeypatch)


def plain_root(root: Path) -> None:
    for i in range(6):
        write_job(root, f"job-{i}", status="SUCCESS" if i % 2 else "FAILED")
    (root / "job-5" / "job_manifest.json").write_bytes(b"{not json")
    write_job(root, "unindexed", status="PENDING")
    index(
        root,
        {f"job-{i}": str(root / f"job-{i}") for i in range(5)} | {"job-5": None},
        ["job-3", "job-1"],
    )
    age(root)


def test_a_plain_root_is_listed_once_then_taken_as_kept(
    jobs_root: Path, listings: Listings
) -> None:
    plain_root(jobs_root)
    first, listed = listings.scan(jobs_root)
    assert listed and listing_file(jobs_root).exists()
    reads = listings.index_reads
    again, listed = listings.scan(jobs_root)
    assert not listed and again == first
    assert listings.index_reads == reads + 1, "only the reference read the index"
    by_id = {job_id: location for job_id, location, _ in again[0]}
    assert by_id["job-3"][-1] == 0 and by_id["job-1"][-1] == 1, "queue positions"
    assert by_id["unindexed"][2] is False and by_id["job-0"][2] is True
    assert listings.scan(jobs_root, limit=3)[1] is False, "a first look takes it too"


def test_job_directories_that_come_or_go_and_a_rewritten_index_are_listed_again(
    jobs_root: Path, listings: Listings
) -> None:
    plain_root(jobs_root)
    listings.scan(jobs_root)
    write_job(jobs_root, "job-new", status="RUNNING")
    age(jobs_root)
    snapshot, listed = listings.scan(jobs_root)
    assert listed and "job-new" in [job_id for job_id, _, _ in snapshot[0]]
    assert not listings.scan(jobs_root)[1]
    (jobs_root / "unindexed" / "job_manifest.json").unlink()
    (jobs_root / "unindexed").rmdir()
    age(jobs_root)
    snapshot, listed = listings.scan(jobs_root)
    assert listed and "unindexed" not in [job_id for job_id, _, _ in snapshot[0]]
    index(jobs_root, {"job-0": str(jobs_root / "job-0")}, ["job-0"])
    age(jobs_root)
    snapshot, listed = listings.scan(jobs_root)
    assert listed and snapshot[0][0][1][2:] == (True, True, True, (), 0)
    assert not listings.scan(jobs_root)[1]


def test_a_change_hidden_by_putting_the_mtime_back_is_seen(
    jobs_root: Path, listings: Listings
) -> None:
    plain_root(jobs_root)
    listings.scan(jobs_root)
    mtime = jobs_root.stat().st_mtime_ns
    time.sleep(0.01)  # a ctime of its own
    write_job(jobs_root, "job-hidden", status="FAILED")
    os.utime(jobs_root, ns=(mtime, mtime))
    snapshot, listed = listings.scan(jobs_root)
    assert listed and "job-hidden" in [job_id for job_id, _, _ in snapshot[0]]


def test_a_root_changed_inside_the_racy_window_is_not_kept(
    jobs_root: Path, listings: Listings
) -> None:
    plain_root(jobs_root)
    write_job(jobs_root, "job-now", status="SUCCESS")  # the root's mtime: now
    listings.scan(jobs_root)
    assert not listing_file(jobs_root).exists()
    assert listings.scan(jobs_root)[1]


@pytest.mark.parametrize("case", ["symlinked", "dangling", "elsewhere"])
def test_a_root_that_is_not_plain_is_listed_every_time(
    jobs_root: Path, tmp_path: Path, listings: Listings, case: str
) -> None:
    plain_root(jobs_root)
    if case == "symlinked":
        os.symlink(jobs_root / "job-0", jobs_root / "job-link")
    elif case == "dangling":
        os.symlink(tmp_path / "later", jobs_root / "job-later")
    else:
        write_job(tmp_path / "other", "job-away", status="SUCCESS")
        index(
            jobs_root,
            {"job-0": str(jobs_root / "job-0"), "job-away": str(tmp_path / "other" / "job-away")},
        )
    age(jobs_root)
    listings.scan(jobs_root)
    assert not listing_file(jobs_root).exists()
    if case == "dangling":  # its target appears: the root itself did not change
        write_job(tmp_path, "later", status="FAILED")
        snapshot, listed = listings.scan(jobs_root)
        assert listed and "job-later" in [job_id for job_id, _, _ in snapshot[0]]


def test_a_kept_listing_that_is_not_one_is_not_used(jobs_root: Path, listings: Listings) -> None:
    plain_root(jobs_root)
    listings.scan(jobs_root)
    path = listing_file(jobs_root)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    assert listings.scan(jobs_root)[1], "cut short: listed again"
    assert not listings.scan(jobs_root)[1], "and kept again"


def test_a_racy_listing_is_made_again_when_saved_out_of_the_window(
    jobs_root: Path, listings: Listings
) -> None:
    """`status` saves after its output: a root changed just before it is often out of the
    racy window by then, and listed again for keeping (what changed meanwhile included)."""
    plain_root(jobs_root)
    write_job(jobs_root, "job-now", status="SUCCESS")  # the root's mtime: now
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    scanner.defer_persist = scanner.relist_racy = True
    scanner.scan()
    write_job(jobs_root, "job-meanwhile", status="FAILED")
    still_racy = Scanner(jobs_root, Policy(), persistent=True)
    still_racy.defer_persist = still_racy.relist_racy = True
    still_racy.scan()
    still_racy.persist_pending()
    assert not listing_file(jobs_root).exists(), "still inside the window: not kept"
    age(jobs_root)  # by the time of the save
    scanner.persist_pending()
    assert listing_file(jobs_root).exists()
    snapshot, listed = listings.scan(jobs_root)
    assert not listed and "job-meanwhile" in [job_id for job_id, _, _ in snapshot[0]]


def test_a_scanner_that_took_the_kept_listing_keeps_the_next_one(
    jobs_root: Path, listings: Listings
) -> None:
    """A console started from the kept listing lists the root again when a job directory comes,
    and keeps that listing for the next start."""
    plain_root(jobs_root)
    past = time.time() - OLD
    for manifest in jobs_root.glob("*/job_manifest.json"):
        os.utime(manifest, (past, past))  # kept by the scan cache: no read, no save at start
    listings.scan(jobs_root)
    scanner = Scanner(jobs_root, Policy(), persistent=True)
    scanner.scan()
    assert scanner._reads == 0 and scanner._index_seen is not None
    write_job(jobs_root, "job-later", status="FAILED")
    os.utime(jobs_root, (past, past))  # the index is as it was
    scanner.scan()
    snapshot, listed = listings.scan(jobs_root)
    assert not listed and "job-later" in [job_id for job_id, _, _ in snapshot[0]]
