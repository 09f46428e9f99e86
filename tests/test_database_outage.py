"""A service whose database stops answering reports it at once instead of hanging, answers
API requests 503 within its timeouts, and serves again as soon as the database is back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.auth import authenticate
from tests.helpers import TcpProxy, executable, free_port, http, run, serving, stop
from tests.reliability import Tally
from tests.servers import fresh_database_url, service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow

SERVER_VARIANTS = [answers for answers in VARIANTS if answers["database"] != "sqlite"]
# SQLite is a file in the service's process: there is no connection to blackhole.
# The first variant of each database driver and authentication (which reads the database
# before the handler does): what else a variant answers does not change how a query fails.
OUTAGE_VARIANTS = [
    next(v for v in SERVER_VARIANTS if (v["database"], v["auth"]) == pair)
    for pair in dict.fromkeys((v["database"], v["auth"]) for v in SERVER_VARIANTS)
]
# Short timeouts, so the test is quick; the bound they set is what the test checks.
TIMEOUTS = {
    "APP_DATABASE__CONNECT_TIMEOUT_SECONDS": 1,
    "APP_DATABASE__STATEMENT_TIMEOUT_SECONDS": 1,
    "APP_DATABASE__POOL_TIMEOUT_SECONDS": 1,
}
# The longest wait: a query on a pooled connection. PostgreSQL's client gives up a second after
# the statement timeout, then SQLAlchemy gives the dropped connection 2 s to close politely;
# one more second for a busy machine.
BOUND_SECONDS = TIMEOUTS["APP_DATABASE__STATEMENT_TIMEOUT_SECONDS"] + 1 + 2 + 1


@pytest.fixture(scope="module", params=variant_params(SERVER_VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


def test_readiness_is_503_soon_after_the_database_stops_answering(
    variant: dict[str, Any], project: Path, reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
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


@pytest.fixture(scope="module", params=variant_params(OUTAGE_VARIANTS))
def outage_variant(
    request: pytest.FixtureRequest, installed_project: Callable[[dict[str, Any]], Path]
) -> tuple[dict[str, Any], Path]:
    """A variant of each database and authentication, and its installed project."""
    return request.param, installed_project(request.param)


def test_api_requests_get_a_503_during_an_outage_and_succeed_once_it_ends(
    outage_variant: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = outage_variant
    url = urlsplit(fresh_database_url(variant, project, "api_outage"))
    with TcpProxy(url.hostname or "", url.port or 0) as proxy:
        credentials = url.netloc.rpartition("@")[0]
        through_proxy = url._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}")
        env = {
            **service_env(variant, project, "unused"),
            "APP_DATABASE__URL": through_proxy.geturl(),
            "APP_ENVIRONMENT": "production",
            "APP_SECRET_KEY": "an outage test's secret key, long enough",
            "APP_RATE_LIMIT__PER_CLIENT": "1000000/minute",
            **{name: str(seconds) for name, seconds in TIMEOUTS.items()},
        }
        run([executable(project), "migrate"], project, env=env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [executable(project), "serve", "--port", str(port)]
        with serving(project, command, env, port) as process:
            headers = authenticate(variant["auth"], project, env, base)
            json_headers = {"Content-Type": "application/json", **headers}
            item_urls = []
            for name in (b"Read before", b"Unread"):
                _, body, _ = http("POST", f"{base}/items", b'{"name": "%s"}' % name, json_headers)
                item_urls.append(f"{base}/items/{json.loads(body)['id']}")
            assert http("GET", item_urls[0], headers=headers)[0] == 200
            # A cached item may still be served during the outage: ask for one never read.
            item_url = item_urls[1]

            proxy.blackhole()
            during = []
            for method, path, payload in [
                ("GET", item_url, None),
                ("GET", f"{base}/items", None),
                ("POST", f"{base}/items", b'{"name": "During"}'),
                ("GET", item_url, None),
            ]:
                started = time.monotonic()
                answer = http(method, path, payload, json_headers, timeout=BOUND_SECONDS + 10)
                during.append((path, *answer, time.monotonic() - started))

            proxy.restore()
            restored = time.monotonic()
            after = [http("GET", item_url, headers=headers)[0] for _ in range(20)]
            recovered_in = time.monotonic() - restored
            exit_code = stop(process, timeout=15)

    for path, status, body, received, waited in during:
        assert status == 503, (path, body)
        assert received["content-type"] == "application/problem+json"
        assert int(received["retry-after"]) > 0
        assert b"Traceback" not in body
        assert waited < BOUND_SECONDS, f"{path} waited {waited:.1f} s"
    assert after == [200] * 20, "the first requests after the outage succeed"
    assert exit_code == 0
    log = (project / "serve.log").read_text()
    assert "unhandled_error" not in log
    waits = ", ".join(f"{waited:.1f}" for *_, waited in during)
    print(f"503 after {waits} s; 20 requests served {recovered_in:.2f} s after the outage")
