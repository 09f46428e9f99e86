"""Each variant renders, installs, passes its own checks and tests, migrates, and really runs."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.auth import authenticate
from tests.helpers import (
    UV,
    Request,
    all_at_once,
    executable,
    free_port,
    http,
    metric_samples,
    multipart_file,
    run,
    run_failing,
    serving,
    stop,
)
from tests.reliability import Tally
from tests.servers import server_url, servers_for_tests, service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=variant_params(VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


def test_ruff_check(project: Path) -> None:
    run([UV, "run", "--frozen", "ruff", "check", "--no-fix"], project)


def test_ruff_format(project: Path) -> None:
    run([UV, "run", "--frozen", "ruff", "format", "--check"], project)


def test_mypy_strict(project: Path) -> None:
    run([UV, "run", "--frozen", "mypy"], project)


def test_project_tests_pass(variant: dict[str, Any], project: Path) -> None:
    env = servers_for_tests(variant)
    result = run(
        [UV, "run", "--frozen", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"],
        project,
        env=env,
    )
    assert " passed" in result.stdout


def test_migrations_round_trip(variant: dict[str, Any], project: Path) -> None:
    env = service_env(variant, project, "round_trip")
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"], ["check"]):
        run([UV, "run", "--frozen", "alembic", *args], project, env=env)


def test_service_serves_real_http_and_stops_on_sigterm(
    variant: dict[str, Any], project: Path
) -> None:
    env = {
        **service_env(variant, project, "smoke"),
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
    }
    run([executable(project), "migrate"], project, env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with serving(
        project, [executable(project), "serve", "--port", str(port)], env, port
    ) as process:
        ready, _, _ = http("GET", f"{base}/health/ready")
        probed, probe_body, _ = http("HEAD", f"{base}/health/live")
        credentials = authenticate(variant["auth"], project, env, base)
        created_status, created_body, created_headers = http(
            "POST",
            f"{base}/items",
            json.dumps({"name": "Smoke"}).encode(),
            {"Content-Type": "application/json", "X-Request-ID": "smoke-test-1", **credentials},
        )
        item = json.loads(created_body)
        read_status, read_body, _ = http("GET", f"{base}/items/{item['id']}", headers=credentials)
        docs_status, docs_body, _ = http("GET", f"{base}/docs")
        metrics_status, metrics_body, _ = http("GET", f"{base}/metrics")
        exit_code = stop(process, timeout=10)

    assert ready == 200
    assert (probed, probe_body) == (200, b"")
    assert created_status == 201, created_body
    assert created_headers["x-request-id"] == "smoke-test-1"
    assert read_status == 200
    assert json.loads(read_body)["name"] == "Smoke"
    assert docs_status == 200
    assert b"swagger-ui-bundle.js" in docs_body
    assert exit_code == 0

    log_lines = [json.loads(line) for line in (project / "serve.log").read_text().splitlines()]
    assert any(line.get("request_id") == "smoke-test-1" for line in log_lines)
    assert any(line["logger"].startswith("uvicorn") for line in log_lines)
    if "metrics" in variant["observability"]:
        assert metrics_status == 200
        samples = metric_samples(project, metrics_body.decode())
        sent = [
            ("GET", "/health/ready"),
            ("HEAD", "/health/live"),
            ("POST", "/items"),
            ("GET", "/items/{item_id}"),
            ("GET", "/docs"),
        ]
        for method, route in sent:
            labels = {"method": method, "route": route, "status": "2xx"}
            assert samples.get(("http_requests_total", frozenset(labels.items()))) == 1, labels
    else:
        assert metrics_status == 404


# More clients than pooled connections by far; a bounded number of requests per endpoint.
CONCURRENT_CLIENTS = 64
REQUESTS_PER_ENDPOINT = 128


def test_many_concurrent_clients_on_a_small_pool_all_succeed(
    variant: dict[str, Any], project: Path
) -> None:
    """A request that held a pooled connection while waiting for another would stall here."""
    env = {
        **service_env(variant, project, "load"),
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
        "APP_DATABASE__POOL_SIZE": "2",
        "APP_RATE_LIMIT__PER_CLIENT": "1000000/minute",
    }
    run([executable(project), "migrate"], project, env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    numbers = range(REQUESTS_PER_ENDPOINT)

    def expect(status: int, requests: list[Request]) -> list[dict[str, Any]]:
        answers = all_at_once(requests, CONCURRENT_CLIENTS)
        failures = [(got, body[:300]) for got, body in answers if got != status]
        assert not failures, f"{len(failures)} of {len(requests)} failed: {failures[:3]}"
        return [json.loads(body) if body else {} for _, body in answers]

    with serving(project, [executable(project), "serve", "--port", str(port)], env, port):
        credentials = authenticate(variant["auth"], project, env, base)
        as_json = {"Content-Type": "application/json", **credentials}
        items = expect(
            201,
            [
                ("POST", f"{base}/items", json.dumps({"name": f"Load {n}"}).encode(), as_json)
                for n in numbers
            ],
        )
        urls = [f"{base}/items/{item['id']}" for item in items]
        expect(200, [("GET", url, None, credentials) for url in urls])
        pages = expect(200, [("GET", f"{base}/items", None, credentials) for _ in numbers])
        change = json.dumps({"description": "Changed"}).encode()
        expect(200, [("PATCH", url, change, as_json) for url in urls])
        expect(204, [("DELETE", url, None, credentials) for url in urls])
        if variant["auth"] == "jwt":
            expect(200, [("GET", f"{base}/users/me", None, credentials) for _ in numbers])
        if variant["task_queue"] != "none":
            uploads = [multipart_file(b"a line\n", f"{n}.txt") for n in numbers]
            documents = expect(
                202,
                [
                    ("POST", f"{base}/documents", body, {"Content-Type": kind, **credentials})
                    for body, kind in uploads
                ],
            )
            expect(
                200,
                [
                    ("GET", f"{base}/documents/{document['id']}", None, credentials)
                    for document in documents
                ],
            )
            expect(200, [("GET", f"{base}/documents", None, credentials) for _ in numbers])

    assert {page["total"] for page in pages} == {REQUESTS_PER_ENDPOINT}
    log = (project / "serve.log").read_text()
    assert "unhandled_error" not in log
    assert "QueuePool limit" not in log


def server_processes(pid: int) -> list[int]:
    """The processes Uvicorn's supervisor `pid` spawned to serve (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_serve_runs_the_configured_number_of_processes(
    variant: dict[str, Any], project: Path
) -> None:
    env = {**service_env(variant, project, "workers"), "APP_WORKERS": "2"}
    run([executable(project), "migrate"], project, env=env)
    port = free_port()

    with serving(
        project, [executable(project), "serve", "--port", str(port)], env, port
    ) as process:
        # Uvicorn replaces a process that misses its health check while starting on a busy
        # machine: the two are known once both have started.
        deadline = time.monotonic() + 30
        while (project / "serve.log").read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, "the two processes did not both start in 30 s"
            time.sleep(0.1)
        servers = server_processes(process.pid)
        answers = []
        # Each process in turn answers alone, the other frozen for a moment (well within
        # Uvicorn's 5 s health check): both serve, whatever the kernel would prefer.
        for frozen in servers:
            os.kill(frozen, signal.SIGSTOP)
            try:
                answers += all_at_once(
                    [("GET", f"http://127.0.0.1:{port}/health/ready", None, {})] * 10, clients=5
                )
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(frozen, signal.SIGCONT)
        # Each on a connection of its own, so either process may answer it.
        scrapes = [http("GET", f"http://127.0.0.1:{port}/metrics")[1] for _ in range(4)]
        exit_code = stop(process, timeout=20)

    assert len(servers) == 2
    assert len(answers) == 20
    assert {status for status, _ in answers} == {200}
    if "metrics" in variant["observability"]:
        # Whichever process answers, it counts the requests of both.
        ready = {"method": "GET", "route": "/health/ready", "status": "2xx"}
        key = ("http_requests_total", frozenset(ready.items()))
        assert [metric_samples(project, body.decode()).get(key) for body in scrapes] == [20] * 4
    assert exit_code == 0
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]


def test_generated_requests_keep_the_api_contract(
    variant: dict[str, Any], project: Path, reliability: Tally
) -> None:
    """Schemathesis, logged in as a user would be, sends schema-valid and invalid requests to
    the real process and runs every check it has on each answer: no 5xx, only declared status
    codes, content types and headers, bodies matching their schema, invalid requests refused,
    valid ones accepted, 405 with a true `Allow`, and the links between operations."""
    env = {
        **service_env(variant, project, "fuzz"),
        "APP_RATE_LIMIT__PER_CLIENT": "1000000/minute",
        "APP_LOG_LEVEL": "WARNING",
    }
    run([executable(project), "migrate"], project, env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [executable(project), "serve", "--port", str(port)]
    report_path = project / "fuzz-report.json"

    with serving(project, command, env, port):
        credentials = authenticate(variant["auth"], project, env, base)
        run(
            [
                "st",
                "run",
                f"{base}/openapi.json",
                *[f"--header={name}: {value}" for name, value in credentials.items()],
                "--checks",
                "all",
                "--max-examples",
                "30",
                "--seed",
                "20261126",
                "--generation-deterministic",
                "--request-timeout",
                "10",
                "--report",
                "json",
                "--report-json-path",
                str(report_path),
            ],
            project,
        )

    report = json.loads(report_path.read_text())
    reliability.add(
        operations_fuzzed=report["operations"]["tested"],
        cases_generated=report["test_cases"]["generated"],
    )
    # Schemathesis warns when most answers are 401: the credentials did not get it in.
    assert not report["warnings"]["missing_auth"], report["warnings"]["missing_auth"]
    assert report["operations"]["tested"] == report["operations"]["total"]


def test_unreachable_database_fails_fast_with_one_clear_line(
    variant: dict[str, Any], project: Path
) -> None:
    if variant["database"] == "sqlite":
        url = "sqlite:////nonexistent/folder/service.db"
    else:
        # Port 9 (discard) on loopback: nothing listens there.
        url = urlsplit(server_url(variant["database"]))._replace(netloc="u:p@127.0.0.1:9").geturl()
    started = time.monotonic()

    env = {**service_env(variant, project, "unused"), "APP_DATABASE__URL": url}

    output = run_failing([executable(project), "serve"], project, env=env)

    assert time.monotonic() - started < 15
    mentions = [line for line in output.splitlines() if "APP_DATABASE__URL" in line]
    assert len(mentions) == 1, output
    assert "database_unreachable" in mentions[0]
    assert "Traceback" not in output


def test_project_tests_stop_with_one_line_when_their_database_server_is_down(
    variant: dict[str, Any], project: Path
) -> None:
    if variant["database"] == "sqlite":
        pytest.skip("SQLite: the project's tests need no database server")
    down = urlsplit(server_url(variant["database"]))._replace(netloc="u:p@127.0.0.1:9").geturl()
    env = {**servers_for_tests(variant), "TEST_DATABASE_URL": down}

    output = run_failing(
        [UV, "run", "--frozen", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"],
        project,
        env=env,
    )

    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert len(output.strip().splitlines()) <= 3, output
    assert "server answers at TEST_DATABASE_URL=" in output
    assert ":p@" not in output  # the password is hidden


def test_production_refuses_to_start_with_a_placeholder_secret(project: Path) -> None:
    env = {"APP_ENVIRONMENT": "production", "APP_SECRET_KEY": "change-me"}

    output = run_failing([executable(project), "serve"], project, env=env)

    assert "APP_SECRET_KEY" in output
    assert "Traceback" not in output
