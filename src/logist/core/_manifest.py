"""Manifests: a tolerant bounded read, and the one atomic write of the whole project.

Reading turns every kind of broken file into a `Problem` value instead of an exception, so one bad
job never hides the others. Writing goes through `atomic_write_bytes` only: temp file in the same
directory, fsync, `os.replace`, fsync of the directory, original mode kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections import namedtuple
from enum import StrEnum

from ._errors import LogistError
from ._safeio import make_dir, read_at_most

try:  # the same class as datetime.datetime: Python 3.11's datetime.py compiles a pure-Python
    # twin before it imports this C module (0.4 MB of PSS in every runner's supervisor)
    from _datetime import datetime
except ImportError:  # an interpreter without the C module
    from datetime import datetime

TYPE_CHECKING = False  # typing's, without importing typing into the runner's supervisor
if TYPE_CHECKING:
    from typing import Any, TypeVar

    PathT = TypeVar("PathT", str, os.PathLike[str])

MANIFEST_NAME = "job_manifest.json"
HEARTBEAT_NAME = "heartbeat"
"""Touched by the runner every interval: its mtime is the owner's last sign of life."""
BACKUP_DIR = ".backups"
BACKUP_SUFFIX = ".json.backup"
TEMP_PREFIX = ".logist-tmp-"
DEFAULT_SIZE_CAP = 8 * 1024 * 1024
DEFAULT_BACKUPS_KEPT = 10
OWNER_KEY = "owner"
"""Where our runner records itself as the job's owner. Not `runner`: the original Logist stores
the runner's name there ("podman", "direct"), and that value must survive us untouched."""
LAST_OWNER_KEY = "last_owner"
"""Where the owner record moves when the owner leaves (finished, or recovered from)."""
_OLD_OWNER_KEYS = {"runner": OWNER_KEY, "last_runner": LAST_OWNER_KEY}
"""Keys earlier versions of this project used for the two records above."""


class ManifestTooLarge(LogistError):
    """Writing the manifest would make it larger than the reader accepts: refused."""

    def __init__(self, job_id: str, size: int) -> None:
        super().__init__(
            f"job {job_id!r}: the manifest would be {size} bytes, over the "
            f"{DEFAULT_SIZE_CAP}-byte cap the reader accepts; trim its history by hand"
        )
        self.job_id = job_id


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ProblemCode(StrEnum):
    """Everything that can be wrong with a manifest file."""

    MISSING = "manifest-missing"
    UNREADABLE = "manifest-unreadable"
    EMPTY = "manifest-empty"
    TOO_LARGE = "manifest-too-large"
    INVALID_UTF8 = "manifest-invalid-utf8"
    INVALID_JSON = "manifest-invalid-json"
    TOO_DEEP = "manifest-too-deep"
    NOT_OBJECT = "manifest-not-object"
    NOT_REGULAR = "manifest-not-regular-file"
    WRONG_TYPE = "field-wrong-type"
    BAD_TIMESTAMP = "timestamp-unparseable"
    ID_MISMATCH = "job-id-mismatch"


FATAL_CODES = frozenset(
    {
        ProblemCode.MISSING,
        ProblemCode.UNREADABLE,
        ProblemCode.EMPTY,
        ProblemCode.TOO_LARGE,
        ProblemCode.INVALID_UTF8,
        ProblemCode.INVALID_JSON,
        ProblemCode.TOO_DEEP,
        ProblemCode.NOT_OBJECT,
        ProblemCode.NOT_REGULAR,
    }
)


# Named tuples, not dataclasses: the runner's supervisor reads and writes its manifest for as
# long as its job runs, and importing dataclasses cost it 1.8 MB (PSS) of that time.


class Problem(namedtuple("Problem", "code message field", defaults=(None,))):
    """One thing wrong with a manifest; `field` names the key when it is about one field."""

    __slots__ = ()
    code: ProblemCode
    message: str
    field: str | None

    @property
    def fatal(self) -> bool:
        return self.code in FATAL_CODES

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "field": self.field}


class Fingerprint(namedtuple("Fingerprint", "inode mtime_ns size")):
    """What identifies one version of a file: replaced or rewritten files get a new one."""

    __slots__ = ()
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> Fingerprint:
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)

    def to_dict(self) -> dict[str, int]:
        return {"inode": self.inode, "mtime_ns": self.mtime_ns, "size": self.size}


class ManifestRead(
    namedtuple(
        "ManifestRead", "data problems fingerprint raw ctime_ns", defaults=((), None, None, 0)
    )
):
    """The outcome of reading one manifest: data when it parsed, problems always."""

    __slots__ = ()
    data: dict[str, Any] | None
    problems: tuple[Problem, ...]
    fingerprint: Fingerprint | None
    raw: bytes | None
    ctime_ns: int
    """The file's ctime as read (0: not known). Not part of the fingerprint (a rename changes
    it); the scanner compares it too, to see an edit that restored the mtime (`touch -d`)."""

    @property
    def ok(self) -> bool:
        return self.data is not None


# Field -> accepted types. Only what we read is checked; unknown keys are kept untouched.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "job_id": (str,),
    "description": (str,),
    "status": (str,),
    "current_phase": (str, int),
    "phases": (list,),
    "created_at": (str,),
    "updated_at": (str,),
    "config": (dict,),
    "metrics": (dict,),
    "history": (list,),
    "process_id": (int,),
    "metadata": (dict,),
    "generation": (int,),
    "runner": (str,),  # the original's runner name
    OWNER_KEY: (dict,),
    LAST_OWNER_KEY: (dict,),
    "recovery": (dict,),
    "cost_threshold": (int, float),
    "time_threshold_minutes": (int, float),
}


_FIELD_EXACT_TYPES = {key: frozenset(types) for key, types in _FIELD_TYPES.items()}
"""What JSON parsing gives for an accepted value (never a subclass, never a bool for int)."""


def read_manifest(path: str | os.PathLike[str], size_cap: int = DEFAULT_SIZE_CAP) -> ManifestRead:
    """Read and check a manifest without ever raising for what is in the file.

    Symlinks are not followed (O_NOFOLLOW): the caller decides whether a link is acceptable.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return ManifestRead(None, (Problem(ProblemCode.MISSING, "manifest file is missing"),))
    except PermissionError:
        return ManifestRead(
            None, (Problem(ProblemCode.UNREADABLE, "manifest is not readable (permission denied)"),)
        )
    except OSError as exc:
        return ManifestRead(
            None, (Problem(ProblemCode.UNREADABLE, f"manifest cannot be opened: {exc.strerror}"),)
        )
    try:
        st = os.fstat(fd)
        fingerprint = _new_tuple(Fingerprint, (st.st_ino, st.st_mtime_ns, st.st_size))
        if not stat.S_ISREG(st.st_mode):
            problem = Problem(ProblemCode.NOT_REGULAR, "manifest is not a regular file")
            return ManifestRead(None, (problem,), fingerprint)
        if st.st_size > size_cap:
            problem = Problem(
                ProblemCode.TOO_LARGE,
                f"manifest is {st.st_size} bytes, over the {size_cap}-byte cap",
            )
            return ManifestRead(None, (problem,), fingerprint)
        raw = read_at_most(fd, size_cap + 1, st.st_size)
    except OSError as exc:
        problem = Problem(ProblemCode.UNREADABLE, f"manifest cannot be read: {exc.strerror}")
        return ManifestRead(None, (problem,))
    finally:
        os.close(fd)
    return parse_manifest(raw, fingerprint, size_cap, ctime_ns=st.st_ctime_ns)


def parse_manifest(
    raw: bytes,
    fingerprint: Fingerprint | None = None,
    size_cap: int = DEFAULT_SIZE_CAP,
    *,
    ctime_ns: int = 0,
) -> ManifestRead:
    """Pure part of `read_manifest`: bytes in, data and problems out."""

    def fail(code: ProblemCode, message: str) -> ManifestRead:
        return ManifestRead(None, (Problem(code, message),), fingerprint, raw, ctime_ns)

    if len(raw) > size_cap:
        return fail(ProblemCode.TOO_LARGE, f"manifest grew over the {size_cap}-byte cap")
    if not raw or raw.isspace():
        return fail(ProblemCode.EMPTY, "manifest is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fail(ProblemCode.INVALID_UTF8, f"manifest is not valid UTF-8 (byte {exc.start})")
    try:
        data = _decode(text)
    except RecursionError:
        return fail(ProblemCode.TOO_DEEP, "manifest JSON is nested too deeply")
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        where = "truncated" if cut else f"line {exc.lineno}"
        return fail(ProblemCode.INVALID_JSON, f"manifest is not valid JSON ({where}: {exc.msg})")
    except ValueError as exc:  # e.g. integers too long to convert
        return fail(ProblemCode.INVALID_JSON, f"manifest is not valid JSON ({exc})")
    if not isinstance(data, dict):
        return fail(
            ProblemCode.NOT_OBJECT, f"manifest is a JSON {type(data).__name__}, not an object"
        )
    migrate_owner_keys(data)
    return _new_tuple(ManifestRead, (data, check_fields(data), fingerprint, raw, ctime_ns))


_new_tuple = tuple.__new__
"""A named tuple made from all its fields without its Python `__new__` (0.2 us less each; a
cold scan makes two per manifest)."""


def migrate_owner_keys(data: dict[str, Any]) -> None:
    """Move owner records written by earlier versions under `runner` / `last_runner` to their
    own keys, in place. Only a dict carrying a `pid` is ours: the original's `runner` is a
    string and stays where it is. Every read migrates, so the next write stores the new form."""
    for old, new in _OLD_OWNER_KEYS.items():
        record = data.get(old)
        if type(record) is dict and "pid" in record and new not in data:
            data[new] = data.pop(old)


_decoder = json.JSONDecoder()
_scan_once = _decoder.scan_once


def _decode(text: str) -> Any:
    """`json.loads` of a text, without its two Python layers when the text is one object
    followed by nothing but JSON whitespace (every manifest); anything else, errors included,
    goes the whole way, so what is raised is what `json` raises."""
    if text[:1] == "{":
        try:
            data, end = _scan_once(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text) or not text[end:].strip(" \t\n\r"):
                return data
    return _decoder.decode(text)


def check_fields(data: dict[str, Any]) -> tuple[Problem, ...]:
    """Type problems of the fields we rely on; absent fields are fine (CLI manifests lack some).

    On the cold-scan path for every job: one lookup per key, an exact type test first."""
    problems: list[Problem] = []
    for key, value in data.items():
        types = _FIELD_EXACT_TYPES.get(key)
        if types is None or value is None or type(value) in types:
            continue
        accepted = _FIELD_TYPES[key]
        if isinstance(value, accepted) and value is not True and value is not False:
            continue
        expected = " or ".join(t.__name__ for t in accepted)
        problems.append(
            Problem(
                ProblemCode.WRONG_TYPE,
                f"field {key!r} should be {expected}, found {type(value).__name__}",
                key,
            )
        )
    return tuple(problems)


def timestamp_problems(data: dict[str, Any], parsed: dict[str, float | None]) -> list[Problem]:
    """Problems for timestamp fields that are strings but did not parse (`parsed` by the caller,
    so each timestamp is parsed once)."""
    return [
        Problem(ProblemCode.BAD_TIMESTAMP, f"field {key!r} is not a timestamp", key)
        for key, value in parsed.items()
        if value is None and isinstance(data.get(key), str)
    ]


def parse_timestamp(value: object) -> float | None:
    """Epoch seconds from a Logist timestamp: naive ones are local time, aware ones are honoured.

    None for null, non-strings and unparseable text: a bad timestamp is never fatal.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    try:
        return moment.timestamp()  # naive -> interpreted as local time, as Logist wrote it
    except (OverflowError, OSError, ValueError):
        return None


def now_naive_iso(moment: float | None = None) -> str:
    """A timestamp in Logist's own form: naive local ISO (Logist tools crash on aware ones)."""
    return (datetime.now() if moment is None else datetime.fromtimestamp(moment)).isoformat()


def history_entry(event: str, **fields: Any) -> dict[str, Any]:
    return {"timestamp": now_naive_iso(), "event": event, **fields}


def dumps(data: dict[str, Any], *, compact: bool = False) -> bytes:
    """JSON as Logist writes it (indented), or `compact` like the file it replaces."""
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    text = json.dumps(data, ensure_ascii=False, default=str, **layout) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # a lone surrogate: a "\\udcff" escape read from a manifest, or a directory name that
        # is not UTF-8; escaped again it round-trips, and the write does not crash
        return (json.dumps(data, default=str, **layout) + "\n").encode("ascii")


def is_compact(raw: bytes | None) -> bool:
    """Whether a manifest was written without indentation (kept so: indenting a compact 5.6 MB
    manifest made it 18 MB, over the reader's cap, and the job read as corrupt; issue 8)."""
    return bool(raw) and b"\n" not in raw[:4096].rstrip(b"\n")


def atomic_write_bytes(
    path: str | os.PathLike[str], payload: bytes, default_mode: int = 0o644
) -> Fingerprint:
    """Replace `path` with `payload` so that a reader sees the old or the new bytes, never a mix.

    The temp file is named with TEMP_PREFIX so that leftovers of an interrupted write can be
    found and cleaned by validation.
    """
    directory = os.path.dirname(path) or "."
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    # Only a regular file's mode is kept: a symlink's own mode is 0o777, and replacing a
    # symlinked manifest with it made the restored manifest world-writable.
    regular = st is not None and stat.S_ISREG(st.st_mode)
    mode = stat.S_IMODE(st.st_mode) if st and regular else default_mode
    name = f"{TEMP_PREFIX}{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}"
    tmp = os.path.join(directory, name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # umask must not narrow the original mode
        if st and regular and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            # a recovery run by root must not take the job away from its user
            with contextlib.suppress(PermissionError):
                os.fchown(fd, st.st_uid, st.st_gid)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(directory)
    return Fingerprint.of(st)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def backup_name(moment: datetime) -> str:
    """Our backup name: `job_manifest_YYYYmmddTHHMMSS_<usec>.json.backup` (naive local time)."""
    return f"job_manifest_{moment.strftime('%Y%m%dT%H%M%S_%f')}{BACKUP_SUFFIX}"


# Ours, with a `-N` bump for backups made in one microsecond; the original's, to the second.
_BACKUP_STAMP = re.compile(
    r"job_manifest_(\d{8})(?:T(\d{6})_(\d{6})(?:-(\d+))?|_(\d{6}))" + re.escape(BACKUP_SUFFIX)
)
_NAME_SLACK_S = 1.0
"""A backup's name is stamped just before its file is written: a name later than the file's
mtime by more than this is not its time (a clock set back since, or a copied file)."""


def backup_time(name: str) -> tuple[float, int] | None:
    """(epoch seconds, bump) from a backup name of either project; None when it has no stamp."""
    match = _BACKUP_STAMP.fullmatch(name)
    if match is None:
        return None
    day, ours, usec, bump, theirs = match.groups()
    clock = ours or theirs
    try:
        # the fields by position, not strptime: its first call imports calendar and locale
        # (0.5 MB of PSS in the runner's supervisor, which rotates backups on every write)
        moment = datetime(
            int(day[:4]), int(day[4:6]), int(day[6:]), *(int(clock[i : i + 2]) for i in (0, 2, 4))
        )
        return moment.timestamp() + int(usec or 0) / 1e6, int(bump or 0)
    except (ValueError, OverflowError, OSError):
        return None


def _backup_order(name: str, mtime_ns: int) -> tuple[int, int, float, int]:
    """Sort key, oldest first. The name's time decides (mtimes are lost by copies); the
    original's names have whole seconds, so within one second the mtime decides, then our
    microseconds and bump. A name dated after its own file was written is ignored."""
    mtime = mtime_ns / 1e9
    stamped = backup_time(name)
    if stamped is None or stamped[0] > mtime + _NAME_SLACK_S:
        return int(mtime), mtime_ns, mtime, 0
    when, bump = stamped
    return int(when), mtime_ns, when, bump


def _child(directory: PathT, name: str) -> PathT:
    """`directory / name` for a Path, the same for a str: the runner's supervisor writes through
    here with str paths (importing pathlib cost it 0.8 MB of PSS)."""
    return type(directory)(os.path.join(directory, name))


def make_backup(job_dir: PathT, raw: bytes, keep: int = DEFAULT_BACKUPS_KEPT) -> PathT:
    """Copy the current manifest bytes into `.backups/` under a microsecond-unique name."""
    backups = _child(job_dir, BACKUP_DIR)
    if os.path.islink(backups):
        raise OSError(f"{backups} is a symlink; refusing to write through it")
    make_dir(backups)
    moment = datetime.now()
    target = _child(backups, backup_name(moment))
    bump = 0
    while os.path.exists(target):  # two backups in one microsecond: keep both
        bump += 1
        bumped = backup_name(moment).replace(BACKUP_SUFFIX, f"-{bump}{BACKUP_SUFFIX}")
        target = _child(backups, bumped)
    atomic_write_bytes(target, raw)
    rotate_backups(job_dir, keep, made=target)
    return target


def list_backups(job_dir: PathT) -> list[PathT]:
    """Backups of both projects, newest first, by the time in their names (never the name's
    spelling: on one day the original's `_` sorts after our `T`), then mtime."""
    backups = _child(job_dir, BACKUP_DIR)
    found: list[tuple[tuple[int, int, float, int], str]] = []
    try:
        with os.scandir(backups) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith("job_manifest_") and name.endswith(BACKUP_SUFFIX)):
                    continue
                try:
                    mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
                except OSError:
                    continue
                found.append((_backup_order(name, mtime_ns), name))
    except OSError:
        return []
    found.sort(reverse=True)
    return [_child(backups, name) for _, name in found]


def rotate_backups(job_dir: PathT, keep: int, *, made: PathT | None = None) -> None:
    """Delete all but the newest `keep` backups, oldest first, whichever project made them.

    `made` (the backup just written) is never deleted, even when other names claim to be newer.
    """
    for old in list_backups(job_dir)[keep:]:
        if old != made:
            _unlink_quietly(old)


def write_manifest(
    job_dir: str | os.PathLike[str],
    data: dict[str, Any],
    *,
    previous_raw: bytes | None,
    keep_backups: int = DEFAULT_BACKUPS_KEPT,
) -> Fingerprint:
    """The one manifest write: back up what is there, bump `generation`, replace atomically.

    `data` is modified in place (generation); the caller holds the job lock. A manifest is
    never written larger than `read_manifest` accepts: compact when it must be, else refused.
    """
    generation = data.get("generation")
    data["generation"] = (generation if isinstance(generation, int) else 0) + 1
    data["updated_at"] = now_naive_iso()
    payload = dumps(data, compact=is_compact(previous_raw))
    if len(payload) > DEFAULT_SIZE_CAP:
        payload = dumps(data, compact=True)
    if len(payload) > DEFAULT_SIZE_CAP:  # checked before the backup: nothing is changed
        raise ManifestTooLarge(os.path.basename(job_dir), len(payload))
    if previous_raw:
        make_backup(job_dir, previous_raw, keep_backups)
    return atomic_write_bytes(os.path.join(job_dir, MANIFEST_NAME), payload)
