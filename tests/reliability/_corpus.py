"""The hostile-input corpus: builds a jobs root full of broken, malicious and odd inputs.

Generated rather than checked in: symlinks, sockets, FIFOs, a 9 MiB file, undecodable directory
names and permission bits do not survive git. `build_hostile_root(base)` creates `base/jobs`
(the root) and its sibling `base/outside`, which holds every target a symlink or an index entry
points at, each of them a tempting write target (a crashed manifest, a lock file, a backups
directory...). Every case says how it must be reported: a finding code on its job, or a verdict.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logist.core._manifest import BACKUP_DIR, MANIFEST_NAME, dumps
from reliability._support import crashed_manifest

MIB = 1024 * 1024
# An OSC 8 hyperlink, a title change, a screen clear, a C1 CSI and Rich markup, all at once.
EVIL = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b]0;owned\x07\x1b[2J\x9b31m[b]x[/b]"
# The same in a job id, which cannot hold '/' or '\\'.
EVIL_ID = "esc-\x1b]0;owned\x07\x1b[2J\x9b31m[bold red]id\x1b[0m\x1b[?1049h"


@dataclass(frozen=True)
class Case:
    """One hostile input and how it must be reported."""

    name: str
    job_id: str | None
    """The id the finding or the verdict is reported under."""
    codes: frozenset[str] = frozenset()
    """Finding codes, any of which reports the case (validate)."""
    verdicts: frozenset[str] = frozenset()
    """Verdicts, any of which reports the case (jobs)."""

    @property
    def must_report(self) -> bool:
        return bool(self.codes or self.verdicts)


@dataclass
class HostileRoot:
    root: Path
    outside: Path
    cases: list[Case] = field(default_factory=list)

    def add(
        self, name: str, job_id: str | None, *codes: str, verdicts: tuple[str, ...] = ()
    ) -> None:
        self.cases.append(Case(name, job_id, frozenset(codes), frozenset(verdicts)))

    def job(self, job_id: str, payload: bytes | dict[str, Any]) -> Path:
        job_dir = self.root / job_id
        job_dir.mkdir()
        raw = payload if isinstance(payload, bytes) else dumps(payload)
        (job_dir / MANIFEST_NAME).write_bytes(raw)
        return job_dir


def _valid(job_id: str, **fields: Any) -> dict[str, Any]:
    return crashed_manifest(job_id, **fields)


def _stage_outside(outside: Path) -> dict[str, Path]:
    """Tempting targets outside the root: a whole crashed job, a manifest, a lock, backups..."""
    job = outside / "victim-job"
    (job / BACKUP_DIR).mkdir(parents=True)
    (job / "logs").mkdir()
    (job / MANIFEST_NAME).write_bytes(dumps(_valid("victim-job")))
    (job / BACKUP_DIR / "job_manifest_20260101T000000_000000.json.backup").write_bytes(
        dumps(_valid("victim-job", status="PENDING"))
    )
    (job / ".lock").touch()
    (job / "logs" / "runner.log").write_text("outside log\n")
    targets = {
        "job": job,
        "manifest": outside / "target-manifest.json",
        "lock": outside / "lock-target",
        "backups": outside / "backups-target",
        "logs": outside / "logs-target",
        "heartbeat": outside / "heartbeat-target",
        "index-dir": outside / "index-dir",
    }
    targets["manifest"].write_bytes(dumps(_valid("manifest-link")))
    targets["lock"].write_bytes(b"")
    targets["heartbeat"].write_bytes(b"")
    targets["backups"].mkdir()
    (targets["backups"] / "job_manifest_20260101T000000_000000.json.backup").write_bytes(
        dumps(_valid("backups-link", status="PENDING"))
    )
    targets["logs"].mkdir()
    targets["index-dir"].mkdir()
    (targets["index-dir"] / MANIFEST_NAME).write_bytes(dumps(_valid("index-dict-outside")))
    return targets


def _broken_manifests(h: HostileRoot) -> None:
    valid = dumps(_valid("x"))
    corrupt = ("corrupt",)
    cases: list[tuple[str, bytes, str]] = [
        ("truncated", valid[: len(valid) // 2], "manifest-invalid-json"),
        ("empty", b"", "manifest-empty"),
        ("whitespace", b" \n\t\r\n", "manifest-empty"),
        ("binary", bytes(range(256)) * 8, "manifest-invalid-utf8"),
        ("nul-in-json", b'{"job_id": "nul\x00", "status": "PENDING"}', "manifest-invalid-json"),
        ("invalid-utf8", b'{"status": "PENDING", "x": "\xff\xfe\xc3"}', "manifest-invalid-utf8"),
        ("utf8-bom", b"\xef\xbb\xbf" + valid, "manifest-invalid-json"),
        ("utf16", json.dumps(_valid("utf16")).encode("utf-16"), "manifest-invalid-utf8"),
        ("deep-array", b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "manifest-too-deep"),
        ("deep-object", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "manifest-too-deep"),
        ("huge-integer", b'{"generation": 1' + b"0" * 10_000 + b"}", "manifest-invalid-json"),
        ("array", b"[1, 2, 3]", "manifest-not-object"),
        ("string", b'"EXECUTING"', "manifest-not-object"),
        ("number", b"42", "manifest-not-object"),
        ("null", b"null", "manifest-not-object"),
        ("boolean", b"true", "manifest-not-object"),
    ]  # fmt: skip
    for job_id, raw, code in cases:
        h.job(job_id, raw)
        h.add(job_id, job_id, code, verdicts=corrupt)

    huge = h.root / "huge"
    huge.mkdir()
    with open(huge / MANIFEST_NAME, "wb") as stream:  # sparse: 9 MiB on paper, nothing on disk
        stream.truncate(9 * MIB)
    h.add("huge", "huge", "manifest-too-large", verdicts=corrupt)

    h.job(
        "wrong-types",
        {
            "job_id": "wrong-types",
            "description": {"not": "text"},
            "status": 7,
            "history": "not a list",
            "owner": ["not", "a", "dict"],
            "generation": "9",
            "metadata": [],
            "phases": {},
            "process_id": "123",
            "recovery": 5,
            "metrics": [],
            "config": [],
            "created_at": 12,
            "updated_at": "yesterday-ish",
            "cost_threshold": "lots",
        },
    )
    h.add("wrong-types", "wrong-types", "field-wrong-type", verdicts=("suspect",))
    h.job("bool-pid", _valid("bool-pid", process_id=True, generation=False, owner=None))
    h.add("bool-pid", "bool-pid", "field-wrong-type")
    h.job("id-mismatch", _valid("someone-else"))
    h.add("id-mismatch", "id-mismatch", "job-id-mismatch")
    h.job("non-finite", b'{"status": "PENDING", "metrics": {"cumulative_cost": NaN}, '
          b'"cost_threshold": Infinity, "time_threshold_minutes": -Infinity}')  # fmt: skip
    h.add("non-finite", "non-finite")  # legal for Python's json (Logist writes it): no finding

    manifest_dir = h.root / "manifest-is-dir"
    (manifest_dir / MANIFEST_NAME).mkdir(parents=True)
    h.add("manifest-is-dir", "manifest-is-dir", "manifest-not-regular-file", verdicts=corrupt)
    fifo = h.root / "manifest-is-fifo"
    fifo.mkdir()
    os.mkfifo(fifo / MANIFEST_NAME)
    h.add("manifest-is-fifo", "manifest-is-fifo", "manifest-not-regular-file", verdicts=corrupt)
    sock_dir = h.root / "manifest-is-socket"
    sock_dir.mkdir()
    with _bound_socket(sock_dir / MANIFEST_NAME):
        pass  # the socket file stays; opening it fails with ENXIO: unreadable for anyone
    h.add("manifest-is-socket", "manifest-is-socket", "manifest-unreadable", verdicts=corrupt)


@contextmanager
def _bound_socket(path: Path) -> Iterator[None]:
    """A socket file at `path`, bound through its directory's descriptor: an AF_UNIX address
    holds 107 bytes, which a deep TMPDIR's absolute path alone can exceed."""
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"/proc/self/fd/{directory}/{path.name}")
        yield
    finally:
        sock.close()
        os.close(directory)


def _index(h: HostileRoot, targets: dict[str, Path]) -> None:
    (h.root / "indexed-inside").mkdir()
    (h.root / "indexed-inside" / MANIFEST_NAME).write_bytes(dumps(_valid("indexed-inside")))
    jobs: dict[str, Any] = {
        "../escape": str(targets["job"]),
        "/etc": "/etc",
        "nul\x00id": "x",
        ".hidden": "x",
        "dotdot-path": "../outside/victim-job",
        "abs-outside": str(targets["job"]),
        "dict-outside": {"job_id": "dict-outside", "status": "EXECUTING",
                         "directory": str(targets["index-dir"])},
        "dict-no-dir": {"job_id": "dict-no-dir", "status": "EXECUTING"},
        "dict-dir-not-text": {"directory": ["a", "b"]},
        "number-entry": 42,
        "list-entry": ["a"],
        "missing": str(h.root / "missing"),
        "indexed-inside": "jobs/../jobs/indexed-inside",
        "\x1b[31mred-index\x1b[0m": str(h.root / "gone"),
    }  # fmt: skip
    index = {"version": {"x": 1}, "jobs": jobs, "queue": "not-a-list", "current_job_id": [1]}
    (h.root / "jobs_index.json").write_bytes(dumps(index))
    h.add("index-id-dotdot", "../escape", "index-bad-id")
    h.add("index-id-absolute", "/etc", "index-bad-id")
    h.add("index-id-nul", "nul\x00id", "index-bad-id")
    h.add("index-id-hidden", ".hidden", "index-bad-id")
    h.add("index-path-dotdot", "dotdot-path", "index-outside-root")
    h.add("index-path-absolute-outside", "abs-outside", "index-outside-root")
    h.add("index-dict-outside", "dict-outside", "index-outside-root")
    h.add("index-dict-without-directory", "dict-no-dir", "index-dangling")
    h.add("index-dict-directory-not-text", "dict-dir-not-text", "index-dangling")
    h.add("index-number-value", "number-entry", "index-bad-entry")
    h.add("index-list-value", "list-entry", "index-bad-entry")
    h.add("index-missing-directory", "missing", "index-dangling")
    h.add("index-escapes-in-id", "\x1b[31mred-index\x1b[0m", "index-dangling")


def _symlinks(h: HostileRoot, targets: dict[str, Path]) -> None:
    (h.root / "link-out").symlink_to(targets["job"])
    h.add("job-dir-symlink-out", "link-out", "job-dir-outside-root", verdicts=("corrupt",))
    (h.root / "link-in").symlink_to(h.root / "indexed-inside")
    h.add("job-dir-symlink-in", "link-in", "job-dir-symlink")
    (h.root / "link-dangling").symlink_to(h.outside / "nowhere")  # not a job: ignored

    job = h.root / "manifest-link"
    (job / BACKUP_DIR).mkdir(parents=True)
    (job / MANIFEST_NAME).symlink_to(targets["manifest"])
    (job / BACKUP_DIR / "job_manifest_20260101T000000_000000.json.backup").write_bytes(
        dumps(_valid("manifest-link", status="PENDING"))
    )
    h.add("manifest-symlink-out", "manifest-link", "manifest-unreadable", verdicts=("corrupt",))

    job = h.job("lock-link", _valid("lock-link"))
    (job / ".lock").symlink_to(targets["lock"])
    h.add("lock-symlink-out", "lock-link", verdicts=("suspect",))

    job = h.job("backups-link", _valid("backups-link"))
    (job / BACKUP_DIR).symlink_to(targets["backups"])
    h.add("backups-symlink-out", "backups-link", verdicts=("crashed",))

    job = h.job("logs-link", _valid("logs-link", owner=None, process_id=None))
    (job / "logs").symlink_to(targets["logs"])
    (job / "heartbeat").symlink_to(targets["heartbeat"])
    h.add("logs-and-heartbeat-symlinks-out", "logs-link", verdicts=("unverified", "stalled"))

    job = h.job("temp-link", _valid("temp-link", status="PENDING"))
    (job / "temp").mkdir()
    (job / "temp" / "old-link").symlink_to(targets["heartbeat"])
    os.utime(job / "temp" / "old-link", (0, 0), follow_symlinks=False)
    h.add("old-temp-symlink-out", "temp-link", "old-temp-files")


def _escapes(h: HostileRoot) -> None:
    job_id = EVIL_ID
    job = h.job(
        job_id,
        _valid(
            job_id,
            description=f"desc {EVIL}",
            history=[
                {"timestamp": None, "event": f"EV{EVIL}", "message": EVIL, "new_status": EVIL},
                {"timestamp": EVIL, "action": EVIL, "summary": EVIL},
            ],
            owner=None,
        ),
    )
    (job / "logs").mkdir()
    (job / "logs" / "runner.log").write_text(f"line {EVIL}\n\x1b[?1049h\x1bc\n")
    h.add("escapes-in-id-description-history-log", job_id, verdicts=("unverified", "stalled"))

    job_id = "esc-status"
    h.job(job_id, _valid(job_id, status=f"\x1b[5m{EVIL}", owner=None))
    h.add("escapes-in-status", job_id, "unknown-status", verdicts=("suspect",))
    job_id = "line\nbreak\rreturn\bback"
    h.job(job_id, _valid(job_id, status="PENDING"))
    h.add("control-characters-in-id", job_id, verdicts=("idle",))

    # valid JSON whose \\u escapes decode to lone surrogates, which UTF-8 cannot encode again
    surrogates = dumps(_valid("lone-surrogates", description="@@")).replace(
        b"@@", b"\\udcff\\ud800 half"
    )
    h.job("lone-surrogates", surrogates)
    h.add("lone-surrogate-escapes", "lone-surrogates", verdicts=("crashed",))

    raw_name = os.fsencode(str(h.root)) + b"/undecodable-\xff\xfe-id"
    os.mkdir(raw_name)
    with open(raw_name + b"/" + MANIFEST_NAME.encode(), "wb") as stream:
        stream.write(dumps(_valid("undecodable", status="PENDING")))
    h.add("undecodable-bytes-in-id", os.fsdecode(raw_name).rsplit("/", 1)[1], verdicts=("idle",))


def build_hostile_root(base: Path) -> HostileRoot:
    root, outside = base / "jobs", base / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    h = HostileRoot(root, outside)
    targets = _stage_outside(outside)
    for stage in (_broken_manifests, _escapes):
        stage(h)
    _index(h, targets)
    _symlinks(h, targets)
    return h


UNREADABLE: list[tuple[str, Callable[[Path], None], str]] = [
    ("unreadable-manifest", lambda job: (job / MANIFEST_NAME).chmod(0), "manifest-unreadable"),
    ("unreadable-job-dir", lambda job: job.chmod(0), "manifest-unreadable"),
    ("unsearchable-job-dir", lambda job: job.chmod(0o600), "manifest-unreadable"),
]


def build_unreadable_root(base: Path) -> HostileRoot:
    """Files and directories the reader has no permission for (needs a reader without
    CAP_DAC_OVERRIDE: as root, chmod alone blocks nothing)."""
    root, outside = base / "jobs", base / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    h = HostileRoot(root, outside)
    for name, lock_out, code in UNREADABLE:
        job = h.job(name, _valid(name))
        lock_out(job)
        h.add(name, name, code, verdicts=("corrupt",))
    job = h.job("unreadable-backups", b"{broken")
    (job / BACKUP_DIR).mkdir()
    (job / BACKUP_DIR / "job_manifest_20260101T000000_000000.json.backup").write_bytes(
        dumps(_valid("unreadable-backups"))
    )
    (job / BACKUP_DIR).chmod(0)
    h.add(
        "unreadable-backups", "unreadable-backups", "manifest-invalid-json", verdicts=("corrupt",)
    )
    (root / "jobs_index.json").write_bytes(b'{"jobs": {}}')
    (root / "jobs_index.json").chmod(0)
    h.add("unreadable-index", None, "index-unreadable")
    return h
