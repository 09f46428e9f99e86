"""Real service and worker processes: uploads are processed, and a worker killed mid-job loses
nothing (Celery and Taskiq give the job back, unacknowledged, and another worker finishes it)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from tests.auth import authenticate
from tests.helpers import (
    BASE_ENV,
    TcpProxy,
    executable,
    free_port,
    http,
    metric_samples,
    multipart_file,
    run,
    serving,
)
from tests.reliability import Tally
from tests.servers import queue_broker, service_env
from tests.variants import VARIANTS, variant_params

pytestmark = pytest.mark.slow

KINDS = [
    ("inprocess", "redis"),
    ("celery", "redis"),
    ("celery", "rabbitmq"),
    ("arq", "redis"),
    ("taskiq", "redis"),
    ("taskiq", "rabbitmq"),
]
# The first variant of each queue and broker in the pairwise cover: its install is shared.
WORKER_VARIANTS = [
    next(v for v in VARIANTS if v["task_queue"] == queue and (queue_broker(v) in (broker, "none")))
    for queue, broker in KINDS
]
# Large enough that measuring it takes a while, so the test can stop the worker in the middle.
BIG_DOCUMENT = b"lorem ipsum dolor\n" * (3 * 1024 * 1024)
SMALL_DOCUMENT = b"small document\nof two lines\n"


@pytest.fixture(scope="module", params=variant_params(WORKER_VARIANTS))
def variant(request: pytest.FixtureRequest) -> dict[str, Any]:
    answers: dict[str, Any] = request.param
    return answers


def worker_env(variant: dict[str, Any], project: Path, purpose: str) -> dict[str, str]:
    env = {
        **service_env(variant, project, purpose),
        "APP_DOCUMENTS__MAX_UPLOAD_BYTES": str(2 * len(BIG_DOCUMENT)),
        "APP_JOBS__TIME_LIMIT_SECONDS": "10",
        "APP_JOBS__MAX_RETRY_DELAY_SECONDS": "2",
        "APP_LOG_LEVEL": "WARNING",
        # The test polls often.
        "APP_RATE_LIMIT__PER_CLIENT": "1000000/minute",
    }
    if queue_broker(variant) == "redis" and variant["task_queue"] != "arq":
        # How long Redis keeps a dead worker's job before handing it out again.
        env["APP_JOBS__REDELIVER_AFTER_SECONDS"] = "15"
    return env


class Api(NamedTuple):
    """A running service and the headers that get a request through its authentication."""

    base: str
    credentials: dict[str, str]


def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """`http` with a JSON answer, and time enough for a large upload."""
    status, content, received = http(method, url, body, headers, timeout=60)
    return status, json.loads(content), received


def upload(api: Api, content: bytes, filename: str = "doc.txt") -> str:
    """Uploads a document as multipart/form-data; returns its URL."""
    body, content_type = multipart_file(content, filename)
    headers = {"Content-Type": content_type, **api.credentials}
    status, document, received = request("POST", f"{api.base}/documents", body, headers)
    assert status == 202, document
    assert document["status"] == "pending"
    return received["location"]


def wait_for_status(
    api: Api, url: str, wanted: set[str], timeout: float, *, nudge: bool = False
) -> dict[str, Any]:
    """Polls the document until its status is one of `wanted`; fails after `timeout` seconds.

    With `nudge`, uploads a small document every few seconds meanwhile: Taskiq's Redis broker
    takes back a dead worker's messages only when new ones arrive.
    """
    deadline = time.monotonic() + timeout
    next_nudge = time.monotonic() + 3
    while True:
        _, document, _ = request("GET", url, headers=api.credentials)
        if document["status"] in wanted:
            return document
        if time.monotonic() > deadline:
            pytest.fail(f"still {document['status']!r} after {timeout} s: {document}")
        if nudge and time.monotonic() > next_nudge:
            upload(api, SMALL_DOCUMENT, "nudge.txt")
            next_nudge = time.monotonic() + 3
        time.sleep(0.02)


def assert_measured(document: dict[str, Any], content: bytes) -> None:
    assert document["status"] == "done", document
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert document["line_count"] == content.count(b"\n")
    assert document["word_count"] == len(content.split())
    assert document["size"] == len(content)


@contextmanager
def worker(project: Path, env: dict[str, str], log_name: str) -> Iterator[subprocess.Popen[str]]:
    """A worker process in a process group of its own (Celery forks pool processes).

    Each worker serves its job metrics on a port of its own, unless `env` names one: a frozen
    worker still holds its port while another takes over.
    """
    port = {"APP_JOBS__METRICS_PORT": str(free_port())}
    with (project / log_name).open("a") as log:
        process = subprocess.Popen(
            [executable(project), "worker"],
            cwd=project,
            env={**BASE_ENV, **port, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        kill_group(process, signal.SIGKILL)


def kill_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    if sig == signal.SIGKILL:
        process.wait(timeout=30)


@contextmanager
def service(variant: dict[str, Any], project: Path, env: dict[str, str]) -> Iterator[Api]:
    run([executable(project), "migrate"], project, env=env)
    port = free_port()
    command = [executable(project), "serve", "--port", str(port)]
    with serving(project, command, env, port):
        base = f"http://127.0.0.1:{port}"
        yield Api(base, authenticate(variant["auth"], project, env, base))


def jobs_counted(
    project: Path, metrics_url: str, task: str, outcome: str, timeout: float = 10
) -> float:
    """`job_runs_total` of a task and outcome, polled until it is counted or `timeout` passes:
    a job's run is counted just after it has recorded its result."""
    wanted = {("task", task), ("outcome", outcome)}
    deadline = time.monotonic() + timeout
    while True:
        status, content, _ = http("GET", metrics_url, timeout=10)
        assert status == 200, content
        counted = sum(
            value
            for (name, labels), value in metric_samples(project, content.decode()).items()
            if name == "job_runs_total" and wanted <= labels
        )
        if counted or time.monotonic() > deadline:
            return counted
        time.sleep(0.1)


def test_an_upload_is_processed_by_a_real_worker(variant: dict[str, Any], project: Path) -> None:
    env = worker_env(variant, project, "worker_done")
    measured = "metrics" in variant["observability"]
    counted = 0.0
    with service(variant, project, env) as api:
        if variant["task_queue"] == "inprocess":
            document = wait_for_status(api, upload(api, SMALL_DOCUMENT), {"done", "failed"}, 30)
            if measured:  # the jobs run in the service: its own /metrics counts them
                counted = jobs_counted(
                    project, f"{api.base}/metrics", "documents.process", "succeeded"
                )
        else:
            env["APP_JOBS__METRICS_PORT"] = str(free_port())
            with worker(project, env, "worker.log"):
                url = upload(api, SMALL_DOCUMENT)
                document = wait_for_status(api, url, {"done", "failed"}, 60)
                if measured:  # the worker serves the metrics of the jobs it ran
                    metrics_url = f"http://127.0.0.1:{env['APP_JOBS__METRICS_PORT']}/metrics"
                    counted = jobs_counted(project, metrics_url, "documents.process", "succeeded")

    assert_measured(document, SMALL_DOCUMENT)
    if measured:
        assert counted >= 1


# Queues that acknowledge a job only after it ran, so a broker gives a dead worker's job back.
LATE_ACK_VARIANTS = [v for v in WORKER_VARIANTS if v["task_queue"] in {"celery", "taskiq"}]


@pytest.fixture(scope="module", params=variant_params(LATE_ACK_VARIANTS))
def late_ack(
    request: pytest.FixtureRequest, installed_project: Callable[[dict[str, Any]], Path]
) -> tuple[dict[str, Any], Path]:
    """A Celery or Taskiq variant and its installed project (shared with the other tests)."""
    return request.param, installed_project(request.param)


def test_a_worker_killed_mid_job_loses_nothing(
    late_ack: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = late_ack
    env = worker_env(variant, project, "worker_killed")
    started = time.monotonic()
    with service(variant, project, env) as api:
        for _ in range(3):
            with worker(project, env, "killed-worker.log") as doomed:
                url = upload(api, BIG_DOCUMENT)
                seen = wait_for_status(api, url, {"processing", "done", "failed"}, 60)
                # Freeze the whole group at once, then kill it: no chance to finish or ack.
                kill_group(doomed, signal.SIGSTOP)
                kill_group(doomed, signal.SIGKILL)
            if seen["status"] == "processing":
                break
        else:
            pytest.fail("the worker finished every job before the test could stop it")
        _, stuck, _ = request("GET", url, headers=api.credentials)
        assert stuck["status"] == "processing", "the killed worker must not have finished"
        killed_at = time.monotonic()

        with worker(project, env, "worker.log"):
            document = wait_for_status(api, url, {"done", "failed"}, 90, nudge=True)
        recovered_after = time.monotonic() - killed_at

    assert_measured(document, BIG_DOCUMENT)
    print(
        f"killed mid-job, done {recovered_after:.1f} s later ({time.monotonic() - started:.1f} s)"
    )


BROKER_VARIANTS = [v for v in WORKER_VARIANTS if v["task_queue"] != "inprocess"]
# A worker told to stop gets this long; a job it cannot finish by then goes back to the queue.
STOP_SECONDS = 30


@pytest.fixture(scope="module", params=variant_params(BROKER_VARIANTS))
def broker_variant(
    request: pytest.FixtureRequest, installed_project: Callable[[dict[str, Any]], Path]
) -> tuple[dict[str, Any], Path]:
    """A variant of each queue and broker that runs a worker process."""
    return request.param, installed_project(request.param)


def test_sigterm_lets_a_running_job_finish_or_hands_it_back(
    broker_variant: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = broker_variant
    env = worker_env(variant, project, "worker_stopped")
    with service(variant, project, env) as api:
        with worker(project, env, "stopped-worker.log") as stopping:
            url = upload(api, BIG_DOCUMENT)
            seen = wait_for_status(api, url, {"processing", "done", "failed"}, 60)
            stopping.send_signal(signal.SIGTERM)
            asked_at = time.monotonic()
            try:
                exit_code = stopping.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the worker ignored SIGTERM for {STOP_SECONDS} s")
            stopped_in = time.monotonic() - asked_at
        _, after_stop, _ = request("GET", url, headers=api.credentials)
        if after_stop["status"] == "done":
            document, outcome = after_stop, "finished it"
        else:
            with worker(project, env, "worker.log"):
                document = wait_for_status(api, url, {"done", "failed"}, 90, nudge=True)
            outcome = f"handed it back ({after_stop['status']})"

    assert seen["status"] == "processing", "the job was still running when SIGTERM came"
    assert exit_code == 0
    assert_measured(document, BIG_DOCUMENT)
    print(f"SIGTERM mid-job ({seen['status']}): exit 0 in {stopped_in:.1f} s, {outcome}")


# The service's own deadline for handing a job to the broker, and a margin for a busy machine.
ENQUEUE_SECONDS = 5 + 3


def test_an_upload_is_answered_while_the_broker_does_not_answer(
    broker_variant: tuple[dict[str, Any], Path], reliability: Tally
) -> None:
    reliability.add(faults_injected=1)
    variant, project = broker_variant
    env = worker_env(variant, project, "broker_outage")
    broker = urlsplit(env["APP_JOBS__BROKER_URL"])
    with TcpProxy(broker.hostname or "", broker.port or 0) as proxy:
        credentials = broker.netloc.rpartition("@")[0]
        through_proxy = broker._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}".lstrip("@"))
        env["APP_JOBS__BROKER_URL"] = through_proxy.geturl()
        env["APP_HEALTH_TIMEOUT_SECONDS"] = "1"
        with service(variant, project, env) as api:
            upload(api, SMALL_DOCUMENT)  # the service's connection to the broker is open
            proxy.blackhole()
            started = time.monotonic()
            url = upload(api, SMALL_DOCUMENT)
            answered_in = time.monotonic() - started
            _, document, _ = request("GET", url, headers=api.credentials)
            ready, _, _ = http("GET", f"{api.base}/health/ready", timeout=10)
            proxy.restore()

    assert answered_in < ENQUEUE_SECONDS
    assert document["status"] == "pending", "the periodic clean-up enqueues it later"
    assert ready == 503
    print(f"upload answered 202 in {answered_in:.1f} s while the broker did not answer")
