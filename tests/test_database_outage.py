"""A service whose database stops answering reports it at once instead of hanging."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import TcpProxy, executable, free_port, http, serving, stop
from tests.servers import fresh_database_url, service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow

SERVER_VARIANTS = [answers for answers in VARIANTS if answers["database"] != "sqlite"]


@pytest.fixture(scope="module", params=variant_params(SERVER_VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


def test_readiness_is_503_soon_after_the_database_stops_answering(
    variant: dict[str, Any], project: Path
) -> None:
    url = urlsplit(fresh_database_url(variant, project, "outage"))
    with TcpProxy(url.hostname or "", url.port or 0) as proxy:
        credentials = url.netloc.rpartition("@")[0]
        through_proxy = url._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}")
        env = {
            **service_env(variant, project, "unused"),
            "APP_DATABASE__URL": through_proxy.geturl(),
            "APP_HEALTH_TIMEOUT_SECONDS": "1",
        }
        port = free_port()
        command = [executable(project), "serve", "--port", str(port)]
        with serving(project, command, env, port) as process:
            before, _, _ = http("GET", f"http://127.0.0.1:{port}/health/ready")
            proxy.blackhole()
            started = time.monotonic()
            during, body, headers = http("GET", f"http://127.0.0.1:{port}/health/ready")
            waited = time.monotonic() - started
            exit_code = stop(process, timeout=15)

    assert before == 200
    assert during == 503
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 503
    assert waited < 3
    assert exit_code == 0, "shutdown does not wait forever on the silent database"
