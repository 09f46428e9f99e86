"""The reference the rendered services are measured against: the same API, written by hand.

It answers the endpoints the benchmark loads with the JSON shapes of a rendered
`database=postgresql auth=jwt` service, reading that service's tables, with as little as
possible in between: Starlette routing, one asyncpg pool, orjson, PyJWT. Each authenticated
request makes the same SQL round trips as the service's lean path (the user row, then one item
statement) on one pooled connection, with asyncpg's prepared-statement cache: the practical floor.

Settings use the service's names, so the service's environment starts it unchanged:
APP_DATABASE__URL, APP_SECRET_KEY, APP_AUTH__ISSUER, APP_AUTH__AUDIENCE, APP_AUTH__LEEWAY_SECONDS,
APP_DATABASE__POOL_SIZE.

    python reference_app.py --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import asyncpg
import jwt
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
MAX_PAGE_SIZE = 100
MAX_OFFSET = 100_000

USER_IS_ACTIVE = "SELECT is_active FROM user_account WHERE id = $1"
ITEM_BY_ID = (
    "SELECT id, name, description, created_at, updated_at FROM item WHERE id = $1 AND owner_id = $2"
)
# The window count gives the total with the page in one round trip, as the service does.
ITEM_PAGE = (
    "SELECT id, name, description, created_at, updated_at, count(*) OVER () AS total FROM item"
    " WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
)
ITEM_COUNT = "SELECT count(*) FROM item WHERE owner_id = $1"
INSERT_ITEM = (
    "INSERT INTO item (id, name, description, owner_id, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $5)"
)
ITEM_FIELDS = ("id", "name", "description", "created_at", "updated_at")


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    issuer: str
    audience: str
    leeway_seconds: int
    pool_size: int

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            # asyncpg takes plain postgresql:// URLs only, not SQLAlchemy's driver suffix.
            database_url=os.environ["APP_DATABASE__URL"].replace("+asyncpg", ""),
            secret_key=os.environ["APP_SECRET_KEY"],
            issuer=os.environ["APP_AUTH__ISSUER"],
            audience=os.environ["APP_AUTH__AUDIENCE"],
            leeway_seconds=int(os.environ.get("APP_AUTH__LEEWAY_SECONDS", "10")),
            # The service's default pool size, so both wait on the database alike.
            pool_size=int(os.environ.get("APP_DATABASE__POOL_SIZE", "10")),
        )


class ProblemError(Exception):
    """An error answered as RFC 9457 problem details, like the service's."""

    def __init__(
        self, status: HTTPStatus, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def json_response(body: Any, status: int = HTTPStatus.OK, **headers: str) -> Response:
    # asyncpg's UUID subclass is not one orjson knows: `default` writes it as its text.
    content = orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z)
    return Response(content, status, headers or None, media_type="application/json")


def problem_response(request: Request, error: ProblemError) -> Response:
    body = {
        "type": "about:blank",
        "title": error.status.phrase,
        "status": int(error.status),
        "detail": error.detail,
        "instance": request.url.path,
    }
    return Response(
        orjson.dumps(body), error.status, error.headers, media_type="application/problem+json"
    )


def item_json(row: asyncpg.Record) -> dict[str, Any]:
    return {field: row[field] for field in ITEM_FIELDS}


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        detail = "Log in and send the access token as `Authorization: Bearer <token>`."
        raise ProblemError(HTTPStatus.UNAUTHORIZED, detail, {"WWW-Authenticate": "Bearer"})
    return token


def invalid_token() -> ProblemError:
    detail = "The access token is invalid or expired, or its user is inactive."
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return ProblemError(HTTPStatus.UNAUTHORIZED, detail, challenge)


def verified_user_id(request: Request) -> uuid.UUID:
    """The user id of a valid access token, checked exactly as the service checks it."""
    settings: Settings = request.state.settings
    try:
        claims = jwt.decode(
            bearer_token(request),
            settings.secret_key,
            algorithms=["HS256"],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
        if claims.get("token_use") != "access":
            raise invalid_token()
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise invalid_token() from exc


async def require_active_user(connection: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """The first round trip of every authenticated request."""
    if await connection.fetchval(USER_IS_ACTIVE, user_id) is not True:
        raise invalid_token()


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        detail = f"`{name}` must be an integer from {low} to {high}."
        raise ProblemError(HTTPStatus.UNPROCESSABLE_ENTITY, detail)
    return value


def item_to_create(body: bytes) -> tuple[str, str | None]:
    """Name and description of a valid ItemCreate body (the service's rules, hand-checked)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not set(data) <= {"name", "description"}:
        raise ProblemError(HTTPStatus.UNPROCESSABLE_ENTITY, "Send {name, description}.")
    name, description = data.get("name"), data.get("description")
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= NAME_MAX_LENGTH or "\x00" in name:
        raise ProblemError(HTTPStatus.UNPROCESSABLE_ENTITY, "`name` is not a valid name.")
    if description is not None and (
        not isinstance(description, str)
        or len(description) > DESCRIPTION_MAX_LENGTH
        or "\x00" in description
    ):
        detail = "`description` is not a valid description."
        raise ProblemError(HTTPStatus.UNPROCESSABLE_ENTITY, detail)
    return name, description


async def live(_request: Request) -> Response:
    return json_response({"status": "ok"})


async def ready(request: Request) -> Response:
    await request.state.pool.fetchval("SELECT 1")
    return json_response({"status": "ok"})


async def get_item(request: Request) -> Response:
    user_id = verified_user_id(request)
    try:
        item_id = uuid.UUID(request.path_params["item_id"])
    except ValueError as exc:
        raise ProblemError(HTTPStatus.UNPROCESSABLE_ENTITY, "`item_id` is not a UUID.") from exc
    async with request.state.pool.acquire() as connection:
        await require_active_user(connection, user_id)
        row = await connection.fetchrow(ITEM_BY_ID, item_id, user_id)
    if row is None:
        raise ProblemError(HTTPStatus.NOT_FOUND, f"Item {item_id} does not exist.")
    return json_response(item_json(row))


async def list_items(request: Request) -> Response:
    user_id = verified_user_id(request)
    limit = query_int(request, "limit", 20, 1, MAX_PAGE_SIZE)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    async with request.state.pool.acquire() as connection:
        await require_active_user(connection, user_id)
        rows = await connection.fetch(ITEM_PAGE, user_id, limit, offset)
        # Past the last page no row carries the total (the service counts then too).
        total = rows[0]["total"] if rows else await connection.fetchval(ITEM_COUNT, user_id)
    items = [item_json(row) for row in rows]
    return json_response({"items": items, "total": total, "limit": limit, "offset": offset})


async def create_item(request: Request) -> Response:
    user_id = verified_user_id(request)
    name, description = item_to_create(await request.body())
    item_id, now = uuid.uuid4(), datetime.now(UTC)
    async with request.state.pool.acquire() as connection:
        await require_active_user(connection, user_id)
        try:
            await connection.execute(INSERT_ITEM, item_id, name, description, user_id, now)
        except asyncpg.UniqueViolationError as exc:
            detail = "The request conflicts with the current state of a resource."
            raise ProblemError(HTTPStatus.CONFLICT, detail) from exc
    item = {"id": item_id, "name": name, "description": description}
    location = str(request.url_for("get_item", item_id=str(item_id)))
    return json_response(
        item | {"created_at": now, "updated_at": now}, HTTPStatus.CREATED, location=location
    )


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        size = settings.pool_size
        async with asyncpg.create_pool(settings.database_url, min_size=size, max_size=size) as pool:
            yield {"settings": settings, "pool": pool}

    routes = [
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/items", list_items, methods=["GET"]),
        Route("/items", create_item, methods=["POST"]),
        Route("/items/{item_id}", get_item, methods=["GET"], name="get_item"),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={ProblemError: problem_response}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(
        create_app(Settings.from_environment()),
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
