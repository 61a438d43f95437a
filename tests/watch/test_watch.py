"""`logist watch` with real runners: what it journals, recovers, and leaves alone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from conftest import RunningJob, wait_for
from logist.core._identity import identity_of
from logist.core._journal import WATCH_STATUS, read_brake, watch_status
from logist.core._locate import STATE_DIR
from reliability._support import audit_records, run_cli
from staging import Processes, crashed_job, runner_block, touch
from watch.conftest import Watch, kill_runner_and_command, manifest

FAST = ("--interval", "0.3")
SLOW = 30.0
"""Seconds to wait for a watch: it starts a Python process, on a machine shared with others."""


def test_a_killed_runner_is_journalled_at_once_and_only_the_proven_crash_is_auto_recovered(
    jobs_root: Path,
    start_runner: Callable[..., RunningJob],
    start_watch: Callable[..., Watch],
) -> None:
    crashing = start_runner("crashing")
    hanging = start_runner("hanging")
    detaching = start_runner("detaching")
    watch = start_watch(jobs_root, "--auto-recover", *FAST)
    wait_for(lambda: watch.events("watch-start"), timeout=SLOW)
    wait_for(lambda: watch_status(jobs_root) and watch_status(jobs_root).last_pass_at, timeout=SLOW)

    command = crashing.child_pid
    kill_runner_and_command(crashing.runner_pid, command)
    os.kill(hanging.runner_pid, signal.SIGSTOP)  # alive, but its heartbeat stops
    os.kill(detaching.runner_pid, signal.SIGKILL)  # its command runs on

    crashed = wait_for(lambda: watch.events("verdict", "crashing"), timeout=SLOW)
    assert crashed[0]["to"] in ("crashed", "detached")
    assert "latency_s" in crashed[0] and crashed[0]["latency_s"] < 5.0
    wait_for(lambda: manifest(jobs_root, "crashing")["status"] == "PENDING", timeout=SLOW)
    recovery = wait_for(lambda: watch.events("auto-recovery", "crashing"), timeout=SLOW)
    assert recovery[0]["outcome"] == "recovered"

    wait_for(
        lambda: any(e["to"] == "hung" for e in watch.events("verdict", "hanging")), timeout=SLOW
    )
    wait_for(
        lambda: any(e["to"] == "detached" for e in watch.events("verdict", "detaching")),
        timeout=SLOW,
    )
    time.sleep(1.0)  # three more passes: nothing more may happen to them
    assert manifest(jobs_root, "hanging")["status"] == "EXECUTING"
    assert manifest(jobs_root, "detaching")["status"] == "EXECUTING"
    assert not watch.events("auto-recovery", "hanging")
    assert not watch.events("auto-recovery", "detaching")
    by_watch = [a for a in audit_records(jobs_root) if a["operator"] == "watch"]
    assert [a["job_id"] for a in by_watch] == ["crashing"]
    assert by_watch[0]["actor"] == "watch"
    history = manifest(jobs_root, "crashing")["history"]
    assert [h["event"] for h in history if h.get("event") == "CRASH_RECOVERY"] == ["CRASH_RECOVERY"]
    assert history[-1]["operator"] == "watch"
    os.kill(hanging.runner_pid, signal.SIGCONT)


def test_without_auto_recover_the_watch_only_journals(
    jobs_root: Path, procs: Processes, start_watch: Callable[..., Watch]
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    watch = start_watch(jobs_root, *FAST)
    event = wait_for(lambda: watch.events("verdict", "c"), timeout=SLOW)[0]
    assert (event["from"], event["to"], event["at_start"]) == (None, "crashed", True)
    assert "dead" in event["reason"] and event["evidence"]["owner"] == "dead"
    time.sleep(1.0)
    assert manifest(jobs_root, "c")["status"] == "EXECUTING"


def test_the_storm_brake_pauses_auto_recovery_across_restarts_until_an_operator_resumes_it(
    jobs_root: Path, procs: Processes, start_watch: Callable[..., Watch]
) -> None:
    dead = procs.dead_identity()  # as after a reboot: every owner gone at once
    for n in range(20):
        crashed_job(jobs_root, f"job{n:02d}", dead)
    watch = start_watch(jobs_root, "--auto-recover", *FAST)
    brake = wait_for(lambda: watch.events("brake-on"), timeout=SLOW)[0]
    assert "20 of 20 active jobs" in brake["reason"]
    assert read_brake(jobs_root) is not None
    time.sleep(1.0)
    assert not watch.events("auto-recovery")
    assert all(manifest(jobs_root, f"job{n:02d}")["status"] == "EXECUTING" for n in range(20))
    status = wait_for(lambda: watch_status(jobs_root), timeout=SLOW)
    assert status.active and status.brake and status.auto == "proven"

    assert watch.stop() == 0  # a restart keeps the brake on
    watch = start_watch(jobs_root, "--auto-recover", *FAST)
    wait_for(lambda: len(watch.events("watch-start")) == 2, timeout=SLOW)
    time.sleep(1.0)
    assert not watch.events("auto-recovery")

    resumed = run_cli("watch", "--root", str(jobs_root), "--resume-auto")
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: watch.events("brake-off"), timeout=SLOW)
    assert watch.events("brake-off")[0]["by"]
    wait_for(lambda: len(watch.events("auto-recovery")) == 20, timeout=SLOW)
    assert all(e["outcome"] == "recovered" for e in watch.events("auto-recovery"))
    assert len(watch.events("brake-on")) == 1, "a job recovered is no new crash"


def test_a_second_watch_on_the_same_root_is_refused(
    jobs_root: Path, start_watch: Callable[..., Watch]
) -> None:
    first = start_watch(jobs_root, *FAST)
    # the refusal names the pid the first watch's status gives: written after its first pass,
    # which can come after its "watch-start" line on a loaded machine
    wait_for(lambda: getattr(watch_status(jobs_root), "pid", None) == first.proc.pid, SLOW)
    second = start_watch(jobs_root, *FAST)
    assert second.proc.wait(30) == 2
    assert "another watch is running" in second.output()
    assert f"pid {first.proc.pid}" in second.output()
    assert "Traceback" not in second.output()
    assert first.proc.poll() is None


def test_metrics_parse_with_the_prometheus_parser_over_http_and_in_the_textfile(
    jobs_root: Path, procs: Processes, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    port = _free_port()
    textfile = tmp_path / "logist.prom"
    watch = start_watch(
        jobs_root, "--metrics-port", str(port), "--metrics-textfile", str(textfile), *FAST
    )
    wait_for(textfile.exists, timeout=SLOW)
    wait_for(lambda: watch.events("verdict"), timeout=SLOW)

    def families(text: str) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
        found: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                found.setdefault(family.name, {})[key] = sample.value
        return found

    served = wait_for(lambda: _get(f"http://127.0.0.1:{port}/metrics"), timeout=SLOW)
    for text in (served, textfile.read_text()):
        metrics = families(text)
        assert metrics["logist_jobs"][("logist_jobs", (("verdict", "crashed"),))] == 1
        assert metrics["logist_health"][("logist_health", ())] == 2  # critical
        assert metrics["logist_auto_recovery_brake_engaged"]
        assert metrics["logist_last_pass_timestamp_seconds"]
        assert "logist_detection_latency_seconds" in metrics
        assert "logist_scan_duration_seconds" in metrics
        assert "logist_recoveries" in metrics
    assert _listening_address(watch.proc.pid, port) == "127.0.0.1"


def test_a_hook_gets_each_event_as_json_and_a_failing_or_stuck_hook_is_journalled_and_killed(
    jobs_root: Path, procs: Processes, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    crashed_job(jobs_root, "c", procs.dead_identity())
    received = tmp_path / "received.jsonl"
    stuck_pids = tmp_path / "stuck.pids"
    append = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read())"
    hook = f'{sys.executable} -c "{append}" {received}'
    stuck = f"sh -c 'echo $$ >> {stuck_pids}; sleep 60 & echo $! >> {stuck_pids}; wait'"
    watch = start_watch(
        jobs_root,
        "--on-event", hook,
        "--on-event", "false",
        "--on-event", stuck,
        "--on-event-kind", "verdict",
        "--hook-timeout", "0.5",
        *FAST,
    )  # fmt: skip
    line = wait_for(lambda: received.exists() and received.read_text().splitlines(), timeout=SLOW)[
        0
    ]
    sent = json.loads(line)
    assert (sent["kind"], sent["job_id"], sent["to"]) == ("verdict", "c", "crashed")
    failures = wait_for(
        lambda: len(watch.events("hook-failed")) >= 2 and watch.events("hook-failed"), timeout=SLOW
    )
    reasons = {f["command"]: f["reason"] for f in failures}
    assert reasons["false"] == "exit status 1"
    assert "timed out after 0.5 s" in reasons[next(c for c in reasons if "sleep 60" in c)]
    assert watch.stop() == 0
    for pid in map(int, stuck_pids.read_text().split()):
        assert not _alive(pid), f"hook process {pid} left behind"


def test_what_a_hook_that_succeeded_left_running_in_its_session_is_killed(
    jobs_root: Path, procs: Processes, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    """The hook has exited and been reaped when its session is swept: each leftover is found in
    /proc and signalled through the verified send, not by a `killpg` of a pid now free."""
    crashed_job(jobs_root, "c", procs.dead_identity())
    left = tmp_path / "left.pid"
    hook = f"sh -c 'sleep 60 >/dev/null 2>&1 & echo $! > {left}.tmp && mv {left}.tmp {left}'"
    watch = start_watch(jobs_root, "--on-event", hook, "--on-event-kind", "verdict", *FAST)
    pid = int(wait_for(lambda: left.exists() and left.read_text(), timeout=SLOW))
    wait_for(lambda: not _alive(pid), timeout=SLOW)
    assert not watch.events("hook-failed")
    assert watch.stop() == 0


def test_sigterm_stops_the_watch_within_two_seconds_and_leaves_no_child(
    jobs_root: Path, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    pids = tmp_path / "hook.pids"
    watch = start_watch(
        jobs_root, "--on-event", f"sh -c 'echo $$ >> {pids}; sleep 60'", "--hook-timeout", "60"
    )
    wait_for(pids.exists, timeout=SLOW)  # a hook is running (on watch-start)
    started = time.monotonic()
    assert watch.stop() == 0
    assert time.monotonic() - started < 2.0
    assert not _alive(int(pids.read_text().split()[0]))
    assert watch.events("watch-stop")
    assert not watch_status(jobs_root).active


def test_the_watch_survives_its_root_vanishing_and_coming_back(
    jobs_root: Path, procs: Processes, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    watch = start_watch(jobs_root, *FAST)
    wait_for(lambda: watch.events("watch-start"), timeout=SLOW)
    aside = tmp_path / "aside"
    jobs_root.rename(aside)
    wait_for(lambda: "root unreadable" in watch.output(), timeout=SLOW)
    time.sleep(0.5)
    assert watch.proc.poll() is None
    shutil.rmtree(aside)
    jobs_root.mkdir()
    crashed_job(jobs_root, "after", procs.dead_identity())
    wait_for(lambda: watch.events("verdict", "after"), timeout=SLOW)
    assert watch.events("root-back")
    second = subprocess.run(
        [sys.executable, "-m", "logist", "watch", "--root", str(jobs_root)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 2, "the watch holds the lock of the root that came back"


def test_events_filters_by_job_and_time_and_prints_json(
    jobs_root: Path, procs: Processes, start_watch: Callable[..., Watch]
) -> None:
    dead = procs.dead_identity()
    crashed_job(jobs_root, "a", dead)
    crashed_job(jobs_root, "b", dead)
    watch = start_watch(jobs_root, *FAST)
    wait_for(lambda: len(watch.events("verdict")) == 2, timeout=SLOW)
    watch.stop()
    only_a = run_cli("events", "--root", str(jobs_root), "--job", "a", "--json")
    assert only_a.returncode == 0, only_a.stderr
    records = json.loads(only_a.stdout)
    assert [(r["kind"], r["job_id"], r["to"]) for r in records] == [("verdict", "a", "crashed")]
    text = run_cli("events", "--root", str(jobs_root))
    assert "watch-start" in text.stdout and "new -> crashed" in text.stdout
    future = run_cli("events", "--root", str(jobs_root), "--since", "2999-01-01T00:00:00", "--json")
    assert json.loads(future.stdout) == []
    recent = run_cli("events", "--root", str(jobs_root), "--since", "10m", "--json")
    assert len(json.loads(recent.stdout)) == len(watch.events())
    bad = run_cli("events", "--root", str(jobs_root), "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_events_follow_prints_new_events_as_they_are_journalled(
    jobs_root: Path, procs: Processes, start_watch: Callable[..., Watch]
) -> None:
    watch = start_watch(jobs_root, *FAST)
    wait_for(lambda: watch.events("watch-start"), timeout=SLOW)
    follower = subprocess.Popen(
        [sys.executable, "-m", "logist", "events", "--root", str(jobs_root), "--follow", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(follower.stdout.readline())["kind"] == "watch-start"
        crashed_job(jobs_root, "late", procs.dead_identity())
        record = json.loads(follower.stdout.readline())
        assert (record["kind"], record["job_id"]) == ("verdict", "late")
    finally:
        follower.kill()
        follower.wait()


def test_the_journal_rotates_at_its_size_cap(tmp_path: Path) -> None:
    from logist.watch._journal import Journal, event

    root = tmp_path / "jobs"
    root.mkdir()
    journal = Journal(root, max_bytes=2000)
    for n in range(100):
        journal.write([event("verdict", job_id=f"job{n}", reason="x" * 50)])
    files = sorted(p.name for p in (root / ".logist").iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all(p.stat().st_size < 2200 for p in (root / ".logist").iterdir())
    from logist.core._journal import read_events

    kept = [r["job_id"] for r in read_events(root)]
    assert kept == [f"job{n}" for n in range(100 - len(kept), 100)], "newest kept, in order"


def test_a_state_directory_linked_out_of_the_root_is_never_rotated_through(
    tmp_path: Path,
) -> None:
    from logist.watch._journal import Journal, event

    root = tmp_path / "jobs"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "events.jsonl").write_text("x" * 4000)
    (root / ".logist").symlink_to(elsewhere)
    journal = Journal(root, max_bytes=2000)
    assert not journal.write([event("verdict", job_id="j")])
    assert sorted(p.name for p in elsewhere.iterdir()) == ["events.jsonl"]
    assert (elsewhere / "events.jsonl").read_text() == "x" * 4000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def _listening_address(pid: int, port: int) -> str | None:
    """The address a process listens on `port`, from /proc/net/tcp (inode -> its fds)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A" and fields[9] in inodes:
                return socket.inet_ntoa(bytes.fromhex(address)[::-1])
    return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_under_systemd_it_notifies_ready_status_watchdog_and_stopping(
    jobs_root: Path, tmp_path: Path, start_watch: Callable[..., Watch]
) -> None:
    """NOTIFY_SOCKET is a real datagram socket here, as systemd's is for a Type=notify unit."""
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(address))
        listener.settimeout(SLOW)
        watch = start_watch(
            jobs_root, env={"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "400000"}
        )
        received: list[str] = []
        while received.count("WATCHDOG=1") < 2:
            received.extend(listener.recv(4096).decode().splitlines())
        assert received.index("READY=1") < received.index("WATCHDOG=1")
        status = next(line for line in received if line.startswith("STATUS="))
        assert "jobs" in status and "auto off" in status
        assert watch.stop() == 0
        while "STOPPING=1" not in received:
            received.extend(listener.recv(4096).decode().splitlines())


def test_deaths_seen_one_pidfd_at_a_time_are_one_storm_and_nothing_is_recovered(
    jobs_root: Path, procs: Processes, start_watch: Callable[..., Watch]
) -> None:
    """20 owners (real processes holding their job's lock) die 10 ms apart: each death wakes
    the watch on its own, and the brake must still see them as one storm before the first
    of them is held long enough to be recovered."""
    owners = []
    for n in range(20):
        job_dir = jobs_root / f"job{n:02d}"
        job_dir.mkdir()
        (job_dir / ".lock").touch()
        owner = procs.lock_holder(job_dir / ".lock")
        identity = identity_of(owner.pid)
        assert identity is not None
        data = {
            "job_id": job_dir.name,
            "status": "EXECUTING",
            "history": [],
            "owner": runner_block(identity, interval=60.0),
        }
        (job_dir / "job_manifest.json").write_text(json.dumps(data))
        (job_dir / "heartbeat").touch()
        owners.append(owner)
    watch = start_watch(jobs_root, "--auto-recover", "--interval", "2")
    # the status written after the first pass may precede the pidfds: wait until they cover all
    wait_for(lambda: _pidfds_watched(jobs_root) >= 20, SLOW)
    assert not watch.events("verdict"), "every job is running"
    for owner in owners:
        owner.kill()
        time.sleep(0.01)
    wait_for(lambda: watch.events("brake-on"), SLOW)
    crashed = wait_for(lambda: len(watch.events("verdict")) >= 20 and watch.events("verdict"), SLOW)
    assert {e["to"] for e in crashed} == {"crashed"}
    assert all("latency_s" in e for e in crashed), "each death was seen through its pidfd"
    time.sleep(3.0)  # more than a pass: still nothing recovered
    assert not watch.events("auto-recovery")


def _pidfds_watched(root: Path) -> int:
    """How many owners the root's watch follows by pidfd, as its last status says."""
    try:
        status = json.loads((root / STATE_DIR / WATCH_STATUS).read_bytes())
    except (OSError, ValueError):
        return 0
    return (status.get("coverage") or {}).get("pidfds", 0)


def test_stalled_jobs_are_recovered_only_with_auto_recover_inferred(
    jobs_root: Path, start_watch: Callable[..., Watch]
) -> None:
    job_dir = jobs_root / "quiet-legacy"
    job_dir.mkdir()
    data = {"job_id": "quiet-legacy", "status": "EXECUTING", "history": []}
    (job_dir / "job_manifest.json").write_text(json.dumps(data))
    touch(job_dir / "job_manifest.json", age=3 * 3600)  # no owner recorded, quiet for 3 h
    watch = start_watch(jobs_root, "--auto-recover", *FAST)
    event = wait_for(lambda: watch.events("verdict", "quiet-legacy"), timeout=SLOW)[0]
    assert event["to"] == "stalled"
    time.sleep(1.0)
    assert manifest(jobs_root, "quiet-legacy")["status"] == "EXECUTING", "stalled is inferred"
    assert watch.stop() == 0
    watch = start_watch(jobs_root, "--auto-recover", "inferred", *FAST)
    # The journal line follows the manifest write: wait for the line, then look at the job.
    recovery = wait_for(lambda: watch.events("auto-recovery", "quiet-legacy"), timeout=SLOW)[0]
    assert recovery["outcome"] == "recovered"
    assert manifest(jobs_root, "quiet-legacy")["status"] == "PENDING"
