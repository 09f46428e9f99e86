"""Rendered projects and the processes that serve them: render, install, migrate, serve, stop."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import copier

from tests.helpers import every_pyenv_version

from .variants import Variant

ROOT = Path(__file__).resolve().parents[2]
# `uv run` names its own binary in UV; rendered projects use the same uv and its shared cache.
UV = os.environ.get("UV") or shutil.which("uv") or "uv"
COMMAND_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 20


def clean_environment() -> dict[str, str]:
    """This process's environment without what would leak into a child's settings or venv."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("APP_", "BENCH_")) and name != "VIRTUAL_ENV"
    }
    return {**inherited, **every_pyenv_version()}


BASE_ENV = clean_environment()


def run(args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Runs a command to completion; fails with its output when it exits non-zero."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(f"`{' '.join(args)}` exited {result.returncode}:\n{output}")
    return result.stdout


# ---------------------------------------------------------------------------------------------
# Projects


def template_commit(ref: str) -> str:
    """The commit to render, by its id: copier would add uncommitted changes to "HEAD"."""
    return run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], ROOT).strip()


def render(variant: Variant, destination: Path, commit: str) -> Path:
    """Renders the template as a user would (no --trust), then drops the local .env.

    The Docker image leaves .env out (.dockerignore); settings come from the environment only.
    """
    data = {"project_name": variant.project_name, "project_slug": variant.project_slug}
    copier.run_copy(
        str(ROOT),
        destination,
        data={**data, **variant.answers},
        defaults=True,
        vcs_ref=commit,
        quiet=True,
        unsafe=False,
    )
    (destination / ".env").unlink(missing_ok=True)
    return destination


def install(project: Path) -> None:
    """The image's environment: runtime dependencies only, bytecode compiled."""
    run([UV, "sync", "--quiet", "--no-dev", "--compile-bytecode"], project)


def install_reference(venv: Path, python_version: str) -> Path:
    """The bench group of this repository's lock, on the Python the rendered services use."""
    only_bench = ["--frozen", "--only-group", "bench", "--no-install-project"]
    run(
        [UV, "sync", "--quiet", *only_bench, "--compile-bytecode", "--python", python_version],
        ROOT,
        env={"UV_PROJECT_ENVIRONMENT": str(venv)},
    )
    return venv / "bin" / "python"


def command(project: Path, slug: str) -> Path:
    """The service's own console script, as the Dockerfile's CMD runs it."""
    return project / ".venv" / "bin" / slug


# ---------------------------------------------------------------------------------------------
# PostgreSQL databases


def _with_database(url: str, name: str) -> str:
    return urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl()


async def _execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement, timeout=60)
    finally:
        await connection.close()


def create_database(server_url: str, name: str) -> str:
    """An empty database on the server (a leftover of an interrupted run is dropped first)."""
    asyncio.run(
        _execute(
            server_url,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}"',
        )
    )
    return _with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    asyncio.run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---------------------------------------------------------------------------------------------
# HTTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HttpClient:
    """One kept-alive connection to a local server; statuses are answers, not exceptions."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        status, content, _ = self.exchange(method, path, body, headers)
        return status, content

    def exchange(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and lower-cased headers."""
        self.connection.request(method, path, body=body, headers=dict(headers or {}))
        response = self.connection.getresponse()
        received = {name.lower(): value for name, value in response.getheaders()}
        return response.status, response.read(), received


def get_status(port: int, path: str, timeout: float = 1) -> int | None:
    """The status of one GET, or None while nothing answers."""
    try:
        with HttpClient(port, timeout) as client:
            return client.request("GET", path)[0]
    except (OSError, http.client.HTTPException):
        return None


def log_in(port: int, email: str, password: str) -> str:
    """An access token from POST /auth/token (OAuth2 password form)."""
    form = urllib.parse.urlencode({"username": email, "password": password}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with HttpClient(port) as client:
        status, body = client.request("POST", "/auth/token", form, headers)
    if status != 200:
        raise RuntimeError(f"logging in answered {status}: {body[:500]!r}")
    token: str = json.loads(body)["access_token"]
    return token


def seed_items(port: int, token: str | None, count: int) -> list[str]:
    """Creates `count` items over HTTP, as a client would; returns their ids."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    ids = []
    with HttpClient(port) as client:
        for number in range(count):
            body = json.dumps({"name": f"seed-{number:05d}", "description": "Seeded item."})
            status, answer = client.request("POST", "/items", body.encode(), headers)
            if status != 201:
                raise RuntimeError(f"seeding item {number} answered {status}: {answer[:500]!r}")
            ids.append(json.loads(answer)["id"])
    return ids


# ---------------------------------------------------------------------------------------------
# Server processes


@dataclass
class Server:
    """A serving process, started by this harness and stopped by it, by PID."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    cold_start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        """Resident memory of the serving process itself (VmRSS of /proc/<pid>/status)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) / 1024

    def executable(self) -> str:
        return Path(f"/proc/{self.process.pid}/exe").resolve().name


def start_server(
    name: str, args: list[str], cwd: Path, env: Mapping[str, str], port: int, log_path: Path
) -> Server:
    """Starts a server and waits for its first 200 on /health/ready: that wait is its cold start.

    The command must exec the Python server itself (no wrapper), so that the PID measured and
    stopped is the server's.
    """
    with log_path.open("wb") as log:
        started = time.perf_counter()
        # A session of its own: a Ctrl-C in the terminal reaches the harness, which stops it.
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env={**BASE_ENV, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, log_path)
    try:
        server.cold_start_seconds = _wait_until_ready(server, started)
        if not server.executable().startswith("python"):
            msg = f"{name}: PID {process.pid} runs {server.executable()}, not Python"
            raise RuntimeError(msg)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_until_ready(server: Server, started: float) -> float:
    deadline = started + START_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{tail(server.log_path)}")
        if get_status(server.port, "/health/ready") == 200:
            return time.perf_counter() - started
        time.sleep(0.01)
    msg = f"{server.name} not ready in {START_TIMEOUT_SECONDS} s:\n{tail(server.log_path)}"
    raise RuntimeError(msg)


def stop_server(server: Server) -> None:
    """SIGTERM, time to finish what is in flight (so its errors reach the log), then SIGKILL."""
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def tail(path: Path, characters: int = 3000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-characters:]
