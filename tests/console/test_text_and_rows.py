"""Formatting and filtering: pure functions, no app."""

from __future__ import annotations

from logist.console.rows import Row
from logist.console.text import age, safe
from logist.core import FilterQuery


def _row(job_id: str, verdict: str, status: str, text: str = "") -> Row:
    return Row(
        key=job_id,
        job_id=job_id,
        cells=(job_id,),
        styles=("",),
        sort_keys=((0, job_id),),
        rank=(job_id,),
        search=f"{job_id}\n{text}".lower(),
        facets=(("verdict", verdict), ("status", status.lower())),
    )


def test_safe_makes_controls_and_spoofing_characters_visible_and_keeps_the_rest() -> None:
    assert safe("[b]x") == "[b]x"
    assert safe("a\x1b[31mb") == "a\\x1b[31mb"
    assert safe("line\nbreak\ttab") == "line\\x0abreak tab"
    assert safe("\u202eevil") == "\\u202eevil"
    assert safe("naïve 日本") == "naïve 日本"


def test_ages_are_coarse_so_that_cells_rarely_change() -> None:
    assert [age(s) for s in (None, 5, 61, 3600 * 5, 86400 * 3)] == ["-", "5s", "1m", "5.0h", "3d"]


def test_a_filter_combines_free_text_prefixes_alternatives_and_negation() -> None:
    rows = [
        _row("etl-1", "crashed", "EXECUTING", "clickstream"),
        _row("etl-2", "running", "EXECUTING"),
        _row("report", "done", "SUCCESS", "clickstream"),
    ]

    def keys(text: str) -> list[str]:
        query = FilterQuery.parse(text)
        return [r.key for r in rows if query.matches(r)]

    assert keys("") == ["etl-1", "etl-2", "report"]
    assert keys("click") == ["etl-1", "report"]
    assert keys("verdict:crash,run") == ["etl-1", "etl-2"]
    assert keys("status:exec -verdict:running") == ["etl-1"]
    assert keys("CLICK status:succ") == ["report"]
    assert keys("verdict:") == []  # an empty value is free text, found nowhere
