"""Knowledge bases through the public API on the real platform: documents of three formats ingested, questions
answered citing the right document and page, an uncovered question declined with a handoff offer, another
tenant finding nothing, a corrupt PDF failing alone, and knowledge-ingest killed mid-ingest resuming."""

from __future__ import annotations

import asyncio
import io
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
import pytest_asyncio

from afo_testkit.documents import pdf_bytes
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SERVICES = ("gateway", "agent-runtime", "knowledge-ingest")
HANDBOOK_PAGES = [
    ["Harbor Dental handbook", "Welcome to Harbor Dental. We care for families in Portland since 2009."],
    ["Opening hours", "The clinic is open Monday to Friday from 8 am to 6 pm.",
     "On Saturdays we open from 9 am to 1 pm for check-ups only."],
    ["Payments", "A new patient exam with x-rays costs $180.",
     "We accept Delta Dental and Cigna insurance plans."],
]


def handbook_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Whitening and aligners"
    document.add_heading("Teeth whitening", level=1)
    document.add_paragraph("In-office whitening takes about 90 minutes and costs $450 per session.")
    document.add_heading("Clear aligners", level=1)
    document.add_paragraph("Clear aligner treatment usually lasts between 6 and 18 months.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


POLICIES_HTML = b"""<!doctype html><html><head><title>Cancellation policy</title></head><body>
<nav>Home | Services | Contact</nav><h1>Cancellation policy</h1>
<p>Please cancel at least 24 hours before your appointment. Late cancellations are charged a $50 fee.</p>
<footer>Harbor Dental</footer></body></html>"""


def long_markdown(sections: int = 100) -> bytes:
    """Enough text for many embedding batches, so a kill lands mid-embedding."""
    parts = ["# Service catalogue\n"]
    for n in range(sections):
        details = " ".join(f"Detail {n}.{k}: patients receive a written plan and a follow-up call." for k in range(12))
        parts.append(f"## Service {n}\n\nService {n} covers routine care item {n}. {details}\n")
    return "\n".join(parts).encode()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def supervised(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """A platform of its own whose supervisor restarts knowledge-ingest when the test kills it: the shared
    platform's services are never killed."""
    home: Path = tmp_path_factory.mktemp("knowledge-platform")
    async with running_platform(home, services=SERVICES, supervise=True) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def supervised_api(supervised: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=supervised.gateway_url, timeout=30.0) as client:
        yield client


async def knowledge_base(api: httpx.AsyncClient, tenant: Tenant, name: str = "Handbook") -> str:
    response = await api.post("/v1/knowledge-bases", headers=tenant.auth, json={"name": name})
    assert response.status_code == 201, response.text
    kb_id: str = response.json()["id"]
    return kb_id


async def upload(api: httpx.AsyncClient, tenant: Tenant, kb_id: str, name: str, data: bytes,
                 content_type: str) -> dict[str, Any]:
    response = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth,
                              files={"file": (name, data, content_type)})
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def settled(api: httpx.AsyncClient, tenant: Tenant, kb_id: str, doc_id: str,
                  timeout_s: float = 90.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        response = await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{doc_id}", headers=tenant.auth)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        if document["status"] in ("ready", "failed"):
            return document
        assert loop.time() < deadline, f"document still {document['status']} after {timeout_s} s: {document}"
        await asyncio.sleep(0.2)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def clinic(api: httpx.AsyncClient) -> tuple[Tenant, str, dict[str, str]]:
    """A tenant with a knowledge base of a PDF, a DOCX and an HTML page, all ingested, and a corrupt PDF."""
    tenant = await sign_up(api, "Harbor Dental")
    kb_id = await knowledge_base(api, tenant)
    uploads = {
        "handbook.pdf": (pdf_bytes(HANDBOOK_PAGES, title="Harbor Dental handbook"), "application/pdf"),
        "broken.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntruncated", "application/pdf"),
        "whitening.docx": (handbook_docx(),
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "cancellation.html": (POLICIES_HTML, "text/html"),
    }
    ids = {name: (await upload(api, tenant, kb_id, name, data, kind))["id"]
           for name, (data, kind) in uploads.items()}
    for name, doc_id in ids.items():
        document = await settled(api, tenant, kb_id, doc_id)
        expected = "failed" if name == "broken.pdf" else "ready"
        assert document["status"] == expected, document
    return tenant, kb_id, ids


async def test_documents_are_ingested_and_a_corrupt_one_fails_alone_with_its_reason(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    tenant, kb_id, ids = clinic
    broken = (await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{ids['broken.pdf']}",
                            headers=tenant.auth)).json()
    assert broken["error"]["code"] == "corrupt" and broken["error"]["reason"]
    handbook = (await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{ids['handbook.pdf']}",
                              headers=tenant.auth)).json()
    assert handbook["pages"] == 3 and handbook["progress"] == 1.0
    assert handbook["chunks_done"] == handbook["chunks_total"] > 0
    listed = (await api.get(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth)).json()
    assert {d["id"] for d in listed["data"]} == set(ids.values())


async def test_the_same_bytes_again_are_the_same_document(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    tenant, kb_id, ids = clinic
    again = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth,
                           files={"file": ("copy.html", POLICIES_HTML, "text/html")})
    assert again.status_code == 200 and again.json()["id"] == ids["cancellation.html"]


async def test_search_finds_the_page_that_answers(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    tenant, kb_id, ids = clinic
    response = await api.post(f"/v1/knowledge-bases/{kb_id}/search", headers=tenant.auth,
                              json={"query": "when are you open on saturday?", "top_k": 3})
    assert response.status_code == 200, response.text
    best = response.json()["hits"][0]
    assert best["document_id"] == ids["handbook.pdf"] and best["source"]["page"] == 2
    assert "Saturdays" in best["text"]


@pytest.mark.parametrize(("question", "document", "page", "words"), [
    ("How much is a new patient exam?", "handbook.pdf", 3, "$180"),
    ("what does whitening cost?", "whitening.docx", None, "$450"),
    ("Is there a fee if I cancel late?", "cancellation.html", None, "$50"),
])
async def test_the_agent_answers_citing_the_right_document_and_page(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]], question: str, document: str,
    page: int | None, words: str,
) -> None:
    tenant, kb_id, ids = clinic
    agent_id = await published_agent(api, tenant, knowledge_base_ids=[kb_id])
    conversation_id = await conversation(api, tenant, agent_id)
    reply = (await say(api, tenant, conversation_id, question))["reply"]
    assert words in reply["text"] and "[1]" in reply["text"], reply
    citation = reply["citations"][0]
    assert citation["document_id"] == ids[document] and citation["page"] == page
    assert words in citation["snippet"]
    history = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
    assert history["messages"][-1]["citations"][0]["document_id"] == ids[document]


async def test_a_question_the_documents_do_not_cover_is_declined_with_a_handoff_offer(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    tenant, kb_id, _ids = clinic
    agent_id = await published_agent(api, tenant, knowledge_base_ids=[kb_id])
    conversation_id = await conversation(api, tenant, agent_id)
    reply = (await say(api, tenant, conversation_id, "Do you offer sedation for wisdom teeth removal?"))["reply"]
    assert reply["citations"] == [] and "connect you" in reply["text"].lower(), reply


async def test_another_tenant_finds_nothing_and_cannot_read_the_knowledge_base(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    _tenant, kb_id, ids = clinic
    stranger = await sign_up(api, "Other Co")
    assert (await api.get(f"/v1/knowledge-bases/{kb_id}", headers=stranger.auth)).status_code == 404
    search = await api.post(f"/v1/knowledge-bases/{kb_id}/search", headers=stranger.auth,
                            json={"query": "opening hours"})
    assert search.status_code == 404
    own = await knowledge_base(api, stranger)
    hits = (await api.post(f"/v1/knowledge-bases/{own}/search", headers=stranger.auth,
                           json={"query": "opening hours saturday"})).json()["hits"]
    assert hits == []
    refused = await api.post("/v1/agents", headers=stranger.auth, json={"name": "Eve", "knowledge_base_ids": [kb_id]})
    assert refused.status_code == 422 and "knowledge_base_ids" in refused.text
    doc = await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{ids['handbook.pdf']}", headers=stranger.auth)
    assert doc.status_code == 404


async def test_deleting_a_document_removes_it_from_search(
    api: httpx.AsyncClient, clinic: tuple[Tenant, str, dict[str, str]],
) -> None:
    tenant, _kb_id, _ids = clinic
    kb_id = await knowledge_base(api, tenant, "Scratch")
    doc = await upload(api, tenant, kb_id, "hours.md", b"# Hours\n\nThe lab opens at 7 am on Sundays.\n",
                       "text/markdown")
    assert (await settled(api, tenant, kb_id, doc["id"]))["status"] == "ready"
    query = {"query": "when does the lab open on sunday"}
    found = (await api.post(f"/v1/knowledge-bases/{kb_id}/search", headers=tenant.auth, json=query)).json()
    assert [h["document_id"] for h in found["hits"]] == [doc["id"]]
    deleted = await api.delete(f"/v1/knowledge-bases/{kb_id}/documents/{doc['id']}", headers=tenant.auth)
    assert deleted.status_code in (200, 204)
    after = (await api.post(f"/v1/knowledge-bases/{kb_id}/search", headers=tenant.auth, json=query)).json()
    assert after["hits"] == []


@pytest.mark.long
async def test_killed_mid_ingest_knowledge_ingest_resumes_and_finishes(
    supervised: Platform, supervised_api: httpx.AsyncClient,
) -> None:
    platform, api = supervised, supervised_api
    tenant = await sign_up(api, "Big Docs")
    kb_id = await knowledge_base(api, tenant)
    doc = await upload(api, tenant, kb_id, "catalogue.md", long_markdown(), "text/markdown")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:  # wait until it is embedding, with some chunks done and more to do
        state = (await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{doc['id']}", headers=tenant.auth)).json()
        if state["status"] == "embedding" and 0 < state["chunks_done"] < state["chunks_total"]:
            break
        assert state["status"] not in ("ready", "failed") and loop.time() < deadline, state
        await asyncio.sleep(0.05)
    killed = platform.pids["knowledge-ingest"]
    platform.kill("knowledge-ingest", signal.SIGKILL)
    while platform.pids["knowledge-ingest"] in (killed, None):  # the supervisor starts a new process
        assert loop.time() < deadline + 30, "knowledge-ingest was not restarted"
        await asyncio.sleep(0.05)
    await platform.wait_ready("knowledge-ingest", 60)
    final = await settled(api, tenant, kb_id, doc["id"], timeout_s=180)
    assert final["status"] == "ready" and final["chunks_done"] == final["chunks_total"] == state["chunks_total"]
    hits = (await api.post(f"/v1/knowledge-bases/{kb_id}/search", headers=tenant.auth,
                           json={"query": "What does service 87 cover?", "top_k": 3})).json()["hits"]
    assert any("Service 87 " in hit["text"] or "87." in hit["text"] for hit in hits)
