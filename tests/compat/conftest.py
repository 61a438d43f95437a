"""The original-compat tier: the original Logist, installed into a virtual environment of its own,
makes roots and reads ours, in subprocesses (both packages are named `logist`).

The install is cached between runs under `$XDG_CACHE_HOME/logist-recovery/` keyed by the
tarball's hash, so only a first run pays for it (a few seconds with uv). The tier is skipped, with
the reason, only where the original cannot be installed: no tarball, no uv, or no network and no
cached wheels for its dependencies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

DRIVER = Path(__file__).with_name("original_driver.py")
TARBALL_ENV = "LOGIST_ORIGINAL_TARBALL"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "logist-recovery"
"""Read at import: a session fixture of the suite points XDG_CACHE_HOME at a temp dir later."""


def find_tarball() -> Path | None:
    """$LOGIST_ORIGINAL_TARBALL, else `shared/original-logist/logist-*.tar.gz` beside the
    repository or one of its parents (worktrees live one level further down)."""
    explicit = os.environ.get(TARBALL_ENV)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    for parent in Path(__file__).resolve().parents:
        found = sorted((parent / "shared" / "original-logist").glob("logist-*.tar.gz"))
        if found:
            return found[-1]
    return None


@dataclass(frozen=True)
class Original:
    """The original Logist's interpreter and source, and a way to run its code."""

    python: Path
    source: Path

    @property
    def examples(self) -> Path:
        return self.source / "tests"

    def run(self, command: str, jobs_dir: Path, arg: str = "") -> Any:
        """Run one driver command in the original's interpreter; its result, or fail the test
        with the original's traceback."""
        jobs_dir.parent.mkdir(parents=True, exist_ok=True)
        result_file = jobs_dir.parent / f".original-{command}.json"
        done = subprocess.run(
            [str(self.python), "-I", str(DRIVER), command, str(jobs_dir), str(result_file), arg],
            cwd=jobs_dir.parent,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if not result_file.exists():
            pytest.fail(
                f"original driver {command} died ({done.returncode}): {done.stderr[-2000:]!r}"
            )
        result = json.loads(result_file.read_text())
        result_file.unlink()
        if "error" in result:
            pytest.fail(f"the original's code raised in {command}:\n{result['error']}")
        return result["ok"]


def _install(tarball: Path) -> Original:
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    home = CACHE / f"original-{digest}"
    home.mkdir(parents=True, exist_ok=True)
    python = home / "venv" / "bin" / "python"
    with FileLock(str(home / ".install.lock")):
        if (home / "installed").exists():
            return Original(python, next((home / "src").iterdir()))
        uv = shutil.which("uv")
        if uv is None:
            pytest.skip("the original Logist cannot be installed: `uv` is not on PATH")
        shutil.rmtree(home / "src", ignore_errors=True)
        shutil.rmtree(home / "venv", ignore_errors=True)
        with tarfile.open(tarball) as archive:
            archive.extractall(home / "src", filter="data")
        source = next((home / "src").iterdir())
        for args in (
            [uv, "venv", "-q", str(home / "venv")],
            # psutil: imported by its recovery code, not declared in its pyproject
            [uv, "pip", "install", "-q", "--python", str(python), "-e", str(source), "psutil"],
        ):
            done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                pytest.skip(
                    "the original Logist cannot be installed here "
                    f"({' '.join(args[1:3])} failed: {done.stderr.strip()[-300:]})"
                )
        (home / "installed").write_text(f"{tarball}\n")
        return Original(python, source)


@pytest.fixture(scope="session")
def original() -> Original:
    tarball = find_tarball()
    if tarball is None:
        pytest.skip(
            f"the original Logist's tarball was not found (set ${TARBALL_ENV}, or keep "
            "shared/original-logist/ beside the repository)"
        )
    return _install(tarball)
