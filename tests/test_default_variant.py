"""The default answers render a service that installs, passes its own checks and really runs."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_ANSWERS
from tests.helpers import UV, free_port, http, render, run, serving, stop, uv_sync

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(template, tmp_path_factory.mktemp("default") / "acme-orders", DEFAULT_ANSWERS)
    uv_sync(project)
    return project


@pytest.fixture
def database_env(tmp_path: Path) -> dict[str, str]:
    return {"APP_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"}


@pytest.mark.parametrize(
    "check",
    [
        ["ruff", "check", "--no-fix"],
        ["ruff", "format", "--check"],
        ["mypy"],
        ["pytest", "-q", "-p", "no:cacheprovider"],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "pytest"],
)
def test_project_check_passes(project: Path, check: list[str]) -> None:
    run([UV, "run", "--frozen", *check], project)


def test_migrations_round_trip(project: Path, database_env: dict[str, str]) -> None:
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"], ["check"]):
        run([UV, "run", "--frozen", "alembic", *args], project, env=database_env)


def test_service_serves_real_http_and_stops_on_sigterm(
    project: Path, database_env: dict[str, str]
) -> None:
    env = {
        **database_env,
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
        "APP_DOCS_ENABLED": "true",
    }
    executable = str(project / ".venv" / "bin" / "acme-orders")
    run([executable, "migrate"], project, env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with serving(project, [executable, "serve", "--port", str(port)], env, port) as process:
        ready, _, _ = http("GET", f"{base}/health/ready")
        created_status, created_body, created_headers = http(
            "POST", f"{base}/items", json.dumps({"name": "Smoke"}).encode(),
            {"Content-Type": "application/json", "X-Request-ID": "smoke-test-1"},
        )
        item = json.loads(created_body)
        read_status, read_body, _ = http("GET", f"{base}/items/{item['id']}")
        docs_status, docs_body, _ = http("GET", f"{base}/docs")
        exit_code = stop(process, timeout=10)

    assert ready == 200
    assert created_status == 201
    assert created_headers["x-request-id"] == "smoke-test-1"
    assert read_status == 200
    assert json.loads(read_body)["name"] == "Smoke"
    assert docs_status == 200
    assert b"swagger-ui-bundle.js" in docs_body
    assert exit_code == 0

    log_lines = [json.loads(line) for line in (project / "serve.log").read_text().splitlines()]
    access = [line for line in log_lines if line.get("request_id") == "smoke-test-1"]
    assert access, "production logs are JSON lines carrying the request id"
    assert any(line["logger"].startswith("uvicorn") for line in log_lines)


def test_production_refuses_to_start_with_a_placeholder_secret(project: Path) -> None:
    result = subprocess.run(
        [str(project / ".venv" / "bin" / "acme-orders"), "serve"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "APP_ENVIRONMENT": "production", "APP_SECRET_KEY": "change-me"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode != 0
    assert "APP_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
