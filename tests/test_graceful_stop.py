"""SIGTERM stops the service without losing a request: those in flight finish with their
normal answer, new connections are refused, and the process exits 0 within its grace period."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.auth import authenticate
from tests.helpers import executable, free_port, multipart_file, run, serving
from tests.reliability import Tally
from tests.servers import service_env
from tests.variants import DEFAULTS, VARIANTS, variant_params

pytestmark = pytest.mark.slow

# One variant per database, each with a task queue so uploads are among the requests: the
# stop is uvicorn's and the closing the lifespan's, which differ by pool and by queue (the
# default's in-process jobs close with the service), not by the other answers.
STOP_VARIANTS = [
    DEFAULTS,
    *(
        next(v for v in VARIANTS if v["database"] == database and v["task_queue"] != "none")
        for database in ("postgresql", "mysql")
    ),
]
IN_FLIGHT = 50
GRACE_SECONDS = 10


@pytest.fixture(scope="module", params=variant_params(STOP_VARIANTS))
def stop_variant(
    request: pytest.FixtureRequest, installed_project: Callable[[dict[str, Any]], Path]
) -> tuple[dict[str, Any], Path]:
    return request.param, installed_project(request.param)


class SlowRequest:
    """A request whose body arrives in two parts, so it is in flight until told to finish."""

    def __init__(self, port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GRACE_SECONDS * 2)
        self.connection.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()
        self.rest = body[len(body) // 2 :]
        self.connection.send(body[: len(body) // 2])

    def finish(self) -> tuple[int, bytes]:
        self.connection.send(self.rest)
        response = self.connection.getresponse()
        return response.status, response.read()


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def migrated(project: Path, env: dict[str, str]) -> list[str]:
    """Migrates the database; returns the command that serves on the port that follows."""
    run([executable(project), "migrate"], project, env=env)
    return [executable(project), "serve", "--port"]


def stop_env(variant: dict[str, Any], project: Path, grace_seconds: int) -> dict[str, str]:
    return {
        **service_env(variant, project, "graceful_stop"),
        "APP_SHUTDOWN_GRACE_SECONDS": str(grace_seconds),
        "APP_RATE_LIMIT__PER_CLIENT": "1000000/minute",
        "APP_LOG_LEVEL": "WARNING",
    }


def test_sigterm_lets_the_requests_in_flight_finish_and_refuses_new_ones(
    stop_variant: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = stop_variant
    env = stop_env(variant, project, GRACE_SECONDS)
    port = free_port()
    command = [*migrated(project, env), str(port)]
    with serving(project, command, env, port) as process:
        headers = authenticate(variant["auth"], project, env, f"http://127.0.0.1:{port}")
        in_flight = []
        for number in range(IN_FLIGHT):
            if variant["task_queue"] != "none" and number % 2:
                # A large upload: 1 MB, half of it sent before the stop.
                body, content_type = multipart_file(b"a line of text\n" * 70_000, "big.txt")
                path = "/documents"
            else:
                body = json.dumps({"name": f"In flight {number}"}).encode()
                content_type, path = "application/json", "/items"
            in_flight.append(
                SlowRequest(port, path, body, {**headers, "Content-Type": content_type})
            )
        time.sleep(0.5)  # every request reached the service

        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        time.sleep(0.5)
        refused = refuses_connections(port)
        answers = [request.finish() for request in in_flight]
        exit_code = process.wait(timeout=GRACE_SECONDS + 10)
        exited_in = time.monotonic() - stopping

    normal = {201, 202} if variant["task_queue"] != "none" else {201}
    reliability.add(requests_lost=sum(status not in normal for status, _ in answers))
    statuses = sorted({status for status, _ in answers})
    assert statuses == ([201, 202] if variant["task_queue"] != "none" else [201]), answers[:3]
    assert refused, "a new connection is refused once the stop began (readiness too)"
    assert exit_code == 0
    assert exited_in < GRACE_SECONDS
    print(f"{IN_FLIGHT} requests in flight answered; exit 0 {exited_in:.1f} s after SIGTERM")


@pytest.fixture(scope="module", params=variant_params([DEFAULTS]))
def default_variant(
    request: pytest.FixtureRequest, installed_project: Callable[[dict[str, Any]], Path]
) -> tuple[dict[str, Any], Path]:
    """The deadline is uvicorn's, the same in every variant: the defaults show it."""
    return request.param, installed_project(request.param)


def test_sigterm_ends_a_request_that_outlasts_the_grace_period(
    default_variant: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = default_variant
    grace_seconds = 2
    env = stop_env(variant, project, grace_seconds)
    port = free_port()
    command = [*migrated(project, env), str(port)]
    with serving(project, command, env, port) as process:
        headers = authenticate(variant["auth"], project, env, f"http://127.0.0.1:{port}")
        never_finished = SlowRequest(
            port,
            "/items",
            b'{"name": "never sent whole"}',
            {**headers, "Content-Type": "application/json"},
        )
        # Until the service has read the headers, the connection counts as idle, and the stop
        # closes it at once: a busy machine needs a moment.
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        exit_code = process.wait(timeout=grace_seconds + 10)
        exited_in = time.monotonic() - stopping
        never_finished.connection.close()

    assert exit_code == 0
    assert grace_seconds <= exited_in < grace_seconds + 5
    print(f"a request that never ended: exit 0 {exited_in:.1f} s after SIGTERM")
