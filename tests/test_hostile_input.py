"""Hostile clients against the running server in production settings: each gets a 4xx problem
or is cut off within the configured time, the service keeps serving, and nothing secret comes
back or reaches the log.

What ASGI can carry (malformed JSON, deep nesting, query values, unknown fields, hostile
uploads) is tested by the rendered project's own tests/test_hostile_input.py; this module
sends what needs a socket. The protocol and the middleware are the same code in every
variant, so three variants suffice: together they cover each database and each auth answer,
which is what the leak test depends on.
"""

from __future__ import annotations

import json
import secrets
import select
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.auth import SUPERUSER_EMAIL, SUPERUSER_PASSWORD, authenticate, log_in
from tests.helpers import executable, free_port, http, run, serving
from tests.reliability import Tally
from tests.servers import run_sql, service_env
from tests.variants import DEFAULTS, VARIANTS, variant_params

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
# How much later than its deadline a cut-off may come on a busy machine.
SLACK = 1.0
DEFAULT_BODY_LIMIT = 1024 * 1024
FIFTY_MEGABYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024


def _first(**answers: str) -> dict[str, str]:
    return next(v for v in VARIANTS if all(v[name] == value for name, value in answers.items()))


HOSTILE_VARIANTS = [
    DEFAULTS,
    _first(database="postgresql", auth="api_key"),
    _first(database="mysql", auth="jwt"),
]


@pytest.fixture(scope="module", params=variant_params(HOSTILE_VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


@dataclass
class Service:
    port: int
    env: dict[str, str]
    log: Path
    credentials: dict[str, str]
    # Every byte the service sent back, searched by the leak test.
    received: list[bytes] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        status, content, received = http(method, self.base + path, body, headers)
        self.received.append(json.dumps(received).encode() + content)
        return status, content

    def raw(self, data: bytes, *, wait: float = 10) -> bytes:
        """Sends bytes as they are on a connection of their own; all the server sent back."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(data)
            answer = _read_until_closed(sock, wait)
        self.received.append(answer)
        return answer

    def still_serves(self) -> bool:
        status, _ = self.request("GET", "/items", headers=self.credentials)
        return status == 200


@pytest.fixture(autouse=True)
def count_hostile_input(reliability: Tally) -> None:
    """Every test here sends the running service one kind of hostile input."""
    reliability.add(hostile_inputs=1)


@pytest.fixture(scope="module")
def service(variant: dict[str, Any], project: Path) -> Iterator[Service]:
    env = {
        # A database of this setup's own: another xdist worker may serve the same variant.
        **service_env(variant, project, f"h{uuid.uuid4().hex[:6]}"),
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
        "APP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "APP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    }
    run([executable(project), "migrate"], project, env=env)
    port = free_port()
    command = [executable(project), "serve", "--port", str(port)]
    with serving(project, command, env, port):
        credentials = authenticate(variant["auth"], project, env, f"http://127.0.0.1:{port}")
        yield Service(port, env, project / "serve.log", credentials)


def _read_until_closed(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except TimeoutError:
        answer += b"<still open>"
    except ConnectionResetError:
        pass
    return answer


def _flood(service: Service, opening: bytes, chunk: bytes) -> tuple[int, bytes]:
    """Sends `opening`, then `chunk` after `chunk` until the server answers (or 50 MB went).

    Returns the bytes of chunks sent and the answer, which the service's record keeps too.
    """
    sent = 0
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(opening)
        try:
            while sent < FIFTY_MEGABYTES and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_until_closed(sock, 10)
    service.received.append(answer)
    return sent, answer


def _status_and_problem(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/problem+json" in head.lower(), answer[:500]
    problem: dict[str, Any] = json.loads(body)
    return status, problem


@pytest.mark.parametrize(
    ("opening", "then_a_byte_a_second", "deadline"),
    [
        pytest.param(b"", b"", HEADER_TIMEOUT, id="connects-and-sends-nothing"),
        pytest.param(b"POST /items HTTP/1.1\r\n", b"Host: x\r\n" * 5, HEADER_TIMEOUT, id="headers"),
        pytest.param(
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20\r\n\r\n",
            b'{"name": "Slowly"}  ',
            BODY_TIMEOUT,
            id="body",
        ),
    ],
)
def test_a_client_sending_a_byte_a_second_is_cut_off_in_time(
    service: Service, opening: bytes, then_a_byte_a_second: bytes, deadline: float
) -> None:
    answer = b""
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(opening)
        started = time.monotonic()
        for byte in then_a_byte_a_second:
            if select.select([sock], [], [], 1.0)[0]:
                break
            sock.sendall(bytes([byte]))
        answer = _read_until_closed(sock, deadline + SLACK + 1)
        closed_after = time.monotonic() - started
    service.received.append(answer)

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 408
    assert deadline - 0.1 <= closed_after <= deadline + SLACK
    assert service.still_serves()


def test_declared_body_over_the_limit_is_413_before_it_is_sent(service: Service) -> None:
    head = (
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {FIFTY_MEGABYTES}\r\n\r\n"
    ).encode()
    credentials = "".join(f"{name}: {value}\r\n" for name, value in service.credentials.items())

    answer = service.raw(head.replace(b"\r\n\r\n", b"\r\n" + credentials.encode() + b"\r\n"))

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 413
    assert b"connection: close" in answer.lower()
    assert service.still_serves()


def test_chunked_body_is_refused_once_it_passes_the_limit(service: Service) -> None:
    credentials = "".join(f"{name}: {value}\r\n" for name, value in service.credentials.items())
    head = (
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n{credentials}\r\n"
    ).encode()
    chunk = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    sent, answer = _flood(service, head, chunk)

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 413
    # The server stopped reading at the limit; what else was sent sat in socket buffers.
    assert DEFAULT_BODY_LIMIT < sent < FIFTY_MEGABYTES // 4
    assert service.still_serves()


def test_path_of_10000_characters_is_404(service: Service) -> None:
    answer = service.raw(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", wait=5)

    status, problem = _status_and_problem(answer.removesuffix(b"<still open>"))
    assert status == problem["status"] == 404
    assert service.still_serves()


def test_headers_over_64_kib_are_431(service: Service) -> None:
    answer = service.raw(
        b"GET /items HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    )

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 431
    assert service.still_serves()


def test_a_header_that_never_ends_is_431_before_it_fills_memory(service: Service) -> None:
    sent, answer = _flood(service, b"GET /items HTTP/1.1\r\nHost: x\r\nX-Big: ", b"a" * CHUNK)

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 431
    assert sent < FIFTY_MEGABYTES // 4
    assert service.still_serves()


@pytest.mark.parametrize(
    "request_line",
    [
        pytest.param(b"GET /items/\xff\xfe HTTP/1.1", id="path"),
        pytest.param(b"GET /items?limit=\xff\xfe HTTP/1.1", id="query"),
        pytest.param(b"GET /\x00 HTTP/1.1", id="nul"),
    ],
)
def test_request_line_that_is_not_ascii_is_400(service: Service, request_line: bytes) -> None:
    answer = service.raw(request_line + b"\r\nHost: x\r\n\r\n")

    status, problem = _status_and_problem(answer)
    assert status == problem["status"] == 400
    assert service.still_serves()


def test_header_value_that_is_not_utf8_is_answered(
    service: Service, variant: dict[str, Any]
) -> None:
    name = {"jwt": b"Authorization", "api_key": b"X-API-Key"}.get(variant["auth"], b"X-Request-ID")

    answer = service.raw(
        b"GET /items HTTP/1.1\r\nHost: x\r\n" + name + b": \xff\xfe\x80\r\n\r\n", wait=5
    )

    status = int(answer.split(b" ", 2)[1])
    assert status == (200 if variant["auth"] == "none" else 401)
    assert service.still_serves()


def test_nothing_secret_comes_back_or_reaches_the_log(
    service: Service, variant: dict[str, Any], project: Path
) -> None:
    """Runs last: it breaks the database under the service to provoke a 500."""
    secrets_sent = [
        service.env["APP_SECRET_KEY"],
        *(value.removeprefix("Bearer ") for value in service.credentials.values()),
    ]
    database_password = urlsplit(service.env["APP_DATABASE__URL"]).password or ""
    # A short one (the test servers' "app") would be found in any word.
    if len(database_password) >= 8:
        secrets_sent.append(database_password)
    auth = service.credentials
    # Validation: the values of refused fields are secrets too.
    wrong_password = f"wrong-{uuid.uuid4().hex}"
    service.request(
        "POST",
        "/items",
        json.dumps({"name": "", "colour": wrong_password}).encode(),
        {**auth, "Content-Type": "application/json"},
    )
    # A constraint violation in the database: the same name twice.
    item = json.dumps({"name": "Twice"}).encode()
    for _ in range(2):
        service.request("POST", "/items", item, {**auth, "Content-Type": "application/json"})
    # Not found.
    service.request("GET", f"/items/{uuid.uuid4()}", headers=auth)
    if variant["auth"] == "jwt":
        # A real login's answer holds tokens, rightly: only its log lines are searched.
        _, tokens = log_in(service.base, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        secrets_sent += [SUPERUSER_PASSWORD, tokens["refresh_token"]]
        service.request(
            "POST",
            "/auth/token",
            urlencode({"username": SUPERUSER_EMAIL, "password": wrong_password}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        forged = f"{auth['Authorization'][:-8]}{wrong_password[:8]}"
        service.request("GET", "/users/me", headers={"Authorization": forged})
        service.request("GET", "/users/me", headers={"Authorization": f"Bearer {wrong_password}"})
        service.request(
            "POST",
            "/auth/refresh",
            json.dumps({"refresh_token": wrong_password}).encode(),
            {"Content-Type": "application/json"},
        )
        service.request(
            "POST",
            "/auth/register",
            json.dumps({"email": SUPERUSER_EMAIL, "password": wrong_password}).encode(),
            {"Content-Type": "application/json"},
        )
        secrets_sent.append(forged.removeprefix("Bearer "))
    elif variant["auth"] == "api_key":
        prefix = auth["X-API-Key"].partition(".")[0]
        secrets_sent.append(auth["X-API-Key"].partition(".")[2])
        service.request("GET", "/items", headers={"X-API-Key": f"{prefix}.{wrong_password}"})
        service.request("GET", "/items", headers={"X-API-Key": wrong_password})
    secrets_sent.append(wrong_password)
    # An unhandled error, without touching the service's code: its table goes away.
    _execute(variant, service.env["APP_DATABASE__URL"], "ALTER TABLE item RENAME TO item_gone")
    try:
        broken, _ = service.request("GET", "/items?limit=5", headers=auth)
    finally:
        _execute(variant, service.env["APP_DATABASE__URL"], "ALTER TABLE item_gone RENAME TO item")

    returned = b"\n".join(service.received).decode("utf-8", "replace")
    lines = [json.loads(line) for line in service.log.read_text().splitlines() if line.strip()]
    with_traceback = [line for line in lines if "exception" in line]
    assert broken == 500
    assert [line["event"] for line in with_traceback] == ["unhandled_error"]
    for text, where in [
        (returned, "a response"),
        *((json.dumps(line), "the log") for line in lines),
    ]:
        for secret in secrets_sent:
            assert secret not in text, f"a secret in {where}: {text[:2000]}"
        for marker in ("Traceback", "[SQL:", "[parameters:", "SELECT ", "INSERT INTO", '"locals"'):
            assert marker not in text, f"{marker!r} in {where}: {text[:2000]}"
    assert '"frames"' not in returned


def _execute(variant: dict[str, Any], url: str, statement: str) -> None:
    """Runs one SQL statement on the service's database, behind its back."""
    if variant["database"] == "sqlite":
        path = "/" + urlsplit(url).path.lstrip("/")
        with sqlite3.connect(path) as connection:
            connection.execute(statement)
    else:
        run_sql(url, statement)
