"""The jobs root: which jobs it holds, and the fence around it (where it is: `_locate`).

A job is known from `jobs_index.json` (three historical schemas) and from the directories actually
present; the union is enumerated. Anything that would lead outside the root is reported and never
written to.
"""

from __future__ import annotations

import itertools
import json
import operator
import os
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

# validate_job_id, STATE_DIR, not_a_jobs_root and resolve_root live where `logist run` finds them
# without loading the scanner; the rest of the code still imports them from here.
from ._index import INDEX_SIZE_CAP
from ._jobid import is_valid_job_id
from ._jobid import validate_job_id as validate_job_id
from ._locate import INDEX_NAME
from ._locate import STATE_DIR as STATE_DIR
from ._locate import not_a_jobs_root as not_a_jobs_root
from ._locate import resolve_root as resolve_root
from ._safeio import UnsafeFile, read_regular

_MANIFEST = "job_manifest.json"


def is_within(root_real: str, path: str) -> bool:
    """Whether a resolved path lies inside the resolved root (the root itself excluded)."""
    return path != root_real and os.path.commonpath([root_real, path]) == root_real


class IndexEntry(NamedTuple):
    """One job as the index names it (a tuple: made 100,000 times for a big root's index)."""

    job_id: str
    path: str | None
    """The directory the index names, as written (None when the entry gives none)."""


_new_entry = tuple.__new__
"""`IndexEntry(a, b)` without the named tuple's Python-level `__new__`: `(IndexEntry, (a, b))`."""


@dataclass(frozen=True, slots=True)
class RootIssue:
    """A root-level finding: index damage, confinement violations, stray entries."""

    code: str
    message: str
    job_id: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class IndexRead:
    entries: Mapping[str, IndexEntry]
    issues: tuple[RootIssue, ...]
    exists: bool
    data: dict[str, Any] | None


def parse_index(raw: bytes) -> IndexRead:
    """Read the jobs index in any of its three schemas; damage becomes issues, never exceptions."""
    issues: list[RootIssue] = []
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        issue = RootIssue("index-unreadable", f"{INDEX_NAME} is not valid JSON: {exc}")
        return IndexRead({}, (issue,), True, None)
    if not isinstance(data, dict):
        issue = RootIssue("index-unreadable", f"{INDEX_NAME} is not a JSON object")
        return IndexRead({}, (issue,), True, None)
    jobs = data.get("jobs", {})
    if not isinstance(jobs, dict):
        issue = RootIssue("index-unreadable", f"{INDEX_NAME}: 'jobs' is not an object")
        return IndexRead({}, (issue,), True, data)
    entries: dict[str, IndexEntry] = {}
    for job_id, value in jobs.items():
        if not is_valid_job_id(job_id):
            issues.append(
                RootIssue("index-bad-id", f"index names an invalid job id {job_id!r}", job_id)
            )
            continue
        if isinstance(value, str):
            path: str | None = value
        elif isinstance(value, dict):  # very old schema
            directory = value.get("directory")
            path = directory if isinstance(directory, str) else None
        elif value is None:
            path = None
        else:
            issues.append(
                RootIssue("index-bad-entry", f"index entry for {job_id!r} is not a path", job_id)
            )
            path = None
        entries[job_id] = _new_entry(IndexEntry, (job_id, path))
    return IndexRead(entries, tuple(issues), True, data)


def read_index(root: Path) -> IndexRead:
    """The index, read safely (a FIFO or a device in its place is an issue, never a hang)."""
    try:
        raw = read_regular(root / INDEX_NAME, INDEX_SIZE_CAP)
    except FileNotFoundError:
        return IndexRead({}, (), False, None)
    except UnsafeFile as exc:
        issue = RootIssue("index-unreadable", f"{INDEX_NAME} {exc.why}")
        return IndexRead({}, (issue,), True, None)
    except OSError as exc:
        issue = RootIssue("index-unreadable", f"{INDEX_NAME} cannot be read: {exc.strerror}")
        return IndexRead({}, (issue,), True, None)
    return parse_index(raw)


class InRoot(str):
    """A root's path standing for `<root>/<job_id>` in a `JobLocation`: the directories found
    in the root share this one string instead of holding a path each (~90 bytes a job, 9 MB
    of a console's memory at 100,000 jobs)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Declared:
    """JobLocation's fields as declared (`dataclasses.fields`, `replace`)."""

    job_id: str
    place: str
    indexed: bool
    on_disk: bool
    writable: bool
    issues: tuple[RootIssue, ...] = ()
    queue_position: int | None = None


class Where(NamedTuple):
    """All of a `JobLocation` but its job id: one tuple for the many jobs alike (the
    directories an enumeration finds in the root share two, indexed or not)."""

    place: str
    indexed: bool
    on_disk: bool
    writable: bool
    issues: tuple[RootIssue, ...] = ()
    queue_position: int | None = None


class JobLocation:
    """Where one job lives, and whether we may touch it.

    Made with the job directory (a string), or with an `InRoot` for one directly in the root:
    either way `directory` is the path, and locations compare, hash and print by it. (A copy
    under another job id is made with `directory`, not `place`: an `InRoot` follows the id.)
    A frozen dataclass of its seven fields to every caller; it keeps the job id and a `Where`
    that equal locations share (48 bytes a job, where seven slots took 96)."""

    __slots__ = ("_where", "job_id")
    __dataclass_fields__ = _Declared.__dataclass_fields__  # type: ignore[assignment]
    __dataclass_params__ = _Declared.__dataclass_params__  # type: ignore[attr-defined]
    __match_args__ = _Declared.__match_args__

    job_id: str
    _where: Where

    if TYPE_CHECKING:
        place: str
        """The job directory as found (not resolved), or the `InRoot` it is in: read
        `directory`."""
        indexed: bool
        on_disk: bool
        writable: bool
        """False when the job leads outside the root: read-only evidence, never a write
        target."""
        issues: tuple[RootIssue, ...]
        queue_position: int | None
        """Where the original's execution queue (`jobs_index.json` "queue") has the job,
        from 0."""

    def __init__(
        self,
        job_id: str,
        place: str,
        indexed: bool,
        on_disk: bool,
        writable: bool,
        issues: tuple[RootIssue, ...] = (),
        queue_position: int | None = None,
    ) -> None:
        object.__setattr__(self, "job_id", job_id)
        where = (place, indexed, on_disk, writable, issues, queue_position)
        object.__setattr__(self, "_where", _new_tuple(Where, where))

    @property
    def directory(self) -> str:
        """The job directory as found (not resolved); a string, since a cold scan of 10k jobs
        cannot afford a Path object each."""
        place = self._where[0]
        return f"{place}/{self.job_id}" if type(place) is InRoot else place

    @property
    def path(self) -> Path:
        return Path(self.directory)

    def _seen(self) -> tuple[Any, ...]:
        _, indexed, on_disk, writable, issues, queue_position = self._where
        return (self.job_id, self.directory, indexed, on_disk, writable, issues, queue_position)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._seen() == other._seen()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._seen())

    def __repr__(self) -> str:
        return (
            f"JobLocation(job_id={self.job_id!r}, directory={self.directory!r}, "
            f"indexed={self.indexed!r}, on_disk={self.on_disk!r}, writable={self.writable!r}, "
            f"issues={self.issues!r}, queue_position={self.queue_position!r})"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (JobLocation, (self.job_id, *self._where))


for _name in Where._fields:  # read in C: the slot, then the tuple's field
    setattr(JobLocation, _name, property(operator.attrgetter(f"_where.{_name}")))
del _name
_new_tuple = tuple.__new__


class _Draft:
    """A mutable twin of `JobLocation`'s slots, made one by `__class__` assignment (CPython
    allows it between classes of one slot layout): `JobLocation(...)` without its frozen
    `__init__`, for the many an enumeration makes."""

    __slots__ = JobLocation.__slots__

    def __init__(self, job_id: str, where: Where) -> None:
        self.job_id = job_id
        self._where = where


object.__new__(_Draft).__class__ = JobLocation  # a layout that differs fails here, at import


def located_at(job_id: str, where: Where) -> JobLocation:
    """A location of `job_id` at `where` (shared with others: it holds no job id)."""
    made = _Draft(job_id, where)
    made.__class__ = JobLocation  # type: ignore[assignment]
    return made  # type: ignore[return-value]


def _in_root_wheres(place: InRoot) -> tuple[Where, Where]:
    """The two `Where`s of the job directories in the root: (not indexed, indexed)."""
    return Where(place, False, True, True), Where(place, True, True, True)


class Enumerated(NamedTuple):
    """A root's listing, as `enumerate_jobs` made it."""

    locations: dict[str, JobLocation]
    issues: tuple[RootIssue, ...]
    plain: bool
    """Every job a real directory of the root under its own name, every index path naming
    exactly that, no issue, no symlink among the root's entries (followed or not): the listing
    then follows from the root's entries and the index alone, and stays true while the root
    directory and the index keep their stat (see `plain_listing`)."""


def enumerate_jobs(root: Path, index: IndexRead, *, root_real: str | None = None) -> Enumerated:
    """The union of indexed jobs and job directories, each with its confinement verdict."""
    root_real = root_real or os.path.realpath(root)
    root_str = str(root)
    found: dict[str, JobLocation] = {}
    issues: list[RootIssue] = []
    indexed = index.entries
    with os.scandir(root) as it:
        entries = list(it)
    # an entry's path is `<root>/<name>` (`os.path.join`), which `InRoot` stands for
    place = InRoot(root_str) if not root_str.endswith("/") else None
    plain = place is not None
    in_root = None if place is None else _in_root_wheres(place)
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        try:
            # a plain directory first: one call for most of a root's entries, not two
            if entry.is_dir(follow_symlinks=False):
                if name in indexed or is_valid_job_id(name):  # index keys are checked
                    if in_root is None:
                        found[name] = JobLocation(name, entry.path, name in indexed, True, True)
                    else:
                        found[name] = located_at(name, in_root[name in indexed])
                else:
                    issues.append(
                        RootIssue("job-dir-bad-id", f"directory {name!r} is not a valid job id")
                    )
                continue
            if entry.is_symlink():
                plain = False  # what it leads to can change while the root does not
                target = os.path.realpath(entry.path)
                inside = is_within(root_real, target)
                if not os.path.isdir(target):
                    continue
                issue = RootIssue(
                    "job-dir-symlink" if inside else "job-dir-outside-root",
                    f"job directory is a symlink to {target}"
                    + ("" if inside else ", outside the root: never written to"),
                    name,
                    entry.path,
                )
                found[name] = JobLocation(name, entry.path, name in indexed, True, False, (issue,))
        except OSError:
            plain = False
            continue
    claimed: dict[str, str] = {}
    """Directory name -> the index key it is listed under, when the two differ."""
    prefix = f"{root_str}/"
    for job_id, item in indexed.items():
        location = found.get(job_id)
        if location is not None:
            path = item.path
            expected = prefix + job_id
            if (
                path
                and path != expected
                and os.path.normpath(path) != expected
                # a relative index path is relative to the root (as for indexed-only jobs), not cwd
                and not _same_dir(os.path.join(root_str, item.path), location.path)
            ):
                plain = False
                stray = _lock_only_twin(root, root_real, item, location, found, index, claimed)
                if stray is not None:
                    claimed[stray.name] = job_id
                    found[job_id] = stray.location
                    continue
                location_issue = RootIssue(
                    "index-path-mismatch",
                    f"index points at {item.path}, but the job directory is {location.path}",
                    job_id,
                    item.path,
                )
                found[job_id] = JobLocation(
                    job_id,
                    location.directory,
                    True,
                    True,
                    location.writable,
                    (*location.issues, location_issue),
                )
            continue
        plain = False  # found outside the root's directories, or not at all
        located = _locate_indexed_only(root, root_real, item)
        name = _directory_in_root(root_real, located)
        if name is not None and (name in found or name in claimed):
            # The original's `job create` indexes a job under its spec's job_id while the
            # directory keeps its own name: one job, listed under the index key.
            owner = name if name in index.entries else claimed.get(name)
            if owner is not None:
                issues.append(
                    RootIssue(
                        "index-duplicate",
                        f"index entry {job_id!r} points at the directory of job {owner!r}",
                        job_id,
                        item.path,
                    )
                )
                continue
            claimed[name] = job_id
            scanned = found.pop(name)
            located = JobLocation(
                job_id, scanned.directory, True, True, scanned.writable, scanned.issues
            )
        found[job_id] = located
    _queued(found, index.data)
    return Enumerated(found, tuple(issues), plain and not issues and not index.issues)


def _queued(found: dict[str, JobLocation], data: Mapping[str, Any] | None) -> None:
    """Each location the index's execution queue names, with its place in the queue."""
    queue = data.get("queue") if data else None
    if isinstance(queue, list):
        for position, job_id in enumerate(queue):
            if isinstance(job_id, str) and job_id in found:
                found[job_id] = replace(found[job_id], queue_position=position)


Listing = tuple[Any, ...]
"""A plain listing as kept (`plain_listing`): plain data only, as marshal wants."""


def plain_listing(
    root_key: tuple[int, int, int, int],
    index_key: tuple[int, int, int, int] | None,
    index: IndexRead,
    locations: Mapping[str, JobLocation],
) -> Listing:
    """What a plain enumeration (`Enumerated.plain`) keeps: the root directory's and the
    index's stat keys it is true for, the index without its jobs, the job ids in order and
    those not indexed."""
    data = None if index.data is None else {k: v for k, v in index.data.items() if k != "jobs"}
    unindexed = tuple(job_id for job_id, location in locations.items() if not location.indexed)
    return (root_key, index_key, index.exists, data, tuple(locations), unindexed)


def listed_locations(root: Path, listing: Listing) -> tuple[IndexRead, dict[str, JobLocation]]:
    """The index (without its jobs: a scanner lets them go after listing) and the locations a
    plain listing stands for, as `enumerate_jobs` made them (TypeError, ValueError: not a
    listing `plain_listing` made)."""
    _root_key, _index_key, exists, data, job_ids, unindexed = listing
    if type(exists) is not bool or (data is not None and type(data) is not dict):
        raise TypeError("not a listing")
    unindexed_at, indexed_at = _in_root_wheres(InRoot(str(root)))
    if not unindexed:
        wheres: Any = itertools.repeat(indexed_at)
    else:
        wheres = map(
            {True: unindexed_at, False: indexed_at}.__getitem__,
            map(frozenset(unindexed).__contains__, job_ids),
        )
    found = dict(zip(job_ids, map(located_at, job_ids, wheres), strict=False))
    if len(found) != len(job_ids):
        raise ValueError("not a listing")
    _queued(found, data)
    return IndexRead({}, (), exists, data), found


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """What the original keeps in its index beside the jobs: its selection, queue, archive."""

    current_job_id: str | None = None
    queue: tuple[str, ...] = ()
    archived: tuple[dict[str, Any], ...] = ()
    """`archived_jobs` entries, then `backups/*.zip` archives of cleaned-up jobs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_job_id": self.current_job_id,
            "queue": list(self.queue),
            "archived": list(self.archived),
        }


def index_facts(root: Path, index: IndexRead) -> IndexFacts:
    """The index's own facts, and the archives of cleaned-up jobs in `<root>/backups/`."""
    data = index.data or {}
    current = data.get("current_job_id")
    queue = data.get("queue")
    archived: list[dict[str, Any]] = []
    for entry in data.get("archived_jobs") or ():
        if isinstance(entry, dict) and isinstance(entry.get("job_id"), str):
            archived.append(
                {k: v for k, v in entry.items() if isinstance(v, str | int | float | bool)}
            )
    try:
        with os.scandir(root / "backups") as entries:
            zips = sorted(
                e.name
                for e in entries
                if e.name.endswith(".zip") and e.is_file(follow_symlinks=False)
            )
    except OSError:
        zips = []
    archived.extend({"archive": f"backups/{name}"} for name in zips)
    return IndexFacts(
        current if isinstance(current, str) else None,
        tuple(j for j in queue if isinstance(j, str)) if isinstance(queue, list) else (),
        tuple(archived),
    )


@dataclass(frozen=True, slots=True)
class _Twin:
    name: str
    location: JobLocation


def _lock_only_twin(
    root: Path,
    root_real: str,
    item: IndexEntry,
    location: JobLocation,
    found: dict[str, JobLocation],
    index: IndexRead,
    claimed: dict[str, str],
) -> _Twin | None:
    """The job an index key really names when a directory of the key's name holds no manifest.

    The original's recovery manager locks `<root>/<key>/.lock`, creating that directory, even
    when the index puts the job in another directory (`sample-implementation ->
    test_poststep_job/`): then the key's own directory is a stray, and the job is the other one.
    """
    if os.path.lexists(os.path.join(location.directory, _MANIFEST)):
        return None
    name = _directory_in_root(root_real, _locate_indexed_only(root, root_real, item))
    if name is None or name not in found or name in index.entries or name in claimed:
        return None
    scanned = found.pop(name)
    issue = RootIssue(
        "job-dir-no-manifest",
        f"directory {item.job_id!r} holds no manifest; the index puts job {item.job_id!r} in "
        f"{name}/ (the original's recovery manager makes such a directory for its lock)",
        item.job_id,
        location.directory,
    )
    return _Twin(
        name,
        JobLocation(
            item.job_id, scanned.directory, True, True, scanned.writable, (*scanned.issues, issue)
        ),
    )


def _directory_in_root(root_real: str, location: JobLocation) -> str | None:
    """The name of the root's directory an indexed-only location resolves to, if any."""
    if not location.on_disk:
        return None
    resolved = os.path.realpath(location.directory)
    return os.path.basename(resolved) if os.path.dirname(resolved) == root_real else None


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _locate_indexed_only(root: Path, root_real: str, item: IndexEntry) -> JobLocation:
    """An index entry with no directory of its name in the root."""
    job_id = item.job_id
    if item.path is None:
        path = root / job_id
        issue = RootIssue("index-dangling", "indexed job has no directory", job_id, str(path))
        return JobLocation(job_id, str(path), True, False, True, (issue,))
    candidate = item.path if os.path.isabs(item.path) else os.path.join(root, item.path)
    resolved = os.path.realpath(candidate)
    if not is_within(root_real, resolved):
        issue = RootIssue(
            "index-outside-root",
            f"index entry points outside the root ({item.path}): ignored, never written to",
            job_id,
            item.path,
        )
        return JobLocation(job_id, candidate, True, False, False, (issue,))
    if not os.path.isdir(resolved):
        issue = RootIssue(
            "index-dangling", f"indexed directory {item.path} is gone", job_id, item.path
        )
        return JobLocation(job_id, candidate, True, False, True, (issue,))
    return JobLocation(job_id, candidate, True, True, True)
