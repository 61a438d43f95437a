"""Turning backend values into short, safe strings for the screen.

Everything here is pure and free of Textual, so the poll worker can format rows off the event
loop. Untrusted text (ids, descriptions, reasons, paths, log lines) goes through `safe()`: it is
never parsed as markup anywhere in the console (cells are plain segments, other widgets get
`Content`/`Text` objects), and control characters are made visible so that a job cannot move
the cursor, recolour the terminal or reverse the text direction of an operator's screen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import timedelta

import humanize

from logist.core import Health, Severity, VerdictKind

# C0 and C1 controls, DEL, and the invisible format characters that can spoof what is shown
# (zero-width spaces, bidi embeddings/overrides/isolates, BOM).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return " "
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """Untrusted text as one printable line: control and format characters made visible.
    `str.isprintable` first: it refuses every character escaped here, and is a fraction of the
    search's cost on the texts of every row of a big root (nearly all printable)."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable() or _UNSAFE.search(value) is None:
        return value
    return _UNSAFE.sub(_escape, value)


def age(seconds: float | None) -> str:
    """A coarse age (`42s`, `17m`, `3.2h`, `4d`): coarse so table cells change rarely.

    Hand-made on purpose: the table's age column is 5 cells wide and `humanize` has no form that
    narrow (`naturaldelta` says "17 minutes"); everywhere with room, `humanize` speaks.
    """
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds // 86400:.0f}d"


def age_until(seconds: float) -> tuple[str, float]:
    """`age(seconds)` and the age (in seconds) up to which it shows that text: it may change
    there, never before. Worked out from the text itself, so the two agree even where a
    rounding is a tie (`42s` turns at 42.5 s, `3.2h` at 3.25 h). A table looks at a drawn
    line's age again only then (see `age_since`)."""
    text = age(seconds)
    if seconds < 60:
        return text, min(int(text[:-1]) + 0.5, 60.0)
    if seconds < 3600:
        return text, (seconds // 60 + 1) * 60
    if seconds < 48 * 3600:
        return text, min((round(float(text[:-1]) * 10) + 0.5) * 360, 172800.0)
    return text, (seconds // 86400 + 1) * 86400


def age_since(minus_activity: float | None, now: float) -> tuple[str, float]:
    """The age text at `now` of an activity time given as minus itself (what an age column
    sorts by: the rows hold no text that time would make stale), and the time up to which
    that text stands (infinity: for good). `now + minus_activity` is `now - activity` to
    the last bit (IEEE subtraction is the addition of the negation)."""
    if minus_activity is None:
        return "-", math.inf
    text, until = age_until(now + minus_activity)
    return text, until - minus_activity


def duration(seconds: float | None) -> str:
    """A precise duration where there is room (`1 hour and 2 minutes`, `3 minutes and 5
    seconds`): to the second under an hour, to the minute above."""
    if seconds is None:
        return "-"
    seconds = round(max(0.0, seconds))
    unit = "seconds" if seconds < 3600 else "minutes"
    return humanize.precisedelta(timedelta(seconds=seconds), minimum_unit=unit, format="%0.0f")


def ago(seconds: float) -> str:
    """`2 minutes ago`, `3 days ago`: how long ago, for the detail view."""
    return humanize.naturaltime(timedelta(seconds=max(0.0, seconds)))


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def phase(index: int | None, count: int) -> str:
    if not count:
        return "-"
    return f"{index or '?'}/{count}"


# Styles that read in every theme and without colour. Urgent verdicts, error findings and the
# health badge are bold black on a bright background: with NO_COLOR Textual draws in greys (by
# brightness), where such a badge turns light grey with black text, the most visible thing on a
# dark line (plain "red" for hung once came out as plain text; a reversed colour, and white on
# dark red, came out as dark grey on near-black). The other
# colours are mid-tones that read on dark and light backgrounds alike (plain "yellow" and "cyan"
# vanished on textual-light). Hex, because both Rich (table cells) and Textual (Content) parse
# it; Textual's Content silently dropped xterm names like "red3".
URGENT_RED = "bold #000000 on #ff5f5f"
VERDICT_STYLE: dict[VerdictKind, str] = {
    VerdictKind.CORRUPT: "bold #000000 on #ff87ff",
    VerdictKind.CRASHED: URGENT_RED,
    VerdictKind.HUNG: URGENT_RED,
    VerdictKind.DETACHED: "bold #000000 on #ffaf00",
    VerdictKind.WAITING: "bold #af5f00",
    VerdictKind.SUSPECT: "bold #af5f00",
    VerdictKind.STALLED: "#af5f00",
    VerdictKind.REMOTE_STALE: "#af5f00",
    VerdictKind.UNVERIFIED: "#0087af",
    VerdictKind.REMOTE: "#0073c7",
    VerdictKind.RUNNING: "#008700",
    VerdictKind.IDLE: "",
    VerdictKind.DONE: "dim",
}

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.ERROR: URGENT_RED,
    Severity.WARNING: "bold #af5f00",
    Severity.INFO: "dim",
}

HEALTH_STYLE: dict[Health, str] = {
    Health.HEALTHY: "bold #000000 on #5fd75f",
    Health.DEGRADED: "bold #000000 on #ffaf00",
    Health.CRITICAL: URGENT_RED,
    Health.UNKNOWN: "bold #000000 on #ff87ff",
}


def evidence_items(evidence: dict[str, object]) -> Iterable[tuple[str, str]]:
    """Evidence as (label, value) pairs in a stable, readable order."""
    for key, value in evidence.items():
        if value is None or (key == "child" and value == "none"):
            continue  # a command whose liveness was not looked at (its owner is alive)
        if key.endswith("_age_s") and isinstance(value, int | float):
            yield key.removesuffix("_s").replace("_", " "), age(float(value))
        else:
            yield key.replace("_", " "), safe(value)
