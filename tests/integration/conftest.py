"""Fixtures of the integration tier: a process registry, and a sibling of the jobs root that no
test may change."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from staging import procs, tree_state

__all__ = ["cache_home", "outside", "procs"]


@pytest.fixture(autouse=True)
def outside(tmp_path: Path) -> Iterator[Path]:
    """A directory beside the jobs root that looks like a job; after every test it must be
    byte-for-byte, mode and mtime unchanged: nothing is ever written outside the root."""
    sibling = tmp_path / "outside"
    sibling.mkdir()
    manifest = {"job_id": "outside", "status": "EXECUTING", "history": []}
    (sibling / "job_manifest.json").write_text(json.dumps(manifest))
    (sibling / ".lock").touch()
    (sibling / "notes.txt").write_text("keep me\n")
    before = tree_state(sibling)
    yield sibling
    assert tree_state(sibling) == before, "something was written outside the jobs root"


@pytest.fixture
def cache_home(tmp_path: Path) -> Iterator[Path]:
    """A private $XDG_CACHE_HOME for one test; yields where logist keeps its caches in it."""
    home = tmp_path / "cache-home"
    saved = os.environ["XDG_CACHE_HOME"]
    os.environ["XDG_CACHE_HOME"] = str(home)
    yield home / "logist"
    os.environ["XDG_CACHE_HOME"] = saved
