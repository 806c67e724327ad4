"""Reading a document upload off the wire within its limit, while it arrives.

The route is exempt from the service-wide body limit (``Service.reads_own_body``), so nothing here may read
an unbounded body: the stream is counted chunk by chunk and stops at the upload limit plus room for the
multipart framing; the file part is spooled (memory up to 1 MiB, then a temporary file) by Starlette's
multipart parser and its own size checked once more. A JSON body (``{url}``) is small and capped smaller."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from afo_gateway.domain.documents import Upload
from afo_gateway.domain.errors import ApiProblem, DocumentTooLarge, Invalid, UnsupportedMediaType
from afo_gateway.entrypoints.http.schemas import DocumentUrlBody

# Boundaries, part headers and a few stray form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024
MAX_JSON_BYTES = 16 * 1024
REQUEST_TYPES = ("multipart/form-data", "application/json")
FILE_FIELD = "file"


@dataclass(frozen=True)
class Received:
    """What the client sent (a file, or the URL of a page) and what makes two such requests the same
    request for Idempotency-Key: the file's name, type and content hash, not the multipart framing,
    whose boundary a client picks anew on every attempt."""

    upload: Upload | None
    url: str | None
    fingerprint: bytes


async def _bounded(stream: AsyncIterator[bytes], max_bytes: int,
                   too_large: ApiProblem) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            raise too_large
        yield chunk


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


async def receive_document(request: Request, max_bytes: int) -> Received:
    kind = _essence(request.headers.get("content-type", ""))
    if kind == "multipart/form-data":
        return await _multipart(request, max_bytes)
    if kind == "application/json":
        return await _json(request)
    raise UnsupportedMediaType("send the document as multipart/form-data with a 'file' part, or JSON "
                               "{\"url\": …} for a page to fetch", REQUEST_TYPES)


def _declared_over(request: Request, ceiling: int) -> bool:
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > ceiling


async def _multipart(request: Request, max_bytes: int) -> Received:
    ceiling = max_bytes + MULTIPART_OVERHEAD
    if _declared_over(request, ceiling):
        raise DocumentTooLarge(max_bytes)  # refused before a byte is read
    parser = MultiPartParser(request.headers, _bounded(request.stream(), ceiling, DocumentTooLarge(max_bytes)),
                             max_files=1, max_fields=8, max_part_size=MULTIPART_OVERHEAD // 4)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid(f"the multipart body is malformed: {exc.message}") from exc
    try:
        part = form.get(FILE_FIELD)
        if not isinstance(part, UploadFile):
            raise Invalid("the document goes in a file part named 'file' (curl: -F file=@report.pdf)", [
                {"loc": ["body", FILE_FIELD], "msg": "a file part is required", "type": "missing"}])
        if part.size is not None and part.size > max_bytes:
            raise DocumentTooLarge(max_bytes)
        data = await part.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise DocumentTooLarge(max_bytes)
    finally:
        await form.close()
    upload = Upload(part.filename, part.content_type, data)
    digest = hashlib.sha256(data).hexdigest()
    return Received(upload, None, f"file\n{part.filename}\n{part.content_type}\n{digest}".encode())


async def _json(request: Request) -> Received:
    too_large = Invalid(f"a JSON body here is at most {MAX_JSON_BYTES} bytes")
    if _declared_over(request, MAX_JSON_BYTES):
        raise too_large
    raw = bytearray()
    async for chunk in _bounded(request.stream(), MAX_JSON_BYTES, too_large):
        raw += chunk
    try:
        body = DocumentUrlBody.model_validate_json(bytes(raw))
    except ValidationError as exc:
        raise Invalid("the request does not match the schema", [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()[:20]]) from exc
    return Received(None, body.url, bytes(raw))
