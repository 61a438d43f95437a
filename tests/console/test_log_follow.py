"""`JobRecoveryManager.read_log`: following a job's log by offset, complete lines only."""

from __future__ import annotations

from pathlib import Path

from conftest import write_job
from logist.core import JobRecoveryManager


def test_following_a_log_returns_each_complete_line_once_and_notices_truncation(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "chatty", status="SUCCESS")
    (job_dir / "logs").mkdir()
    log = job_dir / "logs" / "runner.log"
    log.write_bytes(b"one\ntwo\nthr")
    manager = JobRecoveryManager(jobs_root)
    first = manager.read_log("chatty")
    assert first.lines == ("one", "two") and first.restarted
    assert manager.read_log("chatty", first.offset).lines == ()
    with log.open("ab") as stream:
        stream.write(b"ee\nfour\n")
    second = manager.read_log("chatty", first.offset)
    assert second.lines == ("three", "four") and not second.restarted
    log.write_bytes(b"fresh\n")
    third = manager.read_log("chatty", second.offset)
    assert third.restarted and third.lines == ("fresh",)


def test_a_tail_starts_at_a_line_boundary_and_a_job_without_log_has_none(
    jobs_root: Path,
) -> None:
    job_dir = write_job(jobs_root, "long", status="SUCCESS")
    (job_dir / "logs").mkdir()
    (job_dir / "logs" / "runner.log").write_bytes(b"".join(b"line %05d\n" % i for i in range(500)))
    write_job(jobs_root, "quiet", status="SUCCESS")
    manager = JobRecoveryManager(jobs_root)
    tail = manager.read_log("long", max_bytes=100)
    assert tail.lines[-1] == "line 00499" and all(line.startswith("line ") for line in tail.lines)
    assert manager.read_log("quiet").path is None
