"""Getting credentials from a running service the way its users do, for each auth answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from tests.helpers import executable, http, run

SUPERUSER_EMAIL = "smoke@example.com"
SUPERUSER_PASSWORD = "a smoke-test passphrase"


def create_superuser(project: Path, env: Mapping[str, str], email: str = SUPERUSER_EMAIL) -> str:
    """Runs the `create-superuser` command, password in the environment; returns its output."""
    command = [executable(project), "create-superuser", email]
    return run(command, project, env={**env, "SUPERUSER_PASSWORD": SUPERUSER_PASSWORD}).stdout


def log_in(base: str, email: str, password: str) -> tuple[int, dict[str, str]]:
    status, body, _ = http(
        "POST",
        f"{base}/auth/token",
        urlencode({"username": email, "password": password}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, json.loads(body)


def create_api_key(project: Path, env: Mapping[str, str], name: str) -> str:
    return run([executable(project), "api-keys", "create", name], project, env=env).stdout.strip()


def authenticate(auth: str, project: Path, env: Mapping[str, str], base: str) -> dict[str, str]:
    """Headers that let a request through the answer's authentication (none for "none")."""
    if auth == "jwt":
        create_superuser(project, env)
        status, tokens = log_in(base, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        assert status == 200, tokens
        return {"Authorization": f"Bearer {tokens['access_token']}"}
    if auth == "api_key":
        return {"X-API-Key": create_api_key(project, env, "smoke test")}
    return {}
