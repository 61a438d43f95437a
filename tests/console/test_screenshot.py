"""`logist console --screenshot`: one headless frame for CI, the same bytes for the same root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from logist.console.screenshot import take_screenshot
from logist.core import JobRecoveryManager

from .support import NOW, SNAPSHOT_ROOT, build_snapshot_root


def test_two_frames_of_the_same_root_at_the_same_frozen_time_are_byte_identical(
    tmp_path: Path,
) -> None:
    with FileLock(f"{SNAPSHOT_ROOT.parent}.lock"):
        root = build_snapshot_root()
        codes = []
        for name in ("first.svg", "second.svg"):
            manager = JobRecoveryManager(root, clock=lambda: NOW)
            codes.append(
                take_screenshot(manager, tmp_path / name, (120, 40), clock=lambda: NOW, host="ci")
            )
    first, second = ((tmp_path / name).read_bytes() for name in ("first.svg", "second.svg"))
    assert first == second
    text = first.decode()
    # the same panes and data as on a terminal: every pane, the crashed jobs, no ticking clock
    for shown in ("Jobs", "Crashed", "Findings", "render-report-q3", "corrupt-billing-export"):
        assert shown.replace("-", "") in text.replace("-", "").replace("&#160;", "")
    assert "refreshed" not in text and "scanning" not in text
    assert codes == [2, 2]  # CRITICAL, as `logist status` says


def test_the_cli_writes_the_frame_and_exits_like_status(tmp_path: Path) -> None:
    with FileLock(f"{SNAPSHOT_ROOT.parent}.lock"):
        root = build_snapshot_root()
        frame = tmp_path / "frame.svg"
        shot = subprocess.run(
            [
                sys.executable,
                "-m",
                "logist",
                "console",
                "--root",
                str(root),
                "--screenshot",
                str(frame),
                "--size",
                "100x30",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        status = subprocess.run(
            [sys.executable, "-m", "logist", "status", "--root", str(root)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert shot.returncode == status.returncode == 2, shot.stderr
    assert frame.read_text().startswith("<svg")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "logist",
            "console",
            "--root",
            str(root),
            "--screenshot",
            str(frame),
            "--size",
            "10x5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 3 and "80x24" in bad.stderr  # UNKNOWN, like status's own failures
