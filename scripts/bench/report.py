"""The results as Markdown: load per endpoint, start-up and memory, and what went wrong."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from .load import LoadResult
from .variants import REFERENCE, Endpoint, Plan


@dataclass
class Target:
    """Something under load: the reference or a rendered variant, as the results name it."""

    key: str
    description: str
    item_read: str
    cold_start_seconds: float = 0.0
    rss_mib: float = 0.0
    # From the service's own log after it stopped: error statuses it answered, unhandled errors.
    error_statuses: Counter[int] = field(default_factory=Counter)
    unhandled_errors: int = 0


@dataclass
class Measurement:
    target: str
    endpoint: Endpoint
    connections: int
    rounds: list[LoadResult] = field(default_factory=list)


@dataclass
class Results:
    plan: Plan
    context: list[str]
    targets: dict[str, Target] = field(default_factory=dict)
    measurements: dict[tuple[str, str, int], Measurement] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, target: str, endpoint: Endpoint, connections: int, result: LoadResult) -> None:
        key = (target, endpoint.key, connections)
        measurement = self.measurements.setdefault(key, Measurement(target, endpoint, connections))
        measurement.rounds.append(result)

    def ratio_to_reference(self, measurement: Measurement) -> float | None:
        """Median over rounds of this round's req/s over the reference's req/s in that round."""
        reference = self.measurements.get(
            (REFERENCE, measurement.endpoint.key, measurement.connections)
        )
        if reference is None:
            return None
        ratios = [
            ours.requests_per_second / theirs.requests_per_second
            for ours, theirs in zip(measurement.rounds, reference.rounds, strict=False)
            if theirs.requests_per_second > 0
        ]
        return statistics.median(ratios) if ratios else None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def endpoint_label(endpoint: Endpoint, target: Target) -> str:
    if endpoint.key == "read":
        return f"{endpoint.title} ({target.item_read})"
    return endpoint.title


def load_table(results: Results) -> list[str]:
    lines = [
        "| Endpoint | Conns | Target | req/s | p50 ms | p99 ms | non-2xx | socket errors "
        "| vs reference |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for measurement in results.measurements.values():
        target = results.targets[measurement.target]
        rounds = measurement.rounds
        ratio = None if target.key == REFERENCE else results.ratio_to_reference(measurement)
        cells = [
            endpoint_label(measurement.endpoint, target),
            str(measurement.connections),
            target.key,
            f"{_median([r.requests_per_second for r in rounds]):,.0f}",
            f"{_median([r.p50_ms for r in rounds]):.1f}",
            f"{_median([r.p99_ms for r in rounds]):.1f}",
            str(sum(r.non_2xx for r in rounds)),
            str(sum(r.socket_errors for r in rounds)),
            "1.00x" if target.key == REFERENCE else _ratio(ratio),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def startup_table(results: Results) -> list[str]:
    reference = results.targets.get(REFERENCE)
    lines = [
        "| Target | Cold start s | vs reference | RSS after load MiB | vs reference |",
        "|---|---:|---:|---:|---:|",
    ]
    for target in results.targets.values():
        cold_ratio = rss_ratio = None
        if reference and reference.cold_start_seconds and reference.rss_mib:
            cold_ratio = target.cold_start_seconds / reference.cold_start_seconds
            rss_ratio = target.rss_mib / reference.rss_mib
        cells = [
            target.key,
            f"{target.cold_start_seconds:.2f}",
            _ratio(cold_ratio),
            f"{target.rss_mib:.1f}",
            _ratio(rss_ratio),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(results: Results, *, smoke: bool) -> str:
    plan = results.plan
    title = "Benchmark smoke run" if smoke else "Benchmark results"
    lines = [f"# {title}", "", *results.context, "", "Targets:", ""]
    lines += [f"- **{t.key}**: {t.description}" for t in results.targets.values()]
    lines += [
        "",
        f"## Load ({plan.rounds} round(s) of {plan.duration_seconds} s per target)",
        "",
        *load_table(results),
        "",
        "req/s, p50 and p99 are medians over the rounds; non-2xx and socket errors are sums. "
        "Every round loads the reference, then each variant, one after the other; "
        "*vs reference* is the median over the rounds of the variant's req/s divided by the "
        "reference's req/s in the same round.",
        "",
        "## Start-up and memory",
        "",
        *startup_table(results),
        "",
        "Cold start: from starting the process to the first 200 on `/health/ready`. "
        "RSS: VmRSS of the serving process after all the load.",
        "",
        "## Problems",
        "",
    ]
    lines += [f"- {problem}" for problem in results.problems] or ["None."]
    return "\n".join(lines) + "\n"
