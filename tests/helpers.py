"""Helpers the template's tests share: render a project, run commands in it, serve it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import copier

ROOT = Path(__file__).resolve().parents[1]
# `uv run` names its own binary in UV; rendered projects use the same uv and its shared cache.
UV = os.environ.get("UV") or shutil.which("uv") or "uv"


def every_pyenv_version() -> dict[str, str]:
    """Lets uv find each Python that pyenv has installed, not only the one pyenv has selected.

    pyenv's `python3.13` shim fails unless PYENV_VERSION names 3.13, and running under a
    pyenv Python sets PYENV_VERSION to that one Python.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    installed = subprocess.run(
        [pyenv, "versions", "--bare", "--skip-aliases"], capture_output=True, text=True, check=False
    ).stdout.split()
    selected = [name for name in os.environ.get("PYENV_VERSION", "").split(":") if name]
    return {"PYENV_VERSION": ":".join(selected + [v for v in installed if v not in selected])}


# The environment of every command the tests run in a rendered project.
# Without the template's own virtualenv, which uv would warn about in every rendered project.
BASE_ENV = {
    **{name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"},
    **every_pyenv_version(),
}


def render(
    template: Path, destination: Path, answers: Mapping[str, Any], *, vcs_ref: str = "HEAD"
) -> Path:
    """Renders the committed template with these answers, as a user would (no --trust)."""
    copier.run_copy(
        str(template),
        destination,
        data=dict(answers),
        defaults=True,
        vcs_ref=vcs_ref,
        quiet=True,
        unsafe=False,
    )
    return destination


def run(
    args: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Runs a command and fails with its output when it exits non-zero."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def run_failing(args: list[str], cwd: Path, *, env: Mapping[str, str]) -> str:
    """Runs a command that must fail; returns what it printed."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, f"`{' '.join(args)}` should have failed:\n{result.stdout}"
    return result.stdout + result.stderr


def git_commit_all(repository: Path, message: str) -> None:
    """Commits the whole work tree, with an identity of its own (CI machines have none)."""
    run(["git", "add", "--all"], repository)
    identity = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]
    run(["git", *identity, "commit", "--quiet", "--allow-empty", "-m", message], repository)


def uv_sync(project: Path) -> None:
    """Creates the project's .venv with its dev group, from the shared uv cache."""
    run([UV, "sync", "--quiet"], project)


def executable(project: Path) -> str:
    """The service's own command in the project's environment."""
    return str(next((project / ".venv" / "bin").glob("acme-*")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 5,
) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and lower-cased headers of one request; 4xx and 5xx are answers, not errors."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, content, received = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, content, received = error.code, error.read(), error.headers
    return status, content, {name.lower(): value for name, value in received.items()}


Request = tuple[str, str, bytes | None, Mapping[str, str]]


def all_at_once(
    requests: Sequence[Request], clients: int, *, timeout: float = 60
) -> list[tuple[int, bytes]]:
    """Sends the requests from `clients` threads at a time; status and body of each, in order."""

    def send(request: Request) -> tuple[int, bytes]:
        status, body, _ = http(*request, timeout=timeout)
        return status, body

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(send, requests))


def multipart_file(content: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one text file in the `file` field, and its content type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            "\r\nContent-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@contextmanager
def serving(
    project: Path, command: list[str], env: Mapping[str, str], port: int
) -> Iterator[subprocess.Popen[str]]:
    """Starts the service, waits until /health/live answers, and stops it at the end."""
    log = project / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=project,
            env={**BASE_ENV, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the service exited early:\n{log.read_text()}")
            try:
                status, _, _ = http("GET", f"http://127.0.0.1:{port}/health/live")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the service did not start in 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def stop(process: subprocess.Popen[str], timeout: float) -> int:
    """Sends SIGTERM and returns the exit code; fails if the process outlives the timeout."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"the process ignored SIGTERM for {timeout} s") from error


class TcpProxy:
    """Forwards a loopback port to a server until told to swallow all traffic silently.

    A blackholed database is the hard outage: connections neither fail nor answer, so only
    a timeout on the client's side ends the wait.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []

    def __enter__(self) -> TcpProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.closed.set()
        self.forwarding.set()
        for sock in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def blackhole(self) -> None:
        self.forwarding.clear()

    def restore(self) -> None:
        """Lets traffic through again, what was held back first, as a healed network does."""
        self.forwarding.set()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                self.forwarding.wait()
                if self.closed.is_set():
                    return
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)  # pass the end of the stream on


MetricSamples = dict[tuple[str, frozenset[tuple[str, str]]], float]
_PARSE_METRICS = """
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = text_string_to_metric_families(sys.stdin.read())
print(json.dumps([[s.name, s.labels, s.value] for f in families for s in f.samples]))
"""


def metric_samples(project: Path, text: str) -> MetricSamples:
    """Prometheus text parsed by prometheus-client's parser, from the project's environment:
    each sample's value by its name and labels."""
    parsed = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", _PARSE_METRICS],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {
        (name, frozenset(labels.items())): value
        for name, labels, value in json.loads(parsed.stdout)
    }
