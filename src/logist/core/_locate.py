"""Where the jobs root is, and whether a directory is one.

Apart from `_root` (what the root holds) so that `logist run` finds and checks its root before
it execs the supervisor without loading the scanner: this module imports only `os` (pathlib
when a root is resolved), and `_index` takes the index's names from here.
"""

from __future__ import annotations

import os

from ._errors import RootNotFound

TYPE_CHECKING = False  # typing's, without importing typing (see above)
if TYPE_CHECKING:
    from pathlib import Path

STATE_DIR = ".logist"
ENV_VAR = "LOGIST_JOBS_DIR"
INDEX_NAME = "jobs_index.json"
INDEX_LOCK_NAME = ".jobs_index.lock"


def resolve_root(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """`--root` > $LOGIST_JOBS_DIR > a `jobs/` dir from cwd upward (5 levels) > ~/.logist/jobs."""
    from pathlib import Path

    if explicit:
        candidate = Path(explicit).expanduser()
        if not candidate.is_dir():
            raise RootNotFound(f"jobs root {candidate} does not exist or is not a directory")
        return candidate.absolute()
    env = os.environ.get(ENV_VAR)
    if env:
        candidate = Path(env).expanduser()
        if not candidate.is_dir():
            raise RootNotFound(f"${ENV_VAR}={env} does not exist or is not a directory")
        return candidate.absolute()
    here = (cwd or Path.cwd()).absolute()
    for directory in [here, *here.parents][:6]:
        if (directory / "jobs").is_dir():
            return directory / "jobs"
    home = Path("~/.logist/jobs").expanduser()
    if home.is_dir():
        return home
    raise RootNotFound(
        "no jobs root found (tried --root, $LOGIST_JOBS_DIR, ./jobs upward, ~/.logist/jobs); "
        "try `logist console --demo` for a demo root"
    )


ROOT_MARKERS = (INDEX_NAME, INDEX_LOCK_NAME, f"{STATE_DIR}/audit.jsonl")
"""Files only a jobs root holds (Logist's index and its lock, our audit log)."""
JOB_MARKERS = ("job_manifest.json", ".lock", ".backups")
"""What makes a directory a job (the README's rule for a plain directory)."""


def not_a_jobs_root(root: Path) -> tuple[str, Path | None] | None:
    """Why `root` is not a jobs root and where the jobs probably are, or None when it is one.

    An empty directory is a valid empty root (a new one). A directory with entries of which none
    is a job and no index (`/etc`, a home directory, a project holding `jobs/`) is not: judging
    it would report "healthy, 0 jobs", which is not true of anything. Stops at the first job
    found, so a real root costs one directory read and a stat or two. An unreadable root is
    None here: the root checks report it.
    """
    if any(os.path.lexists(root / marker) for marker in ROOT_MARKERS):
        return None
    entries = 0
    try:
        with os.scandir(root) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                entries += 1
                try:
                    if entry.is_dir(follow_symlinks=False) and any(
                        os.path.lexists(os.path.join(entry.path, m)) for m in JOB_MARKERS
                    ):
                        return None
                except OSError:
                    continue
    except OSError:
        return None
    if not entries:
        return None
    suggestion = next(
        (c for c in (root / "jobs", root / STATE_DIR / "jobs") if c.is_dir() and c != root), None
    )
    message = f"{root} is not a jobs root (no {INDEX_NAME} and no job directory in it)"
    if suggestion is not None:
        message += f"; did you mean {suggestion}?"
    return message, suggestion
