"""Counts of what the reliability tests did, summed over xdist workers into one summary line.

A test asks for the `reliability` fixture and adds to it, e.g.
`reliability.add(faults_injected=1)`; `bash .ci/run` ends its test output with the totals, so a
run that silently stopped fuzzing or injecting faults shows it in its numbers.
"""

from __future__ import annotations

from collections import Counter

import pytest

# In the order of the summary line, with the words that name each count there.
COUNTS = {
    "operations_fuzzed": "operations fuzzed",
    "cases_generated": "cases generated",
    "hostile_inputs": "hostile inputs tried",
    "faults_injected": "faults injected",
    "requests_lost": "requests lost",
}

TALLY = pytest.StashKey["Tally"]()


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, **counts: int) -> None:
        unknown = set(counts) - set(COUNTS)
        if unknown:
            msg = f"unknown reliability counts {sorted(unknown)}; known: {sorted(COUNTS)}"
            raise ValueError(msg)
        self.counts.update(counts)

    def merge(self, counts: dict[str, int]) -> None:
        self.counts.update(counts)

    def summary(self) -> str:
        return "reliability: " + ", ".join(
            f"{self.counts[key]} {words}" for key, words in COUNTS.items()
        )


def tally(config: pytest.Config) -> Tally:
    return config.stash.setdefault(TALLY, Tally())
