"""Adding a page by URL: fetched once from a real local web site (with AFO_FETCH_ALLOW_PRIVATE=1, as in
development), and, without the flag, every loopback, private, link-local or metadata target refused before
a connection is made, redirects included."""

import ipaddress
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common.messaging.blobs import document_blob_name, sha256_hex
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.adapters.page_fetcher import PageFetcher
from afo_gateway.domain.errors import DocumentTooLarge, UrlNotAllowed, UrlUnreachable
from afo_gateway.domain.fetch_policy import IpAddress, refusal
from afo_testkit.problems import assert_problem
from afo_testkit.spans import exported as exported

PAGE = b"<!doctype html><html><head><title>Pricing</title></head><body><h1>Plans</h1></body></html>"
LOCAL = ipaddress.ip_address("127.0.0.1")



async def test_a_page_is_fetched_once_stored_and_registered(kb: Any, site: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_FETCH_ALLOW_PRIVATE", "1")
    site.pages["/pricing"] = (200, {"content-type": "text/html; charset=utf-8"}, PAGE)
    site.pages["/old"] = (301, {"location": "/pricing"}, b"")
    await kb.start()
    tenant = await kb.tenant()
    url = site.url("/old", host="localhost")

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        json={"url": url})

    assert response.status_code == 202, response.text
    document = response.json()
    assert document["media_type"] == "text/html" and document["source_url"] == url
    assert document["name"] == "pricing" and document["size_bytes"] == len(PAGE)
    assert await kb.blob(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(PAGE))) == PAGE
    # Connected to the vetted address, with the name the URL gave in the Host header.
    assert site.hosts == [("/old", f"localhost:{site.port}"), ("/pricing", f"localhost:{site.port}")]


@pytest.mark.parametrize(
    ("path", "pages", "status", "slug", "reason"),
    [
        ("/missing", {}, 422, "url-unreachable", "404"),
        ("/loop", {"/loop": (302, {"location": "/loop"}, b"")}, 422, "url-unreachable", "more than 3 redirects"),
        ("/huge", {"/huge": (200, {"content-type": "text/plain"}, b"a" * 4096)}, 413, "document-too-large", "1024"),
        ("/logo", {"/logo": (200, {"content-type": "image/png"}, b"\x89PNG\r\n\x1a\n\x00\x00")}, 415,
         "unsupported-media-type", "neither"),
    ],
)
async def test_a_page_that_cannot_be_used_is_a_problem(kb: Any, site: Any, monkeypatch: pytest.MonkeyPatch,
                                                       path: str, pages: dict[str, Any], status: int, slug: str,
                                                       reason: str) -> None:
    monkeypatch.setenv("AFO_FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("AFO_MAX_UPLOAD_BYTES", "1024")
    site.pages.update(pages)
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        json={"url": site.url(path)})

    assert reason in assert_problem(response, status, slug)["detail"]
    assert not kb.ki.called(ki.ADD_DOCUMENT)


async def test_a_closed_port_is_unreachable(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_FETCH_ALLOW_PRIVATE", "1")
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        json={"url": "http://127.0.0.1:9/"})

    assert "ConnectError" in assert_problem(response, 422, "url-unreachable")["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://127.0.0.1:{port}/page", "http://10.1.2.3/", "http://169.254.169.254/latest/",
        "http://[::1]:{port}/", "http://localhost:{port}/page", "http://2130706433/", "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/", "file:///etc/passwd", "ftp://example.com/",
    ],
)
async def test_without_the_flag_internal_targets_are_refused_before_connecting(kb: Any, site: Any,
                                                                                url: str) -> None:
    site.pages["/page"] = (200, {"content-type": "text/html"}, PAGE)
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/documents", headers=tenant.auth,
                                        json={"url": url.format(port=site.port)})

    assert_problem(response, 422, "url-not-allowed")
    assert site.hosts == [] and not kb.ki.called(ki.ADD_DOCUMENT)


async def test_the_url_of_another_tenants_knowledge_base_is_never_fetched(kb: Any, site: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_FETCH_ALLOW_PRIVATE", "1")
    site.pages["/page"] = (200, {"content-type": "text/html"}, PAGE)
    await kb.start()
    ours, theirs = await kb.tenant(), await kb.tenant()

    response = await ours.client.post(f"/v1/knowledge-bases/{theirs.kb_id}/documents", headers=ours.auth,
                                      json={"url": site.url("/page")})

    assert_problem(response, 404, "not-found")
    assert site.hosts == []


def fetcher(names: dict[str, list[str]], **options: Any) -> PageFetcher:
    """A fetcher whose resolver knows ``names``, and that counts the local test site as public (no test can
    reach a public address), so the rest of the policy is the real one."""
    async def resolve(host: str, port: int) -> list[IpAddress]:
        return [ipaddress.ip_address(a) for a in names.get(host, [host])]  # an address resolves to itself

    def judge(address: IpAddress) -> str | None:
        return None if address == LOCAL else refusal(address)

    return PageFetcher(max_bytes=options.get("max_bytes", 1024), timeout_s=options.get("timeout_s", 5),
                       allow_private=False,
                       resolver=resolve, judge=judge)


@pytest.mark.parametrize("target", ["http://10.0.0.8/admin", "http://metadata.internal/latest/meta-data/",
                                    "http://[fd00::8]/", "http://two-faced.example/"])
async def test_a_redirect_to_an_internal_address_is_refused(site: Any, target: str) -> None:
    site.pages["/go"] = (302, {"location": target}, b"")
    names = {"docs.example": ["127.0.0.1"], "metadata.internal": ["169.254.169.254"],
             "two-faced.example": ["127.0.0.1", "10.0.0.9"]}

    with pytest.raises(UrlNotAllowed):
        await fetcher(names).fetch(f"http://docs.example:{site.port}/go")

    assert site.hosts == [("/go", f"docs.example:{site.port}")]


async def test_a_name_is_resolved_once_per_hop_and_the_vetted_address_is_used(site: Any) -> None:
    """DNS rebinding: the first answer is the one connected to; no second lookup can change it."""
    site.pages["/a"] = (200, {"content-type": "text/plain"}, b"hello")
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[IpAddress]:
        lookups.append(host)
        return [ipaddress.ip_address(a) for a in answers[len(lookups) - 1]]

    page = await PageFetcher(max_bytes=1024, timeout_s=5, allow_private=False, resolver=rebinding,
                             judge=lambda a: None if a == LOCAL else refusal(a)).fetch(
        f"http://rebind.example:{site.port}/a")

    assert page.data == b"hello" and lookups == ["rebind.example"]


async def test_a_streamed_page_is_cut_off_at_the_limit(site: Any) -> None:
    site.pages["/big"] = (200, {"content-type": "text/plain"}, b"a" * 10_000)
    with pytest.raises(DocumentTooLarge):
        await fetcher({"docs.example": ["127.0.0.1"]}).fetch(f"http://docs.example:{site.port}/big")


async def test_an_unknown_name_is_unreachable() -> None:
    fetch = PageFetcher(max_bytes=1024, timeout_s=5, allow_private=False)
    with pytest.raises(UrlUnreachable, match="could not be resolved"):
        await fetch.fetch("http://no-such-host.invalid/")


async def test_each_hop_is_a_client_span_naming_the_host_only(site: Any, exported: InMemorySpanExporter) -> None:
    site.pages["/go"] = (302, {"location": "/page?token=tok_4242"}, b"")
    site.pages["/page"] = (200, {"content-type": "text/plain"}, b"hello")

    await fetcher({"docs.example": ["127.0.0.1"]}).fetch(f"http://docs.example:{site.port}/go")

    hops = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert [(s.name, dict(s.attributes or {}).get("http.response.status_code")) for s in hops] == [
        ("GET web page", 302), ("GET web page", 200)]
    recorded = " ".join(str(v) for span in hops for v in (span.attributes or {}).values())
    assert "docs.example" in recorded and "tok_4242" not in recorded and "/page" not in recorded


async def test_a_page_that_outlives_the_deadline_is_a_timed_out_span(site: Any,
                                                                      exported: InMemorySpanExporter) -> None:
    site.pages["/slow"] = (200, {"content-type": "text/plain"}, b"late")
    site.delay_s = 1.0
    with pytest.raises(UrlUnreachable, match="did not answer"):
        await fetcher({"docs.example": ["127.0.0.1"]}, timeout_s=0.2).fetch(f"http://docs.example:{site.port}/slow")

    [hop] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert (hop.status.status_code, dict(hop.attributes or {})["error.type"]) == (StatusCode.ERROR, "TimeoutError")
