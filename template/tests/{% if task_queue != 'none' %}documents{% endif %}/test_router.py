import uuid

from httpx import AsyncClient

from tests.jobs.conftest import RecordingQueue

PROBLEM = "application/problem+json"
CONTENT = b"hello world\nsecond line here\n"


async def upload(
    client: AsyncClient,
    content: bytes = CONTENT,
    content_type: str = "text/plain",
    filename: str = "notes.txt",
) -> tuple[int, dict[str, str], dict[str, object]]:
    response = await client.post("/documents", files={"file": (filename, content, content_type)})
    return response.status_code, dict(response.headers), response.json()


async def test_upload_is_accepted_with_location_and_enqueued(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    status, headers, document = await upload(client)

    assert status == 202
    assert headers["location"] == f"http://test/documents/{document['id']}"
    assert document["status"] == "pending"
    assert document["size"] == len(CONTENT)
    assert (document["filename"], document["content_type"]) == ("notes.txt", "text/plain")
    assert document["sha256"] is None
    assert job_queue.enqueued == [("documents.process", (document["id"],))]


async def test_uploaded_document_can_be_read_back(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    _, headers, document = await upload(client)

    response = await client.get(headers["location"])

    assert response.status_code == 200
    assert response.json() == document


async def test_client_path_is_never_used_as_a_path(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    _, _, document = await upload(client, filename="../../etc/passwd")

    assert document["filename"] == "passwd"


async def test_too_large_upload_is_413_problem_and_not_enqueued(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    too_large = b"x" * (10 * 1024 * 1024 + 1)

    status, headers, problem = await upload(client, too_large)

    assert status == 413
    assert headers["content-type"] == PROBLEM
    assert problem["status"] == 413
    assert job_queue.enqueued == []
    assert (await client.get("/documents")).json()["total"] == 0


async def test_unaccepted_content_type_is_415_problem(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    status, headers, problem = await upload(client, b"\x89PNG", "image/png", "x.png")

    assert status == 415
    assert headers["content-type"] == PROBLEM
    assert "image/png" in str(problem["detail"])
    assert job_queue.enqueued == []


async def test_body_that_is_not_multipart_is_415(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    response = await client.post("/documents", json={"file": "text"})

    assert response.status_code == 415


async def test_multipart_without_file_field_is_422(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    response = await client.post("/documents", files={"other": ("a.txt", b"a", "text/plain")})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_unknown_document_is_404_problem(client: AsyncClient) -> None:
    document_id = uuid.uuid4()

    response = await client.get(f"/documents/{document_id}")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == f"Document {document_id} does not exist."


async def test_list_documents_paginates_with_allow_listed_sort(
    client: AsyncClient, job_queue: RecordingQueue
) -> None:
    for name in ("b.txt", "a.txt", "c.txt"):
        await upload(client, filename=name)

    page = (await client.get("/documents", params={"limit": 2, "sort": "filename"})).json()
    bad_sort = await client.get("/documents", params={"sort": "size"})
    too_many = await client.get("/documents", params={"limit": 101})

    assert [document["filename"] for document in page["items"]] == ["a.txt", "b.txt"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert (bad_sort.status_code, too_many.status_code) == (422, 422)
