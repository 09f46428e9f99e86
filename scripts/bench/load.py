"""Load from wrk: one thread (the machine has two cores, the server needs the other)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .variants import Endpoint

SCRIPTS = Path(__file__).resolve().parent / "wrk"
# wrk's default of 2 s would count a slow answer as a socket error; a stall still shows as one.
REQUEST_TIMEOUT = "10s"
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_seconds: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_seconds if self.duration_seconds else 0.0

    @property
    def failed(self) -> bool:
        """Any error answer or socket error, or no answer at all (a stalled server)."""
        return self.non_2xx > 0 or self.socket_errors > 0 or self.requests == 0


def write_script(endpoint: Endpoint, directory: Path) -> Path:
    """The endpoint's script with the shared header and done() in front of it."""
    script = directory / f"{endpoint.key}.lua"
    common = (SCRIPTS / "common.lua").read_text()
    script.write_text(common + "\n" + (SCRIPTS / endpoint.script).read_text())
    return script


def run_wrk(
    url: str, script: Path, connections: int, duration_seconds: int, env: Mapping[str, str]
) -> LoadResult:
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration_seconds}s",
        f"--timeout={REQUEST_TIMEOUT}",
        "--latency",
        f"-s{script}",
        url,
    ]
    result = subprocess.run(
        args,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=duration_seconds + 60,
        check=False,
    )
    line = next(
        (line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)), None
    )
    if result.returncode != 0 or line is None:
        output = (result.stdout + result.stderr)[-3000:]
        raise RuntimeError(f"wrk exited {result.returncode} without a result:\n{output}")
    return parse_result(json.loads(line.removeprefix(RESULT_PREFIX)))


def parse_result(data: Mapping[str, int]) -> LoadResult:
    socket_errors = sum(
        data[kind] for kind in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return LoadResult(
        requests=data["requests"],
        duration_seconds=data["duration_us"] / 1e6,
        non_2xx=data["non_2xx"],
        socket_errors=socket_errors,
        timeouts=data["timeouts"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def wrk_version() -> str:
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first_line = (result.stdout + result.stderr).strip().splitlines()[:1]
    return first_line[0].split(" [")[0] if first_line else "wrk"
