"""The one filter language of the console's `/` and the CLI: free text, `name:value` prefixes,
globs on the job id, negation; all terms must hold."""

from __future__ import annotations

from logist.core import FilterQuery, JobView


def view(job_id: str, verdict: str, status: str = "EXECUTING", text: str = "") -> JobView:
    return JobView(
        f"{job_id}\n{text}\n{status}\n{verdict}".lower(),
        (("verdict", verdict), ("status", status.lower()), ("id", job_id.lower())),
    )


JOBS = [
    view("crash-1", "crashed"),
    view("crash-2", "hung"),
    view("nightly-crash", "crashed"),
    view("job-007", "done", "SUCCESS", "nightly report"),
    view("remote-a", "remote"),
    view("remote-b", "remote-stale"),
]


def matching(text: str) -> list[str]:
    query = FilterQuery.parse(text)
    return [dict(v.facets)["id"] for v in JOBS if query.matches(v)]


def test_a_glob_is_matched_whole_against_the_job_id() -> None:
    assert matching("crash-*") == ["crash-1", "crash-2"]
    assert matching("*crash*") == ["crash-1", "crash-2", "nightly-crash"]
    assert matching("crash-?") == ["crash-1", "crash-2"]


def test_free_text_is_found_anywhere_a_row_shows() -> None:
    assert matching("crash") == ["crash-1", "crash-2", "nightly-crash"]
    assert matching("nightly") == ["nightly-crash", "job-007"]


def test_facets_take_comma_separated_prefixes_and_globs() -> None:
    assert matching("verdict:crashed,hung") == ["crash-1", "crash-2", "nightly-crash"]
    assert matching("verdict:remote") == ["remote-a", "remote-b"]
    assert matching("status:succ") == ["job-007"]
    assert matching("id:remote-?") == ["remote-a", "remote-b"]


def test_terms_all_hold_and_a_dash_negates_one() -> None:
    assert matching("crash-* -verdict:hung") == ["crash-1"]
    assert matching("-verdict:crashed,hung,done") == ["remote-a", "remote-b"]


def test_an_empty_filter_is_false_and_matches_everything() -> None:
    query = FilterQuery.parse("   ")
    assert not query
    assert all(query.matches(v) for v in JOBS)
