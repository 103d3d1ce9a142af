"""Any payload gives the same outcome in-process and over HTTP: the same stored value, or the same error.

For each main command, hypothesis draws payloads mixing valid values, near misses and wrong types (text
for numbers, numbers for text, null, lists, NUL). Each payload is sent once as a JSON body to the real app
and once built as a Python command (``UpdateTenant(**payload)``) handed to the same app's use cases; both
runs start from the same state and clean up after themselves. The outcomes must agree: the same status
and error code, or the same stored value. Derandomized with a fixed budget, like the parser properties.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_core import (
    SYSTEM,
    CreateTenant,
    CredentialType,
    NewWebhook,
    ProvisionGenesys,
    TenantServiceError,
    UpdateTenant,
)
from tenant_entrypoints.container import Services, build_container
from tenant_entrypoints.http.app import _resolved
from tenant_entrypoints.http.errors import CORE_ERRORS
from tenant_entrypoints.http.routes.events import WebhookView
from tests.api.conftest import config_for

pytestmark = pytest.mark.parametrize("session_client", ["no-fast-lane"], indirect=True)  # no resolution here

PARITY = settings(
    max_examples=40,
    derandomize=True,  # the same payloads on every run: a failure is a regression, not bad luck
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Outcome = tuple[int, str | None, Any]  # status, error code, what was stored
VOLATILE = {"id", "createdAt", "updatedAt", "secret"}

# --- What a caller may send ---------------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
wrong = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=200_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    text,
    st.integers(min_value=0, max_value=200_000).map(str),  # a number sent as text
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "timezone"]), st.integers(), max_size=1),
)


class Field:
    """A field's valid values, and what a careless or hostile caller sends instead."""

    def __init__(self, valid: list[Any], misses: list[Any]) -> None:
        self.valid = st.sampled_from(valid)
        self.sent = st.one_of(st.sampled_from(misses), wrong)


@st.composite
def payloads(draw, required: dict[str, Field], optional: dict[str, Field]) -> dict[str, Any]:
    """A valid payload (the required fields and some optional ones) with up to two fields spoiled."""
    payload = {name: draw(f.valid) for name, f in required.items()}
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=4, unique=True)) if optional else []:
        payload[name] = draw(optional[name].valid)
    fields = {**required, **optional}
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
        payload[name] = draw(fields[name].sent)
    return payload


REGION = Field(["aps1", "APS1", " us-east-1 ", "https://api.mypurecloud.de", "mypurecloud.ie"], ["nowhere", ""])
TENANT_FIELDS = {
    "domain": Field(["acme.com", "ACME.com", None], ["acme", "acme.com\n", "-acme.com"]),
    "subdomain": Field(["acme", None], ["Acme", "-acme", "a" * 64]),
    "plan": Field(["standard", "premium", "enterprise"], ["gold", "Premium"]),
    "settings": Field(
        [{"timezone": "UTC"}, {"language": "pt-BR"}, {}], [{"timezone": "Mars/Olympus"}, {"colour": "red"}]
    ),
    "metadata": Field([{}, {"crm": "42"}, {"n": [1, 2.5, None]}], [{"x": "a\x00b"}, {"a\x00": 1}]),
    "rateLimit": Field([1, 100, 100_000], [0, 100_001, 2**63, "100", 100.5, True]),
    "phoneNumberId": Field(["15550001", None], [" 15550001", "1555\n", "", "x" * 129]),
    "genesysIntegrationId": Field(["intg-1", None], ["intg 1", "\u00e9"]),
    "genesysOrgId": Field(["org-1", None], ["org-1\n", ""]),
    "genesysOrgName": Field(["Acme", None], [" ", ""]),
    "genesysRegion": REGION,
}
NAME = Field(["Acme", "Ω Corp"], ["", " ", "x" * 256, "a\x00"])
EMAIL = Field(["ops@acme.com", "OPS@ACME.COM", "ｏps@acme.com"], ["ops@acme", "ops@exa\u200bmple.com", "@acme.com"])

create_payloads = payloads({"name": NAME, "email": EMAIL}, TENANT_FIELDS)
STATUS = Field(["active", "suspended", "deleted"], ["paused", "Suspended"])
update_payloads = payloads({}, {"name": NAME, "email": EMAIL, "status": STATUS, **TENANT_FIELDS})
provision_payloads = payloads(
    {"genesysOrgId": Field(["org-1", "org-2"], ["org 1", ""]), "genesysOrgName": TENANT_FIELDS["genesysOrgName"],
     "genesysRegion": REGION},
    {},
)  # fmt: skip
SECRET = Field(["secret-0001"], ["", "a\x00b", "x" * 4097])
genesys_payloads = payloads(
    {"clientId": Field(["gc-client"], ["", "x" * 256]), "clientSecret": SECRET, "region": REGION},
    {
        "integrationId": TENANT_FIELDS["genesysIntegrationId"],
        "openMsgIntegrationId": Field(["intg-2", None], ["intg 2"]),
        "webhookSecret": SECRET,
        "openMsgSecret": Field(["whs-0002", None], [""]),
        "client_id": Field(["gc-client-2"], [""]),
    },
)
whatsapp_payloads = payloads(
    {
        "accessToken": SECRET,
        "wabaId": Field(["10229"], ["", "10 229"]),
        "phoneNumberId": TENANT_FIELDS["phoneNumberId"],
    },
    {
        "access_token": Field(["EAAG-token-0002", None], [""]),
        "phone_number_id": Field(["15550002", None], ["1555 2"]),
        "businessId": Field(["99887766", None], ["9988 7766"]),
        "pin": Field(["123456", None], ["12345", 123456]),
        "qualityRating": Field(["GREEN", None], ["G" * 33]),
    },
)
credential_payloads = st.one_of(
    st.tuples(st.just(CredentialType.GENESYS), genesys_payloads),
    st.tuples(st.just(CredentialType.WHATSAPP), whatsapp_payloads),
)
webhook_payloads = payloads(
    {
        "url": Field(["https://crm.example.com/hooks"], ["ftp://crm.example.com/", "https://u:p@crm.example.com/", ""]),
        "eventTypes": Field(
            [["tenant.created"], ["tenant.updated", "tenant.suspended"]],
            [[], ["nope"], "tenant.created", ["tenant.updated"] * 21],
        ),
    },
    {
        "tenantId": Field([None], ["t_missing", "t" * 129]),
        "description": Field(["CRM", None], ["x" * 501]),
    },
)

# --- Running a payload both ways ----------------------------------------------------------------------------


def python_kwargs(command: type[msgspec.Struct], payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as keyword arguments of ``command``: its wire names turned into Python names."""
    names = {f.encode_name: f.name for f in msgspec.structs.fields(command)}
    return {names[key]: value for key, value in payload.items()}


async def over_http(client, method: str, path: str, payload: Any) -> tuple[int, Any]:
    response = await client.request(
        method, path, content=json.dumps(payload), headers={"content-type": "application/json"}
    )
    return response.status_code, response.json() if response.content else None


def failure(status: int, body: Any) -> Outcome:
    assert isinstance(body, dict) and "code" in body, body  # never a bare framework error
    return status, body["code"], None


async def run_in_process(call: Callable[[], Awaitable[Any]]) -> tuple[Outcome | None, Any]:
    """``(outcome, None)`` when the use case refused (its error's wire status and code), else ``(None, value)``."""
    try:
        return None, await call()
    except TenantServiceError as exc:
        status, code = next(CORE_ERRORS[cls] for cls in type(exc).__mro__ if cls in CORE_ERRORS)
        return (status, code, None), None


def stored(value: Any) -> Any:
    """A stored thing as the wire shows it, without what differs between two runs (ids, times, secrets)."""
    builtins = value if isinstance(value, dict) else msgspec.to_builtins(value)
    return {k: v for k, v in builtins.items() if k not in VOLATILE}


def wire(value: msgspec.Struct) -> dict[str, Any]:
    return json.loads(msgspec.json.encode(value))


BASE = {"name": "Base", "email": "base@acme.com", "genesysRegion": "aps1", "genesysIntegrationId": "intg-base"}


@pytest.fixture(scope="module")
async def in_process(postgres_url, redis_server) -> AsyncIterator[Services]:
    """The use cases as the app composes them (same database, same settings), called from this test's loop:
    the app under the test client runs in a loop of its own."""
    container = build_container(config_for(postgres_url, redis_server.url))
    if (started := container.init_resources()) is not None:
        await started
    yield await _resolved(container.services())
    if (stopped := container.shutdown_resources()) is not None:
        await stopped


@pytest.fixture
def services(client, in_process) -> Services:
    return in_process


# --- The properties -----------------------------------------------------------------------------------------


@PARITY
@given(payload=create_payloads)
async def test_create_tenant(client, services, payload):
    status, body = await over_http(client, "POST", "/tenants", payload)
    if status == 201:
        http: Outcome = (201, None, stored(body["tenant"]))
        await client.delete(f"/tenants/{body['tenant']['id']}")
    else:
        http = failure(status, body)
    refused, created = await run_in_process(
        lambda: services.tenants.create(SYSTEM, CreateTenant(**python_kwargs(CreateTenant, payload)))
    )
    if created is not None:
        await services.tenants.delete(SYSTEM, created.tenant.id)
    assert (refused or (201, None, stored(wire(created.tenant)))) == http, payload


@PARITY
@given(payload=update_payloads)
async def test_update_tenant(client, services, payload):
    """The stored tenant, what the feed said of the change (``tenant.suspended``, not ``tenant.updated``) and
    what resolution answers next (423 once suspended)."""
    base = (await client.post("/tenants", json=BASE)).json()["tenant"]["id"]
    status, body = await over_http(client, "PATCH", f"/tenants/{base}", payload)
    if status == 200:
        feed = (await client.get(f"/events?tenantId={base}")).json()["events"]
        resolved = (await client.get(f"/tenants/by-integration/{BASE['genesysIntegrationId']}")).status_code
        http = (200, None, (stored(body["tenant"]), [event["type"] for event in feed], resolved))
    else:
        http = failure(status, body)
    await client.delete(f"/tenants/{base}")

    base = (await services.tenants.create(SYSTEM, CreateTenant(**python_kwargs(CreateTenant, BASE)))).tenant.id
    command = UpdateTenant(**python_kwargs(UpdateTenant, payload))
    refused, updated = await run_in_process(lambda: services.tenants.update(SYSTEM, base, command))
    if updated is not None:
        feed = (await services.events.read(SYSTEM, tenant_id=base)).events
        resolution, _ = await run_in_process(
            lambda: services.resolver.by_integration(SYSTEM, BASE["genesysIntegrationId"])
        )
        resolved = 200 if resolution is None else resolution[0]
        result: Outcome = (200, None, (stored(wire(updated)), [event.type for event in feed], resolved))
    await services.tenants.delete(SYSTEM, base)
    assert (refused or result) == http, payload


@PARITY
@given(payload=provision_payloads)
async def test_provision_genesys(client, services, payload):
    status, body = await over_http(client, "POST", "/tenants/provision/genesys", payload)
    if status == 201:
        http: Outcome = (201, None, stored((await client.get(f"/tenants/{body['tenantId']}")).json()))
        await client.delete(f"/tenants/{body['tenantId']}")
    else:
        http = failure(status, body)
    command = ProvisionGenesys(**python_kwargs(ProvisionGenesys, payload))
    refused, provisioned = await run_in_process(lambda: services.provisioning.provision(SYSTEM, command))
    if provisioned is not None:
        await services.tenants.delete(SYSTEM, provisioned.tenant.id)
    assert (refused or (201, None, stored(wire(provisioned.tenant)))) == http, payload


@PARITY
@given(kind_and_payload=credential_payloads)
async def test_store_credentials(client, services, kind_and_payload):
    kind, payload = kind_and_payload
    base = (await client.post("/tenants", json=BASE)).json()["tenant"]["id"]
    status, body = await over_http(
        client, "POST", f"/tenants/{base}/credentials", {"type": kind, "credentials": payload}
    )
    if status == 200:
        revealed = (await client.get(f"/tenants/{base}/credentials/{kind}?reveal=true")).json()["credentials"]
        tenant = (await client.get(f"/tenants/{base}")).json()
        http: Outcome = (200, None, (revealed, stored(tenant)))
    else:
        http = failure(status, body)
    await client.delete(f"/tenants/{base}")

    base = (await services.tenants.create(SYSTEM, CreateTenant(**python_kwargs(CreateTenant, BASE)))).tenant.id
    refused, _ = await run_in_process(lambda: services.vault.store(SYSTEM, base, kind, payload))
    if refused is None:
        revealed = wire((await services.vault.reveal(SYSTEM, base, kind)).credentials)
        result: Outcome = (200, None, (revealed, stored(wire(await services.tenants.get(SYSTEM, base)))))
    await services.tenants.delete(SYSTEM, base)
    assert (refused or result) == http, payload


@PARITY
@given(payload=webhook_payloads)
async def test_subscribe_webhook(client, services, payload):
    status, body = await over_http(client, "POST", "/webhooks", payload)
    if status == 201:
        http: Outcome = (201, None, stored(body))
        await client.delete(f"/webhooks/{body['id']}")
    else:
        http = failure(status, body)
    command = NewWebhook(**python_kwargs(NewWebhook, payload))
    refused, created = await run_in_process(lambda: services.webhooks.create(SYSTEM, command))
    if created is not None:
        await services.webhooks.delete(SYSTEM, created.webhook.id)
        result: Outcome = (201, None, stored(wire(WebhookView.of(created.webhook))))
    assert (refused or result) == http, payload
