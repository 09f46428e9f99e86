import uuid

import pytest
from httpx import AsyncClient

PROBLEM = "application/problem+json"


async def create(client: AsyncClient, name: str, description: str | None = None) -> dict[str, str]:
    response = await client.post("/items", json={"name": name, "description": description})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_create_item_returns_it_with_location(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": "Widget", "description": "Small"})

    assert response.status_code == 201
    item = response.json()
    assert item["name"] == "Widget"
    assert item["description"] == "Small"
    assert item["created_at"] == item["updated_at"]
    assert response.headers["location"] == f"http://test/items/{item['id']}"


async def test_create_item_strips_name(client: AsyncClient) -> None:
    item = await create(client, "  Spaced  ")
    assert item["name"] == "Spaced"


async def test_get_item_reads_what_was_created(client: AsyncClient) -> None:
    created = await create(client, "Gadget")

    response = await client.get(f"/items/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


async def test_get_unknown_item_is_404_problem(client: AsyncClient) -> None:
    item_id = uuid.uuid4()

    response = await client.get(f"/items/{item_id}")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": f"Item {item_id} does not exist.",
        "instance": f"/items/{item_id}",
    }


async def test_duplicate_name_is_409_problem(client: AsyncClient) -> None:
    await create(client, "Unique")

    response = await client.post("/items", json={"name": "Unique"})

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 409
    listing = await client.get("/items")
    assert listing.json()["total"] == 1


async def test_invalid_body_is_422_problem_with_field_paths(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": "", "colour": "red"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    locations = {error["location"] for error in response.json()["errors"]}
    assert locations == {"body.name", "body.colour"}


async def test_malformed_id_is_422(client: AsyncClient) -> None:
    response = await client.get("/items/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "path.item_id"


async def test_list_items_paginates_with_total(client: AsyncClient) -> None:
    for name in ("a", "b", "c"):
        await create(client, name)

    response = await client.get("/items", params={"limit": 2, "offset": 1, "sort": "name"})

    assert response.status_code == 200
    page = response.json()
    assert [item["name"] for item in page["items"]] == ["b", "c"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


async def test_list_items_sorts_descending(client: AsyncClient) -> None:
    for name in ("a", "c", "b"):
        await create(client, name)

    response = await client.get("/items", params={"sort": "-name"})

    assert [item["name"] for item in response.json()["items"]] == ["c", "b", "a"]


async def test_list_items_refuses_unknown_sort_and_oversized_limit(client: AsyncClient) -> None:
    bad_sort = await client.get("/items", params={"sort": "description"})
    too_many = await client.get("/items", params={"limit": 101})
    too_deep = await client.get("/items", params={"offset": 2**64})

    assert bad_sort.status_code == 422
    assert too_many.status_code == 422
    assert too_deep.status_code == 422


async def test_update_item_changes_only_sent_fields(client: AsyncClient) -> None:
    created = await create(client, "Before", "kept")

    response = await client.patch(f"/items/{created['id']}", json={"name": "After"})

    assert response.status_code == 200
    item = response.json()
    assert (item["name"], item["description"]) == ("After", "kept")
    assert item["updated_at"] >= created["updated_at"]


async def test_update_item_can_clear_description(client: AsyncClient) -> None:
    created = await create(client, "Clear me", "text")

    response = await client.patch(f"/items/{created['id']}", json={"description": None})

    assert response.json()["description"] is None


async def test_update_item_refuses_null_name(client: AsyncClient) -> None:
    created = await create(client, "Named")

    response = await client.patch(f"/items/{created['id']}", json={"name": None})

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.name"


async def test_update_to_taken_name_is_409(client: AsyncClient) -> None:
    await create(client, "Taken")
    other = await create(client, "Other")

    response = await client.patch(f"/items/{other['id']}", json={"name": "Taken"})

    assert response.status_code == 409


async def test_update_unknown_item_is_404(client: AsyncClient) -> None:
    response = await client.patch(f"/items/{uuid.uuid4()}", json={"name": "x"})

    assert response.status_code == 404


async def test_delete_item_removes_it(client: AsyncClient) -> None:
    created = await create(client, "Doomed")

    response = await client.delete(f"/items/{created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/items/{created['id']}")).status_code == 404


async def test_delete_unknown_item_is_404(client: AsyncClient) -> None:
    response = await client.delete(f"/items/{uuid.uuid4()}")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"name": "nul", "description": "a\u0000b"}, "body.description"),
        ({"name": "a\u0000b"}, "body.name"),
        ({"name": "\u0000"}, "body.name"),
    ],
)
async def test_nul_characters_are_refused_not_stored(
    client: AsyncClient, body: dict[str, str], location: str
) -> None:
    response = await client.post("/items", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == location


async def test_nul_characters_are_refused_in_a_change(client: AsyncClient) -> None:
    created = (await client.post("/items", json={"name": "Widget"})).json()

    response = await client.patch(f"/items/{created['id']}", json={"name": "Wid\u0000get"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.name"


async def test_a_blank_name_is_refused(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": " \n\t "})

    assert response.status_code == 422
