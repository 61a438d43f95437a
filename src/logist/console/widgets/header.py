"""The one-line header: root, host, overall health, refresh age, marks, and the modes in force.

The number of marked jobs lives here, not in a pane's title: a mark then repaints one line.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from logist.core import Health, WatchStatus

from ..text import HEALTH_STYLE, age, safe


class HeaderBar(Widget):
    """Repaints only when its text changes (the refresh age ticks once a second)."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $panel; color: $foreground; }
    """

    def __init__(
        self, *, root: str, host: str, read_only: bool, demo: bool, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.root = safe(root)
        self.host = safe(host)
        self.health: Health | None = None
        self.refreshed_at: float | None = None
        self.now: float | None = None
        self.paused = False
        self.read_only = read_only
        self.demo = demo
        self.failing = False
        self.marked = 0
        self.new = 0
        self.still = False
        """One frame for a file (`--screenshot`): no refresh age, nothing that ticks."""
        """Jobs newly crashed, hung or detached that the operator has not looked at yet."""
        self.watch: WatchStatus | None = None
        """The root's `logist watch` as it last described itself (None: never ran here)."""
        self._shown: tuple[object, ...] = ()

    def set_state(self, **values: object) -> None:
        """Set any of the public attributes; repaint if what is shown changed."""
        for name, value in values.items():
            setattr(self, name, value)
        self._repaint_if_changed()

    def _right(self) -> list[tuple[str, str]]:
        parts: list[tuple[str, str]] = []
        if self.health is not None:
            parts.append((f" {self.health.value.upper()} ", HEALTH_STYLE[self.health]))
        if self.still:
            pass  # a frame for a file: nothing in it ticks
        elif self.refreshed_at is None:
            parts.append((" scanning…", "italic"))
        else:
            seen = age(None if self.now is None else self.now - self.refreshed_at)
            parts.append((f" refreshed {seen} ago", "bold red" if self.failing else ""))
        parts.extend(self._watch_parts())
        if self.new:
            parts.append((f" {self.new:,} new ", "bold reverse"))
        if self.marked:
            parts.append((f" {self.marked:,} marked ", "bold reverse"))
        if self.paused:
            parts.append((" PAUSED ", "bold black on yellow"))
        if self.read_only:
            parts.append((" READ-ONLY ", "bold black on cyan"))
        if self.demo:
            parts.append((" DEMO ", "bold black on white"))
        return parts

    def _watch_parts(self) -> list[tuple[str, str]]:
        """pid, last pass and auto mode of an active watch; the brake with its reset key."""
        watch = self.watch
        if watch is None:
            return []
        if not watch.active:
            return [(" watch off", "dim")]
        seen = (
            "-"
            if watch.last_pass_at is None or self.now is None
            else age(self.now - watch.last_pass_at)
        )
        parts = [(f" watch {watch.pid} {seen}" + (" auto" if watch.auto != "off" else ""), "")]
        if watch.brake:
            parts.append((" AUTO PAUSED (W) ", "bold white on red"))
        return parts

    def _repaint_if_changed(self) -> None:
        shown = (tuple(self._right()), self.size.width)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Content:
        right = self._right()
        right_len = sum(cell_len(text) for text, _ in right) + 1
        left_fixed = " Logist  "
        host = f"  @{self.host}"
        room = self.size.width - right_len - cell_len(left_fixed) - cell_len(host)
        root = self.root
        if cell_len(root) > room:
            root = "…" + root[-max(0, room - 1) :] if room > 1 else ""
        pad = max(0, room - cell_len(root))
        return Content.assemble(
            (left_fixed, "bold"),
            (root, ""),
            (host, "dim"),
            " " * pad,
            *right,
            " ",
        )
