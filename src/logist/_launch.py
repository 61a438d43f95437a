"""`logist run`'s first half: read the arguments, check the root, print the job id, exec.

Every job starts here, on the operator's clock (budget: 150 ms from spawn to command running).
Importing click and the backend just to read four options cost 120 ms of it, so `logist run`
is read by `parse_run` from the table below before click is imported (`logist.__main__`), and
whatever it is not sure of (`--help`, a missing value, an option it does not know, a value click
would refuse) is left to the click `run` command, which answers as it always did. Both end in
`launch`. tests/cli/test_run_dispatch.py holds the two readings equal.
"""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

ROOT_OPTION = "--root"
JOB_ID_OPTION = "--job-id"
HEARTBEAT_OPTION = "--heartbeat"
RUN_OPTIONS = (ROOT_OPTION, JOB_ID_OPTION, HEARTBEAT_OPTION)
"""The options of `logist run`, each taking one value (the click command declares the same)."""
HEARTBEAT_RANGE = (0.05, 3600.0)
DEFAULT_HEARTBEAT = 5.0


def safe(text: object) -> str:
    """Untrusted text for a terminal: control characters (escape sequences) made visible."""
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in str(text))


def die(message: str, code: int = 2) -> NoReturn:
    """One line on stderr; the message may quote ids and paths from the root: escaped."""
    print(f"logist: {safe(message)}", file=sys.stderr, flush=True)
    sys.exit(code)


def parse_run(args: Sequence[str]) -> tuple[str | None, str | None, float, list[str]] | None:
    """(root, job id, heartbeat, command) as the click `run` command reads `args`, or None
    when click should read them (help, usage errors, anything unusual)."""
    values: dict[str, str] = {}
    rest = list(args)
    while rest and rest[0][:1] == "-" and len(rest[0]) > 1:  # a lone "-" is an argument
        arg = rest.pop(0)
        if arg == "--":
            break
        name, has_value, value = arg.partition("=")
        taken = option_value(has_value, value, rest) if name in RUN_OPTIONS else None
        if taken is None:
            return None
        values[name] = taken
    if not rest:
        return None
    root = values.get(ROOT_OPTION)
    if root is not None and not directory_option_ok(root):
        return None
    heartbeat = number_within(values.get(HEARTBEAT_OPTION), HEARTBEAT_RANGE, DEFAULT_HEARTBEAT)
    if heartbeat is None:
        return None
    return root, values.get(JOB_ID_OPTION), heartbeat, rest


def option_value(has_value: bool, value: str, rest: list[str]) -> str | None:
    """An option's value as click takes it: after its `=`, else the next argument (taken out
    of `rest`); None when there is none."""
    if has_value:
        return value
    return rest.pop(0) if rest else None


def number_within(
    text: str | None, bounds: tuple[float, float], default: float | None = None
) -> float | None:
    """`text` read as click's `FloatRange(*bounds)` reads it (`default` when absent), or None
    where click would refuse it."""
    if text is None:
        return default
    try:
        number = float(text)
    except ValueError:
        return None
    low, high = bounds
    return number if low <= number <= high else None


def directory_option_ok(path: str) -> bool:
    """What `click.Path(file_okay=False)` accepts: a path that is absent or a readable
    non-file."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    return not stat.S_ISREG(st.st_mode) and os.access(path, os.R_OK)


def launch(
    root: str | None, job_id: str | None, heartbeat: float, command: Sequence[str]
) -> NoReturn:
    """Check the root, print the job id, and become the supervisor (`logist._run`)."""
    from .core._errors import RootNotFound
    from .core._locate import not_a_jobs_root, resolve_root

    try:
        jobs_root = resolve_root(root)
    except RootNotFound as exc:
        die(str(exc))
    if job_id is None:
        import time

        job_id = f"job-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    # A job directory prepared beforehand is the operator's word that this is the root.
    problem = None if (jobs_root / job_id).is_dir() else not_a_jobs_root(jobs_root)
    if problem is not None:
        die(problem[0])
    # The id first, on stdout (the command's own output goes to the job's log): an operator
    # and a script both learn which job to look at before the command ends.
    print(safe(job_id), flush=True)
    # The supervisor lives as long as the command: the same pid goes on as a light interpreter
    # that never loads click or the backend (logist._run explains why).
    os.execv(
        sys.executable,
        [sys.executable, "-m", "logist._run", str(jobs_root), job_id, repr(heartbeat), *command],
    )
