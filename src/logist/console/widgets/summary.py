"""The summary strip over the jobs table: how many jobs per verdict, worst first."""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from logist.core import VerdictKind

from ..text import VERDICT_STYLE


class SummaryStrip(Widget):
    """`50 jobs: 3 crashed · 1 hung · … · 30 done`, tighter when the pane is narrow.

    Repaints only when a count changes.
    """

    DEFAULT_CSS = """
    SummaryStrip { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._counts: tuple[tuple[VerdictKind, int], ...] = ()
        self._of: int | None = None
        """The root's job count while only a first look at it is shown."""

    def update_counts(
        self, counts: tuple[tuple[VerdictKind, int], ...], *, of: int | None = None
    ) -> None:
        if (counts, of) != (self._counts, self._of):
            self._counts, self._of = counts, of
            self.refresh()

    def render(self) -> Content:
        if not self._counts:
            return Content.styled("no jobs yet", "dim italic")
        total = sum(n for _, n in self._counts)
        shown = f"{total:,}" if self._of is None else f"{total:,} of {self._of:,}"
        scanning = "" if self._of is None else ", scanning"
        width = self.content_region.width
        for head, separator in ((f"{shown} jobs{scanning}: ", " · "), (f"{shown}: ", " ")):
            parts: list[str | tuple[str, str]] = [(head, "bold")]
            for index, (kind, count) in enumerate(self._counts):
                if index:
                    parts.append(separator)
                parts.append((f"{count:,} {kind.value}", VERDICT_STYLE[kind] or "bold"))
            content = Content.assemble(*parts)
            if cell_len(content.plain) <= width:
                return content
        return content.truncate(width, ellipsis=True)
