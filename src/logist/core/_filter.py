"""The filter language of the console's `/` and of the CLI's job arguments: one parser for both.

Terms are separated by spaces and must all hold; a leading `-` negates one.
- free text: found anywhere in what a row shows (`crash`);
- `name:value[,value...]`: the facet starts with one of the values (`verdict:crashed,hung`,
  `status:exec`);
- a term or value with `*`, `?` or `[` is a glob matched whole: a free one against the job id
  (`crash-*`), a faceted one against the facet (`id:job-00?`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from ._scan import JobState

GLOB_CHARS = frozenset("*?[")

Facets = tuple[tuple[str, str], ...]
Term = tuple[bool, str | None, tuple[str, ...]]
"""(negated, facet name or None for free text, values); values are lower-case."""


class Filterable(Protocol):
    """What a filter looks at: lower-case text for free terms and (name, value) facets."""

    @property
    def search(self) -> str: ...

    @property
    def facets(self) -> Facets: ...


def is_glob(text: str) -> bool:
    return not GLOB_CHARS.isdisjoint(text)


def _hit(name: str | None, values: tuple[str, ...], item: Filterable) -> bool:
    if name is None:
        value = values[0]
        if is_glob(value):
            return any(facet == "id" and fnmatchcase(v, value) for facet, v in item.facets)
        return value in item.search
    for facet, v in item.facets:
        if facet != name:
            continue
        for wanted in values:
            if fnmatchcase(v, wanted) if is_glob(wanted) else v.startswith(wanted):
                return True
    return False


@dataclass(frozen=True, slots=True)
class FilterQuery:
    """A parsed filter; `matches` takes anything with `search` and `facets` (a console row, or
    `JobView` of a job for the CLI)."""

    text: str = ""
    terms: tuple[Term, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FilterQuery:
        terms: list[Term] = []
        for word in text.lower().split():
            negate = word.startswith("-") and len(word) > 1
            word = word[1:] if negate else word
            name, sep, value = word.partition(":")
            if sep and name and value:
                terms.append((negate, name, tuple(v for v in value.split(",") if v)))
            else:
                terms.append((negate, None, (word,)))
        return cls(text.strip(), tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: Filterable) -> bool:
        return all(_hit(name, values, item) != negate for negate, name, values in self.terms)


def job_facets(state: JobState) -> Facets:
    """The `name:value` facets of a job (the console's rows use these too)."""
    return (
        ("verdict", state.verdict.kind.value),
        ("status", (state.facts.status or "").lower()),
        ("id", state.job_id.lower()),
    )


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the filter sees it, with the jobs table's search text."""

    search: str
    facets: Facets

    @classmethod
    def of(cls, state: JobState) -> JobView:
        facts = state.facts
        text = f"{state.job_id}\n{facts.description}\n{facts.status}\n{state.verdict.kind.value}"
        return cls(f"{text}\n{state.verdict.reason}".lower(), job_facets(state))
