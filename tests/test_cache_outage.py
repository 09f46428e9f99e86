"""A service whose Redis goes away keeps serving from the database and recovers by itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.auth import authenticate
from tests.helpers import executable, free_port, http, run, serving, stop
from tests.reliability import Tally
from tests.servers import service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow

REDIS_VARIANTS = [answers for answers in VARIANTS if answers["cache"] == "redis"]


@pytest.fixture(scope="module", params=variant_params(REDIS_VARIANTS[:1]))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


@contextmanager
def private_redis(port: int, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Redis of this test's own on loopback, so stopping it disturbs no other test."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: `scripts/services.sh up redis` installs it")
    command = [
        server,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not redis_answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def redis_answers(port: int) -> bool:
    ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False)
    return ping.stdout.strip() == b"PONG"


def redis_keys(port: int) -> int:
    return int(run(["redis-cli", "-p", str(port), "dbsize"], Path.cwd()).stdout.strip())


def test_reads_survive_a_redis_outage_and_the_cache_recovers(
    variant: dict[str, Any], project: Path, tmp_path: Path, reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    redis_port, port = free_port(), free_port()
    env = {
        **service_env(variant, project, "cache_outage"),
        "APP_CACHE__URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    run([executable(project), "migrate"], project, env=env)
    base = f"http://127.0.0.1:{port}"
    command = [executable(project), "serve", "--port", str(port)]

    with private_redis(redis_port, tmp_path), serving(project, command, env, port) as service:
        credentials = authenticate(variant["auth"], project, env, base)
        json_body = {"Content-Type": "application/json", **credentials}
        _, body, _ = http("POST", f"{base}/items", b'{"name": "Sturdy"}', json_body)
        item_url = f"{base}/items/{json.loads(body)['id']}"
        assert http("GET", item_url, headers=credentials)[0] == 200
        assert redis_keys(redis_port) >= 1, "the read was cached"

        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"], check=False)
        during_read = http("GET", item_url, headers=credentials)
        during_write = http("PATCH", item_url, b'{"name": "Changed"}', json_body)
        during_ready = http("GET", f"{base}/health/ready")
        after_write = http("GET", item_url, headers=credentials)

        with private_redis(redis_port, tmp_path):
            recovered = http("GET", item_url, headers=credentials)
            cached_again = redis_keys(redis_port)
            ready_again = http("GET", f"{base}/health/ready")
            assert stop(service, timeout=10) == 0

    assert during_read[0] == 200
    assert json.loads(during_read[1])["name"] == "Sturdy"
    assert during_write[0] == 200
    assert during_ready[0] == 200
    assert json.loads(during_ready[1])["checks"]["cache"] == "unavailable"
    assert json.loads(after_write[1])["name"] == "Changed"
    assert recovered[0] == 200
    assert json.loads(recovered[1])["name"] == "Changed"
    assert cached_again >= 1, "the cache works again without restarting the service"
    assert json.loads(ready_again[1])["checks"]["cache"] == "ok"
    log = (project / "serve.log").read_text()
    assert "cache_unavailable" in log
