"""Uploading a document: the type from the bytes, the bytes in the documents bucket under the tenant's,
knowledge base's and content's name, registered with knowledge-ingest; the same bytes once; the size limit
enforced while the body arrives; Idempotency-Key replays without storing again."""

import io
import os
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from afo_common.ids import new_id
from afo_common.messaging.blobs import document_blob_name, sha256_hex
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.adapters.accounts_repository import ApiKeyRow, KeysRepository
from afo_gateway.domain.access import new_key
from afo_testkit.problems import assert_problem

MIB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><head><title>Pricing</title></head><body><p>$20 a seat.</p></body></html>"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("[Content_Types].xml", *names):
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()



@pytest.mark.parametrize(
    ("name", "data", "content_type", "media_type"),
    [
        ("handbook.pdf", PDF, "application/pdf", "application/pdf"),
        ("terms.docx", zipped("word/document.xml"), "application/octet-stream", DOCX_MEDIA_TYPE),
        ("pricing.html", HTML, "text/html", "text/html"),
        ("faq.md", b"# FAQ\n\n**Q:** Price?\n", "text/markdown", "text/markdown"),
        ("notes.txt", "Öffnungszeiten: 9\u201317 Uhr\n".encode(), "text/plain", "text/plain"),
    ],
)
async def test_an_upload_is_stored_registered_and_accepted(kb: Any, name: str, data: bytes, content_type: str,
                                                           media_type: str) -> None:
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        files={"file": (name, data, content_type)})

    assert response.status_code == 202, response.text
    document = response.json()
    assert document["status"] == "queued" and document["id"].startswith("doc_")
    assert document["media_type"] == media_type and document["name"] == name
    assert document["size_bytes"] == len(data) and document["sha256"] == sha256_hex(data)
    blob = document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(data))
    assert await kb.blob(blob) == data
    [added] = kb.ki.called(ki.ADD_DOCUMENT)
    assert added.blob == blob and added.media_type == media_type and added.tenant_id == tenant.tenant_id


async def test_the_same_bytes_twice_answer_the_existing_document(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    path = f"/v1/knowledge-bases/{tenant.kb_id}/documents"

    first = await tenant.client.post(path, headers=tenant.auth, files={"file": ("a.pdf", PDF, "application/pdf")})
    info = await kb.bucket.get_info(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(PDF)))
    again = await tenant.client.post(path, headers=tenant.auth, files={"file": ("b.pdf", PDF, "application/pdf")})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    # Not written again: the object is the one the first upload stored.
    assert (await kb.bucket.get_info(info.name)).nuid == info.nuid
    assert len(kb.ki.documents) == 1


async def chunks(total: int, sent: list[int], size: int = 64 * 1024) -> AsyncIterator[bytes]:
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\n")
    sent.append(len(body))
    yield body
    while sent[0] < total:
        sent[0] += size
        yield b"a" * size
    yield b"\r\n--xyz--\r\n"


async def test_a_body_over_the_limit_is_refused_while_it_arrives(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_MAX_UPLOAD_BYTES", str(MIB))
    await kb.start()
    tenant = await kb.tenant()
    sent: list[int] = []

    response = await tenant.client.post(
        f"/v1/knowledge-bases/{tenant.kb_id}/documents", content=chunks(5 * MIB, sent),
        headers={**tenant.auth, "Content-Type": "multipart/form-data; boundary=xyz"})

    problem = assert_problem(response, 413, "document-too-large")
    assert problem["max_bytes"] == MIB and str(MIB) in problem["detail"]
    assert "content-length" not in response.request.headers  # chunked: nothing declared up front
    assert sent[0] < 2 * MIB  # the gateway stopped reading soon after the limit, not at the end of 5 MiB
    assert not kb.ki.called(ki.ADD_DOCUMENT)


async def test_a_declared_length_over_the_limit_is_refused_before_reading(kb: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_MAX_UPLOAD_BYTES", str(MIB))
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        files={"file": ("big.txt", b"a" * (5 * MIB), "text/plain")})

    assert assert_problem(response, 413, "document-too-large")["max_bytes"] == MIB
    # Within the upload limit but over the API's 1 MiB JSON limit: this route has its own.
    ok = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                  files={"file": ("fits.txt", b"a" * (MIB - 10), "text/plain")})
    assert ok.status_code == 202, ok.text


@pytest.mark.parametrize(("name", "data"), [("logo.png", PNG), ("sheet.xlsx", zipped("xl/workbook.xml")),
                                            ("data.bin", os.urandom(8192))])
async def test_what_is_not_a_document_is_refused_and_not_stored(kb: Any, name: str, data: bytes) -> None:
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        files={"file": (name, data, "application/octet-stream")})

    problem = assert_problem(response, 415, "unsupported-media-type")
    assert problem["accepted"] == list(ki.MEDIA_TYPES)
    assert await kb.blob(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(data))) is None
    assert not kb.ki.called(ki.ADD_DOCUMENT)


async def test_an_empty_file_or_a_missing_part_is_invalid(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    path = f"/v1/knowledge-bases/{tenant.kb_id}/documents"

    empty = await tenant.client.post(path, headers=tenant.auth, files={"file": ("e.txt", b"", "text/plain")})
    missing = await tenant.client.post(path, headers=tenant.auth, files={"other": ("e.txt", b"x", "text/plain")})
    plain = await tenant.client.post(path, headers={**tenant.auth, "Content-Type": "text/plain"}, content=b"hi")

    assert "empty" in assert_problem(empty, 422, "validation-error")["detail"]
    assert assert_problem(missing, 422, "validation-error")["errors"][0]["loc"] == ["body", "file"]
    assert assert_problem(plain, 415, "unsupported-media-type")["accepted"] == ["multipart/form-data",
                                                                              "application/json"]


async def test_another_tenants_knowledge_base_is_a_404_and_nothing_is_stored(kb: Any) -> None:
    await kb.start()
    ours, theirs = await kb.tenant(), await kb.tenant()

    response = await ours.client.post(f"/v1/knowledge-bases/{theirs.kb_id}/documents", headers=ours.auth,
                                      files={"file": ("a.pdf", PDF, "application/pdf")})

    assert_problem(response, 404, "not-found")
    assert await kb.blob(document_blob_name(ours.tenant_id, theirs.kb_id, sha256_hex(PDF))) is None
    assert not kb.ki.called(ki.ADD_DOCUMENT)


async def test_a_publishable_key_cannot_upload(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    widget = new_key("publishable")
    async with kb.service.unit_of_work() as work:
        await KeysRepository(work.session).add(ApiKeyRow(
            new_id("key"), tenant.tenant_id, "publishable", "widget", widget.secret_hash, widget.hint, "agt_1",
            ["https://shop.example"], kb.ki.bases[tenant.kb_id][1].created_at, None))
    headers = {"Authorization": f"Bearer {widget.secret}", "Origin": "https://shop.example"}

    upload = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=headers,
                                      files={"file": ("a.pdf", PDF, "application/pdf")})
    listing = await tenant.client.get("/v1/knowledge-bases", headers=headers)

    assert_problem(upload, 403, "forbidden")
    assert_problem(listing, 403, "forbidden")
    assert not kb.ki.called(ki.ADD_DOCUMENT)


async def test_a_failed_registration_deletes_the_blob_it_stored(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    kb.ki.add_error = RpcError("invalid", "knowledge base is being deleted", [{"loc": ["knowledge_base_id"],
                                                                              "msg": "being deleted"}])

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        files={"file": ("a.pdf", PDF, "application/pdf")})

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"][0]["loc"] == ["body", "knowledge_base_id"]
    assert kb.ki.called(ki.ADD_DOCUMENT)
    assert await kb.blob(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(PDF))) is None


async def test_an_upload_replayed_with_its_idempotency_key_is_not_stored_again(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    path = f"/v1/knowledge-bases/{tenant.kb_id}/documents"
    headers = {**tenant.auth, "Idempotency-Key": "upload-1"}

    first = await tenant.client.post(path, headers=headers, files={"file": ("a.md", b"# A\n", "text/markdown")})
    info = await kb.bucket.get_info(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(b"# A\n")))
    # A retry: another multipart boundary (httpx picks one per request), the same file.
    again = await tenant.client.post(path, headers=headers, files={"file": ("a.md", b"# A\n", "text/markdown")})
    other = await tenant.client.post(path, headers=headers, files={"file": ("a.md", b"# B\n", "text/markdown")})

    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(kb.ki.called(ki.ADD_DOCUMENT)) == 1
    assert (await kb.bucket.get_info(info.name)).nuid == info.nuid
    assert_problem(other, 409, "conflict")
