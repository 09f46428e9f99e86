"""The rendered tree is clean: fully rendered, no template leftovers, formatted for any name."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEFAULT_ANSWERS
from tests.helpers import ROOT, render, run

UNRENDERED = re.compile(r"\{\{|\{%|%\}")
LONG_NAMES = {
    "project_name": "Northwind Loyalty Ledger Service",
    "project_slug": "northwind-loyalty-ledger-service",
    "package_name": "northwind_loyalty_ledger_service",
    "description": "Keeps the loyalty ledger of Northwind customers, " + "and much more, " * 9,
}


# Every observability option at once: the most code where they meet.
EVERY = ["metrics", "tracing", "sentry"]

# Words that belong to one answer and must not appear in a project rendered with another.
ANSWER_WORDS = {
    "database": {"sqlite": ["aiosqlite"], "postgresql": ["asyncpg"], "mysql": ["asyncmy"]},
    "cache": {"memory": ["cachetools"], "redis": ["redis", "Redis"], "none": []},
    "auth": {
        "none": [],
        "jwt": ["jwt", "pwdlib", "refresh_token", "CurrentUser", "owner_id"],
        "api_key": ["api_key", "X-API-Key", "APIKey"],
    },
    "task_queue": {
        "inprocess": ["InProcessQueue"],
        "celery": ["celery", "Celery"],
        "arq": ["arq", "ARQ"],
        "taskiq": ["taskiq", "Taskiq"],
        "none": [],
    },
    "broker": {"redis": ["redis", "Redis"], "rabbitmq": ["rabbitmq", "RabbitMQ", "amqp"]},
    "kubernetes": {"none": [], "helm": ["helm", "Helm", "kubectl", "Kubernetes"]},
    "ci": {
        "github": ["actions/checkout", "GitHub"],
        "gitlab": ["GitLab", "gitlab-ci", "CI_COMMIT"],
        "none": [],
    },
}
# Words every answer but one ("none") brings along.
FEATURE_WORDS = {
    "cache": ["ratelimit", "RateLimit", "ETag"],
    # Not `WWW-Authenticate`: a /metrics token is asked for with it too.
    "auth": ["UnauthorizedError", "Forbidden", "get_current"],
    "task_queue": ["documents", "Document", "JobQueue", "multipart", "APP_JOBS"],
}
# Other answers an option needs to matter: the broker is asked only for some queues.
CONTEXT_ANSWERS = {"broker": {"task_queue": "celery"}}
SINGLE_ANSWERS = [(option, value) for option, values in ANSWER_WORDS.items() for value in values]


@pytest.fixture(scope="module")
def default_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template, tmp_path_factory.mktemp("render") / "acme-orders", DEFAULT_ANSWERS)


@pytest.fixture(scope="module", params=SINGLE_ANSWERS, ids=[f"{o}-{v}" for o, v in SINGLE_ANSWERS])
def answer_project(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, Path]:
    """A project rendered with the defaults and one answer changed."""
    option, value = request.param
    answers = {**DEFAULT_ANSWERS, **CONTEXT_ANSWERS.get(option, {}), option: value}
    project = render(
        template, tmp_path_factory.mktemp(f"{option}-{value}") / "acme-orders", answers
    )
    return option, value, project


def rendered_files(project: Path) -> list[Path]:
    return sorted(
        path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts
    )


def test_no_template_leftovers(answer_project: tuple[str, str, Path]) -> None:
    for path in rendered_files(answer_project[2]):
        assert path.suffix != ".jinja", path
        if path.suffix == ".mako":
            continue  # Alembic's own template for new revisions
        text = path.read_text()
        # Helm's Go templates use the same braces (helm lint finds Jinja left in them).
        if not ("helm" in path.parts and path.parent.name == "templates"):
            assert not UNRENDERED.search(text), f"unrendered Jinja in {path}"
        assert "\n\n\n\n" not in text, f"a run of blank lines in {path}"
        assert text.strip() or path.name == "__init__.py", f"empty file {path}"


def test_no_secret_or_local_path_is_tracked(template: Path, default_project: Path) -> None:
    run(["git", "init", "--quiet"], default_project)
    run(["git", "add", "--all"], default_project)
    tracked = run(["git", "ls-files"], default_project).stdout.split()

    assert ".env" not in tracked, "the generated secrets stay out of version control"
    secret = re.search(
        r"^APP_SECRET_KEY=([0-9a-f]{64})$", (default_project / ".env").read_text(), re.M
    )
    assert secret, "the local .env gets a random 256-bit secret"
    for name in tracked:
        text = (default_project / name).read_text()
        assert secret.group(1) not in text, name
        if name != ".copier-answers.yml":  # records the template's location on purpose
            assert str(ROOT) not in text, name
            assert str(template) not in text, name


def test_local_data_stays_out_of_version_control(default_project: Path) -> None:
    """What the service writes where .env.example points (uploads, the SQLite database)."""
    settings = (default_project / ".env.example").read_text()
    uploads = re.search(r"^APP_DOCUMENTS__STORAGE_DIR=\./(\S+)$", settings, re.M)
    database = re.search(r"^APP_DATABASE__URL=sqlite\+aiosqlite:///\./(\S+)$", settings, re.M)
    assert uploads, "the default variant stores uploads in a folder of the project"
    assert database, "the default variant keeps its database in the project"
    written = [f"{uploads.group(1)}/{uuid.uuid4()}", database.group(1), f"{database.group(1)}-wal"]
    for name in written:
        (default_project / name).parent.mkdir(parents=True, exist_ok=True)
        (default_project / name).write_text("data")
    run(["git", "init", "--quiet"], default_project)

    ignored = run(["git", "check-ignore", *written], default_project).stdout.split()

    assert ignored == written


def test_each_render_gets_its_own_secret(template: Path, tmp_path: Path) -> None:
    first = render(template, tmp_path / "first", DEFAULT_ANSWERS) / ".env"
    second = render(template, tmp_path / "second", DEFAULT_ANSWERS) / ".env"

    assert first.read_text() != second.read_text()


def test_expected_layout(default_project: Path) -> None:
    package = default_project / "src" / "acme_orders"
    for module in (
        "main",
        "config",
        "db",
        "errors",
        "api",
        "health",
        "logging",
        "middleware",
        "cli",
        "pagination",
    ):
        assert (package / f"{module}.py").is_file(), module
    for module in ("router", "schemas", "models", "service", "repository"):
        assert (package / "items" / f"{module}.py").is_file(), module
    assert (default_project / ".copier-answers.yml").is_file()
    assert list((default_project / "migrations" / "versions").glob("20*_create_item_table.py"))


@pytest.mark.parametrize(
    "answers",
    [
        DEFAULT_ANSWERS,
        LONG_NAMES,
        {**LONG_NAMES, "database": "postgresql", "cache": "redis", "auth": "jwt"},
        {**LONG_NAMES, "database": "mysql", "cache": "none", "auth": "api_key"},
        {**LONG_NAMES, "cache": "none", "auth": "jwt", "observability": []},
        {**LONG_NAMES, "task_queue": "celery", "broker": "rabbitmq", "observability": EVERY},
        {**LONG_NAMES, "task_queue": "arq", "cache": "redis", "observability": EVERY},
        {**LONG_NAMES, "task_queue": "taskiq", "broker": "redis", "database": "postgresql"},
        {**LONG_NAMES, "task_queue": "taskiq", "broker": "rabbitmq", "observability": EVERY},
        {**LONG_NAMES, "task_queue": "none", "observability": EVERY},
    ],
    ids=[
        "default",
        "long-names",
        "long-names-postgresql-redis-jwt",
        "long-names-mysql-none-api_key",
        "long-names-none-jwt-no-observability",
        "long-names-celery-rabbitmq-observability",
        "long-names-arq-redis-observability",
        "long-names-taskiq-redis",
        "long-names-taskiq-rabbitmq-observability",
        "long-names-no-queue-observability",
    ],
)
def test_rendered_code_passes_ruff_as_is(
    template: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template, tmp_path / "project", answers)

    run(["ruff", "format", "--check", "."], project)
    run(["ruff", "check", "--no-fix", "."], project)


def test_command_line_renders_without_trust(template: Path, tmp_path: Path) -> None:
    destination = tmp_path / "cli"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--data",
            "project_name=Acme Orders",
            str(template),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (destination / "src" / "acme_orders" / "main.py").is_file()


def test_nothing_of_another_answer_is_rendered(answer_project: tuple[str, str, Path]) -> None:
    option, value, project = answer_project
    unwanted = [
        word for other, words in ANSWER_WORDS[option].items() if other != value for word in words
    ]
    if value == "none":
        unwanted += FEATURE_WORDS.get(option, [])
    for path in rendered_files(project):
        text = path.read_text()
        for word in unwanted:
            assert word not in text, f"{word!r} in {path.name} of a {option}={value} project"


def test_only_the_chosen_answers_have_modules(answer_project: tuple[str, str, Path]) -> None:
    option, value, project = answer_project
    package = project / "src" / "acme_orders"
    if option == "database":
        assert (package / "sqlite.py").exists() == (value == "sqlite")
    if option == "cache":
        for module in (
            package / "cache.py",
            package / "ratelimit.py",
            package / "items" / "caching.py",
        ):
            assert module.exists() == (value != "none"), module
    if option == "auth":
        assert (package / "auth").exists() == (value != "none")
        assert (package / "auth" / "tokens.py").exists() == (value == "jwt")
        assert (package / "auth" / "keys.py").exists() == (value == "api_key")
    if option == "task_queue":
        assert (package / "documents").exists() == (value != "none")
        kinds = {"inprocess": "inprocess", "celery": "celery_worker", "arq": "arq_worker"}
        kinds["taskiq"] = "taskiq_worker"
        for kind, module in kinds.items():
            assert (package / "jobs" / f"{module}.py").exists() == (value == kind), module
        assert bool(
            list((project / "migrations" / "versions").glob("*_create_document_table.py"))
        ) == (value != "none")


def test_dockerfile_passes_hadolint(answer_project: tuple[str, str, Path]) -> None:
    run(["hadolint", "--no-color", "Dockerfile"], answer_project[2])


def test_ci_workflow_passes_actionlint(answer_project: tuple[str, str, Path]) -> None:
    option, value, project = answer_project
    if option == "ci" and value != "github":  # tests/test_deploy.py checks the other answers
        assert not (project / ".github").exists()
        return
    run(["actionlint", "-no-color", ".github/workflows/ci.yml"], project)


def test_compose_file_follows_the_compose_spec(answer_project: tuple[str, str, Path]) -> None:
    run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        answer_project[2],
    )
