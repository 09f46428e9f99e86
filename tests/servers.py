"""The real database servers the tests use, named by environment variables.

`scripts/services.sh up` starts them on loopback and prints these variables; a variant that
needs a server fails with a clear message when its variable is missing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SERVER_VARIABLES = {"postgresql": "TEST_POSTGRESQL_URL", "mysql": "TEST_MARIADB_URL"}


def server_url(database: str) -> str:
    variable = SERVER_VARIABLES[database]
    url = os.environ.get(variable)
    if not url:
        pytest.fail(
            f"The {database} variants need a real server: set {variable}, for example with "
            '`eval "$(scripts/services.sh up)"`.',
            pytrace=False,
        )
    return url


def fresh_database_url(answers: Mapping[str, str], project: Path, purpose: str) -> str:
    """A new, empty database for one use, of the kind the variant's answers chose."""
    if answers["database"] == "sqlite":
        return f"sqlite:///{project / f'{purpose}.db'}"
    return create_database(
        answers["database"], f"{purpose}_{project.parent.name}".replace("-", "_")
    )


def create_database(database: str, name: str) -> str:
    """Creates an empty database on the variant's server; returns a plain URL to it."""
    url = server_url(database)
    parts = urlsplit(url)
    if database == "postgresql":
        for statement in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
            subprocess.run(["psql", url, "-qc", statement], check=True, capture_output=True)
    else:
        statement = f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`"
        subprocess.run(
            [
                "mariadb",
                f"--host={parts.hostname}",
                f"--port={parts.port}",
                f"--user={parts.username}",
                f"--password={parts.password}",
                "-e",
                statement,
            ],
            check=True,
            capture_output=True,
        )
    return parts._replace(path=f"/{name}").geturl()
