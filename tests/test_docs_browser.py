"""The API docs render in a real browser with nothing but the service: no CDN, no network.

Headless Chromium (Debian's `chromium`, which `.ci/run` installs) opens `/docs` and `/redoc`
of a running service on loopback. Every other address fails on purpose: host names resolve to
nothing and anything not on loopback goes to a proxy that does not exist. The DOM Chromium ends
with must list every operation of the service's OpenAPI schema, and Chromium's network log must
show that the page asked for nothing but the service. Screenshots stay in the test's temporary
folder (pytest keeps the last three runs) for a person to look at.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import UV, free_port, http, render, run, serving

ANSWERS = {"project_name": "Acme Orders", "auth": "jwt"}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    # Time for the page's scripts to fetch the schema and render it.
    "--virtual-time-budget=10000",
    # No network but loopback: names resolve to nothing, other addresses meet a dead proxy
    # (Chromium never sends loopback through a proxy).
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
]
SWAGGER_OPERATION = re.compile(
    r'opblock-summary-method">(\w+)</span>(?:(?!opblock-summary-method).)*?data-path="([^"]+)"',
    re.DOTALL,
)
REDOC_OPERATION = re.compile(r'http-verb (\w+)">\w+</span><span class="[^"]*">([^<]+)</span>')


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: `apt-get install chromium` (.ci/run does)"
    return found


def browse(url: str, profile: Path, *extra: str) -> str:
    """Runs Chromium once on the page; returns what it printed on stdout."""
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, template: Path) -> Iterator[str]:
    """The rendered service, installed without its dev tools, migrated and serving."""
    project = render(template, tmp_path_factory.mktemp("docs") / "acme-orders", ANSWERS)
    run([UV, "sync", "--quiet", "--no-dev"], project)
    command = str(project / ".venv" / "bin" / "acme-orders")
    env = {
        "APP_ENVIRONMENT": "production",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
        "APP_DATABASE__URL": f"sqlite:///{project / 'docs.db'}",
    }
    run([command, "migrate"], project, env=env)
    port = free_port()
    with serving(project, [command, "serve", "--port", str(port)], env, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def operations(service: str) -> set[tuple[str, str]]:
    status, body, _ = http("GET", f"{service}/openapi.json")
    assert status == 200
    paths = json.loads(body)["paths"]
    found = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert ("POST", "/auth/token") in found, "the schema names the service's routes"
    return found


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docs-screenshots")


def page_requests(net_log: Path) -> list[str]:
    """The URLs the page itself asked for (not Chromium's own background requests)."""
    log = json.JSONDecoder().raw_decode(net_log.read_text())[0]
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [event.get("params", {}) for event in log["events"] if event["type"] == start_job]
    return [
        start["url"]
        for start in starts
        if start.get("initiator", "not an origin") != "not an origin"
    ]


def test_swagger_ui_lists_every_operation_with_no_network_beyond_loopback(
    service: str, operations: set[tuple[str, str]], tmp_path: Path
) -> None:
    net_log = tmp_path / "net-log.json"
    dom = browse(f"{service}/docs", tmp_path / "profile", f"--log-net-log={net_log}", "--dump-dom")

    shown = {(method.upper(), path) for method, path in SWAGGER_OPERATION.findall(dom)}
    assert shown == operations
    requested = page_requests(net_log)
    assert f"{service}/openapi.json" in requested
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested)
    assert [url for url in requested if not url.startswith(f"{service}/")] == []


def test_redoc_lists_every_operation(
    service: str, operations: set[tuple[str, str]], tmp_path: Path
) -> None:
    dom = browse(f"{service}/redoc", tmp_path / "profile", "--dump-dom")

    shown = {(method.upper(), path) for method, path in REDOC_OPERATION.findall(dom)}
    assert shown == operations


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, size = 8, b"", (0, 0)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    return size[0], size[1], zlib.decompress(chunks)


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_a_screenshot_of_each_page_shows_it_rendered(
    service: str, screenshots: Path, tmp_path: Path, page: str
) -> None:
    picture = screenshots / f"{page}.png"
    browse(f"{service}/{page}", tmp_path / "profile", f"--screenshot={picture}")

    width, height, pixels = png_pixels(picture.read_bytes())
    assert (width, height) == (1280, 900)
    # A blank page is one colour; a rendered one has text, colours and lines.
    not_white = sum(1 for byte in pixels if byte < 0xF0)
    assert not_white > len(pixels) // 50, f"{picture} looks blank"
