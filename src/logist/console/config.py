"""The console's own settings between runs: theme, each pane's sort, and the poll interval.

Kept in `$XDG_CONFIG_HOME/logist/console.json` (`~/.config/logist/console.json` by default),
JSON because the standard library reads and writes it. The file is read tolerantly (a broken
or foreign file gives the defaults and a one-line reason, never a crash) and written whole,
atomically, when the console exits. Nothing here imports Textual.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from logist.core._manifest import atomic_write_bytes

CONFIG_NAME = "console.json"
MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """What the operator chose last time; None: the console's default."""

    theme: str | None = None
    interval: float | None = None
    sort: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    """Pane name -> (column label or None for the natural order, reversed)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "theme": self.theme,
            "interval": self.interval,
            "sort": {pane: {"column": c, "reverse": r} for pane, (c, r) in self.sort.items()},
        }


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    home = Path(base) if os.path.isabs(base) else Path.home() / ".config"  # the XDG rule
    return home / "logist" / CONFIG_NAME


def load_settings(path: Path) -> tuple[Settings, str | None]:
    """The settings in `path` (defaults when it is missing), and why it was ignored if it was."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Settings(), None
    except OSError as exc:
        return Settings(), f"{path}: {exc.strerror or exc}"
    if len(raw) > MAX_BYTES:
        return Settings(), f"{path}: over {MAX_BYTES // 1024} KiB, ignored"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Settings(), f"{path}: not valid JSON ({exc}), ignored"
    if not isinstance(data, dict):
        return Settings(), f"{path}: not a JSON object, ignored"
    theme = data.get("theme")
    interval = data.get("interval")
    sort: dict[str, tuple[str | None, bool]] = {}
    panes = data.get("sort")
    for pane, value in panes.items() if isinstance(panes, dict) else ():
        if isinstance(value, dict):
            column = value.get("column")
            sort[str(pane)] = (
                column if isinstance(column, str) else None,
                value.get("reverse") is True,
            )
    return Settings(
        theme=theme if isinstance(theme, str) and theme else None,
        interval=(
            float(interval)
            if isinstance(interval, int | float)
            and not isinstance(interval, bool)
            and 0.2 <= interval <= 3600
            else None
        ),
        sort=sort,
    ), None


def save_settings(path: Path, settings: Settings) -> None:
    """Write the whole file atomically (a crash leaves the old one or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(settings.to_dict(), indent=2).encode() + b"\n")
