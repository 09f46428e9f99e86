"""The answer sets the tests render: every value of every option, every pair of values somewhere.

Rendering and checking a variant costs about half a minute, so the full product of the
options is out of reach as options grow; a pairwise cover keeps the count near the product
of the two largest option lists while still meeting each pair of values at least once.
"""

from __future__ import annotations

import zlib
from itertools import combinations, product
from typing import Any

import pytest

OPTIONS: dict[str, list[str]] = {
    "database": ["sqlite", "postgresql", "mysql"],
    "cache": ["memory", "redis", "none"],
    "auth": ["none", "jwt", "api_key"],
    "python_version": ["3.13", "3.12", "3.11"],
    "task_queue": ["inprocess", "celery", "arq", "taskiq", "none"],
    "broker": ["redis", "rabbitmq"],
    # A multiselect: each value is one subset, "+"-joined. All three together meet every other
    # answer, so each option does; tests/test_observability.py renders the other subsets.
    "observability": ["metrics", "metrics+tracing+sentry", "none"],
}
DEFAULTS = {
    "database": "sqlite",
    "cache": "memory",
    "auth": "none",
    "python_version": "3.13",
    "task_queue": "inprocess",
    "broker": "redis",
    "observability": "metrics",
}
# Queues that ask which broker to use; the others ignore the answer.
QUEUES_WITH_A_BROKER = {"celery", "taskiq"}


def normalised(answers: dict[str, str]) -> dict[str, str]:
    """The answers as they render: `broker` means nothing to a queue that does not ask for it."""
    if answers["task_queue"] in QUEUES_WITH_A_BROKER:
        return answers
    return {**answers, "broker": DEFAULTS["broker"]}


def _pairs(answers: dict[str, str]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    return set(combinations(sorted(answers.items()), 2))


def pairwise_variants() -> list[dict[str, str]]:
    """Greedy pairwise cover, starting from the defaults; deterministic.

    Only pairs that can render differently count: a broker paired with a queue that has none
    is no pair, and candidates are taken as they render, so none repeats another.
    """
    names = list(OPTIONS)
    candidates: list[dict[str, str]] = []
    for values in product(*OPTIONS.values()):
        answers = normalised(dict(zip(names, values, strict=True)))
        if answers not in candidates:
            candidates.append(answers)
    uncovered = set().union(*(_pairs(answers) for answers in candidates))
    chosen = [dict(DEFAULTS)]
    uncovered -= _pairs(DEFAULTS)
    while uncovered:
        best = max(candidates, key=lambda answers: len(_pairs(answers) & uncovered))
        chosen.append(best)
        uncovered -= _pairs(best)
    return chosen


def variant_id(answers: dict[str, Any]) -> str:
    has_broker = answers["task_queue"] in QUEUES_WITH_A_BROKER
    shown = [name for name in OPTIONS if name != "broker" or has_broker]
    return "-".join(_shown_value(answers[name]).replace(".", "") for name in shown)


def _shown_value(value: str | list[str]) -> str:
    """An answer as ids show it; a multiselect's list as its `OPTIONS` value."""
    if isinstance(value, list):
        return "+".join(value) or "none"
    return value


def observability_answer(value: str) -> list[str]:
    """The multiselect's answer for one subset value of `OPTIONS["observability"]`."""
    return [] if value == "none" else value.split("+")


def with_project_name(answers: dict[str, str]) -> dict[str, Any]:
    """Each variant gets its own names, so variants sharing a database server never collide.

    Variants other than the defaults also name their package unlike the slug, so a build that
    looked for the slug's module would fail somewhere.
    """
    named: dict[str, Any] = {
        "project_name": f"Acme {variant_id(answers)}",
        **answers,
        "observability": observability_answer(answers["observability"]),
    }
    if answers != DEFAULTS:
        named["package_name"] = f"service_{zlib.crc32(variant_id(answers).encode()):08x}"
    return named


VARIANTS = pairwise_variants()


def variant_params(variants: list[dict[str, str]]) -> list[Any]:
    """One pytest parameter per variant, named; a variant's tests share one xdist worker,
    which renders and installs its project once."""
    return [
        pytest.param(
            with_project_name(answers),
            id=variant_id(answers),
            marks=pytest.mark.xdist_group(variant_id(answers)),
        )
        for answers in variants
    ]
