"""A check that the reference answers like the service it stands for, before either is loaded.

Both read the same database, so the same request must get the same status and the same JSON;
a created item differs only in its id and timestamps.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
import uuid
from typing import Any

from .services import HttpClient

ITEM_CHANGING_FIELDS = ("id", "created_at", "updated_at")


def _comparable_headers(received: dict[str, str]) -> dict[str, str]:
    """The headers both must send alike: the media type, the challenge, the Location path."""
    return {
        "content-type": received.get("content-type", "").split(";")[0],
        "www-authenticate": received.get("www-authenticate", ""),
        "location": urllib.parse.urlsplit(received.get("location", "")).path,
    }


def _answer(port: int, method: str, path: str, token: str | None, body: bytes | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with HttpClient(port) as client:
        status, content, received = client.exchange(method, path, body, headers)
    return status, json.loads(content) if content else None, _comparable_headers(received)


def _create(port: int, token: str) -> Any:
    """A created item's answer without what differs from one creation to the next."""
    name = f"conformance-{secrets.token_hex(6)}"
    body = json.dumps({"name": name, "description": None}).encode()
    status, item, headers = _answer(port, "POST", "/items", token, body)
    if isinstance(item, dict):
        item = {key: value for key, value in item.items() if key not in ITEM_CHANGING_FIELDS}
        item["name"] = item.get("name", "").replace(name, "<name>")
    headers["location"] = headers["location"].rsplit("/", 1)[0]
    return status, item, headers


def differences(reference_port: int, service_port: int, token: str, item_id: str) -> list[str]:
    """Each request that the reference and the service answer differently, described."""
    requests: list[tuple[str, str, str | None]] = [
        ("GET", "/health/live", None),
        ("GET", f"/items/{item_id}", token),
        ("GET", f"/items/{uuid.uuid4()}", token),
        ("GET", "/items?limit=20", token),
        ("GET", "/items?limit=5&offset=990", token),
        ("GET", "/items?limit=5&offset=5000", token),
        ("GET", "/items?limit=20", None),
        ("GET", f"/items/{item_id}", "not-a-token"),
    ]
    found = []
    for method, path, credential in requests:
        ours = _answer(reference_port, method, path, credential, None)
        theirs = _answer(service_port, method, path, credential, None)
        if ours != theirs:
            found.append(f"{method} {path}: reference {ours!r} but service {theirs!r}")
    created = [_create(port, token) for port in (reference_port, service_port)]
    if created[0] != created[1]:
        found.append(f"POST /items: reference {created[0]!r} but service {created[1]!r}")
    return found
