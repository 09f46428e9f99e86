"""What is measured: the rendered variants, the endpoints, and how long and hard to load them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REFERENCE = "reference"


@dataclass(frozen=True)
class Variant:
    """One rendered project; `key` names it in the results."""

    key: str
    project_name: str
    project_slug: str
    answers: dict[str, Any] = field(default_factory=dict)
    # How GET /items/{id} is served once warmed up, for the results' labels.
    item_read: str = "cache miss"
    # Settings beyond the benchmark's own, such as a documented speed-up that is off by default.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return self.answers.get("database", "sqlite")

    @property
    def auth(self) -> str:
        return self.answers.get("auth", "none")

    @property
    def cache(self) -> str:
        return self.answers.get("cache", "memory")

    @property
    def description(self) -> str:
        """The answers that matter, as copier.yml's defaults would fill them in."""
        task_queue = self.answers.get("task_queue", "inprocess")
        answers = f"{self.database}, auth={self.auth}, cache={self.cache}, task_queue={task_queue}"
        if "observability" in self.answers:
            answers += f", observability=[{','.join(self.answers['observability'])}]"
        return " ".join([answers, *(f"{name}={value}" for name, value in self.settings.items())])


PG_JWT = Variant(
    "A",
    "Bench Pg Jwt",
    "bench-pg-jwt",
    {"database": "postgresql", "auth": "jwt", "cache": "none", "task_queue": "none"},
    item_read="cache miss",
)
PG_JWT_REDIS = Variant(
    "B",
    "Bench Pg Jwt Redis",
    "bench-pg-jwt-redis",
    {"database": "postgresql", "auth": "jwt", "cache": "redis", "task_queue": "none"},
    item_read="cache hit, Redis",
)
DEFAULTS = Variant("C", "Bench Default", "bench-default", {}, item_read="cache hit, memory")
# A with the documented speed-up that is off by default: the account behind a token is reused.
PG_JWT_USER_CACHE = Variant(
    "D",
    "Bench Pg Jwt User Cache",
    "bench-pg-jwt-user-cache",
    {"database": "postgresql", "auth": "jwt", "cache": "none", "task_queue": "none"},
    item_read="cache miss",
    settings={"APP_AUTH__USER_CACHE_SECONDS": "30"},
)

# The reference reads variant A's database with A's secret, so A comes first.
VARIANTS = (PG_JWT, PG_JWT_REDIS, DEFAULTS)
# The full run also measures what the optional speed-up buys.
FULL_VARIANTS = (*VARIANTS, PG_JWT_USER_CACHE)


@dataclass(frozen=True)
class Endpoint:
    key: str
    title: str
    # A file in scripts/bench/wrk/ that shapes the requests.
    script: str
    # The URL's path for wrk: get.lua repeats it, the other scripts make their own.
    path: str = "/"
    authenticated: bool = True


ENDPOINTS = (
    Endpoint("live", "GET /health/live", "get.lua", "/health/live", authenticated=False),
    Endpoint("read", "GET /items/{id}", "read_item.lua"),
    Endpoint("list", "GET /items?limit=20", "get.lua", "/items?limit=20"),
    # Last: the rows it adds would otherwise slow the list's count in some rounds only.
    Endpoint("create", "POST /items", "create_item.lua"),
)


@dataclass(frozen=True)
class Plan:
    rounds: int
    duration_seconds: int
    connections: tuple[int, ...]
    # Each target gets this much load before the first round of an endpoint; not counted.
    warmup_seconds: int
    results_file: str
    variants: tuple[Variant, ...] = VARIANTS


FULL = Plan(
    rounds=3,
    duration_seconds=6,
    connections=(32, 256),
    warmup_seconds=2,
    results_file="bench-results.md",
    variants=FULL_VARIANTS,
)
# 256 connections are kept: that is where a pool that deadlocks or stalls shows.
SMOKE = Plan(
    rounds=1,
    duration_seconds=2,
    connections=(32, 256),
    warmup_seconds=1,
    results_file="bench-smoke.md",
)
