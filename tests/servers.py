"""The real database servers the tests use, named by environment variables.

`scripts/services.sh up` starts them on loopback and prints these variables; a variant that
needs a server fails with a clear message when its variable is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import zlib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SERVER_VARIABLES = {
    "postgresql": "TEST_POSTGRESQL_URL",
    "mysql": "TEST_MARIADB_URL",
    "redis": "TEST_REDIS_URL",
    "rabbitmq": "TEST_RABBITMQ_URL",
}


def queue_broker(answers: Mapping[str, str]) -> str:
    """The server the variant's job queue needs ("none" for none), as copier.yml derives it."""
    if answers["task_queue"] in {"celery", "taskiq"}:
        return answers["broker"]
    return "redis" if answers["task_queue"] == "arq" else "none"


def server_url(server: str) -> str:
    variable = SERVER_VARIABLES[server]
    url = os.environ.get(variable)
    if not url:
        pytest.fail(
            f"The {server} variants need a real server: set {variable}, for example with "
            '`eval "$(scripts/services.sh up)"`.',
            pytrace=False,
        )
    return url


def fresh_database_url(answers: Mapping[str, str], project: Path, purpose: str) -> str:
    """A new, empty database for one use, of the kind the variant's answers chose."""
    if answers["database"] == "sqlite":
        return f"sqlite:///{project / f'{purpose}.db'}"
    return create_database(answers["database"], database_name(f"{purpose}_{project.parent.name}"))


def database_name(wanted: str) -> str:
    """A name every server takes: letters, digits and underscores, and at most 63 of them
    (MariaDB's limit is 64, PostgreSQL's 63); a longer one ends in a hash of the whole."""
    name = re.sub(r"[^a-z0-9_]", "_", wanted.lower())
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{zlib.crc32(name.encode()):08x}"


def create_database(database: str, name: str) -> str:
    """Creates an empty database on the variant's server; returns a plain URL to it."""
    url = server_url(database)
    if database == "postgresql":
        for statement in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
            run_sql(url, statement)
    else:
        run_sql(url, f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`")
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


def run_sql(url: str, statement: str) -> None:
    """Runs SQL on a PostgreSQL or MariaDB server (and database) named by a URL, with its client."""
    if url.startswith("postgresql"):
        subprocess.run(["psql", url, "-qc", statement], check=True, capture_output=True)
        return
    parts = urlsplit(url)
    subprocess.run(
        [
            "mariadb",
            f"--host={parts.hostname}",
            f"--port={parts.port}",
            f"--user={parts.username}",
            f"--password={parts.password}",
            *([parts.path.lstrip("/")] if parts.path.lstrip("/") else []),
            "-e",
            statement,
        ],
        check=True,
        capture_output=True,
    )


def service_env(answers: Mapping[str, str], project: Path, purpose: str) -> dict[str, str]:
    """Settings that point a variant's service at a fresh database and its other servers."""
    env = {"APP_DATABASE__URL": fresh_database_url(answers, project, purpose)}
    if answers["cache"] == "redis":
        env["APP_CACHE__URL"] = server_url("redis")
    if queue_broker(answers) != "none":
        env["APP_JOBS__BROKER_URL"] = server_url(queue_broker(answers))
    if answers["task_queue"] != "none":
        env["APP_DOCUMENTS__STORAGE_DIR"] = str(project / f"{purpose}-documents")
    return env


def servers_for_tests(answers: Mapping[str, str]) -> dict[str, str]:
    """The servers a variant's own test suite reads from TEST_* variables."""
    env = {}
    if answers["database"] != "sqlite":
        env["TEST_DATABASE_URL"] = server_url(answers["database"])
    if answers["cache"] == "redis":
        env["TEST_REDIS_URL"] = server_url("redis")
    if queue_broker(answers) != "none":
        env["TEST_BROKER_URL"] = server_url(queue_broker(answers))
    return env
