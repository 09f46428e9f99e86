"""Each auth answer over real HTTP, with credentials made by the service's own commands."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.auth import (
    SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
    create_api_key,
    create_superuser,
    log_in,
)
from tests.helpers import executable, free_port, http, run, run_failing, serving
from tests.servers import service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=variant_params([v for v in VARIANTS if v["auth"] != "none"]))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


@pytest.fixture
def production_env(
    variant: dict[str, Any], project: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    """A migrated database of the test's own, and production settings."""
    purpose = request.node.originalname.removeprefix("test_")[:20]
    env = {
        **service_env(variant, project, purpose),
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
    }
    run([executable(project), "migrate"], project, env=env)
    return env


def test_credentials_work_over_real_http(
    variant: dict[str, Any], project: Path, production_env: dict[str, str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [executable(project), "serve", "--port", str(port)]

    with serving(project, command, production_env, port):
        anonymous, _, anonymous_headers = http("GET", f"{base}/items")
        if variant["auth"] == "jwt":
            output = create_superuser(project, production_env)
            status, tokens = log_in(base, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
            wrong, _ = log_in(base, SUPERUSER_EMAIL, "not the password")
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            me_status, me_body, _ = http("GET", f"{base}/users/me", headers=bearer)
            users_status, _, _ = http("GET", f"{base}/users", headers=bearer)

            assert SUPERUSER_EMAIL in output
            assert SUPERUSER_PASSWORD not in output
            assert status == 200
            assert wrong == 401
            assert me_status == 200
            assert json.loads(me_body)["email"] == SUPERUSER_EMAIL
            assert users_status == 200
            assert anonymous_headers["www-authenticate"] == "Bearer"
        else:
            key = create_api_key(project, production_env, "real http")
            prefix = key.partition(".")[0]
            allowed, _, _ = http("GET", f"{base}/items", headers={"X-API-Key": key})
            listed = run([executable(project), "api-keys", "list"], project, env=production_env)
            run([executable(project), "api-keys", "revoke", prefix], project, env=production_env)
            revoked, _, _ = http("GET", f"{base}/items", headers={"X-API-Key": key})

            assert allowed == 200
            assert prefix in listed.stdout
            assert key not in listed.stdout
            assert revoked == 401
            assert anonymous_headers["www-authenticate"].startswith("APIKey")
        assert anonymous == 401

    log = (project / "serve.log").read_text()
    assert SUPERUSER_PASSWORD not in log


def test_commands_refuse_bad_input_with_one_clear_line(
    variant: dict[str, Any], project: Path, production_env: dict[str, str]
) -> None:
    if variant["auth"] == "jwt":
        short = run_failing(
            [executable(project), "create-superuser", "short@example.com"],
            project,
            env={**production_env, "SUPERUSER_PASSWORD": "short"},
        )
        create_superuser(project, production_env, "twice@example.com")
        twice = run_failing(
            [executable(project), "create-superuser", "twice@example.com"],
            project,
            env={**production_env, "SUPERUSER_PASSWORD": SUPERUSER_PASSWORD},
        )
        no_password = run_failing(
            [executable(project), "create-superuser", "nopass@example.com"],
            project,
            env=production_env,
        )

        assert "password" in short
        assert "already exists" in twice
        assert "SUPERUSER_PASSWORD" in no_password
        outputs = [short, twice, no_password]
    else:
        unknown = run_failing(
            [executable(project), "api-keys", "revoke", "000000000000"],
            project,
            env=production_env,
        )

        assert "No live key" in unknown
        outputs = [unknown]
    assert all("Traceback" not in output for output in outputs)
