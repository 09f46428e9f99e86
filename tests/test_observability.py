"""Every subset of the `observability` answer renders clean, and only what it chose.

The pairwise variants meet each subset value of `OPTIONS["observability"]` with every other
answer; the subsets left out there are installed here on one base and checked the way
tests/test_variants.py checks a variant: ruff, format, mypy strict and their own tests.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import UV, render, run
from tests.servers import servers_for_tests
from tests.test_render import UNRENDERED, rendered_files
from tests.variants import DEFAULTS, OPTIONS, observability_answer, variant_params

CHOICES = ("metrics", "tracing", "sentry")
SUBSETS = [list(chosen) for size in range(4) for chosen in combinations(CHOICES, size)]
IN_PAIRWISE = [observability_answer(value) for value in OPTIONS["observability"]]
# One base for the subsets: a server cache and a queue with a broker, so every seam exists.
BASE = {
    **DEFAULTS,
    "cache": "redis",
    "auth": "jwt",
    "task_queue": "taskiq",
    "broker": "redis",
}

# Words that belong to one option and must not appear in a project rendered without it.
OPTION_WORDS = {
    "metrics": [
        "prometheus",
        "Prometheus",
        "/metrics",
        "APP_METRICS__",
        "job_runs_total",
        "Grafana",
        "grafana",
    ],
    "tracing": ["opentelemetry", "OpenTelemetry", "OTEL_", "OTLP", "trace_id", "otel-collector"],
    "sentry": ["sentry", "Sentry", "SENTRY", "ErrorReporter"],
}
# Words any option brings along, absent when none is chosen.
ANY_OPTION_WORDS = ["observability", "monitoring/"]
# Files (under the package, the tests and the project) that exist only with their option.
OPTION_FILES = {
    "metrics": [
        "src/acme_orders/observability/metrics.py",
        "src/acme_orders/observability/job_metrics.py",
        "tests/observability/test_metrics.py",
        "tests/observability/test_job_metrics.py",
        "tests/observability/test_dashboard.py",
        "monitoring/prometheus.yml",
        "monitoring/grafana/dashboards/service.json",
    ],
    "tracing": [
        "src/acme_orders/observability/tracing.py",
        "tests/observability/test_tracing.py",
        "monitoring/otel-collector.yaml",
    ],
    "sentry": ["src/acme_orders/observability/sentry.py", "tests/observability/test_sentry.py"],
}


def subset_id(chosen: list[str]) -> str:
    return "+".join(chosen) or "none"


@pytest.fixture(scope="module", params=SUBSETS, ids=[subset_id(s) for s in SUBSETS])
def rendered(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], Path]:
    chosen: list[str] = request.param
    answers = {"project_name": "Acme Orders", **BASE, "observability": chosen}
    project = render(template, tmp_path_factory.mktemp(subset_id(chosen)) / "project", answers)
    return chosen, project


def test_no_template_leftovers(rendered: tuple[list[str], Path]) -> None:
    for path in rendered_files(rendered[1]):
        assert path.suffix != ".jinja", path
        text = path.read_text()
        if path.suffix != ".mako":
            assert not UNRENDERED.search(text), f"unrendered Jinja in {path}"
        assert "\n\n\n\n" not in text, f"a run of blank lines in {path}"


def test_nothing_of_an_unchosen_option_is_rendered(rendered: tuple[list[str], Path]) -> None:
    chosen, project = rendered
    unwanted = [word for option in CHOICES if option not in chosen for word in OPTION_WORDS[option]]
    if not chosen:
        unwanted += ANY_OPTION_WORDS
    for path in rendered_files(project):
        if path.name == ".copier-answers.yml":
            continue  # names the question itself, whatever was chosen
        text = path.read_text()
        for word in unwanted:
            assert word not in text, f"{word!r} in {path.name} of an observability={chosen} project"


def test_each_option_has_its_files_only_when_chosen(rendered: tuple[list[str], Path]) -> None:
    chosen, project = rendered
    for option, files in OPTION_FILES.items():
        for name in files:
            assert (project / name).exists() == (option in chosen), name
    assert (project / "src" / "acme_orders" / "observability").exists() == bool(chosen)
    assert (project / "monitoring").exists() == bool({"metrics", "tracing"} & set(chosen))


def test_compose_file_follows_the_compose_spec(rendered: tuple[list[str], Path]) -> None:
    """The `observability` profile's services (Prometheus, Grafana, the collector) too."""
    chosen, project = rendered
    run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"], project)
    profiled = "profiles: [observability]" in (project / "compose.yaml").read_text()
    assert profiled == bool({"metrics", "tracing"} & set(chosen))


# The subsets the pairwise variants do not install: checked and tested here.
INSTALLED = [
    {**BASE, "observability": "+".join(chosen)} for chosen in SUBSETS if chosen not in IN_PAIRWISE
]


@pytest.fixture(scope="module", params=variant_params(INSTALLED))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


@pytest.mark.slow
def test_subset_passes_its_checks_and_observability_tests(
    variant: dict[str, Any], installed_project: Callable[[dict[str, Any]], Path]
) -> None:
    project = installed_project(variant)
    run([UV, "run", "--frozen", "ruff", "check", "--no-fix"], project)
    run([UV, "run", "--frozen", "ruff", "format", "--check"], project)
    run([UV, "run", "--frozen", "mypy"], project)
    result = run(
        [UV, "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider", "tests/observability"],
        project,
        env=servers_for_tests(variant),
    )
    assert " passed" in result.stdout
