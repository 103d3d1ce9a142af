"""The published contract (``/schema/openapi.json``) states what the server enforces, and the server does it:
bodies are JSON by media type, present where required, typed strictly; schemas carry the requirements."""

from __future__ import annotations

import json
import re

import jsonschema_rs
import msgspec
import pytest

from tenant_core.change_events import EventType
from tenant_core.credential_registry import CREDENTIAL_POLICIES
from tenant_core.credential_types import CredentialPolicy
from tenant_core.errors import ValidationFailedError
from tenant_core.paging import MAX_OFFSET
from tenant_entrypoints.http.examples import EXAMPLES_BY_OPERATION
from tests.api.test_tenants_api import assert_envelope
from tests.support.builders import create_body


@pytest.fixture
async def tenant_id(client, prefix) -> str:
    return (await client.post(prefix, json=create_body())).json()["tenant"]["id"]


@pytest.fixture(scope="module")
async def document(session_client) -> dict:
    return (await session_client.get("/schema/openapi.json")).json()


def _validator(document: dict, schema: dict) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def _component(document: dict, name: str) -> jsonschema_rs.Draft202012Validator:
    return _validator(document, {"$ref": f"#/components/schemas/{name}"})


# --- Bodies: media type, presence, types --------------------------------------------------------------------


async def test_a_missing_or_empty_body_is_request_body_required(client, prefix, tenant_id):
    routes = [
        ("POST", prefix),
        ("PATCH", f"{prefix}/{tenant_id}"),
        ("POST", f"{prefix}/{tenant_id}/credentials"),
        ("PUT", f"{prefix}/{tenant_id}/genesys/credentials"),
        ("POST", f"{prefix}/{tenant_id}/whatsapp"),
        ("POST", "/webhooks"),
    ]
    for method, path in routes:
        for content, headers in ((None, {}), (b"", {"content-type": "application/json"}), (b" \r\n", {})):
            body = assert_envelope(
                await client.request(method, path, content=content, headers=headers), 400, "VALIDATION_ERROR"
            )
            assert body["error"] == "Request body required", (method, path, body)
            assert [d["field"] for d in body["details"]] == ["body"]
    assert (await client.get(prefix)).json()["total"] == 1  # only the fixture's tenant


async def test_routes_whose_body_is_optional_take_none(client, prefix, tenant_id):
    assert (await client.post(f"{prefix}/{tenant_id}/complete-onboarding")).status_code == 200
    assert (await client.post(f"{prefix}/{tenant_id}/api-keys")).status_code == 201


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/xml"],
)  # fmt: skip
async def test_a_body_declared_as_anything_but_json_is_415(client, prefix, content_type):
    response = await client.post(prefix, content=json.dumps(create_body()), headers={"content-type": content_type})
    body = assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert body["error"] == "Request bodies must be JSON (Content-Type: application/json)"
    assert (await client.get(prefix)).json()["total"] == 0


async def test_json_is_read_without_a_content_type_and_under_json_suffixes(client, prefix):
    """Older callers send JSON without a Content-Type: it is read as JSON."""
    assert (await client.post(prefix, content=json.dumps(create_body()))).status_code == 201
    charset = {"content-type": "application/json; charset=utf-8"}
    created = await client.post(prefix, content=json.dumps(create_body()), headers=charset)
    assert created.status_code == 201
    patch = {"content-type": "application/merge-patch+json"}
    path = f"{prefix}/{created.json()['tenant']['id']}"
    assert (await client.patch(path, content=b'{"name": "Renamed"}', headers=patch)).status_code == 200


async def test_numbers_and_booleans_sent_as_text_are_refused_naming_the_field(client, prefix, tenant_id):
    for method, path, body, field in [
        ("POST", prefix, create_body(rateLimit="100"), "rateLimit"),
        ("PATCH", f"{prefix}/{tenant_id}", {"rateLimit": "100"}, "rateLimit"),
        ("POST", f"{prefix}/{tenant_id}/complete-onboarding", {"whatsappConfigured": "true"}, "whatsappConfigured"),
    ]:
        response = assert_envelope(await client.request(method, path, json=body), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in response["details"]] == [field]
    tenant = (await client.get(f"{prefix}/{tenant_id}")).json()
    assert tenant["version"] == 1 and tenant["onboardingCompleted"] is False
    assert (await client.get(prefix)).json()["total"] == 1


# --- Schemas say what the server requires --------------------------------------------------------------------


async def test_the_whatsapp_body_requires_what_the_server_requires(client, prefix, tenant_id, document):
    """accessToken, phoneNumberId and wabaId, each under any of its spellings; the server refuses without."""
    schema = _component(document, "WhatsAppConfigBody")
    complete = {"accessToken": "EAAG-token-0001", "phoneNumberId": "15550001", "wabaId": "10229"}
    assert schema.is_valid(complete)
    assert schema.is_valid({"access_token": "EAAG-token-0001", "phoneNumberId": "15550001", "waba_id": "10229"})
    for name in complete:
        partial = {k: v for k, v in complete.items() if k != name}
        assert not schema.is_valid(partial) and not schema.is_valid({**partial, name: None})
        response = await client.post(f"{prefix}/{tenant_id}/whatsapp", json=partial)
        assert [d["field"] for d in assert_envelope(response, 400, "VALIDATION_ERROR")["details"]] == [name]


def test_each_credential_body_requires_exactly_what_the_core_requires(document):
    """For every registered type: dropping a documented-required field makes its policy refuse a full
    credential, dropping any other field does not (the schema is generated, the rule is the policy's)."""
    variants = _store_variants(document)
    assert set(variants) == set(CREDENTIAL_POLICIES.names())
    for policy in CREDENTIAL_POLICIES:
        schema = document["components"]["schemas"][variants[policy.name]]
        required = {names["anyOf"][0]["required"][0] for names in schema.get("allOf", [])}
        example = _full_example(policy)
        for name in example:
            refused = _policy_refuses(policy, {k: v for k, v in example.items() if k != name})
            assert refused == (name in required), f"{policy.name}.{name}: documented required={name in required}"


def _store_variants(document: dict) -> dict[str, str]:
    body = document["paths"]["/tenants/{tenant_id}/credentials"]["post"]["requestBody"]["content"]["application/json"]
    variants = {}
    for ref in body["schema"]["oneOf"]:
        variant = document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        inner = variant["properties"]["credentials"]["$ref"].rsplit("/", 1)[1]
        variants[variant["properties"]["type"]["const"]] = inner
    return variants


def _full_example(policy: CredentialPolicy) -> dict:
    """Every field of the type, each with a value its pattern accepts."""
    values = {"region": "mypurecloud.com", "pin": "123456"}
    fields = msgspec.structs.fields(policy.fields)
    return {f.encode_name: values.get(f.encode_name, f"value-{i}") for i, f in enumerate(fields)}


def _policy_refuses(policy: CredentialPolicy, credentials: dict) -> bool:
    try:
        policy.parse(credentials)
    except ValidationFailedError:
        return True
    return False


async def test_stored_credentials_are_typed_per_kind(client, prefix, tenant_id, document):
    """The body of POST /credentials is one variant per type; a field of the other type is refused."""
    body = document["paths"]["/tenants/{tenant_id}/credentials"]["post"]["requestBody"]["content"]["application/json"]
    schema = _validator(document, body["schema"])
    genesys = {"clientId": "c", "clientSecret": "s", "region": "aps1"}
    assert schema.is_valid({"type": "genesys", "credentials": genesys})
    assert not schema.is_valid({"type": "whatsapp", "credentials": genesys})
    assert not schema.is_valid({"type": "sms", "credentials": {}})
    response = await client.post(f"{prefix}/{tenant_id}/credentials", json={"type": "whatsapp", "credentials": genesys})
    assert assert_envelope(response, 400, "VALIDATION_ERROR")["details"][0]["field"].startswith("credentials.")


def test_the_feed_filter_lists_the_event_types_and_refuses_others(document):
    (parameter,) = [p for p in document["paths"]["/events"]["get"]["parameters"] if p["name"] == "type"]
    pattern = re.compile(parameter["schema"]["pattern"])
    assert all(pattern.search(t.value) for t in EventType)
    assert pattern.search("tenant.created, tenant.updated") and not pattern.search("tenant.created,nope")


async def test_the_feed_refuses_an_unknown_type_naming_the_parameter(client):
    response = assert_envelope(await client.get("/events?type=tenant.created,nope"), 400, "VALIDATION_ERROR")
    assert [d["field"] for d in response["details"]] == ["type"]


async def test_if_match_states_its_format_and_the_server_keeps_to_it(client, prefix, tenant_id, document):
    (parameter,) = [
        p for p in document["paths"]["/tenants/{tenant_id}"]["patch"]["parameters"] if p["name"] == "If-Match"
    ]
    pattern = re.compile(parameter["schema"]["pattern"])
    for value in ('"1"', 'W/"1"', "1", "*"):
        assert pattern.search(value)
        response = await client.patch(f"{prefix}/{tenant_id}", json={"name": "Renamed"}, headers={"If-Match": value})
        assert response.status_code in (200, 412), response.text
    for value in ("one", '"1', '"1", "2"'):
        assert not pattern.search(value) or value == '"1'
        response = await client.patch(f"{prefix}/{tenant_id}", json={"name": "Renamed"}, headers={"If-Match": value})
        assert response.status_code in (400, 412) and (response.status_code == 400) == (not pattern.search(value))


def test_paging_limits_are_published(document):
    for path in ("/tenants", "/tenants/{tenant_id}/audit-log", "/events", "/webhooks/{webhook_id}/deliveries"):
        parameters = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
        assert parameters["limit"]["minimum"] == 1, path
        if "offset" in parameters:
            assert (parameters["offset"]["minimum"], parameters["offset"]["maximum"]) == (0, MAX_OFFSET), path


async def test_offsets_past_the_limit_are_refused_as_published(client, prefix, tenant_id):
    for path in (prefix, f"{prefix}/{tenant_id}/audit-log"):
        response = assert_envelope(await client.get(f"{path}?offset={MAX_OFFSET + 1}"), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in response["details"]] == ["offset"]
        assert (await client.get(f"{path}?offset={MAX_OFFSET}")).status_code == 200


def test_only_routes_with_a_body_document_415(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                assert ("415" in operation["responses"]) == ("requestBody" in operation), f"{method} {path}"


def test_documented_request_examples_match_their_schemas(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            media = (
                (operation.get("requestBody") or {}).get("content", {}).get("application/json")
                if isinstance(operation, dict)
                else None
            )
            if media is None:
                continue
            schema = _validator(document, media["schema"])
            for example in media["examples"].values():
                assert schema.is_valid(example["value"]), f"{method} {path}"
    assert EXAMPLES_BY_OPERATION  # the examples module is what was published


async def test_options_lists_every_method_of_the_resource(client, prefix, tenant_id, document):
    """Litestar's own OPTIONS answer named only the first-registered methods (Allow: GET, OPTIONS)."""
    for template, concrete in [
        ("/tenants/{tenant_id}", f"{prefix}/{tenant_id}"),
        ("/tenants/{tenant_id}/credentials/{kind}", f"{prefix}/{tenant_id}/credentials/genesys"),
        ("/webhooks", "/webhooks"),
    ]:
        documented = {m.upper() for m in document["paths"][template] if m in ("get", "put", "post", "patch", "delete")}
        response = await client.options(concrete)
        assert response.status_code == 204
        assert set(response.headers["allow"].split(", ")) == documented | {"OPTIONS"}, concrete


def test_bodies_a_route_can_go_without_are_not_required(document):
    for path in ("/tenants/{tenant_id}/complete-onboarding", "/tenants/{tenant_id}/api-keys"):
        assert document["paths"][path]["post"]["requestBody"].get("required") is False, path
    assert document["paths"]["/tenants"]["post"]["requestBody"]["required"] is True


def test_parameters_are_never_null(document):
    """Absent is how a caller leaves a parameter out: a null alternative would invite `If-Match: null`."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                assert "null" not in json.dumps(parameter["schema"]), f"{method} {path} {parameter['name']}"
