"""Renders the variants, serves them beside the reference, loads them in turn, reports.

    python -m scripts.bench [--smoke] [--template-ref REF]

Needs wrk, and TEST_POSTGRESQL_URL and TEST_REDIS_URL naming running servers (scripts/bench.sh
provides all three). Everything it starts, creates or renders is stopped, dropped or removed
at the end, also when it fails or is interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from . import conformance, service_log, services
from .load import LoadResult, run_wrk, write_script, wrk_version
from .report import Results, Target, markdown
from .services import ROOT, Server
from .variants import ENDPOINTS, FULL, PG_JWT, REFERENCE, SMOKE, Endpoint, Plan, Variant

RESULTS_DIR = ROOT / ".bench"
SEED_ITEMS = 1000
SUPERUSER_EMAIL = "bench@example.com"
# Well above the rate any one client reaches here: the limiter runs, but never refuses.
RATE_LIMIT = "1000000/second"
# Longer than the run: cached reads stay hits, tokens stay valid.
CACHE_TTL_SECONDS = "3600"
ACCESS_TOKEN_MINUTES = "240"

_started = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _started:6.0f} s] {message}", file=sys.stderr, flush=True)


@dataclass
class Running:
    """A server under load and what its requests need."""

    target: Target
    server: Server
    token: str | None
    ids_file: Path
    # Where its log stood when the load began: what comes before is set-up and checks.
    log_offset_at_load: int = 0


def service_env(variant: Variant, project: Path, database_url: str) -> dict[str, str]:
    """Production settings, with the limits that would cut the benchmark short raised."""
    env = {
        "APP_ENVIRONMENT": "production",
        # As the Dockerfile sets it: log lines are written as they happen.
        "PYTHONUNBUFFERED": "1",
        "APP_SECRET_KEY": secrets.token_urlsafe(48),
        "APP_DATABASE__URL": database_url,
        **variant.settings,
    }
    if variant.cache != "none":
        env["APP_RATE_LIMIT__PER_CLIENT"] = RATE_LIMIT
        env["APP_CACHE__TTL_SECONDS"] = CACHE_TTL_SECONDS
    if variant.cache == "redis":
        env["APP_CACHE__URL"] = os.environ["TEST_REDIS_URL"]
    if variant.auth == "jwt":
        env["APP_AUTH__ACCESS_TOKEN_MINUTES"] = ACCESS_TOKEN_MINUTES
    if variant.database == "sqlite":
        env["APP_DATABASE__URL"] = f"sqlite:///{project / 'service.db'}"
    return env


def database_url(variant: Variant, cleanup: ExitStack) -> str:
    """A fresh PostgreSQL database of the variant's own, dropped at the end; "" for SQLite."""
    if variant.database != "postgresql":
        return ""
    server_url = os.environ["TEST_POSTGRESQL_URL"]
    name = "bench_" + variant.project_slug.replace("-", "_")
    url = services.create_database(server_url, name)
    cleanup.callback(services.drop_database, server_url, name)
    return url


def start_variant(
    variant: Variant, project: Path, env: dict[str, str], cleanup: ExitStack
) -> Running:
    """Migrates, creates the account, serves as the Dockerfile's CMD does, logs in, seeds."""
    slug_command = str(services.command(project, variant.project_slug))
    services.run([slug_command, "migrate"], project, env)
    password = secrets.token_urlsafe(24)
    if variant.auth == "jwt":
        account_env = {**env, "SUPERUSER_PASSWORD": password}
        services.run([slug_command, "create-superuser", SUPERUSER_EMAIL], project, account_env)
    port = services.free_port()
    args = [slug_command, "serve", "--host", "127.0.0.1", "--port", str(port)]
    log_path = project.parent / f"{variant.key}.log"
    server = services.start_server(variant.key, args, project, env, port, log_path)
    cleanup.callback(services.stop_server, server)
    token = services.log_in(port, SUPERUSER_EMAIL, password) if variant.auth == "jwt" else None
    ids_file = project.parent / f"{variant.key}-ids.txt"
    ids_file.write_text("\n".join(services.seed_items(port, token, SEED_ITEMS)) + "\n")
    target = Target(
        variant.key,
        f"`{variant.project_slug}`: {variant.description}",
        variant.item_read,
        cold_start_seconds=server.cold_start_seconds,
    )
    return Running(target, server, token, ids_file)


def start_reference(workdir: Path, pg_jwt: Running, env: dict[str, str]) -> Running:
    """The reference on variant A's database, with A's secret: A's token and items work."""
    project = workdir / PG_JWT.key
    python_version = (project / ".python-version").read_text().strip()
    python = services.install_reference(workdir / "reference-venv", python_version)
    port = services.free_port()
    script = Path(__file__).with_name("reference_app.py")
    args = [str(python), str(script), "--host", "127.0.0.1", "--port", str(port)]
    reference_env = {
        **env,
        "APP_AUTH__ISSUER": PG_JWT.project_slug,
        "APP_AUTH__AUDIENCE": PG_JWT.project_slug,
    }
    log_path = workdir / "reference.log"
    server = services.start_server(REFERENCE, args, workdir, reference_env, port, log_path)
    description = (
        "hand-written Starlette + asyncpg + orjson + PyJWT app on variant A's database "
        "(uvicorn, one worker, uvloop, httptools, no access log)"
    )
    target = Target(REFERENCE, description, "cache miss", server.cold_start_seconds)
    return Running(target, server, pg_jwt.token, pg_jwt.ids_file)


def load_once(
    running: Running, endpoint: Endpoint, script: Path, connections: int, seconds: int
) -> LoadResult:
    env = {
        **services.BASE_ENV,
        "BENCH_TOKEN": running.token or "",
        "BENCH_IDS_FILE": str(running.ids_file),
        "BENCH_NAME_PREFIX": f"{running.target.key}-{connections}-{secrets.token_hex(6)}",
    }
    url = running.server.url + endpoint.path
    return run_wrk(url, script, connections, seconds, env)


def run_load(plan: Plan, targets: list[Running], workdir: Path, results: Results) -> None:
    """For each endpoint and connection count, rounds of: reference, then each variant."""
    for endpoint in ENDPOINTS:
        script = write_script(endpoint, workdir)
        for running in targets:
            warmup = load_once(
                running, endpoint, script, min(plan.connections), plan.warmup_seconds
            )
            check(results, running, f"warm-up of {endpoint.title}", warmup)
        for connections in plan.connections:
            for round_number in range(1, plan.rounds + 1):
                progress(f"{endpoint.title}, {connections} connections, round {round_number}")
                for running in targets:
                    result = load_once(
                        running, endpoint, script, connections, plan.duration_seconds
                    )
                    results.add(running.target.key, endpoint, connections, result)
                    what = f"{endpoint.title} at {connections} connections, round {round_number}"
                    check(results, running, what, result)


def check_reference(reference: Running, pg_jwt: Running) -> list[str]:
    """The reference must answer as variant A does, or the comparison means nothing."""
    assert pg_jwt.token is not None
    item_id = pg_jwt.ids_file.read_text().split()[0]
    found = conformance.differences(
        reference.server.port, pg_jwt.server.port, pg_jwt.token, item_id
    )
    return [f"the reference answers unlike {pg_jwt.target.key}: {what}" for what in found]


def check(results: Results, running: Running, what: str, result: LoadResult) -> None:
    if result.failed:
        results.problems.append(
            f"{running.target.key}, {what}: {result.requests} responses, "
            f"{result.non_2xx} non-2xx, {result.socket_errors} socket errors "
            f"({result.timeouts} timeouts), slowest {result.max_ms:.0f} ms"
        )


def log_problems(results: Results, running: Running) -> None:
    """What the server's log says went wrong under load, in-flight requests included (it has
    stopped by now)."""
    target = running.target
    summary = service_log.summarize(running.server.log_path, running.log_offset_at_load)
    target.error_statuses = summary.error_statuses
    target.unhandled_errors = summary.unhandled.total()
    if summary.unhandled:
        kinds = "; ".join(f"{n}x {what}" for what, n in summary.unhandled.most_common(3))
        results.problems.append(
            f"{target.key}: {target.unhandled_errors} unhandled errors in its log: {kinds}"
        )
    if target.error_statuses:
        counts = ", ".join(f"{n}x {status}" for status, n in sorted(target.error_statuses.items()))
        results.problems.append(f"{target.key}: its access log has {counts}")


def describe_context(plan: Plan, workdir: Path, commit: str) -> list[str]:
    python = services.run([str(workdir / "reference-venv" / "bin" / "python"), "-V"], workdir)
    return [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; template commit `{commit[:10]}`; "
        f"{plan.rounds} round(s) x {plan.duration_seconds} s per target, endpoint and "
        f"connection count, after a {plan.warmup_seconds} s warm-up per endpoint.",
        f"{wrk_version()}, one thread, `--timeout 10s`; {os.cpu_count()} CPUs shared by wrk, "
        f"the servers, PostgreSQL and Redis; {python.strip()}; {platform.system()}.",
    ]


def benchmark(plan: Plan, commit: str, workdir: Path, cleanup: ExitStack) -> Results:
    for variant in plan.variants:
        progress(f"rendering and installing {variant.key} ({variant.project_slug})")
        services.install(services.render(variant, workdir / variant.key, commit))
    started: dict[str, Running] = {}
    envs: dict[str, dict[str, str]] = {}
    for variant in plan.variants:
        progress(f"migrating, serving and seeding {variant.key}")
        project = workdir / variant.key
        envs[variant.key] = service_env(variant, project, database_url(variant, cleanup))
        started[variant.key] = start_variant(variant, project, envs[variant.key], cleanup)
    progress("installing and starting the reference")
    reference = start_reference(workdir, started[PG_JWT.key], envs[PG_JWT.key])
    cleanup.callback(services.stop_server, reference.server)
    targets = [reference, *started.values()]
    results = Results(plan, describe_context(plan, workdir, commit))
    results.targets = {running.target.key: running.target for running in targets}
    results.problems += check_reference(reference, started[PG_JWT.key])
    for running in targets:
        running.log_offset_at_load = running.server.log_path.stat().st_size
    run_load(plan, targets, workdir, results)
    for running in targets:
        running.target.rss_mib = running.server.rss_mib()
        services.stop_server(running.server)
        log_problems(results, running)
    return results


def stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # An exception, so every `finally` and cleanup callback runs.
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short round; exit 1 on any error")
    parser.add_argument(
        "--template-ref",
        default="HEAD",
        help="the commit of the template to render (default: HEAD; uncommitted changes never)",
    )
    parser.add_argument(
        "--observability",
        metavar="OPTIONS",
        help="every variant's observability answer, comma-separated ('' for none; default: "
        "the template's), to measure what an option costs",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    plan = SMOKE if smoke else FULL
    if args.observability is not None:
        chosen = [option for option in args.observability.split(",") if option]
        variants = tuple(
            dataclasses.replace(variant, answers={**variant.answers, "observability": chosen})
            for variant in plan.variants
        )
        plan = dataclasses.replace(plan, variants=variants)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    for variable in ("TEST_POSTGRESQL_URL", "TEST_REDIS_URL"):
        if not os.environ.get(variable):
            parser.error(f"{variable} is not set; run scripts/bench.sh, which starts the servers")
    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        results = benchmark(plan, services.template_commit(args.template_ref), workdir, cleanup)
    report = markdown(results, smoke=smoke)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / plan.results_file).write_text(report)
    print(report)
    progress(f"done; results in {(RESULTS_DIR / plan.results_file).relative_to(ROOT)}")
    return 1 if results.problems else 0
