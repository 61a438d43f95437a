"""The job side: run a command as a supervised job, or adopt a detached one.

The runner holds the job's `.lock` (close-on-exec, so the command never inherits it), records its
identity in the manifest before the command starts, heartbeats, forwards SIGTERM/SIGINT, and
records the outcome. If it is SIGKILLed, the lock is free while the manifest still says EXECUTING
with its identity: exactly the evidence recovery needs. Before each write it checks that
`generation` is still its own, so a runner that was recovered behind its back stops.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import sys
import threading
import time

from .core._errors import JobChanged, LogistError, NotRecoverable
from .core._identity import (
    Liveness,
    current_identity,
    identity_from_record,
    identity_of,
    liveness,
)
from .core._index import indexed_directory, register_job
from .core._jobid import validate_job_id
from .core._locking import JobLock
from .core._manifest import (
    HEARTBEAT_NAME,
    LAST_OWNER_KEY,
    MANIFEST_NAME,
    OWNER_KEY,
    Fingerprint,
    ManifestRead,
    dumps,
    history_entry,
    is_compact,
    now_naive_iso,
    read_manifest,
    write_manifest,
)
from .core._safeio import APPEND_FLAGS, UnsafeFile, confined, make_dir, open_regular
from .core._states import ORIGINAL_MOVES, Category, category_of, original_path

# The supervisor of every running job imports this module and keeps it for hours: typing,
# dataclasses and pathlib stay out (tests/test_import_hygiene.py holds the list; job
# directories are str paths here).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .core._identity import ProcessIdentity


def _warn(message: str) -> None:
    """One line on stderr, as an unconfigured `logging` printed it (logging itself, with what
    it imports, is too big for a process that supervises for hours)."""
    print(message, file=sys.stderr, flush=True)


TOOL = "logist-runner"
# The command starts only once its identity is in the manifest: until then a shell waits at this
# gate for one line from the runner. A runner killed before recording the command closes the pipe
# and the shell exits without running it. Without the gate a SIGKILL between the start and the
# write left a command running that no manifest named: recovery saw "crashed", reset the job, and a
# re-run started the command twice (found by tests/reliability/test_crash_points.py). The shell
# first changes to the job directory ($1): posix_spawn has no cwd of its own.
_GATE = 'cd -- "$1" && shift && IFS= read -r go && [ "$go" = go ] || exit 125; exec "$@" </dev/null'


class RunnerError(LogistError):
    """The runner could not start the job."""


class ForeignStop(JobChanged):
    """Another tool (the original Logist, a person) set the job to a resting or terminal status
    while we ran it: the command is stopped, and no transition of ours follows theirs."""

    def __init__(self, job_id: str, status: object) -> None:
        super().__init__(job_id)
        self.status = status
        self.reason = f"status set to {status} by another tool while the command ran"


def _generation(data: dict[str, Any]) -> int:
    # Logist's own tools write no generation: that is generation 0, not a change (the first
    # transition of every job Logist created used to fail as "changed")
    generation = data.get("generation")
    return generation if isinstance(generation, int) else 0


class _Job:
    """The runner's view of the manifest it owns."""

    def __init__(
        self,
        job_dir: str,
        job_id: str,
        data: dict[str, Any],
        raw: bytes | None,
        generation: int,
        written: Fingerprint | None = None,
    ) -> None:
        self.job_dir = job_dir
        self.job_id = job_id
        self.data = data
        self.raw = raw
        self.generation = generation
        self.written = written
        """The manifest's fingerprint after our last write: anything else is someone else's."""
        self.manifest = os.path.join(job_dir, MANIFEST_NAME)

    @classmethod
    def load(cls, job_dir: str, job_id: str) -> _Job:
        """The job's manifest as it is now; RunnerError when it cannot be read."""
        read = read_manifest(os.path.join(job_dir, MANIFEST_NAME))
        if read.data is None:
            raise RunnerError(f"manifest of {job_id!r} is unreadable: {read.problems[0].message}")
        return cls(job_dir, job_id, read.data, read.raw, _generation(read.data), read.fingerprint)

    def check(self, read: ManifestRead) -> None:
        """Raise if `read` shows the job taken from us: JobChanged when another recoverer wrote
        a generation; ForeignStop when a tool that keeps no generation (the original Logist)
        set a resting or terminal status. Other foreign edits are kept (merged on our next
        write)."""
        if read.fingerprint is not None and read.fingerprint == self.written:
            return
        if read.data is None or _generation(read.data) != self.generation:
            raise JobChanged(self.job_id)
        status = read.data.get("status")
        if status != self.data.get("status") and category_of(
            status if isinstance(status, str) else None
        ) in (Category.RESTING, Category.TERMINAL):
            raise ForeignStop(self.job_id, status)

    def reload_checked(self) -> None:
        """Re-read the manifest, fenced (see `check`)."""
        read = read_manifest(self.manifest)
        self.check(read)
        assert read.data is not None
        self.data, self.raw, self.written = read.data, read.raw, read.fingerprint

    def write(self) -> None:
        compact = is_compact(self.raw)
        self.written = write_manifest(self.job_dir, self.data, previous_raw=self.raw)
        self.generation = self.data["generation"]
        self.raw = dumps(self.data, compact=compact)  # the bytes just written

    def transition(
        self,
        status: str,
        updates: dict[str, Any] | None = None,
        *,
        retire_owner: bool = False,
        **entry: Any,
    ) -> None:
        """Re-read (fenced), apply `updates`, set `status` with a history entry, in one write.

        The status moves only as the original Logist's state machine allows: a move it forbids
        (EXECUTING -> PENDING) is written as its chain of allowed moves, one history entry each
        (EXECUTING -> HARVESTING -> INTERVENTION_REQUIRED). `retire_owner` moves the owner
        record to LAST_OWNER_KEY: the owner is leaving.
        """
        self.reload_checked()
        previous = self.data.get("status")
        chain = _chain(previous, status)
        self.data.update(updates or {})
        if retire_owner and OWNER_KEY in self.data:
            self.data[LAST_OWNER_KEY] = self.data.pop(OWNER_KEY)
        self.data["status"] = status
        if not isinstance(self.data.get("history"), list):
            self.data["history"] = []
        event = entry.pop("event", "RUNNER_TRANSITION")
        for before, after in list(itertools.pairwise(chain)) or [(previous, status)]:
            last = after == status
            self.data["history"].append(
                history_entry(
                    event if last else "RUNNER_TRANSITION",
                    previous_status=before,
                    new_status=after,
                    tool=TOOL,
                    **(entry if last else {"toward": status}),
                )
            )
        self.write()

    def note_stopped(self, stop: ForeignStop) -> None:
        """Record why the command was stopped, leaving the other tool's status as it set it."""
        with contextlib.suppress(JobChanged, OSError):
            read = read_manifest(self.manifest)
            if read.data is None or _generation(read.data) != self.generation:
                raise JobChanged(self.job_id)
            self.data, self.raw = read.data, read.raw
            if OWNER_KEY in self.data:
                self.data[LAST_OWNER_KEY] = self.data.pop(OWNER_KEY)
            if not isinstance(self.data.get("history"), list):
                self.data["history"] = []
            self.data["history"].append(
                history_entry("RUNNER_STOPPED", status=stop.status, reason=stop.reason, tool=TOOL)
            )
            self.write()


def _chain(status: object, target: str) -> list[object]:
    """The statuses from `status` to `target` through moves the original allows; a status it
    has no rule for moves directly. RunnerError when the original allows no way at all."""
    if status == target:
        return [status]
    if not isinstance(status, str) or status not in ORIGINAL_MOVES:
        return [status, target]
    chain = original_path(status, target)
    if chain is None:
        raise RunnerError(f"the original Logist allows no way from {status} to {target}")
    return list(chain)


def _new_manifest(job_id: str, command: Sequence[str]) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "description": shlex.join(command),
        "status": "PENDING",
        "current_phase": None,
        "phases": [],
        "created_at": now_naive_iso(),
        "updated_at": now_naive_iso(),
        "config": {},
        "metrics": {"cumulative_cost": 0, "cumulative_time_seconds": 0, "step_count": 0},
        "history": [history_entry("JOB_CREATED", tool=TOOL)],
    }


class _Heartbeat(threading.Thread):
    """Refreshes `<job>/heartbeat` and watches for a recovery behind our back."""

    def __init__(self, job: _Job, interval: float, on_fenced: Callable[[JobChanged], None]) -> None:
        super().__init__(name="logist-heartbeat", daemon=True)
        self.job = job
        self.interval = interval
        self.on_fenced = on_fenced
        self.stop = threading.Event()
        self.path = os.path.join(job.job_dir, HEARTBEAT_NAME)

    def beat(self) -> None:
        try:
            # Never through a link (a heartbeat symlinked out of the root made every beat touch
            # its target: tests/reliability/test_hostile_roots.py), never blocking on a FIFO
            # (it hung the runner after the command started, and its outcome was never
            # recorded: issue 8)
            fd = open_regular(self.path, os.O_WRONLY | os.O_CREAT)
            try:
                os.utime(fd)
            finally:
                os.close(fd)
        except (OSError, UnsafeFile) as exc:
            _warn(f"heartbeat failed: {exc}")

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            read = read_manifest(self.job.manifest)
            if read.data is not None:  # unreadable for a moment: judged again next beat
                try:
                    self.job.check(read)
                except JobChanged as taken:
                    self.on_fenced(taken)
                    return
            self.beat()


def _owner_record(
    command: object,
    interval: float,
    log_path: object,
    child_pid: int | None = None,
    child_token: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The owner record: this process as the job's owner, and the command it supervises."""
    return {
        **current_identity().to_dict(),
        "started_at": now_naive_iso(),
        "command": command,
        "child_pid": child_pid,
        "child_start_token": child_token,
        "heartbeat_interval_s": interval,
        "log_path": log_path,
        **extra,
    }


def _job_dir(root: str, job_id: str) -> str:
    """The job's directory, confined to the root: never through a link (`runner adopt`
    wrote through a job directory linked out of the root; issue 8)."""
    validate_job_id(job_id)
    job_dir = indexed_directory(root, job_id) or os.path.join(root, job_id)
    if not confined(root, job_dir):
        raise RunnerError(f"job directory {job_dir} is a symlink; refusing to work there")
    if os.path.lexists(job_dir) and not os.path.isdir(job_dir):
        raise RunnerError(f"{job_dir} exists and is not a directory")
    return job_dir


def _open_job(root: str, job_id: str, command: Sequence[str]) -> tuple[str, JobLock]:
    job_dir = _job_dir(root, job_id)
    make_dir(job_dir)
    lock = JobLock(job_dir, job_id, timeout=0.5).acquire()
    if not os.path.exists(os.path.join(job_dir, MANIFEST_NAME)):
        write_manifest(job_dir, _new_manifest(job_id, command), previous_raw=None)
    return job_dir, lock


def run_job(
    root: str | os.PathLike[str],
    job_id: str,
    command: Sequence[str],
    *,
    heartbeat: float = 5.0,
) -> int:
    """Supervise `command` as job `job_id`; returns the command's exit status (128+N on signal)."""
    if not command:
        raise RunnerError("no command to run")
    root = os.fspath(root)
    job_dir, lock = _open_job(root, job_id, command)
    try:
        job = _Job.load(job_dir, job_id)
        status = job.data.get("status")
        if category_of(status if isinstance(status, str) else None) is Category.TERMINAL:
            raise RunnerError(f"job {job_id!r} is {status}; refusing to run it again")
        if os.path.basename(job_dir) == job_id:  # the original lists only indexed jobs: ours too
            register_job(root, job_id, status if isinstance(status, str) else None)
        for record in (OWNER_KEY, LAST_OWNER_KEY):
            # A detached job (its runner died, its command lives on) used to get a second copy
            # of the command here (found by tests/reliability/test_model.py).
            child = identity_from_record(job.data.get(record), "child_pid", "child_start_token")
            if child is not None and liveness(child) is Liveness.ALIVE:
                raise RunnerError(
                    f"job {job_id!r}: its command (pid {child.pid}) still runs; adopt it with "
                    "`logist reattach` or stop it with `logist recover --force`"
                )
        logs = os.path.join(job_dir, "logs")
        log_path = os.path.join(logs, "runner.log")
        for link in (logs, log_path):  # the command's output would land wherever a link points
            if os.path.islink(link):
                raise RunnerError(f"{link} is a symlink; refusing to write the log through it")
        make_dir(logs)
        job.transition(
            "EXECUTING",
            {OWNER_KEY: _owner_record(list(command), heartbeat, log_path)},
            event="RUNNER_STARTED",
            command=list(command),
        )
        return _supervise(job, command, heartbeat, log_path)
    finally:
        lock.release()


def _supervise(job: _Job, command: Sequence[str], interval: float, log_path: str) -> int:
    taken: list[JobChanged] = []
    started: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not started:
            pending.append(signum)  # the command is not started yet: forwarded once it is
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started[0], signum)

    # Installed before the command starts: a TERM just after the start used to kill the runner
    # alone (default action) and leave the command orphaned and the job EXECUTING.
    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:  # a FIFO here hung the runner before the command, deaf to SIGTERM (issue 8)
            log_fd = open_regular(log_path, APPEND_FLAGS)
        except UnsafeFile as exc:
            _not_started(job, f"log cannot be written: {exc}")
            raise RunnerError(f"the job's log {exc}") from exc
        try:
            program = os.path.join(job.job_dir, command[0]) if "/" in command[0] else command[0]
            if not _executable(program):  # the gate's shell would hide this error
                raise FileNotFoundError(2, "No such file or directory", command[0])
            child, gate = _spawn_gated(command, job.job_dir, log_fd)
        except OSError as exc:
            _not_started(job, f"command could not start: {exc}")
            return 127
        finally:
            os.close(log_fd)
        started.append(child)
        for signum in pending:
            forward(signum, None)
        try:
            job.reload_checked()
            child_identity = identity_of(child)
            job.data[OWNER_KEY] = _owner_record(
                list(command),
                interval,
                log_path,
                child,
                child_identity.start_token if child_identity else None,
            )
            job.write()  # the command's identity, so a dead runner leaves a detectable orphan
        except BaseException:
            os.close(gate)  # the gate's shell reads no "go" and exits: the command never runs
            raise
        _open_gate(gate)

        def on_fenced(why: JobChanged) -> None:
            taken.append(why)
            _terminate_group(child)

        beat = _Heartbeat(job, interval, on_fenced)
        beat.beat()
        beat.start()
        try:
            code = _wait_and_sweep(child)
        finally:
            beat.stop.set()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if taken:
        _stopped(job, taken[0])
        return 128 + signal.SIGTERM
    return _finish(job, code)


def _spawn_gated(command: Sequence[str], cwd: str, out: int) -> tuple[int, int]:
    """Start `command` behind the gate, in its own session (signals reach its whole group),
    in `cwd`, its output to `out`: (its pid, the gate's write end).

    posix_spawn, not subprocess (0.8 MB of PSS in every supervisor, for as long as its job
    runs). What Popen did for us is done here: the gate's shell changes to `cwd` itself
    (posix_spawn has no cwd); descriptors the supervisor inherited are closed, as close_fds
    did; SIGPIPE and SIGXFSZ, which Python ignores, are reset to their defaults.
    """
    gate_out, gate = os.pipe()
    try:
        actions = [
            (os.POSIX_SPAWN_DUP2, gate_out, 0),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, out, 2),
            *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_descriptors()),
        ]
        pid = os.posix_spawnp(
            "sh",
            ["sh", "-c", _GATE, "logist-gate", os.path.abspath(cwd), *command],
            os.environ,
            file_actions=actions,
            setsid=True,
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
        )
    except BaseException:
        os.close(gate)
        raise
    finally:
        os.close(gate_out)
    return pid, gate


def _inherited_descriptors() -> list[int]:
    """Our descriptors above stderr that a started program would inherit (ours are all
    close-on-exec; these came from whoever started `logist run`)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
                if os.get_inheritable(fd):
                    found.append(fd)
    return found


def _stopped(job: _Job, why: JobChanged) -> None:
    """The job was taken from us and its command stopped: say why, write no transition."""
    if isinstance(why, ForeignStop):
        _warn(f"job {job.job_id}: {why.reason}; command stopped")
        job.note_stopped(why)
        _remove_heartbeat(job)
    else:
        _warn(f"job {job.job_id} was recovered by someone else; stopped without writing")


def _not_started(job: _Job, reason: str) -> None:
    """The command never ran: the job waits for a person, with the reason."""
    job.transition(
        "INTERVENTION_REQUIRED", retire_owner=True, event="EXECUTION_ERROR", reason=reason
    )


def _wait_and_sweep(pid: int, grace: float = 5.0) -> int:
    """Wait for the command, then end what is left of its process group before reaping it;
    its exit status, negative for a signal.

    `sh -c 'sleep 301 & exit 3'` left `sleep 301` running after the job's outcome was recorded
    (issue 8). The exited leader stays a zombie until reaped (WNOWAIT), so its pid, which is
    also the group's id, cannot be reused while the group is swept. Only this thread reaps.
    """
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` other than its (zombie) leader still lives."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != pgid:
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat", "rb") as stream:
                    raw = stream.read()
                if int(raw[raw.rfind(b")") + 2 :].split()[2]) == pgid:
                    return True
    return False


def _open_gate(gate: int) -> None:
    """Let the gated command run (it is recorded now); a command already gone is no error."""
    try:
        with contextlib.suppress(BrokenPipeError):
            os.write(gate, b"go\n")
    finally:
        os.close(gate)


def _terminate_group(pid: int, grace: float = 5.0) -> None:
    """TERM the command's group, KILL it if its leader outlives `grace`. Never reaps: the
    supervising thread, waiting for the leader, does (so the pid stays ours until then)."""
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() >= deadline:
                os.killpg(pid, signal.SIGKILL)
                return
            time.sleep(0.05)
    except (ProcessLookupError, ChildProcessError):  # gone, or reaped already
        return


def _record_exit(job: _Job, outcome: str, reason: str, code: int | None) -> bool:
    """Record HARVESTING then `outcome`; False (nothing more written) if the job was taken."""
    try:
        job.transition("HARVESTING", event="RUNNER_EXITED", exit_code=code)
        job.transition(
            outcome, retire_owner=True, event="RUNNER_FINISHED", reason=reason, exit_code=code
        )
    except ForeignStop as stop:  # e.g. CANCELED by the original: no CANCELED -> HARVESTING
        job.note_stopped(stop)
        return False
    except JobChanged:
        return False
    return True


def _remove_heartbeat(job: _Job) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(job.job_dir, HEARTBEAT_NAME))


def _finish(job: _Job, code: int) -> int:
    """Record the command's outcome; gives up quietly if the job was taken from us."""
    if code < 0:
        reason = f"command killed by signal {signal.Signals(-code).name}"
    else:
        reason = f"command exited with status {code}"
    outcome = "SUCCESS" if code == 0 else "INTERVENTION_REQUIRED"
    if not _record_exit(job, outcome, reason, code):
        _warn(f"job {job.job_id} changed behind the runner's back; outcome not recorded")
    _remove_heartbeat(job)
    return 128 - code if code < 0 else code


def adopt_job(
    root: str | os.PathLike[str], job_id: str, *, heartbeat: float = 5.0, poll: float = 0.5
) -> int:
    """Supervise the still-running command of a job whose runner died.

    The command is not our child, so its exit status cannot be known: when it exits the job goes
    to INTERVENTION_REQUIRED with that reason, for a human to check the outputs.
    """
    job_dir = _job_dir(os.fspath(root), job_id)
    with JobLock(job_dir, job_id, timeout=1.0):
        job = _Job.load(job_dir, job_id)
        previous = job.data.get(OWNER_KEY) or job.data.get(LAST_OWNER_KEY)
        child = identity_from_record(previous, "child_pid", "child_start_token")
        if child is None or liveness(child) is not Liveness.ALIVE:
            raise NotRecoverable(f"job {job_id!r} has no live command to adopt")
        assert isinstance(previous, dict)  # it holds the child's identity
        record = _owner_record(
            previous.get("command"),
            heartbeat,
            previous.get("log_path"),
            child.pid,
            child.start_token,
            adopted=True,
        )
        target = _active_status_to_restore(job.data)
        job.transition(target, {OWNER_KEY: record}, event="RUNNER_ADOPTED", child_pid=child.pid)
        fenced = threading.Event()
        taken: list[JobChanged] = []

        def on_fenced(why: JobChanged) -> None:
            taken.append(why)
            fenced.set()

        beat = _Heartbeat(job, heartbeat, on_fenced)
        beat.beat()
        beat.start()
        _wait_foreign(child, fenced, poll)
        beat.stop.set()
        if taken:
            if isinstance(taken[0], ForeignStop):
                from .core._signals import terminate_verified  # adoption runs in the CLI

                terminate_verified([child])
            _stopped(job, taken[0])
            return 1
        reason = "adopted command exited; its exit status is unknown"
        if not _record_exit(job, "INTERVENTION_REQUIRED", reason, None):
            return 1
        _remove_heartbeat(job)
        return 0


def _wait_foreign(identity: ProcessIdentity, stop: threading.Event, poll: float) -> None:
    """Wait for a process that is not our child: pidfd when available, else polling."""
    import select  # adoption runs in the CLI, not in the light supervisor

    try:
        pidfd = os.pidfd_open(identity.pid)
    except OSError:
        pidfd = None
    try:
        while not stop.is_set():
            if liveness(identity) is not Liveness.ALIVE:
                return
            if pidfd is not None:
                ready, _, _ = select.select([pidfd], [], [], poll)
                if ready:
                    return
            else:
                time.sleep(poll)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _active_status_to_restore(data: dict[str, Any]) -> str:
    """The active state an adopted job should be in.

    A job that was reset while its command lived goes back to the state it had before the
    reset (from the last CRASH_RECOVERY entry), else EXECUTING.
    """
    status = data.get("status")
    if isinstance(status, str) and category_of(status) is Category.ACTIVE:
        return status
    history = data.get("history") if isinstance(data.get("history"), list) else []
    for entry in reversed(history):
        if isinstance(entry, dict) and entry.get("event") == "CRASH_RECOVERY":
            previous = entry.get("previous_status")
            if isinstance(previous, str) and category_of(previous) is Category.ACTIVE:
                return previous
            break
    return "EXECUTING"


def _executable(program: str) -> bool:
    """Whether `program` names an executable file, looked up on PATH when it has no slash:
    `shutil.which`'s rule, without shutil (it pulls in archive codecs the supervisor keeps for
    hours, ~0.7 MB)."""
    if "/" in program:
        candidates = [program]
    else:
        path = os.environ.get("PATH", os.defpath)
        candidates = [os.path.join(d or ".", program) for d in path.split(os.pathsep)]
    return any(os.access(c, os.X_OK) and not os.path.isdir(c) for c in candidates)
