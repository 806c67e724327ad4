"""The CRM providers' fields the vault accepts: HubSpot and Pipedrive may name another server (``base_url``),
Salesforce its login server and the external id field workflow-executor upserts Leads by; anything else is a
422 naming the field."""

import pytest

from afo_gateway.domain.errors import Invalid
from afo_gateway.domain.integrations import masked, validated

SALESFORCE = {"instance_url": "https://acme.my.salesforce.com", "client_id": "3MVG9-client",
              "client_secret": "client-secret-0123", "refresh_token": "5Aep861-refresh-0123"}


def test_crm_fields_with_their_optional_servers() -> None:
    assert validated("hubspot", {"access_token": "pat-na1-0123456789", "base_url": "http://127.0.0.1:9"}) == {
        "access_token": "pat-na1-0123456789", "base_url": "http://127.0.0.1:9"}
    assert validated("pipedrive", {"api_token": "pd-0123456789", "company_domain": "acme"}) == {
        "api_token": "pd-0123456789", "company_domain": "acme"}
    fields = validated("salesforce", {**SALESFORCE, "login_url": "https://test.salesforce.com",
                                      "external_id_field": "AFO_Email__c"})
    assert masked("salesforce", fields)["refresh_token"] == "••••0123" and fields["external_id_field"] == "AFO_Email__c"


@pytest.mark.parametrize(("provider", "body", "field"), [
    ("hubspot", {"access_token": "pat-na1-0123456789", "base_url": "ftp://x"}, "base_url"),
    ("hubspot", {"access_token": "pat-na1-0123456789", "login_url": "https://x"}, "login_url"),
    ("salesforce", {**SALESFORCE, "external_id_field": "Email"}, "external_id_field"),  # not a custom field
    ("salesforce", {**SALESFORCE, "external_id_field": "x__c; DROP"}, "external_id_field"),
])
def test_a_bad_crm_field_is_named(provider: str, body: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        validated(provider, body)
    assert field in {str(loc) for error in raised.value.errors for loc in error["loc"]}
