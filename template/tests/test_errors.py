import logging

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient


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
