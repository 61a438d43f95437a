"""The `logist` command: thin click commands over JobRecoveryManager.

`--json` prints one JSON document on stdout and nothing else there; messages go to stderr.
Exit codes: 0 success; 1 some requested jobs could not be acted on; 2 usage or root errors;
`status` exits 0/1/2/3 for healthy/degraded/critical/unknown.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import math
import operator
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ._gc import gc_paused
from ._json_out import write_jobs, write_listing
from ._launch import DEFAULT_HEARTBEAT, HEARTBEAT_OPTION, HEARTBEAT_RANGE, JOB_ID_OPTION, launch
from ._launch import die as _die
from ._launch import safe as _safe
from .core import (
    BULK_CAP,
    SEVERITY_ORDER,
    FilterQuery,
    InvalidJobId,
    JobNotFound,
    JobState,
    JobView,
    LogistError,
    NotAJobsRoot,
    RootNotFound,
    Snapshot,
    VerdictKind,
    is_glob,
    not_a_jobs_root,
)
from .core._manifest import parse_timestamp
from .core._root import validate_job_id

if TYPE_CHECKING:  # imported where used: `logist status` never loads the manager
    from .core import ActionResult, JobRecoveryManager
    from .core._recorded import JobFiles

VERDICT_NAMES = [str(k) for k in SEVERITY_ORDER]


def _job_error(exc: InvalidJobId | JobNotFound) -> dict[str, Any]:
    """The one JSON shape of a job id that names no job, in every command (`errors[]`)."""
    return {"job_id": exc.job_id, "error": type(exc).__name__, "ok": False, "message": str(exc)}


def _consent(question: str, yes: bool) -> None:
    """Consent is never implied: `--yes`, or `y` typed at a terminal; anything else refuses.

    `--json` changes the output format only: `recover --force --json` on a terminal once acted
    without asking (issue 12). The question goes to stderr, so stdout stays one JSON document.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        _die("not confirmed (use --yes): no terminal to ask on", 1)
    try:
        confirmed = click.confirm(question, err=True)
    except click.Abort:
        confirmed = False
    if not confirmed:
        _die("not confirmed (use --yes)", 1)


def _emit_json(document: Any) -> None:
    """Strict JSON whatever the root holds (found by tests/reliability/test_hostile_roots.py).

    A NaN or Infinity from a manifest becomes null (strict parsers reject them), and a job
    directory whose name is not UTF-8 (a lone surrogate here) is written as a \\u escape
    instead of crashing the UTF-8 encoder with a traceback.
    """
    document = _finite(document)
    text = json.dumps(document, indent=2, default=str, ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(document, indent=2, default=str, allow_nan=False)
    click.echo(text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _dir_option(**kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), **kwargs
    )


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Jobs root (default: $LOGIST_JOBS_DIR, ./jobs upward, ~/.logist/jobs).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def _guarded(root_error_code: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn backend errors into one clear line and an exit code, never a traceback.

    A job id that names no job is exit 1 in every command ("could not be acted on"), with
    `{"errors": [...]}` on stdout under `--json`; root and OS errors exit `root_error_code`.
    A closed stdout (`logist jobs | head`) is left to click, which ends quietly.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (InvalidJobId, JobNotFound) as exc:
                if kwargs.get("as_json"):
                    _emit_json({"ok": False, "errors": [_job_error(exc)]})
                _die(str(exc), 1)
            except RootNotFound as exc:
                _die(str(exc), root_error_code)
            except LogistError as exc:
                _die(str(exc), 1)
            except BrokenPipeError:
                raise
            except PermissionError as exc:
                _die(f"permission denied: {exc.filename or exc}", root_error_code)
            except OSError as exc:
                _die(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), root_error_code)

        return wrapper

    return decorate


_guard = _guarded(2)


def _manager(root: str | None, *, scan_cache: bool = False) -> JobRecoveryManager:
    """The manager of a directory that is a jobs root; `/etc` or a parent of `jobs/` is refused
    before anything reads (or, for `--fix`, writes) in it. `scan_cache`: see `_scan_cache`."""
    from .core import JobRecoveryManager

    manager = JobRecoveryManager(root, scan_cache=scan_cache)
    problem = not_a_jobs_root(manager.root)
    if problem is not None:
        message, suggestion = problem
        raise NotAJobsRoot(message, None if suggestion is None else str(suggestion))
    return manager


class _UnknownOnUsageError(click.Command):
    """`status` speaks the monitoring-plugin convention for its own failures too: a bad flag
    is 3 (UNKNOWN), never 2, which a monitor reads as CRITICAL."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = 3
            raise


class _LogistGroup(click.Group):
    """`watch` and `events` (the watch service's commands) are imported when named or listed:
    `logist status` from a monitor every minute no longer loads the service and the manager
    it drags in."""

    LAZY = ("events", "watch")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            from .watch import commands

            self.add_command(getattr(commands, cmd_name))
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LogistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="logist-recovery", prog_name="logist")
def main() -> None:
    """Detect, recover and watch crashed Logist jobs."""


@main.command()
@root_option
@click.option("--demo", is_flag=True, help="Stage a demo root with real processes and open it.")
@click.option("--read-only", is_flag=True, help="Disable every action key.")
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 3600),
    default=None,
    help="Seconds between polls (default: the last one used, else 2).",
)
@click.option(
    "--theme",
    default=None,
    help="Textual theme, e.g. textual-light (default: the last one used).",
)
@click.option("--no-bell", is_flag=True, help="Never ring the bell when a job newly crashes.")
@click.option(
    "--screenshot",
    "screenshot",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Render one frame headless into this SVG file after the first full poll, then exit "
    "with the `status` exit code.",
)
@click.option(
    "--size",
    default="120x40",
    show_default=True,
    metavar="WxH",
    help="Terminal size of the --screenshot frame.",
)
def console(
    root: str | None,
    demo: bool,
    read_only: bool,
    interval: float | None,
    theme: str | None,
    no_bell: bool,
    screenshot: Path | None,
    size: str,
) -> None:
    """Open the live recovery console."""
    from .console import run_console

    if screenshot is not None:
        from .console.launch import screenshot_console
        from .console.screenshot import parse_size

        try:
            dimensions = parse_size(size)
        except ValueError as exc:
            _die(f"--size: {exc}", 3)  # a frame for monitoring: its own failure is UNKNOWN
        sys.exit(screenshot_console(root=root, path=screenshot, size=dimensions, theme=theme))
    sys.exit(
        run_console(
            root=root,
            demo=demo,
            read_only=read_only,
            interval=interval,
            bell=not no_bell,
            theme=theme,
        )
    )


@main.command(cls=_UnknownOnUsageError)
@root_option
@json_option
@_guarded(3)
def status(root: str | None, as_json: bool) -> None:
    """Health report; exits 0 healthy, 1 degraded, 2 critical, 3 unknown (also for its own
    failures: a bad flag, no root, not a jobs root, an unreadable root)."""
    from .core._root import resolve_root
    from .core._summary import StatusSummary
    from .core._verdicts import Policy

    try:
        report, save_summary = StatusSummary(resolve_root(root), Policy()).report()
    except RootNotFound as exc:
        if as_json:
            _emit_json({"overall": "unknown", "summary": str(exc)})
        _die(str(exc), 3)
    if as_json:
        _emit_json(report.to_dict())
    else:
        click.echo(f"{report.overall.value.upper()}: {_safe(report.summary)}")
        click.echo(f"root: {_safe(report.root)}")
        if report.oldest_crash_age_s is not None:
            import humanize

            click.echo(f"oldest crash: {humanize.naturaltime(report.oldest_crash_age_s)}")
        for check in report.checks:
            mark = "ok" if check.status is None else check.status.value
            click.echo(f"  {check.name:<14} {mark:<8} {_safe(check.message)}")
        if report.scan_duration_s is not None:
            click.echo(f"scan: {report.scan_duration_s * 1000:.1f} ms")
    if report.root_problem is not None:
        click.echo(f"logist: {_safe(report.root_problem)}", err=True)
    _after_output(save_summary, report.overall.exit_code)


def _parse_verdicts(
    _ctx: click.Context, _param: click.Parameter, values: Sequence[str]
) -> frozenset[VerdictKind]:
    """`--verdict crashed,hung --verdict stalled`: exact verdict names, comma-separated."""
    kinds = set()
    for value in values:
        for name in value.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in VERDICT_NAMES:
                raise click.BadParameter(f"{name!r} is not a verdict ({', '.join(VERDICT_NAMES)})")
            kinds.add(VerdictKind(name))
    return frozenset(kinds)


verdict_option = click.option(
    "--verdict",
    "verdicts",
    multiple=True,
    metavar="V[,V...]",
    callback=_parse_verdicts,
    help="Only jobs with one of these verdicts (comma-separated, repeatable).",
)


def _by_severity(states: Iterable[JobState]) -> list[JobState]:
    """Worst verdict first, then by id: jobs sorted by id (strings, compared in C), then dealt
    into one list per verdict (a key tuple per job cost 0.8 s at 100,000 jobs)."""
    buckets: dict[VerdictKind, list[JobState]] = {kind: [] for kind in SEVERITY_ORDER}
    for job in sorted(states, key=_JOB_ID):
        buckets[job.verdict.kind].append(job)
    return [job for bucket in buckets.values() for job in bucket]


_JOB_ID = operator.attrgetter("job_id")


def _named(
    snapshot: Snapshot, names: Sequence[str], verdicts: frozenset[VerdictKind]
) -> tuple[list[JobState], list[dict[str, Any]]]:
    """The jobs that ids and id globs (`crash-*`) name, narrowed to `verdicts`; and one error
    (the shape of every unknown id) per name that names no job. No names: every job."""
    jobs = snapshot.jobs
    picked: dict[str, JobState] = {}
    errors: list[dict[str, Any]] = []
    for name in names:
        if name in jobs:
            picked[name] = jobs[name]
        elif is_glob(name):
            query = FilterQuery.parse(name)
            hits = [j for j in jobs.values() if query.matches(JobView.of(j))]
            if not hits:
                errors.append(
                    {"job_id": name, "error": "JobNotFound", "ok": False,
                     "message": f"no job matches {name!r}"}
                )  # fmt: skip
            picked.update((j.job_id, j) for j in hits)
        else:
            try:
                validate_job_id(name)
                raise JobNotFound(name)
            except (InvalidJobId, JobNotFound) as exc:
                errors.append(_job_error(exc))
    chosen = picked.values() if names else jobs.values()
    return _by_severity(j for j in chosen if not verdicts or j.verdict.kind in verdicts), errors


def _age(state: JobState, now: float) -> str:
    """Since the job's last activity, as a person says it ("3 hours")."""
    at = state.activity_at
    return "-" if at is None else _words_for_seconds(max(0, round(now - at)))


@functools.lru_cache(maxsize=8192)
def _words_for_seconds(seconds: int) -> str:
    """humanize per distinct whole second: jobs of a big root share their ages (6 us a call,
    0.6 s over 100,000 rows otherwise)."""
    import humanize  # not at module level: `logist run` imports this module and stays light

    return humanize.naturaldelta(seconds)


@main.command()
@root_option
@click.argument("terms", nargs=-1)
@verdict_option
@json_option
@click.option("--pretty", is_flag=True, help="Indent the JSON (slower on big roots).")
@click.option(
    "--files",
    "with_files",
    is_flag=True,
    help="With --json: add what each job directory holds (facts.files; lists every directory).",
)
@_guard
def jobs(
    root: str | None,
    terms: Sequence[str],
    verdicts: frozenset[VerdictKind],
    as_json: bool,
    pretty: bool,
    with_files: bool,
) -> None:
    """One line per job with its verdict, age and the reason.

    TERMS filter as the console's `/` does: free text, `name:value` (verdict, status, id), a
    glob on the job id (`crash-*`), `-` to negate; all must hold.
    """
    # Every object made from here lives until the exit: the cyclic GC would only walk them
    # (the scan's pause ends with a collection of all it built: 0.2 s at 100,000 jobs).
    with gc_paused():
        manager = _manager(root, scan_cache=True)
        save_scan_cache = manager.save_scan_cache_later()
        snapshot = manager.scan()
        query = FilterQuery.parse(" ".join(terms))
        rows = _by_severity(
            j
            for j in snapshot.jobs.values()
            if (not verdicts or j.verdict.kind in verdicts)
            and (not query or query.matches(JobView.of(j)))
        )
        if as_json:
            head = {"root": str(snapshot.root), **snapshot.index_facts.to_dict()}
            sys.stdout.flush()
            if with_files:
                files = manager.job_files(rows)
                listed = (_with_files(j.to_dict(), files[j.job_id]) for j in rows)
                write_listing(sys.stdout.buffer, head, "jobs", listed, pretty=pretty)
            else:
                write_jobs(sys.stdout.buffer, head, rows, pretty=pretty)
        else:
            now = snapshot.taken_at
            click.echo(f"{'JOB':<32} {'STATUS':<22} {'VERDICT':<13} {'AGE':<14} REASON")
            for job in rows:
                click.echo(
                    f"{_safe(job.job_id):<32} {_safe(job.facts.status or '?'):<22} "
                    f"{job.verdict.kind.value:<13} {_age(job, now):<14} {_safe(job.verdict.reason)}"
                )
        _after_output(save_scan_cache)


def _after_output(work: Callable[[], None], exit_code: int = 0) -> NoReturn:
    """Do `work` (a cache write) once the output is out, in a child, and exit: the caller of
    the command (a script, `| jq`) waits neither for the write (25 MB at 100,000 jobs) nor for
    the teardown of the snapshot. This process ends at once (`os._exit`, its streams flushed):
    after the fork, freeing 100,000 jobs' objects copied every page the child shares (0.35 s
    of CPU, 0.75 s of wall at 100,000 jobs). In process, with a normal exit, when stdout is not
    the process's own (click's test runner)."""
    sys.stdout.flush()
    if sys.stdout is not sys.__stdout__:
        work()
        sys.exit(exit_code)
    sys.stderr.flush()
    try:
        child = os.fork()
    except OSError:
        work()
        os._exit(exit_code)
    if child:
        os._exit(exit_code)
    try:  # the child: off the caller's pipes, then the write, then gone without cleanup
        gc.disable()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        work()
    finally:
        os._exit(0)


def _with_files(job: dict[str, Any], files: JobFiles) -> dict[str, Any]:
    """A job of `jobs --json` with what its directory holds beside `facts.recorded`."""
    job["facts"]["files"] = files.to_dict()
    return job


def _print_results(results: Sequence[ActionResult], as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        _emit_json({**extra, "results": [r.to_dict() for r in results]})
        return
    for r in results:
        stream_err = not r.ok
        click.echo(f"{_safe(r.job_id)}: {r.outcome.value}: {_safe(r.message)}", err=stream_err)


def _refused(job_id: str, action: str, exc: LogistError) -> ActionResult:
    from .core import ActionResult, Outcome

    return ActionResult(job_id, action, Outcome.REFUSED, str(exc), error=type(exc).__name__)


def _targets(
    manager: JobRecoveryManager, names: Sequence[str], verdicts: frozenset[VerdictKind]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Job ids to act on from ids, id globs and `--verdict`; plain ids need no scan."""
    if names and not verdicts and not any(is_glob(n) for n in names):
        return list(dict.fromkeys(names)), []
    chosen, errors = _named(manager.scan(), names, verdicts)
    for error in errors:
        click.echo(f"logist: {_safe(error['message'])}", err=True)
    return [j.job_id for j in chosen], errors


@main.command()
@root_option
@click.argument("job_ids", nargs=-1)
@verdict_option
@click.option(
    "--force", is_flag=True, help="Also terminate hung/detached jobs' verified processes."
)
@click.option("--dry-run", is_flag=True, help="Show the plan only.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@_guard
def recover(
    root: str | None,
    job_ids: Sequence[str],
    verdicts: frozenset[VerdictKind],
    force: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Recover crashed jobs to their safe state (asks first, unless --yes).

    JOB_IDS are ids or id globs (`crash-*`); `--verdict` narrows them, or alone picks every job
    with those verdicts.
    """
    if not job_ids and not verdicts:
        raise click.UsageError("name the jobs (ids, globs like 'crash-*') or give --verdict")
    manager = _manager(root)
    plans = []
    results: list[ActionResult] = []
    targets, errors = _targets(manager, job_ids, verdicts)
    for job_id in targets:
        try:
            plans.append(manager.plan(job_id, force=force))
        except (InvalidJobId, JobNotFound) as exc:
            errors.append(_job_error(exc))
            click.echo(f"logist: {_safe(exc)}", err=True)
        except LogistError as exc:
            results.append(_refused(job_id, "recover", exc))
    if dry_run:
        from .core import ActionResult

        results += [ActionResult.planned(p) for p in plans]
        _print_results(results, as_json, {"dry_run": True, "errors": errors})
        sys.exit(0 if all(r.ok for r in results) and not errors else 1)
    actionable = [p for p in plans if p.allowed]
    if actionable and not yes:
        for p in actionable:
            click.echo(
                f"{_safe(p.job_id)}: {_safe(p.from_status)} -> {p.to_status} ({_safe(p.reason)})"
                + ("; will terminate:" if p.signals else ""),
                err=True,
            )
            for signal, command in zip(p.signals, p.commands, strict=False):
                click.echo(f"  pid {signal.pid}: {_safe(command or '(not recorded)')}", err=True)
        _consent("Recover these jobs?", yes)
    results += [manager.apply(p) for p in plans]
    _print_results(results, as_json, {"dry_run": False, "errors": errors})
    sys.exit(0 if all(r.ok for r in results) and not errors else 1)


@main.command()
@root_option
@click.argument("job_id")
@click.option(
    "--follow",
    is_flag=True,
    help="Follow the log until the job stops; exit 1 unless it ended well.",
)
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(0, 10_000),
    default=20,
    show_default=True,
    help="With --follow: start with this many lines of the log's tail.",
)
@click.option("--dry-run", is_flag=True, help="Say what reattaching would do; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Adopt without asking for confirmation.")
@json_option
@_guard
def reattach(
    root: str | None,
    job_id: str,
    follow: bool,
    lines: int,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Watch a running job, or adopt a detached one (asks first, unless --yes).

    With --follow: the last -n lines of the log, then each new line, then the job's final
    verdict; exit 0 when it ended done or resting, 1 when it crashed or waits for a person.
    With --json that is JSON lines: the reattach result, {"line": ...} each, the final verdict.
    """
    manager = _manager(root)
    result = manager.reattach_to_running_job(job_id, adopt=False)
    if result.mode == "would-adopt" and not dry_run:
        click.echo(f"{_safe(job_id)}: {_safe(result.message)}", err=True)
        _consent("Adopt it?", yes)
        result = manager.reattach_to_running_job(job_id)
    following = follow and not dry_run
    if as_json and following:
        _emit_json_line(result.to_dict())
    elif as_json:
        _emit_json(result.to_dict())
    else:
        click.echo(f"{_safe(job_id)}: {result.mode}: {_safe(result.message)}")
        if result.log_path:
            click.echo(f"log: {_safe(result.log_path)}")
    if following:
        sys.exit(_follow(manager, job_id, lines, as_json))


FOLLOWED_KINDS = frozenset({VerdictKind.RUNNING, VerdictKind.DETACHED})
"""While the job has one of these verdicts its log is followed."""
ENDED_WELL = frozenset({VerdictKind.DONE, VerdictKind.IDLE})
"""Final verdicts a follower exits 0 on; anything else (crashed, waiting...) exits 1."""


def _emit_json_line(document: dict[str, Any]) -> None:
    click.echo(json.dumps(_finite(document), default=str, allow_nan=False))


def _follow(manager: JobRecoveryManager, job_id: str, tail: int, as_json: bool) -> int:
    """Print the log's last `tail` lines, then new lines until the job stops; its exit code."""
    import time

    def show(lines: Sequence[str]) -> None:
        for line in lines:
            if as_json:
                _emit_json_line({"job_id": job_id, "line": line})
            else:
                click.echo(_safe(line))

    chunk = manager.read_log(job_id)
    show(chunk.lines[-tail:] if tail else ())
    offset = chunk.offset
    try:
        while True:
            state = manager.job(job_id)
            chunk = manager.read_log(job_id, offset)
            show(chunk.lines)
            offset = chunk.offset
            if state.verdict.kind not in FOLLOWED_KINDS:
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 130
    ended = {
        "job_id": job_id,
        "status": state.facts.status,
        "verdict": str(state.verdict.kind),
        "reason": state.verdict.reason,
        "final": True,
    }
    if as_json:
        _emit_json_line(ended)
    else:
        click.echo(f"{_safe(job_id)}: ended {state.verdict.kind}: {_safe(state.verdict.reason)}")
    return 0 if state.verdict.kind in ENDED_WELL else 1


@main.command("bulk-recover")
@root_option
@click.argument("patterns", nargs=-1)
@verdict_option
@click.option(
    "--max", "max_jobs", type=click.IntRange(1, 100_000), default=BULK_CAP, show_default=True
)
@click.option("--include-inferred", is_flag=True, help="Also stalled and remote-stale jobs.")
@click.option("--force", is_flag=True, help="Also hung and detached jobs (terminates them).")
@click.option("--apply", "do_apply", is_flag=True, help="Act (without it: a dry run).")
@click.option("--resume", is_flag=True, help="Finish an interrupted bulk run.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@_guard
def bulk_recover(
    root: str | None,
    patterns: Sequence[str],
    verdicts: frozenset[VerdictKind],
    max_jobs: int,
    include_inferred: bool,
    force: bool,
    do_apply: bool,
    resume: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Recover many crashed jobs; a dry run unless --apply (which asks first, unless --yes).

    PATTERNS (ids, id globs like `crash-*`) and `--verdict` narrow the eligible jobs: proven
    crashes, plus stalled and remote-stale with --include-inferred, hung and detached with --force.
    """
    from humanize import intcomma

    from .core._plans import eligible_for_bulk

    manager = _manager(root)
    errors: list[dict[str, Any]] = []
    selected: list[str] | None = None
    if patterns or verdicts:
        named, errors = _named(manager.scan(), patterns, verdicts)
        for error in errors:
            click.echo(f"logist: {_safe(error['message'])}", err=True)
        selected = [
            j.job_id
            for j in named
            if eligible_for_bulk(j.verdict.kind, include_inferred=include_inferred, force=force)
        ]

    def progress(done: int, total: int, result: ActionResult) -> None:
        if not as_json:
            click.echo(
                f"[{done}/{total}] {_safe(result.job_id)}: {result.outcome.value}: "
                f"{_safe(result.message)}",
                err=True,
            )

    if resume:  # the request is consent to show, not input to act on: a dry run unless --apply
        bulk = manager.resume_bulk_recovery(progress, dry_run=True)
        if bulk is None:
            _die("no interrupted bulk run to resume", 1)
        if do_apply:
            _consent(f"Resume the interrupted bulk recovery of {len(bulk.targets)} job(s)?", yes)
            bulk = manager.resume_bulk_recovery(progress)
        if bulk is None:
            _die("no interrupted bulk run to resume", 1)
    else:
        bulk = manager.perform_bulk_recovery(
            selected,
            force,
            include_inferred=include_inferred,
            max_jobs=max_jobs,
            dry_run=True,
        )
        plans = [r.plan for r in bulk.results if r.plan is not None]
        if do_apply and plans:
            if not yes:
                for r in bulk.results:
                    click.echo(f"{_safe(r.job_id)}: {_safe(r.message)}", err=True)
            _consent(f"Recover these {len(plans)} job(s)?", yes)
            over = bulk.skipped_over_cap
            bulk = manager.perform_bulk_recovery(force=force, plans=plans, progress=progress)
            bulk = dataclasses.replace(bulk, skipped_over_cap=over)
    if as_json:
        _emit_json({**bulk.to_dict(), "errors": errors})
    else:
        if bulk.dry_run:
            for r in bulk.results:
                click.echo(f"{_safe(r.job_id)}: {_safe(r.message)}")
            if not do_apply:
                verb = "resume" if resume else "recover"
                click.echo(
                    f"dry run: {intcomma(len(bulk.targets))} job(s); add --apply to {verb}",
                    err=True,
                )
        counts = ", ".join(f"{intcomma(n)} {k}" for k, n in bulk.counts().items())
        over = bulk.skipped_over_cap
        click.echo(
            (counts or "nothing to do") + (f" ({intcomma(over)} over the cap)" if over else "")
        )
    sys.exit(0 if bulk.ok and not errors else 1)


@main.command()
@root_option
@click.argument("job_ids", nargs=-1)
@click.option("--fix", "do_fix", is_flag=True, help="Apply the available fixes (asks first).")
@click.option("--dry-run", is_flag=True, help="With --fix: list the fixes, change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Fix without asking for confirmation.")
@json_option
@_guard
def validate(
    root: str | None,
    job_ids: Sequence[str],
    do_fix: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Consistency findings for the root or the given jobs."""
    manager = _manager(root)
    findings = []
    errors: list[dict[str, Any]] = []
    for job_id in job_ids or [None]:
        try:
            findings += manager.validate_job_consistency(job_id)
        except (InvalidJobId, JobNotFound) as exc:
            errors.append(_job_error(exc))
            click.echo(f"logist: {_safe(exc)}", err=True)
    fixable = [f for f in findings if f.fix is not None] if do_fix else []
    fixes: list[ActionResult] = []
    if dry_run:
        from .core import ActionResult, Outcome

        fixes = [
            ActionResult(f.job_id, "fix", Outcome.PLANNED, f"would {f.fix}: {f.message}")
            for f in fixable
        ]
    elif fixable:
        if not yes:
            for f in fixable:
                click.echo(
                    f"fix {_safe(f.job_id or '(root)')}: {f.fix}: {_safe(f.message)}", err=True
                )
        _consent(f"Apply {len(fixable)} fix(es)?", yes)
        fixes = [manager.fix(f) for f in fixable]
    if as_json:
        _emit_json(
            {
                "findings": [f.to_dict() for f in findings],
                "fixes": [r.to_dict() for r in fixes],
                "errors": errors,
            }
        )
    else:
        for f in findings:
            click.echo(
                f"{f.severity.value:<8} {_safe(f.job_id or '(root)'):<28} {f.code:<24} "
                f"{_safe(f.message)} -> {_safe(f.recommendation)}"
            )
        for r in fixes:
            click.echo(
                f"fix {_safe(r.job_id or '(root)')}: {r.outcome.value}: {_safe(r.message)}",
                err=not r.ok,
            )
        if not findings and not errors:
            click.echo("no findings")
    failed_fix = any(not r.ok for r in fixes)
    unfixed_errors = any(f.severity.value == "error" for f in findings) and (not do_fix or dry_run)
    sys.exit(1 if failed_fix or unfixed_errors or errors else 0)


_SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _parse_since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    """`--since 2h` (s, m, h, d, w ago) or a local date/time `2026-12-01T09:30`: epoch seconds."""
    if value is None:
        return None
    import time

    text = value.strip()
    amount, unit = text[:-1], text[-1:].lower()
    if unit in _SINCE_UNITS and amount.replace(".", "", 1).isdigit():
        return time.time() - float(amount) * _SINCE_UNITS[unit]
    at = parse_timestamp(text)
    if at is None:
        raise click.BadParameter(
            f"{value!r}: give an age (30m, 2h, 1d) or a local time (2026-12-01T09:30)"
        )
    return at


def _audit_line(record: dict[str, Any], now: float) -> str:
    import humanize

    at = parse_timestamp(record.get("at"))
    when = "?" if at is None else humanize.naturaltime(max(0.0, now - at))
    moved = ""
    if record.get("from_status") or record.get("to_status"):
        moved = f" {record.get('from_status') or '?'} -> {record.get('to_status') or '?'}"
    signalled = record.get("signalled")
    killed = f" signalled {signalled}" if signalled else ""
    return (
        f"{str(record.get('at') or '?')[:19]:<19} {when:<16} {record.get('operator') or '?'}: "
        f"{record.get('action') or '?'} {record.get('job_id') or '(root)'}{moved}{killed}: "
        f"{record.get('result') or ''}"
    )


@main.command()
@root_option
@click.option("--job", "job_id", default=None, help="Only the records of this job.")
@click.option(
    "--since",
    default=None,
    callback=_parse_since,
    metavar="AGE|TIME",
    help="30m, 2h, 1d or a time.",
)
@json_option
@_guard
def audit(root: str | None, job_id: str | None, since: float | None, as_json: bool) -> None:
    """The actions taken on this root, oldest first, from its audit log."""
    manager = _manager(root)
    records = manager.audit_log(limit=None)
    if job_id is not None:
        validate_job_id(job_id)
        records = [r for r in records if r.get("job_id") == job_id]
        if not records and job_id not in manager.scan().jobs:
            raise JobNotFound(job_id)  # a job gone from the root still has its records shown
    if since is not None:
        records = [r for r in records if (parse_timestamp(r.get("at")) or 0.0) >= since]
    if as_json:
        _emit_json({"root": str(manager.root), "records": records, "errors": []})
        return
    import time

    now = time.time()
    for record in records:
        click.echo(_safe(_audit_line(record, now)))
    if not records:
        click.echo("no actions recorded" + (" in that time" if since is not None else ""), err=True)


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@root_option
@click.option(JOB_ID_OPTION, default=None, help="Job id (default: a new unique id).")
@click.option(
    HEARTBEAT_OPTION,
    type=click.FloatRange(*HEARTBEAT_RANGE),
    default=DEFAULT_HEARTBEAT,
    show_default=True,
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(root: str | None, job_id: str | None, heartbeat: float, command: Sequence[str]) -> None:
    """Run COMMAND as a supervised job: logist run [--job-id ID] -- CMD ARGS..."""
    # `logist run` itself is read by logist._launch before click is imported; this command
    # answers --help and what that short path leaves to click, and ends in the same launch.
    launch(root, job_id, heartbeat, command)


def run_ended(jobs_root: str, job_id: str, code: int, error: Exception | None) -> NoReturn:
    """How `logist run` reports a run that failed (called by logist._run once it is over)."""
    if isinstance(error, OSError):  # a read-only or unwritable root, a FIFO at the job path
        _die(f"cannot run job {job_id!r}: {error.strerror or error}: {error.filename or jobs_root}")
    if error is not None:  # LogistError, RunnerError included
        _die(str(error))
    _die(f"job {job_id}: {_how_it_ended(jobs_root, job_id, code)}", code)


def _how_it_ended(jobs_root: str, job_id: str, code: int) -> str:
    """One line on why a run failed, as the runner recorded it in the job's history."""
    from .core import JobRecoveryManager

    try:
        state = JobRecoveryManager(jobs_root).job(job_id)
    except (LogistError, OSError):
        return f"command ended with status {code}"
    if state.facts.waiting_reason:
        return f"{state.facts.waiting_reason} ({state.facts.status})"
    return f"command ended with status {code} ({state.facts.status or 'status unknown'})"


@main.group()
def runner() -> None:
    """Supervisor commands started by the backend."""


@runner.command()
@root_option
@click.argument("job_id")
@click.option("--heartbeat", type=click.FloatRange(0.05, 3600), default=5.0)
@_guard
def adopt(root: str | None, job_id: str, heartbeat: float) -> None:
    """Supervise the still-running command of a detached job."""
    from .core._root import resolve_root
    from .runner import adopt_job

    sys.exit(adopt_job(resolve_root(root), job_id, heartbeat=heartbeat))


@main.command()
@_dir_option(default=None, help="Where to stage the demo root (default: a temp dir).")
def demo(directory: Path | None) -> None:
    """Stage the demo root with real processes; prints its path."""
    from .demo import DemoError, stage_demo

    try:
        staged = stage_demo(directory)
    except (DemoError, OSError) as exc:
        _die(str(exc))
    click.echo(_safe(staged.root))
    click.echo(f"demo processes: {' '.join(map(str, staged.pids()))}", err=True)
    click.echo(f"stop them with: logist demo-stop --dir {_safe(staged.root)}", err=True)


@main.command("demo-stop")
@_dir_option(required=True, help="The demo root printed by `logist demo`.")
def demo_stop(directory: Path) -> None:
    """Stop every process `logist demo` started there (each verified by its start token)."""
    from .demo import DemoError, stop_demo

    try:
        stopped = stop_demo(directory)
    except DemoError as exc:
        _die(str(exc))
    click.echo(f"stopped {len(stopped)} process(es): {' '.join(map(str, stopped)) or '-'}")
