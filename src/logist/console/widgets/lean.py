"""Lines handed to the compositor without Textual's per-line styling pass where it has nothing
to do: the tables' rows, and the scrolling views' scrollbars.

Textual draws each line of a widget through its styles cache, which puts the border, padding,
outline, tint, opacity and hatch around it and makes a new Strip of it, and then through the
app's line filters. A table with none of those gets nothing from that pass but its cost, and the
new strip each time loses the filter and crop results Textual caches on a strip. Measured at
200x60 on a 26-line table whose rows were drawn already: 0.85 ms a repaint, of which its own
`render_line` was 0.15 ms. A scrollbar was drawn in full again at every repaint, through Rich:
about 1 ms for 26 lines, and a filter key repaints three of them.
"""

from __future__ import annotations

from rich.color import Color
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual.geometry import NULL_SPACING, Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget


def _plain(widget: Widget) -> bool:
    """Whether Textual's styling pass would leave each line as drawn."""
    styles = widget.styles
    return (
        styles.gutter == NULL_SPACING
        and not any(edge for edge, _ in styles.outline)
        and not styles.tint.a
        and styles.text_opacity == 1.0
        and (not styles.has_rule("hatch") or styles.hatch == "none")
        and widget.opacity == 1.0
    )


def filtered(widget: Widget, lines: list[Strip], crop: Region) -> list[Strip]:
    """What Textual's styles cache does to lines after its styling pass: the app's line filters
    (cached on each strip, which is why the same strip is handed over again), and the crop."""
    filters = widget.get_line_filters()
    if filters:
        background = widget.background_colors[1]
        for filter in filters:
            lines = [line.apply_filter(filter, background) for line in lines]
    x1, x2 = crop.column_span
    if (x1, x2) != (0, widget.size.width):
        lines = [line.crop(x1, x2) for line in lines]
    return lines


class LeanLines:
    """Put first among the bases of a widget whose `render_line` makes whole lines of its width:
    while no border, padding, outline, tint, opacity or hatch is set on it, its lines go to the
    compositor as drawn (with the app's line filters), not through Textual's styles cache."""

    def render_lines(self: Widget, crop: Region) -> list[Strip]:  # type: ignore[misc]
        if not _plain(self):
            return super().render_lines(crop)  # type: ignore[misc]
        width = self.size.width
        base = self.visual_style.rich_style
        render_line = self.render_line
        lines = [render_line(y).adjust_cell_length(width, base) for y in crop.line_range]
        return filtered(self, lines, crop)


class LeanScrollBars:
    """Put first among the bases of a scrolling widget: its scrollbars are `LeanScrollBar`s
    (Widget's own properties, with that class)."""

    @property
    def vertical_scrollbar(self: Widget) -> ScrollBar:  # type: ignore[misc]
        if self._vertical_scrollbar is None:
            thickness = self.scrollbar_size_vertical
            self._vertical_scrollbar = _started(self, vertical=True, thickness=thickness)
        return self._vertical_scrollbar

    @property
    def horizontal_scrollbar(self: Widget) -> ScrollBar:  # type: ignore[misc]
        if self._horizontal_scrollbar is None:
            thickness = self.scrollbar_size_horizontal
            self._horizontal_scrollbar = _started(self, vertical=False, thickness=thickness)
        return self._horizontal_scrollbar


def _started(widget: Widget, *, vertical: bool, thickness: int) -> ScrollBar:
    name = "vertical" if vertical else "horizontal"
    bar = LeanScrollBar(vertical=vertical, name=name, thickness=thickness)
    bar.display = False
    widget.app._start_widget(widget, bar)
    return bar


class LeanScrollBar(ScrollBar):
    """Textual's scrollbar, drawn again only when what it shows changed (its size, extent,
    position, colours): a table's repaint refreshes its scrollbar even when it stays as it was.
    Drawn as Textual draws it, without the styles cache's pass (a scrollbar has no box)."""

    def __init__(self, *, vertical: bool, name: str, thickness: int) -> None:
        super().__init__(vertical=vertical, name=name, thickness=thickness)
        self._drawn: tuple[object, list[Strip]] | None = None
        """(what the lines show, the lines)."""
        self._line_of: dict[tuple[str, Style | None, Style], Strip] = {}
        """A vertical bar's lines by their segment and the widget's style: a few, each one
        strip whatever the position, so the app's line filters run once for each (Textual
        caches their result on the strip)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        if not _plain(self):
            return super().render_lines(crop)
        bar = self.render()  # Textual's choice of shape and colours, as a ScrollBarRender
        base = self.visual_style.rich_style  # (a new theme: the bar's colours may stay)
        shown = (self.size, base, type(bar), tuple(vars(bar).values()))
        if self._drawn is None or self._drawn[0] != shown:
            self._drawn = (shown, self._draw(bar))
        lines = self._drawn[1][crop.y : crop.bottom]
        return filtered(self, lines, crop)

    def _draw(self, bar: RenderableType) -> list[Strip]:
        """Every line of the bar. A vertical ScrollBarRender is drawn from its segments, one a
        line, as Rich would draw it under the widget's style (0.2 ms for 26 lines, against
        0.9 ms through Rich); anything else through Rich, as Textual does."""
        width, height = self.size
        base = self.visual_style.rich_style
        if isinstance(bar, ScrollBarRender) and bar.vertical:
            colours = bar.style if isinstance(bar.style, Style) else Style.parse(bar.style)
            segments = bar.render_bar(
                size=height,
                window_size=bar.window_size,
                virtual_size=bar.virtual_size,
                position=bar.position,
                vertical=True,
                thickness=width,
                back_color=colours.bgcolor or Color.parse("#555555"),
                bar_color=colours.color or Color.parse("bright_magenta"),
            ).segments
            if len(self._line_of) > 64:  # glyphs by colours: a dozen or two, unless restyled
                self._line_of.clear()
            lines = []
            for text, style, _ in segments:
                line = self._line_of.get((text, style, base))
                if line is None:
                    line = Strip([Segment(text, base + style)], width)
                    self._line_of[text, style, base] = line
                lines.append(line)
        else:
            lines = Visual.to_strips(self, visualize(self, bar), width, height, self.visual_style)
        lines = [line.adjust_cell_length(width, base) for line in lines[:height]]
        return lines + [Strip.blank(width, base)] * (height - len(lines))
