"""Scrolling widgets whose content length changes without laying out the whole screen.

Textual's `virtual_size` is a layout reactive: a table filtered to another row count, a log
line appended, a character typed in an input each laid out the screen again, and a layout
repaints every widget on it (at 200x60 with 100,000 jobs 50 to 100 ms of the event loop, the
worst of a filter key). A change of the scrollable size alone concerns the widget and its
scrollbars: here it repaints the widget and updates its scrollbars, and the screen is laid out
only when a scrollbar appears or goes (Textual's scrollbar `display` does that itself).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.geometry import Size
from textual.reactive import Reactive
from textual.scroll_view import ScrollView
from textual.widgets import Input, Log

from .lean import LeanScrollBars


class QuietScrolling:
    """Put first among the bases of a ScrollView: its `virtual_size` repaints it instead of
    laying out the screen. Not a widget itself: Textual takes a widget's CSS type names and
    component classes from the first widget among its bases, which stays the real one."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self: ScrollView, size: Size) -> None:
        # what a layout would have done for this widget alone (Textual 8.2: `_scroll_update`
        # is what the screen's layout calls for each scrolling widget whose size changed)
        if self.is_mounted:
            self._scroll_update(size)

    def _size_updated(
        self: ScrollView,
        size: Size,
        virtual_size: Size,
        container_size: Size,
        layout: bool = True,
    ) -> bool:
        """ScrollView's, given the view's own scrollable size. A layout hands every scrolling
        view its region's size as the virtual size, which ScrollView compares with its
        content's, never the same: each layout (the filter opened or closed, the side detail
        shown) updated and repainted every scrolling view's scrollbars and what lies under
        them, though no size had changed. A new size or container size still updates them."""
        return super()._size_updated(size, self.virtual_size, container_size, layout)  # type: ignore[misc]


MEASURED_AT_ONCE = 500
"""Up to this many lines written at once are measured while written (see `QuietLog`)."""


class QuietLog(LeanScrollBars, QuietScrolling, Log):
    """Textual's Log: appending lines or clearing it lays out nothing, and a few lines
    written are measured at once (Log measures every write in a thread of its own, whose
    answer came as a second frame: at each job the side detail showed, a thread more holding
    the GIL and ~5-10 ms more of the event loop)."""

    def _update_size(self, updates: int, lines: list[str]) -> None:
        if len(lines) > MEASURED_AT_ONCE:
            super()._update_size(updates, lines)  # (Log's thread)
        elif lines:
            measure = self._process_line
            self._update_maximum_width(updates, max(cell_len(measure(line)) for line in lines))


class QuietInput(QuietScrolling, Input):
    """Textual's Input: typing in it lays out nothing (its width is set by the stylesheet)."""
