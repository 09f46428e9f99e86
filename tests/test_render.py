"""The rendered tree is clean: fully rendered, no template leftovers, formatted for any name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


DATABASES = ["sqlite", "postgresql", "mysql"]
# Words that belong to one database answer and must not appear in another's project.
DATABASE_WORDS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "asyncmy"}


@pytest.fixture(scope="module")
def default_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template, tmp_path_factory.mktemp("render") / "acme-orders", DEFAULT_ANSWERS)


@pytest.fixture(scope="module", params=DATABASES)
def database_project(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    answers = {**DEFAULT_ANSWERS, "database": request.param}
    return render(template, tmp_path_factory.mktemp(request.param) / "acme-orders", answers)


def rendered_files(project: Path) -> list[Path]:
    return sorted(
        path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts
    )


def test_no_template_leftovers(database_project: Path) -> None:
    for path in rendered_files(database_project):
        assert path.suffix != ".jinja", path
        if path.suffix == ".mako":
            continue  # Alembic's own template for new revisions
        text = path.read_text()
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
    ):
        assert (package / f"{module}.py").is_file(), module
    for module in ("router", "schemas", "models", "service", "repository"):
        assert (package / "items" / f"{module}.py").is_file(), module
    assert (default_project / ".copier-answers.yml").is_file()
    assert list((default_project / "migrations" / "versions").glob("20*_create_item_table.py"))


@pytest.mark.parametrize("answers", [DEFAULT_ANSWERS, LONG_NAMES], ids=["default", "long-names"])
def test_rendered_code_passes_ruff_as_is(
    template: Path, tmp_path: Path, answers: dict[str, str]
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


def test_nothing_of_another_database_is_rendered(database_project: Path) -> None:
    chosen = database_project.joinpath(".copier-answers.yml").read_text()
    database = next(name for name in DATABASES if f"database: {name}" in chosen)
    assert (database_project / "src" / "acme_orders" / "sqlite.py").exists() == (
        database == "sqlite"
    )
    for other, word in DATABASE_WORDS.items():
        if other == database:
            continue
        for path in rendered_files(database_project):
            assert word not in path.read_text(), f"{word} in {path} of a {database} project"


def test_dockerfile_passes_hadolint(database_project: Path) -> None:
    run(["hadolint", "--no-color", "Dockerfile"], database_project)


def test_ci_workflow_passes_actionlint(database_project: Path) -> None:
    run(["actionlint", "-no-color", ".github/workflows/ci.yml"], database_project)


def test_compose_file_follows_the_compose_spec(database_project: Path) -> None:
    run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        database_project,
    )
