"""The status summary: what `logist status` needs of each job, kept between runs.

A monitoring check runs `status` every minute. The scan cache (`_scan_cache`) spares it the
reads, but a whole scan still builds every job's objects (facts, an observation, a verdict, the
findings): at 100,000 jobs 8x the cost of the stat per manifest that proves nothing changed.
So `status` keeps a summary of its own beside the scan cache:

- a job in a resting or terminal state whose manifest is unchanged (the same stat key, under the
  same rules as the scan cache: racy-git, ctime, dropped after a reboot or a change of code) is
  counted from a *profile*: its status and its manifest's problems, from which the verdict and
  the manifest's findings follow without any process evidence. Profiles are few (a root has a
  handful of statuses), and each is judged by the scan's own `classify` and findings code;
- every other job (active, corrupt, changed, new, gone from the summary) is judged in full, with
  its locks, owners and heartbeats observed now: process evidence is never kept;
- the root's listing (the union of the index and the job directories) is kept too while the
  root directory and the index keep their stat key, and only when it is *plain*: every job a
  real directory of the root under its own name, every index path naming exactly that. A
  symlink, an index path elsewhere or any root issue: the root is listed again on every run.

The report is the one a whole scan gives (`tests/integration/test_status_summary.py` compares
the two on a mixed root). Choosing this over asking a running `logist watch`: see README.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import _scan_cache
from ._health import HealthReport, Tally, build_health_report, health_report_of, ordered_counts
from ._manifest import MANIFEST_NAME, Severity
from ._root import INDEX_NAME, IndexRead, JobLocation, RootIssue, resolve_root
from ._scan import JobState, Scanner, cache_header, stat_fields
from ._states import category_of
from ._validation import (
    Finding,
    job_findings,
    location_findings,
    manifest_findings,
    root_findings,
)
from ._verdicts import Observation, Policy, VerdictKind, classify

FORMAT = 1

Key = tuple[int, int, int, int]
Profile = tuple[str | None, tuple[tuple[str, str, str | None], ...]]
"""(status, the manifest's problems as `_scan_cache.problems_out` rows)."""


def stat_key(path: str) -> Key | None:
    """(inode, mtime_ns, ctime_ns, size), as the scan cache keys a manifest; None if absent."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def status_report(
    root: str | os.PathLike[str] | None = None,
    *,
    policy: Policy | None = None,
    clock: Any = time.time,
) -> HealthReport:
    """The health report of a root, from the status summary when one fits (a stat per job),
    else from a whole scan that then writes it. Raises `RootNotFound` as the manager does."""
    jobs_root = resolve_root(root)
    report, save = StatusSummary(jobs_root, policy or Policy(), clock).report()
    save()
    return report


class StatusSummary:
    """One root's summary file: read it, count from it, write it back when it changed."""

    def __init__(self, root: Path, policy: Policy, clock: Any = time.time) -> None:
        self.root = root
        self.policy = policy
        self.clock = clock
        self._root_str = str(root)
        root_real = os.path.realpath(root)
        self.path = _scan_cache.cache_file(root_real, "status")
        self._header = (FORMAT, *cache_header(root_real))
        self._profiles: list[Profile] = []
        self._profile_numbers: dict[Profile, int] = {}
        self._judged: list[tuple[str, tuple[str, ...]]] = []
        """Per profile number: the verdict kind and the manifest findings' severities."""
        self._unsaved: dict[str, Any] | None = None

    # ---- the two paths -------------------------------------------------------------------

    def report(self) -> tuple[HealthReport, Callable[[], None]]:
        """The report, and what writes the summary (and the scan cache) for the next run: the
        CLI calls it once the report is out (`logist status` from a monitor is waited for)."""
        body = _scan_cache.load(self.path, self._header) if self.path is not None else {}
        if body:
            try:
                tally = self._count(body)
            except (TypeError, ValueError, KeyError, IndexError):  # not what we wrote
                tally = None
            if tally is not None and tally.job_count:
                return health_report_of(self.root, tally), self._write
        return self._whole_scan()

    def _whole_scan(self) -> tuple[HealthReport, Callable[[], None]]:
        """The first run (or a summary that does not fit): scan everything, write the summary."""
        # the whole path's only: it imports the acting path
        from ._quick_status import QuickStatus

        root_key, index_key, listed_at = self._root_keys()
        scanner = Scanner(self.root, self.policy, persistent=self.path is not None, keep_index=True)
        scanner.defer_persist = True
        scanner.relist_racy = True  # saved after the output: a console started next takes it
        try:
            snapshot = scanner.scan(self.clock())
        except OSError as exc:
            return build_health_report(self.root, None, [], error=str(exc)), _nothing
        findings, tally = QuickStatus().update(snapshot)  # at 100,000 jobs half the full pass
        report = build_health_report(self.root, snapshot, findings, tally=tally)
        if self.path is None or not snapshot.jobs:
            return report, scanner.persist_pending
        index, locations, _, root_issues = scanner.listing()
        listing = self._plain_listing(root_key, index_key, listed_at, index, locations, root_issues)

        def save() -> None:
            scanner.persist_pending()
            static: dict[str, tuple[Key, int]] = {}
            rows: dict[str, _scan_cache.Entry] = {}
            for state in snapshot.jobs.values():
                self._keep(scanner, state, static, rows)
            self._save(listing, static, rows)
            self._write()

        return report, save

    def _count(self, body: Mapping[str, Any]) -> Tally | None:
        """Count the root from the summary: a stat per job, full judgement for the few that
        need it. None when the summary holds nothing to count from."""
        started = time.perf_counter()
        now = self.clock()
        self._profiles = [(status, tuple(map(tuple, rows))) for status, rows in body["profiles"]]
        self._profile_numbers = {p: n for n, p in enumerate(self._profiles)}
        self._judged = [self._judge_profile(p, now) for p in self._profiles]
        old_static: dict[str, tuple[Key, int]] = body["static"]
        old_rows: dict[str, _scan_cache.Entry] = body["rows"]
        scanner = Scanner(self.root, self.policy, keep_index=True)

        root_key, index_key, listed_at = self._root_keys()
        cached = body["listing"]
        findings: list[Finding] = []
        if cached is not None and (cached[0], cached[1]) == (root_key, index_key):
            listing = cached
            index_exists: bool = cached[2]
            job_ids: tuple[str, ...] = cached[3]
            root_issues = tuple(RootIssue(*row) for row in cached[5])
            hits, rest = self._unchanged(job_ids, old_static)
            unindexed = frozenset(cached[4])
            rest_set = set(rest)
            for job_id in unindexed - rest_set:  # counted from the summary: their warnings
                findings += location_findings(
                    job_id, self._plain(job_id, False), index_exists=index_exists
                )
            places = [(job_id, self._plain(job_id, job_id not in unindexed)) for job_id in rest]
        else:
            index, locations, manifests, root_issues = scanner.listing()
            index_exists = index.exists
            listing = self._plain_listing(
                root_key, index_key, listed_at, index, locations, root_issues
            )
            job_ids = tuple(locations)
            hits, places = self._unchanged_at(
                locations, manifests, old_static, findings, index_exists=index_exists
            )
        findings += root_findings(root_issues)

        scanner.restore_rows(old_rows)  # active jobs' facts: their evidence is observed now
        new_static: dict[str, tuple[Key, int]] = {}
        rows: dict[str, _scan_cache.Entry] = {}
        verdicts: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        oldest: float | None = None
        judged = 0
        for job_id, location in places:
            state = scanner.state_at(location, now)
            if state is None:
                continue
            judged += 1
            kind = state.verdict.kind
            verdicts[str(kind)] += 1
            statuses[state.facts.status or "?"] += 1
            if kind is VerdictKind.CRASHED and state.activity_at is not None:
                age = now - state.activity_at
                oldest = age if oldest is None else max(oldest, age)
            findings += root_findings(state.location.issues)
            findings += job_findings(state, index_exists=index_exists)
            self._keep(scanner, state, new_static, rows, old_rows.get(job_id))
        job_count = judged + sum(hits)
        if not job_count:
            return None
        severities = Counter(str(f.severity) for f in findings)
        for number, count in enumerate(hits):
            if count:
                kind_name, profile_severities = self._judged[number]
                status = self._profiles[number][0]
                verdicts[kind_name] += count
                statuses[status or "?"] += count
                for severity in profile_severities:
                    severities[severity] += count
        by_verdict, by_status, by_severity = ordered_counts(verdicts, statuses, severities)
        static_kept = sum(hits) == len(old_static) and not any(
            job_id in old_static for job_id, _ in places
        )
        if not (static_kept and not new_static and listing == cached and rows == old_rows):
            judged_ids = {job_id for job_id, _ in places}
            static = {
                job_id: old_static[job_id]
                for job_id in job_ids
                if job_id in old_static and job_id not in judged_ids
            }
            self._save(listing, {**static, **new_static}, rows)
        return Tally(
            job_count,
            by_verdict,
            by_status,
            oldest,
            by_severity,
            sum(1 for f in findings if f.job_id is None and f.severity is Severity.ERROR),
            index_exists,
            time.perf_counter() - started,
        )

    def _unchanged(
        self, job_ids: Iterable[str], kept: Mapping[str, tuple[Key, int]]
    ) -> tuple[list[int], list[str]]:
        """The hot loop of a repeated `status`, over the kept listing: a stat per job. Returns
        the jobs counted per profile, and the jobs to judge in full (in the listing's order)."""
        hits = [0] * len(self._profiles)
        rest: list[str] = []
        get = kept.get
        lstat = os.lstat
        head = self._root_str + "/"
        tail = "/" + MANIFEST_NAME
        for job_id in job_ids:
            summary = get(job_id)
            if summary is not None:
                try:
                    st = lstat(head + job_id + tail)
                except OSError:
                    pass
                else:
                    if summary[0] == (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size):
                        hits[summary[1]] += 1
                        continue
            rest.append(job_id)
        return hits, rest

    def _unchanged_at(
        self,
        locations: Mapping[str, JobLocation],
        manifests: Mapping[str, str | None],
        kept: Mapping[str, tuple[Key, int]],
        findings: list[Finding],
        *,
        index_exists: bool,
    ) -> tuple[list[int], list[tuple[str, JobLocation]]]:
        """`_unchanged` over a fresh listing (the root changed, or is not plain): each job's
        location findings are made now, as a whole scan makes them."""
        hits = [0] * len(self._profiles)
        rest: list[tuple[str, JobLocation]] = []
        for job_id, location in locations.items():
            summary = kept.get(job_id)
            manifest = manifests[job_id]
            if summary is not None and manifest is not None and summary[0] == stat_key(manifest):
                hits[summary[1]] += 1
                findings += root_findings(location.issues)
                findings += location_findings(job_id, location, index_exists=index_exists)
                continue
            rest.append((job_id, location))
        return hits, rest

    # ---- pieces --------------------------------------------------------------------------

    def _judge_profile(self, profile: Profile, now: float) -> tuple[str, tuple[str, ...]]:
        """A profile's verdict and findings, by the scan's own code (no evidence is needed:
        a profile is a resting, terminal or unknown status of a readable manifest)."""
        status, problem_rows = profile
        category = category_of(status)
        observation = Observation(job_id="", manifest_ok=True, status=status, category=category)
        kind = classify(observation, self.policy, now).kind
        problems = _scan_cache.problems_in(problem_rows)
        found = manifest_findings("", problems, status, manifest_ok=True)
        return str(kind), tuple(str(f.severity) for f in found)

    def _keep(
        self,
        scanner: Scanner,
        state: JobState,
        static: dict[str, tuple[Key, int]],
        rows: dict[str, _scan_cache.Entry],
        old_row: _scan_cache.Entry | None = None,
    ) -> None:
        """What the next run keeps of a job judged in full now (nothing untrusted); `old_row`:
        what the summary held, kept as it is while the job's stat key is unchanged."""
        if old_row is not None and old_row[0] == scanner.cache_key(state.job_id):
            rows[state.job_id] = old_row
            return
        row = scanner.cache_row(state.job_id)
        if row is None:
            return
        key, _facts, problems, manifest_ok, is_static = row
        if manifest_ok and is_static:  # resting, terminal or unknown: the manifest decides
            profile = (state.facts.status, problems)
            number = self._profile_numbers.get(profile)
            if number is None:
                number = self._profile_numbers[profile] = len(self._profiles)
                self._profiles.append(profile)
            static[state.job_id] = (stat_fields(key), number)  # (compared with a stat's)
        else:
            rows[state.job_id] = row

    def _plain(self, job_id: str, indexed: bool) -> JobLocation:
        return JobLocation(job_id, os.path.join(self._root_str, job_id), indexed, True, True)

    def _root_keys(self) -> tuple[Key | None, Key | None, int]:
        """The root's and the index's stat keys, taken before the listing they vouch for."""
        return (
            stat_key(self._root_str),
            stat_key(os.path.join(self._root_str, INDEX_NAME)),
            time.time_ns(),
        )

    def _plain_listing(
        self,
        root_key: Key | None,
        index_key: Key | None,
        listed_at: int,
        index: IndexRead,
        locations: Mapping[str, JobLocation],
        root_issues: tuple[RootIssue, ...],
    ) -> tuple[Any, ...] | None:
        """The listing to keep, or None when it cannot be trusted on the root's stat alone."""
        if root_key is None or _scan_cache.is_racy(root_key[1], listed_at):
            return None
        if index_key is not None and _scan_cache.is_racy(index_key[1], listed_at):
            return None
        if index.exists != (index_key is not None):
            return None
        root_str = self._root_str
        for job_id, item in index.entries.items():
            if item.path and os.path.normpath(os.path.join(root_str, item.path)) != (
                f"{root_str}/{job_id}"
            ):
                return None
        unindexed = []
        for job_id, location in locations.items():
            if (
                location.issues
                or not location.on_disk
                or not location.writable
                or location.directory != f"{root_str}/{job_id}"
            ):
                return None
            if not location.indexed:
                unindexed.append(job_id)
        return (
            root_key,
            index_key,
            index.exists,
            tuple(locations),
            tuple(unindexed),
            tuple((i.code, i.message, i.job_id, i.path) for i in root_issues),
        )

    def _save(
        self,
        listing: tuple[Any, ...] | None,
        static: dict[str, tuple[Key, int]],
        rows: dict[str, _scan_cache.Entry],
    ) -> None:
        """Keep the summary to write (`_write`)."""
        self._unsaved = {
            "listing": listing,
            "static": static,
            "rows": rows,
            "profiles": self._profiles,
        }

    def _write(self) -> None:
        if self._unsaved is not None and self.path is not None:
            _scan_cache.save(self.path, self._header, self._unsaved)
            self._unsaved = None


def _nothing() -> None:
    """Nothing to write."""
