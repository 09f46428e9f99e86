import logging

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


async def test_unknown_route_is_404_problem(client: AsyncClient) -> None:
    response = await client.get("/no-such-route")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


async def test_wrong_method_is_405_problem_with_allow(client: AsyncClient) -> None:
    response = await client.put("/items")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"]


async def test_unhandled_error_is_500_problem_without_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/explode", headers={"X-Request-ID": "trace-me"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "trace-me"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    logged = [
        r for r in caplog.records if r.exc_info and "secret internal detail" in str(r.exc_info[1])
    ]
    assert logged, "the exception and its traceback are logged"


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT secret_column FROM item", {}, OSError("server closed")),
        PoolTimeoutError("QueuePool limit of size 10 overflow 0 reached"),
        TimeoutError(),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["dropped", "pool-exhausted", "no-answer", "refused"],
)
async def test_an_unavailable_database_is_503_problem_with_retry_after(
    app: FastAPI, error: Exception
) -> None:
    @app.get("/unavailable")
    async def unavailable() -> None:
        raise error

    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/unavailable")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert "secret_column" not in response.text


@pytest.mark.parametrize("body", [b'{"name": ', b'{"name": "a"} trailing', b"\xff\xfe{}"])
async def test_a_body_that_is_not_json_is_a_400_problem(client: AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/items", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("The request body is not valid JSON: ")
    assert "errors" not in response.json()


async def test_the_schema_declares_the_400_of_every_json_body(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    json_bodies = [
        operation
        for operations in schema["paths"].values()
        for operation in operations.values()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]

    assert json_bodies
    assert all("400" in operation["responses"] for operation in json_bodies)
