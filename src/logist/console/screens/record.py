"""One Activity row in full: every field of the audit record (or of this session's result).

The Activity table shows a line per action, cut to the width; an operator who asks "which pids
were signalled, what did the job end as, who did it" reads the whole record here. Every value is
untrusted text from the root: shown literally, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..text import safe

INDENT = "  "
FRAME_ROWS = 6
"""The dialog's border (2), its title (2) and a free row above and below it."""


def record_lines(record: Mapping[str, Any], depth: int = 0) -> Iterable[Content]:
    """`key  value` lines; nested objects indented under their key, lists one item a line."""
    width = max((len(safe(key)) for key in record), default=0)
    for key, value in record.items():
        label = f"{INDENT * depth}{safe(key):<{width}}  "
        if isinstance(value, Mapping) and value:
            yield Content.styled(label.rstrip(), "bold")
            yield from record_lines(value, depth + 1)
        elif isinstance(value, list) and value:
            yield Content.styled(label.rstrip(), "bold")
            for item in value:
                if isinstance(item, Mapping):
                    yield Content(f"{INDENT * (depth + 1)}-")
                    yield from record_lines(item, depth + 2)
                else:
                    yield Content(f"{INDENT * (depth + 1)}- {_scalar(item)}")
        else:
            yield Content.assemble((label, "bold"), _scalar(value))


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return safe(value)
    return safe(json.dumps(value, default=str))


class RecordScreen(ModalScreen[None]):
    """Esc (or Enter) closes; the record scrolls when it is longer than the screen."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, *, title: str, record: Mapping[str, Any]) -> None:
        super().__init__()
        self.title_text = title
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="record-dialog"):
            yield Static(Content.styled(safe(self.title_text), "bold"), id="record-title")
            with VerticalScroll(id="record-body"):
                yield Static(Content("\n").join(record_lines(self.record)), id="record-text")

    def on_mount(self) -> None:
        self.query_one("#record-body").focus()

    def on_resize(self, event: events.Resize) -> None:
        """The body scrolls inside the dialog: it gets what the frame and title leave."""
        self.query_one("#record-body").styles.max_height = max(3, event.size.height - FRAME_ROWS)

    def action_close(self) -> None:
        self.dismiss(None)
